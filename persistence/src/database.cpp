#include "pactum/persistence/database.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <limits>
#include <mutex>

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "audit_log.hpp"
#include "connection.hpp"
#include "journal_writer.hpp"
#include "migrations.hpp"
#include "pactum/common/executor.hpp"
#include "pool_job.hpp"

namespace pactum::persistence {

const char* to_string(errc code) noexcept {
  switch (code) {
    case errc::conflict:
      return "conflict";
    case errc::unavailable:
      return "unavailable";
    case errc::overloaded:
      return "overloaded";
    case errc::not_found:
      return "not_found";
    case errc::duplicate:
      return "duplicate";
    case errc::refused:
      return "refused";
    case errc::internal:
      return "internal";
  }
  return "unknown";
}

namespace {

constexpr const char* user_columns =
  "u.id::text, u.email, u.password_hash, u.display_name, u.role,"
  " floor(extract(epoch from u.created_at) * 1000)::bigint";

constexpr const char* conversation_columns =
  "c.id::text, c.brand_id::text, c.creator_id::text,"
  " floor(extract(epoch from c.created_at) * 1000)::bigint";

/// Every statement a pool connection prepares when it opens: planned once per connection.
const std::pair<const char*, std::string> pool_statements[] = {
  {"read_events_asc",
   "select seq, event_type, version, payload,"
   " floor(extract(epoch from recorded_at) * 1000)::bigint from journal"
   " where entity_id = $1 and seq > $2 and seq < $3 order by seq limit $4"},
  {"read_events_desc",
   "select seq, event_type, version, payload,"
   " floor(extract(epoch from recorded_at) * 1000)::bigint from journal"
   " where entity_id = $1 and seq > $2 and seq < $3 order by seq desc limit $4"},
  {"save_snapshot",
   "insert into snapshots as s (entity_id, entity_type, seq, version, payload)"
   " values ($1, $2, $3, $4, $5) on conflict (entity_id) do update"
   " set seq = excluded.seq, version = excluded.version, payload = excluded.payload,"
   " taken_at = now() where s.seq < excluded.seq"},
  // Hands out due rows and, in the same statement, moves each to `now + retry` (unless retry is
  // 0): an entity that clears or moves its timer overwrites that, one that does not (it could not
  // be activated, or it is waiting for something else) is offered again after `retry` instead of
  // at every sweep, behind the rows due meanwhile. The answer carries the due time as it was.
  {"due_timers",
   "with picked as (select entity_id, entity_type, kind, due_at from due_timers"
   " where due_at <= 'epoch'::timestamptz + $1::bigint * interval '1 millisecond'"
   " order by due_at limit $2 for update skip locked),"
   " moved as (update due_timers d"
   " set due_at = 'epoch'::timestamptz + ($1::bigint + $3::bigint) * interval '1 millisecond'"
   " from picked p where $3::bigint > 0 and d.entity_id = p.entity_id and d.kind = p.kind)"
   " select entity_id::text, entity_type, kind, floor(extract(epoch from due_at) * 1000)::bigint"
   " from picked order by due_at"},
  {"load_snapshot", "select seq, version, payload from snapshots where entity_id = $1"},
  {"record_guard_hit",
   "insert into guard_hits (conversation_id, sender_id, seq, action, categories, original)"
   " values ($1, $2, nullif($3::bigint, 0), $4, $5::text[], $6)"},
  {"guard_queue",
   "select h.id, h.conversation_id::text, h.sender_id::text, h.seq, h.action, h.categories,"
   " h.original, floor(extract(epoch from h.created_at) * 1000)::bigint,"
   " (select count(*) from guard_hits s where s.sender_id = h.sender_id"
   "  and s.verdict is distinct from 'dismissed')"
   " from guard_hits h where h.reviewed_at is null order by h.created_at, h.id limit $1"},
  {"review_guard_hit",
   "update guard_hits set reviewed_at = now(), reviewed_by = $2, verdict = $3"
   " where id = $1 and reviewed_at is null"},
  {"set_user_role", "update users set role = $2 where email = $1"},
  {"touch_last_seen",
   "update users set last_seen_at = greatest(last_seen_at,"
   " 'epoch'::timestamptz + $2::bigint * interval '1 millisecond') where id = $1"},
  {"last_seen",
   "select floor(extract(epoch from last_seen_at) * 1000)::bigint from users where id = $1"},
  {"create_user",
   "insert into users (id, email, password_hash, display_name, role, created_at)"
   " values ($1, $2, $3, $4, $5, case when $6::bigint = 0 then now()"
   " else 'epoch'::timestamptz + $6::bigint * interval '1 millisecond' end)"},
  {"find_user_by_email",
   std::string{"select "} + user_columns + " from users u where u.email = $1"},
  {"find_user", std::string{"select "} + user_columns + " from users u where u.id = $1"},
  {"insert_token",
   "insert into auth_tokens (token_hash, user_id, expires_at)"
   " values ($1, $2, 'epoch'::timestamptz + $3::bigint * interval '1 millisecond')"},
  {"find_user_by_token",
   std::string{"select "} + user_columns + ", t.session_id::text"
     + ", floor(extract(epoch from t.expires_at) * 1000)::bigint"
     + " from auth_tokens t join users u on u.id = t.user_id"
       " left join auth_sessions s on s.id = t.session_id"
       " where t.token_hash = $1 and t.kind = 'access' and t.expires_at > now()"
       " and (t.session_id is null or s.revoked_at is null)"},
  {"insert_login",
   "insert into auth_sessions (id, user_id, user_agent, refresh_expires_at)"
   " values ($1, $2, $3, 'epoch'::timestamptz + $4::bigint * interval '1 millisecond')"},
  {"insert_login_token",
   "insert into auth_tokens (token_hash, user_id, expires_at, session_id, kind)"
   " values ($1, $2, 'epoch'::timestamptz + $3::bigint * interval '1 millisecond', $4, $5)"},
  {"add_login_token",
   "insert into auth_tokens (token_hash, user_id, expires_at, session_id, kind)"
   " select $1, $2, 'epoch'::timestamptz + $3::bigint * interval '1 millisecond', $4, $5"
   " where exists (select 1 from auth_sessions s where s.id = $4 and s.user_id = $2"
   " and s.revoked_at is null)"},
  {"touch_login",
   "update auth_sessions set last_used_at = now()"
   " where id = $1 and last_used_at < now() - interval '1 minute'"},
  {"lock_refresh",
   std::string{"select t.session_id::text, t.used_at is not null, t.expires_at > now(),"}
     + " s.revoked_at is null, " + user_columns
     + " from auth_tokens t join auth_sessions s on s.id = t.session_id"
       " join users u on u.id = t.user_id"
       " where t.token_hash = $1 and t.kind = 'refresh' for update of t, s"},
  {"use_refresh", "update auth_tokens set used_at = now() where token_hash = $1"},
  {"extend_login",
   "update auth_sessions set last_used_at = now(),"
   " refresh_expires_at = 'epoch'::timestamptz + $2::bigint * interval '1 millisecond'"
   " where id = $1"},
  {"revoke_login",
   "update auth_sessions set revoked_at = now()"
   " where id = $1 and user_id = $2 and revoked_at is null"},
  {"drop_login_tokens", "delete from auth_tokens where session_id = $1 and kind <> 'refresh'"},
  {"lock_password", "select password_hash from users where id = $1 for share"},
  {"lock_user_for_logins", "select password_hash from users where id = $1 for no key update"},
  {"lock_live_login",
   "select 1 from auth_sessions where id = $1 and user_id = $2 and revoked_at is null for no key update"},
  {"set_password", "update users set password_hash = $2 where id = $1"},
  {"drop_loginless_tokens", "delete from auth_tokens where user_id = $1 and session_id is null"},
  {"revoke_logins",
   "update auth_sessions set revoked_at = now()"
   " where user_id = $1 and revoked_at is null and id::text <> $2 returning id::text"},
  {"list_logins",
   "select id::text, user_id::text, floor(extract(epoch from created_at) * 1000)::bigint,"
   " floor(extract(epoch from last_used_at) * 1000)::bigint, user_agent,"
   " floor(extract(epoch from refresh_expires_at) * 1000)::bigint from auth_sessions"
   " where user_id = $1 and revoked_at is null and refresh_expires_at > now()"
   " order by created_at desc, id desc limit 100"},
  {"consume_ticket",
   "delete from auth_tokens where token_hash = $1 and kind = 'ticket'"
   " returning session_id::text, expires_at > now()"},
  {"ticket_owner",
   std::string{"select "} + user_columns
     + " from auth_sessions s join users u on u.id = s.user_id"
       " where s.id = $1 and s.revoked_at is null"},
  {"insert_conversation",
   "insert into conversations as c (id, brand_id, creator_id) values ($1, $2, $3)"
   " on conflict (brand_id, creator_id) do nothing returning "
     + std::string{conversation_columns}},
  {"find_conversation",
   std::string{"select "} + conversation_columns
     + ", coalesce((select max(j.seq) from journal j where j.entity_id = c.id), 0)"
       " from conversations c where c.brand_id = $1 and c.creator_id = $2"},
  {"insert_event",
   "insert into journal (entity_id, seq, entity_type, event_type, version, payload)"
   " values ($1, $2, $3, $4, $5, $6)"},
  {"list_conversations",
   std::string{"select "} + conversation_columns
     + ", coalesce((select max(j.seq) from journal j where j.entity_id = c.id), 0)"
       " from conversations c where c.brand_id = $1 or c.creator_id = $1"
       " order by c.created_at desc, c.id desc limit $2"},
};

failure make_failure(errc code, std::string message) {
  return failure{code, std::move(message)};
}

uuid to_uuid(const pqxx::field& f) {
  auto id = uuid::parse(f.c_str());
  if (!id)
    throw std::runtime_error(std::string{"malformed uuid from the database: "} + f.c_str());
  return *id;
}

user_row to_user(const pqxx::row& row) {
  user_row u;
  u.id = to_uuid(row[0]);
  u.email = row[1].as<std::string>();
  u.password_hash = row[2].as<std::string>();
  u.display_name = row[3].as<std::string>();
  u.role = row[4].as<std::string>();
  u.created_at = row[5].as<int64_t>();
  return u;
}

conversation_row to_conversation(const pqxx::row& row, int64_t head_seq) {
  conversation_row c;
  c.id = to_uuid(row[0]);
  c.brand_id = to_uuid(row[1]);
  c.creator_id = to_uuid(row[2]);
  c.created_at = row[3].as<int64_t>();
  c.head_seq = head_seq;
  return c;
}

/// Emails are compared in their normalised form (trimmed, ASCII lower-case) so that lookups do
/// not depend on how a user typed theirs.
std::string normalise_email(std::string email) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  email.erase(email.begin(), std::find_if(email.begin(), email.end(), not_space));
  email.erase(std::find_if(email.rbegin(), email.rend(), not_space).base(), email.end());
  for (auto& c : email)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return email;
}

int64_t clamp_limit(size_t limit) {
  return static_cast<int64_t>(
    std::min<size_t>(limit, static_cast<size_t>(std::numeric_limits<int64_t>::max())));
}

} // namespace

