#include "pactum/persistence/sandbox_store.hpp"

#include <algorithm>
#include <atomic>
#include <functional>
#include <limits>
#include <mutex>
#include <vector>

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "connection.hpp"
#include "pactum/common/executor.hpp"

namespace pactum::persistence {

namespace {

/// SQL for "milliseconds since the epoch as timestamptz" and back.
#define PACTUM_TS(param) "('epoch'::timestamptz + " param "::bigint * interval '1 millisecond')"
#define PACTUM_MS(expr) "floor(extract(epoch from " expr ") * 1000)::bigint"

/// The oldest undelivered row of its object: only such a row may be sent (per-object order).
#define PACTUM_HEAD_OF_OBJECT                                                                     \
  " not exists (select 1 from sandbox_webhooks e where e.object_key = w.object_key"               \
  " and e.delivered_at is null and e.seq < w.seq)"

/// Prepared once per connection.
const std::pair<const char*, const char*> sandbox_statements[] = {
  {"sbx_claim_key",
   "insert into sandbox_calls (key, fingerprint) values ($1, $2) on conflict (key) do nothing"},
  {"sbx_lock_key", "select fingerprint, attempts, result from sandbox_calls where key = $1"
                   " for update"},
  {"sbx_finish_key",
   "update sandbox_calls set attempts = attempts + 1,"
   " result = case when $3::boolean then $2 else null end,"
   " completed_at = case when $3::boolean then now() else null end where key = $1"},
  {"sbx_lock_object",
   "select key, kind, status, amount, currency, method, reference, captured, refunded,"
   " coalesce(failure_code, ''), coalesce(cancel_reason, ''), " PACTUM_MS("created_at") ","
   " coalesce(" PACTUM_MS("expires_at") ", 0) from sandbox_intents where key = $1 for update"},
  {"sbx_write_object",
   "insert into sandbox_intents (key, kind, status, amount, currency, method, reference,"
   " captured, refunded, failure_code, cancel_reason, created_at, expires_at)"
   " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, nullif($10, ''), nullif($11, ''), " PACTUM_TS(
     "$12") ", case when $13::bigint = 0 then null else " PACTUM_TS("$13") " end)"
   " on conflict (key) do update set status = excluded.status, captured = excluded.captured,"
   " refunded = excluded.refunded, failure_code = excluded.failure_code,"
   " cancel_reason = excluded.cancel_reason, expires_at = excluded.expires_at,"
   " updated_at = now()"},
  {"sbx_enqueue",
   "insert into sandbox_webhooks (id, object_key, event_type, body, due_at)"
   " values ($1, $2, $3, $4, " PACTUM_TS("$5") ")"},
  {"sbx_due",
   "select w.seq, w.id, w.body, w.attempts from sandbox_webhooks w"
   " where w.delivered_at is null and w.due_at <= " PACTUM_TS("$1") " and" PACTUM_HEAD_OF_OBJECT
   " order by w.due_at, w.seq limit $2"},
  {"sbx_lapsed",
   "select key from sandbox_intents where status = 'requires_capture'"
   " and expires_at <= " PACTUM_TS("$1") " order by expires_at limit $2"},
  {"sbx_next_wake",
   "select coalesce(" PACTUM_MS(
     "least((select min(w.due_at) from sandbox_webhooks w where w.delivered_at is null"
     " and w.due_at > " PACTUM_TS("$1") " and" PACTUM_HEAD_OF_OBJECT "),"
     " (select min(expires_at) from sandbox_intents where status = 'requires_capture'"
     " and expires_at > " PACTUM_TS("$1") "))") ", 0)"},
  {"sbx_delivered",
   "update sandbox_webhooks set delivered_at = now(), attempts = attempts + 1 where seq = $1"},
  {"sbx_failed",
   "update sandbox_webhooks set attempts = attempts + 1, due_at = " PACTUM_TS("$2") ","
   " last_error = $3 where seq = $1 and delivered_at is null"},
};

#undef PACTUM_HEAD_OF_OBJECT
#undef PACTUM_MS
#undef PACTUM_TS

failure make_failure(errc code, std::string message) {
  return failure{code, std::move(message)};
}

int64_t clamp_limit(size_t limit) {
  return static_cast<int64_t>(
    std::min<size_t>(limit, static_cast<size_t>(std::numeric_limits<int64_t>::max())));
}

std::optional<sandbox_object> lock_object(pqxx::work& tx, const std::string& key) {
  if (key.empty())
    return std::nullopt;
  auto rows = tx.exec_prepared("sbx_lock_object", key);
  if (rows.empty())
    return std::nullopt;
  const auto& row = rows[0];
  sandbox_object o;
  o.key = row[0].as<std::string>();
  o.kind = row[1].as<std::string>();
  o.status = row[2].as<std::string>();
  o.amount = row[3].as<int64_t>();
  o.currency = row[4].as<std::string>();
  o.method = row[5].as<std::string>();
  o.reference = row[6].as<std::string>();
  o.captured = row[7].as<int64_t>();
  o.refunded = row[8].as<int64_t>();
  o.failure_code = row[9].as<std::string>();
  o.cancel_reason = row[10].as<std::string>();
  o.created_at = row[11].as<int64_t>();
  o.expires_at = row[12].as<int64_t>();
  return o;
}

/// Writes a decision's object and events (not its answer) inside `tx`.
void apply_decision(pqxx::work& tx, const sandbox_decision& d) {
  if (d.write) {
    const auto& o = *d.write;
    tx.exec_prepared0("sbx_write_object", o.key, o.kind, o.status, o.amount, o.currency, o.method,
                      o.reference, o.captured, o.refunded, o.failure_code, o.cancel_reason,
                      o.created_at, o.expires_at);
  }
  for (const auto& ev : d.events)
    tx.exec_prepared0("sbx_enqueue", ev.id, ev.object_key, ev.type, ev.body, ev.due_at);
}

} // namespace

// -- impl -----------------------------------------------------------------------------------------

/// One connection and the thread that uses it.
///
/// Lifecycle: the executor (one thread) starts in the constructor; `stop()` drains and joins it,
/// then closes the connection. Threading: `conn` is touched only by the executor's thread (and by
/// `stop()` after the join).
struct store_lane {
  store_lane(const sandbox_store_config& c, const std::string& name)
    : cfg(c), gate(cfg.reconnect_backoff_max), jobs(name, 1, std::max<size_t>(cfg.queue_limit, 1)) {}

