#pragma once

// The HTTP + WebSocket front door (Boost.Beast). No Beast or Asio type in this header.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace pactum::actors {
class runtime;
}

namespace pactum::gateway {

struct server_config {
  std::string address = "127.0.0.1";
  uint16_t port = 8080;                   ///< 0 picks a free port (see `port()`)
  size_t io_threads = 1;                  ///< Asio threads running the connections
  size_t max_frame_bytes = 64 * 1024;     ///< largest WebSocket message accepted (close 1009)
  size_t max_body_bytes = 64 * 1024;      ///< largest HTTP request body (413)
  size_t outbound_queue_limit = 4096;     ///< frames queued for one socket before close 4001
  size_t max_batch_frames = 64;           ///< queued frames coalesced into one batch frame
  size_t max_bad_frames = 16;             ///< malformed frames before close 1008
  std::string web_root;                   ///< folder served at `/` (empty: a built-in page)
  size_t web_max_bytes = 32 * 1024 * 1024; ///< most bytes loaded from web_root (start fails beyond)
  /// Origins (e.g. "https://app.example.com") whose pages may open WebSockets, besides the
  /// server's own origin (http:// or https:// + the Host header). An upgrade with any other
  /// Origin header gets 403; one without an Origin header (not a browser) is allowed.
  std::vector<std::string> allowed_origins;
  size_t max_sockets_per_user = 20;       ///< concurrent WebSockets of one user (429 beyond)
  /// The secret payment-provider webhooks are signed with (HMAC-SHA256, docs/payments.md); empty:
  /// `/api/v1/webhooks/payments` answers 503.
  std::string webhook_secret;
  int64_t webhook_tolerance_s = 300; ///< signatures older or newer than this are refused

  // WebSocket hardening (docs/security.md).
  bool ws_deflate = false; ///< accept permessage-deflate when a client offers it
  /// Ping a client after this long without any inbound frame; close it when as long again passes
  /// without one (the pong counts). 0: never ping, never close for silence.
  std::chrono::seconds ws_ping_interval{30};
  double ws_frame_rate_per_s = 50; ///< inbound frames per second per connection; 0: no limit
  double ws_frame_burst = 100;     ///< frames a connection may send at once above that rate
  /// A connection refused this many frames (`rate_limited`) within `ws_rate_window` is closed
  /// with 4029. 0: never closed for this.
  size_t ws_rate_strikes = 50;
  std::chrono::seconds ws_rate_window{10};

  /// PEM files; both set: the listener speaks only TLS (HTTPS and WSS), TLS 1.2 or newer.
  std::string tls_cert_file;
  std::string tls_key_file;

  /// Set: `GET /metrics` requires `Authorization: Bearer <metrics_token>` from every client.
  /// Empty: it is served to loopback clients only (403 for others).
  std::string metrics_token;
  /// The largest body of `POST /api/v1/brands/products/import` (CSV), above `max_body_bytes`.
  size_t product_import_max_bytes = 1024 * 1024;
};

/// Lifecycle: construct, `start()` (binds; throws std::runtime_error if it cannot), then
/// `begin_shutdown()` (stop accepting; new requests are answered `unavailable`),
/// `close_all()` (close every WebSocket with 1001 after its queued frames), `stop()` (joins the
/// I/O threads). Thread-safe; `stop` also runs in the destructor.
class server {
public:
  server(server_config cfg, actors::runtime& rt);
  ~server();

  server(const server&) = delete;
  server& operator=(const server&) = delete;

  void start();
  uint16_t port() const noexcept;
  bool tls() const noexcept; ///< true once started with a certificate and key
  void begin_shutdown();
  void close_all(std::chrono::milliseconds wait);
  void stop();

  size_t connections() const noexcept;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace pactum::gateway
