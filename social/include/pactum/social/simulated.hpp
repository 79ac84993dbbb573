#pragma once

// The embedded SIMULATED provider: the default adapter (no network), used by pactumd unless told
// otherwise and by every test. Deterministic: an account's statistics are a function of
// (platform, normalised handle, seed) and of the day its clock says it is (followers grow a
// little each week); a post's answer is a function of (platform, post id, seed). Two providers
// with the same seed and clock answer the same.
//
// Scripted handles (after dropping a leading '@', lower case; docs/api.md, "Social platforms"):
//   gone_*          not_found
//   flaky_*         unavailable for the first 2 calls per handle (per provider), then answers
//   fake_bought_*   bought followers: engagement and views far below the follower tier
//   fake_pods_*     engagement pods / bought likes: engagement far above the follower tier
//   fake_jump_*     a sudden follower jump (+150 %) between two weekly history samples
//   fake_follow_*   follow-for-follow: following almost as many accounts as follow it
//   anything else   plausible statistics (never flagged by `assess`, signals.hpp)
// A handle that is not 1 to 64 characters of [a-z0-9._-] is invalid_handle.
//
// Posts: the id is the reference's last path segment (a URL's query and fragment dropped), or
// the reference itself. By its prefix:
//   missing*     not_found
//   ad-*         exists, caption has #ad
//   sponsored-*  exists, caption has #sponsored
//   partner-*    exists, the platform's paid-partnership label is set (no hashtag)
//   anything else exists without any disclosure
// Post counts (fetch_post_stats): posted at a hash-chosen time in the four weeks after
// 2026-01-01; views = reach * (1 - e^(-age / tau)) + trickle * age (reach 5k..500k, tau 6..48 h,
// trickle 1..3 views per second, all from the hash), so every poll a second apart sees more;
// likes and comments are fixed shares of them. missing* posts are not_found, as for verify.
//
// Quotas, the way real platform APIs enforce them: per platform, a fixed window of
// `window` (aligned to the clock) allows `calls_per_window` calls (fetches and post checks
// alike, answered or not); the next is refused with rate_limited and retry_after_ms = the time
// until the window ends. Thread-safe.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "pactum/social/adapter.hpp"

namespace pactum::social {

struct simulated_config {
  uint64_t seed = 1;                     ///< changes every generated figure
  int64_t calls_per_window = 60;         ///< per platform; 0: no quota
  int64_t window_ms = 60'000;
  int flaky_failures = 2;                ///< unavailable answers a flaky_ handle gets first
  std::function<millis()> now = [] { return now_millis(); }; ///< the clock (virtual in tests)
};

class simulated_provider final : public adapter {
public:
  explicit simulated_provider(simulated_config cfg);

  std::string_view name() const noexcept override { return "simulated"; }
  expected<profile_stats, error> fetch_profile(std::string_view platform,
                                               std::string_view handle) override;
  expected<post_check, error> verify_post(std::string_view platform, std::string_view post,
                                          disclosure required) override;
  expected<post_stats, error> fetch_post_stats(std::string_view platform, std::string_view post) override;

  /// Calls refused for the quota since start (for tests and metrics).
  int64_t quota_refusals() const;
  /// Calls the quota let through since start.
  int64_t admitted_calls() const;

  /// The statistics the provider reports for `handle` at time `now` (no quota, no faults): the
  /// pure generator behind fetch_profile. `handle` must be normalised and plausible.
  static profile_stats generate(std::string_view platform, std::string_view handle, uint64_t seed,
                                millis now);

  /// The counts the provider reports for the post `post_id` (an id, not a URL) at time `now` (no
  /// quota, no faults): the pure generator behind fetch_post_stats. Views never decrease as `now`
  /// grows (docs/api.md, "The simulated provider").
  static post_stats generate_post_stats(std::string_view platform, std::string_view post_id, uint64_t seed,
                                        millis now);

private:
  /// Counts a call against the platform's quota; an error when the window is used up.
  expected<bool, error> take_quota(std::string_view platform);

  simulated_config cfg_;
  mutable std::mutex mtx_;
  struct window {
    int64_t index = -1;
    int64_t calls = 0;
  };
  std::unordered_map<std::string, window> windows_; ///< platform -> current window
  std::unordered_map<std::string, int> flaky_seen_; ///< platform/handle -> calls so far
  int64_t refusals_ = 0;
  int64_t admitted_ = 0;
};

} // namespace pactum::social
