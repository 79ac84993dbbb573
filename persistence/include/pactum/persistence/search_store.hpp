#pragma once

// Creator search (migration 0018): one page of creator profiles matching validated filters, in a
// stable order, read from the read-model columns of creator_profiles. A free function over
// `database`, on its pool threads, like profile_store.hpp. No libpqxx type appears here.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pactum/persistence/database.hpp"
#include "pactum/persistence/profile_store.hpp"

namespace pactum::persistence {

/// The sort orders; each is descending with the user id (descending) as tie-breaker.
enum class creator_sort { relevance, followers, engagement };

/// Filters the actors layer has already validated (taxonomy, ranges, limits). Empty / nullopt:
/// no filter.
struct creator_search {
  std::vector<std::string> niches;    ///< any of
  std::string platform;               ///< the follower / engagement ranges apply to its accounts
  std::optional<int64_t> followers_min, followers_max;
  std::optional<double> engagement_min, engagement_max;
  std::string audience_country;
  std::string audience_age_band;
  double audience_min_share = 0;      ///< percent, for the two above
  std::string country;
  std::optional<double> lat, lon, radius_km; ///< all three or none
  std::vector<std::string> languages; ///< any of
  std::string rate_type;              ///< "" any type
  std::string rate_currency;          ///< set when any rate filter is
  std::optional<int64_t> rate_min, rate_max;
  std::string text;                   ///< websearch syntax over the bio, config 'simple'
  creator_sort sort = creator_sort::followers;
  size_t limit = 20;
  /// Resume after this position (the last row of the previous page): its sort key and user.
  std::optional<double> after_key;
  std::optional<uuid> after_user;
};

/// One hit: the profile (as stored) and the figures that made it match.
struct creator_hit {
  creator_profile_row profile;
  int64_t followers = 0;         ///< of the best matching account on the platform, else the total
  double engagement_rate = 0;    ///< likewise (else the best account's)
  std::optional<double> audience_country_share;
  std::optional<double> audience_age_share;
  std::optional<int64_t> rate_amount; ///< the lowest matching rate (rate filters only)
  std::string rate_type;
  double sort_key = 0;           ///< relevance, followers or engagement: the cursor's key
};

/// Up to `q.limit + 1` hits (one more than a page tells whether there is a next page).
void search_creators(database& db, creator_search q,
                     std::function<void(result<std::vector<creator_hit>>)> done);

} // namespace pactum::persistence
