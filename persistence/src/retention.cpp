#include "pactum/persistence/retention.hpp"

#include <future>

#include <spdlog/spdlog.h>

#include "store_support.hpp"

namespace pactum::persistence {

namespace {

#define PACTUM_TS(param) "('epoch'::timestamptz + " param "::bigint * interval '1 millisecond')"

// Each statement deletes at most $2 rows that ended before $1 (ms since the epoch), chosen by a
// bounded sub-select, so one statement never locks a whole backlog. Refresh tokens are not
// purged by expiry: a used one is what reveals a replay (theft) for as long as its login lives,
// and a login's tokens go with the login (on delete cascade), `logins` after it ended. The token
// sub-select walks the partial index of migration 0036, which holds exactly the candidates.
constexpr const char* purge_tokens_sql =
  "delete from auth_tokens where token_hash in (select token_hash from auth_tokens"
  " where kind <> 'refresh' and expires_at < " PACTUM_TS("$1") " limit $2)";
constexpr const char* purge_logins_sql =
  "delete from auth_sessions where id in (select id from auth_sessions"
  " where least(revoked_at, refresh_expires_at) < " PACTUM_TS("$1") " limit $2)";
constexpr const char* purge_codes_sql =
  "delete from login_codes where id in (select id from login_codes"
  " where expires_at < " PACTUM_TS("$1") " limit $2)";
constexpr const char* purge_mail_sql =
  "delete from mail_outbox where id in (select id from mail_outbox"
  " where coalesce(sent_at, created_at) < " PACTUM_TS("$1") " limit $2)";

millis ms(std::chrono::seconds s) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(s).count();
}

/// Runs `sql` in transactions of one bounded delete each until one deletes fewer than `batch`
/// or `go_on` says stop (checked between statements). Counts rows and statements into `c`.
int64_t purge_table(pqxx::connection& conn, const char* sql, millis before, int64_t batch,
                    const std::function<bool()>& go_on, purge_counts& c) {
  int64_t total = 0;
  while (!c.stopped) {
    pqxx::work tx{conn};
    auto n = static_cast<int64_t>(tx.exec_params0(sql, before, batch).affected_rows());
    tx.commit();
    ++c.statements;
    total += n;
    if (n < batch)
      break;
    c.stopped = go_on && !go_on();
  }
  return total;
}

} // namespace

void purge_expired(database& db, retention_rules rules, millis now, std::function<void(result<purge_counts>)> done,
                   std::function<bool()> go_on) {
  detail::submit<purge_counts>(
    db, "purge_expired", std::move(done),
    [rules, now, go_on = std::move(go_on)](pqxx::connection& conn) -> result<purge_counts> {
      const auto batch = static_cast<int64_t>(std::max<size_t>(rules.batch, 1));
      purge_counts c;
      // Logins first: their tokens go with them (on delete cascade), not counted as tokens.
      c.logins = purge_table(conn, purge_logins_sql, now - ms(rules.logins), batch, go_on, c);
      c.tokens = purge_table(conn, purge_tokens_sql, now - ms(rules.tokens), batch, go_on, c);
      c.login_codes = purge_table(conn, purge_codes_sql, now - ms(rules.login_codes), batch, go_on, c);
      c.sent_mail = purge_table(conn, purge_mail_sql, now - ms(rules.sent_mail), batch, go_on, c);
      return c;
    });
}

retention_job::retention_job(database& db, retention_rules rules, std::chrono::milliseconds interval,
                             std::function<millis()> now)
    : db_(db), rules_(rules), interval_(interval), now_(std::move(now)) {
  thread_ = std::thread([this] { run(); });
}

retention_job::~retention_job() {
  stop();
}

void retention_job::stop() {
  stop_requested_.store(true, std::memory_order_relaxed); // a backlog round ends after its statement
  {
    std::lock_guard lock{mutex_};
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

uint64_t retention_job::rounds() const {
  std::lock_guard lock{mutex_};
  return rounds_;
}

void retention_job::run() {
  for (;;) {
    auto answered = std::make_shared<std::promise<result<purge_counts>>>();
    auto outcome = answered->get_future();
    purge_expired(
      db_, rules_, now_(), [answered](result<purge_counts> r) { answered->set_value(std::move(r)); },
      [this] { return !stop_requested_.load(std::memory_order_relaxed); });
    auto r = outcome.get(); // this thread only waits for the pool; it is nobody's event loop
    if (!r)
      spdlog::warn("retention: purge failed ({}); next round in {} ms", r.error().message, interval_.count());
    else if (r->stopped)
      spdlog::info("retention: stopped after {} statement(s); the rest waits for the next start", r->statements);
    else if (r->tokens + r->logins + r->login_codes + r->sent_mail > 0)
      spdlog::info("retention: deleted {} ended login(s) with their tokens, {} expired token(s), {} login code(s), {} sent mail row(s)",
                   r->logins, r->tokens, r->login_codes, r->sent_mail);
    std::unique_lock lock{mutex_};
    ++rounds_;
    if (wake_.wait_for(lock, interval_, [this] { return stopping_; }))
      return;
  }
}

} // namespace pactum::persistence
