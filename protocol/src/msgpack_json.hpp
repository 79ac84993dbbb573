#pragma once

// msgpack → JSON text without a JSON DOM, for the event frames of text connections (one per
// event, however many recipients; event_to_json). It writes exactly what
// nlohmann::json::from_msgpack(...).dump() writes, or declines: anything where the two could
// differ (floats, binary, extensions, a map whose keys are not strictly ascending, a string that
// is not valid UTF-8, trailing bytes, nesting deeper than 64) returns false and the caller takes
// the DOM path.

#include <string>
#include <string_view>

namespace pactum::protocol::detail {

/// Appends the JSON text of the msgpack value `mp` to `out`; false (and `out` unspecified) when
/// the value is not one this fast path handles.
bool msgpack_to_json(std::string_view mp, std::string& out);

} // namespace pactum::protocol::detail
