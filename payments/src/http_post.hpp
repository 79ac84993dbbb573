#pragma once

// A minimal HTTP/1.1 POST client for webhook delivery, restricted to the loopback interface (the
// sandbox must never reach the network). Beast stays inside http_post.cpp.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace pactum::payments::detail {

/// A parsed `http://host[:port][/target]` whose host is a loopback address.
struct loopback_url {
  std::string address;     ///< IP literal to connect to (127.x.x.x or ::1)
  uint16_t port = 80;
  std::string host_header; ///< host[:port] as written in the URL
  std::string target = "/";
};

/// Parses `url`. Accepts only the http scheme and the hosts localhost, 127.x.x.x and [::1]; no
/// name is ever resolved. Throws std::invalid_argument with the reason otherwise.
loopback_url parse_loopback_url(std::string_view url);

/// The result of one POST: `status` is the HTTP status, or 0 when no response was read (then
/// `error` says why).
struct post_outcome {
  int status = 0;
  std::string error;
};

/// Sends requests on one kept-alive connection (opened on first use, opened again after the
/// receiver closes it or an error), with one deadline per request for connect, send and receive. Lifecycle: owned by one thread that calls `post`; `abort()` may be called from any
/// other thread and makes the current and every later `post` return at once.
class http_poster {
public:
  http_poster();
  ~http_poster();

  http_poster(const http_poster&) = delete;
  http_poster& operator=(const http_poster&) = delete;

  /// POSTs `body` as application/json with the header `Pactum-Signature: <signature>`. Blocks
  /// for at most `timeout`.
  post_outcome post(const loopback_url& url, const std::string& body, std::string_view signature,
                    std::chrono::milliseconds timeout);

  /// Cancels the current POST and refuses later ones. Idempotent, thread-safe.
  void abort();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace pactum::payments::detail