// -- impl -----------------------------------------------------------------------------------------

/// Lifecycle: built by the constructor; `start()` creates the pool and the writer, `stop()` stops
/// both (objects live on until destruction, so a late caller racing `stop()` is refused instead
/// of touching a dead object).
/// Threading: public operations from any thread; each pool job runs on an executor thread and
/// uses one connection slot exclusively for its duration.
struct database::impl {
  /// One pool connection. There are as many slots as pool threads, so a job always finds one.
  struct slot {
    std::unique_ptr<pqxx::connection> conn;
  };

  /// Borrows a slot for the duration of one job.
  class slot_lease {
  public:
    explicit slot_lease(impl& owner) : owner_(owner) {
      std::lock_guard<std::mutex> guard{owner_.slots_mtx};
      slot_ = owner_.free_slots.back();
      owner_.free_slots.pop_back();
    }
    ~slot_lease() {
      std::lock_guard<std::mutex> guard{owner_.slots_mtx};
      owner_.free_slots.push_back(slot_);
    }
    slot_lease(const slot_lease&) = delete;
    slot_lease& operator=(const slot_lease&) = delete;
    slot* operator->() const noexcept { return slot_; }

  private:
    impl& owner_;
    slot* slot_;
  };

  explicit impl(config c) : cfg(std::move(c)), pool_gate(cfg.reconnect_backoff_max) {
    cfg.pool_threads = std::max<size_t>(cfg.pool_threads, 1);
    cfg.pool_queue_limit = std::max<size_t>(cfg.pool_queue_limit, 1);
    for (size_t i = 0; i < cfg.pool_threads; ++i) {
      slots.push_back(std::make_unique<slot>());
      free_slots.push_back(slots.back().get());
    }
  }

  ~impl() { stop(); }

  void start() {
    std::lock_guard<std::mutex> guard{lifecycle_mtx};
    if (pool || stopped)
      return;
    pool = std::make_unique<executor>("pactum-db", cfg.pool_threads, cfg.pool_queue_limit);
    writer = std::make_unique<detail::journal_writer>(cfg);
    audit = std::make_unique<detail::audit_writer>(cfg);
    running.store(true, std::memory_order_release);
  }

