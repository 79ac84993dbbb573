#include "journal_writer.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <numeric>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

#include <pthread.h>
#include <spdlog/spdlog.h>

namespace pactum::persistence::detail {

namespace {

/// How long an in-doubt COMMIT may take to resolve before its requests answer `unavailable`.
constexpr std::chrono::seconds resolve_timeout{10};

/// How often to look whether a terminated session has left pg_stat_activity.
constexpr std::chrono::milliseconds retire_poll{20};

// The batch insert: one statement for every event of every accepted request, each column one
// array parameter in PostgreSQL's binary format, so nothing is escaped, hex-encoded or parsed as
// text and any byte of a payload survives. The unnests sit in the select list, where they are
// read in step without being materialised first (in FROM, unnest(...) fills a tuplestore).
// Measured (persistence/README.md): half the time of text arrays with hex payloads decoded
// server-side, and about 12 % less than a binary COPY.
constexpr const char* insert_sql =
  "insert into journal (entity_id, seq, entity_type, event_type, version, payload)"
  " select unnest($1::uuid[]), unnest($2::bigint[]), unnest($3::text[]), unnest($4::text[]),"
  " unnest($5::smallint[]), unnest($6::bytea[])";

/// Payload bytes per insert statement at most (unless one payload alone is larger): keeps each
/// array parameter far below PostgreSQL's 1 GB limit for one value.
constexpr size_t insert_payload_max = size_t{64} << 20;

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

// Type OIDs of the array elements we send in binary form (fixed in PostgreSQL's catalogue).
constexpr uint32_t int2_oid = 21;
constexpr uint32_t int8_oid = 20;
constexpr uint32_t text_oid = 25;
constexpr uint32_t bytea_oid = 17;
constexpr uint32_t uuid_oid = 2950;

// The ledger (migration 0007). Accounts are created on first use and locked in id order.
constexpr const char* ledger_accounts_sql =
  "insert into ledger_accounts (id, currency, floor_enforced)"
  " select * from unnest($1::text[], $2::text[], $3::boolean[]) on conflict (id) do nothing";

constexpr const char* ledger_lock_sql =
  "select id, currency from ledger_accounts where id = any($1::text[]) order by id for update";

constexpr const char* ledger_insert_sql =
  "insert into ledger_transfers (id, debit_account, credit_account, amount, currency, state,"
  " two_phase, entity_id, entity_seq)"
  " select i, d, c, a, cur, case when tp then 'pending' else 'posted' end, tp, e, s"
  " from unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::boolean[],"
  " $7::uuid[], $8::bigint[]) as x(i, d, c, a, cur, tp, e, s)"
  " on conflict (id) do nothing returning id";

constexpr const char* ledger_resolve_sql =
  "update ledger_transfers t set state = x.st, resolved_seq = x.s, resolved_at = now()"
  " from unnest($1::text[], $2::text[], $3::bigint[]) as x(i, st, s)"
  " where t.id = x.i and t.state = 'pending'"
  " returning t.id, t.debit_account, t.credit_account, t.amount, t.currency";

constexpr const char* ledger_move_sql =
  "update ledger_accounts a set debits_posted = a.debits_posted + x.dp,"
  " credits_posted = a.credits_posted + x.cp, debits_pending = a.debits_pending + x.dq,"
  " credits_pending = a.credits_pending + x.cq"
  " from unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[])"
  " as x(i, dp, cp, dq, cq) where a.id = x.i";

/// A ledger rule was broken by one of a batch's requests.
struct ledger_refused : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Only the payment provider's clearing accounts may go below zero.
bool floor_enforced(std::string_view account) {
  return account.rfind("clearing:", 0) != 0;
}

/// The problem with one ledger operation as submitted, or empty when it is well-formed.
std::string ledger_op_problem(const ledger_op& op) {
  bool resolves = op.what == ledger_op::kind::post_pending || op.what == ledger_op::kind::void_pending;
  if (resolves ? op.pending_id.empty() : op.id.empty())
    return resolves ? "a resolution without pending_id" : "a transfer without an id";
  if (op.debit.empty() || op.credit.empty() || op.debit == op.credit)
    return "transfer " + op.id + op.pending_id + ": debit and credit must be two accounts";
  if (op.amount <= 0)
    return "transfer " + op.id + op.pending_id + ": amount must be positive";
  if (op.currency.size() != 3
      || !std::all_of(op.currency.begin(), op.currency.end(),
                      [](char c) { return c >= 'A' && c <= 'Z'; }))
    return "transfer " + op.id + op.pending_id + ": currency must be three capital letters";
  return {};
}

constexpr const char* range_sql =
  "select seq, event_type, version, payload from journal"
  " where entity_id = $1 and seq > $2 and seq <= $3 order by seq";

failure make_failure(errc code, std::string message) {
  return failure{code, std::move(message)};
}

/// A one-dimensional array without nulls in PostgreSQL's binary format (what array_send writes
/// and array_recv reads: a header, then each element as a 4-byte length and its binary form, all
/// integers big-endian), to be sent as a binary parameter.
class binary_array {
public:
  explicit binary_array(uint32_t element_oid) {
    put(uint32_t{1}); // dimensions
    put(uint32_t{0}); // no nulls
    put(element_oid);
    put(uint32_t{0}); // element count, set by param()
    put(uint32_t{1}); // lower bound
  }