  ~store_lane() { stop(); }

  void stop() {
    std::lock_guard<std::mutex> guard{lifecycle_mtx};
    jobs.stop();
    conn.reset();
  }

  /// Queues `fn(connection)`; its result goes to `done` on the lane's thread.
  template <class T, class Fn>
  bool submit(const char* what, std::function<void(result<T>)> done, Fn fn) {
    return jobs.post([this, what, done = std::move(done), fn = std::move(fn)]() mutable {
      result<T> r = run_job<T>(what, fn);
      try {
        done(std::move(r));
      } catch (const std::exception& e) {
        spdlog::error("sandbox store: {} callback threw: {}", what, e.what());
      }
    });
  }

  /// The exception boundary: libpqxx errors become error codes here.
  template <class T, class Fn>
  result<T> run_job(const char* what, Fn& fn) {
    if (conn && !detail::connection_looks_alive(*conn)) {
      spdlog::info("sandbox store: {}: connection found closed, reconnecting", what);
      conn.reset();
    }
    if (!conn) {
      if (!gate.may_attempt())
        return make_failure(errc::unavailable, "database unreachable (reconnect backing off)");
      try {
        auto c = detail::open_connection(cfg.url, "pactum-sandbox");
        for (const auto& [name, sql] : sandbox_statements)
          c->prepare(name, sql);
        conn = std::move(c);
        gate.succeeded();
      } catch (const std::exception& e) {
        gate.failed();
        spdlog::warn("sandbox store: cannot connect: {}", e.what());
        return make_failure(errc::unavailable, std::string{"database unreachable: "} + e.what());
      }
    }
    try {
      return fn(*conn);
    } catch (const pqxx::broken_connection& e) {
      spdlog::warn("sandbox store: {}: connection lost: {}", what, e.what());
      conn.reset();
      return make_failure(errc::unavailable, std::string{"connection lost: "} + e.what());
    } catch (const pqxx::in_doubt_error& e) {
      // The call's answer is stored with its effects, so a retry with the same key finds out.
      spdlog::warn("sandbox store: {}: commit outcome unknown: {}", what, e.what());
      conn.reset();
      return make_failure(errc::unavailable, std::string{"commit outcome unknown: "} + e.what());
    } catch (const pqxx::sql_error& e) {
      if (detail::is_connection_loss(e)) {
        spdlog::warn("sandbox store: {}: session lost: {}", what, e.what());
        conn.reset();
        return make_failure(errc::unavailable, std::string{"session lost: "} + e.what());
      }
      if (e.sqlstate() == "40001" || e.sqlstate() == "40P01") // serialization failure, deadlock
        return make_failure(errc::unavailable, e.what());
      spdlog::error("sandbox store: {} failed: {} (sqlstate {})", what, e.what(), e.sqlstate());
      return make_failure(errc::internal, e.what());
    } catch (const std::exception& e) {
      spdlog::error("sandbox store: {} failed: {}", what, e.what());
      if (!conn->is_open())
        conn.reset();
      return make_failure(errc::internal, e.what());
    }
  }

