#include "pactum/social/client.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

namespace pactum::social {

// -- clocks ---------------------------------------------------------------------------------------

bool real_clock::sleep_until(millis t) {
  std::unique_lock<std::mutex> lock{mtx_};
  while (!stopped_) {
    auto left = t - now_millis();
    if (left <= 0)
      return true;
    cv_.wait_for(lock, std::chrono::milliseconds(left));
  }
  return false;
}

void real_clock::stop() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopped_ = true;
  }
  cv_.notify_all();
}

bool manual_clock::sleep_until(millis t) {
  if (stopped_)
    return false;
  auto now = now_.load();
  while (now < t && !now_.compare_exchange_weak(now, t)) {
  }
  if (now < t)
    slept_ += t - now;
  return true;
}

// -- client ---------------------------------------------------------------------------------------

namespace {

error stopped_error() {
  return error{errc::unavailable, "the social client is shutting down", 0};
}

} // namespace

client::client(adapter& a, time_source& c, client_config cfg)
  : adapter_(a), clock_(c), cfg_(std::move(cfg)),
    rng_(cfg_.jitter_seed != 0 ? cfg_.jitter_seed : std::random_device{}()) {
  cfg_.max_attempts = std::max(cfg_.max_attempts, 1);
  cfg_.window_ms = std::max<int64_t>(cfg_.window_ms, 1);
  cfg_.backoff_base_ms = std::max<int64_t>(cfg_.backoff_base_ms, 1);
  cfg_.backoff_max_ms = std::max(cfg_.backoff_max_ms, cfg_.backoff_base_ms);
  if (cfg_.calls_per_window > 0)
    cfg_.burst = std::clamp<int64_t>(cfg_.burst, 1, std::max<int64_t>(cfg_.calls_per_window - 1, 1));
  exec_ = std::make_unique<executor>("pactum-social", std::max<size_t>(cfg_.concurrency, 1),
                                     std::max<size_t>(cfg_.queue_limit, 1));
}

client::~client() {
  stop();
}

void client::stop() {
  if (stopped_.exchange(true))
    return;
  clock_.stop();
  exec_->stop();
}

double client::refill_per_ms() const {
  // Burst at once, then (quota - burst) per window, so that no window of the quota's length sees
  // more than the quota.
  return cfg_.calls_per_window > cfg_.burst
           ? static_cast<double>(cfg_.calls_per_window - cfg_.burst) / static_cast<double>(cfg_.window_ms)
           : 1.0 / static_cast<double>(cfg_.window_ms + 1);
}

client::bucket& client::refilled(const std::string& platform, millis now) {
  auto capacity = static_cast<double>(cfg_.burst);
  auto& b = buckets_[platform];
  if (b.fresh) {
    b.fresh = false;
    b.tokens = capacity;
    b.at = now;
  }
  if (now > b.at) {
    b.tokens = std::min(capacity, b.tokens + static_cast<double>(now - b.at) * refill_per_ms());
    b.at = now;
  }
  return b;
}

expected<bool, error> client::take_token(const std::string& platform, millis deadline,
                                         call_stats& st) {
  if (cfg_.calls_per_window <= 0)
    return true;
  // A token is reserved before waiting for it (tokens may go negative), so concurrent callers
  // queue up in order instead of racing.
  double per_ms = refill_per_ms();
  millis ready = 0;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto now = clock_.now();
    auto& b = refilled(platform, now);
    // b.at may lie in the future (after a platform's retry-after): nothing refills before it.
    millis wait = b.at > now ? b.at - now : 0;
    if (b.tokens < 1)
      wait += static_cast<millis>(std::ceil((1 - b.tokens) / per_ms));
    if (now + wait > deadline)
      return error{errc::rate_limited, "the quota for " + platform + " is used up", std::max<millis>(wait, 1)};
    b.tokens -= 1;
    ready = now + wait;
  }
  auto before = clock_.now();
  if (ready > before) {
    if (!clock_.sleep_until(ready))
      return stopped_error();
    st.waited_ms += clock_.now() - before;
  }
  return true;
}

expected<bool, error> client::try_take_token(const std::string& platform, int64_t reserve) {
  if (stopped_)
    return stopped_error();
  if (cfg_.calls_per_window <= 0)
    return true;
  // The same refill as take_token; the difference: no reservation ahead of time, no wait.
  double per_ms = refill_per_ms();
  std::lock_guard<std::mutex> guard{mtx_};
  auto now = clock_.now();
  auto& b = refilled(platform, now);
  auto need = static_cast<double>(std::max<int64_t>(reserve, 0) + 1);
  if (b.at > now || b.tokens < need) {
    millis wait = (b.at > now ? b.at - now : 0)
                  + static_cast<millis>(std::ceil(std::max(need - std::max(b.tokens, 0.0), 0.0) / per_ms));
    return error{errc::rate_limited, "the quota for " + platform + " is kept for interactive requests",
                 std::max<millis>(wait, 1)};
  }
  b.tokens -= 1;
  return true;
}