  void stop() {
    std::lock_guard<std::mutex> guard{lifecycle_mtx};
    running.store(false, std::memory_order_release);
    stopped = true;
    // Pool first: a pool callback may still append, and the writer is there to take it.
    if (pool)
      pool->stop();
    if (writer)
      writer->stop();
    if (audit) // last: what the journal's callbacks recorded is still written
      audit->stop();
    for (auto& s : slots)
      s->conn.reset();
  }

  /// Runs `fn(connection)` on a pool thread and hands its result to `done`. Refusals (not
  /// running, queue full) answer synchronously.
  template <class T, class Fn>
  void submit(const char* what, std::function<void(result<T>)> done, Fn fn) {
    if (!running.load(std::memory_order_acquire)) {
      done(make_failure(errc::unavailable, "persistence is not running"));
      return;
    }
    // Shared so the callback survives a refused post (post consumes the job it refuses).
    auto shared_done = std::make_shared<std::function<void(result<T>)>>(std::move(done));
    auto job = [this, what, shared_done, fn = std::move(fn)]() mutable {
      result<T> r = run_job<T>(what, fn);
      try {
        (*shared_done)(std::move(r));
      } catch (const std::exception& e) {
        spdlog::error("persistence: {} callback threw: {}", what, e.what());
      }
    };
    if (!pool->post(std::move(job))) {
      if (running.load(std::memory_order_acquire))
        (*shared_done)(make_failure(errc::overloaded, "persistence pool queue is full"));
      else
        (*shared_done)(make_failure(errc::unavailable, "persistence is not running"));
    }
  }

  /// The exception boundary: libpqxx errors become error codes here.
  template <class T, class Fn>
  result<T> run_job(const char* what, Fn& fn) {
    slot_lease s{*this};
    // An idle connection may have died under us (e.g. PostgreSQL restarted): find out before
    // running the job on it, so the job gets a fresh connection instead of failing.
    if (s->conn && !detail::connection_looks_alive(*s->conn)) {
      spdlog::info("persistence: {}: pool connection found closed, reconnecting", what);
      s->conn.reset();
    }
    if (!s->conn) {
      // While the database is down, refuse at once instead of stalling every job on a connect.
      if (!pool_gate.may_attempt())
        return make_failure(errc::unavailable, "database unreachable (reconnect backing off)");
      try {
        auto conn = detail::open_connection(cfg.url, "pactum-pool");
        for (const auto& [name, sql] : pool_statements)
          conn->prepare(name, sql);
        s->conn = std::move(conn);
        pool_gate.succeeded();
      } catch (const std::exception& e) {
        pool_gate.failed();
        spdlog::warn("persistence: cannot connect: {}", e.what());
        return make_failure(errc::unavailable, std::string{"database unreachable: "} + e.what());
      }
    }
    try {
      return fn(*s->conn);
    } catch (const pqxx::unique_violation& e) {
      return make_failure(errc::duplicate, e.what());
    } catch (const pqxx::broken_connection& e) {
      spdlog::warn("persistence: {}: connection lost: {}", what, e.what());
      s->conn.reset();
      return make_failure(errc::unavailable, std::string{"connection lost: "} + e.what());
    } catch (const pqxx::in_doubt_error& e) {
      // Only single-statement idempotent work runs here; the caller may retry.
      spdlog::warn("persistence: {}: commit outcome unknown: {}", what, e.what());
      s->conn.reset();
      return make_failure(errc::unavailable, std::string{"commit outcome unknown: "} + e.what());
    } catch (const pqxx::sql_error& e) {
      if (detail::is_connection_loss(e)) {
        spdlog::warn("persistence: {}: session lost: {}", what, e.what());
        s->conn.reset();
        return make_failure(errc::unavailable, std::string{"session lost: "} + e.what());
      }
      spdlog::error("persistence: {} failed: {} (sqlstate {})", what, e.what(), e.sqlstate());
      return make_failure(errc::internal, e.what());
    } catch (const std::exception& e) {
      spdlog::error("persistence: {} failed: {}", what, e.what());
      if (!s->conn->is_open())
        s->conn.reset();
      return make_failure(errc::internal, e.what());
    }
  }

  config cfg;
  detail::reconnect_gate pool_gate;
  std::mutex slots_mtx;
  std::vector<std::unique_ptr<slot>> slots;
  std::vector<slot*> free_slots;

  std::mutex lifecycle_mtx;
  std::atomic<bool> running{false};
  bool stopped = false;
  std::unique_ptr<executor> pool;
  std::unique_ptr<detail::journal_writer> writer;
  std::unique_ptr<detail::audit_writer> audit;
  std::atomic<uint64_t> audit_refused{0}; ///< audit records offered before start()
};

// -- database -------------------------------------------------------------------------------------

database::database(config cfg) : impl_(std::make_unique<impl>(std::move(cfg))) {}

database::~database() = default;

void database::migrate() {
  detail::run_migrations(impl_->cfg.url);
}

void database::start() {
  impl_->start();
}

void database::stop() {
  impl_->stop();
}

void database::append(append_request req) {
  if (!impl_->running.load(std::memory_order_acquire)) {
    req.done(make_failure(errc::unavailable, "persistence is not running"));
    return;
  }
  impl_->writer->submit(std::move(req));
}

void database::read_events(uuid entity, int64_t after_seq, int64_t before_seq, size_t limit,
                           bool newest_first,
                           std::function<void(result<std::vector<event_record>>)> done) {
  impl_->submit<std::vector<event_record>>(
    "read_events", std::move(done),
    [=](pqxx::connection& conn) -> result<std::vector<event_record>> {
      pqxx::read_transaction tx{conn};
      auto upper = before_seq > 0 ? before_seq : std::numeric_limits<int64_t>::max();
      auto rows = tx.exec_prepared(newest_first ? "read_events_desc" : "read_events_asc",
                                   entity.str(), after_seq, upper, clamp_limit(limit));
      std::vector<event_record> out;
      out.reserve(rows.size());
      for (const auto& row : rows) {
        event_record ev;
        ev.seq = row[0].as<int64_t>();
        ev.type = row[1].as<std::string>();
        ev.version = row[2].as<int16_t>();
        ev.payload = pqxx::binarystring{row[3]}.str();
        ev.recorded_at = row[4].as<int64_t>();
        out.push_back(std::move(ev));
      }
      return out;
    });
}

void database::save_snapshot(uuid entity, std::string entity_type, snapshot_record snap,
                             std::function<void(result<unit>)> done) {
  impl_->submit<unit>("save_snapshot", std::move(done),
                      [=, snap = std::move(snap)](pqxx::connection& conn) -> result<unit> {
                        pqxx::work tx{conn};
                        tx.exec_prepared0("save_snapshot", entity.str(), entity_type, snap.seq,
                                          snap.version, pqxx::binarystring{snap.payload});
                        tx.commit();
                        return unit{};
                      });
}

