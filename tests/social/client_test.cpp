// The quota-respecting client on a virtual clock: it waits for its token bucket, backs off
// exponentially with jitter, honours retry-after, gives up in bounds, and caps concurrency.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "pactum/social/client.hpp"
#include "pactum/social/simulated.hpp"

using namespace pactum::social;
using pactum::millis;

namespace {

constexpr millis t0 = 1'790'000'040'000; // a whole minute

/// Passes calls through to the simulated provider and records, per fixed window, how many
/// reached it (the provider's own quota refusals included).
class recording_adapter final : public adapter {
public:
  recording_adapter(adapter& inner, time_source& c, millis window) : inner_(inner), clock_(c), window_(window) {}
  std::string_view name() const noexcept override { return "recording"; }
  pactum::expected<profile_stats, error> fetch_profile(std::string_view p, std::string_view h) override {
    note();
    return inner_.fetch_profile(p, h);
  }
  pactum::expected<post_check, error> verify_post(std::string_view p, std::string_view post,
                                                  disclosure d) override {
    note();
    return inner_.verify_post(p, post, d);
  }
  int64_t busiest_window() const {
    std::lock_guard<std::mutex> g{mtx_};
    int64_t most = 0;
    for (auto& [w, n] : per_window_)
      most = std::max(most, n);
    return most;
  }

private:
  void note() {
    std::lock_guard<std::mutex> g{mtx_};
    ++per_window_[clock_.now() / window_];
  }
  adapter& inner_;
  time_source& clock_;
  millis window_;
  mutable std::mutex mtx_;
  std::map<millis, int64_t> per_window_;
};

simulated_config provider_on(manual_clock& c, int64_t quota, millis window) {
  simulated_config cfg;
  cfg.calls_per_window = quota;
  cfg.window_ms = window;
  cfg.now = [&c] { return c.now(); };
  return cfg;
}

client_config client_cfg(int64_t quota, millis window) {
  client_config cfg;
  cfg.calls_per_window = quota;
  cfg.window_ms = window;
  cfg.burst = 3;
  cfg.backoff_base_ms = 100;
  cfg.backoff_max_ms = 1'000;
  cfg.max_attempts = 4;
  cfg.max_wait_ms = 10 * 60'000;
  cfg.jitter_seed = 42;
  cfg.concurrency = 2;
  return cfg;
}

} // namespace