  const sandbox_store_config& cfg;
  detail::reconnect_gate gate;
  std::unique_ptr<pqxx::connection> conn;
  std::mutex lifecycle_mtx;
  executor jobs;
};

/// Lane 0 also runs the deliverer's polls and marks; calls and updates go to the lane of their
/// object (or key), so one object's operations keep the order they were submitted in, and
/// different objects' run at the same time, their commits sharing WAL flushes.
struct sandbox_store::impl {
  explicit impl(sandbox_store_config c) : cfg(std::move(c)) {
    auto n = std::max<size_t>(cfg.lanes, 1);
    for (size_t i = 0; i < n; ++i)
      lanes.push_back(std::make_unique<store_lane>(cfg, "pactum-sandbox"));
    // Connect every lane now rather than on its first call, so that no call (a funding charge, an
    // authorization whose validity starts with it) waits for a connection and its statements.
    for (auto& l : lanes)
      l->submit<unit>("connect", [](result<unit>) {}, [](pqxx::connection&) -> result<unit> { return unit{}; });
  }

  ~impl() { stop(); }

  void stop() {
    for (auto& l : lanes)
      l->stop();
  }

  store_lane& lane_of(const std::string& object_key) {
    return *lanes[std::hash<std::string>{}(object_key) % lanes.size()];
  }

  template <class T, class Fn>
  bool submit(const char* what, std::function<void(result<T>)> done, Fn fn) {
    return lanes.front()->submit<T>(what, std::move(done), std::move(fn));
  }

