#include "pactum/social/signals.hpp"

#include <array>
#include <cmath>
#include <cstdio>

namespace pactum::social {

namespace {

// Engagement rates (percent) outside of which an account of the tier is flagged. Real accounts
// spread widely (small ones engage more); these are several times beyond the usual ranges.
constexpr std::array<tier, 5> tiers{{
  {"nano", 0, 1.0, 25.0},
  {"micro", 10'000, 0.5, 18.0},
  {"mid", 100'000, 0.3, 12.0},
  {"macro", 1'000'000, 0.15, 8.0},
  {"mega", 10'000'000, 0.08, 6.0},
}};

std::string percent(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f %%", v);
  return buf;
}

} // namespace

const tier& tier_of(int64_t followers) noexcept {
  const tier* t = &tiers[0];
  for (auto& x : tiers)
    if (followers >= x.min_followers)
      t = &x;
  return *t;
}

std::vector<fraud_signal> assess(const profile_stats& s) {
  std::vector<fraud_signal> out;
  auto f = static_cast<double>(s.followers);
  const auto& t = tier_of(s.followers);
  if (s.followers >= 1'000 && s.engagement_rate < t.engagement_floor)
    out.push_back({"engagement_too_low",
                   "engagement of " + percent(s.engagement_rate) + " is far below the "
                     + percent(t.engagement_floor) + " that real " + t.name + " accounts reach",
                   {{"engagement_rate", s.engagement_rate}, {"floor", t.engagement_floor},
                    {"followers", f}}});
  if (s.followers >= 1'000 && s.engagement_rate > t.engagement_ceiling)
    out.push_back({"engagement_too_high",
                   "engagement of " + percent(s.engagement_rate) + " is far above the "
                     + percent(t.engagement_ceiling) + " that real " + t.name + " accounts reach",
                   {{"engagement_rate", s.engagement_rate}, {"ceiling", t.engagement_ceiling},
                    {"followers", f}}});
  if (s.followers >= 10'000 && s.average_views * 100 < s.followers)
    out.push_back({"views_too_low", "posts are seen by fewer than 1 in 100 followers",
                   {{"average_views", static_cast<double>(s.average_views)}, {"followers", f},
                    {"views_per_follower", static_cast<double>(s.average_views) / f}}});
  for (size_t i = 1; i < s.history.size(); ++i) {
    auto before = s.history[i - 1].followers;
    auto after = s.history[i].followers;
    if (before <= 0)
      continue;
    auto change = static_cast<double>(after - before) / static_cast<double>(before);
    if (change > 0.5 && after - before >= 1'000)
      out.push_back({"follower_jump",
                     "followers grew by " + percent(change * 100) + " between two samples",
                     {{"from", static_cast<double>(before)}, {"to", static_cast<double>(after)},
                      {"from_at", static_cast<double>(s.history[i - 1].at)},
                      {"to_at", static_cast<double>(s.history[i].at)}, {"growth", change}}});
    if (change < -0.2 && before - after >= 1'000)
      out.push_back({"follower_drop",
                     "followers fell by " + percent(-change * 100) + " between two samples",
                     {{"from", static_cast<double>(before)}, {"to", static_cast<double>(after)},
                      {"from_at", static_cast<double>(s.history[i - 1].at)},
                      {"to_at", static_cast<double>(s.history[i].at)}, {"growth", change}}});
  }
  if (s.followers >= 1'000 && static_cast<double>(s.following) > 0.6 * f)
    out.push_back({"follow_ratio", "follows almost as many accounts as follow it",
                   {{"following", static_cast<double>(s.following)}, {"followers", f},
                    {"ratio", static_cast<double>(s.following) / f}}});
  if (s.average_likes >= 100 && s.average_comments * 200 < s.average_likes)
    out.push_back({"few_comments", "fewer than 1 comment per 200 likes",
                   {{"average_likes", static_cast<double>(s.average_likes)},
                    {"average_comments", static_cast<double>(s.average_comments)}}});
  return out;
}

} // namespace pactum::social