int64_t client::backoff_ms(int attempt) {
  // base * 2^(attempt - 1), capped at the maximum (doubling stops there: no overflow).
  auto delay = cfg_.backoff_base_ms;
  for (int i = 1; i < attempt && delay < cfg_.backoff_max_ms; ++i)
    delay *= 2;
  delay = std::min(delay, cfg_.backoff_max_ms);
  std::lock_guard<std::mutex> guard{mtx_};
  std::uniform_int_distribution<int64_t> jitter{delay / 2, delay};
  return jitter(rng_);
}

template <class T, class Call>
expected<T, error> client::with_retries(const std::string& platform, call_stats* out, Call call) {
  call_stats st;
  auto start = clock_.now();
  auto deadline = start + cfg_.max_wait_ms;
  std::optional<error> last;
  auto finish = [&](expected<T, error> r) {
    if (out)
      *out = st;
    return r;
  };
  for (int attempt = 1; attempt <= cfg_.max_attempts; ++attempt) {
    if (stopped_)
      return finish(stopped_error());
    if (auto token = take_token(platform, deadline, st); !token)
      return finish(last && token.error().code == errc::rate_limited ? *last : token.error());
    ++st.attempts;
    expected<T, error> r = call();
    if (r || !retryable(r.error().code))
      return finish(std::move(r));
    last = r.error();
    if (attempt == cfg_.max_attempts)
      break;
    auto now = clock_.now();
    auto delay = backoff_ms(attempt);
    if (last->code == errc::rate_limited) {
      delay = std::max(delay, last->retry_after_ms);
      // The platform says the quota is gone: every request for it waits, not just this one.
      std::lock_guard<std::mutex> guard{mtx_};
      auto& b = buckets_[platform];
      b.fresh = false;
      b.tokens = std::min(b.tokens, 0.0);
      b.at = std::max(b.at, now + last->retry_after_ms);
    }
    if (now + delay > deadline)
      break;
    if (!clock_.sleep_until(now + delay))
      return finish(stopped_error());
    st.waited_ms += clock_.now() - now;
  }
  if (last->code == errc::rate_limited)
    last->retry_after_ms = std::max<int64_t>(last->retry_after_ms - (clock_.now() - start), 1);
  return finish(*last);
}

expected<profile_stats, error> client::fetch_profile(std::string_view platform,
                                                     std::string_view handle, call_stats* stats) {
  std::string p{platform};
  return with_retries<profile_stats>(p, stats, [&] { return adapter_.fetch_profile(platform, handle); });
}

expected<post_check, error> client::verify_post(std::string_view platform, std::string_view post,
                                                disclosure required, call_stats* stats) {
  std::string p{platform};
  return with_retries<post_check>(p, stats, [&] { return adapter_.verify_post(platform, post, required); });
}

expected<post_stats, error> client::fetch_post_stats_now(std::string_view platform, std::string_view post,
                                                         int64_t reserve, call_stats* stats) {
  call_stats st;
  std::string p{platform};
  auto finish = [&](expected<post_stats, error> r) {
    if (stats)
      *stats = st;
    return r;
  };
  if (auto token = try_take_token(p, reserve); !token)
    return finish(token.error());
  ++st.attempts;
  auto r = adapter_.fetch_post_stats(platform, post);
  if (!r && r.error().code == errc::rate_limited) {
    // The platform says the quota is gone: every request for it waits (as with_retries does).
    std::lock_guard<std::mutex> guard{mtx_};
    auto& b = buckets_[p];
    b.fresh = false;
    b.tokens = std::min(b.tokens, 0.0);
    b.at = std::max(b.at, clock_.now() + r.error().retry_after_ms);
  }
  return finish(std::move(r));
}

void client::fetch_post_stats_async(std::string platform, std::string post, int64_t reserve,
                                    std::function<void(expected<post_stats, error>)> done) {
  auto shared = std::make_shared<std::function<void(expected<post_stats, error>)>>(std::move(done));
  bool queued = !stopped_ && exec_->post([this, platform, post, reserve, shared] {
    (*shared)(fetch_post_stats_now(platform, post, reserve));
  });
  if (!queued)
    (*shared)(error{stopped_ ? errc::unavailable : errc::overloaded,
                    stopped_ ? "the social client is shutting down" : "too many platform requests queued",
                    0});
}

void client::fetch_profile_async(std::string platform, std::string handle,
                                 std::function<void(expected<profile_stats, error>)> done) {
  auto shared = std::make_shared<std::function<void(expected<profile_stats, error>)>>(std::move(done));
  bool queued = !stopped_ && exec_->post([this, platform, handle, shared] {
    (*shared)(fetch_profile(platform, handle));
  });
  if (!queued)
    (*shared)(error{stopped_ ? errc::unavailable : errc::overloaded,
                    stopped_ ? "the social client is shutting down" : "too many platform requests queued",
                    0});
}

void client::verify_post_async(std::string platform, std::string post, disclosure required,
                               std::function<void(expected<post_check, error>)> done) {
  auto shared = std::make_shared<std::function<void(expected<post_check, error>)>>(std::move(done));
  bool queued = !stopped_ && exec_->post([this, platform, post, required, shared] {
    (*shared)(verify_post(platform, post, required));
  });
  if (!queued)
    (*shared)(error{stopped_ ? errc::unavailable : errc::overloaded,
                    stopped_ ? "the social client is shutting down" : "too many platform requests queued",
                    0});
}

} // namespace pactum::social