  void add(std::string_view bytes) {
    put(static_cast<uint32_t>(bytes.size()));
    buf_.append(bytes);
    ++count_;
  }

  void add(const uuid& id) {
    put(uint32_t{16});
    buf_.append(reinterpret_cast<const char*>(id.bytes.data()), id.bytes.size());
    ++count_;
  }

  void add(int64_t x) {
    put(uint32_t{8});
    put(static_cast<uint64_t>(x));
    ++count_;
  }

  void add(int16_t x) {
    put(uint32_t{2});
    put(static_cast<uint16_t>(x));
    ++count_;
  }

  size_t count() const { return count_; }

  pqxx::binarystring param() {
    for (int i = 0; i < 4; ++i) // the count is the fourth 32-bit word of the header
      buf_[12 + static_cast<size_t>(i)] = static_cast<char>((count_ >> (24 - 8 * i)) & 0xFF);
    return pqxx::binarystring{buf_};
  }

private:
  template <class UInt>
  void put(UInt x) {
    for (int shift = 8 * static_cast<int>(sizeof(UInt)) - 8; shift >= 0; shift -= 8)
      buf_ += static_cast<char>((x >> shift) & 0xFF);
  }

  std::string buf_;
  uint32_t count_ = 0;
};

/// The columns of one insert statement.
struct insert_columns {
  binary_array entity{uuid_oid}, seq{int8_oid}, entity_type{text_oid}, type{text_oid},
    version{int2_oid}, payload{bytea_oid};
  size_t payload_bytes = 0;

  void add(const append_request& req, int64_t seq_no, const event_record& ev) {
    add(req.entity, req.entity_type, seq_no, ev);
  }

  void add(const uuid& entity_id, std::string_view type_name, int64_t seq_no,
           const event_record& ev) {
    entity.add(entity_id);
    seq.add(seq_no);
    entity_type.add(type_name);
    type.add(ev.type);
    version.add(ev.version);
    payload.add(ev.payload);
    payload_bytes += ev.payload.size();
  }

