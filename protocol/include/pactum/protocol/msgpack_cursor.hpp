#pragma once

// A cursor over msgpack bytes (https://github.com/msgpack/msgpack/blob/master/spec.md): the
// building blocks every hand-written msgpack reader here needs — one byte, a big-endian unsigned
// integer of n bytes, a run of raw bytes. Each call returns false and moves nothing when the input
// is too short. Used by the msgpack → JSON transcoder (protocol/src/msgpack_json.cpp) and the
// actors' field peeking (actors/src/msgpack_peek.cpp).

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pactum::protocol {

class msgpack_cursor {
public:
  explicit msgpack_cursor(std::string_view in) : in_(in) {}

  bool byte(uint8_t& out) {
    if (pos_ >= in_.size())
      return false;
    out = static_cast<uint8_t>(in_[pos_++]);
    return true;
  }

  /// A big-endian unsigned integer of `n` (1 to 8) bytes.
  bool be(size_t n, uint64_t& out) {
    if (in_.size() - pos_ < n)
      return false;
    out = 0;
    for (size_t i = 0; i < n; ++i)
      out = (out << 8) | static_cast<uint8_t>(in_[pos_ + i]);
    pos_ += n;
    return true;
  }

  /// The next `n` bytes.
  bool bytes(uint64_t n, std::string_view& out) {
    if (in_.size() - pos_ < n)
      return false;
    out = in_.substr(pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return true;
  }

  bool skip_bytes(uint64_t n) {
    std::string_view ignored;
    return bytes(n, ignored);
  }

  bool at_end() const noexcept { return pos_ == in_.size(); }
  size_t pos() const noexcept { return pos_; }
  /// Back to an earlier `pos()`.
  void rewind(size_t pos) noexcept { pos_ = pos; }

private:
  std::string_view in_;
  size_t pos_ = 0;
};

} // namespace pactum::protocol
