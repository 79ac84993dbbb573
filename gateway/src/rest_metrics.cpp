// GET /metrics and the gateway's metrics (rest_metrics.hpp).
//
// Access: with --metrics-token every client must send `Authorization: Bearer <token>` (compared
// in constant time), loopback included, because a reverse proxy on the same host makes every
// outside client look like loopback; without a token only loopback clients are answered and
// others get 403. The exposition is rendered on the I/O thread: it reads atomics and a few
// /proc/self files, no lock is held longer than the copy of the registry's values.

#include "rest_metrics.hpp"

#include <algorithm>
#include <array>

#include <openssl/crypto.h>

namespace pactum::gateway {

namespace {

constexpr std::array<std::string_view, 15> routes{{
  "healthz", "metrics", "ws", "static", "api/other", "api/users", "api/brands", "api/influencers",
  "api/campaigns", "api/contracts", "api/pledges", "api/search", "api/admin", "api/moderation",
  "api/webhooks"}};
constexpr size_t route_ws = 2;
constexpr size_t route_static = 3;
constexpr size_t route_api_other = 4;
constexpr size_t status_classes = 5; // 1xx .. 5xx

// The highest error code value (sold_out); a later one counts as "other".
constexpr size_t code_count = static_cast<size_t>(protocol::error_code::sold_out) + 1;

struct tables {
  std::array<std::array<metrics::counter*, status_classes>, routes.size()> http{};
  std::array<metrics::counter*, code_count + 1> ws_errors{};
  std::array<metrics::counter*, code_count + 1> http_errors{};

  tables() {
    for (size_t r = 0; r < routes.size(); ++r)
      for (size_t s = 0; s < status_classes; ++s)
        http[r][s] = &metrics::counter_of(
          "pactum_http_requests_total", "HTTP answers by route class and status class.",
          {{"route", std::string{routes[r]}}, {"status", std::to_string(s + 1) + "xx"}});
    for (size_t i = 0; i <= code_count; ++i) {
      std::string code = i == 0 || i == code_count
                           ? std::string{"other"}
                           : std::string{protocol::to_string(static_cast<protocol::error_code>(i))};
      // The same family as the actors layer's (server_metrics.cpp): same name, help and labels.
      const char* help = "Error answers by stable error code (docs/protocol.md) and transport.";
      ws_errors[i] = &metrics::counter_of("pactum_errors_total", help, {{"code", code}, {"via", "ws"}});
      http_errors[i] = &metrics::counter_of("pactum_errors_total", help, {{"code", code}, {"via", "http"}});
    }
  }
};

tables& table() {
  static tables t;
  return t;
}

} // namespace

size_t route_class(std::string_view path) noexcept {
  if (path == "/healthz")
    return 0;
  if (path == "/metrics")
    return 1;
  if (path == "/ws")
    return route_ws;
  constexpr std::string_view api = "/api/v1/";
  if (path.rfind(api, 0) != 0)
    return path.rfind("/api/", 0) == 0 ? route_api_other : route_static;
  auto area = path.substr(api.size());
  area = area.substr(0, area.find('/'));
  if (area == "ws-ticket")
    area = "users"; // the ticket belongs to the account's token lifecycle
  for (size_t i = route_api_other + 1; i < routes.size(); ++i)
    if (routes[i].substr(4) == area)
      return i;
  return route_api_other;
}

size_t ws_route() noexcept {
  return route_ws;
}

bool is_loopback_address(std::string_view client_address) noexcept {
  beast::error_code ec;
  auto a = net::ip::make_address(std::string{client_address}, ec);
  if (ec)
    return false;
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6()).is_loopback();
  return a.is_loopback();
}

void gateway_metrics::http_answered(size_t route, unsigned status) noexcept {
  auto cls = status / 100;
  if (cls < 1 || cls > status_classes)
    cls = 5;
  table().http[std::min(route, routes.size() - 1)][cls - 1]->inc();
}

void gateway_metrics::error_answered(protocol::error_code code, bool http) noexcept {
  auto i = static_cast<size_t>(code);
  if (i >= code_count)
    i = code_count;
  (http ? table().http_errors : table().ws_errors)[i]->inc();
}

gateway_metrics& gateway_metrics::get() {
  static gateway_metrics m{
    metrics::gauge_of("pactum_ws_connections", "WebSocket connections open now."),
    metrics::counter_of("pactum_ws_connections_opened_total", "WebSocket connections accepted."),
    metrics::counter_of("pactum_ws_frames_in_total", "WebSocket messages received from clients."),
    metrics::counter_of("pactum_ws_frames_out_total",
                        "Messages sent to clients (replies, pushes; each inside a batch counts)."),
    metrics::counter_of("pactum_ws_writes_total",
                        "WebSocket frames written (a batch of several messages counts once).")};
  return m;
}

bool handle_metrics_rest(const http::request<http::string_body>& req,
                         const std::string& client_address, gateway_state& gw,
                         const std::function<void(http_response)>& send) {
  auto target = std::string_view{req.target()};
  if (target.substr(0, target.find('?')) != "/metrics")
    return false;
  if (req.method() != http::verb::get) {
    auto res = error_response(req, actors::api_error{405, protocol::error_code::bad_request, "use GET", {}});
    res.set(http::field::allow, "GET");
    send(std::move(res));
    return true;
  }
  const auto& token = gw.cfg.metrics_token;
  if (!token.empty()) {
    auto auth = std::string_view{req[http::field::authorization]};
    constexpr std::string_view bearer = "Bearer ";
    bool ok = auth.size() == bearer.size() + token.size() && auth.substr(0, bearer.size()) == bearer
              && CRYPTO_memcmp(auth.data() + bearer.size(), token.data(), token.size()) == 0;
    if (!ok) {
      auto res = error_response(req, actors::api_error{401, protocol::error_code::unauthorized,
                                                       "metrics need the metrics bearer token", {}});
      res.set(http::field::www_authenticate, "Bearer");
      send(std::move(res));
      return true;
    }
  } else if (!is_loopback_address(client_address)) {
    send(error_response(req, actors::api_error{403, protocol::error_code::forbidden,
                                               "metrics are served to loopback clients only "
                                               "(pactumd --metrics-token allows others)",
                                               {}}));
    return true;
  }
  table(); // the gateway's series exist from the first scrape on, at 0
  gateway_metrics::get();
  http_response res{http::status::ok, req.version()};
  res.set(http::field::server, "pactumd");
  res.set(http::field::content_type, metrics::content_type);
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(req.keep_alive());
  res.body() = metrics::render();
  res.prepare_payload();
  send(std::move(res));
  return true;
}

} // namespace pactum::gateway
