#include "pactum/sim/server_stats.hpp"

#include <fstream>
#include <sstream>

#include <unistd.h>

namespace pactum::sim {

std::optional<server_sample> read_proc_sample(int pid) {
  auto dir = "/proc/" + std::to_string(pid);
  std::ifstream stat_file{dir + "/stat"};
  std::string stat{std::istreambuf_iterator<char>{stat_file}, {}};
  // The command name (field 2) is in parentheses and may hold spaces: count from the last ')'.
  auto close = stat.rfind(')');
  if (close == std::string::npos)
    return std::nullopt;
  std::istringstream rest{stat.substr(close + 1)};
  std::string field;
  uint64_t utime = 0, stime = 0;
  try {
    for (int n = 3; n <= 15 && rest >> field; ++n) { // field 3 is the first after ')'
      if (n == 14)
        utime = std::stoull(field);
      if (n == 15)
        stime = std::stoull(field);
    }
  } catch (const std::exception&) {
    return std::nullopt;
  }
  std::ifstream status{dir + "/status"};
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) {
      uint64_t kb = 0;
      if (!(std::istringstream{line.substr(6)} >> kb))
        return std::nullopt;
      static const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
      return server_sample{0, static_cast<double>(utime + stime) / ticks, kb * 1024};
    }
  return std::nullopt;
}

std::optional<double> prometheus_value(const std::string& text, const std::string& name) {
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > name.size() && line.compare(0, name.size(), name) == 0 && line[name.size()] == ' ') {
      try {
        return std::stod(line.substr(name.size() + 1));
      } catch (const std::exception&) {
        return std::nullopt;
      }
    }
  }
  return std::nullopt;
}

std::optional<server_sample> read_server_sample(const server_stats_config& cfg, std::string& why) {
  if (cfg.server_pid > 0) {
    auto s = read_proc_sample(cfg.server_pid);
    if (!s)
      why = "cannot read /proc/" + std::to_string(cfg.server_pid);
    return s;
  }
  if (!cfg.use_metrics) {
    why = "disabled (--server-metrics off and no --server-pid)";
    return std::nullopt;
  }
  http_reply r;
  try {
    r = http_call(cfg.ep, "GET", "/metrics", {}, cfg.metrics_token, "");
  } catch (const std::exception& ex) {
    why = std::string{"GET /metrics: "} + ex.what();
    return std::nullopt;
  }
  if (r.status != 200) {
    why = "GET /metrics answered " + std::to_string(r.status);
    return std::nullopt;
  }
  auto cpu = prometheus_value(r.body, "process_cpu_seconds_total");
  auto rss = prometheus_value(r.body, "process_resident_memory_bytes");
  if (!cpu || !rss) {
    why = "GET /metrics has no process_cpu_seconds_total or process_resident_memory_bytes";
    return std::nullopt;
  }
  return server_sample{0, *cpu, static_cast<uint64_t>(*rss)};
}

server_stats_sampler::server_stats_sampler(server_stats_config cfg) : cfg_(std::move(cfg)) {}

server_stats_sampler::~server_stats_sampler() {
  finish();
}

bool server_stats_sampler::start() {
  t0_ = std::chrono::steady_clock::now();
  auto s = take();
  std::lock_guard<std::mutex> guard{mtx_};
  if (!s)
    return false;
  first_ = s;
  active_ = true;
  thread_ = std::thread{[this] { run(); }};
  return true;
}

bool server_stats_sampler::active() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return active_;
}

std::optional<server_sample> server_stats_sampler::take() {
  std::string why;
  auto s = read_server_sample(cfg_, why);
  std::lock_guard<std::mutex> guard{mtx_};
  if (!s) {
    why_ = why;
    ++failures_;
    return s;
  }
  s->at_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  ++samples_;
  peak_rss_ = std::max(peak_rss_, s->rss_bytes);
  last_ = s;
  return s;
}

std::optional<server_sample> server_stats_sampler::sample_now() {
  if (!active())
    return std::nullopt;
  return take();
}

void server_stats_sampler::run() {
  std::unique_lock<std::mutex> guard{mtx_};
  while (!stopping_) {
    if (cv_.wait_for(guard, cfg_.interval, [this] { return stopping_; }))
      break;
    guard.unlock();
    take();
    guard.lock();
  }
}

nlohmann::json server_stats_sampler::between(const server_sample& a, const server_sample& b) {
  auto secs = b.at_s - a.at_s;
  auto cpu = b.cpu_seconds - a.cpu_seconds;
  return nlohmann::json{{"cpu_seconds", cpu}, {"cpu_share", secs > 0 ? cpu / secs : 0.0},
                        {"rss_bytes", b.rss_bytes}};
}

nlohmann::json server_stats_sampler::finish() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!active_ && !first_)
      return nlohmann::json{{"source", "none"}, {"reason", why_}};
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable())
    thread_.join();
  bool was_active = false;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    was_active = active_;
  }
  if (was_active)
    take(); // the end sample
  std::lock_guard<std::mutex> guard{mtx_};
  active_ = false;
  auto secs = last_->at_s - first_->at_s;
  auto cpu = last_->cpu_seconds - first_->cpu_seconds;
  return nlohmann::json{
    {"source", cfg_.server_pid > 0 ? "proc" : "metrics"},
    {"pid", cfg_.server_pid},
    {"samples", samples_},
    {"failed_samples", failures_},
    {"seconds", secs},
    {"cpu_seconds", cpu},
    {"cpu_share", secs > 0 ? cpu / secs : 0.0},
    {"rss_bytes", {{"start", first_->rss_bytes}, {"peak", peak_rss_}, {"end", last_->rss_bytes}}}};
}

} // namespace pactum::sim