  void execute(pqxx::work& tx) {
    tx.exec_prepared0("journal_insert", entity.param(), seq.param(), entity_type.param(),
                      type.param(), version.param(), payload.param());
  }
};

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

std::optional<int64_t> head_cache::find(const uuid& entity) const {
  auto it = map_.find(entity);
  if (it == map_.end())
    return std::nullopt;
  return it->second.head;
}

void head_cache::put(const uuid& entity, int64_t head) {
  if (capacity_ == 0)
    return;
  auto it = map_.find(entity);
  if (it != map_.end()) {
    it->second.head = head;
    order_.splice(order_.begin(), order_, it->second.pos);
    return;
  }
  if (map_.size() >= capacity_) {
    map_.erase(order_.back());
    order_.pop_back();
  }
  order_.push_front(entity);
  map_.emplace(entity, entry{head, order_.begin()});
}

void head_cache::erase(const uuid& entity) {
  auto it = map_.find(entity);
  if (it == map_.end())
    return;
  order_.erase(it->second.pos);
  map_.erase(it);
}

journal_writer::journal_writer(const config& cfg) {
  auto lanes = std::max<size_t>(cfg.journal_writers, 1);
  // Each lane remembers the heads of its own entities.
  auto cache = (cfg.journal_head_cache + lanes - 1) / lanes;
  for (size_t i = 0; i < lanes; ++i)
    lanes_.push_back(std::make_unique<journal_lane>(cfg, cache, queued_));
  journal_metrics::get(); // registered now, so a scrape shows them before the first batch
  depth_metric_ = metrics::gauge_callback(
    "pactum_journal_queue_depth", "Appends waiting in the journal writer's queues.", {},
    [this] { return static_cast<double>(queued_.load(std::memory_order_relaxed)); });
}

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
  for (const auto& ne : req.creates) {
    if (ne.events.empty() || ne.id == req.entity)
      return refuse(errc::internal, "append: a created entity needs events and its own id");
    for (size_t i = 0; i < ne.events.size(); ++i)
      if (ne.events[i].seq != static_cast<int64_t>(i) + 1)
        return refuse(errc::internal, "append: a created entity's events must start at seq 1");
  }
  for (const auto& op : req.ledger)
    if (auto problem = ledger_op_problem(op); !problem.empty())
      return refuse(errc::refused, "ledger: " + problem);
  auto& lane = lanes_.size() == 1 ? lanes_.front()
                                  : lanes_[std::hash<uuid>{}(req.entity) % lanes_.size()];
  lane->submit(std::move(req));
}

void journal_writer::stop() {
  // Every lane refuses new appends before any is joined, so none takes work after stop().
  for (auto& lane : lanes_)
    lane->refuse_new();
  for (auto& lane : lanes_)
    lane->stop();
}

size_t journal_writer::pending() const {
  size_t n = 0;
  for (const auto& lane : lanes_)
    n += lane->pending();
  return n;
}

journal_lane::journal_lane(const config& cfg, size_t head_cache_capacity,
                           std::atomic<size_t>& queued)
  : url_(cfg.url),
    queue_limit_(std::max<size_t>(cfg.journal_queue_limit, 1)),
    batch_max_(std::max<size_t>(cfg.journal_batch_max, 1)),
    batch_wait_(cfg.journal_batch_wait),
    gate_(cfg.reconnect_backoff_max),
    queued_(queued),
    heads_(head_cache_capacity),
    thread_([this] {
      pthread_setname_np(pthread_self(), "pactum-journal");
      run();
    }) {}

journal_lane::~journal_lane() {
  stop();
}

void journal_lane::submit(append_request req) {
  auto refuse = [&req](errc code, std::string message) {
    req.done(make_failure(code, std::move(message)));
  };
  {
    std::unique_lock<std::mutex> guard{mtx_};
    if (stopping_) {
      guard.unlock();
      return refuse(errc::unavailable, "journal writer is stopped");
    }
    if (queued_.fetch_add(1) >= queue_limit_) {
      queued_.fetch_sub(1);
      guard.unlock();
      return refuse(errc::overloaded, "journal queue is full");
    }
    queue_.push_back(std::move(req));
  }
  cv_.notify_one();
}

void journal_lane::refuse_new() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
  }
  cv_.notify_all();
}

