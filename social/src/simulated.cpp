#include "pactum/social/simulated.hpp"

#include <algorithm>
#include <cmath>

#include "pactum/protocol/profiles.hpp"

namespace pactum::social {

namespace {

constexpr millis day_ms = 24 * 3600 * 1000LL;
constexpr millis week_ms = 7 * day_ms;
constexpr millis anchor = 1'767'225'600'000; // 2026-01-01T00:00Z: growth is counted from here
constexpr int history_samples = 12;          // weekly, the last one today

uint64_t fnv1a(std::string_view a, std::string_view b, uint64_t seed) {
  uint64_t h = 1469598103934665603ULL ^ seed;
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    h ^= 0xff; // separator
    h *= 1099511628211ULL;
  };
  mix(a);
  mix(b);
  return h;
}

/// A deterministic stream of uniform numbers in [0, 1) (splitmix64).
struct stream {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  double between(double lo, double hi) { return lo + (hi - lo) * uniform(); }
};

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

/// An ordinary engagement rate (percent) for an account of this size: well inside its tier.
double ordinary_engagement(double followers, stream& r) {
  if (followers < 10'000)
    return r.between(3, 8);
  if (followers < 100'000)
    return r.between(2, 5);
  if (followers < 1'000'000)
    return r.between(1, 3.5);
  if (followers < 10'000'000)
    return r.between(0.6, 2);
  return r.between(0.4, 1.5);
}

double round2(double v) {
  return std::round(v * 100) / 100;
}

bool video_platform(std::string_view p) {
  return p == "tiktok" || p == "youtube" || p == "instagram" || p == "twitch" || p == "snapchat";
}

error fail(errc code, std::string msg, int64_t retry_after_ms = 0) {
  return error{code, std::move(msg), retry_after_ms};
}

constexpr const char* captions[] = {
  "Sunday ride along the river, new route unlocked",
  "Trying the new gear on the steepest hill in town",
  "Five things I wish I had known when I started",
  "Morning routine, honest version",
  "Behind the scenes of this week's shoot",
  "Answering your questions from last week",
};

} // namespace

simulated_provider::simulated_provider(simulated_config cfg) : cfg_(std::move(cfg)) {}

int64_t simulated_provider::quota_refusals() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return refusals_;
}

int64_t simulated_provider::admitted_calls() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return admitted_;
}

expected<bool, error> simulated_provider::take_quota(std::string_view platform) {
  if (cfg_.calls_per_window <= 0) {
    std::lock_guard<std::mutex> guard{mtx_};
    ++admitted_;
    return true;
  }
  auto now = cfg_.now();
  auto window_ms = std::max<int64_t>(cfg_.window_ms, 1);
  auto index = now / window_ms;
  std::lock_guard<std::mutex> guard{mtx_};
  auto& w = windows_[std::string{platform}];
  if (w.index != index) {
    w.index = index;
    w.calls = 0;
  }
  if (w.calls >= cfg_.calls_per_window) {
    ++refusals_;
    return fail(errc::rate_limited, "quota exceeded for " + std::string{platform},
                (index + 1) * window_ms - now);
  }
  ++w.calls;
  ++admitted_;
  return true;
}

