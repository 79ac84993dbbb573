// pactum_journal_bench: durable journal appends per second, group commit against the naive way.
//
// Both sides write the same rows into the same `journal` table (the real schema, applied by the
// real migrations) of a fresh database, with synchronous_commit=on, from the same set of entities,
// each entity appending one ~200-byte event at a time and its next only after the previous one is
// acknowledged (a closed loop: an entity is a conversation whose next message waits for the ack).
//
//   group  persistence::database::append, the group-commit writer pactumd uses: one writer
//          thread folds every queued append into one transaction. group-wN: the same writer
//          with N lanes (config::journal_writers), each its own thread, connection and batches.
//   naive  a pool of N connections, each running BEGIN; INSERT one row; COMMIT per event over its
//          share of the entities, as a typical service with a connection pool does.
//
// Ack latency is measured from the entity's view: from the moment it could append (its previous
// ack) to the ack of this append, so time spent waiting for a connection counts, as it would for
// a user. Each configuration runs --repeats times (interleaved, the journal emptied and a
// CHECKPOINT before each run) and the median of each figure is reported.
//
// The database is created and dropped like the integration tests do (tests/support/
// test_database.hpp); the URL must be a superuser's. See docs/benchmarks.md and bench/run-journal.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "pactum/common/time.hpp"
#include "pactum/persistence/database.hpp"
#include "test_database.hpp"

namespace {

using steady = std::chrono::steady_clock;
using json = nlohmann::json;
namespace persistence = pactum::persistence;

struct options {
  std::string database_url;
  size_t entities = 1000;
  std::chrono::milliseconds duration{10'000};
  std::chrono::milliseconds warmup{1'000};
  size_t repeats = 3;
  size_t payload_bytes = 200;
  std::vector<size_t> naive_connections{16, 64};
  size_t batch_max = 1'000;
  std::chrono::microseconds batch_wait{0};
  std::vector<size_t> writers{1, 2};
  std::optional<size_t> head_cache; ///< default: config's
  bool run_group = true;
  bool run_naive = true;
  bool deal = false; ///< group: appends shaped like escrow contract commands (ledger legs, timers)
  std::string json_out;
};

constexpr const char* usage = R"(usage: pactum_journal_bench [options]

Measures durable journal appends per second: group commit (persistence::database::append) against
one transaction per event over a connection pool. Creates and drops its own database.

  --database-url URL      superuser URL [PACTUM_BENCH_DATABASE_URL] (required)
  --entities N            concurrent entities, each with one append outstanding (1000)
  --duration S            measured seconds per run (10)
  --warmup S              unmeasured seconds before each run (1)
  --repeats N             runs per configuration; the median is reported (3)
  --payload-bytes N       event payload size (200)
  --naive-connections L   comma-separated pool sizes for the naive baseline (16,64)
  --batch-max N           group commit: appends per transaction at most (1000)
  --batch-wait-us N       group commit: extra wait to fill a batch, microseconds (0)
  --writers L             group commit: comma-separated writer lane counts
                          (config::journal_writers), one configuration each: 1 is "group",
                          N is "group-wN" (1,2)
  --head-cache N          group commit: entities whose head the writer remembers (config default;
                          0 probes every entity of every batch)
  --only group|naive      run one side only
  --deal                  group commit: every append is shaped like an escrow contract command:
                          odd appends fund (one ledger leg clearing -> escrow, a timer set), even
                          ones release (two legs escrow -> creator and escrow -> revenue, the timer
                          cleared), as contract actors append them (the writer + ledger ceiling
                          for durable escrow commands, no actors, no WebSocket)
  --json-out FILE         also write the results as JSON
  --help
)";

[[noreturn]] void die(const std::string& msg) {
  std::cerr << "pactum_journal_bench: " << msg << "\n";
  std::exit(2);
}

size_t to_size(const std::string& flag, const std::string& v) {
  try {
    size_t pos = 0;
    auto x = std::stoull(v, &pos);
    if (pos != v.size())
      throw std::invalid_argument(v);
    return x;
  } catch (const std::exception&) {
    die(flag + " needs a whole number, got '" + v + "'");
  }
}

options parse(int argc, char** argv) {
  options o;
  if (const char* v = std::getenv("PACTUM_BENCH_DATABASE_URL"); v && *v)
    o.database_url = v;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << usage;
      std::exit(0);
    }
    if (a == "--deal") { // a flag without a value
      o.deal = true;
      continue;
    }
    if (i + 1 >= argc)
      die("unknown option or missing value: " + a + " (see --help)");
    std::string v = argv[++i];
    if (a == "--database-url") {
      o.database_url = v;
    } else if (a == "--entities") {
      o.entities = to_size(a, v);
    } else if (a == "--duration") {
      o.duration = std::chrono::milliseconds{to_size(a, v) * 1000};
    } else if (a == "--warmup") {
      o.warmup = std::chrono::milliseconds{to_size(a, v) * 1000};
    } else if (a == "--repeats") {
      o.repeats = to_size(a, v);
    } else if (a == "--payload-bytes") {
      o.payload_bytes = to_size(a, v);
    } else if (a == "--naive-connections") {
      o.naive_connections.clear();
      std::stringstream in{v};
      for (std::string part; std::getline(in, part, ',');)
        o.naive_connections.push_back(to_size(a, part));
    } else if (a == "--writers") {
      o.writers.clear();
      std::stringstream in{v};
      for (std::string part; std::getline(in, part, ',');)
        o.writers.push_back(to_size(a, part));
    } else if (a == "--head-cache") {
      o.head_cache = to_size(a, v);
    } else if (a == "--batch-max") {
      o.batch_max = to_size(a, v);
    } else if (a == "--batch-wait-us") {
      o.batch_wait = std::chrono::microseconds{to_size(a, v)};
    } else if (a == "--only") {
      if (v != "group" && v != "naive")
        die("--only takes group or naive");
      o.run_group = v == "group";
      o.run_naive = v == "naive";
    } else if (a == "--json-out") {
      o.json_out = v;

    } else {
      die("unknown option " + a + " (see --help)");
    }
  }
  if (o.database_url.empty())
    die("no database: set --database-url or PACTUM_BENCH_DATABASE_URL (a superuser URL)");
  if (o.entities == 0 || o.repeats == 0 || o.duration.count() == 0 || o.payload_bytes == 0)
    die("--entities, --repeats, --duration and --payload-bytes must be at least 1");
  for (auto n : o.naive_connections)
    if (n == 0 || n > o.entities)
      die("each --naive-connections value must be between 1 and --entities");
  if (o.writers.empty())
    die("--writers needs at least one value");
  for (auto n : o.writers)
    if (n == 0)
      die("each --writers value must be at least 1");
  return o;
}

