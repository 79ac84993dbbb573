#pragma once

// One fuzz input through the server's HTTP request path up to the point where it would call the
// runtime: Beast's request parser with the server's default limits (head 16 KiB, body 64 KiB, the
// same settings as gateway/src/http_session.cpp), then for an upgrade the WebSocket checks
// (endpoint, Origin, credentials in Authorization / ?ticket= / Sec-WebSocket-Protocol), and for
// any other request the pure REST checks (JSON object body, path ids, query parameters, contract
// commands). Shared by the libFuzzer target and the regression replay test.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "pactum/gateway/server.hpp"
#include "pactum/protocol/codec.hpp"
#include "rest_parse.hpp"
#include "upgrade_check.hpp"

namespace pactum::fuzz {

inline void http_request_input(const uint8_t* data, size_t size) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  gateway::server_config defaults;
  http::request_parser<http::string_body> parser;
  parser.body_limit(defaults.max_body_bytes);
  parser.header_limit(gateway::max_header_bytes);
  parser.eager(true);
  beast::error_code ec;
  // Fed in two pieces, as a socket might deliver it: the parser must cope with any split.
  size_t split = size > 0 ? data[0] % (size + 1) : 0;
  std::string_view in{reinterpret_cast<const char*>(data), size};
  size_t used = parser.put(boost::asio::buffer(in.data(), split), ec);
  if (ec == http::error::need_more)
    ec = {};
  if (!ec) {
    std::string rest{in.substr(used)};
    while (!ec && !rest.empty() && !parser.is_done()) {
      auto n = parser.put(boost::asio::buffer(rest), ec);
      if (ec == http::error::need_more) {
        ec = {};
        if (n == 0)
          break;
      }
      rest.erase(0, n);
    }
    if (!ec && !parser.is_done())
      parser.put_eof(ec);
  }
  if (ec || !parser.is_done())
    return;
  auto req = parser.release();

  if (beast::websocket::is_upgrade(req)) {
    std::vector<std::string> allowed{"https://app.example.com"};
    (void)gateway::check_upgrade(req, allowed, false);
    (void)gateway::check_upgrade(req, allowed, true);
    return;
  }
  auto target = std::string_view{req.target()};
  auto path = target.substr(0, target.find('?'));
  (void)gateway::json_object_body(req);
  (void)gateway::bearer_token(req);
  (void)gateway::after_param(target);
  constexpr std::string_view hits = "/api/v1/moderation/guard-hits/";
  if (path.size() > hits.size() && path.substr(0, hits.size()) == hits && path.ends_with("/review"))
    (void)gateway::positive_id(path.substr(hits.size(), path.size() - hits.size() - 7));
  constexpr std::string_view contracts = "/api/v1/contracts/";
  if (path.size() > contracts.size() && path.substr(0, contracts.size()) == contracts) {
    auto rest = path.substr(contracts.size());
    auto slash = rest.find('/');
    auto contract = uuid::parse(rest.substr(0, slash));
    if (contract && slash != std::string_view::npos) {
      std::string action{rest.substr(slash + 1)};
      std::replace(action.begin(), action.end(), '-', '_');
      (void)protocol::decode_contract_command(*contract, action, req.body());
    }
  }
}

} // namespace pactum::fuzz
