#pragma once

// Shared between the campaign service, the matching service and campaign matching
// (campaign_matching.cpp): the conversions and JSON pieces each of them renders the same way.
// Private to the actors layer.

#include <nlohmann/json.hpp>

#include "pactum/actors/matching.hpp"
#include "pactum/persistence/campaign_store.hpp"
#include "pactum/persistence/matching_store.hpp"
#include "pactum/persistence/profile_store.hpp"
#include "pactum/protocol/profiles.hpp"

namespace pactum::actors {

/// A read-model campaign row as the campaign lists render it (campaigns.cpp).
nlohmann::json campaign_row_json(const persistence::campaign_row& c);

/// A stored creator profile as the scorer reads it (matching_service.cpp).
protocol::profiles::creator_profile to_profile(const persistence::creator_profile_row& r);

/// A creator's contract history figures as the scorer reads them (matching_service.cpp).
matching::history to_history(const persistence::creator_history_row& h);

/// A match's reasons: [{factor, weight, score, contribution, text}] (matching_service.cpp).
nlohmann::json reasons_json(const matching::match& m);

} // namespace pactum::actors
