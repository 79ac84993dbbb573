#pragma once

// Replays every file of a fuzz corpus or regression folder through a fuzz input function, for the
// normal test binaries (so a crash libFuzzer once found stays fixed in every build, ASan included).

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

namespace pactum::fuzz {

/// The files of `dir` (not README.md), sorted; empty when it does not exist.
inline std::vector<std::filesystem::path> inputs_in(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  if (!std::filesystem::is_directory(dir))
    return out;
  for (auto& e : std::filesystem::directory_iterator(dir))
    if (e.is_regular_file() && e.path().filename() != "README.md")
      out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

inline std::string read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string{std::istreambuf_iterator<char>(in), {}};
}

} // namespace pactum::fuzz
