// Durable pledges per second on ONE hot pledge campaign, through a real pactumd, against a
// baseline measured in the same run: durable single-row inserts into the same database.
//
// Setup: a fresh database, the real `pactumd` (PACTUMD_BIN) with the embedded sandbox provider,
// one creator and `--backers` backer accounts (registered once). Each repeat creates and launches
// a fresh campaign (one tier with exactly `--backers` places), then `--clients` threads pledge for
// every backer once, as fast as answers come (REST `POST /api/v1/pledges/{id}/pledge`, a new
// connection per request as `pactum::sim::http_call` does, bearer auth per request). A `200`
// means the pledge's event (its place in the tier) is committed in PostgreSQL; the card
// authorization follows asynchronously and is not part of the figure. After the last pledge the
// campaign's view must show exactly `--backers` pledges (no oversell, none lost).
//
// Baseline (same run, same database, same client count): each thread inserts rows into a table
// with one transaction per row (autocommit), as many rows as pledges: the cost of one durable
// commit from one client, without HTTP, authentication or an actor.
//
// Figures: pledges/s (pledges / wall time of the burst), ack latency p50/p99; inserts/s and
// p50/p99 for the baseline. Medians over `--repeats`.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "pactum/sim/client.hpp"
#include "pactumd_process.hpp"
#include "test_database.hpp"

using namespace pactum::sim;
using clock_type = std::chrono::steady_clock;

