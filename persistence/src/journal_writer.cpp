#include "journal_writer.hpp"

#include <map>

#include <algorithm>
#include <numeric>
#include <unordered_map>

#include <pthread.h>
#include <spdlog/spdlog.h>

namespace pactum::persistence::detail {

namespace {

/// How long an in-doubt COMMIT may take to resolve before its requests answer `unavailable`.
constexpr std::chrono::seconds resolve_timeout{10};

/// How often to look whether a terminated session has left pg_stat_activity.
constexpr std::chrono::milliseconds retire_poll{20};

// The batch insert: one statement for every event of every accepted request. Arrays travel as
// text literals; payloads as hex inside a text array, decoded server-side, so any byte (zero,
// high) survives. Measured against COPY (pqxx::stream_to) in persistence/README.md.
constexpr const char* insert_sql =
  "insert into journal (entity_id, seq, entity_type, event_type, version, payload)"
  " select e, s, t, k, v, decode(p, 'hex')"
  " from unnest($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::smallint[], $6::text[])"
  " as x(e, s, t, k, v, p)";

// Timer changes of the accepted requests, folded to the last change per (entity, kind).
constexpr const char* timers_set_sql =
  "insert into due_timers (entity_id, entity_type, kind, due_at)"
  " select e, t, k, 'epoch'::timestamptz + d * interval '1 millisecond'"
  " from unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[]) as x(e, t, k, d)"
  " on conflict (entity_id, kind) do update set due_at = excluded.due_at,"
  " entity_type = excluded.entity_type";

constexpr const char* timers_clear_sql =
  "delete from due_timers d using unnest($1::uuid[], $2::text[]) as x(e, k)"
  " where d.entity_id = x.e and d.kind = x.k";

// One index probe per entity (the last entry of its (entity_id, seq) range): a plain
// `max(seq) ... group by` reads every journal row of every entity in the batch, which made each
// batch slower as journals grew (measured: 86 ms against 11 ms for 540 entities of 120 events).
constexpr const char* heads_sql =
  "select e::text, (select j.seq from journal j where j.entity_id = e order by j.seq desc limit 1)"
  " from unnest($1::uuid[]) as e";

constexpr const char* range_sql =
  "select seq, event_type, version, payload from journal"
  " where entity_id = $1 and seq > $2 and seq <= $3 order by seq";

failure make_failure(errc code, std::string message) {
  return failure{code, std::move(message)};
}

/// Returns true when the journal holds exactly `req`'s events after its expected sequence.
bool journal_holds(pqxx::transaction_base& tx, const append_request& req) {
  auto n = static_cast<int64_t>(req.events.size());
  auto rows = tx.exec_prepared("journal_range", req.entity.str(), req.expected_seq,
                               req.expected_seq + n);
  if (static_cast<int64_t>(rows.size()) != n)
    return false;
  for (int64_t j = 0; j < n; ++j) {
    const auto& ev = req.events[static_cast<size_t>(j)];
    const auto& row = rows[static_cast<pqxx::result::size_type>(j)];
    if (row[0].as<int64_t>() != req.expected_seq + 1 + j || row[1].as<std::string>() != ev.type
        || row[2].as<int>() != ev.version || pqxx::binarystring{row[3]}.str() != ev.payload)
      return false;
  }
  return true;
}

/// Terminates our old server session (if it still exists) and waits until it is gone, so that
/// the fate of its last transaction is final before we look at it. Returns false when it could
/// not be confirmed gone before `deadline`.
bool retire_session(pqxx::connection& conn, int pid, const std::string& backend_start,
                    std::chrono::steady_clock::time_point deadline) {
  if (pid == 0)
    return false;
  pqxx::nontransaction tx{conn};
  tx.exec_params("select pg_terminate_backend(pid) from pg_stat_activity"
                 " where pid = $1 and backend_start::text = $2",
                 pid, backend_start);
  for (;;) {
    auto rows = tx.exec_params("select 1 from pg_stat_activity"
                               " where pid = $1 and backend_start::text = $2",
                               pid, backend_start);
    if (rows.empty())
      return true;
    if (std::chrono::steady_clock::now() + retire_poll >= deadline)
      return false;
    std::this_thread::sleep_for(retire_poll);
  }
}

} // namespace

journal_writer::journal_writer(const config& cfg)
  : url_(cfg.url),
    queue_limit_(std::max<size_t>(cfg.journal_queue_limit, 1)),
    batch_max_(std::max<size_t>(cfg.journal_batch_max, 1)),
    batch_wait_(cfg.journal_batch_wait),
    gate_(cfg.reconnect_backoff_max),
    thread_([this] {
      pthread_setname_np(pthread_self(), "pactum-journal");
      run();
    }) {}

journal_writer::~journal_writer() {
  stop();
}

void journal_writer::submit(append_request req) {
  auto refuse = [&req](errc code, std::string message) {
    req.done(make_failure(code, std::move(message)));
  };
  if (req.expected_seq < 0)
    return refuse(errc::internal, "append: negative expected_seq");
  if (req.events.empty())
    return refuse(errc::internal, "append: no events");
  for (size_t i = 0; i < req.events.size(); ++i)
    if (req.events[i].seq != req.expected_seq + 1 + static_cast<int64_t>(i))
      return refuse(errc::internal, "append: events[" + std::to_string(i) + "].seq is "
                                      + std::to_string(req.events[i].seq) + ", expected "
                                      + std::to_string(req.expected_seq + 1
                                                       + static_cast<int64_t>(i)));
  {
    std::unique_lock<std::mutex> guard{mtx_};
    if (stopping_) {
      guard.unlock();
      return refuse(errc::unavailable, "journal writer is stopped");
    }
    if (queue_.size() >= queue_limit_) {
      guard.unlock();
      return refuse(errc::overloaded, "journal queue is full");
    }
    queue_.push_back(std::move(req));
  }
  cv_.notify_one();
}

void journal_writer::stop() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

size_t journal_writer::pending() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return queue_.size() + in_flight_;
}

