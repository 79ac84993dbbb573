#include "audit_log.hpp"

#include <algorithm>

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

namespace pactum::persistence::detail {

namespace {

/// "ms since the epoch as timestamptz" and back, in SQL.
std::string ts_sql(millis ms) {
  return "('epoch'::timestamptz + " + std::to_string(ms) + "::bigint * interval '1 millisecond')";
}

constexpr const char* select_sql =
  "select id, floor(extract(epoch from at) * 1000)::bigint, coalesce(actor_id::text, ''),"
  " actor_role, address, action, target, outcome, detail::text from audit_log"
  " where ($1 = '' or actor_id = nullif($1, '')::uuid) and ($2 = '' or action = $2)"
  " and ($3::bigint = 0 or id < $3::bigint) order by id desc limit $4";

} // namespace

audit_writer::audit_writer(const config& cfg)
  : url_(cfg.url),
    queue_limit_(std::max<size_t>(cfg.audit_queue_limit, 1)),
    batch_max_(std::max<size_t>(cfg.audit_batch_max, 1)),
    gate_(cfg.reconnect_backoff_max),
    thread_([this] { run(); }) {}

audit_writer::~audit_writer() {
  stop();
}

bool audit_writer::record(audit_record r) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!stopping_ && pending_.size() < queue_limit_) {
      pending_.push_back(std::move(r));
      cv_.notify_one();
      return true;
    }
  }
  // Full (the database has been unreachable for a while) or stopped: drop, count, and say so
  // now and then (the first drop and every 1000th).
  auto n = dropped_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (n == 1 || n % 1000 == 0)
    spdlog::error("audit: queue full or stopped: {} audit record(s) dropped so far (last: {})", n,
                  r.action);
  return false;
}

void audit_writer::query(audit_filter f, std::function<void(result<std::vector<audit_row>>)> done) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!stopping_ && queries_.size() < 100) {
      queries_.push_back({std::move(f), std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  done(failure{errc::overloaded, "audit queries are queued too deep, or the log is stopping"});
}

void audit_writer::stop() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopping_ && !thread_.joinable())
      return;
    stopping_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable())
    thread_.join();
  conn_.reset();
}

void audit_writer::run() {
  std::vector<audit_record> batch;
  std::deque<query_job> queries;
  for (;;) {
    bool stopping = false;
    {
      std::unique_lock<std::mutex> lock{mtx_};
      cv_.wait(lock, [&] { return stopping_ || !pending_.empty() || !queries_.empty(); });
      stopping = stopping_;
      if (stopping && pending_.empty() && queries_.empty())
        return;
      queries.swap(queries_);
      auto n = std::min(pending_.size(), batch_max_);
      batch.assign(std::make_move_iterator(pending_.begin()),
                   std::make_move_iterator(pending_.begin() + static_cast<std::ptrdiff_t>(n)));
      pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(n));
    }
    for (auto& q : queries) {
      auto r = read(q.filter);
      try {
        q.done(std::move(r));
      } catch (const std::exception& e) {
        spdlog::error("audit: query callback threw: {}", e.what());
      }
    }
    queries.clear();
    if (batch.empty())
      continue;
    if (write(batch)) {
      batch.clear();
      continue;
    }
    if (stopping) { // one attempt at shutdown, then the records are lost: say how many
      dropped_.fetch_add(batch.size(), std::memory_order_relaxed);
      spdlog::error("audit: {} audit record(s) could not be written before shutdown", batch.size());
      batch.clear();
      continue;
    }
    // Keep them, oldest first, and wait for the reconnect backoff (or stop) before retrying.
    std::unique_lock<std::mutex> lock{mtx_};
    pending_.insert(pending_.begin(), std::make_move_iterator(batch.begin()),
                    std::make_move_iterator(batch.end()));
    batch.clear();
    cv_.wait_until(lock, std::max(gate_.next_attempt(),
                                  reconnect_gate::clock::now() + std::chrono::milliseconds(50)),
                   [&] { return stopping_; });
  }
}

