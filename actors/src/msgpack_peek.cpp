// See msgpack_peek.hpp. The msgpack format: https://github.com/msgpack/msgpack/blob/master/spec.md

#include "msgpack_peek.hpp"

#include <cstdint>

#include "pactum/protocol/msgpack_cursor.hpp"

namespace pactum::actors {

namespace {

class reader : public protocol::msgpack_cursor {
public:
  explicit reader(std::string_view s) : msgpack_cursor(s) {}

  /// A string header followed by its bytes; false when the next value is no string.
  bool str(std::string_view& out) {
    auto start = pos();
    if (str_at(out))
      return true;
    rewind(start); // whatever it is, skip() reads it from its start
    return false;
  }

private:
  bool str_at(std::string_view& out) {
    uint8_t b = 0;
    if (!byte(b))
      return false;
    uint64_t n = 0;
    if (b >= 0xa0 && b <= 0xbf)
      n = b & 0x1f;
    else if (b == 0xd9 || b == 0xda || b == 0xdb) {
      if (!be(size_t{1} << (b - 0xd9), n))
        return false;
    } else {
      return false;
    }
    return bytes(n, out);
  }

public:
  /// The entry count of a map header.
  bool map(uint64_t& n) {
    uint8_t b = 0;
    if (!byte(b))
      return false;
    if (b >= 0x80 && b <= 0x8f) {
      n = b & 0x0f;
      return true;
    }
    if (b == 0xde)
      return be(2, n);
    if (b == 0xdf)
      return be(4, n);
    return false;
  }

  /// Skips one whole value (nested containers included, at most `depth` deep).
  bool skip(int depth = 32) {
    if (depth <= 0)
      return false;
    uint8_t b = 0;
    if (!byte(b))
      return false;
    uint64_t n = 0;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
      return true; // fixint, nil, bool
    if (b >= 0xa0 && b <= 0xbf)
      return skip_bytes(b & 0x1f); // fixstr
    if (b >= 0x80 && b <= 0x8f)
      return skip_items(uint64_t{b & 0x0fu} * 2, depth);
    if (b >= 0x90 && b <= 0x9f)
      return skip_items(b & 0x0f, depth);
    switch (b) {
      case 0xcc: case 0xd0: return skip_bytes(1);
      case 0xcd: case 0xd1: return skip_bytes(2);
      case 0xce: case 0xd2: case 0xca: return skip_bytes(4);
      case 0xcf: case 0xd3: case 0xcb: return skip_bytes(8);
      case 0xd9: case 0xc4: return be(1, n) && skip_bytes(n);     // str8, bin8
      case 0xda: case 0xc5: return be(2, n) && skip_bytes(n);     // str16, bin16
      case 0xdb: case 0xc6: return be(4, n) && skip_bytes(n);     // str32, bin32
      case 0xd4: return skip_bytes(2);                            // fixext 1 (type + data)
      case 0xd5: return skip_bytes(3);
      case 0xd6: return skip_bytes(5);
      case 0xd7: return skip_bytes(9);
      case 0xd8: return skip_bytes(17);
      case 0xc7: return be(1, n) && skip_bytes(n + 1);            // ext8/16/32 (+ type byte)
      case 0xc8: return be(2, n) && skip_bytes(n + 1);
      case 0xc9: return be(4, n) && skip_bytes(n + 1);
      case 0xdc: return be(2, n) && skip_items(n, depth);         // array16/32
      case 0xdd: return be(4, n) && skip_items(n, depth);
      case 0xde: return be(2, n) && skip_items(n * 2, depth);     // map16/32
      case 0xdf: return be(4, n) && skip_items(n * 2, depth);
      default: return false; // 0xc1 is never used
    }
  }

private:
  bool skip_items(uint64_t n, int depth) {
    for (uint64_t i = 0; i < n; ++i)
      if (!skip(depth - 1))
        return false;
    return true;
  }

};

} // namespace

std::optional<std::string_view> msgpack_peek_str(std::string_view mp, std::string_view key) noexcept {
  // The whole map is walked, as nlohmann::json::from_msgpack would: a malformed payload or one
  // with trailing bytes gives nothing, and of a key given twice the last value counts.
  reader r{mp};
  uint64_t n = 0;
  if (!r.map(n))
    return std::nullopt;
  std::optional<std::string_view> found;
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view k;
    if (!r.str(k))
      return std::nullopt; // a non-string key: not one of our events
    if (k == key) {
      std::string_view v;
      if (r.str(v)) {
        found = v;
        continue;
      }
      found = std::nullopt; // present but not a string: skipped below
    }
    if (!r.skip())
      return std::nullopt;
  }
  if (!r.at_end())
    return std::nullopt;
  return found;
}

std::optional<std::vector<msgpack_entry>> msgpack_map_entries(std::string_view mp) {
  reader r{mp};
  uint64_t n = 0;
  if (!r.map(n) || n > mp.size())
    return std::nullopt;
  std::vector<msgpack_entry> out;
  out.reserve(static_cast<size_t>(n));
  for (uint64_t i = 0; i < n; ++i) {
    msgpack_entry e;
    if (!r.str(e.key))
      return std::nullopt;
    auto start = r.pos();
    if (!r.skip())
      return std::nullopt;
    e.value = mp.substr(start, r.pos() - start);
    out.push_back(e);
  }
  if (!r.at_end())
    return std::nullopt;
  return out;
}

} // namespace pactum::actors
