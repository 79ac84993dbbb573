#pragma once

// The contact guard's labelled corpora (tests/data/contact_guard/*.txt), read the one way the unit
// test, the equivalence test and bench/guard_bench.cpp all need: one text per line, `\r` trimmed,
// blank lines and `#` comments skipped, and a `# category: <label>` comment labelling the texts
// below it (ordinary.txt has none).

#include <istream>
#include <string>
#include <vector>

namespace pactum::test_support {

struct guard_sample {
  std::string label; ///< the last "# category:" above it; empty if none
  std::string text;
  int line = 0; ///< 1-based line number in the file
};

inline std::vector<guard_sample> read_guard_corpus(std::istream& in) {
  const std::string tag = "# category:";
  std::vector<guard_sample> out;
  std::string line, label;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line.rfind(tag, 0) == 0) {
      label = line.substr(tag.size());
      label.erase(0, label.find_first_not_of(' '));
      continue;
    }
    if (line.empty() || line[0] == '#')
      continue;
    out.push_back({label, line, n});
  }
  return out;
}

} // namespace pactum::test_support
