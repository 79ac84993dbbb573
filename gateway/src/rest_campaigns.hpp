#pragma once

// Campaign endpoints (rest_campaigns.cpp; docs/api.md, "Campaigns"). Private to the gateway.

#include <utility>

#include <nlohmann/json.hpp>

#include "shared.hpp"

namespace pactum::gateway {

/// Answers `/api/v1/campaigns...`, `/api/v1/brands/campaigns...`,
/// `/api/v1/influencers/campaigns...` and `/api/v1/influencers/invitations`; false (nothing
/// sent) for any other path. Called before the profile routes, which would take
/// `/api/v1/brands/campaigns` for a profile id.
bool handle_campaigns_rest(const http::request<http::string_body>& req, std::string_view path,
                           const std::string& client_address, gateway_state& gw,
                           const std::function<void(http_response)>& send);

} // namespace pactum::gateway
