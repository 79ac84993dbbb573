#pragma once

// Creator search endpoint (rest_search.cpp). Private to the gateway.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "shared.hpp"

namespace pactum::gateway {

/// Answers `GET /api/v1/search/influencers` (docs/api.md "Creator search"); false (nothing sent)
/// for any other path.
bool handle_search_rest(const http::request<http::string_body>& req, std::string_view path,
                        const std::string& client_address, gateway_state& gw,
                        std::function<void(http_response)> send);

/// The query string of `target` as decoded name/value pairs (`%XX` and `+` as space), in order;
/// nullopt when an escape is malformed or there are more than `max_pairs`.
std::optional<std::vector<std::pair<std::string, std::string>>> decode_query(std::string_view target,
                                                                             size_t max_pairs);

} // namespace pactum::gateway
