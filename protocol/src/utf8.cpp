#include "utf8.hpp"

#include <cstdint>

namespace pactum::protocol::detail {

std::optional<size_t> utf8_length(std::string_view s) noexcept {
  size_t count = 0;
  size_t i = 0;
  auto n = s.size();
  auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  auto cont = [&](size_t k) { return k < n && (byte(k) & 0xC0) == 0x80; };
  while (i < n) {
    auto b = byte(i);
    if (b < 0x80) {
      i += 1;
    } else if (b >= 0xC2 && b <= 0xDF) {
      if (!cont(i + 1))
        return std::nullopt;
      i += 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      if (!cont(i + 1) || !cont(i + 2))
        return std::nullopt;
      auto b1 = byte(i + 1);
      if ((b == 0xE0 && b1 < 0xA0) || (b == 0xED && b1 >= 0xA0))
        return std::nullopt; // overlong or surrogate
      i += 3;
    } else if (b >= 0xF0 && b <= 0xF4) {
      if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3))
        return std::nullopt;
      auto b1 = byte(i + 1);
      if ((b == 0xF0 && b1 < 0x90) || (b == 0xF4 && b1 >= 0x90))
        return std::nullopt; // overlong or above U+10FFFF
      i += 4;
    } else {
      return std::nullopt;
    }
    ++count;
  }
  return count;
}

} // namespace pactum::protocol::detail
