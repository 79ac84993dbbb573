#pragma once

// Matching's reads (migration 0019, docs/api.md "Matching"): candidate creators for a campaign,
// prefiltered with indexed SQL, each with its history figures computed from the contract
// journals. Free functions over `database`, like profile_store: they run on its pool threads
// behind the same exception boundary; callbacks run on a pool thread (so the caller may score the
// candidates right there, off the CAF and Asio threads). No libpqxx type appears here.

#include <functional>
#include <string>
#include <vector>

#include "pactum/persistence/database.hpp"
#include "pactum/persistence/profile_store.hpp"

namespace pactum::persistence {

/// A creator's record from their contracts (see `actors::matching::history`, which mirrors it).
struct creator_history_row {
  uuid creator;
  int64_t contracts = 0;  ///< funded contracts whose delivery was decided: delivered, or the
                          ///< delivery deadline refunded them
  int64_t on_time = 0;    ///< of those: delivered and never refunded for a missed deadline
  int64_t completed = 0;  ///< released to the creator
  int64_t reviewed = 0;   ///< delivered and ended (released, resolved, refunded or cancelled)
  int64_t delivered = 0;  ///< contracts with at least one delivery
  int64_t revisions = 0;  ///< revision requests over the delivered contracts
  int64_t disputes = 0;   ///< contracts that were disputed
};

/// What the prefilter selects on (empty lists: no condition).
struct match_candidate_query {
  std::vector<std::string> niches;    ///< shares at least one (GIN index on creator_profiles.niches)
  std::vector<std::string> countries; ///< lives in one, or lists one among the audience's top countries
  int64_t min_followers = 0;
  size_t cap = 2'000;                 ///< at most this many: the most target niches first
};

struct match_candidate_row {
  creator_profile_row profile;
  creator_history_row history;
};

/// Creators (current role creator, with a profile) matching `q`, at most `q.cap`: those sharing
/// the most target niches first, then living in a target country, then by id. Each with history.
void load_match_candidates(database& db, match_candidate_query q,
                           std::function<void(result<std::vector<match_candidate_row>>)> done);

/// History figures of these creators (one row each, zeros for a creator without contracts), in
/// the order given. At most 10,000 ids.
void load_creator_history(database& db, std::vector<uuid> creators,
                          std::function<void(result<std::vector<creator_history_row>>)> done);

} // namespace pactum::persistence
