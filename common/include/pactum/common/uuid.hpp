#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace pactum {

/// A 128-bit identifier. New ids are UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random
/// bits, so they sort by creation time and need no coordination between nodes.
struct uuid {
  std::array<uint8_t, 16> bytes{};

  /// Returns a fresh UUIDv7 drawn from libsodium's CSPRNG.
  static uuid v7();

  /// Parses the canonical 36-character lower- or upper-case form; nullopt on anything else.
  static std::optional<uuid> parse(std::string_view text);

  /// Returns the canonical lower-case 36-character form.
  std::string str() const;

  bool is_nil() const noexcept;

  friend auto operator<=>(const uuid&, const uuid&) = default;
};

struct uuid_hash {
  size_t operator()(const uuid& x) const noexcept;
};

} // namespace pactum

template <>
struct std::hash<pactum::uuid> : pactum::uuid_hash {};