void journal_writer::run() {
  for (;;) {
    std::vector<append_request> batch;
    {
      std::unique_lock<std::mutex> guard{mtx_};
      cv_.wait(guard, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty())
        break; // stopping, and everything queued has been written
      // Waiting a little for more appends trades latency for fewer commits; never when stopping.
      if (batch_wait_.count() > 0 && !stopping_ && queue_.size() < batch_max_)
        cv_.wait_for(guard, batch_wait_,
                     [this] { return stopping_ || queue_.size() >= batch_max_; });
      auto n = std::min(queue_.size(), batch_max_);
      batch.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      in_flight_ = n;
    }
    process(batch); // answers every request, which takes it off in_flight_
  }
  drop_connection();
}

void journal_writer::process(std::vector<append_request>& batch) {
  std::vector<outcome> out(batch.size());
  std::vector<size_t> idx(batch.size());
  std::iota(idx.begin(), idx.end(), size_t{0});
  try {
    commit_group(batch, idx, out, true);
  } catch (const std::exception& e) {
    // commit_group maps database errors itself; this is a last line against e.g. bad_alloc.
    spdlog::error("persistence: journal batch failed unexpectedly: {}", e.what());
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    result<int64_t> r = out[i] ? std::move(*out[i])
                               : result<int64_t>{make_failure(errc::internal, "append failed")};
    {
      // Off the count before the callback: a caller woken by it sees its append as finished.
      std::lock_guard<std::mutex> guard{mtx_};
      --in_flight_;
    }
    try {
      batch[i].done(std::move(r));
    } catch (const std::exception& e) {
      spdlog::error("persistence: append callback threw: {}", e.what());
    }
  }
}

void journal_writer::write_timers(pqxx::work& tx, const std::vector<append_request>& batch,
                                  const std::vector<size_t>& accepted,
                                  const std::vector<std::string>& keys) {
  // The last change per (entity, kind) in queue order is the one that holds after commit.
  std::map<std::pair<std::string, std::string>, std::pair<const timer_change*, size_t>> last;
  for (auto i : accepted)
    for (const auto& tc : batch[i].timers)
      last[{keys[i], tc.kind}] = {&tc, i};
  if (last.empty())
    return;
  std::string se = "{", st = "{", sk = "{", sd = "{", ce = "{", ck = "{";
  for (const auto& [key, change] : last) {
    const auto& [tc, i] = change;
    if (tc->clear) {
      if (ce.size() > 1)
        ce += ',', ck += ',';
      ce += key.first;
      append_array_element(ck, tc->kind);
    } else {
      if (se.size() > 1)
        se += ',', st += ',', sk += ',', sd += ',';
      se += key.first;
      append_array_element(st, batch[i].entity_type);
      append_array_element(sk, tc->kind);
      sd += std::to_string(tc->due_at);
    }
  }
  se += '}', st += '}', sk += '}', sd += '}', ce += '}', ck += '}';
  if (ce.size() > 2)
    tx.exec_prepared0("timers_clear", ce, ck);
  if (se.size() > 2)
    tx.exec_prepared0("timers_set", se, st, sk, sd);
}

