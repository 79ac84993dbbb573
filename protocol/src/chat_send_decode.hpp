#pragma once

// The fast path of decode_request for the hot request, `message.send`: one pass over the frame
// bytes (JSON or msgpack) straight into the request struct, without the JSON DOM.
//
// It only ever answers a frame it is sure the DOM path (detail::decode_request_dom) decodes into
// the very same request: a flat object of the keys id, type, conversation, client_id, text and
// reply_to, each at most once, with valid values. Everything else — another type, an unknown or
// repeated key, a nested value, an escape it does not handle, a float, an invalid value, trailing
// bytes — yields nullopt and the caller decodes through the DOM, so every error (code and message)
// stays the DOM path's own.

#include <optional>
#include <string_view>

#include "pactum/protocol/codec.hpp"

namespace pactum::protocol::detail {

std::optional<request> decode_chat_send_fast(std::string_view frame, encoding enc,
                                             const limits& lim);

/// The reference decoder (codec.cpp): the whole frame through a guarded JSON DOM. decode_request
/// answers `message.send` frames from decode_chat_send_fast when it can and everything else from
/// this; both answer exactly the same (tests/protocol/decode_differential_test.cpp, the fuzz
/// target through tests/fuzz/decode_difference.hpp, bench/decode_bench.cpp for the timing).
expected<request, decode_error> decode_request_dom(std::string_view frame, encoding enc,
                                                   const limits& lim);

} // namespace pactum::protocol::detail