// -- measurements ---------------------------------------------------------------------------------

struct run_result {
  double events_per_s = 0;
  double first_second_per_s = 0, last_second_per_s = 0; ///< shows a rate that drifts in a run
  double p50_ms = 0, p99_ms = 0, max_ms = 0; ///< entity-view ack latency
  double txn_p50_ms = 0;                     ///< naive: BEGIN..COMMIT of one event
  double events_per_commit = 0;              ///< group: measured from pg_stat_database
  size_t errors = 0;
};

double percentile(std::vector<double>& v, double p) {
  if (v.empty())
    return 0;
  auto k = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

double ms(steady::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

/// Acks counted in [from, to), with their latencies in milliseconds, and per second.
struct window {
  window() = default;
  window(steady::time_point f, steady::time_point t) : from(f), to(t) {}

  steady::time_point from, to;
  size_t acks = 0;
  std::vector<double> latencies;
  std::vector<size_t> per_second;

  void add(steady::time_point ack, steady::duration latency) {
    if (ack < from || ack >= to)
      return;
    ++acks;
    latencies.push_back(ms(latency));
    auto second = static_cast<size_t>(
      std::chrono::duration_cast<std::chrono::seconds>(ack - from).count());
    if (per_second.size() <= second)
      per_second.resize(second + 1);
    ++per_second[second];
  }

  void merge(const window& other) {
    acks += other.acks;
    latencies.insert(latencies.end(), other.latencies.begin(), other.latencies.end());
    if (per_second.size() < other.per_second.size())
      per_second.resize(other.per_second.size());
    for (size_t i = 0; i < other.per_second.size(); ++i)
      per_second[i] += other.per_second[i];
  }

  void finish(run_result& r) {
    r.events_per_s = static_cast<double>(acks) / std::chrono::duration<double>(to - from).count();
    if (per_second.size() >= 2) {
      r.first_second_per_s = static_cast<double>(per_second.front());
      // The last bucket may be partial (a duration that is not whole seconds): take the one before.
      auto whole = static_cast<size_t>(
        std::chrono::duration_cast<std::chrono::seconds>(to - from).count());
      r.last_second_per_s = static_cast<double>(per_second[std::min(whole, per_second.size()) - 1]);
    }
    r.p50_ms = percentile(latencies, 0.50);
    r.p99_ms = percentile(latencies, 0.99);
    r.max_ms = latencies.empty() ? 0 : *std::max_element(latencies.begin(), latencies.end());
  }
};

std::string random_payload(std::mt19937_64& rng, size_t n) {
  std::string p(n, '\0');
  for (auto& c : p)
    c = static_cast<char>(rng() & 0xff);
  return p;
}

std::string to_hex(const std::string& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 0xf];
  }
  return out;
}