void journal_writer::commit_group(std::vector<append_request>& batch,
                                  const std::vector<size_t>& idx, std::vector<outcome>& out,
                                  bool may_split) {
  auto fail_all = [&](errc code, const std::string& message) {
    for (auto i : idx)
      out[i].emplace(make_failure(code, message));
  };
  if (!ensure_connected())
    return fail_all(errc::unavailable, "journal: database unreachable");
  std::vector<size_t> accepted;
  std::vector<std::pair<size_t, int64_t>> rejected; // request, head it was checked against
  bool committing = false;
  auto rejected_indices = [&rejected] {
    std::vector<size_t> v;
    for (const auto& r : rejected)
      v.push_back(r.first);
    return v;
  };
  try {
    pqxx::work tx{*conn_, "journal_batch"};
    // Heads of every entity involved, in one round trip; entities absent have head 0.
    std::unordered_map<std::string, int64_t> heads;
    std::vector<std::string> keys(batch.size());
    std::string ids = "{";
    for (auto i : idx) {
      keys[i] = batch[i].entity.str();
      if (heads.emplace(keys[i], 0).second) {
        if (ids.size() > 1)
          ids += ',';
        ids += keys[i];
      }
    }
    ids += '}';
    for (const auto& row : tx.exec_prepared("journal_heads", ids))
      if (!row[1].is_null()) // null: an empty journal, head 0
        heads[row[0].as<std::string>()] = row[1].as<int64_t>();
    // Queue order decides between requests for one entity, so a request may depend on an
    // earlier one of the same batch.
    size_t rows = 0;
    for (auto i : idx) {
      auto& head = heads[keys[i]];
      if (batch[i].expected_seq == head) {
        accepted.push_back(i);
        head += static_cast<int64_t>(batch[i].events.size());
        rows += batch[i].events.size();
      } else {
        rejected.emplace_back(i, head);
      }
    }
    if (!accepted.empty()) {
      std::string e = "{", s = "{", t = "{", k = "{", v = "{", p = "{";
      p.reserve(rows * 64);
      bool first = true;
      for (auto i : accepted) {
        const auto& req = batch[i];
        for (size_t j = 0; j < req.events.size(); ++j) {
          if (!first) {
            e += ',', s += ',', t += ',', k += ',', v += ',', p += ',';
          }
          first = false;
          const auto& ev = req.events[j];
          e += keys[i];
          s += std::to_string(req.expected_seq + 1 + static_cast<int64_t>(j));
          append_array_element(t, req.entity_type);
          append_array_element(k, ev.type);
          v += std::to_string(ev.version);
          p += '"';
          append_hex(p, ev.payload);
          p += '"';
        }
      }
      e += '}', s += '}', t += '}', k += '}', v += '}', p += '}';
      tx.exec_prepared0("journal_insert", e, s, t, k, v, p);
      write_timers(tx, batch, accepted, keys);
    }
    committing = true;
    tx.commit();
  } catch (const pqxx::in_doubt_error& e) {
    spdlog::warn("persistence: journal commit in doubt, resolving: {}", e.what());
    return resolve_in_doubt(batch, accepted, rejected_indices(), out);
  } catch (const pqxx::broken_connection& e) {
    if (committing) {
      spdlog::warn("persistence: journal connection broke during commit, resolving: {}", e.what());
      return resolve_in_doubt(batch, accepted, rejected_indices(), out);
    }
    spdlog::warn("persistence: journal connection broke: {}", e.what());
    drop_connection();
    return fail_all(errc::unavailable, "journal: connection lost");
  } catch (const pqxx::unique_violation& e) {
    // Another process appended to one of these entities after we read the heads. Only that
    // entity's requests are losers: find them by committing one request per transaction.
    if (may_split && idx.size() > 1) {
      spdlog::info("persistence: journal batch of {} hit a concurrent writer, retrying singly",
                   idx.size());
      for (auto i : idx)
        commit_group(batch, std::vector<size_t>{i}, out, false);
      return;
    }
    return fail_all(errc::conflict, "journal: another writer appended concurrently");
  } catch (const pqxx::sql_error& e) {
    if (is_connection_loss(e)) {
      if (committing) {
        spdlog::warn("persistence: journal session lost during commit, resolving: {}", e.what());
        return resolve_in_doubt(batch, accepted, rejected_indices(), out);
      }
      spdlog::warn("persistence: journal session lost: {}", e.what());
      drop_connection();
      return fail_all(errc::unavailable, "journal: connection lost");
    }
    spdlog::error("persistence: journal batch failed: {} (sqlstate {})", e.what(), e.sqlstate());
    return fail_all(errc::internal, std::string{"journal: "} + e.what());
  } catch (const std::exception& e) {
    spdlog::error("persistence: journal batch failed: {}", e.what());
    if (conn_ && !conn_->is_open())
      drop_connection();
    return fail_all(errc::internal, std::string{"journal: "} + e.what());
  }
  for (auto i : accepted)
    out[i].emplace(batch[i].expected_seq + static_cast<int64_t>(batch[i].events.size()));
  for (const auto& [i, head] : rejected)
    out[i].emplace(make_failure(errc::conflict, "journal: expected seq "
                                                  + std::to_string(batch[i].expected_seq)
                                                  + " but the head is " + std::to_string(head)));
}

