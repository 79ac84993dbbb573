#include "pactum/metrics/metrics.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>

namespace pactum::metrics {

histogram::histogram(std::vector<uint64_t> bounds, double scale)
  : bounds_(std::move(bounds)), scale_(scale),
    buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  for (size_t i = 0; i <= bounds_.size(); ++i)
    buckets_[i].store(0, std::memory_order_relaxed);
}

void histogram::observe(uint64_t v) noexcept {
  auto i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<uint64_t> latency_bounds_us() {
  return {50,     100,    250,     500,     1'000,   2'500,     5'000,     10'000,
          25'000, 50'000, 100'000, 250'000, 500'000, 1'000'000, 2'500'000, 10'000'000};
}

namespace {

enum class kind : uint8_t { counter, gauge, histogram };

/// `v * scale` rounded to 12 significant digits, so a bucket bound reads `0.001`, not
/// `0.0010000000000000002` (1e-6 has no exact binary form).
double scaled(uint64_t v, double scale) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.12g", static_cast<double>(v) * scale);
  return std::strtod(buf, nullptr);
}

struct family {
  std::string help;
  kind type;
  // One entry per label set; the values live in the deques below (stable addresses).
  std::map<label_set, void*> series;
};

struct callback_entry {
  std::string name;
  label_set labels;
  std::function<double()> fn;
};

/// The process-wide registry. Registration and scraping take the mutex; the metrics themselves
/// are updated without it.
class registry {
public:
  static registry& get() {
    static auto* r = new registry; // never destroyed: metrics outlive every static that uses them
    return *r;
  }

  template <class T, class... Args>
  T& find_or_add(kind type, const std::string& name, const std::string& help,
                 const label_set& labels, Args&&... args) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& fam = family_for(name, help, type);
    auto [it, fresh] = fam.series.try_emplace(labels, nullptr);
    if (fresh)
      it->second = &store<T>().emplace_back(std::forward<Args>(args)...);
    return *static_cast<T*>(it->second);
  }

  uint64_t add_callback(const std::string& name, const std::string& help, const label_set& labels,
                        std::function<double()> fn) {
    std::lock_guard<std::mutex> guard{mtx_};
    family_for(name, help, kind::gauge);
    auto id = ++next_callback_;
    callbacks_.emplace(id, callback_entry{name, labels, std::move(fn)});
    return id;
  }

  void remove_callback(uint64_t id) {
    std::lock_guard<std::mutex> guard{mtx_};
    callbacks_.erase(id);
  }

  std::vector<prometheus::MetricFamily> collect() const {
    std::lock_guard<std::mutex> guard{mtx_};
    // Callback gauges first, summed per (name, labels).
    std::map<std::string, std::map<label_set, double>> computed;
    for (auto& [id, cb] : callbacks_)
      computed[cb.name][cb.labels] += cb.fn();
    std::vector<prometheus::MetricFamily> out;
    out.reserve(families_.size());
    for (auto& [name, fam] : families_) {
      prometheus::MetricFamily mf;
      mf.name = name;
      mf.help = fam.help;
      mf.type = fam.type == kind::counter     ? prometheus::MetricType::Counter
                : fam.type == kind::histogram ? prometheus::MetricType::Histogram
                                              : prometheus::MetricType::Gauge;
      for (auto& [labels, ptr] : fam.series) {
        auto& m = mf.metric.emplace_back();
        m.label = to_labels(labels);
        switch (fam.type) {
          case kind::counter:
            m.counter.value = static_cast<double>(static_cast<counter*>(ptr)->value());
            break;
          case kind::gauge:
            m.gauge.value = static_cast<double>(static_cast<gauge*>(ptr)->value());
            break;
          case kind::histogram: {
            auto* h = static_cast<histogram*>(ptr);
            uint64_t cumulative = 0;
            for (size_t i = 0; i < h->bounds().size(); ++i) {
              cumulative += h->bucket(i);
              m.histogram.bucket.push_back(
                {cumulative, scaled(h->bounds()[i], h->scale())});
            }
            cumulative += h->bucket(h->bounds().size());
            m.histogram.bucket.push_back({cumulative, std::numeric_limits<double>::infinity()});
            // The buckets were read one by one while observers kept adding: the count shown is
            // the sum of the buckets read, so `_count` always equals the `+Inf` bucket.
            m.histogram.sample_count = cumulative;
            m.histogram.sample_sum = static_cast<double>(h->sum()) * h->scale();
            break;
          }
        }
      }
      if (auto c = computed.find(name); c != computed.end())
        for (auto& [labels, v] : c->second) {
          auto& m = mf.metric.emplace_back();
          m.label = to_labels(labels);
          m.gauge.value = v;
        }
      if (!mf.metric.empty())
        out.push_back(std::move(mf));
    }
    return out;
  }

private:
  static std::vector<prometheus::ClientMetric::Label> to_labels(const label_set& labels) {
    std::vector<prometheus::ClientMetric::Label> out;
    out.reserve(labels.size());
    for (auto& [k, v] : labels)
      out.push_back({k, v});
    return out;
  }

  family& family_for(const std::string& name, const std::string& help, kind type) {
    auto [it, fresh] = families_.try_emplace(name, family{help, type, {}});
    if (!fresh && it->second.type != type)
      throw std::logic_error("metric " + name + " registered with two types");
    return it->second;
  }

  template <class T>
  std::deque<T>& store() {
    if constexpr (std::is_same_v<T, counter>)
      return counters_;
    else if constexpr (std::is_same_v<T, gauge>)
      return gauges_;
    else
      return histograms_;
  }

  mutable std::mutex mtx_;
  std::map<std::string, family> families_;
  std::deque<counter> counters_;
  std::deque<gauge> gauges_;
  std::deque<histogram> histograms_;
  std::map<uint64_t, callback_entry> callbacks_;
  uint64_t next_callback_ = 0;
};

/// Reads a whole (small) /proc file.
std::string slurp(const std::string& path) {
  std::ifstream in{path};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

prometheus::MetricFamily process_family(std::string name, std::string help,
                                        prometheus::MetricType type, double value) {
  prometheus::MetricFamily mf;
  mf.name = std::move(name);
  mf.help = std::move(help);
  mf.type = type;
  auto& m = mf.metric.emplace_back();
  if (type == prometheus::MetricType::Counter)
    m.counter.value = value;
  else
    m.gauge.value = value;
  return mf;
}

/// Fields 14 (utime), 15 (stime) and 22 (starttime) of /proc/<pid>/stat, in clock ticks.
bool read_stat(const std::string& dir, uint64_t& utime, uint64_t& stime, uint64_t& start) {
  auto stat = slurp(dir + "/stat");
  // The command name (field 2) is in parentheses and may contain spaces: fields after it are
  // counted from the last ')'.
  auto close = stat.rfind(')');
  if (close == std::string::npos)
    return false;
  std::istringstream rest{stat.substr(close + 1)};
  std::string field;
  uint64_t v = 0;
  // Field 3 is the first after ')'.
  for (int n = 3; n <= 22 && rest >> field; ++n) {
    if (n == 14 || n == 15 || n == 22) {
      try {
        v = std::stoull(field);
      } catch (const std::exception&) {
        return false;
      }
      (n == 14 ? utime : n == 15 ? stime : start) = v;
      if (n == 22)
        return true;
    }
  }
  return false;
}

/// Resident set size in bytes from /proc/<pid>/status (VmRSS, in kB).
bool read_rss(const std::string& dir, uint64_t& bytes) {
  std::ifstream in{dir + "/status"};
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      std::istringstream s{line.substr(6)};
      uint64_t kb = 0;
      if (!(s >> kb))
        return false;
      bytes = kb * 1024;
      return true;
    }
  }
  return false;
}

