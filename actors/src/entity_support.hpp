#pragma once

// Small pieces every entity actor (conversation, contract, wallet, pledge) uses the same way.

#include <algorithm>
#include <chrono>
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

/// The change of the provider-calls timer an append must carry, if any, from whether calls are
/// owed in the committed state before it and in the state after it: set (due `retry` after `now`)
/// when they become owed, cleared when none are owed any more. (The stored timer always follows
/// the committed state, so it needs no bookkeeping of its own.)
inline std::optional<persistence::timer_change> provider_calls_timer_change(bool owed_before, bool owed_after,
                                                                             millis now, millis retry) {
  if (owed_before == owed_after)
    return std::nullopt;
  return persistence::timer_change{std::string{provider_calls_timer}, now + retry, !owed_after};
}

/// Sends the entity its next `idle_check` after half of `idle` (at least 10 ms); none when `idle`
/// is 0 (passivation off).
template <class Self>
void schedule_idle_check_after(Self* self, std::chrono::milliseconds idle) {
  if (idle.count() > 0)
    self->delayed_send(self, std::max<caf::timespan>(idle / 2, std::chrono::milliseconds(10)),
                       idle_check_atom_v);
}

/// Answers a command's sender; an entity's own commands (timers, provider outcomes) have none.
template <class T>
void answer(caf::response_promise& rp, T&& x) {
  if (rp.pending())
    rp.deliver(std::forward<T>(x));
}

} // namespace pactum::actors