void database::load_snapshot(uuid entity,
                             std::function<void(result<std::optional<snapshot_record>>)> done) {
  impl_->submit<std::optional<snapshot_record>>(
    "load_snapshot", std::move(done),
    [entity](pqxx::connection& conn) -> result<std::optional<snapshot_record>> {
      pqxx::read_transaction tx{conn};
      auto rows = tx.exec_prepared("load_snapshot", entity.str());
      if (rows.empty())
        return std::optional<snapshot_record>{};
      snapshot_record snap;
      snap.seq = rows[0][0].as<int64_t>();
      snap.version = rows[0][1].as<int16_t>();
      snap.payload = pqxx::binarystring{rows[0][2]}.str();
      return std::optional<snapshot_record>{std::move(snap)};
    });
}

void database::due_timers(millis now, size_t limit, millis retry,
                          std::function<void(result<std::vector<due_timer>>)> done) {
  impl_->submit<std::vector<due_timer>>(
    "due_timers", std::move(done),
    [now, limit, retry](pqxx::connection& conn) -> result<std::vector<due_timer>> {
      pqxx::work tx{conn};
      auto rows = tx.exec_prepared("due_timers", now, clamp_limit(limit), std::max<millis>(retry, 0));
      std::vector<due_timer> out;
      out.reserve(rows.size());
      for (const auto& row : rows)
        out.push_back({to_uuid(row[0]), row[1].as<std::string>(), row[2].as<std::string>(),
                       row[3].as<int64_t>()});
      tx.commit();
      return out;
    });
}

void database::create_user(user_row user, std::function<void(result<unit>)> done) {
  impl_->submit<unit>("create_user", std::move(done),
                      [user = std::move(user)](pqxx::connection& conn) -> result<unit> {
                        pqxx::work tx{conn};
                        tx.exec_prepared0("create_user", user.id.str(),
                                          normalise_email(user.email), user.password_hash,
                                          user.display_name, user.role, user.created_at);
                        tx.commit();
                        return unit{};
                      });
}

void database::find_user_by_email(std::string email, std::function<void(result<user_row>)> done) {
  impl_->submit<user_row>(
    "find_user_by_email", std::move(done),
    [email = normalise_email(std::move(email))](pqxx::connection& conn) -> result<user_row> {
      pqxx::read_transaction tx{conn};
      auto rows = tx.exec_prepared("find_user_by_email", email);
      if (rows.empty())
        return make_failure(errc::not_found, "no user with this email");
      return to_user(rows[0]);
    });
}

void database::find_user(uuid id, std::function<void(result<user_row>)> done) {
  impl_->submit<user_row>("find_user", std::move(done),
                          [id](pqxx::connection& conn) -> result<user_row> {
                            pqxx::read_transaction tx{conn};
                            auto rows = tx.exec_prepared("find_user", id.str());
                            if (rows.empty())
                              return make_failure(errc::not_found, "no such user");
                            return to_user(rows[0]);
                          });
}

void database::insert_token(std::string token_hash, uuid user, millis expires_at,
                            std::function<void(result<unit>)> done) {
  impl_->submit<unit>(
    "insert_token", std::move(done),
    [hash = std::move(token_hash), user, expires_at](pqxx::connection& conn) -> result<unit> {
      try {
        pqxx::work tx{conn};
        tx.exec_prepared0("insert_token", pqxx::binarystring{hash}, user.str(), expires_at);
        tx.commit();
        return unit{};
      } catch (const pqxx::foreign_key_violation&) {
        return make_failure(errc::not_found, "no such user");
      }
    });
}

void database::find_user_by_token(std::string token_hash,
                                  std::function<void(result<user_row>)> done) {
  impl_->submit<user_row>(
    "find_user_by_token", std::move(done),
    [hash = std::move(token_hash)](pqxx::connection& conn) -> result<user_row> {
      pqxx::read_transaction tx{conn};
      auto rows = tx.exec_prepared("find_user_by_token", pqxx::binarystring{hash});
      if (rows.empty())
        return make_failure(errc::not_found, "no valid token with this hash");
      return to_user(rows[0]);
    });
}

namespace {

std::optional<uuid> optional_uuid(const pqxx::field& f) {
  if (f.is_null())
    return std::nullopt;
  return to_uuid(f);
}

void insert_login_tokens(pqxx::work& tx, const uuid& user, const uuid& login,
                         const std::vector<token_grant>& tokens) {
  for (const auto& t : tokens)
    tx.exec_prepared0("insert_login_token", pqxx::binarystring{t.hash}, user.str(), t.expires_at,
                      login.str(), t.kind);
}

} // namespace

void database::create_login(login_row login, std::vector<token_grant> tokens,
                            std::function<void(result<unit>)> done,
                            std::optional<std::string> verified_password_hash) {
  impl_->submit<unit>(
    "create_login", std::move(done),
    [login = std::move(login), tokens = std::move(tokens),
     verified = std::move(verified_password_hash)](pqxx::connection& conn) -> result<unit> {
      try {
        pqxx::work tx{conn};
        if (verified) {
          // Share-locks the user row: a password change (revoke_logins) updates it, so either it
          // commits first and this login is refused, or it waits and then revokes this login.
          auto rows = tx.exec_prepared("lock_password", login.user.str());
          if (rows.empty())
            return make_failure(errc::not_found, "no such user");
          if (rows[0][0].as<std::string>() != *verified)
            return make_failure(errc::conflict, "the password changed meanwhile");
        }
        tx.exec_prepared0("insert_login", login.id.str(), login.user.str(), login.user_agent,
                          login.refresh_expires_at);
        insert_login_tokens(tx, login.user, login.id, tokens);
        tx.commit();
        return unit{};
      } catch (const pqxx::foreign_key_violation&) {
        return make_failure(errc::not_found, "no such user");
      }
    });
}

void database::find_access_token(std::string token_hash,
                                 std::function<void(result<token_owner>)> done) {
  impl_->submit<token_owner>(
    "find_access_token", std::move(done),
    [hash = std::move(token_hash)](pqxx::connection& conn) -> result<token_owner> {
      pqxx::work tx{conn};
      auto rows = tx.exec_prepared("find_user_by_token", pqxx::binarystring{hash});
      if (rows.empty())
        return make_failure(errc::not_found, "no valid token with this hash");
      token_owner out{to_user(rows[0]), optional_uuid(rows[0][6]), rows[0][7].as<int64_t>()};
      if (out.login)
        tx.exec_prepared0("touch_login", out.login->str());
      tx.commit();
      return out;
    });
}

