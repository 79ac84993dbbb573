#pragma once

// JSON text of the social types, for storage (snapshots, flags) and the REST answers. One
// spelling for both, documented in docs/api.md ("Social platforms").

#include <string>
#include <vector>

#include "pactum/social/adapter.hpp"
#include "pactum/social/signals.hpp"

namespace pactum::social {

/// {"platform","handle","followers","following","posts","average_views","average_likes",
///  "average_comments","engagement_rate","history":[{"at","followers"}],"fetched_at"}
std::string stats_json(const profile_stats& s);

/// [{"code","message","figures":{name: number}}]
std::string signals_json(const std::vector<fraud_signal>& signals);

/// {"platform","post_id","exists","disclosed","has_ad_tag","has_sponsored_tag",
///  "paid_partnership","caption","posted_at"}
std::string post_check_json(const post_check& p);

} // namespace pactum::social