void journal_writer::resolve_in_doubt(std::vector<append_request>& batch,
                                      const std::vector<size_t>& accepted,
                                      const std::vector<size_t>& rejected,
                                      std::vector<outcome>& out) {
  const int old_pid = backend_pid_;
  const std::string old_start = backend_start_;
  drop_connection();
  const auto deadline = std::chrono::steady_clock::now() + resolve_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto next = gate_.next_attempt();
    if (next > std::chrono::steady_clock::now()) {
      if (next >= deadline)
        break;
      std::this_thread::sleep_until(next);
    }
    try {
      auto conn = open_connection(url_, "pactum-journal");
      // Rows we can see are committed whatever happens next; rows we cannot see might still
      // appear while the old session lives, so make sure it is gone before trusting absence.
      bool old_gone = retire_session(*conn, old_pid, old_start, deadline);
      adopt_connection(std::move(conn));
      gate_.succeeded();
      std::vector<bool> found(accepted.size());
      {
        pqxx::read_transaction tx{*conn_};
        for (size_t k = 0; k < accepted.size(); ++k)
          found[k] = journal_holds(tx, batch[accepted[k]]);
      }
      auto committed = static_cast<size_t>(std::count(found.begin(), found.end(), true));
      if (committed != 0 && committed != found.size())
        spdlog::error("persistence: in-doubt batch partly found ({} of {}): another writer?",
                      committed, found.size());
      if (committed == 0 && !old_gone)
        spdlog::error("persistence: in-doubt batch not visible, old session {} not confirmed "
                      "gone: answering unavailable, the outcome may still change",
                      old_pid);
      for (size_t k = 0; k < accepted.size(); ++k) {
        auto i = accepted[k];
        if (found[k])
          out[i].emplace(batch[i].expected_seq + static_cast<int64_t>(batch[i].events.size()));
        else
          out[i].emplace(make_failure(errc::unavailable, "journal: commit did not take effect"));
      }
      // A rejection may rest on an earlier request of the batch, so it stands only if the batch
      // committed.
      for (auto i : rejected)
        out[i].emplace(committed != 0 ? make_failure(errc::conflict, "journal: stale expected seq")
                                      : make_failure(errc::unavailable, "journal: connection lost"));
      spdlog::info("persistence: in-doubt journal commit resolved: {} of {} requests committed",
                   committed, accepted.size());
      return;
    } catch (const std::exception& e) {
      drop_connection();
      gate_.failed();
      spdlog::warn("persistence: resolving in-doubt journal commit: {}", e.what());
    }
  }
  spdlog::error("persistence: in-doubt journal commit unresolved after {} s; answering "
                "unavailable",
                resolve_timeout.count());
  for (auto i : accepted)
    out[i].emplace(make_failure(errc::unavailable, "journal: commit outcome unknown"));
  for (auto i : rejected)
    out[i].emplace(make_failure(errc::unavailable, "journal: commit outcome unknown"));
}

bool journal_writer::ensure_connected() {
  // As in the pool: an idle connection may have died (e.g. PostgreSQL restarted) without libpq
  // knowing yet; find out before starting a batch on it.
  if (conn_ && connection_looks_alive(*conn_))
    return true;
  if (conn_)
    spdlog::info("persistence: journal connection found closed, reconnecting");
  drop_connection();
  if (!gate_.may_attempt())
    return false;
  try {
    adopt_connection(open_connection(url_, "pactum-journal"));
    gate_.succeeded();
    return true;
  } catch (const std::exception& e) {
    drop_connection();
    gate_.failed();
    spdlog::warn("persistence: journal cannot connect: {}", e.what());
    return false;
  }
}

void journal_writer::adopt_connection(std::unique_ptr<pqxx::connection> conn) {
  conn->prepare("journal_heads", heads_sql);
  conn->prepare("journal_insert", insert_sql);
  conn->prepare("journal_range", range_sql);
  conn->prepare("timers_set", timers_set_sql);
  conn->prepare("timers_clear", timers_clear_sql);
  {
    pqxx::nontransaction tx{*conn};
    auto row = tx.exec1("select pg_backend_pid(), backend_start::text from pg_stat_activity"
                        " where pid = pg_backend_pid()");
    backend_pid_ = row[0].as<int>();
    backend_start_ = row[1].as<std::string>();
  }
  conn_ = std::move(conn);
}

void journal_writer::drop_connection() {
  conn_.reset();
  backend_pid_ = 0;
  backend_start_.clear();
}

} // namespace pactum::persistence::detail