/// The database under test and the admin-side queries the runs need.
class bench_database {
public:
  explicit bench_database(const std::string& admin_url) {
    // test_database takes its superuser URL from the test environment variable.
    ::setenv(pactum::test_support::test_database_env, admin_url.c_str(), 1);
    db_.emplace();
    persistence::config cfg;
    cfg.url = db_->url();
    persistence::database{cfg}.migrate();
    admin_ = std::make_unique<pqxx::connection>(db_->url());
  }

  const std::string& url() const { return db_->url(); }

  std::string setting(const std::string& name) {
    pqxx::nontransaction tx{*admin_};
    return tx.exec1("select current_setting(" + tx.quote(name) + ")")[0].as<std::string>();
  }

  /// Empties the journal and flushes dirty pages, so every run starts from the same state and
  /// a checkpoint triggered by the previous run's WAL does not land in this one.
  void reset() {
    pqxx::nontransaction tx{*admin_};
    tx.exec0("truncate journal");
    tx.exec0("truncate ledger_transfers, ledger_accounts, due_timers cascade"); // used by --deal
    tx.exec0("checkpoint");
  }

  /// Transactions committed in this database so far, once every other session has ended (a
  /// backend flushes its statistics when it exits).
  int64_t commits_after_others_left() {
    for (int i = 0; i < 500; ++i) {
      pqxx::nontransaction tx{*admin_};
      auto others = tx.exec1("select count(*) from pg_stat_activity where datname = "
                             "current_database() and pid <> pg_backend_pid()")[0]
                      .as<int64_t>();
      if (others == 0)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds{10}); // backends exit asynchronously
    }
    pqxx::nontransaction tx{*admin_};
    tx.exec("select pg_stat_clear_snapshot()");
    auto row = tx.exec1("select xact_commit from pg_stat_database"
                        " where datname = current_database()");
    return row[0].as<int64_t>();
  }

private:
  std::optional<pactum::test_support::test_database> db_;
  std::unique_ptr<pqxx::connection> admin_;
};

struct entity {
  pactum::uuid id;
  std::string id_text;
  std::string payload;
  std::string payload_hex;
  int64_t head = 0;
  steady::time_point ready{}; ///< when it could append next (its previous ack)
};

std::vector<entity> make_entities(size_t n, size_t payload_bytes, std::mt19937_64& rng) {
  std::vector<entity> out(n);
  for (auto& e : out) {
    e.id = pactum::uuid::v7();
    e.id_text = e.id.str();
    e.payload = random_payload(rng, payload_bytes);
    e.payload_hex = to_hex(e.payload);
  }
  return out;
}

