#pragma once

// Private to the gateway: the checks a WebSocket upgrade request goes through before the runtime is
// asked about its credentials. Pure functions of the request (no socket, no runtime, no clock),
// so the fuzz target tests/fuzz/fuzz_http_request.cpp runs exactly this code without a database.

#include <optional>
#include <variant>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "pactum/protocol/errors.hpp"

namespace pactum::gateway {

/// The subprotocol a client offers to say it speaks this protocol, and the prefixes of the
/// offers that carry a credential (docs/protocol.md, "Connecting").
inline constexpr std::string_view subprotocol_v1 = "pactum.v1";
inline constexpr std::string_view subprotocol_bearer_prefix = "pactum.bearer.";
inline constexpr std::string_view subprotocol_ticket_prefix = "pactum.ticket.";

/// A refusal, sent in the documented JSON error shape (before any 101 for an upgrade).
struct http_refusal {
  int status;
  protocol::error_code code;
  std::string message;
};

/// What an upgrade request presents.
struct upgrade_request {
  enum class credential { none, bearer, ticket };
  credential kind = credential::none;
  std::string secret;           ///< the access token or ticket (never logged, never echoed)
  bool answer_v1 = false;       ///< the client offered `pactum.v1`: the 101 selects it
};

/// Checks an upgrade request in the documented order: endpoint (404), draining (503), Origin
/// (403), then the shape of its credentials (400 for a malformed subprotocol offer). A request
/// without any credential passes here; the runtime answers it 401.
/// `allowed_origins` besides the server's own (http:// or https:// + Host).
std::variant<upgrade_request, http_refusal>
check_upgrade(const boost::beast::http::request<boost::beast::http::string_body>& req,
              const std::vector<std::string>& allowed_origins, bool draining);

/// No Origin header (not a browser), the server's own origin, or one of `allowed`.
bool origin_allowed(const boost::beast::http::request<boost::beast::http::string_body>& req,
                    const std::vector<std::string>& allowed);

/// `s` with `%XX` escapes decoded, and `+` as a space when `plus_is_space` (query strings, as
/// forms encode them; not paths); nullopt for a malformed escape.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space = true);

/// The value of `name` in the query string of `target`, percent-decoded (`%XX`, and `+` as a space,
/// as browsers encode forms); a value with a malformed escape is returned as sent. Empty when
/// absent. Tokens and tickets are base64url, so decoding leaves them unchanged.
std::string query_param(std::string_view target, std::string_view name);

/// Extracts the bearer token from `Authorization: Bearer <token>`; empty if absent.
std::string bearer_token(const boost::beast::http::request<boost::beast::http::string_body>& req);

/// True when `s` is a non-empty run of base64url characters (A-Z a-z 0-9 - _), the alphabet of
/// every token and ticket the server issues.
bool is_base64url(std::string_view s) noexcept;

} // namespace pactum::gateway
