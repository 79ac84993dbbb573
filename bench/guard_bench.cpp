// pactum_guard_bench: the contact guard alone, ns per text, the shipped scan (with its pre-check)
// against the full pipeline (guard::scan_reference) in the same run.
//
// Corpora:
//   sim        the text pactum-sim sends in the chat benchmark (its fixed sentence cut to 64 bytes)
//   ordinary   tests/data/contact_guard/ordinary.txt: deal-room chat that must not be flagged
//   attempts   tests/data/contact_guard/attempts.txt: e-mails, phones, handles, spelled digits,
//              look-alike letters, obfuscations
//   mixed      90 % ordinary, 10 % attempts, interleaved
// For each corpus: ns/text (the best of --rounds rounds, each scanning the corpus for about
// --ms milliseconds), the share of texts proven clean by the pre-check, and a check that both give
// the same hits. docs/benchmarks.md ("CPU per delivery") has figures and the command.
//
//   pactum_guard_bench [--data tests/data/contact_guard] [--rounds 5] [--ms 300]

#include "pactum/actors/contact_guard.hpp"
#include "guard_corpus.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace guard = pactum::actors::guard;

namespace {

std::vector<std::string> lines(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "cannot open %s (use --data <dir of contact_guard corpora>)\n", path.c_str());
    std::exit(2);
  }
  std::vector<std::string> out;
  for (auto& sample : pactum::test_support::read_guard_corpus(in))
    out.push_back(std::move(sample.text));
  return out;
}

template <class F>
double ns_per_text(const std::vector<std::string>& texts, int rounds, int ms, F&& scan, size_t& sink) {
  double best = 1e300;
  for (int r = 0; r < rounds; ++r) {
    size_t done = 0;
    auto start = std::chrono::steady_clock::now();
    auto deadline = start + std::chrono::milliseconds(ms);
    auto now = start;
    do {
      for (const auto& t : texts)
        sink += scan(t).size();
      done += texts.size();
      now = std::chrono::steady_clock::now();
    } while (now < deadline);
    double ns = std::chrono::duration<double, std::nano>(now - start).count() / static_cast<double>(done);
    best = std::min(best, ns);
  }
  return best;
}

} // namespace

int main(int argc, char** argv) {
  std::string data = "tests/data/contact_guard";
  int rounds = 5;
  int ms = 300;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view a = argv[i];
    if (a == "--data") data = argv[i + 1];
    else if (a == "--rounds") rounds = std::atoi(argv[i + 1]);
    else if (a == "--ms") ms = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: %s [--data dir] [--rounds n] [--ms n]\n", argv[0]);
      return 2;
    }
  }
  std::string sim = "a simulated chat message from the pactum load generator ";
  sim += sim;
  sim.resize(64);
  auto ordinary = lines(data + "/ordinary.txt");
  auto attempts = lines(data + "/attempts.txt");
  std::vector<std::string> mixed;
  for (size_t i = 0, a = 0; i < ordinary.size(); ++i) {
    mixed.push_back(ordinary[i]);
    if (i % 9 == 8) mixed.push_back(attempts[a++ % attempts.size()]);
  }
  struct corpus {
    const char* name;
    std::vector<std::string> texts;
  };
  const std::vector<corpus> corpora = {
    {"sim", {sim}}, {"ordinary", ordinary}, {"attempts", attempts}, {"mixed", mixed}};

  size_t sink = 0;
  int mismatches = 0;
  std::printf("%-10s %6s %7s %14s %12s %8s\n", "corpus", "texts", "clean%", "reference ns", "scan ns",
              "speedup");
  for (const auto& c : corpora) {
    size_t clean = 0;
    for (const auto& t : c.texts) {
      clean += guard::provably_clean(t) ? 1 : 0;
      if (guard::scan(t) != guard::scan_reference(t)) {
        ++mismatches;
        std::fprintf(stderr, "MISMATCH: %s\n", t.c_str());
      }
    }
    double ref = ns_per_text(c.texts, rounds, ms, [](const std::string& t) { return guard::scan_reference(t); }, sink);
    double now = ns_per_text(c.texts, rounds, ms, [](const std::string& t) { return guard::scan(t); }, sink);
    std::printf("%-10s %6zu %6.1f%% %14.0f %12.0f %7.1fx\n", c.name, c.texts.size(),
                100.0 * static_cast<double>(clean) / static_cast<double>(c.texts.size()), ref, now, ref / now);
  }
  std::printf("(hits counted: %zu; mismatches: %d)\n", sink, mismatches);
  return mismatches == 0 ? 0 : 1;
}