void journal_lane::stop() {
  refuse_new();
  if (thread_.joinable())
    thread_.join();
}

size_t journal_lane::pending() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return queue_.size() + in_flight_;
}

void journal_lane::run() {
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
      queued_.fetch_sub(n);
      in_flight_ = n;
    }
    auto& m = journal_metrics::get();
    m.batch_size.observe(batch.size());
    m.appends.inc(batch.size());
    auto started = std::chrono::steady_clock::now();
    process(batch); // answers every request, which takes it off in_flight_
    m.batch_seconds.observe(micros_since(started));
  }
  drop_connection();
}

void journal_lane::process(std::vector<append_request>& batch) {
  std::vector<outcome> out(batch.size());
  std::vector<size_t> idx(batch.size());
  std::iota(idx.begin(), idx.end(), size_t{0});
  try {
    commit_group(batch, idx, out, true, true);
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

void journal_lane::write_timers(pqxx::work& tx, const std::vector<append_request>& batch,
                                const std::vector<size_t>& accepted) {
  // The last change per (entity, kind) in queue order is the one that holds after commit.
  std::map<std::pair<std::string, std::string>, std::pair<const timer_change*, size_t>> last;
  for (auto i : accepted)
    for (const auto& tc : batch[i].timers)
      last[{batch[i].entity.str(), tc.kind}] = {&tc, i};
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

void journal_lane::insert_events(pqxx::work& tx, const std::vector<append_request>& batch,
                                 const std::vector<size_t>& accepted) {
  insert_columns cols;
  for (auto i : accepted) {
    const auto& req = batch[i];
    for (size_t j = 0; j < req.events.size(); ++j) {
      const auto& ev = req.events[j];
      if (cols.seq.count() != 0 && cols.payload_bytes + ev.payload.size() > insert_payload_max) {
        cols.execute(tx);
        cols = insert_columns{};
      }
      cols.add(req, req.expected_seq + 1 + static_cast<int64_t>(j), ev);
    }
    // A created entity's journal starts here; should it exist already, the primary key refuses
    // the batch like any concurrent writer's.
    for (const auto& ne : req.creates)
      for (const auto& ev : ne.events) {
        if (cols.seq.count() != 0 && cols.payload_bytes + ev.payload.size() > insert_payload_max) {
          cols.execute(tx);
          cols = insert_columns{};
        }
        cols.add(ne.id, ne.entity_type, ev.seq, ev);
      }
  }
  if (cols.seq.count() != 0)
    cols.execute(tx);
}

void journal_lane::commit_group(std::vector<append_request>& batch,
                                const std::vector<size_t>& idx, std::vector<outcome>& out,
                                bool may_split, bool use_cache) {
  auto fail_all = [&](errc code, const std::string& message) {
    for (auto i : idx)
      out[i].emplace(make_failure(code, message));
  };
  if (!ensure_connected())
    return fail_all(errc::unavailable, "journal: database unreachable");
  std::vector<size_t> accepted;
  std::vector<std::pair<size_t, int64_t>> rejected; // request, head it was checked against
  // Each entity's head as the batch goes: first its head in the journal, then past the requests
  // accepted so far.
  std::unordered_map<uuid, int64_t> heads;
  bool cache_used = false;
  bool committing = false;
  // A ledger rule broke: nothing of the batch was written. Alone, the request is refused; in a
  // batch, each request is retried in a transaction of its own so only the culprit is refused.
  auto refuse_ledger = [&](const std::string& why) {
    if (may_split && idx.size() > 1) {
      spdlog::warn("persistence: a journal batch of {} broke a ledger rule, retrying singly: {}",
                   idx.size(), why);
      for (auto i : idx)
        commit_group(batch, std::vector<size_t>{i}, out, false, false);
      return;
    }
    spdlog::error("persistence: ledger refused an append to {}: {}",
                  idx.empty() ? std::string{} : batch[idx.front()].entity.str(), why);
    fail_all(errc::refused, "ledger: " + why);
  };
  auto rejected_indices = [&rejected] {
    std::vector<size_t> v;
    for (const auto& r : rejected)
      v.push_back(r.first);
    return v;
  };
  try {
    pqxx::work tx{*conn_, "journal_batch"};
    // An entity whose first request in the batch agrees with its cached head takes that head;
    // every other entity (not cached, or disagreeing: the cache may be behind) is probed, all in
    // one round trip. Entities absent from the journal have head 0.
    binary_array probe{uuid_oid};
    for (auto i : idx) {
      auto [it, first] = heads.try_emplace(batch[i].entity, 0);
      if (!first)
        continue;
      if (use_cache) {
        if (auto cached = heads_.find(batch[i].entity);
            cached && *cached == batch[i].expected_seq) {
          it->second = *cached;
          cache_used = true;
          continue;
        }
      }
      probe.add(batch[i].entity);
    }
    if (probe.count() != 0)
      for (const auto& row : tx.exec_prepared("journal_heads", probe.param())) {
        if (row[1].is_null()) // an empty journal: head 0
          continue;
        auto id = uuid::parse(row[0].c_str());
        if (!id)
          throw std::runtime_error(std::string{"malformed uuid from the database: "}
                                   + row[0].c_str());
        heads[*id] = row[1].as<int64_t>();
      }
    // Queue order decides between requests for one entity, so a request may depend on an
    // earlier one of the same batch.
    for (auto i : idx) {
      auto& head = heads[batch[i].entity];
      if (batch[i].expected_seq == head) {
        accepted.push_back(i);
        head += static_cast<int64_t>(batch[i].events.size());
      } else {
        rejected.emplace_back(i, head);
      }
    }
    if (!accepted.empty()) {
      insert_events(tx, batch, accepted);
      write_timers(tx, batch, accepted);
      write_ledger(tx, batch, accepted);
    }
    committing = true;
    auto commit_started = std::chrono::steady_clock::now();
    tx.commit();
    journal_metrics::get().commit_seconds.observe(micros_since(commit_started));
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
  } catch (const ledger_refused& e) {
    return refuse_ledger(e.what());
  } catch (const pqxx::check_violation& e) {
    return refuse_ledger(std::string{"an account would go below its floor ("} + e.what() + ")");
  } catch (const pqxx::unique_violation& e) {
    if (cache_used) {
      // A cached head was behind: another process appended to that entity. Forget the batch's
      // entities and redo it with every head read from the journal.
      spdlog::info("persistence: journal batch of {} found a cached head stale, re-reading heads",
                   idx.size());
      for (auto i : idx)
        heads_.erase(batch[i].entity);
      return commit_group(batch, idx, out, may_split, false);
    }
    // Another process appended to one of these entities after we read the heads. Only that
    // entity's requests are losers: find them by committing one request per transaction.
    if (may_split && idx.size() > 1) {
      spdlog::info("persistence: journal batch of {} hit a concurrent writer, retrying singly",
                   idx.size());
      for (auto i : idx)
        commit_group(batch, std::vector<size_t>{i}, out, false, false);
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
  // Committed: every head of the batch is now the journal's (a cached or probed head, plus the
  // events accepted on it), and stays true until someone else appends.
  for (auto i : idx)
    heads_.put(batch[i].entity, heads[batch[i].entity]);
  for (auto i : accepted)
    out[i].emplace(batch[i].expected_seq + static_cast<int64_t>(batch[i].events.size()));
  for (const auto& [i, head] : rejected)
    out[i].emplace(make_failure(errc::conflict, "journal: expected seq "
                                                  + std::to_string(batch[i].expected_seq)
                                                  + " but the head is " + std::to_string(head)));
}

void journal_lane::write_ledger(pqxx::work& tx, const std::vector<append_request>& batch,
                                const std::vector<size_t>& accepted) {
  struct delta {
    std::string currency;
    int64_t dp = 0, cp = 0, dq = 0, cq = 0; // debits/credits posted, debits/credits pending
  };
  std::map<std::string, delta> accounts; // ordered: locks are taken in id order
  binary_array ti{text_oid}, td{text_oid}, tc{text_oid}, ta{int8_oid}, tcur{text_oid},
    te{uuid_oid}, ts{int8_oid};
  std::vector<bool> two_phase;
  binary_array ri{text_oid}, rst{text_oid}, rs{int8_oid};
  std::map<std::string, const ledger_op*> resolutions;
  auto touch = [&](const std::string& id, const std::string& currency) -> delta& {
    auto& d = accounts[id];
    if (d.currency.empty())
      d.currency = currency;
    else if (d.currency != currency)
      throw ledger_refused("account " + id + " is in " + d.currency + ", not " + currency);
    return d;
  };
  for (auto i : accepted) {
    const auto& req = batch[i];
    const int64_t seq = req.expected_seq + 1;
    for (const auto& op : req.ledger) {
      auto& d = touch(op.debit, op.currency);
      auto& c = touch(op.credit, op.currency);
      switch (op.what) {
        case ledger_op::kind::post:
        case ledger_op::kind::pending: {
          bool pending = op.what == ledger_op::kind::pending;
          (pending ? d.dq : d.dp) += op.amount;
          (pending ? c.cq : c.cp) += op.amount;
          ti.add(op.id);
          td.add(op.debit);
          tc.add(op.credit);
          ta.add(op.amount);
          tcur.add(op.currency);
          two_phase.push_back(pending);
          te.add(req.entity);
          ts.add(seq);
          break;
        }
        case ledger_op::kind::post_pending:
        case ledger_op::kind::void_pending: {
          bool post = op.what == ledger_op::kind::post_pending;
          d.dq -= op.amount;
          c.cq -= op.amount;
          if (post) {
            d.dp += op.amount;
            c.cp += op.amount;
          }
          if (!resolutions.emplace(op.pending_id, &op).second)
            throw ledger_refused("pending transfer " + op.pending_id + " resolved twice");
          ri.add(op.pending_id);
          rst.add(std::string_view{post ? "posted" : "voided"});
          rs.add(seq);
          break;
        }
      }
    }
  }
  if (accounts.empty())
    return;
  // Accounts: create the missing ones, then lock all and check each one's currency.
  {
    std::string ids = "{", curs = "{", floors = "{";
    for (const auto& [id, d] : accounts) {
      if (ids.size() > 1)
        ids += ',', curs += ',', floors += ',';
      append_array_element(ids, id);
      append_array_element(curs, d.currency);
      floors += floor_enforced(id) ? "t" : "f";
    }
    ids += '}', curs += '}', floors += '}';
    tx.exec_prepared0("ledger_accounts", ids, curs, floors);
    auto rows = tx.exec_prepared("ledger_lock", ids);
    if (rows.size() != accounts.size())
      throw ledger_refused("an account could not be created");
    for (const auto& row : rows) {
      auto& d = accounts.at(row[0].as<std::string>());
      if (row[1].as<std::string>() != d.currency)
        throw ledger_refused("account " + row[0].as<std::string>() + " is in "
                             + row[1].as<std::string>() + ", not " + d.currency);
    }
  }
  if (ti.count() != 0) {
    std::string phases = "{";
    for (size_t k = 0; k < two_phase.size(); ++k)
      phases += (k ? ",": "") + std::string{two_phase[k] ? "t" : "f"};
    phases += '}';
    auto inserted = tx.exec_prepared("ledger_insert", ti.param(), td.param(), tc.param(),
                                     ta.param(), tcur.param(), phases, te.param(), ts.param());
    if (inserted.size() != ti.count())
      throw ledger_refused("a transfer id is already used (a transfer is made once)");
  }
  if (ri.count() != 0) {
    auto resolved = tx.exec_prepared("ledger_resolve", ri.param(), rst.param(), rs.param());
    if (resolved.size() != resolutions.size())
      throw ledger_refused("a pending transfer is unknown or already posted or voided");
    for (const auto& row : resolved) {
      const auto& op = *resolutions.at(row[0].as<std::string>());
      if (row[1].as<std::string>() != op.debit || row[2].as<std::string>() != op.credit
          || row[3].as<int64_t>() != op.amount || row[4].as<std::string>() != op.currency)
        throw ledger_refused("the resolution of " + op.pending_id
                             + " names other accounts or another amount than the transfer");
    }
  }
  binary_array mi{text_oid}, mdp{int8_oid}, mcp{int8_oid}, mdq{int8_oid}, mcq{int8_oid};
  for (const auto& [id, d] : accounts) {
    mi.add(id);
    mdp.add(d.dp);
    mcp.add(d.cp);
    mdq.add(d.dq);
    mcq.add(d.cq);
  }
  tx.exec_prepared0("ledger_move", mi.param(), mdp.param(), mcp.param(), mdq.param(), mcq.param());
}

void journal_lane::resolve_in_doubt(std::vector<append_request>& batch,
                                    const std::vector<size_t>& accepted,
                                    const std::vector<size_t>& rejected,
                                    std::vector<outcome>& out) {
  const int old_pid = backend_pid_;
  const std::string old_start = backend_start_;
  drop_connection();
  // Whatever happened, these heads are known again only once the journal has been read.
  for (auto i : accepted)
    heads_.erase(batch[i].entity);
  for (auto i : rejected)
    heads_.erase(batch[i].entity);
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
        auto new_head = batch[i].expected_seq + static_cast<int64_t>(batch[i].events.size());
        if (committed == found.size())
          heads_.put(batch[i].entity, new_head); // queue order: an entity's last request wins
        if (found[k])
          out[i].emplace(new_head);
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

bool journal_lane::ensure_connected() {
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

void journal_lane::adopt_connection(std::unique_ptr<pqxx::connection> conn) {
  conn->prepare("journal_heads", heads_sql);
  conn->prepare("journal_insert", insert_sql);
  conn->prepare("journal_range", range_sql);
  conn->prepare("timers_set", timers_set_sql);
  conn->prepare("timers_clear", timers_clear_sql);
  conn->prepare("ledger_accounts", ledger_accounts_sql);
  conn->prepare("ledger_lock", ledger_lock_sql);
  conn->prepare("ledger_insert", ledger_insert_sql);
  conn->prepare("ledger_resolve", ledger_resolve_sql);
  conn->prepare("ledger_move", ledger_move_sql);
  {
    pqxx::nontransaction tx{*conn};
    // Plan every execution with its parameters. After five runs PostgreSQL may switch a prepared
    // statement to a generic plan, which cannot see the arrays' sizes: on a ledger that was never
    // analysed, ledger_move's generic plan is a hash join over a sequential scan of every account,
    // for each batch (seen in bench/contract_bench.cpp as thousands of whole-table scans; EXPLAIN
    // in docs/benchmarks.md). Custom plans use the primary key; planning these statements costs
    // far less than one such scan.
    tx.exec0("set plan_cache_mode = force_custom_plan");
    auto row = tx.exec1("select pg_backend_pid(), backend_start::text from pg_stat_activity"
                        " where pid = pg_backend_pid()");
    backend_pid_ = row[0].as<int>();
    backend_start_ = row[1].as<std::string>();
  }
  conn_ = std::move(conn);
}

void journal_lane::drop_connection() {
  conn_.reset();
  backend_pid_ = 0;
  backend_start_.clear();
}

} // namespace pactum::persistence::detail
