#pragma once

// GET /metrics (Prometheus text format) and the gateway's own metrics: WebSocket connections
// and frames, HTTP requests by route class and status class, errors answered by the gateway.
// Counters are relaxed atomics registered once per process (pactum/metrics/metrics.hpp); the
// I/O threads update them without a lock.

#include <string_view>

#include "pactum/metrics/metrics.hpp"
#include "pactum/protocol/errors.hpp"
#include "shared.hpp"

namespace pactum::gateway {

/// The bounded `route` label of a request path: `healthz`, `metrics`, `ws`, `api/<area>` for
/// the known API areas (`api/other` for the rest of `/api/`), `static` for everything else.
/// Returns an index into the route table.
size_t route_class(std::string_view path) noexcept;
/// The route index of WebSocket upgrades.
size_t ws_route() noexcept;

/// True for 127.0.0.0/8, ::1 and IPv4-mapped 127.x (`client_address` as the session records
/// it); false for anything else, unparsable included.
bool is_loopback_address(std::string_view client_address) noexcept;

struct gateway_metrics {
  metrics::gauge& ws_open;
  metrics::counter& ws_opened;
  metrics::counter& frames_in;
  metrics::counter& frames_out;
  metrics::counter& ws_writes;

  /// Counts one HTTP answer with `status` on route `route`.
  void http_answered(size_t route, unsigned status) noexcept;
  /// Counts an error answer with `code` (`via`: "ws" or "http").
  void error_answered(protocol::error_code code, bool http) noexcept;

  static gateway_metrics& get();
};

/// Answers `GET /metrics`; false when `req` is for another path.
bool handle_metrics_rest(const http::request<http::string_body>& req,
                         const std::string& client_address, gateway_state& gw,
                         const std::function<void(http_response)>& send);

} // namespace pactum::gateway
