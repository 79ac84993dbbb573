#pragma once

// Notification endpoints (rest_notifications.cpp). Private to the gateway.

#include <utility>

#include "shared.hpp"

namespace pactum::gateway {

/// Answers `/api/v1/notifications[/unread-count|/read|/preferences]` (docs/api.md,
/// "Notifications"); false (nothing sent) for any other path.
bool handle_notifications_rest(const http::request<http::string_body>& req, std::string_view path,
                               const std::string& client_address, gateway_state& gw,
                               std::function<void(http_response)> send);

} // namespace pactum::gateway
