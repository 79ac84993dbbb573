#pragma once

// Small pieces every entity actor (conversation, contract, wallet, pledge) uses the same way.

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "message_types.hpp"

namespace pactum::actors {

/// A refusal as the caf::error a requester receives (code and message for the client).
inline caf::error refuse(protocol::error_code code, std::string msg) {
  return caf::error{code, std::move(msg)};
}

/// What a client is told when storage failed: retryable codes for a lost or busy database (a
/// journal conflict means another writer; the entity restarts and the client may retry).
inline protocol::error_code from_persistence(persistence::errc code) {
  switch (code) {
    case persistence::errc::overloaded:
      return protocol::error_code::overloaded;
    case persistence::errc::unavailable:
    case persistence::errc::conflict:
      return protocol::error_code::unavailable;
    default:
      return protocol::error_code::internal;
  }
}

/// The durable wake-up timer of an entity that owes payment provider calls (a contract's capture
/// or refund, a wallet's payout, a pledge's authorization). The calls are made right after the
/// commit that makes them owed and again on every activation; this timer, stored in that same
/// commit and cleared by the one that journals the last outcome, activates the entity after a
/// crash (or a passivation) that nothing else would wake it from. While the calls stay owed the
/// sweeper offers it again every `timer_retry` (to a live entity, a no-op).
inline constexpr std::string_view provider_calls_timer = "provider_calls";

/// The change of the provider-calls timer an append must carry, if any: set (due `retry` after
/// `now`) when calls are owed after it and none was stored, cleared when none are owed any more.
/// `stored` follows what the append will store.
inline std::optional<persistence::timer_change> provider_calls_timer_change(bool owed, bool& stored,
                                                                             millis now, millis retry) {
  if (owed == stored)
    return std::nullopt;
  stored = owed;
  return persistence::timer_change{std::string{provider_calls_timer}, now + retry, !owed};
}

/// Answers a command's sender; an entity's own commands (timers, provider outcomes) have none.
template <class T>
void answer(caf::response_promise& rp, T&& x) {
  if (rp.pending())
    rp.deliver(std::forward<T>(x));
}

} // namespace pactum::actors