void database::rotate_refresh(std::string token_hash, std::vector<token_grant> new_tokens,
                              millis refresh_expires_at,
                              std::function<void(result<refresh_result>)> done) {
  impl_->submit<refresh_result>(
    "rotate_refresh", std::move(done),
    [hash = std::move(token_hash), tokens = std::move(new_tokens),
     refresh_expires_at](pqxx::connection& conn) -> result<refresh_result> {
      pqxx::work tx{conn};
      auto rows = tx.exec_prepared("lock_refresh", pqxx::binarystring{hash});
      if (rows.empty())
        return refresh_result{refresh_outcome::invalid, std::nullopt};
      auto row = rows[0];
      auto login = to_uuid(row[0]);
      bool used = row[1].as<bool>();
      bool unexpired = row[2].as<bool>();
      bool live = row[3].as<bool>();
      user_row user;
      user.id = to_uuid(row[4]);
      user.email = row[5].as<std::string>();
      user.password_hash = row[6].as<std::string>();
      user.display_name = row[7].as<std::string>();
      user.role = row[8].as<std::string>();
      user.created_at = row[9].as<int64_t>();
      if (!live)
        return refresh_result{refresh_outcome::invalid, std::nullopt};
      if (used) {
        // A rotated token presented again: someone holds a copy. End the whole family.
        tx.exec_prepared0("revoke_login", login.str(), user.id.str());
        tx.exec_prepared0("drop_login_tokens", login.str());
        tx.commit();
        return refresh_result{refresh_outcome::reused, token_owner{std::move(user), login}};
      }
      if (!unexpired)
        return refresh_result{refresh_outcome::invalid, std::nullopt};
      tx.exec_prepared0("use_refresh", pqxx::binarystring{hash});
      insert_login_tokens(tx, user.id, login, tokens);
      tx.exec_prepared0("extend_login", login.str(), refresh_expires_at);
      tx.commit();
      return refresh_result{refresh_outcome::rotated, token_owner{std::move(user), login}};
    });
}

void database::revoke_login(uuid user, uuid login, std::function<void(result<bool>)> done) {
  impl_->submit<bool>("revoke_login", std::move(done),
                      [user, login](pqxx::connection& conn) -> result<bool> {
                        pqxx::work tx{conn};
                        auto r = tx.exec_prepared("revoke_login", login.str(), user.str());
                        bool was_live = r.affected_rows() > 0;
                        if (was_live)
                          tx.exec_prepared0("drop_login_tokens", login.str());
                        tx.commit();
                        return was_live;
                      });
}

void database::revoke_logins(uuid user, std::optional<uuid> keep, std::optional<password_swap> password,
                             std::function<void(result<std::vector<uuid>>)> done) {
  impl_->submit<std::vector<uuid>>(
    "revoke_logins", std::move(done),
    [user, keep, password = std::move(password)](pqxx::connection& conn) -> result<std::vector<uuid>> {
      pqxx::work tx{conn};
      // The user row first, locked so that it conflicts with create_login's share lock (taken by
      // password and code logins alike): a login in progress either commits before (and is
      // revoked here) or checks after (and is refused, or is genuinely later).
      auto user_row = tx.exec_prepared("lock_user_for_logins", user.str());
      if (user_row.empty())
        return make_failure(errc::not_found, "no such user");
      if (password) {
        if (user_row[0][0].as<std::string>() != password->expected_hash)
          return make_failure(errc::conflict, "the password changed meanwhile");
        if (keep && tx.exec_prepared("lock_live_login", keep->str(), user.str()).empty())
          return make_failure(errc::conflict, "this login was revoked meanwhile");
        tx.exec_prepared0("set_password", user.str(), password->new_hash);
      }
      std::vector<uuid> out;
      for (const auto& row : tx.exec_prepared("revoke_logins", user.str(), keep ? keep->str() : std::string{}))
        out.push_back(to_uuid(row[0]));
      for (const auto& id : out)
        tx.exec_prepared0("drop_login_tokens", id.str());
      tx.exec_prepared0("drop_loginless_tokens", user.str());
      tx.commit();
      return out;
    });
}

void database::list_logins(uuid user, std::function<void(result<std::vector<login_row>>)> done) {
  impl_->submit<std::vector<login_row>>(
    "list_logins", std::move(done), [user](pqxx::connection& conn) -> result<std::vector<login_row>> {
      pqxx::read_transaction tx{conn};
      std::vector<login_row> out;
      for (const auto& row : tx.exec_prepared("list_logins", user.str()))
        out.push_back(login_row{to_uuid(row[0]), to_uuid(row[1]), row[2].as<int64_t>(),
                                row[3].as<int64_t>(), row[4].as<std::string>(),
                                row[5].as<int64_t>()});
      return out;
    });
}

void database::add_login_token(uuid user, uuid login, token_grant token,
                               std::function<void(result<unit>)> done) {
  impl_->submit<unit>("add_login_token", std::move(done),
                      [user, login, token = std::move(token)](pqxx::connection& conn) -> result<unit> {
                        pqxx::work tx{conn};
                        auto r = tx.exec_prepared("add_login_token", pqxx::binarystring{token.hash},
                                                  user.str(), token.expires_at, login.str(),
                                                  token.kind);
                        tx.commit();
                        if (r.affected_rows() == 0)
                          return make_failure(errc::not_found, "no such live login");
                        return unit{};
                      });
}

void database::consume_ticket(std::string token_hash,
                              std::function<void(result<token_owner>)> done) {
  impl_->submit<token_owner>(
    "consume_ticket", std::move(done),
    [hash = std::move(token_hash)](pqxx::connection& conn) -> result<token_owner> {
      pqxx::work tx{conn};
      auto rows = tx.exec_prepared("consume_ticket", pqxx::binarystring{hash});
      if (rows.empty() || rows[0][0].is_null() || !rows[0][1].as<bool>()) {
        tx.commit(); // the delete stands: a ticket is single-use even when it has expired
        return make_failure(errc::not_found, "no valid ticket with this hash");
      }
      auto login = to_uuid(rows[0][0]);
      auto owner = tx.exec_prepared("ticket_owner", login.str());
      tx.commit();
      if (owner.empty())
        return make_failure(errc::not_found, "the ticket's login was revoked");
      return token_owner{to_user(owner[0]), login};
    });
}