/// Group commit through the real writer. The writer's callbacks only hand the ack to a driver
/// thread, which does the bookkeeping and queues the entity's next append, as pactumd's actors
/// do on their own threads: the writer thread is left to the database.
run_result run_group(const options& o, bench_database& bdb, std::vector<entity>& entities,
                     size_t writers) {
  for (auto& e : entities)
    e.head = 0;
  bdb.reset();
  auto commits_before = bdb.commits_after_others_left();

  persistence::config cfg;
  cfg.url = bdb.url();
  cfg.pool_threads = 1;
  cfg.journal_queue_limit = entities.size() * 2;
  cfg.journal_batch_max = o.batch_max;
  cfg.journal_batch_wait = o.batch_wait;
  cfg.journal_writers = writers;
  if (o.head_cache)
    cfg.journal_head_cache = *o.head_cache;
  persistence::database db{cfg};
  db.start();

  struct ack {
    size_t entity;
    steady::time_point at;
    bool ok;
  };
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<ack> acks;

  auto submit = [&](size_t i) {
    auto& e = entities[i];
    persistence::append_request req;
    req.entity = e.id;
    req.entity_type = "bench";
    req.expected_seq = e.head;
    req.events.push_back({e.head + 1, "bench.appended", 1, e.payload, 0});
    if (o.deal) {
      // The accounts and transfer ids a contract uses (contract_machine.cpp): the shared
      // clearing and revenue accounts are touched by every deal.
      auto seq = e.head + 1;
      auto escrow = "escrow:" + e.id_text;
      auto leg = [&](int n) { return e.id_text + ":" + std::to_string(seq) + ":" + std::to_string(n); };
      using k = persistence::ledger_op::kind;
      if (seq % 2 == 1) {
        req.ledger.push_back({k::post, leg(0), "clearing:USD", escrow, 10'000, "USD"});
        req.timers.push_back({"delivery_deadline", pactum::now_millis() + 7 * 24 * 3600 * 1000LL, false});
      } else {
        req.ledger.push_back({k::post, leg(0), escrow, "user:" + e.id_text + ":USD", 9'000, "USD"});
        req.ledger.push_back({k::post, leg(1), escrow, "revenue:USD", 1'000, "USD"});
        req.timers.push_back({"delivery_deadline", 0, true});
      }
    }
    req.done = [&, i](persistence::result<int64_t> r) {
      auto now = steady::now();
      {
        std::lock_guard<std::mutex> guard{mtx};
        acks.push_back({i, now, r.has_value()});
      }
      cv.notify_one();
    };
    db.append(std::move(req));
  };

  run_result result;
  auto start = steady::now();
  window w{start + o.warmup, start + o.warmup + o.duration};
  w.latencies.reserve(1 << 20);
  size_t outstanding = entities.size();
  size_t events = 0;
  for (size_t i = 0; i < entities.size(); ++i) {
    entities[i].ready = start;
    submit(i);
  }
  std::vector<ack> got;
  while (outstanding > 0) {
    {
      std::unique_lock<std::mutex> guard{mtx};
      cv.wait(guard, [&] { return !acks.empty(); });
      got.swap(acks);
    }
    bool stopping = steady::now() >= w.to;
    for (const auto& a : got) {
      auto& e = entities[a.entity];
      --outstanding;
      if (!a.ok) {
        ++result.errors; // this entity stops: its head is no longer known
        continue;
      }
      ++events;
      ++e.head;
      w.add(a.at, a.at - e.ready);
      e.ready = a.at;
      if (!stopping) {
        ++outstanding;
        submit(a.entity);
      }
    }
    got.clear();
  }
  db.stop();
  w.finish(result);
  auto commits = bdb.commits_after_others_left() - commits_before;
  if (commits > 0)
    result.events_per_commit = static_cast<double>(events) / static_cast<double>(commits);
  return result;
}

/// One transaction per event over a pool of `connections`: connection k serves the entities
/// i with i % connections == k in turn, each append with the next gap-free seq.
run_result run_naive(const options& o, bench_database& bdb, std::vector<entity>& entities,
                     size_t connections) {
  for (auto& e : entities)
    e.head = 0;
  bdb.reset();
  std::vector<std::unique_ptr<pqxx::connection>> conns;
  for (size_t k = 0; k < connections; ++k) {
    auto c = std::make_unique<pqxx::connection>(bdb.url());
    c->prepare("append", "insert into journal (entity_id, seq, entity_type, event_type, version,"
                         " payload) values ($1, $2, $3, $4, $5, decode($6, 'hex'))");
    conns.push_back(std::move(c));
  }
  struct per_thread {
    window w;
    std::vector<double> txn;
    size_t errors = 0;
  };
  auto start = steady::now();
  std::vector<per_thread> parts(connections);
  for (auto& p : parts) {
    p.w = window{start + o.warmup, start + o.warmup + o.duration};
    p.w.latencies.reserve(1 << 16);
  }
  std::vector<std::thread> threads;
  for (size_t k = 0; k < connections; ++k)
    threads.emplace_back([&, k] {
      auto& part = parts[k];
      auto& conn = *conns[k];
      std::vector<entity*> mine;
      for (size_t i = k; i < entities.size(); i += connections) {
        entities[i].ready = start;
        mine.push_back(&entities[i]);
      }
      for (size_t turn = 0;; ++turn) {
        auto& e = *mine[turn % mine.size()];
        auto t0 = steady::now();
        if (t0 >= part.w.to)
          break;
        try {
          pqxx::work tx{conn};
          tx.exec_prepared0("append", e.id_text, e.head + 1, "bench", "bench.appended", 1,
                            e.payload_hex);
          tx.commit();
        } catch (const std::exception& ex) {
          if (part.errors++ == 0)
            std::cerr << "naive append failed: " << ex.what() << "\n";
          if (!conn.is_open())
            break;
          continue;
        }
        auto t1 = steady::now();
        ++e.head;
        part.w.add(t1, t1 - e.ready);
        if (t1 >= part.w.from && t1 < part.w.to)
          part.txn.push_back(ms(t1 - t0));
        e.ready = t1;
      }
    });
  for (auto& t : threads)
    t.join();
  window all{start + o.warmup, start + o.warmup + o.duration};
  std::vector<double> txn;
  run_result result;
  for (auto& p : parts) {
    all.merge(p.w);
    txn.insert(txn.end(), p.txn.begin(), p.txn.end());
    result.errors += p.errors;
  }
  all.finish(result);
  result.txn_p50_ms = percentile(txn, 0.50);
  result.events_per_commit = 1;
  return result;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct series {
  std::string name;
  std::vector<run_result> runs;

  run_result med() const {
    auto pick = [&](auto field) {
      std::vector<double> v;
      for (const auto& r : runs)
        v.push_back(r.*field);
      return median(v);
    };
    run_result m;
    m.events_per_s = pick(&run_result::events_per_s);
    m.p50_ms = pick(&run_result::p50_ms);
    m.p99_ms = pick(&run_result::p99_ms);
    m.max_ms = pick(&run_result::max_ms);
    m.txn_p50_ms = pick(&run_result::txn_p50_ms);
    m.events_per_commit = pick(&run_result::events_per_commit);
    m.first_second_per_s = pick(&run_result::first_second_per_s);
    m.last_second_per_s = pick(&run_result::last_second_per_s);
    for (const auto& r : runs)
      m.errors += r.errors;
    return m;
  }
};

json to_json(const run_result& r) {
  return json{{"events_per_s", r.events_per_s},     {"ack_p50_ms", r.p50_ms},
              {"ack_p99_ms", r.p99_ms},             {"ack_max_ms", r.max_ms},
              {"txn_p50_ms", r.txn_p50_ms},         {"events_per_commit", r.events_per_commit},
              {"first_second_events_per_s", r.first_second_per_s},
              {"last_second_events_per_s", r.last_second_per_s},
              {"errors", r.errors}};
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0)
      if (auto colon = line.find(':'); colon != std::string::npos)
        return line.substr(colon + 2);
  return "unknown";
}

void print_run(const std::string& name, size_t rep, const run_result& r) {
  std::printf("  %-10s run %zu: %9.0f events/s (first s %6.0f, last s %6.0f)  ack p50 %7.2f ms"
              "  p99 %7.2f ms",
              name.c_str(), rep + 1, r.events_per_s, r.first_second_per_s, r.last_second_per_s,
              r.p50_ms, r.p99_ms);
  if (name.starts_with("group"))
    std::printf("  %.1f events/commit", r.events_per_commit);
  else
    std::printf("  txn p50 %.2f ms", r.txn_p50_ms);
  if (r.errors)
    std::printf("  ERRORS %zu", r.errors);
  std::printf("\n");
  std::fflush(stdout);
}

} // namespace

int main(int argc, char** argv) {
  auto o = parse(argc, argv);
  std::mt19937_64 rng{42};
  try {
    bench_database bdb{o.database_url};
    auto sync_commit = bdb.setting("synchronous_commit");
    auto fsync = bdb.setting("fsync");
    auto server_version = bdb.setting("server_version");
    if (sync_commit != "on" || fsync != "on")
      die("the server runs with synchronous_commit=" + sync_commit + ", fsync=" + fsync
          + ": durable appends need both on");
    auto entities = make_entities(o.entities, o.payload_bytes, rng);
    std::printf("journal bench: %zu entities, %zu-byte payloads, %.0f s per run (+%.0f s warm-up), "
                "%zu runs each; PostgreSQL %s, synchronous_commit=%s, fsync=%s; %u cpus (%s)\n",
                o.entities, o.payload_bytes, std::chrono::duration<double>(o.duration).count(),
                std::chrono::duration<double>(o.warmup).count(), o.repeats,
                server_version.c_str(), sync_commit.c_str(), fsync.c_str(),
                std::thread::hardware_concurrency(), cpu_model().c_str());
    std::fflush(stdout);

    std::vector<series> all;
    if (o.run_group)
      for (auto n : o.writers)
        all.push_back({n == 1 ? "group" : "group-w" + std::to_string(n), {}});
    if (o.run_naive)
      for (auto n : o.naive_connections)
        all.push_back({"naive-" + std::to_string(n), {}});
    // Interleaved, so a noisy neighbour's burst hurts every configuration alike.
    for (size_t rep = 0; rep < o.repeats; ++rep)
      for (auto& s : all) {
        auto r = s.name == "group" ? run_group(o, bdb, entities, 1)
                 : s.name.starts_with("group-w")
                   ? run_group(o, bdb, entities, std::stoul(s.name.substr(7)))
                   : run_naive(o, bdb, entities, std::stoul(s.name.substr(s.name.find('-') + 1)));
        print_run(s.name, rep, r);
        s.runs.push_back(r);
      }

    std::printf("\nmedian of %zu runs:\n", o.repeats);
    std::printf("  %-10s %10s %12s %12s %12s %12s %14s\n", "config", "events/s", "first s/s",
                "last s/s", "ack p50 ms", "ack p99 ms", "events/commit");
    for (const auto& s : all) {
      auto m = s.med();
      std::printf("  %-10s %10.0f %12.0f %12.0f %12.2f %12.2f %14.1f\n", s.name.c_str(),
                  m.events_per_s, m.first_second_per_s, m.last_second_per_s, m.p50_ms, m.p99_ms,
                  m.events_per_commit);
    }
    json out;
    out["params"] = {{"entities", o.entities},
                     {"payload_bytes", o.payload_bytes},
                     {"duration_s", std::chrono::duration<double>(o.duration).count()},
                     {"warmup_s", std::chrono::duration<double>(o.warmup).count()},
                     {"repeats", o.repeats},
                     {"batch_max", o.batch_max},
                     {"batch_wait_us", o.batch_wait.count()},
                     {"writers", o.writers},
                     {"head_cache", o.head_cache ? json(*o.head_cache) : json("default")}};
    out["server"] = {{"version", server_version},
                     {"synchronous_commit", sync_commit},
                     {"fsync", fsync},
                     {"wal_sync_method", bdb.setting("wal_sync_method")}};
    out["machine"] = {{"cpus", std::thread::hardware_concurrency()}, {"cpu_model", cpu_model()}};
    json results = json::object();
    for (const auto& s : all) {
      json runs = json::array();
      for (const auto& r : s.runs)
        runs.push_back(to_json(r));
      results[s.name] = {{"runs", runs}, {"median", to_json(s.med())}};
    }
    out["results"] = results;
    if (o.run_group && o.run_naive) {
      // Medians of the same interleaved runs, so a noisy neighbour weighs on both sides.
      json ratios = json::object();
      std::printf("\n");
      auto groups = o.writers.size();
      for (size_t g = 0; g < groups; ++g)
        for (size_t i = groups; i < all.size(); ++i) {
          auto group = all[g].med().events_per_s;
          auto naive = all[i].med().events_per_s;
          auto ratio = naive > 0 ? group / naive : 0.0;
          ratios[all[g].name + "/" + all[i].name] = ratio;
          std::printf("  %-8s / %-10s = %.1fx\n", all[g].name.c_str(), all[i].name.c_str(),
                      ratio);
        }
      out["ratios"] = ratios;
    }
    size_t errors = 0;
    for (const auto& s : all)
      errors += s.med().errors;
    if (!o.json_out.empty()) {
      std::ofstream f(o.json_out);
      f << out.dump(2) << "\n";
      if (!f)
        die("could not write " + o.json_out);
    }
    if (errors) {
      std::fprintf(stderr, "pactum_journal_bench: %zu appends failed; the figures are not valid\n",
                   errors);
      return 1;
    }
  } catch (const std::exception& e) {
    std::cerr << "pactum_journal_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
