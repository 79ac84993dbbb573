#pragma once

// Presence (docs/protocol.md "Presence"): the users' last-seen times, written in batches. Free
// functions over `database`, like notification_store.hpp: they run on its pool threads,
// callbacks on pool threads. No libpqxx type appears here.

#include <functional>
#include <utility>
#include <vector>

#include "pactum/persistence/database.hpp"

namespace pactum::persistence {

/// Stores many users' last-seen times in one transaction (a time only ever moves forward, as in
/// `database::touch_last_seen`): a reconnect storm takes every user offline at once, and one
/// commit per user would keep the pool busy with fsyncs while the same users log back in.
/// Unknown users are skipped. Answers the number of users updated.
void touch_last_seen_many(database& db, std::vector<std::pair<uuid, millis>> seen,
                          std::function<void(result<size_t>)> done);

} // namespace pactum::persistence