void database::open_conversation(
  uuid brand, uuid creator, uuid new_id, event_record first_event,
  std::function<void(result<std::pair<conversation_row, bool>>)> done) {
  using answer = std::pair<conversation_row, bool>;
  impl_->submit<answer>(
    "open_conversation", std::move(done),
    [brand, creator, new_id,
     ev = std::move(first_event)](pqxx::connection& conn) -> result<answer> {
      try {
        pqxx::work tx{conn};
        // A concurrent opener of the same pair makes this insert wait for its transaction and
        // then do nothing; the select below (a fresh snapshot) then sees the winner's row.
        auto inserted =
          tx.exec_prepared("insert_conversation", new_id.str(), brand.str(), creator.str());
        if (!inserted.empty()) {
          tx.exec_prepared0("insert_event", new_id.str(), int64_t{1}, std::string{"conversation"},
                            ev.type, ev.version, pqxx::binarystring{ev.payload});
          auto row = to_conversation(inserted[0], 1);
          tx.commit();
          return answer{row, true};
        }
        auto existing = tx.exec_prepared("find_conversation", brand.str(), creator.str());
        if (existing.empty())
          return make_failure(errc::internal, "conversation vanished while opening it");
        auto row = to_conversation(existing[0], existing[0][4].as<int64_t>());
        tx.commit();
        return answer{row, false};
      } catch (const pqxx::foreign_key_violation&) {
        return make_failure(errc::not_found, "brand or creator does not exist");
      }
    });
}

void database::list_conversations(
  uuid user, size_t limit, std::function<void(result<std::vector<conversation_row>>)> done) {
  impl_->submit<std::vector<conversation_row>>(
    "list_conversations", std::move(done),
    [user, limit](pqxx::connection& conn) -> result<std::vector<conversation_row>> {
      pqxx::read_transaction tx{conn};
      auto rows = tx.exec_prepared("list_conversations", user.str(), clamp_limit(limit));
      std::vector<conversation_row> out;
      out.reserve(rows.size());
      for (const auto& row : rows)
        out.push_back(to_conversation(row, row[4].as<int64_t>()));
      return out;
    });
}

void database::record_guard_hit(guard_hit_row hit, std::function<void(result<unit>)> done) {
  impl_->submit<unit>("record_guard_hit", std::move(done),
                      [hit = std::move(hit)](pqxx::connection& conn) -> result<unit> {
                        std::string cats = "{";
                        for (auto& c : hit.categories) {
                          if (cats.size() > 1)
                            cats += ',';
                          detail::append_array_element(cats, c);
                        }
                        cats += '}';
                        pqxx::work tx{conn};
                        tx.exec_prepared0("record_guard_hit", hit.conversation.str(),
                                          hit.sender.str(), hit.seq, hit.action, cats,
                                          hit.original);
                        tx.commit();
                        return unit{};
                      });
}

void database::guard_queue(size_t limit,
                           std::function<void(result<std::vector<guard_hit_row>>)> done) {
  impl_->submit<std::vector<guard_hit_row>>(
    "guard_queue", std::move(done),
    [limit](pqxx::connection& conn) -> result<std::vector<guard_hit_row>> {
      pqxx::read_transaction tx{conn};
      auto rows = tx.exec_prepared("guard_queue", clamp_limit(limit));
      std::vector<guard_hit_row> out;
      for (const auto& row : rows) {
        guard_hit_row h;
        h.id = row[0].as<int64_t>();
        h.conversation = to_uuid(row[1]);
        h.sender = to_uuid(row[2]);
        h.seq = row[3].is_null() ? 0 : row[3].as<int64_t>();
        h.action = row[4].as<std::string>();
        auto arr = row[5].as_array();
        for (auto e = arr.get_next(); e.first != pqxx::array_parser::done; e = arr.get_next())
          if (e.first == pqxx::array_parser::string_value)
            h.categories.push_back(e.second);
        h.original = row[6].as<std::string>();
        h.created_at = row[7].as<int64_t>();
        h.strikes = row[8].as<int64_t>();
        out.push_back(std::move(h));
      }
      return out;
    });
}

void database::review_guard_hit(int64_t id, uuid moderator, std::string verdict,
                                std::function<void(result<unit>)> done) {
  impl_->submit<unit>("review_guard_hit", std::move(done),
                      [id, moderator, verdict = std::move(verdict)](pqxx::connection& conn) -> result<unit> {
                        pqxx::work tx{conn};
                        auto r = tx.exec_prepared("review_guard_hit", id, moderator.str(), verdict);
                        if (r.affected_rows() == 0)
                          return make_failure(errc::not_found, "no such unreviewed finding");
                        tx.commit();
                        return unit{};
                      });
}

void database::touch_last_seen(uuid user, millis at, std::function<void(result<unit>)> done) {
  impl_->submit<unit>("touch_last_seen", std::move(done), [user, at](pqxx::connection& conn) -> result<unit> {
    pqxx::work tx{conn};
    tx.exec_prepared0("touch_last_seen", user.str(), at);
    tx.commit();
    return unit{};
  });
}

void database::last_seen(uuid user, std::function<void(result<millis>)> done) {
  impl_->submit<millis>("last_seen", std::move(done), [user](pqxx::connection& conn) -> result<millis> {
    pqxx::read_transaction tx{conn};
    auto rows = tx.exec_prepared("last_seen", user.str());
    if (rows.empty() || rows[0][0].is_null())
      return millis{0};
    return rows[0][0].as<int64_t>();
  });
}

void database::set_user_role(std::string email, std::string role,
                             std::function<void(result<unit>)> done) {
  impl_->submit<unit>("set_user_role", std::move(done),
                      [email = normalise_email(email), role = std::move(role)](pqxx::connection& conn) -> result<unit> {
                        pqxx::work tx{conn};
                        auto r = tx.exec_prepared("set_user_role", email, role);
                        if (r.affected_rows() == 0)
                          return make_failure(errc::not_found, "no user with this email");
                        tx.commit();
                        return unit{};
                      });
}

void database::ping(std::function<void(result<unit>)> done) {
  impl_->submit<unit>("ping", std::move(done), [](pqxx::connection& conn) -> result<unit> {
    pqxx::nontransaction tx{conn};
    tx.exec1("select 1");
    return unit{};
  });
}

// -- ledger ---------------------------------------------------------------------------------------

