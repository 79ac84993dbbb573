#pragma once

// Private to the gateway: products, affiliate links, the `/r/{code}` redirect and signed
// conversions (rest_affiliate.cpp; docs/api.md, "Products and affiliate links").

#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "shared.hpp"

namespace pactum::gateway {

/// Answers the affiliate endpoints; false when `path` is none of them. Called before the other
/// API handlers and before static files (`/r/` would otherwise be a file path).
bool handle_affiliate_rest(const http::request<http::string_body>& req, std::string_view path,
                           const std::string& client_address, gateway_state& gw,
                           const std::function<void(http_response)>& send);

} // namespace pactum::gateway
