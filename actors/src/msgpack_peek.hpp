#pragma once

// Reads one top-level string field of a msgpack map without building a JSON DOM: the hot path
// (every committed chat message) only needs an event's `type` and author to decide that nothing
// more is to be done, and decoding the whole event into nlohmann::json costs dozens of
// allocations per message. Anything unexpected (not a map, a truncated or malformed value, the
// field absent or not a string) answers nullopt, and the caller falls back to the full decode.

#include <optional>
#include <string_view>
#include <vector>

namespace pactum::actors {

/// The string value of `key` in the msgpack map `mp`, viewing into `mp` (the last one if the key
/// repeats, as a JSON DOM would keep); nullopt when `mp` is not one well-formed map with string
/// keys (trailing bytes included), or the field is absent or not a string.
std::optional<std::string_view> msgpack_peek_str(std::string_view mp, std::string_view key) noexcept;

/// One entry of a msgpack map: its key, and the raw bytes of its value (header included).
struct msgpack_entry {
  std::string_view key;
  std::string_view value;
};

/// The entries of the msgpack map `mp` in their order; nullopt unless `mp` is exactly one
/// well-formed map with string keys.
std::optional<std::vector<msgpack_entry>> msgpack_map_entries(std::string_view mp);

} // namespace pactum::actors