namespace {

/// The invariants ledger_check verifies, each a query whose rows are violations (at most 20 each).
const std::pair<const char*, const char*> ledger_checks[] = {
  {"currency does not sum to zero",
   "select currency || ': posted ' || sum(credits_posted - debits_posted) || ', pending '"
   " || sum(credits_pending - debits_pending) from ledger_accounts group by currency"
   " having sum(credits_posted - debits_posted) <> 0 or sum(credits_pending - debits_pending) <> 0"
   " limit 20"},
  {"account below its floor",
   "select id || ': available ' || (credits_posted - debits_posted - debits_pending)"
   " from ledger_accounts where floor_enforced"
   " and credits_posted - debits_posted - debits_pending < 0 limit 20"},
  {"balance differs from the sum of its transfers",
   "with legs as ("
   "  select debit_account as acc, case when state = 'posted' then amount else 0 end as dp,"
   "   0::bigint as cp, case when state = 'pending' then amount else 0 end as dq, 0::bigint as cq"
   "  from ledger_transfers"
   "  union all"
   "  select credit_account, 0, case when state = 'posted' then amount else 0 end, 0,"
   "   case when state = 'pending' then amount else 0 end from ledger_transfers),"
   " sums as (select acc, sum(dp) as dp, sum(cp) as cp, sum(dq) as dq, sum(cq) as cq"
   "  from legs group by acc)"
   " select a.id from ledger_accounts a left join sums s on s.acc = a.id"
   " where a.debits_posted <> coalesce(s.dp, 0) or a.credits_posted <> coalesce(s.cp, 0)"
   " or a.debits_pending <> coalesce(s.dq, 0) or a.credits_pending <> coalesce(s.cq, 0) limit 20"},
  {"transfer made by no journal event",
   "select t.id from ledger_transfers t where not exists (select 1 from journal j"
   " where j.entity_id = t.entity_id and j.seq = t.entity_seq)"
   " or (t.resolved_seq is not null and not exists (select 1 from journal j"
   " where j.entity_id = t.entity_id and j.seq = t.resolved_seq)) limit 20"},
  {"terminal contract with money in escrow",
   "select a.id || ': ' || (a.credits_posted - a.debits_posted) || ' posted, '"
   " || a.credits_pending || ' pending' from ledger_accounts a"
   " where a.id like 'escrow:%' and (a.credits_posted <> a.debits_posted"
   " or a.credits_pending <> 0 or a.debits_pending <> 0)"
   " and exists (select 1 from journal j where j.entity_id = substr(a.id, 8)::uuid"
   " and j.event_type in ('contract.released', 'contract.refunded', 'contract.cancelled',"
   " 'contract.resolved')) limit 20"},
  // Pledge campaigns (docs/contracts.md, "Pledge campaigns"): settled = pledge.failed or
  // pledge.released in the campaign's journal.
  {"settled pledge campaign with money in escrow",
   "select a.id || ': ' || (a.credits_posted - a.debits_posted) || ' posted, '"
   " || a.credits_pending || ' pending' from ledger_accounts a"
   " where a.id like 'escrow:%' and (a.credits_posted <> a.debits_posted"
   " or a.credits_pending <> 0 or a.debits_pending <> 0)"
   " and exists (select 1 from journal j where j.entity_id = substr(a.id, 8)::uuid"
   " and j.event_type in ('pledge.failed', 'pledge.released')) limit 20"},
  {"pending transfer of a settled pledge campaign",
   "select t.id from ledger_transfers t where t.state = 'pending' and exists (select 1 from journal j"
   " where j.entity_id = t.entity_id and j.event_type in ('pledge.failed', 'pledge.released')) limit 20"},
  {"pledge capture that posted no authorization",
   "select j.entity_id || ':' || j.seq from journal j where j.event_type = 'pledge.captured'"
   " and (select count(*) from ledger_transfers t where t.entity_id = j.entity_id"
   " and t.resolved_seq = j.seq and t.two_phase and t.state = 'posted') <> 1 limit 20"},
  {"captured pledge total differs from what was released",
   "select c.entity_id || ': captured ' || c.captured || ', released ' || coalesce(r.released, 0)"
   " from (select entity_id, sum(amount) as captured from ledger_transfers"
   "  where two_phase and state = 'posted' and exists (select 1 from journal j"
   "  where j.entity_id = ledger_transfers.entity_id and j.seq = ledger_transfers.resolved_seq"
   "  and j.event_type = 'pledge.captured') group by entity_id) c"
   " left join (select t.entity_id, sum(t.amount) as released from ledger_transfers t"
   "  join journal j on j.entity_id = t.entity_id and j.seq = t.entity_seq"
   "  where j.event_type = 'pledge.released' group by t.entity_id) r on r.entity_id = c.entity_id"
   " where exists (select 1 from journal j where j.entity_id = c.entity_id"
   " and j.event_type = 'pledge.released') and c.captured <> coalesce(r.released, 0) limit 20"},
};

} // namespace

void database::ledger_check(std::function<void(result<ledger_report>)> done) {
  impl_->submit<ledger_report>("ledger_check", std::move(done),
                               [](pqxx::connection& conn) -> result<ledger_report> {
    // One snapshot for every query, so the checks see one consistent state.
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx{conn};
    ledger_report report;
    auto counts = tx.exec1("select (select count(*) from ledger_accounts),"
                           " (select count(*) from ledger_transfers),"
                           " (select count(*) from ledger_transfers where state = 'pending')");
    report.accounts = counts[0].as<int64_t>();
    report.transfers = counts[1].as<int64_t>();
    report.pending = counts[2].as<int64_t>();
    for (const auto& [name, sql] : ledger_checks)
      for (const auto& row : tx.exec(sql))
        report.violations.push_back(std::string{name} + ": " + row[0].as<std::string>());
    return report;
  });
}

void database::ledger_balances(std::vector<std::string> accounts,
                               std::function<void(result<std::vector<ledger_balance>>)> done) {
  impl_->submit<std::vector<ledger_balance>>(
    "ledger_balances", std::move(done),
    [accounts = std::move(accounts)](pqxx::connection& conn) -> result<std::vector<ledger_balance>> {
      std::string ids = "{", prefixes = "{";
      for (const auto& a : accounts) {
        bool prefix = !a.empty() && a.back() == '*';
        auto& list = prefix ? prefixes : ids;
        if (list.size() > 1)
          list += ',';
        if (!prefix) {
          detail::append_array_element(list, a);
          continue;
        }
        std::string pattern; // LIKE pattern: the prefix with its wildcards escaped, then %
        for (char c : a.substr(0, a.size() - 1)) {
          if (c == '%' || c == '_' || c == '\\')
            pattern += '\\';
          pattern += c;
        }
        detail::append_array_element(list, pattern + "%");
      }
      ids += '}';
      prefixes += '}';
      pqxx::read_transaction tx{conn};
      auto rows = tx.exec_params(
        "select id, currency, credits_posted - debits_posted,"
        " credits_posted - debits_posted - debits_pending, credits_pending from ledger_accounts"
        " where id = any($1::text[]) or id like any($2::text[]) order by id",
        ids, prefixes);
      std::vector<ledger_balance> out;
      for (const auto& row : rows)
        out.push_back(ledger_balance{row[0].as<std::string>(), row[1].as<std::string>(),
                                     row[2].as<int64_t>(), row[3].as<int64_t>(),
                                     row[4].as<int64_t>()});
      return out;
    });
}

