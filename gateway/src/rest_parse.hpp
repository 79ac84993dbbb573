#pragma once

// Private to the gateway: the pure, runtime-free parts of REST request handling (rest.cpp): what
// a request must look like before any runtime call. Fuzzed by tests/fuzz/fuzz_http_request.cpp
// together with Beast's parser under the server's limits and the upgrade checks.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "upgrade_check.hpp"

namespace pactum::gateway {

/// The largest request head (request line + headers) the server reads; beyond: connection closed.
inline constexpr size_t max_header_bytes = 16 * 1024;

/// The body of a request that must carry a JSON object: 415 unless Content-Type is
/// application/json, 400 unless the body parses as a JSON object.
std::variant<nlohmann::json, http_refusal>
json_object_body(const boost::beast::http::request<boost::beast::http::string_body>& req);

/// A path segment that must be a positive decimal integer (e.g. a guard-hit id); nullopt if not.
std::optional<int64_t> positive_id(std::string_view text);

/// The `after=N` of a target's query (0 when absent or not a number; never negative).
int64_t after_param(std::string_view target);

} // namespace pactum::gateway
