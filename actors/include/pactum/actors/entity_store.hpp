#pragma once

// What entity actors need from storage: their journal and their snapshots. The real store is the
// PostgreSQL database; the deterministic simulation tests substitute an in-memory store that
// fails, stalls and loses answers on purpose (tests/actors/conversation_sim_test.cpp).
//
// Contract (the same as persistence::database's): every callback is called exactly once, possibly
// on another thread, possibly synchronously when a request is refused up front.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pactum/common/uuid.hpp"
#include "pactum/persistence/database.hpp"

namespace pactum::actors {

class entity_store {
public:
  virtual ~entity_store() = default;

  virtual void append(persistence::append_request req) = 0;

  virtual void read_events(uuid entity, int64_t after_seq, int64_t before_seq, size_t limit,
                           bool newest_first,
                           std::function<void(persistence::result<std::vector<persistence::event_record>>)>
                             done) = 0;

  virtual void save_snapshot(uuid entity, std::string entity_type, persistence::snapshot_record snap,
                             std::function<void(persistence::result<persistence::unit>)> done) = 0;

  virtual void load_snapshot(
    uuid entity,
    std::function<void(persistence::result<std::optional<persistence::snapshot_record>>)> done) = 0;

  /// Durable timers due at or before `now` (stored by appends, see append_request::timers); each
  /// one handed out is moved to `now + retry` (persistence::database::due_timers).
  virtual void due_timers(
    millis now, size_t limit, millis retry,
    std::function<void(persistence::result<std::vector<persistence::due_timer>>)> done) = 0;
};

/// The production store: forwards to the database.
std::unique_ptr<entity_store> make_database_store(persistence::database& db);

} // namespace pactum::actors