void database::ledger_transfers(
  uuid entity, std::function<void(result<std::vector<ledger_transfer_row>>)> done) {
  impl_->submit<std::vector<ledger_transfer_row>>(
    "ledger_transfers", std::move(done),
    [entity](pqxx::connection& conn) -> result<std::vector<ledger_transfer_row>> {
      pqxx::read_transaction tx{conn};
      auto rows = tx.exec_params(
        "select id, debit_account, credit_account, amount, currency, state, entity_seq,"
        " coalesce(resolved_seq, 0) from ledger_transfers where entity_id = $1"
        " order by entity_seq, id",
        entity.str());
      std::vector<ledger_transfer_row> out;
      for (const auto& row : rows) {
        ledger_transfer_row t;
        t.id = row[0].as<std::string>();
        t.debit = row[1].as<std::string>();
        t.credit = row[2].as<std::string>();
        t.amount = row[3].as<int64_t>();
        t.currency = row[4].as<std::string>();
        t.state = row[5].as<std::string>();
        t.entity = entity;
        t.entity_seq = row[6].as<int64_t>();
        t.resolved_seq = row[7].as<int64_t>();
        out.push_back(std::move(t));
      }
      return out;
    });
}

void database::wallet_facts(uuid user, std::string currency, millis settling_since,
                            std::function<void(result<persistence::wallet_facts>)> done) {
  impl_->submit<persistence::wallet_facts>(
    "wallet_facts", std::move(done),
    [user, currency = std::move(currency), settling_since](pqxx::connection& conn) -> result<persistence::wallet_facts> {
      auto account = "user:" + user.str() + ":" + currency;
      pqxx::read_transaction tx{conn};
      auto row = tx.exec_params1(
        "select coalesce((select credits_posted - debits_posted - debits_pending from ledger_accounts"
        " where id = $1), 0),"
        " coalesce((select sum(amount) from ledger_transfers where credit_account = $1"
        " and state = 'posted' and created_at > 'epoch'::timestamptz + $2::bigint * interval '1 millisecond'), 0),"
        " (select kyc_status from users where id = $3)",
        account, settling_since, user.str());
      if (row[2].is_null())
        return make_failure(errc::not_found, "no such user");
      return persistence::wallet_facts{row[0].as<int64_t>(), row[1].as<int64_t>(), row[2].as<std::string>()};
    });
}

void database::set_user_kyc(std::string email, std::string status,
                            std::function<void(result<unit>)> done) {
  impl_->submit<unit>("set_user_kyc", std::move(done),
                      [email = normalise_email(email), status = std::move(status)](pqxx::connection& conn) -> result<unit> {
                        pqxx::work tx{conn};
                        auto r = tx.exec_params("update users set kyc_status = $2 where email = $1", email, status);
                        if (r.affected_rows() == 0)
                          return make_failure(errc::not_found, "no user with this email");
                        tx.commit();
                        return unit{};
                      });
}

void database::open_disputes(size_t limit,
                             std::function<void(result<std::vector<std::pair<uuid, millis>>>)> done) {
  impl_->submit<std::vector<std::pair<uuid, millis>>>(
    "open_disputes", std::move(done),
    [limit](pqxx::connection& conn) -> result<std::vector<std::pair<uuid, millis>>> {
      pqxx::read_transaction tx{conn};
      auto rows = tx.exec_params(
        "select d.entity_id::text, floor(extract(epoch from max(d.recorded_at)) * 1000)::bigint"
        " from journal d where d.event_type = 'contract.disputed' and not exists ("
        " select 1 from journal r where r.entity_id = d.entity_id"
        " and r.event_type = 'contract.resolved') group by d.entity_id order by 2 limit $1",
        clamp_limit(limit));
      std::vector<std::pair<uuid, millis>> out;
      for (const auto& row : rows)
        out.emplace_back(to_uuid(row[0]), row[1].as<int64_t>());
      return out;
    });
}

void database::record_webhook(std::string event_id, std::string event_type, std::string reference,
                              std::function<void(result<bool>)> done) {
  impl_->submit<bool>("record_webhook", std::move(done),
                      [event_id = std::move(event_id), event_type = std::move(event_type),
                       reference = std::move(reference)](pqxx::connection& conn) -> result<bool> {
                        pqxx::work tx{conn};
                        // No fsync wait: the webhook is answered 2xx only after the entity has
                        // handled it, and when that changed anything, after the entity's append
                        // committed synchronously, which flushes the WAL up to a later point, so
                        // this record with it (WAL is flushed in order). A crash before then loses
                        // both, and the unanswered provider delivers again; an outcome the entity
                        // ignored changed nothing, so a lost record of it costs nothing.
                        tx.exec0("set local synchronous_commit = off");
                        auto r = tx.exec_params(
                          "insert into payment_webhooks (event_id, event_type, reference)"
                          " values ($1, $2, $3) on conflict (event_id) do nothing",
                          event_id, event_type, reference);
                        tx.commit();
                        return r.affected_rows() == 1;
                      });
}

void database::forget_webhook(std::string event_id, std::function<void(result<unit>)> done) {
  impl_->submit<unit>("forget_webhook", std::move(done),
                      [event_id = std::move(event_id)](pqxx::connection& conn) -> result<unit> {
                        pqxx::work tx{conn};
                        tx.exec_params0("delete from payment_webhooks where event_id = $1",
                                        event_id);
                        tx.commit();
                        return unit{};
                      });
}

void database::run_pooled(const char* what, std::function<result<unit>(void* conn)> job,
                          std::function<void(result<unit>)> done) {
  impl_->submit<unit>(what, std::move(done), [job = std::move(job)](pqxx::connection& conn) {
    return job(&conn);
  });
}

void database::run_pool_job(const char* what, std::shared_ptr<pool_job> job) {
  impl_->submit<unit>(
    what, [job](result<unit> r) { job->finish(std::move(r)); },
    [job](pqxx::connection& conn) -> result<unit> { return job->run(conn); });
}

size_t database::pending_appends() const {
  if (!impl_->writer)
    return 0;
  return impl_->writer->pending();
}

void database::audit(audit_record record) {
  if (!impl_->audit) {
    impl_->audit_refused.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  impl_->audit->record(std::move(record));
}

void database::audit_query(audit_filter filter,
                           std::function<void(result<std::vector<audit_row>>)> done) {
  if (!impl_->audit || !impl_->running.load(std::memory_order_acquire))
    return done(make_failure(errc::unavailable, "persistence is not running"));
  impl_->audit->query(std::move(filter), std::move(done));
}

uint64_t database::audit_dropped() const {
  return impl_->audit_refused.load(std::memory_order_relaxed)
         + (impl_->audit ? impl_->audit->dropped() : 0);
}

} // namespace pactum::persistence
