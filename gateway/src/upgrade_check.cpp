// The pure part of the WebSocket upgrade: which endpoint, which Origin, which credential.

#include "upgrade_check.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

namespace pactum::gateway {

namespace http = boost::beast::http;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

http_refusal bad_offer(std::string message) {
  return http_refusal{400, protocol::error_code::bad_request, std::move(message)};
}

} // namespace

bool is_base64url(std::string_view s) noexcept {
  if (s.empty())
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

} // namespace

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+' && plus_is_space) {
      out += ' ';
    } else if (s[i] == '%') {
      if (i + 2 >= s.size())
        return std::nullopt;
      int hi = hex_digit(s[i + 1]), lo = hex_digit(s[i + 2]);
      if (hi < 0 || lo < 0)
        return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string query_param(std::string_view target, std::string_view name) {
  auto q = target.find('?');
  if (q == std::string_view::npos)
    return {};
  auto rest = target.substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    auto pair = rest.substr(0, amp);
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name && pair[name.size()] == '=') {
      auto raw = pair.substr(name.size() + 1);
      auto decoded = percent_decode(raw);
      return decoded ? std::move(*decoded) : std::string{raw};
    }
    if (amp == std::string_view::npos)
      break;
    rest = rest.substr(amp + 1);
  }
  return {};
}

std::string bearer_token(const http::request<http::string_body>& req) {
  auto i = req.find(http::field::authorization);
  if (i == req.end())
    return {};
  auto value = i->value();
  constexpr std::string_view prefix = "Bearer ";
  if (value.size() <= prefix.size())
    return {};
  for (size_t k = 0; k < prefix.size(); ++k)
    if (std::tolower(static_cast<unsigned char>(value[k]))
        != std::tolower(static_cast<unsigned char>(prefix[k])))
      return {};
  return std::string{value.substr(prefix.size())};
}

bool origin_allowed(const http::request<http::string_body>& req,
                    const std::vector<std::string>& allowed) {
  auto i = req.find(http::field::origin);
  if (i == req.end())
    return true;
  auto origin = std::string{i->value()};
  auto host = std::string{req[http::field::host]};
  if (!host.empty() && (origin == "http://" + host || origin == "https://" + host))
    return true;
  return std::find(allowed.begin(), allowed.end(), origin) != allowed.end();
}

std::variant<upgrade_request, http_refusal>
check_upgrade(const http::request<http::string_body>& req,
              const std::vector<std::string>& allowed_origins, bool draining) {
  auto target = std::string_view{req.target()};
  if (target.substr(0, target.find('?')) != "/ws")
    return http_refusal{404, protocol::error_code::not_found,
                           "no WebSocket endpoint here; use /ws"};
  if (draining)
    return http_refusal{503, protocol::error_code::unavailable, "server shutting down"};
  if (!origin_allowed(req, allowed_origins))
    return http_refusal{403, protocol::error_code::forbidden,
                           "this origin may not open WebSockets here"};

  // Sec-WebSocket-Protocol: a comma-separated list, possibly spread over several header lines.
  upgrade_request out;
  std::optional<upgrade_request::credential> offered_kind;
  std::string offered_secret;
  size_t credentials = 0;
  for (auto [i, end] = req.equal_range(http::field::sec_websocket_protocol); i != end; ++i) {
    auto list = std::string_view{i->value()};
    while (true) {
      auto comma = list.find(',');
      auto item = trim(list.substr(0, comma));
      if (item == subprotocol_v1) {
        out.answer_v1 = true;
      } else if (starts_with(item, subprotocol_bearer_prefix)) {
        ++credentials;
        offered_kind = upgrade_request::credential::bearer;
        offered_secret = std::string{item.substr(subprotocol_bearer_prefix.size())};
      } else if (starts_with(item, subprotocol_ticket_prefix)) {
        ++credentials;
        offered_kind = upgrade_request::credential::ticket;
        offered_secret = std::string{item.substr(subprotocol_ticket_prefix.size())};
      }
      if (comma == std::string_view::npos)
        break;
      list = list.substr(comma + 1);
    }
  }
  if (credentials > 1)
    return bad_offer("offer at most one pactum.bearer.* or pactum.ticket.* subprotocol");
  if (credentials == 1 && !out.answer_v1)
    return bad_offer("a credential subprotocol must be offered together with pactum.v1");
  if (credentials == 1 && !is_base64url(offered_secret))
    return bad_offer("the credential in a pactum.bearer.* or pactum.ticket.* subprotocol must be "
                     "base64url (A-Z a-z 0-9 - _)");

  // Precedence: ?ticket=, then a subprotocol credential, then Authorization: Bearer.
  if (auto ticket = query_param(target, "ticket"); !ticket.empty()) {
    out.kind = upgrade_request::credential::ticket;
    out.secret = std::move(ticket);
  } else if (offered_kind) {
    out.kind = *offered_kind;
    out.secret = std::move(offered_secret);
  } else if (auto token = bearer_token(req); !token.empty()) {
    out.kind = upgrade_request::credential::bearer;
    out.secret = std::move(token);
  }
  return out;
}

} // namespace pactum::gateway