namespace {

struct options {
  size_t backers = 2000;
  size_t clients = 32;
  size_t repeats = 3;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

int64_t epoch_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

double median(std::vector<double> v) {
  return percentile(std::move(v), 0.5);
}

struct figures {
  double per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  size_t errors = 0;
};

/// Runs `work(i)` for i in [0, n) on `clients` threads; its latencies and the wall time.
template <class Work>
figures burst(size_t n, size_t clients, Work work) {
  std::atomic<size_t> next{0};
  std::atomic<size_t> errors{0};
  std::mutex mu;
  std::vector<double> lat;
  auto start = clock_type::now();
  std::vector<std::thread> threads;
  for (size_t t = 0; t < clients; ++t)
    threads.emplace_back([&, t] {
      std::vector<double> mine;
      auto state = work.make(t);
      for (size_t i; (i = next++) < n;) {
        auto sent = clock_type::now();
        if (!work.run(state, i))
          ++errors;
        mine.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - sent).count());
      }
      std::lock_guard lock{mu};
      lat.insert(lat.end(), mine.begin(), mine.end());
    });
  for (auto& th : threads)
    th.join();
  double secs = std::chrono::duration<double>(clock_type::now() - start).count();
  return figures{static_cast<double>(n) / secs, percentile(lat, 0.5), percentile(lat, 0.99), errors.load()};
}

} // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    auto v = static_cast<size_t>(std::stoul(argv[i + 1]));
    if (a == "--backers")
      o.backers = v;
    else if (a == "--clients")
      o.clients = v;
    else if (a == "--repeats")
      o.repeats = v;
    else {
      std::cerr << "usage: pactum_pledge_bench [--backers N] [--clients N] [--repeats N]\n";
      return 2;
    }
  }
  pactum::test_support::test_database db;
  pactum::test_support::pactumd_process server{db.url(), {"--timer-sweep-ms", "1000"}};
  endpoint ep{"127.0.0.1", server.port()};
  auto creator = make_account(ep, "creator", "BenchCreator");
  std::vector<account> backers(o.backers);
  {
    std::atomic<size_t> next{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
      threads.emplace_back([&] {
        for (size_t i; (i = next++) < backers.size();)
          backers[i] = make_account(ep, i % 2 ? "brand" : "creator", "Backer");
      });
    for (auto& t : threads)
      t.join();
  }
  {
    pqxx::connection c{db.url()};
    pqxx::work tx{c};
    tx.exec0("create table bench_rows (id bigserial primary key, campaign text not null, backer text not null,"
             " amount bigint not null, at timestamptz not null default now())");
    tx.commit();
  }
  std::printf("backers %zu, clients %zu, repeats %zu\n", o.backers, o.clients, o.repeats);
  std::vector<double> p_rate, p50, p99, b_rate, b50, b99;
  bool exact = true;
  for (size_t r = 0; r < o.repeats; ++r) {
    auto made = http_call(ep, "POST", "/api/v1/pledges",
                          json{{"key", "bench-" + std::to_string(r)},
                               {"title", "Hot campaign"},
                               {"goal", 1'000'000'000},
                               {"currency", "EUR"},
                               {"end_at", epoch_ms() + 3'600'000},
                               {"tiers", json::array({json{{"title", "T"}, {"price", 1'000},
                                                           {"quantity", static_cast<int64_t>(o.backers)}}})}}
                            .dump(),
                          creator.token);
    auto id = made.json_body().value("campaign", std::string{});
    http_call(ep, "POST", "/api/v1/pledges/" + id + "/launch", json{{"key", "l"}}.dump(), creator.token);
    struct pledge_work {
      const endpoint& ep;
      const std::vector<account>& backers;
      std::string id;
      int make(size_t) const { return 0; }
      bool run(int, size_t i) const {
        auto res = http_call(ep, "POST", "/api/v1/pledges/" + id + "/pledge",
                             json{{"key", "k"}, {"tier", 0}, {"payment_method", "4242424242424242"}}.dump(),
                             backers[i].token);
        return res.status == 200;
      }
    };
    auto f = burst(o.backers, o.clients, pledge_work{ep, backers, id});
    auto view = http_call(ep, "GET", "/api/v1/pledges/" + id, "", creator.token).json_body();
    auto taken = view["tiers"][0]["taken"].get<int64_t>();
    if (taken != static_cast<int64_t>(o.backers) || f.errors)
      exact = false;
    std::printf("run %zu pledges:  %8.1f /s  p50 %6.2f ms  p99 %6.2f ms  errors %zu  taken %lld\n", r, f.per_s,
                f.p50_ms, f.p99_ms, f.errors, static_cast<long long>(taken));
    p_rate.push_back(f.per_s);
    p50.push_back(f.p50_ms);
    p99.push_back(f.p99_ms);

    struct insert_work {
      std::string url;
      std::string id;
      std::unique_ptr<pqxx::connection> make(size_t) const { return std::make_unique<pqxx::connection>(url); }
      bool run(std::unique_ptr<pqxx::connection>& c, size_t i) const {
        pqxx::nontransaction tx{*c}; // autocommit: one durable commit per row
        tx.exec_params0("insert into bench_rows (campaign, backer, amount) values ($1, $2, 1000)", id,
                        std::to_string(i));
        return true;
      }
    };
    auto b = burst(o.backers, o.clients, insert_work{db.url(), id});
    std::printf("run %zu inserts:  %8.1f /s  p50 %6.2f ms  p99 %6.2f ms\n", r, b.per_s, b.p50_ms, b.p99_ms);
    b_rate.push_back(b.per_s);
    b50.push_back(b.p50_ms);
    b99.push_back(b.p99_ms);
  }
  std::printf("\nmedian of %zu: pledges %.1f/s (p50 %.2f ms, p99 %.2f ms); single-row inserts %.1f/s "
              "(p50 %.2f ms, p99 %.2f ms); ratio %.2f\n",
              o.repeats, median(p_rate), median(p50), median(p99), median(b_rate), median(b50), median(b99),
              median(p_rate) / std::max(median(b_rate), 1e-9));
  std::printf("every pledge accepted and counted exactly once: %s\n", exact ? "yes" : "NO");
  server.stop();
  std::string cmd = std::string{std::getenv("PACTUMD_BIN")} + " --database-url '" + db.url()
                    + "' --log-level warn --ledger-check";
  int rc = std::system(cmd.c_str());
  std::printf("ledger-check: %s\n", rc == 0 ? "clean" : "VIOLATIONS");
  return exact && rc == 0 ? 0 : 1;
}