  sandbox_store_config cfg;
  std::vector<std::unique_ptr<store_lane>> lanes;
};

// -- sandbox_store --------------------------------------------------------------------------------

sandbox_store::sandbox_store(sandbox_store_config cfg)
  : impl_(std::make_unique<impl>(std::move(cfg))) {}

sandbox_store::~sandbox_store() = default;

void sandbox_store::stop() {
  impl_->stop();
}

bool sandbox_store::call(std::string key, std::string fingerprint, std::string object_key,
                         sandbox_decider decide,
                         std::function<void(result<sandbox_call_outcome>)> done) {
  auto& lane = impl_->lane_of(object_key.empty() ? key : object_key);
  return lane.submit<sandbox_call_outcome>(
    "call", std::move(done),
    [key = std::move(key), fingerprint = std::move(fingerprint),
     object_key = std::move(object_key),
     decide = std::move(decide)](pqxx::connection& conn) -> result<sandbox_call_outcome> {
      pqxx::work tx{conn};
      // Concurrent first uses of one key meet here: the loser waits for the winner's commit,
      // then finds the key taken and locks it.
      tx.exec_prepared0("sbx_claim_key", key, fingerprint);
      auto rows = tx.exec_prepared("sbx_lock_key", key);
      if (rows.size() != 1)
        return make_failure(errc::internal, "idempotency key vanished");
      if (rows[0][0].as<std::string>() != fingerprint) {
        tx.abort();
        return sandbox_call_outcome{sandbox_call_kind::mismatch, {}};
      }
      if (!rows[0][2].is_null()) {
        auto stored = rows[0][2].as<std::string>();
        tx.abort();
        return sandbox_call_outcome{sandbox_call_kind::replayed, std::move(stored)};
      }
      sandbox_call_state state;
      state.attempts = rows[0][1].as<int>();
      state.object = lock_object(tx, object_key);
      auto decision = decide(state);
      apply_decision(tx, decision);
      tx.exec_prepared0("sbx_finish_key", key, decision.result, decision.final);
      tx.commit();
      return sandbox_call_outcome{sandbox_call_kind::fresh, std::move(decision.result)};
    });
}

bool sandbox_store::update(std::string object_key, sandbox_decider decide,
                           std::function<void(result<std::string>)> done) {
  auto& lane = impl_->lane_of(object_key);
  return lane.submit<std::string>(
    "update", std::move(done),
    [object_key = std::move(object_key),
     decide = std::move(decide)](pqxx::connection& conn) -> result<std::string> {
      pqxx::work tx{conn};
      sandbox_call_state state;
      state.object = lock_object(tx, object_key);
      auto decision = decide(state);
      apply_decision(tx, decision);
      tx.commit();
      return std::move(decision.result);
    });
}

bool sandbox_store::poll(millis now, size_t limit, std::function<void(result<sandbox_poll>)> done) {
  return impl_->submit<sandbox_poll>(
    "poll", std::move(done), [now, limit](pqxx::connection& conn) -> result<sandbox_poll> {
      pqxx::read_transaction tx{conn};
      sandbox_poll out;
      for (const auto& row : tx.exec_prepared("sbx_due", now, clamp_limit(limit)))
        out.deliveries.push_back({row[0].as<int64_t>(), row[1].as<std::string>(),
                                  row[2].as<std::string>(), row[3].as<int>()});
      for (const auto& row : tx.exec_prepared("sbx_lapsed", now, clamp_limit(limit)))
        out.expired.push_back(row[0].as<std::string>());
      out.next_wake = tx.exec_prepared1("sbx_next_wake", now)[0].as<int64_t>();
      return out;
    });
}

bool sandbox_store::mark_delivered(int64_t seq, std::function<void(result<unit>)> done) {
  return impl_->submit<unit>("mark_delivered", std::move(done),
                             [seq](pqxx::connection& conn) -> result<unit> {
                               pqxx::work tx{conn};
                               // A lost mark only means the webhook is sent again, which
                               // delivery (at least once, deduplicated by event id) allows:
                               // no need to wait for the disk on the sandbox's one connection.
                               tx.exec0("set local synchronous_commit = off");
                               tx.exec_prepared0("sbx_delivered", seq);
                               tx.commit();
                               return unit{};
                             });
}

bool sandbox_store::mark_failed(int64_t seq, millis retry_at, std::string error,
                                std::function<void(result<unit>)> done) {
  return impl_->submit<unit>(
    "mark_failed", std::move(done),
    [seq, retry_at, error = std::move(error)](pqxx::connection& conn) -> result<unit> {
      pqxx::work tx{conn};
      tx.exec_prepared0("sbx_failed", seq, retry_at, error);
      tx.commit();
      return unit{};
    });
}

} // namespace pactum::persistence