bool audit_writer::connect() {
  if (conn_ && !connection_looks_alive(*conn_))
    conn_.reset();
  if (conn_)
    return true;
  if (!gate_.may_attempt())
    return false;
  try {
    conn_ = open_connection(url_, "pactum-audit");
    gate_.succeeded();
    return true;
  } catch (const std::exception& e) {
    gate_.failed();
    spdlog::warn("audit: cannot connect: {}", e.what());
    return false;
  }
}

bool audit_writer::write(const std::vector<audit_record>& batch) {
  if (!connect())
    return false;
  try {
    pqxx::work tx{*conn_};
    std::string sql =
      "insert into audit_log (at, actor_id, actor_role, address, action, target, outcome, detail)"
      " values ";
    for (size_t i = 0; i < batch.size(); ++i) {
      const auto& r = batch[i];
      if (i > 0)
        sql += ", ";
      sql += "(" + ts_sql(r.at) + ", " + (r.actor ? tx.quote(r.actor->str()) + "::uuid" : "null")
             + ", " + tx.quote(r.actor_role) + ", " + tx.quote(r.address) + ", "
             + tx.quote(r.action) + ", " + tx.quote(r.target) + ", " + tx.quote(r.outcome) + ", "
             + tx.quote(r.detail.empty() ? std::string{"{}"} : r.detail) + "::jsonb)";
    }
    tx.exec0(sql);
    tx.commit();
    return true;
  } catch (const pqxx::broken_connection& e) {
    spdlog::warn("audit: connection lost: {}", e.what());
    conn_.reset();
    gate_.failed();
  } catch (const pqxx::sql_error& e) {
    if (is_connection_loss(e)) {
      conn_.reset();
      gate_.failed();
      spdlog::warn("audit: session lost: {}", e.what());
    } else {
      // Not the connection: the batch itself is bad (e.g. a detail that is not JSON). Retrying
      // would fail forever, so it is dropped, loudly.
      spdlog::error("audit: {} record(s) refused by the database: {} (sqlstate {})", batch.size(),
                    e.what(), e.sqlstate());
      dropped_.fetch_add(batch.size(), std::memory_order_relaxed);
      return true;
    }
  } catch (const std::exception& e) {
    spdlog::error("audit: write failed: {}", e.what());
    conn_.reset();
  }
  return false;
}

result<std::vector<audit_row>> audit_writer::read(const audit_filter& f) {
  if (!connect())
    return failure{errc::unavailable, "database unreachable"};
  try {
    pqxx::read_transaction tx{*conn_};
    auto rows = tx.exec_params(select_sql, f.actor ? f.actor->str() : std::string{}, f.action,
                               f.before, static_cast<int64_t>(std::clamp<size_t>(f.limit, 1, 1000)));
    std::vector<audit_row> out;
    for (const auto& row : rows) {
      audit_row a;
      a.id = row[0].as<int64_t>();
      a.record.at = row[1].as<int64_t>();
      if (auto actor = row[2].as<std::string>(); !actor.empty())
        a.record.actor = uuid::parse(actor);
      a.record.actor_role = row[3].as<std::string>();
      a.record.address = row[4].as<std::string>();
      a.record.action = row[5].as<std::string>();
      a.record.target = row[6].as<std::string>();
      a.record.outcome = row[7].as<std::string>();
      a.record.detail = row[8].as<std::string>();
      out.push_back(std::move(a));
    }
    return out;
  } catch (const pqxx::broken_connection& e) {
    conn_.reset();
    return failure{errc::unavailable, e.what()};
  } catch (const pqxx::sql_error& e) {
    if (is_connection_loss(e)) {
      conn_.reset();
      return failure{errc::unavailable, e.what()};
    }
    spdlog::error("audit: query failed: {}", e.what());
    return failure{errc::internal, e.what()};
  } catch (const std::exception& e) {
    conn_.reset();
    return failure{errc::internal, e.what()};
  }
}

} // namespace pactum::persistence::detail
