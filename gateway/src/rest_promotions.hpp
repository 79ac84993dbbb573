#pragma once

// Local promotion endpoints (rest_promotions.cpp; docs/api.md, "Local promotions"). Private to
// the gateway.

#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "shared.hpp"

namespace pactum::gateway {

/// Answers `/api/v1/promotions[/...]`; false (nothing sent) for any other path.
bool handle_promotions_rest(const http::request<http::string_body>& req, std::string_view path,
                            const std::string& client_address, gateway_state& gw,
                            std::function<void(http_response)> send);

} // namespace pactum::gateway
