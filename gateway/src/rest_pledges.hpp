#pragma once

// Pledge campaign endpoints (rest_pledges.cpp). Private to the gateway.

#include <utility>

#include <nlohmann/json.hpp>

#include "shared.hpp"

namespace pactum::gateway {

/// Answers `/api/v1/pledges` and `/api/v1/pledges/{id}[/launch|/pledge|/backers]`; false (nothing
/// sent) for any other path.
bool handle_pledges_rest(const http::request<http::string_body>& req, std::string_view path,
                         const std::string& client_address, gateway_state& gw,
                         std::function<void(http_response)> send);

} // namespace pactum::gateway
