#pragma once

// Matching endpoints (rest_matching.cpp). Private to the gateway.

#include <utility> // before shared.hpp: Boost.Asio 1.74 uses std::exchange without including it

#include "shared.hpp"

namespace pactum::gateway {

/// Answers `POST /api/v1/brands/matches` (a brand previews the creators a campaign would match);
/// false (nothing sent) for any other path.
bool handle_matching_rest(const http::request<http::string_body>& req, std::string_view path,
                          const std::string& client_address, gateway_state& gw,
                          const std::function<void(http_response)>& send);

} // namespace pactum::gateway
