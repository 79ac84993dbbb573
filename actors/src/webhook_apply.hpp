#pragma once

// The one way a verified payment webhook that moves money reaches its entity (a contract, a
// wallet, a pledge campaign): runtime::payment_webhook and pledge_webhook both go through it.

#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "services.hpp"

namespace pactum::actors {

/// Asks the entity to apply the webhook's outcome; calls its argument with nothing once applied
/// (or ignored as a result the entity already has), or with the error.
using webhook_apply_fn = std::function<void(std::function<void(std::optional<api_error>)>)>;

/// Records webhook `event_id` (payment_webhooks), then has `apply` apply it. `done` gets true for
/// a new id, false for a replay, or the error (`storage_error` maps a failed record).
///
/// A replay goes to the entity too: the id is recorded in its own transaction before the entity
/// journals the outcome, so a crash between the two leaves an id recorded and an outcome never
/// applied, which only the provider's retry can apply. Every entity ignores a result it already
/// has, so applying again is harmless. When applying fails, a new id is forgotten so that the
/// provider's retry is processed again; a replayed one stays recorded and is applied on the retry.
inline void record_then_apply(services& svc, std::string event_id, std::string type,
                              std::string reference, webhook_apply_fn apply,
                              std::function<api_error(const persistence::failure&)> storage_error,
                              std::function<void(expected<bool, api_error>)> done) {
  auto* db = svc.db;
  db->record_webhook(
    event_id, std::move(type), std::move(reference),
    [db, event_id, apply = std::move(apply), storage_error = std::move(storage_error),
     done = std::move(done)](persistence::result<bool> fresh) {
      if (!fresh)
        return done(storage_error(fresh.error()));
      bool replay = !fresh.value();
      apply([db, event_id, replay, done](std::optional<api_error> failed) {
        if (!failed)
          return done(!replay);
        if (replay)
          return done(std::move(*failed));
        db->forget_webhook(event_id, [done, e = std::move(*failed)](persistence::result<persistence::unit>) {
          done(e);
        });
      });
    });
}

} // namespace pactum::actors
