#pragma once

// Private to the gateway: Beast/Asio aliases and the state every connection shares.

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_map>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include "pactum/actors/runtime.hpp"
#include "pactum/gateway/server.hpp"
#include "upgrade_check.hpp"

namespace boost::asio::ssl {
class context;
}

namespace pactum::gateway {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

/// What the server and the session registry need of a live WebSocket, whatever its stream type
/// (plain TCP or TLS). Callable from any thread.
class static_site; // static_files.hpp

class ws_connection {
public:
  virtual ~ws_connection() = default;
  virtual void post_close(protocol::close_code code, std::string reason) = 0;
};

/// Shared by all connections of one server. Outlives them: the server joins its I/O threads
/// (which own every connection) before destroying this.
struct gateway_state {
  gateway_state(server_config c, actors::runtime& r) : cfg(std::move(c)), rt(r) {}

  server_config cfg;
  actors::runtime& rt;
  std::atomic<bool> draining{false};
  std::atomic<uint64_t> next_conn_id{1};
  std::atomic<size_t> ws_connections{0};

  std::mutex sessions_mtx;
  std::set<std::weak_ptr<ws_connection>, std::owner_less<std::weak_ptr<ws_connection>>> sessions;

  /// Set when the listener serves TLS (--tls-cert/--tls-key): every connection handshakes first.
  std::shared_ptr<net::ssl::context> tls;

  /// Takes one of `user`'s WebSocket slots; false when they already have the maximum.
  bool acquire_socket(const uuid& user) {
    std::lock_guard<std::mutex> guard{sockets_mtx};
    auto& n = sockets_per_user[user];
    if (n >= cfg.max_sockets_per_user)
      return false;
    ++n;
    return true;
  }
  void release_socket(const uuid& user) {
    std::lock_guard<std::mutex> guard{sockets_mtx};
    auto i = sockets_per_user.find(user);
    if (i != sockets_per_user.end() && --i->second == 0)
      sockets_per_user.erase(i);
  }

  std::mutex sockets_mtx;
  std::unordered_map<uuid, size_t> sockets_per_user;

  /// The browser client (cfg.web_root), loaded at start; null: the built-in landing page.
  std::shared_ptr<const static_site> site;
};

/// Serves one TCP connection's HTTP requests; hands an authenticated upgrade to a ws_session.
void run_http_session(tcp::socket socket, std::shared_ptr<gateway_state> gw);

/// Takes over an upgraded plain connection (the request was authenticated as `who`, who holds
/// one socket slot, released when the connection ends). `answer_v1`: the 101 selects the
/// `pactum.v1` subprotocol. The TLS overload is in tls.hpp.
void run_ws_session(beast::tcp_stream stream, http::request<http::string_body> req,
                    actors::principal who, bool answer_v1, uint64_t conn_id,
                    std::shared_ptr<gateway_state> gw);

/// Asks every live WebSocket to close with 1001 once its queued frames are written.
void close_all_sessions(gateway_state& gw);

using http_response = http::response<http::string_body>;

/// Answers a non-upgrade request from `client_address`; `send` is called exactly once, on any
/// thread.
void handle_rest(const http::request<http::string_body>& req, const std::string& client_address,
                 gateway_state& gw, std::function<void(http_response)> send);

/// Answers the profile, role-change and email-code endpoints (rest_profiles.cpp); false when
/// `req` is for none of them.
bool handle_profiles_rest(const http::request<http::string_body>& req,
                          const std::string& client_address, gateway_state& gw,
                          const std::function<void(http_response)>& send);

/// Answers the social-platform endpoints (rest_social.cpp): the creator's statistics refresh
/// and the moderators' fake-follower flags; false when `req` is for none of them.
bool handle_social_rest(const http::request<http::string_body>& req,
                        const std::string& client_address, gateway_state& gw,
                        const std::function<void(http_response)>& send);

/// A JSON error response in the documented shape.
http_response error_response(const http::request<http::string_body>& req,
                             const actors::api_error& err);

// REST helpers shared by rest.cpp, rest_profiles.cpp and rest_privacy.cpp (defined in rest.cpp).

/// A response with an already serialised JSON `body` (no-store, keep-alive as `req`).
http_response json_text(const http::request<http::string_body>& req, http::status status,
                        std::string body);
/// A response with `body` serialised (invalid UTF-8 replaced).
http_response json_response(const http::request<http::string_body>& req, http::status status,
                            const nlohmann::json& body);

/// `204 No Content` (no-store, keep-alive as `req`).
http_response no_content(const http::request<http::string_body>& req);

/// Sends `405` ("use <allowed>") with the `Allow` header.
void wrong_method(const http::request<http::string_body>& req,
                  const std::function<void(http_response)>& send, const char* allowed);
/// The callback that sends a service's JSON answer with status `ok`, or its api_error.
std::function<void(expected<std::string, actors::api_error>)>
answer_json(std::shared_ptr<http::request<http::string_body>> head,
            std::function<void(http_response)> send, http::status ok = http::status::ok);

/// The callback that answers `204 No Content` for a service's success, or its api_error.
std::function<void(expected<bool, actors::api_error>)>
answer_no_content(std::shared_ptr<http::request<http::string_body>> head, std::function<void(http_response)> send);

/// The body as a JSON object; nullopt (415 or 400 already sent) when it is not one.
std::optional<nlohmann::json> object_body(const http::request<http::string_body>& req,
                                          const std::function<void(http_response)>& send);

/// The string member `key` of `body` ("" when absent or not a string).
std::string string_field(const nlohmann::json& body, const char* key);

/// `{"id","role","display_name"}` of an account.
nlohmann::json user_json(const actors::principal& p);

/// The answer to login, refresh and code login. `token`/`expires_at` are the access token under
/// the names clients used before refresh tokens existed.
nlohmann::json tokens_json(const actors::login_result& r);

/// Authenticates the bearer access token, then runs `fn(principal)` with the principal's
/// `address` set to `client_address` (the audit log records it); a refusal is sent as is (401
/// with `WWW-Authenticate: Bearer`).
void with_principal(const http::request<http::string_body>& req, const std::string& client_address,
                    gateway_state& gw, std::shared_ptr<http::request<http::string_body>> head,
                    std::function<void(http_response)> send,
                    std::function<void(actors::principal)> fn);

} // namespace pactum::gateway
