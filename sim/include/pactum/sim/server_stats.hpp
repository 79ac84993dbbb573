#pragma once

// The server's CPU time and resident memory, sampled during a pactum-sim run.
//
// Two sources: the server's `GET /metrics` (`process_cpu_seconds_total`,
// `process_resident_memory_bytes`; pactumd serves it to loopback clients, or to any client with
// its --metrics-token), or, for servers without /metrics (the Node.js peer, the bare Beast
// server), `/proc/<pid>/stat` and `/proc/<pid>/status` of a process on this machine
// (`server_pid`, which wins when set).
//
// Lifecycle: `start()` takes the first sample and starts a thread sampling every `interval`
// (for the peak RSS); `sample_now()` takes one at once (step boundaries); `finish()` takes the
// last one, stops the thread and returns the report. Threading: every member may be called from
// any thread; the destructor stops the thread.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "pactum/sim/client.hpp"

namespace pactum::sim {

struct server_stats_config {
  endpoint ep;                 ///< where /metrics is scraped
  bool use_metrics = true;     ///< scrape /metrics (when server_pid is 0)
  int server_pid = 0;          ///< > 0: read /proc/<pid> instead
  std::string metrics_token;   ///< bearer token for /metrics (empty: none sent)
  std::chrono::milliseconds interval{1000};
};

struct server_sample {
  double at_s = 0;        ///< seconds since start()
  double cpu_seconds = 0; ///< the server's user + system CPU time so far
  uint64_t rss_bytes = 0;
};

/// Reads one sample from `cfg`'s source; nullopt (with `why` set) when the source answers nothing
/// usable (no /metrics, 403/401, no such process).
std::optional<server_sample> read_server_sample(const server_stats_config& cfg, std::string& why);

/// CPU time (utime + stime of /proc/<pid>/stat) and VmRSS (/proc/<pid>/status) of `pid`; nullopt
/// when there is no such process.
std::optional<server_sample> read_proc_sample(int pid);

/// The value of the sample line `name` (no labels) in Prometheus text; nullopt when absent.
std::optional<double> prometheus_value(const std::string& text, const std::string& name);

class server_stats_sampler {
public:
  explicit server_stats_sampler(server_stats_config cfg);
  ~server_stats_sampler();

  server_stats_sampler(const server_stats_sampler&) = delete;
  server_stats_sampler& operator=(const server_stats_sampler&) = delete;

  /// Takes the first sample; false (and the sampler stays off) when the source gives none.
  bool start();
  bool active() const;

  /// One sample now (also counted for the peak); nullopt when inactive or the read failed.
  std::optional<server_sample> sample_now();

  /// Stops sampling and returns `{"source", "samples", "seconds", "cpu_seconds", "cpu_share",
  /// "rss_bytes": {"start", "peak", "end"}}`, or `{"source": "none", "reason"}` when no sample
  /// could be taken (see sim/README.md).
  nlohmann::json finish();

  /// CPU seconds and share between two samples.
  static nlohmann::json between(const server_sample& a, const server_sample& b);

private:
  void run();
  std::optional<server_sample> take(); // reads and records (peak, count, last)

  server_stats_config cfg_;
  std::chrono::steady_clock::time_point t0_{};
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool active_ = false;
  std::string why_;
  std::optional<server_sample> first_, last_;
  uint64_t peak_rss_ = 0;
  size_t samples_ = 0;
  size_t failures_ = 0;
  std::thread thread_;
};

} // namespace pactum::sim
