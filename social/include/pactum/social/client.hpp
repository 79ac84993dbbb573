#pragma once

// The client the rest of Pactum uses to reach social platforms: it wraps an `adapter` so that
// its quotas are respected and its transient failures absorbed.
//  - Per platform, a token bucket in front of the adapter: `burst` calls at once, then
//    `calls_per_window - burst` more per `window` (so no window of that length ever sees more
//    than `calls_per_window` calls from this client: set it to the platform's quota).
//  - rate_limited and unavailable answers are retried, at most `max_attempts` calls in all, after
//    an exponential backoff (`backoff_base` doubling up to `backoff_max`) with jitter (a uniform
//    draw in [delay/2, delay]), and never before the platform's retry-after. A call whose next
//    wait would end after `max_wait` from its start gives up with the last error.
//  - Blocking adapter calls run on the client's own executor: `concurrency` threads (so at most
//    that many calls are in flight), `queue_limit` queued calls; beyond it calls are refused
//    `overloaded` at once. No caller thread ever blocks (the *_async calls); the synchronous
//    calls are for that executor and for tests.
//
// Time comes from a `time_source`: the real one (sleeps can be cut short by `stop()`), or a
// `manual_clock` whose sleeps advance virtual time, so tests of backoff and quotas run in
// microseconds and are exact.
//
// Lifecycle: constructed running; `stop()` wakes every sleeping call (which then fails
// `unavailable`), runs what is queued and joins. Callbacks run exactly once, on an executor
// thread (or on the caller's when refused at once), and must not block.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <unordered_map>

#include "pactum/common/executor.hpp"
#include "pactum/social/adapter.hpp"

namespace pactum::social {

/// Where a client reads the time and waits.
class time_source {
public:
  virtual ~time_source() = default;
  virtual millis now() = 0;
  /// Waits until `t` (or returns at once when it passed); false when interrupted by `stop()`.
  virtual bool sleep_until(millis t) = 0;
  /// Makes every current and later sleep return false at once.
  virtual void stop() = 0;
};

/// The wall clock; sleeps wait on a condition variable that `stop()` signals.
class real_clock final : public time_source {
public:
  millis now() override { return now_millis(); }
  bool sleep_until(millis t) override;
  void stop() override;

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  bool stopped_ = false;
};

/// Virtual time for tests and simulations: `sleep_until` jumps the time forward (never back).
/// Thread-safe, but meant for one thread: with several sleepers, each jump is seen by all.
class manual_clock final : public time_source {
public:
  explicit manual_clock(millis start = 1'700'000'000'000) : now_(start) {}
  millis now() override { return now_.load(); }
  bool sleep_until(millis t) override;
  void stop() override { stopped_ = true; }
  void advance(millis by) { now_ += by; }
  /// Total virtual time spent sleeping.
  millis slept() const { return slept_.load(); }

private:
  std::atomic<millis> now_;
  std::atomic<millis> slept_{0};
  std::atomic<bool> stopped_{false};
};

struct client_config {
  int64_t calls_per_window = 60; ///< per platform and window; 0: no client-side limit
  int64_t window_ms = 60'000;
  int64_t burst = 6;             ///< calls at once (clamped to 1..calls_per_window)
  int max_attempts = 4;          ///< adapter calls per request, the first included (>= 1)
  int64_t backoff_base_ms = 500;
  int64_t backoff_max_ms = 30'000;
  int64_t max_wait_ms = 20'000;  ///< the most one request waits (quota + backoff) before giving up
  size_t concurrency = 4;        ///< executor threads = adapter calls in flight at most
  size_t queue_limit = 1'000;    ///< requests waiting for a thread before `overloaded`
  uint64_t jitter_seed = 0;      ///< 0: random; otherwise a fixed sequence (tests)
};

/// What one request cost (for tests, logs and metrics).
struct call_stats {
  int attempts = 0;      ///< adapter calls made
  millis waited_ms = 0;  ///< time spent waiting for tokens and backoff
};

class client {
public:
  /// `adapter` and `time_source` must outlive the client.
  client(adapter& a, time_source& c, client_config cfg);
  ~client();

  client(const client&) = delete;
  client& operator=(const client&) = delete;

  std::string_view provider_name() const noexcept { return adapter_.name(); }
  const client_config& config() const noexcept { return cfg_; }

  /// Synchronous: blocks the calling thread (backoff, token waits, the adapter). Not for CAF or
  /// Asio threads.
  expected<profile_stats, error> fetch_profile(std::string_view platform, std::string_view handle,
                                               call_stats* stats = nullptr);
  expected<post_check, error> verify_post(std::string_view platform, std::string_view post,
                                          disclosure required, call_stats* stats = nullptr);

  /// The same on the client's executor; `done` runs exactly once.
  void fetch_profile_async(std::string platform, std::string handle,
                           std::function<void(expected<profile_stats, error>)> done);
  void verify_post_async(std::string platform, std::string post, disclosure required,
                         std::function<void(expected<post_check, error>)> done);

  /// A post's counts, OPPORTUNISTICALLY (background polling, e.g. views): one adapter call at
  /// most, never a wait and never a retry. The call takes a token only when the platform's
  /// bucket still holds at least `reserve` + 1 of them, so at least `reserve` stay for the
  /// requests users wait for (profile refreshes, post checks); otherwise it is refused at once
  /// with `rate_limited` (no adapter call). Synchronous (the adapter blocks) ...
  expected<post_stats, error> fetch_post_stats_now(std::string_view platform, std::string_view post,
                                                   int64_t reserve, call_stats* stats = nullptr);
  /// ... and the same on the client's executor; `done` runs exactly once.
  void fetch_post_stats_async(std::string platform, std::string post, int64_t reserve,
                              std::function<void(expected<post_stats, error>)> done);

  /// Interrupts waits, finishes queued requests (they fail fast), joins the threads. Idempotent.
  void stop();

private:
  /// Takes one token of `platform`'s bucket, waiting for it unless that would pass `deadline`;
  /// an error (rate_limited, or unavailable when stopped) otherwise.
  expected<bool, error> take_token(const std::string& platform, millis deadline, call_stats& st);
  /// Takes one token of `platform`'s bucket only when `reserve` + 1 are there now (no wait).
  expected<bool, error> try_take_token(const std::string& platform, int64_t reserve);
  /// The backoff before attempt `attempt` + 1 (attempt >= 1), jittered.
  int64_t backoff_ms(int attempt);

  template <class T, class Call>
  expected<T, error> with_retries(const std::string& platform, call_stats* out, Call call);

  adapter& adapter_;
  time_source& clock_;
  client_config cfg_;
  std::atomic<bool> stopped_{false};

  struct bucket {
    double tokens = 0;
    millis at = 0;
    bool fresh = true;
  };
  std::mutex mtx_; ///< buckets_ and rng_
  std::unordered_map<std::string, bucket> buckets_;
  /// Tokens a bucket gains per ms: burst at once, then (quota - burst) per window.
  double refill_per_ms() const;
  /// `platform`'s bucket, created full and refilled up to `now`; with mtx_ held.
  bucket& refilled(const std::string& platform, millis now);
  std::mt19937_64 rng_;

  std::unique_ptr<executor> exec_;
};

} // namespace pactum::social
