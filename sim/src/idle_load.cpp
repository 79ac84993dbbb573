// `pactum-sim idle`: authenticated WebSocket sessions held open and idle, and what they cost the
// server in resident memory. The server's RSS is read directly from /proc/<pid>/status (VmRSS) by
// detail::rss_kib, before the sessions connect, once they are all connected, and at the end of the
// hold; bytes per idle session = (RSS at the end of the hold - RSS before) / sessions held.

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <deque>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include <boost/asio.hpp>

#include "async_common.hpp"
#include "pactum/sim/deal_load.hpp"
#include "pactum/sim/histogram.hpp"

namespace pactum::sim {

namespace net = boost::asio;
using namespace detail;

namespace {

struct idle_worker {
  net::io_context ioc{1};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::thread thread;
  std::vector<std::shared_ptr<ws_session>> sessions;
  std::vector<int64_t> started;
  std::deque<size_t> queue;
  int connecting = 0;
  bool holding = false; ///< a session that ends now counts as dropped
  bool closing = false;
  log_histogram connect_latency;
  error_counts errors;
  int64_t dropped = 0;
};

} // namespace

nlohmann::json run_idle_load(const idle_load_config& cfg) {
  if (cfg.sessions < 1 || cfg.sessions_per_user < 1 || cfg.hold_seconds < 0)
    throw std::runtime_error("bad configuration");
  auto say = [&](const std::string& line) {
    if (cfg.progress)
      *cfg.progress << line << std::endl;
  };
  auto since = [](int64_t t) { return static_cast<double>(now_ns() - t) / 1e9; };
  auto t0 = now_ns();
  int users = (cfg.sessions + cfg.sessions_per_user - 1) / cfg.sessions_per_user;
  std::vector<account> accounts(static_cast<size_t>(users));
  {
    std::atomic<int> next{0};
    std::mutex mtx;
    std::string failure;
    std::vector<std::thread> pool;
    for (int t = 0; t < std::max(1, std::min(cfg.setup_threads, users)); ++t)
      pool.emplace_back([&] {
        for (int i = next++; i < users; i = next++) {
          try {
            accounts[static_cast<size_t>(i)] =
              make_account(cfg.ep, i % 2 ? "creator" : "brand", "idle-" + std::to_string(i));
          } catch (const std::exception& ex) {
            std::lock_guard<std::mutex> g{mtx};
            failure = ex.what();
          }
        }
      });
    for (auto& t : pool)
      t.join();
    if (!failure.empty())
      throw std::runtime_error("setup: creating accounts failed: " + failure);
  }
  auto accounts_s = since(t0);
  say("setup: " + std::to_string(users) + " accounts in " + std::to_string(accounts_s) + " s");

  int nthreads = std::max(1, cfg.threads);
  std::vector<std::unique_ptr<idle_worker>> workers;
  for (int t = 0; t < nthreads; ++t) {
    auto w = std::make_unique<idle_worker>();
    w->work.emplace(net::make_work_guard(w->ioc));
    workers.push_back(std::move(w));
  }
  std::atomic<int64_t> connected{0}, failed{0}, open_now{0};
  for (int i = 0; i < cfg.sessions; ++i) {
    auto& w = *workers[static_cast<size_t>(i % nthreads)];
    w.sessions.push_back(ws_session::make(w.ioc, cfg.ep, accounts[static_cast<size_t>(i / cfg.sessions_per_user)].token));
    w.started.push_back(0);
    w.queue.push_back(w.sessions.size() - 1);
  }
  // Connects at most connect_parallelism sessions of a worker at a time.
  std::function<void(idle_worker&)> pump = [&](idle_worker& w) {
    while (!w.closing && w.connecting < std::max(1, cfg.connect_parallelism) && !w.queue.empty()) {
      auto k = w.queue.front();
      w.queue.pop_front();
      ++w.connecting;
      w.started[k] = now_ns();
      auto& s = w.sessions[k];
      s->on_closed([&w, &open_now](const std::string& why) {
        --open_now;
        if (!w.closing) {
          ++w.dropped;
          ++w.errors["disconnected: " + why];
        }
      });
      s->connect([&, k, wp = &w](const std::string& err) {
        --wp->connecting;
        if (err.empty()) {
          wp->connect_latency.record(now_ns() - wp->started[k]);
          ++connected;
          ++open_now;
        } else {
          ++wp->errors[err];
          ++failed;
        }
        pump(*wp);
      });
    }
  };

  auto rss_before = rss_kib(cfg.server_pid);
  for (auto& w : workers)
    w->thread = std::thread([wp = w.get()] { wp->ioc.run(); });
  auto t1 = now_ns();
  for (auto& w : workers)
    net::post(w->ioc, [&pump, wp = w.get()] { pump(*wp); });
  auto deadline = now_ns() + static_cast<int64_t>((60 + cfg.sessions / 100.0) * 1e9);
  while (connected.load() + failed.load() < cfg.sessions && now_ns() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto connect_s = since(t1);
  say("connect: " + std::to_string(connected.load()) + " sessions open, " + std::to_string(failed.load())
      + " failed, in " + std::to_string(connect_s) + " s");
  auto rss_connected = rss_kib(cfg.server_pid);
  auto cpu0 = cpu_seconds();
  std::this_thread::sleep_for(std::chrono::duration<double>(cfg.hold_seconds));
  auto held = open_now.load();
  auto rss_after = rss_kib(cfg.server_pid);
  auto cpu = cpu_seconds() - cpu0;
  say("hold: " + std::to_string(held) + " sessions still open after " + std::to_string(cfg.hold_seconds) + " s");

  std::atomic<int> closed{0};
  for (auto& w : workers)
    net::post(w->ioc, [&closed, wp = w.get()] {
      wp->closing = true;
      wp->queue.clear();
      for (auto& s : wp->sessions)
        s->close(false);
      ++closed;
    });
  while (closed.load() < nthreads)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  for (auto& w : workers) {
    w->work.reset();
    w->ioc.stop();
  }
  for (auto& w : workers)
    w->thread.join();

  log_histogram lat;
  error_counts errors;
  int64_t dropped = 0;
  for (auto& w : workers) {
    lat.merge(w->connect_latency);
    for (auto& [k, v] : w->errors)
      errors[k] += v;
    dropped += w->dropped;
  }
  nlohmann::json report{
    {"scenario", "idle"},
    {"sessions", cfg.sessions},
    {"sessions_per_user", cfg.sessions_per_user},
    {"accounts", users},
    {"threads", nthreads},
    {"hold_seconds", cfg.hold_seconds},
    {"accounts_seconds", accounts_s},
    {"connect_seconds", connect_s},
    {"connected", connected.load()},
    {"connect_failures", failed.load()},
    {"dropped_during_hold", dropped},
    {"held", held},
    {"operations", {{"connect", lat.summary_ms()}}},
    {"errors", errors},
    {"server_pid", cfg.server_pid},
    {"generator_cpu_seconds_during_hold", cpu},
  };
  report["operations"]["connect"]["throughput_per_s"] = connect_s > 0 ? static_cast<double>(connected.load()) / connect_s : 0.0;
  if (rss_before >= 0 && rss_after >= 0) {
    report["server_rss_kib"] = {{"before", rss_before}, {"connected", rss_connected}, {"after_hold", rss_after}};
    report["bytes_per_session"] =
      held > 0 ? static_cast<double>(rss_after - rss_before) * 1024.0 / static_cast<double>(held) : 0.0;
  } else {
    report["server_rss_kib"] = nullptr; // no --server-pid (or not readable): not measured
    report["bytes_per_session"] = nullptr;
  }
  report["passed"] = idle_load_passed(report);
  return report;
}

bool idle_load_passed(const nlohmann::json& r) {
  return r.value("connect_failures", 1) == 0 && r.value("dropped_during_hold", 1) == 0
         && r.value("held", -1) == r.value("sessions", -2);
}

void print_idle_load_summary(const nlohmann::json& r, std::ostream& out) {
  char buf[300];
  std::snprintf(buf, sizeof buf,
                "pactum-sim idle: %lld sessions (%lld per account), held %lld for %.1f s; %lld connect failures, %lld dropped\n",
                static_cast<long long>(r.value("sessions", 0)), static_cast<long long>(r.value("sessions_per_user", 0)),
                static_cast<long long>(r.value("held", 0)), r.value("hold_seconds", 0.0),
                static_cast<long long>(r.value("connect_failures", 0)),
                static_cast<long long>(r.value("dropped_during_hold", 0)));
  out << buf;
  auto& c = r["operations"]["connect"];
  std::snprintf(buf, sizeof buf, "  connect p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f ms, %.0f/s\n",
                c.value("p50_ms", 0.0), c.value("p90_ms", 0.0), c.value("p99_ms", 0.0), c.value("p99_9_ms", 0.0),
                c.value("max_ms", 0.0), c.value("throughput_per_s", 0.0));
  out << buf;
  if (r["server_rss_kib"].is_object()) {
    auto& m = r["server_rss_kib"];
    std::snprintf(buf, sizeof buf, "  server RSS %lld KiB before, %lld connected, %lld after the hold: %.0f bytes per idle session\n",
                  static_cast<long long>(m.value("before", 0)), static_cast<long long>(m.value("connected", 0)),
                  static_cast<long long>(m.value("after_hold", 0)), r.value("bytes_per_session", 0.0));
    out << buf;
  } else {
    out << "  server RSS not measured (pass --server-pid)\n";
  }
  for (auto& [code, n] : r["errors"].items())
    out << "  error " << code << ": " << n << "\n";
  out << (idle_load_passed(r) ? "  all checks passed\n" : "  CHECKS FAILED\n");
}

} // namespace pactum::sim