TEST(SocialClientTest, NeverExceedsThePlatformQuota) {
  manual_clock c{t0 + 7'000};
  simulated_provider sim{provider_on(c, 10, 1'000)};
  recording_adapter rec{sim, c, 1'000};
  client cl{rec, c, client_cfg(10, 1'000)};
  for (int i = 0; i < 200; ++i) {
    auto r = i % 2 ? cl.fetch_profile("tiktok", "cleo") : cl.verify_post("tiktok", "ad-1", disclosure::any).has_value()
                                                              ? cl.fetch_profile("tiktok", "max")
                                                              : cl.fetch_profile("tiktok", "never");
    ASSERT_TRUE(r) << i << ": " << r.error().message;
  }
  EXPECT_EQ(sim.quota_refusals(), 0) << "the client never ran into the platform's 429";
  EXPECT_LE(rec.busiest_window(), 10);
  EXPECT_EQ(sim.admitted_calls(), 300);
  // 300 calls at 10 per second take about 30 virtual seconds: the client waited, not failed.
  EXPECT_GE(c.slept(), 28'000);
  EXPECT_LE(c.slept(), 45'000);
}

TEST(SocialClientTest, EachPlatformHasItsOwnBucket) {
  manual_clock c{t0};
  simulated_provider sim{provider_on(c, 5, 60'000)};
  client cl{sim, c, client_cfg(5, 60'000)};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(cl.fetch_profile("tiktok", "a"));
    ASSERT_TRUE(cl.fetch_profile("youtube", "a"));
  }
  EXPECT_EQ(c.slept(), 0) << "the bursts of two platforms do not share tokens";
}

TEST(SocialClientTest, HonoursRetryAfterWhenThePlatformSays429) {
  manual_clock c{t0 + 10'000};
  simulated_provider sim{provider_on(c, 5, 60'000)};
  auto cfg = client_cfg(0, 60'000); // no client-side limit: the platform's 429 is what it meets
  client cl{sim, c, cfg};
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(cl.fetch_profile("instagram", "cleo"));
  call_stats st;
  auto r = cl.fetch_profile("instagram", "cleo", &st);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(st.attempts, 2);
  EXPECT_EQ(sim.quota_refusals(), 1);
  EXPECT_GE(st.waited_ms, 50'000) << "waited for the window to end (retry-after), not the backoff";
  EXPECT_LE(st.waited_ms, 51'000);
  // The next request does not hit the platform again before the window it was told about.
  EXPECT_TRUE(cl.fetch_profile("instagram", "cleo"));
  EXPECT_EQ(sim.quota_refusals(), 1);
}

TEST(SocialClientTest, BacksOffExponentiallyWithJitterOnUnavailable) {
  manual_clock c{t0};
  auto pcfg = provider_on(c, 0, 1'000);
  pcfg.flaky_failures = 3;
  simulated_provider sim{pcfg};
  client cl{sim, c, client_cfg(0, 1'000)};
  call_stats st;
  auto r = cl.fetch_profile("x", "flaky_rider", &st);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(st.attempts, 4);
  // Delays of 100, 200 and 400 ms, each jittered into [d/2, d].
  EXPECT_GE(st.waited_ms, 50 + 100 + 200);
  EXPECT_LE(st.waited_ms, 100 + 200 + 400);
  // A different jitter seed gives a different wait: the jitter is real.
  std::set<millis> waits;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    manual_clock c2{t0};
    auto p2 = provider_on(c2, 0, 1'000);
    p2.flaky_failures = 3;
    simulated_provider sim2{p2};
    auto cfg = client_cfg(0, 1'000);
    cfg.jitter_seed = seed;
    client cl2{sim2, c2, cfg};
    call_stats s2;
    ASSERT_TRUE(cl2.fetch_profile("x", "flaky_rider", &s2));
    waits.insert(s2.waited_ms);
  }
  EXPECT_GT(waits.size(), 1u);
}

TEST(SocialClientTest, AttemptsAreBounded) {
  manual_clock c{t0};
  auto pcfg = provider_on(c, 0, 1'000);
  pcfg.flaky_failures = 100;
  simulated_provider sim{pcfg};
  auto cfg = client_cfg(0, 1'000);
  cfg.max_attempts = 3;
  client cl{sim, c, cfg};
  call_stats st;
  auto r = cl.fetch_profile("x", "flaky_down", &st);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::unavailable);
  EXPECT_EQ(st.attempts, 3);
  EXPECT_LE(st.waited_ms, 100 + 200);
}

TEST(SocialClientTest, GivesUpWhenTheWaitWouldPassMaxWait) {
  manual_clock c{t0};
  simulated_provider sim{provider_on(c, 1, 3'600'000)};
  auto cfg = client_cfg(0, 1'000);
  cfg.max_wait_ms = 5'000;
  client cl{sim, c, cfg};
  ASSERT_TRUE(cl.fetch_profile("youtube", "a"));
  call_stats st;
  auto r = cl.fetch_profile("youtube", "a", &st);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::rate_limited);
  EXPECT_GT(r.error().retry_after_ms, 5'000) << "tells the caller when to come back";
  EXPECT_EQ(st.attempts, 1);
  EXPECT_EQ(c.slept(), 0) << "no pointless wait";

  // The same with the client's own bucket: the request is refused before reaching the platform.
  manual_clock c2{t0};
  simulated_provider sim2{provider_on(c2, 0, 1'000)};
  auto cfg2 = client_cfg(2, 3'600'000);
  cfg2.burst = 1;
  cfg2.max_wait_ms = 5'000;
  client cl2{sim2, c2, cfg2};
  ASSERT_TRUE(cl2.fetch_profile("youtube", "a"));
  auto r2 = cl2.fetch_profile("youtube", "a");
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code, errc::rate_limited);
  EXPECT_EQ(sim2.admitted_calls(), 1);
}

TEST(SocialClientTest, FinalErrorsAreNotRetried) {
  manual_clock c{t0};
  simulated_provider sim{provider_on(c, 0, 1'000)};
  client cl{sim, c, client_cfg(0, 1'000)};
  call_stats st;
  EXPECT_EQ(cl.fetch_profile("tiktok", "gone_away", &st).error().code, errc::not_found);
  EXPECT_EQ(st.attempts, 1);
  EXPECT_EQ(cl.fetch_profile("tiktok", "bad handle!", &st).error().code, errc::invalid_handle);
  EXPECT_EQ(st.attempts, 1);
  EXPECT_EQ(c.slept(), 0);
}

namespace {

/// Holds every call until released, counting how many are inside at once.
class gate_adapter final : public adapter {
public:
  std::string_view name() const noexcept override { return "gate"; }
  pactum::expected<profile_stats, error> fetch_profile(std::string_view p, std::string_view h) override {
    std::unique_lock<std::mutex> lock{mtx_};
    ++inside_;
    most_ = std::max(most_, inside_);
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    --inside_;
    profile_stats s;
    s.platform = std::string{p};
    s.handle = std::string{h};
    return s;
  }
  pactum::expected<post_check, error> verify_post(std::string_view, std::string_view, disclosure) override {
    return error{errc::unavailable, "not used", 0};
  }
  void wait_inside(int n) {
    std::unique_lock<std::mutex> lock{mtx_};
    cv_.wait(lock, [&] { return inside_ >= n; });
  }
  void open() {
    std::lock_guard<std::mutex> g{mtx_};
    open_ = true;
    cv_.notify_all();
  }
  int most() {
    std::lock_guard<std::mutex> g{mtx_};
    return most_;
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  int inside_ = 0, most_ = 0;
  bool open_ = false;
};

} // namespace

TEST(SocialClientTest, ConcurrencyIsCappedAndTheQueueBounded) {
  gate_adapter gate;
  real_clock rc;
  auto cfg = client_cfg(0, 1'000);
  cfg.concurrency = 2;
  cfg.queue_limit = 3;
  client cl{gate, rc, cfg};
  std::atomic<int> ok{0}, overloaded{0};
  auto done = [&](pactum::expected<profile_stats, error> r) {
    if (r)
      ++ok;
    else if (r.error().code == errc::overloaded)
      ++overloaded;
  };
  cl.fetch_profile_async("tiktok", "a", done);
  cl.fetch_profile_async("tiktok", "b", done);
  gate.wait_inside(2); // both threads busy
  for (int i = 0; i < 5; ++i)
    cl.fetch_profile_async("tiktok", "q" + std::to_string(i), done);
  EXPECT_EQ(overloaded.load(), 2) << "3 queued, the rest refused at once";
  gate.open();
  for (int i = 0; i < 500 && ok.load() < 5; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  cl.stop();
  EXPECT_EQ(ok.load(), 5);
  EXPECT_EQ(gate.most(), 2);
}

TEST(SocialClientTest, StopWakesAWaitingRequest) {
  real_clock rc;
  simulated_config pcfg;
  pcfg.calls_per_window = 1;
  pcfg.window_ms = 3'600'000;
  simulated_provider sim{pcfg};
  auto cfg = client_cfg(0, 1'000);
  cfg.max_wait_ms = 3'600'000 * 2;
  client cl{sim, rc, cfg};
  ASSERT_TRUE(cl.fetch_profile("youtube", "a"));
  std::promise<pactum::expected<profile_stats, error>> got;
  cl.fetch_profile_async("youtube", "a", [&](auto r) { got.set_value(std::move(r)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto start = std::chrono::steady_clock::now();
  cl.stop();
  auto r = got.get_future().get();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::unavailable);
}
