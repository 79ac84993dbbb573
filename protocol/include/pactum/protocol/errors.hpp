#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace pactum::protocol {

/// Stable error codes, sent as strings in `{"type":"error","code":...}` replies. Never renumber or
/// rename one: clients switch on them. `docs/protocol.md` describes each.
enum class error_code : uint8_t {
  bad_frame = 1,  ///< not decodable: invalid JSON/msgpack, not an object, nested too deep
  bad_request,    ///< decodable but a field is missing, of the wrong type or out of range
  unknown_type,   ///< `type` names no request
  unauthorized,   ///< no valid credentials
  forbidden,      ///< the caller may not do this (includes: not a member, no such entity)
  not_found,      ///< the thing asked for does not exist (where existence is not secret)
  conflict,       ///< the request contradicts current state (e.g. email taken)
  too_large,      ///< a field or frame exceeds its limit
  rate_limited,   ///< too many requests; retry later
  overloaded,     ///< the server sheds load; nothing was done; retry with backoff
  unavailable,    ///< storage unreachable; nothing was done; retry with backoff
  timeout,        ///< no answer in time; the outcome is unknown: retry with the same ids
  internal,       ///< a bug; logged on the server
  limit_reached,  ///< a count limit is reached (e.g. pending offers); resolve some first
  content_blocked, ///< the text shares contact details or off-platform payment before a deal
  idempotency_mismatch, ///< this idempotency key was already used with other parameters
  sold_out,       ///< a limited reward tier has no place left; nothing was charged
  invalid_code,   ///< a promotion code is forged, altered, unknown or not the caller's to redeem
  expired,        ///< a promotion code's expiry has passed
  already_redeemed, ///< a promotion code was redeemed before (codes are single use)
  budget_exhausted, ///< the promotion's budget has less left than one reward
  promotion_inactive, ///< the promotion is paused, closed, or outside its validity
};

std::string_view to_string(error_code) noexcept;
std::optional<error_code> error_code_from_string(std::string_view) noexcept;

/// WebSocket close codes the server uses (RFC 6455 plus the 4000-4999 private range).
enum class close_code : uint16_t {
  going_away = 1001,       ///< server shutting down; reconnect and resume
  policy_violation = 1008, ///< too many malformed frames
  too_big = 1009,          ///< a frame exceeded the maximum message size
  slow_consumer = 4001,    ///< outbound queue overflowed; reconnect and resume from last seq
  session_revoked = 4003,  ///< the token was revoked
  role_changed = 4004,     ///< an admin changed the user's role; reconnect to act with the new one
  frame_flood = 4029,      ///< kept sending frames faster than the per-connection limit
};

} // namespace pactum::protocol
