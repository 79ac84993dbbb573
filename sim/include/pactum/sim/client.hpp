#pragma once

// A real Pactum client over real sockets, shared by pactum-sim and the end-to-end tests: blocking
// HTTP calls, and a WebSocket client whose own I/O thread reads continuously so that callers can
// wait for replies and events with a timeout. Speaks only the documented protocol.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace pactum::sim {

using json = nlohmann::json;
using namespace std::chrono_literals;

struct endpoint {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
};

struct http_reply {
  int status = 0;
  std::string body;
  std::string content_type;
  std::string retry_after;
  std::string www_authenticate;
  std::string location;      ///< the Location header (redirects)
  std::string cache_control; ///< the Cache-Control header
  /// The body as JSON (null when it is not JSON).
  json json_body() const;
};

/// One HTTP/1.1 request on a fresh connection. Throws std::runtime_error on network failure.
http_reply http_call(const endpoint& ep, const std::string& method, const std::string& target,
                     const std::string& body = {}, const std::string& bearer = {},
                     const std::string& content_type = "application/json",
                     const std::vector<std::pair<std::string, std::string>>& headers = {});

/// An account created (and logged in) through the REST API.
struct account {
  std::string id;
  std::string email;
  std::string password;
  std::string role;
  std::string token;
};

/// Registers and logs in a fresh account with a unique email. Throws on any failure.
account make_account(const endpoint& ep, const std::string& role, const std::string& name);

/// Thrown when the server refuses the WebSocket upgrade.
struct upgrade_refused : std::runtime_error {
  int status;
  upgrade_refused(int s, const std::string& what) : std::runtime_error(what), status(s) {}
};

class ws_client {
public:
  enum class mode { json, msgpack };

  /// Connects to /ws with `Authorization: Bearer <token>` (none when empty) and reads the hello.
  ws_client(const endpoint& ep, const std::string& token, mode m = mode::json);
  ~ws_client();

  ws_client(const ws_client&) = delete;
  ws_client& operator=(const ws_client&) = delete;

  /// The hello frame the server sent on connect.
  const json& hello() const;

  /// Sends `msg` encoded in this client's mode.
  void send(const json& msg);

  /// Sends raw bytes as a text or binary frame (for malformed-input tests).
  void send_raw(const std::string& bytes, bool text);

  /// Sends `msg` with a fresh `id` and waits for its reply (ok or error); other frames that arrive
  /// meanwhile are kept for `next_event`. Throws on timeout or disconnect.
  json request(json msg, std::chrono::milliseconds timeout = 10s);

  /// The next frame that is not a reply (events; `batch` frames are unrolled), or nullopt.
  std::optional<json> next_event(std::chrono::milliseconds timeout = 5s);

  /// The next reply with `re == id` (or re == null when `id` is null), or nullopt.
  std::optional<json> wait_reply(const json& id, std::chrono::milliseconds timeout = 5s);

  /// True once the connection has ended; `close_code()` is the code the server sent (0 if none).
  bool closed() const;
  uint16_t close_code() const;
  /// Waits until the connection ends; false on timeout.
  bool wait_closed(std::chrono::milliseconds timeout);

  /// Closes with 1000 (normal) and waits for the server's close.
  void close();

  /// How many batch frames were received (for tests of coalescing).
  size_t batches_received() const;

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

} // namespace pactum::sim
