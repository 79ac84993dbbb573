// Durable contract operations per second, through a real pactumd over WebSocket.
//
// Each run creates a fresh database, starts the real `pactumd` binary (PACTUMD_BIN) on it with the
// embedded sandbox payment provider, and lets D driver threads (`--drivers`) each drive deals
// through the documented protocol, K at a time (`--inflight`: one brand, K creators, one
// WebSocket each), as fast as acknowledgements come:
// offer.make (brand), offer.accept (creator: the contract is created in the same transaction),
// contract.fund (brand), wait for the pushed contract.funded (the sandbox's signed webhook after
// its outcome delay), contract.deliver (creator), contract.approve (brand: released, creator
// paid, commission taken). Every acknowledgement means the command's events (and its ledger
// transfers) are committed in PostgreSQL. After each run the server is stopped and
// `pactumd --ledger-check` must be clean.
//
// Configurations (`--configs`), interleaved, `--repeats` times each, medians reported:
//   group — pactumd as shipped (group commit: appends queued during a transaction share the next)
//   naive — the same server with `--journal-batch-max 1`: one transaction per append
//   old   — "group" with another pactumd binary (`--old-bin`, e.g. a build of main), so that an
//           old and a new server are compared in the same run, alternating
// and the funding mode (`--mode escrow|authorize_capture`).
//
// The clients run on the same machine as the server (and PostgreSQL): their CPU counts against the
// figure, as it would for any single-machine load test. Figures: commands/s (acknowledged
// durable commands in the window), deals/s, ack latency p50/p99 (request sent -> ok received),
// and the funding round trip (fund sent -> contract.funded pushed); over the same window,
// pactumd's CPU seconds and the seconds its threads waited on a run queue (ready, no core free),
// the CPU seconds of its PostgreSQL backends, and per acknowledged command PostgreSQL's commits
// (this database), WAL fsyncs (the cluster) and statements (when the cluster preloads
// pg_stat_statements). `--server-cpu N` pins pactumd to CPU N.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pactum/sim/client.hpp"
#include "pactumd_process.hpp"
#include "test_database.hpp"

using namespace pactum::sim;
using clock_type = std::chrono::steady_clock;

