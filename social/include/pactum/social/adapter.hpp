#pragma once

// The social-platform adapter interface: what Pactum asks of a platform (TikTok, Instagram,
// YouTube, ...) about a creator's account and about one post. An implementation is a client of
// one provider (the embedded simulated provider, simulated.hpp, or a real platform API).
//
// Adapter calls BLOCK (a real adapter waits on the network): never call them on a CAF scheduler
// or Asio I/O thread. `social::client` (client.hpp) runs them on its own executor, under the
// platforms' quotas, with retries and backoff; the rest of Pactum uses that client only.
//
// Errors are typed (`errc`): a caller can tell "no such account" from "come back in 30 s".

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pactum/common/expected.hpp"
#include "pactum/common/time.hpp"

namespace pactum::social {

enum class errc : uint8_t {
  not_found = 1,  ///< no such account / post on the platform (final)
  rate_limited,   ///< the platform's quota is used up; retry after `retry_after_ms` (retryable)
  unavailable,    ///< the platform failed or could not be reached; nothing happened (retryable)
  invalid_handle, ///< the handle (or post reference) cannot exist on that platform (final)
  overloaded,     ///< the client's own queue is full (retryable, later)
};

/// The stable word of an error code ("not_found", "rate_limited", ...).
std::string_view to_string(errc e) noexcept;

/// True for errors that may succeed when tried again later.
constexpr bool retryable(errc e) noexcept {
  return e == errc::rate_limited || e == errc::unavailable || e == errc::overloaded;
}

struct error {
  errc code = errc::unavailable;
  std::string message;
  int64_t retry_after_ms = 0; ///< rate_limited: when the quota allows the next call (> 0)
};

/// One sample of an account's follower count over time (oldest first in `history`).
struct follower_sample {
  millis at = 0;
  int64_t followers = 0;
  friend bool operator==(const follower_sample&, const follower_sample&) = default;
};

/// An account's statistics as the platform reports them (averages over recent posts).
struct profile_stats {
  std::string platform;
  std::string handle;    ///< normalised: no leading '@', lower case
  int64_t followers = 0;
  int64_t following = 0;
  int64_t posts = 0;
  int64_t average_views = 0;
  int64_t average_likes = 0;
  int64_t average_comments = 0;
  /// (average likes + average comments) / followers, in percent, two decimals.
  double engagement_rate = 0;
  std::vector<follower_sample> history; ///< oldest first; the last is `followers` now
  millis fetched_at = 0;
  friend bool operator==(const profile_stats&, const profile_stats&) = default;
};

/// What a post must show to count as disclosed advertising.
enum class disclosure : uint8_t {
  none,             ///< nothing required: only existence is checked
  any,              ///< `#ad`, `#sponsored` or the platform's paid-partnership flag
  hashtag_ad,       ///< the caption has `#ad`
  hashtag_sponsored, ///< the caption has `#sponsored`
  paid_partnership, ///< the platform's paid-partnership label is set
};

/// "none", "any", "#ad", "#sponsored", "paid_partnership" (false for anything else).
bool parse_disclosure(std::string_view text, disclosure& out) noexcept;
std::string_view to_string(disclosure d) noexcept;

/// The answer about one post.
struct post_check {
  std::string platform;
  std::string post_id;      ///< the id the reference named
  bool exists = false;      ///< false only with `not_found` errors; kept for callers' records
  bool has_ad_tag = false;  ///< the caption has the hashtag #ad (a whole tag, any case)
  bool has_sponsored_tag = false;
  bool paid_partnership = false; ///< the platform's own label
  bool disclosed = false;   ///< the required disclosure is there
  std::string caption;
  millis posted_at = 0;
  friend bool operator==(const post_check&, const post_check&) = default;
};

/// A post's audience figures as the platform counts them now (views only ever grow, except when a
/// platform corrects its count downwards).
struct post_stats {
  std::string platform;
  std::string post_id;  ///< the id the reference named
  int64_t views = 0;
  int64_t likes = 0;
  int64_t comments = 0;
  millis posted_at = 0;
  millis fetched_at = 0;
  friend bool operator==(const post_stats&, const post_stats&) = default;
};

/// True when `caption` contains `tag` ("#ad") as a whole hashtag, case-insensitively ("#ad" in
/// "#adidas" does not count; "#AD," does).
bool has_hashtag(std::string_view caption, std::string_view tag) noexcept;

/// Whether a post with these properties meets `required`.
bool meets(const post_check& p, disclosure required) noexcept;

/// A platform adapter. Implementations are thread-safe: calls may come from several threads.
class adapter {
public:
  virtual ~adapter() = default;

  /// The name logged and documented ("simulated").
  virtual std::string_view name() const noexcept = 0;

  /// The statistics of `handle` on `platform` (blocking).
  virtual expected<profile_stats, error> fetch_profile(std::string_view platform,
                                                       std::string_view handle) = 0;

  /// Whether the post `post` (a URL or a platform post id) exists, and what it discloses
  /// (blocking). `disclosed` is judged against `required`.
  virtual expected<post_check, error> verify_post(std::string_view platform, std::string_view post,
                                                  disclosure required) = 0;

  /// The post's view, like and comment counts now (blocking); `not_found` when there is no such
  /// post. Counted against the platform's quota like every other call. The default answers
  /// `unavailable` (an adapter whose platform offers no counts).
  virtual expected<post_stats, error> fetch_post_stats(std::string_view platform, std::string_view post);
};

/// A handle as platforms compare them: leading '@' dropped, ASCII lower case.
std::string normalise_handle(std::string_view handle);

/// True when a normalised handle has 1 to 64 characters of [a-z0-9._-].
bool plausible_handle(std::string_view normalised) noexcept;

} // namespace pactum::social