profile_stats simulated_provider::generate(std::string_view platform, std::string_view handle,
                                           uint64_t seed, millis now) {
  stream r{fnv1a(platform, handle, seed)};
  profile_stats s;
  s.platform = std::string{platform};
  s.handle = std::string{handle};
  s.fetched_at = now;
  enum class kind { ordinary, bought, pods, jump, follow } k = kind::ordinary;
  if (starts_with(handle, "fake_bought_"))
    k = kind::bought;
  else if (starts_with(handle, "fake_pods_"))
    k = kind::pods;
  else if (starts_with(handle, "fake_jump_"))
    k = kind::jump;
  else if (starts_with(handle, "fake_follow_"))
    k = kind::follow;

  // Followers at the anchor date, and a weekly growth rate.
  double base = 0;
  switch (k) {
    case kind::ordinary:
      base = 1'000 * std::pow(10.0, r.between(0, 3.5)); // 1,000 .. ~3,160,000
      break;
    case kind::bought:
      base = r.between(50'000, 800'000);
      break;
    case kind::pods:
      base = r.between(100'000, 900'000);
      break;
    case kind::jump:
      base = r.between(20'000, 400'000);
      break;
    case kind::follow:
      base = r.between(2'000, 20'000);
      break;
  }
  double growth = r.between(0.001, 0.008);
  auto followers_at = [&](millis t) {
    double weeks = static_cast<double>(t - anchor) / static_cast<double>(week_ms);
    weeks = std::clamp(weeks, -520.0, 520.0);
    return std::min(base * std::pow(1 + growth, weeks), 1.5e9);
  };
  auto today = now - (now % day_ms + day_ms) % day_ms;
  const int jump_at = history_samples - 4;
  for (int i = 0; i < history_samples; ++i) {
    auto at = i == history_samples - 1 ? now : today - (history_samples - 1 - i) * week_ms;
    double f = followers_at(at);
    // A small per-week wobble (+-0.3 %), the same whenever that week is sampled.
    stream wobble{fnv1a(handle, platform, seed ^ static_cast<uint64_t>(at / week_ms))};
    f *= 1 + wobble.between(-0.003, 0.003);
    if (k == kind::jump && i < jump_at)
      f /= 2.5;
    s.history.push_back({at, static_cast<int64_t>(std::llround(std::max(f, 0.0)))});
  }
  s.followers = s.history.back().followers;
  auto f = static_cast<double>(s.followers);

  double engagement = 0; // percent
  switch (k) {
    case kind::bought:
      engagement = r.between(0.03, 0.08);
      break;
    case kind::pods:
      engagement = r.between(25, 40);
      break;
    default:
      engagement = ordinary_engagement(f, r);
      break;
  }
  double comment_share = r.between(0.02, 0.06);
  double interactions = f * engagement / 100;
  s.average_comments = static_cast<int64_t>(std::llround(interactions * comment_share));
  s.average_likes = static_cast<int64_t>(std::llround(interactions)) - s.average_comments;
  s.engagement_rate = f > 0 ? round2(static_cast<double>(s.average_likes + s.average_comments) / f * 100) : 0;

  double views = k == kind::bought ? r.between(0.002, 0.006)
                 : video_platform(platform) ? r.between(0.1, 0.6)
                                            : r.between(0.05, 0.3);
  s.average_views = static_cast<int64_t>(std::llround(f * views));
  s.following = k == kind::follow
                  ? static_cast<int64_t>(std::llround(f * r.between(0.85, 1.1)))
                  : static_cast<int64_t>(std::llround(r.between(20, 300) + f * r.between(0, 0.02)));
  s.posts = static_cast<int64_t>(std::llround(r.between(30, 1'500)));
  return s;
}

expected<profile_stats, error> simulated_provider::fetch_profile(std::string_view platform,
                                                                 std::string_view raw_handle) {
  if (auto q = take_quota(platform); !q)
    return q.error();
  if (!protocol::profiles::is_platform(platform))
    return fail(errc::invalid_handle, "no such platform: " + std::string{platform});
  auto handle = normalise_handle(raw_handle);
  if (!plausible_handle(handle))
    return fail(errc::invalid_handle, "not a handle " + std::string{platform} + " allows");
  if (starts_with(handle, "gone_"))
    return fail(errc::not_found, "no account @" + handle + " on " + std::string{platform});
  if (starts_with(handle, "flaky_")) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& seen = flaky_seen_[std::string{platform} + "/" + handle];
    if (seen < cfg_.flaky_failures) {
      ++seen;
      return fail(errc::unavailable, std::string{platform} + " did not answer in time");
    }
  }
  return generate(platform, handle, cfg_.seed, cfg_.now());
}

namespace {

/// The post id a reference names: the last path segment of a URL (query and fragment dropped),
/// or the text itself; an error when it cannot be one.
expected<std::string_view, error> post_id_of(std::string_view platform, std::string_view post) {
  if (!protocol::profiles::is_platform(platform))
    return fail(errc::invalid_handle, "no such platform: " + std::string{platform});
  auto ref = post.substr(0, post.find_first_of("?#"));
  while (!ref.empty() && ref.back() == '/')
    ref.remove_suffix(1);
  auto id = ref.substr(ref.rfind('/') == std::string_view::npos ? 0 : ref.rfind('/') + 1);
  bool valid = !id.empty() && id.size() <= 128
               && std::all_of(id.begin(), id.end(), [](unsigned char c) {
                    return std::isalnum(c) || c == '.' || c == '_' || c == '-';
                  });
  if (!valid)
    return fail(errc::invalid_handle, "not a post reference");
  return id;
}

std::string lower_case(std::string_view id) {
  std::string lower{id};
  for (auto& c : lower)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

} // namespace

post_stats simulated_provider::generate_post_stats(std::string_view platform, std::string_view post_id,
                                                   uint64_t seed, millis now) {
  auto lower = lower_case(post_id);
  stream r{fnv1a(platform, lower, seed ^ 0x7155)};
  post_stats s;
  s.platform = std::string{platform};
  s.post_id = std::string{post_id};
  s.fetched_at = now;
  // Posted in the first four weeks after the anchor; then a saturating reach (the burst of the
  // first days) plus a steady trickle of views that never stops.
  s.posted_at = anchor + static_cast<millis>(r.next() % static_cast<uint64_t>(4 * week_ms));
  double reach = 1'000 * std::pow(10.0, r.between(0.7, 2.7)); // ~5,000 .. ~500,000
  double tau_ms = r.between(6, 48) * 3'600'000.0;
  double trickle_per_s = r.between(1, 3);
  double like_rate = r.between(0.02, 0.08);
  double comment_share = r.between(0.02, 0.06);
  if (now <= s.posted_at)
    return s;
  auto age = static_cast<double>(now - s.posted_at);
  double views = reach * (1 - std::exp(-age / tau_ms)) + trickle_per_s * age / 1000;
  s.views = static_cast<int64_t>(std::floor(std::min(views, 9e15)));
  s.likes = static_cast<int64_t>(std::floor(static_cast<double>(s.views) * like_rate));
  s.comments = static_cast<int64_t>(std::floor(static_cast<double>(s.likes) * comment_share));
  return s;
}

expected<post_stats, error> simulated_provider::fetch_post_stats(std::string_view platform,
                                                                 std::string_view post) {
  if (auto q = take_quota(platform); !q)
    return q.error();
  auto id = post_id_of(platform, post);
  if (!id)
    return id.error();
  if (starts_with(lower_case(*id), "missing"))
    return fail(errc::not_found, "no such post on " + std::string{platform});
  return generate_post_stats(platform, *id, cfg_.seed, cfg_.now());
}

expected<post_check, error> simulated_provider::verify_post(std::string_view platform,
                                                            std::string_view post,
                                                            disclosure required) {
  if (auto q = take_quota(platform); !q)
    return q.error();
  auto checked = post_id_of(platform, post);
  if (!checked)
    return checked.error();
  auto id = *checked;
  auto lower = lower_case(id);
  if (starts_with(lower, "missing"))
    return fail(errc::not_found, "no such post on " + std::string{platform});
  stream r{fnv1a(platform, lower, cfg_.seed ^ 0x5005)};
  post_check p;
  p.platform = std::string{platform};
  p.post_id = std::string{id};
  p.exists = true;
  p.caption = captions[r.next() % std::size(captions)];
  if (starts_with(lower, "ad-"))
    p.caption += " #ad";
  else if (starts_with(lower, "sponsored-"))
    p.caption += " #sponsored";
  else if (starts_with(lower, "partner-"))
    p.paid_partnership = true;
  p.caption += " #weekly";
  p.has_ad_tag = has_hashtag(p.caption, "#ad");
  p.has_sponsored_tag = has_hashtag(p.caption, "#sponsored");
  auto now = cfg_.now();
  auto today = now - (now % day_ms + day_ms) % day_ms;
  p.posted_at = today - static_cast<millis>(r.between(1, 30) * static_cast<double>(day_ms));
  p.disclosed = meets(p, required);
  return p;
}

} // namespace pactum::social
