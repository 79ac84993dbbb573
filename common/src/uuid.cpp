#include "pactum/common/uuid.hpp"

#include <chrono>
#include <cstring>

#include <sodium.h>

namespace pactum {

uuid uuid::v7() {
  uuid id;
  auto ms = static_cast<uint64_t>(
    std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch())
      .count());
  for (int i = 0; i < 6; ++i)
    id.bytes[i] = static_cast<uint8_t>(ms >> (8 * (5 - i)));
  randombytes_buf(id.bytes.data() + 6, 10);
  id.bytes[6] = static_cast<uint8_t>(0x70 | (id.bytes[6] & 0x0F)); // version 7
  id.bytes[8] = static_cast<uint8_t>(0x80 | (id.bytes[8] & 0x3F)); // variant 10
  return id;
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

} // namespace

std::optional<uuid> uuid::parse(std::string_view text) {
  if (text.size() != 36)
    return std::nullopt;
  uuid id;
  size_t out = 0;
  for (size_t i = 0; i < 36;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-')
        return std::nullopt;
      ++i;
      continue;
    }
    auto hi = hex_value(text[i]);
    auto lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    id.bytes[out++] = static_cast<uint8_t>(hi << 4 | lo);
    i += 2;
  }
  return id;
}

std::string uuid::str() const {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out.push_back('-');
    out.push_back(digits[bytes[i] >> 4]);
    out.push_back(digits[bytes[i] & 0x0F]);
  }
  return out;
}

bool uuid::is_nil() const noexcept {
  for (auto b : bytes)
    if (b != 0)
      return false;
  return true;
}

size_t uuid_hash::operator()(const uuid& x) const noexcept {
  // The last 8 bytes are random for v7 ids: a good hash as they are.
  uint64_t h;
  std::memcpy(&h, x.bytes.data() + 8, sizeof(h));
  uint64_t t;
  std::memcpy(&t, x.bytes.data(), sizeof(t));
  return static_cast<size_t>(h ^ (t * 0x9E3779B97F4A7C15ULL));
}

} // namespace pactum
