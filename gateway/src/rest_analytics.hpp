#pragma once

// Analytics endpoints (rest_analytics.cpp). Private to the gateway.

#include <utility> // before shared.hpp: Boost.Asio 1.74 uses std::exchange without including it

#include "shared.hpp"

namespace pactum::gateway {

/// Answers `GET /api/v1/analytics/campaigns/{id}/performance` and `.../invalid-traffic`; false
/// (nothing sent) for any other path.
bool handle_analytics_rest(const http::request<http::string_body>& req, std::string_view path,
                           const std::string& client_address, gateway_state& gw,
                           const std::function<void(http_response)>& send);

} // namespace pactum::gateway
