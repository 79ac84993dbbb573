#pragma once

// What the asynchronous scenarios of pactum-sim share (internal to sim/, not installed): clocks,
// the generator's own CPU, the documented retryable error codes, reconnect backoff with jitter,
// the server's RSS from /proc, and an asynchronous WebSocket session and HTTP call on a caller's
// io_context (many per thread). `chat_load.cpp` uses the small helpers; `deal_load.cpp` and
// `idle_load.cpp` also the session and the HTTP call. Beast stays in async_common.cpp.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pactum/sim/client.hpp"

namespace boost::asio {
class io_context;
}

namespace pactum::sim::detail {

using clock_type = std::chrono::steady_clock;

/// Steady-clock nanoseconds (the engines' intended times).
int64_t now_ns();
clock_type::time_point at_ns(int64_t ns);
/// This process's user + system CPU seconds.
double cpu_seconds();
/// The documented error codes after which a request is retried unchanged (docs/protocol.md).
bool retryable(const std::string& code);
/// Reconnect delay after `failures` failed attempts: 50 ms doubling up to `max_ms`, plus up to
/// half of it again as jitter.
int backoff_ms(int failures, std::mt19937& rng, int max_ms = 2000);
/// VmRSS of process `pid` in KiB from /proc/<pid>/status; -1 when unreadable.
int64_t rss_kib(int pid);
/// Parses `http://HOST:PORT[/...]`; throws std::invalid_argument.
endpoint parse_url(const std::string& url);

/// Counts by error code, merged into reports as `errors`.
using error_counts = std::map<std::string, int64_t>;

/// One HTTP/1.1 request on a fresh connection, asynchronously on `ioc`. `done(status, body,
/// network_error)`: status 0 and a non-empty `network_error` when the exchange failed.
void http_async(boost::asio::io_context& ioc, const endpoint& ep, const std::string& method,
                const std::string& target, std::string body, const std::string& bearer,
                std::function<void(int, nlohmann::json, std::string)> done);

/// An asynchronous WebSocket client session (JSON frames) living on one io_context: all its
/// callbacks run there. Requests get a fresh `id` and their reply handler; every other frame
/// (`batch` frames unrolled) goes to the event handler. When the connection ends, every
/// unanswered request is answered with `{"type":"error","code":"disconnected"}` and the closed
/// handler runs once. Not thread-safe: call it only from its io_context's thread.
class ws_session : public std::enable_shared_from_this<ws_session> {
public:
  using frame_fn = std::function<void(const nlohmann::json&)>;

  static std::shared_ptr<ws_session> make(boost::asio::io_context& ioc, endpoint ep, std::string token);
  ~ws_session();

  /// Connects, upgrades with `Authorization: Bearer`, waits for the hello; `done("")` on success,
  /// else `done("connect: …" | "handshake: …" | "hello: …")`.
  void connect(std::function<void(const std::string&)> done);
  void on_event(frame_fn fn);
  void on_closed(std::function<void(const std::string&)> fn);
  void request(nlohmann::json msg, frame_fn on_reply);
  /// Closes with 1000 (`graceful`) or drops the TCP connection at once.
  void close(bool graceful = true);
  bool is_open() const noexcept;
  size_t inflight() const noexcept;

  struct impl;

private:
  ws_session() = default;
  std::unique_ptr<impl> impl_;
};

} // namespace pactum::sim::detail
