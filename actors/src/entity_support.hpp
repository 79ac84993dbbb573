#pragma once

// Small pieces every entity actor (conversation, contract) uses the same way.

#include <string>
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

/// Answers a command's sender; an entity's own commands (timers, provider outcomes) have none.
template <class T>
void answer(caf::response_promise& rp, T&& x) {
  if (rp.pending())
    rp.deliver(std::forward<T>(x));
}

} // namespace pactum::actors