double boot_time_seconds() {
  std::ifstream in{"/proc/stat"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("btime ", 0) == 0)
      return std::stod(line.substr(6));
  return 0;
}

} // namespace

counter& counter_of(const std::string& name, const std::string& help, const label_set& labels) {
  return registry::get().find_or_add<counter>(kind::counter, name, help, labels);
}

gauge& gauge_of(const std::string& name, const std::string& help, const label_set& labels) {
  return registry::get().find_or_add<gauge>(kind::gauge, name, help, labels);
}

histogram& histogram_of(const std::string& name, const std::string& help, const label_set& labels,
                        std::vector<uint64_t> bounds, double scale) {
  return registry::get().find_or_add<histogram>(kind::histogram, name, help, labels,
                                                std::move(bounds), scale);
}

callback_handle& callback_handle::operator=(callback_handle&& o) noexcept {
  if (this != &o) {
    if (id_ != 0)
      registry::get().remove_callback(id_);
    id_ = std::exchange(o.id_, 0);
  }
  return *this;
}

callback_handle::~callback_handle() {
  if (id_ != 0)
    registry::get().remove_callback(id_);
}

callback_handle gauge_callback(const std::string& name, const std::string& help,
                               const label_set& labels, std::function<double()> fn) {
  return callback_handle{registry::get().add_callback(name, help, labels, std::move(fn))};
}

bool sample_process(int pid, process_sample& out) {
  auto dir = pid == 0 ? std::string{"/proc/self"} : "/proc/" + std::to_string(pid);
  uint64_t utime = 0, stime = 0, start = 0, rss = 0;
  if (!read_stat(dir, utime, stime, start) || !read_rss(dir, rss))
    return false;
  static const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  out.cpu_seconds = static_cast<double>(utime + stime) / ticks;
  out.rss_bytes = rss;
  return true;
}

std::string render() {
  auto families = registry::get().collect();
  using prometheus::MetricType;
  uint64_t utime = 0, stime = 0, start = 0, rss = 0;
  static const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  if (read_stat("/proc/self", utime, stime, start)) {
    families.push_back(process_family("process_cpu_seconds_total",
                                      "User and system CPU time spent, in seconds.",
                                      MetricType::Counter,
                                      static_cast<double>(utime + stime) / ticks));
    static const double boot = boot_time_seconds();
    families.push_back(process_family("process_start_time_seconds",
                                      "Start time of the process since the Unix epoch, in seconds.",
                                      MetricType::Gauge, boot + static_cast<double>(start) / ticks));
  }
  if (read_rss("/proc/self", rss))
    families.push_back(process_family("process_resident_memory_bytes",
                                      "Resident memory size, in bytes.", MetricType::Gauge,
                                      static_cast<double>(rss)));
  std::error_code ec;
  size_t fds = 0;
  for (std::filesystem::directory_iterator it{"/proc/self/fd", ec}, end; !ec && it != end;
       it.increment(ec))
    ++fds;
  if (!ec)
    families.push_back(process_family("process_open_fds", "Number of open file descriptors.",
                                      MetricType::Gauge, static_cast<double>(fds)));
  std::ostringstream out;
  prometheus::TextSerializer{}.Serialize(out, families);
  return out.str();
}

} // namespace pactum::metrics
