#pragma once

// Matching: how well a creator fits a campaign, as a score in [0, 1] with its reasons. Pure C++:
// no CAF, no I/O, no clock; the same inputs always give the same answer. Used by the runtime's
// `match_creators` (ranked creators for a campaign, candidates prefiltered in PostgreSQL) and by
// whoever ranks campaigns for a creator (`rank_campaigns`). Measured offline against generated
// ground truth (tests/actors/matching_ndcg_test.cpp, docs/benchmarks.md "Matching quality").
//
// The score is a weighted sum of six factors, each in [0, 1], with the weights of `weights` (they
// sum to 1). Every result lists one reason per factor: its weight, its score, its contribution
// (weight x score; the contributions sum to the total) and a short text for people. The factors
// (docs/api.md, "Matching"):
//   niche       the campaign's target niches the creator covers, and how focused the creator is
//   audience    the share of the creator's audience in the target countries, age bands and gender
//   engagement  engagement rate against what is usual for the follower tier; implausibly high
//               rates (bought engagement) score low again, no data scores low
//   geography   the creator lives in a target country
//   price       what the campaign pays (its pricing model and rate, else its budget) against the
//               creator's own rates for the campaign's collaboration types
//   history     on-time delivery, approval rate, revisions and campaign results of past contracts,
//               shrunk towards a neutral prior so that newcomers are not buried
// Hard requirements (`campaign_audience::min_followers`, `min_engagement_bps`) are not factors: a
// creator below them is `eligible == false` and the ranking functions leave them out.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pactum/protocol/campaign_events.hpp"
#include "pactum/protocol/profiles.hpp"

namespace pactum::actors::matching {

/// A creator's record from past contracts (persistence computes it from the contract journals,
/// persistence/src/matching_store.cpp). A creator without history has all zeros.
struct history {
  int64_t contracts = 0;      ///< funded contracts whose delivery was decided (delivered or missed)
  int64_t completed = 0;      ///< contracts released to the creator
  double on_time_rate = 0;    ///< of `contracts`: delivered before the deadline
  int64_t reviewed = 0;       ///< delivered contracts that ended (the approval rate's base)
  double approval_rate = 0;   ///< of `reviewed`: released (approved, or the review window lapsed)
  double mean_revisions = 0;  ///< revision requests per delivered contract
  int64_t disputes = 0;       ///< contracts that went to a dispute
  /// Campaign results in [0, 1] (e.g. delivered results against the campaign's goals), when any
  /// are known. No store fills it yet: campaigns are not persisted (see docs/api.md).
  std::optional<double> results;
  friend bool operator==(const history&, const history&) = default;
};

/// One factor of the score, explained.
struct reason {
  std::string factor; ///< "niche", "audience", "engagement", "geography", "price", "history"
  double weight = 0;  ///< the factor's weight (`weights`)
  double score = 0;   ///< the factor's score in [0, 1]
  double contribution = 0; ///< weight x score
  std::string text;   ///< e.g. "2 of 3 target niches"
};

/// A creator's fit to a campaign.
struct match {
  double score = 0;             ///< sum of the reasons' contributions, in [0, 1]
  bool eligible = true;         ///< meets the campaign's hard requirements
  std::vector<std::string> unmet; ///< the hard requirements it misses, in words
  std::vector<reason> reasons;  ///< one per factor, in the order of `weights`
};

/// One row of the weight table.
struct factor_weight {
  std::string_view factor;
  double weight;
  std::string_view measures;
};

/// The weights, in one place (documented in docs/api.md, "Matching"). They sum to 1.
inline constexpr factor_weight weights[] = {
  {"niche", 0.30, "target niches covered, and the creator's focus on them"},
  {"audience", 0.20, "audience share in the target countries, age bands and gender"},
  {"engagement", 0.15, "engagement rate against the follower tier's norm; implausible rates penalised"},
  {"geography", 0.10, "the creator lives in a target country"},
  {"price", 0.15, "the campaign's pay against the creator's rates for its collaboration types"},
  {"history", 0.10, "on-time delivery, approvals, revisions and results, with a prior for newcomers"},
};

/// Scores `creator` (with its past `record`) for `campaign`.
match score(const protocol::campaign_details& campaign,
            const protocol::profiles::creator_profile& creator, const history& record);

/// A creator to rank, and what the caller knows it by.
struct candidate {
  protocol::profiles::creator_profile profile;
  history record;
};

/// A ranked result: which input it is (index into the input list) and its match.
struct ranked {
  size_t index = 0;
  match result;
};

/// The eligible `candidates` best first (ties: input order), at most `limit`.
std::vector<ranked> rank_creators(const protocol::campaign_details& campaign,
                                  const std::vector<candidate>& candidates, size_t limit);

/// The campaigns `creator` is eligible for, best fit first (ties: input order), at most `limit`.
std::vector<ranked> rank_campaigns(const protocol::profiles::creator_profile& creator,
                                   const history& record,
                                   const std::vector<protocol::campaign_details>& campaigns,
                                   size_t limit);

/// The rate a creator's engagement is measured against: a typical engagement rate (percent) for
/// an account with this many followers (nano 5 %, micro 3 %, mid 2 %, macro 1.5 %, mega 1 %).
double expected_engagement(int64_t followers) noexcept;

} // namespace pactum::actors::matching
