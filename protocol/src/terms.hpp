#pragma once

// Offer terms <-> JSON, with the validation shared by the request decoder (codec.cpp) and the
// journal decoder (events.cpp): one definition of what valid terms are.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pactum/common/expected.hpp"
#include "pactum/protocol/events.hpp"

namespace pactum::protocol::detail {

/// Limits of offer terms (documented in docs/protocol.md, "Offers").
inline constexpr int64_t max_offer_amount = 100'000'000'000; ///< minor units (1e9 major units)
inline constexpr size_t max_deliverables = 20;
inline constexpr int64_t max_deliverable_count = 1'000;
inline constexpr size_t max_brief_chars = 2'000;
inline constexpr size_t max_reason_chars = 500;
inline constexpr int64_t max_delivery_days = 365;
inline constexpr int64_t max_revision_rounds = 10;
inline constexpr int64_t max_usage_days = 3'650;

nlohmann::json terms_to_json(const offer_terms& t);

/// Parses and validates a list of deliverables (the rules of offer terms); the error names the
/// offending field under `path`.
expected<std::vector<deliverable>, std::string> deliverables_from_json(const nlohmann::json& v,
                                                                     const std::string& path);

/// Parses and validates; the error names the offending field relative to `path` (e.g.
/// "terms.deliverables[1].type must be one of ...").
expected<offer_terms, std::string> terms_from_json(const nlohmann::json& v, const std::string& path);

} // namespace pactum::protocol::detail
