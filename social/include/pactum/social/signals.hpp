#pragma once

// Fake-follower signals: a pure function over an account's statistics that says what looks
// bought or botted, each finding with the figures that triggered it, so a moderator can judge.
// An account with at least one signal is flagged for review (never punished automatically).
//
// The thresholds are deliberately wide: they name what is far outside what real accounts of the
// same follower tier show, so that ordinary accounts are not flagged (docs/api.md, "Social
// platforms", lists them).
//
// | signal                | when |
// |-----------------------|------|
// | engagement_too_low    | engagement rate below the tier's floor (bought followers do not like or comment) |
// | engagement_too_high   | engagement rate above the tier's ceiling (pods, bought likes) |
// | views_too_low         | average views below 1 % of followers (>= 10,000 followers) |
// | follower_jump         | followers grew by more than 50 % (and by at least 1,000) between two samples |
// | follower_drop         | followers fell by more than 20 % (and by at least 1,000) between two samples (a platform purge) |
// | follow_ratio          | following more than 60 % of its follower count (>= 1,000 followers): follow-for-follow |
// | few_comments          | fewer than 1 comment per 200 likes (>= 100 likes on average): bought likes |

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "pactum/social/adapter.hpp"

namespace pactum::social {

/// A follower tier and the engagement rates (percent) outside of which an account is flagged.
struct tier {
  const char* name;       ///< nano, micro, mid, macro, mega
  int64_t min_followers;  ///< inclusive
  double engagement_floor;
  double engagement_ceiling;
};

/// The tier of an account with `followers` followers.
const tier& tier_of(int64_t followers) noexcept;

struct fraud_signal {
  std::string code;    ///< one of the names in the table above
  std::string message; ///< a sentence for the moderator
  std::vector<std::pair<std::string, double>> figures; ///< what was measured and the threshold
  friend bool operator==(const fraud_signal&, const fraud_signal&) = default;
};

/// Every signal the statistics show (empty: nothing suspicious). Pure.
std::vector<fraud_signal> assess(const profile_stats& s);

} // namespace pactum::social
