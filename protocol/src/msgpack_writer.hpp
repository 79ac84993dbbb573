#pragma once

// Just enough msgpack writing to wrap already-encoded payloads in an envelope without decoding
// and re-encoding them (see push_frame, encode_batch).

#include <cstdint>
#include <string>
#include <string_view>

namespace pactum::protocol::detail {

inline void put_be(std::string& out, uint64_t x, int bytes) {
  for (int i = bytes - 1; i >= 0; --i)
    out.push_back(static_cast<char>((x >> (8 * i)) & 0xFF));
}

inline void mp_map(std::string& out, uint32_t n) {
  if (n < 16) {
    out.push_back(static_cast<char>(0x80 | n));
  } else if (n < 65536) {
    out.push_back(static_cast<char>(0xde));
    put_be(out, n, 2);
  } else {
    out.push_back(static_cast<char>(0xdf));
    put_be(out, n, 4);
  }
}

inline void mp_array(std::string& out, uint32_t n) {
  if (n < 16) {
    out.push_back(static_cast<char>(0x90 | n));
  } else if (n < 65536) {
    out.push_back(static_cast<char>(0xdc));
    put_be(out, n, 2);
  } else {
    out.push_back(static_cast<char>(0xdd));
    put_be(out, n, 4);
  }
}

inline void mp_str(std::string& out, std::string_view s) {
  auto n = s.size();
  if (n < 32) {
    out.push_back(static_cast<char>(0xa0 | n));
  } else if (n < 256) {
    out.push_back(static_cast<char>(0xd9));
    put_be(out, n, 1);
  } else if (n < 65536) {
    out.push_back(static_cast<char>(0xda));
    put_be(out, n, 2);
  } else {
    out.push_back(static_cast<char>(0xdb));
    put_be(out, n, 4);
  }
  out.append(s);
}

inline void mp_uint(std::string& out, uint64_t x) {
  if (x < 128) {
    out.push_back(static_cast<char>(x));
  } else if (x < 256) {
    out.push_back(static_cast<char>(0xcc));
    put_be(out, x, 1);
  } else if (x < 65536) {
    out.push_back(static_cast<char>(0xcd));
    put_be(out, x, 2);
  } else if (x < (uint64_t{1} << 32)) {
    out.push_back(static_cast<char>(0xce));
    put_be(out, x, 4);
  } else {
    out.push_back(static_cast<char>(0xcf));
    put_be(out, x, 8);
  }
}

} // namespace pactum::protocol::detail
