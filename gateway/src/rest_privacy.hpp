#pragma once

// Privacy endpoints (rest_privacy.cpp): export, erasure, consents. Private to the gateway.

#include <nlohmann/json.hpp>

#include "shared.hpp"

namespace pactum::gateway {

/// Answers `GET /api/v1/users/me/export`, `DELETE /api/v1/users/me` and
/// `GET|PUT /api/v1/users/me/consents` (`client_address` reaches the principal for the audit
/// log); false (nothing sent) for any other path.
bool handle_privacy_rest(const http::request<http::string_body>& req, std::string_view path,
                         const std::string& client_address, gateway_state& gw,
                         std::function<void(http_response)> send);

/// Reads a `consents` object (`{"terms": "2026-01", "marketing": false, "x": {"version": "v",
/// "granted": true}}`); the message when it is malformed.
std::optional<std::string> parse_consents(const nlohmann::json& value,
                                          std::vector<actors::consent_change>& out);

} // namespace pactum::gateway