namespace {

struct options {
  size_t drivers = 32;
  size_t inflight = 4;
  double duration_s = 10;
  double warmup_s = 2;
  size_t repeats = 3;
  std::vector<std::string> configs{"group", "naive"};
  std::string mode = "escrow";
  std::string json_out;
  std::string old_bin;  ///< the binary of config "old"
  int server_cpu = -1;  ///< pin pactumd (all its threads) to this CPU (-1: no pinning)
};

struct run_result {
  std::string config;
  double commands_per_s = 0;
  double deals_per_s = 0;
  double ack_p50_ms = 0;
  double ack_p99_ms = 0;
  double fund_p50_ms = 0;
  double fund_p99_ms = 0;
  size_t commands = 0;
  size_t errors = 0;
  int ledger_check = -1;
  int cc1plus_max = 0;
  int64_t ledger_seq_scans = 0;     ///< sequential scans of ledger_accounts during the run
  int64_t ledger_seq_rows = 0;      ///< rows they read
  double server_cpu_s = 0;          ///< pactumd's user + system CPU over the window
  double server_wait_s = 0;         ///< time pactumd's threads were ready but not running
  double pg_cpu_s = 0;              ///< CPU of the server's PostgreSQL backends over the window
  double commits_per_cmd = 0;       ///< PostgreSQL commits (this database) per acknowledged command
  double wal_syncs_per_cmd = 0;     ///< WAL fsyncs (whole cluster) per acknowledged command
  double statements_per_cmd = -1;   ///< statements (pg_stat_statements, if loaded) per command
};

double percentile(std::vector<double> v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

/// CPU seconds (user + system) process `pid` has used so far, 0 if unreadable.
double process_cpu_s(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(f, line);
  auto close = line.rfind(')');
  if (close == std::string::npos)
    return 0;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) { // fields 14 and 15 (1-based) are utime, stime
    if (i == 14)
      utime = std::stoull(field);
    else if (i == 15)
      stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

/// Seconds all threads of `pid` have waited on a run queue (ready but not running) so far, from
/// /proc/PID/task/*/schedstat (threads that ended are not counted).
double process_runqueue_wait_s(pid_t pid) {
  double total = 0;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream f(task.path() / "schedstat");
    unsigned long long run = 0, wait = 0;
    if (f >> run >> wait)
      total += static_cast<double>(wait) / 1e9;
  }
  return total;
}

/// Pins every thread of `pid` to `cpu` (threads started later inherit it from their creator).
void pin_process(pid_t pid, int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task"))
    ::sched_setaffinity(static_cast<pid_t>(std::stoi(task.path().filename().string())), sizeof set, &set);
}

/// Cluster-wide and per-database PostgreSQL counters, read over a superuser connection.
struct pg_counters {
  double backend_cpu_s = 0; ///< CPU of this database's server processes (backends) so far
  double commits = 0;
  double wal_syncs = 0;
  double statements = -1; ///< -1: pg_stat_statements not loaded
};

pg_counters read_pg_counters(const std::string& url) {
  pg_counters c;
  pqxx::connection conn{url};
  pqxx::nontransaction tx{conn};
  tx.exec("select pg_stat_clear_snapshot()");
  c.commits = tx.exec1("select xact_commit from pg_stat_database where datname = current_database()")[0].as<double>();
  c.wal_syncs = tx.exec1("select wal_sync from pg_stat_wal")[0].as<double>();
  // The server's connections (journal writer, pool, sandbox, audit) live through the run; the
  // cluster's shared processes (WAL writer, checkpointer) are not counted.
  for (const auto& row : tx.exec("select pid from pg_stat_activity where datname = current_database()"
                                 " and pid <> pg_backend_pid()"))
    c.backend_cpu_s += process_cpu_s(row[0].as<pid_t>());
  if (tx.exec1("select count(*) from pg_extension where extname = 'pg_stat_statements'")[0].as<int>() > 0)
    c.statements = tx.exec1("select coalesce(sum(calls), 0) from pg_stat_statements s join pg_database d"
                            " on d.oid = s.dbid where d.datname = current_database()")[0].as<double>();
  return c;
}

int count_compilers() {
  int n = 0;
  if (FILE* f = ::popen("pgrep -c -x cc1plus", "r")) {
    if (std::fscanf(f, "%d", &n) != 1)
      n = 0;
    ::pclose(f);
  }
  return n;
}

/// What all drivers share during one run.
struct shared_state {
  clock_type::time_point start;
  clock_type::time_point window_begin;
  clock_type::time_point window_end;
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<double> acks_ms;  ///< in the window
  std::vector<double> funds_ms; ///< in the window
  size_t commands = 0;          ///< acknowledged in the window
  size_t deals = 0;             ///< released in the window
  std::atomic<size_t> errors{0};
  std::string first_error;
};

bool in_window(const shared_state& s, clock_type::time_point t) {
  return t >= s.window_begin && t < s.window_end;
}

/// One driver: a brand and `k` creators, one conversation each (a side has one pending offer per
/// conversation), `k` deals at a time in lockstep: every step sends its k requests, then waits
/// for all k replies.
void drive(const endpoint& ep, const account& brand, const std::vector<account>& creators,
           const std::string& card, shared_state& s, size_t driver) {
  try {
    ws_client b{ep, brand.token};
    std::vector<std::unique_ptr<ws_client>> cs;
    std::vector<json> convs;
    for (auto& creator : creators) {
      cs.push_back(std::make_unique<ws_client>(ep, creator.token));
      convs.push_back(b.request(json{{"type", "conversation.open"}, {"with", creator.id}})["conversation"]["id"]);
    }
    const size_t k = creators.size();
    uint64_t next_id = 0;
    uint64_t deal_no = 0;
    std::vector<double> acks;
    std::vector<double> funds;
    size_t commands = 0;
    size_t deals = 0;
    // Sends each message on its client, then waits for every reply: the replies, in order.
    auto step = [&](std::vector<std::pair<ws_client*, json>> msgs) {
      std::vector<std::string> ids;
      auto sent = clock_type::now();
      for (auto& [client, m] : msgs) {
        ids.push_back("d" + std::to_string(driver) + "-" + std::to_string(++next_id));
        m["id"] = ids.back();
        client->send(m);
      }
      std::vector<json> replies;
      for (size_t i = 0; i < msgs.size(); ++i) {
        auto r = msgs[i].first->wait_reply(ids[i], std::chrono::seconds(30));
        auto now = clock_type::now();
        if (!r || (*r)["type"] != "ok") {
          ++s.errors;
          std::lock_guard lock{s.mu};
          if (s.first_error.empty())
            s.first_error = r ? r->dump() : "timeout waiting for " + ids[i];
          throw std::runtime_error("refused");
        }
        if (in_window(s, now)) {
          acks.push_back(std::chrono::duration<double, std::milli>(now - sent).count());
          ++commands;
        }
        replies.push_back(std::move(*r));
      }
      return replies;
    };
    while (!s.stop.load()) {
      std::vector<std::pair<ws_client*, json>> offers;
      for (size_t i = 0; i < k; ++i)
        offers.emplace_back(&b, json{{"type", "offer.make"},
                                     {"conversation", convs[i]},
                                     {"client_id", "o" + std::to_string(++deal_no)},
                                     {"terms", json{{"amount", 10'000},
                                                    {"currency", "USD"},
                                                    {"deliverables", json::array({json{{"type", "tiktok_duet"}, {"count", 1}}})},
                                                    {"delivery_days", 7},
                                                    {"revision_rounds", 1}}}});
      auto made = step(std::move(offers));
      std::vector<std::pair<ws_client*, json>> accepts;
      for (size_t i = 0; i < k; ++i)
        accepts.emplace_back(cs[i].get(), json{{"type", "offer.accept"}, {"conversation", convs[i]},
                                               {"offer", made[i]["seq"]}});
      auto accepted = step(std::move(accepts));
      std::vector<std::string> contracts;
      std::vector<std::pair<ws_client*, json>> fund;
      for (auto& a : accepted) {
        contracts.push_back(a["contract"].get<std::string>());
        fund.emplace_back(&b, json{{"type", "contract.fund"}, {"contract", contracts.back()}, {"key", "f"},
                                   {"payment_method", card}});
      }
      auto fund_sent = clock_type::now();
      step(std::move(fund));
      // The funding outcome (the sandbox's webhook) is pushed to both parties; the brand waits.
      std::map<std::string, bool> pending;
      for (auto& id : contracts)
        pending["contract:" + id] = true;
      auto deadline = clock_type::now() + std::chrono::seconds(30);
      while (!pending.empty() && clock_type::now() < deadline) {
        auto ev = b.next_event(std::chrono::seconds(1));
        if (!ev)
          continue;
        auto t = (*ev)["event"].value("type", std::string{});
        auto stream = ev->value("stream", std::string{});
        if (!pending.count(stream))
          continue;
        if (t == "contract.funding_failed")
          throw std::runtime_error("funding failed: " + ev->dump());
        if (t != "contract.funded")
          continue;
        pending.erase(stream);
        auto now = clock_type::now();
        if (in_window(s, now))
          funds.push_back(std::chrono::duration<double, std::milli>(now - fund_sent).count());
      }
      if (!pending.empty())
        throw std::runtime_error("contract.funded never arrived for " + pending.begin()->first);
      std::vector<std::pair<ws_client*, json>> deliver;
      std::vector<std::pair<ws_client*, json>> approve;
      for (size_t i = 0; i < k; ++i) {
        deliver.emplace_back(cs[i].get(), json{{"type", "contract.deliver"}, {"contract", contracts[i]}, {"key", "d"},
                                               {"items", json::array({json{{"url", "https://tiktok.example/v/1"}}})}});
        approve.emplace_back(&b, json{{"type", "contract.approve"}, {"contract", contracts[i]}, {"key", "a"}});
      }
      step(std::move(deliver));
      step(std::move(approve));
      if (in_window(s, clock_type::now()))
        deals += k;
      // Drop the pushes of finished deals so that the clients' queues stay small.
      while (b.next_event(std::chrono::milliseconds(0))) {}
      for (auto& c : cs)
        while (c->next_event(std::chrono::milliseconds(0))) {}
    }
    std::lock_guard lock{s.mu};
    s.acks_ms.insert(s.acks_ms.end(), acks.begin(), acks.end());
    s.funds_ms.insert(s.funds_ms.end(), funds.begin(), funds.end());
    s.commands += commands;
    s.deals += deals;
  } catch (const std::exception& e) {
    ++s.errors;
    std::lock_guard lock{s.mu};
    if (s.first_error.empty())
      s.first_error = e.what();
  }
}

run_result run_once(const options& opt, const std::string& config) {
  pactum::test_support::test_database db;
  std::vector<std::string> args{"--log-level", "warn", "--timer-sweep-ms", "1000",
                                "--funding-mode-default", opt.mode,
                                "--max-pending-offers", "100"};
  if (config == "naive")
    args.insert(args.end(), {"--journal-batch-max", "1"});
  else if (config != "group" && config != "old")
    throw std::runtime_error("unknown config " + config);
  // pg_stat_statements, when the cluster preloads it, counts the statements of this database.
  {
    pqxx::connection conn{db.url()};
    pqxx::nontransaction tx{conn};
    if (tx.exec1("select count(*) from pg_available_extensions where name = 'pg_stat_statements'"
                 " and current_setting('shared_preload_libraries') like '%pg_stat_statements%'")[0]
          .as<int>()
        > 0)
      tx.exec0("create extension if not exists pg_stat_statements");
  }
  static const std::string new_bin = std::getenv("PACTUMD_BIN") ? std::getenv("PACTUMD_BIN") : "";
  ::setenv("PACTUMD_BIN", config == "old" ? opt.old_bin.c_str() : new_bin.c_str(), 1);
  std::optional<pactum::test_support::pactumd_process> srv;
  srv.emplace(db.url(), args);
  if (opt.server_cpu >= 0)
    pin_process(srv->pid(), opt.server_cpu);
  endpoint ep{"127.0.0.1", srv->port()};
  std::vector<std::pair<account, std::vector<account>>> parties;
  for (size_t i = 0; i < opt.drivers; ++i) {
    parties.emplace_back(make_account(ep, "brand", "Brand" + std::to_string(i)), std::vector<account>{});
    for (size_t j = 0; j < opt.inflight; ++j)
      parties.back().second.push_back(
        make_account(ep, "creator", "Creator" + std::to_string(i) + "x" + std::to_string(j)));
  }
  shared_state s;
  s.start = clock_type::now();
  s.window_begin = s.start + std::chrono::milliseconds(static_cast<int64_t>(opt.warmup_s * 1000));
  s.window_end = s.window_begin + std::chrono::milliseconds(static_cast<int64_t>(opt.duration_s * 1000));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < opt.drivers; ++i)
    threads.emplace_back([&, i] {
      drive(ep, parties[i].first, parties[i].second, "4242424242424242", s, i);
    });
  int compilers = 0;
  std::this_thread::sleep_until(s.window_begin);
  auto cpu_begin = process_cpu_s(srv->pid());
  auto wait_begin = process_runqueue_wait_s(srv->pid());
  auto pg_begin = read_pg_counters(db.url());
  while (clock_type::now() < s.window_end) {
    compilers = std::max(compilers, count_compilers());
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  auto cpu_end = process_cpu_s(srv->pid());
  auto wait_end = process_runqueue_wait_s(srv->pid());
  auto pg_end = read_pg_counters(db.url());
  s.stop = true;
  for (auto& t : threads)
    t.join();
  srv->stop(); // graceful: in-flight deals stop wherever they are; the ledger must hold anyway
  srv.reset();
  run_result r;
  r.config = config;
  double window = opt.duration_s;
  r.commands = s.commands;
  r.commands_per_s = static_cast<double>(s.commands) / window;
  r.deals_per_s = static_cast<double>(s.deals) / window;
  r.ack_p50_ms = percentile(s.acks_ms, 0.50);
  r.ack_p99_ms = percentile(s.acks_ms, 0.99);
  r.fund_p50_ms = percentile(s.funds_ms, 0.50);
  r.fund_p99_ms = percentile(s.funds_ms, 0.99);
  r.errors = s.errors.load();
  r.cc1plus_max = compilers;
  r.server_cpu_s = cpu_end - cpu_begin;
  r.server_wait_s = wait_end - wait_begin;
  r.pg_cpu_s = pg_end.backend_cpu_s - pg_begin.backend_cpu_s;
  if (s.commands > 0) {
    auto n = static_cast<double>(s.commands);
    r.commits_per_cmd = (pg_end.commits - pg_begin.commits) / n;
    r.wal_syncs_per_cmd = (pg_end.wal_syncs - pg_begin.wal_syncs) / n;
    if (pg_begin.statements >= 0)
      r.statements_per_cmd = (pg_end.statements - pg_begin.statements) / n;
  }
  if (!s.first_error.empty())
    std::cerr << "  first error (" << config << "): " << s.first_error << "\n";
  {
    // How the writer found the ledger accounts it locks (index or whole-table scans), read before
    // the ledger check, which scans on purpose. The server has exited, so its statistics are in.
    pqxx::connection conn{db.url()};
    pqxx::nontransaction tx{conn};
    auto row = tx.exec1("select coalesce(seq_scan, 0), coalesce(seq_tup_read, 0) from pg_stat_user_tables"
                        " where relname = 'ledger_accounts'");
    r.ledger_seq_scans = row[0].as<int64_t>();
    r.ledger_seq_rows = row[1].as<int64_t>();
  }
  std::string cmd = std::string{std::getenv("PACTUMD_BIN")} + " --database-url '" + db.url()
                    + "' --log-level warn --ledger-check";
  int rc = std::system(cmd.c_str());
  r.ledger_check = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return r;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= s.size()) {
    auto j = s.find(',', i);
    if (j == std::string::npos)
      j = s.size();
    if (j > i)
      out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

} // namespace

int main(int argc, char** argv) {
  options opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--drivers") opt.drivers = std::stoul(next());
    else if (a == "--inflight") opt.inflight = std::stoul(next());
    else if (a == "--duration") opt.duration_s = std::stod(next());
    else if (a == "--warmup") opt.warmup_s = std::stod(next());
    else if (a == "--repeats") opt.repeats = std::stoul(next());
    else if (a == "--configs") opt.configs = split(next());
    else if (a == "--mode") opt.mode = next();
    else if (a == "--json-out") opt.json_out = next();
    else if (a == "--old-bin") opt.old_bin = next();
    else if (a == "--server-cpu") opt.server_cpu = std::stoi(next());
    else {
      std::cerr << "usage: pactum_contract_bench [--drivers N] [--inflight K] [--duration S] [--warmup S]"
                   " [--repeats N] [--configs group,naive,old] [--mode escrow|authorize_capture] [--json-out F]"
                   " [--old-bin PACTUMD] [--server-cpu N]\n"
                   "needs PACTUMD_BIN and PACTUM_TEST_DATABASE_URL (a superuser URL)\n";
      return 2;
    }
  }
  if (opt.drivers == 0 || opt.inflight == 0 || opt.inflight > 50 || opt.duration_s <= 0) {
    std::cerr << "--drivers >= 1, --inflight 1..50, --duration > 0\n";
    return 2;
  }
  if (std::find(opt.configs.begin(), opt.configs.end(), "old") != opt.configs.end() && opt.old_bin.empty()) {
    std::cerr << "config old needs --old-bin\n";
    return 2;
  }
  std::cout << "contract bench: " << opt.drivers << " drivers x " << opt.inflight
            << " deals in flight, mode " << opt.mode << ", " << opt.duration_s << " s after "
            << opt.warmup_s << " s warm-up, " << opt.repeats << " repeats\n";
  std::map<std::string, std::vector<run_result>> runs;
  nlohmann::json all = nlohmann::json::array();
  bool clean = true;
  for (size_t rep = 0; rep < opt.repeats; ++rep)
    for (auto& config : opt.configs) {
      auto r = run_once(opt, config);
      std::printf("  run %zu %-6s %9.0f cmd/s %7.0f deals/s  ack p50 %6.1f ms p99 %6.1f ms  "
                  "fund p50 %6.1f ms p99 %6.1f ms  errors %zu  ledger-check %s  cc1plus<=%d  "
                  "ledger_accounts seq scans %lld (%lld rows)  server cpu %.2f s (%.0f%%) run-queue wait %.2f s  postgres backends cpu %.2f s  per command: "
                  "%.2f commits %.2f wal syncs %.1f statements\n",
                  rep + 1, config.c_str(), r.commands_per_s, r.deals_per_s, r.ack_p50_ms,
                  r.ack_p99_ms, r.fund_p50_ms, r.fund_p99_ms, r.errors,
                  r.ledger_check == 0 ? "clean" : "BROKEN", r.cc1plus_max,
                  static_cast<long long>(r.ledger_seq_scans), static_cast<long long>(r.ledger_seq_rows),
                  r.server_cpu_s, 100 * r.server_cpu_s / opt.duration_s, r.server_wait_s, r.pg_cpu_s, r.commits_per_cmd,
                  r.wal_syncs_per_cmd, r.statements_per_cmd);
      std::fflush(stdout);
      clean = clean && r.ledger_check == 0 && r.errors == 0;
      all.push_back({{"repeat", rep + 1}, {"config", r.config}, {"commands_per_s", r.commands_per_s},
                     {"deals_per_s", r.deals_per_s}, {"ack_p50_ms", r.ack_p50_ms},
                     {"ack_p99_ms", r.ack_p99_ms}, {"fund_p50_ms", r.fund_p50_ms},
                     {"fund_p99_ms", r.fund_p99_ms}, {"errors", r.errors},
                     {"ledger_check", r.ledger_check}, {"cc1plus_max", r.cc1plus_max},
                     {"ledger_seq_scans", r.ledger_seq_scans}, {"ledger_seq_rows", r.ledger_seq_rows},
                     {"server_cpu_s", r.server_cpu_s}, {"server_wait_s", r.server_wait_s}, {"pg_cpu_s", r.pg_cpu_s},
                     {"commits_per_cmd", r.commits_per_cmd},
                     {"wal_syncs_per_cmd", r.wal_syncs_per_cmd}, {"statements_per_cmd", r.statements_per_cmd}});
      runs[config].push_back(r);
    }
  nlohmann::json medians = nlohmann::json::object();
  std::printf("medians of %zu:\n", opt.repeats);
  for (auto& [config, rs] : runs) {
    auto med = [&](auto field) {
      std::vector<double> v;
      for (auto& r : rs)
        v.push_back(r.*field);
      return percentile(v, 0.5);
    };
    double cps = med(&run_result::commands_per_s);
    std::printf("  %-6s %9.0f cmd/s %7.0f deals/s  ack p50 %6.1f ms p99 %6.1f ms  fund p50 %6.1f ms p99 %6.1f ms"
                "  server cpu %.2f s, run-queue wait %.2f s, postgres backends cpu %.2f s\n",
                config.c_str(), cps, med(&run_result::deals_per_s), med(&run_result::ack_p50_ms),
                med(&run_result::ack_p99_ms), med(&run_result::fund_p50_ms), med(&run_result::fund_p99_ms),
                med(&run_result::server_cpu_s), med(&run_result::server_wait_s), med(&run_result::pg_cpu_s));
    medians[config] = {{"commands_per_s", cps}, {"deals_per_s", med(&run_result::deals_per_s)},
                       {"ack_p50_ms", med(&run_result::ack_p50_ms)}, {"ack_p99_ms", med(&run_result::ack_p99_ms)},
                       {"fund_p50_ms", med(&run_result::fund_p50_ms)}, {"fund_p99_ms", med(&run_result::fund_p99_ms)},
                       {"server_cpu_s", med(&run_result::server_cpu_s)}, {"server_wait_s", med(&run_result::server_wait_s)},
                       {"pg_cpu_s", med(&run_result::pg_cpu_s)}};
  }
  if (medians.contains("group") && medians.contains("naive")
      && medians["naive"]["commands_per_s"].get<double>() > 0)
    std::printf("ratio group / naive: %.2fx\n", medians["group"]["commands_per_s"].get<double>()
                                                   / medians["naive"]["commands_per_s"].get<double>());
  if (medians.contains("group") && medians.contains("old")
      && medians["old"]["commands_per_s"].get<double>() > 0)
    std::printf("ratio group (new) / old: %.2fx\n", medians["group"]["commands_per_s"].get<double>()
                                                         / medians["old"]["commands_per_s"].get<double>());
  if (!opt.json_out.empty()) {
    std::ofstream out(opt.json_out);
    out << nlohmann::json{{"drivers", opt.drivers}, {"inflight", opt.inflight}, {"mode", opt.mode},
                          {"duration_s", opt.duration_s}, {"runs", all}, {"medians", medians}}
             .dump(2)
        << "\n";
  }
  return clean ? 0 : 1;
}
