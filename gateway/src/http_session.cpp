// One HTTP connection. Owned by the chain of its own async operations (shared_from_this); all
// handlers run on the connection's strand. Requests are read one at a time (no pipelining): each
// gets its response before the next is read. A WebSocket upgrade is authenticated here, before
// any 101 is sent, and then the socket moves to a ws_session.

#include <algorithm>

#include <spdlog/spdlog.h>

#include "shared.hpp"

namespace pactum::gateway {

namespace {

class http_session : public std::enable_shared_from_this<http_session> {
public:
  http_session(tcp::socket socket, std::shared_ptr<gateway_state> gw)
    : stream_(std::move(socket)), gw_(std::move(gw)), id_(gw_->next_conn_id++) {
    beast::error_code ec;
    auto peer = stream_.socket().remote_endpoint(ec);
    if (!ec)
      client_address_ = peer.address().to_string();
  }

  void run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&http_session::read, shared_from_this()));
  }

private:
  void read() {
    parser_.emplace();
    parser_->body_limit(gw_->cfg.max_body_bytes);
    parser_->header_limit(16 * 1024);
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&http_session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, size_t) {
    if (ec == http::error::end_of_stream || ec == net::error::operation_aborted
        || ec == beast::error::timeout || ec == net::error::eof) {
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      return;
    }
    if (ec == http::error::body_limit) {
      actors::api_error err{413, protocol::error_code::too_large,
                            "request body larger than " + std::to_string(gw_->cfg.max_body_bytes)
                              + " bytes",
                            {}};
      auto res = error_response(parser_->get(), err);
      res.keep_alive(false);
      return write(std::move(res));
    }
    if (ec) {
      spdlog::debug("conn={} http read: {}", id_, ec.message());
      return;
    }
    req_ = parser_->release();
    if (websocket::is_upgrade(req_))
      return upgrade();
    auto self = shared_from_this();
    handle_rest(req_, client_address_, *gw_, [self](http_response res) {
      net::post(self->stream_.get_executor(),
                [self, res = std::move(res)]() mutable { self->write(std::move(res)); });
    });
  }

  void upgrade() {
    auto target = std::string_view{req_.target()};
    if (target.substr(0, target.find('?')) != "/ws") {
      actors::api_error err{404, protocol::error_code::not_found, "no WebSocket endpoint here; use /ws", {}};
      auto res = error_response(req_, err);
      res.keep_alive(false);
      return write(std::move(res));
    }
    if (gw_->draining) {
      actors::api_error err{503, protocol::error_code::unavailable, "server shutting down", {}};
      auto res = error_response(req_, err);
      res.keep_alive(false);
      return write(std::move(res));
    }
    if (!origin_allowed()) {
      spdlog::info("conn={} websocket refused: foreign origin '{}'", id_,
                   std::string{req_[http::field::origin]});
      actors::api_error err{403, protocol::error_code::forbidden,
                            "this origin may not open WebSockets here", {}};
      auto res = error_response(req_, err);
      res.keep_alive(false);
      return write(std::move(res));
    }
    auto self = shared_from_this();
    stream_.expires_after(std::chrono::seconds(30));
    auto on_auth = [self](expected<actors::principal, actors::api_error> who) {
      net::post(self->stream_.get_executor(), [self, who = std::move(who)]() mutable {
        if (!who) {
          auto res = error_response(self->req_, who.error());
          if (who.error().status == 401)
            res.set(http::field::www_authenticate, "Bearer");
          res.keep_alive(false);
          return self->write(std::move(res));
        }
        if (!self->gw_->acquire_socket(who->user)) {
          actors::api_error err{429, protocol::error_code::rate_limited,
                                "too many open WebSockets for this user (at most "
                                  + std::to_string(self->gw_->cfg.max_sockets_per_user) + ")",
                                {}};
          auto res = error_response(self->req_, err);
          res.keep_alive(false);
          return self->write(std::move(res));
        }
        self->stream_.expires_never();
        spdlog::info("conn={} websocket user={} role={}", self->id_, who->user.str(), who->role);
        who->address = self->client_address_; // for the audit log of what the session does
        run_ws_session(self->stream_.release_socket(), std::move(self->req_), std::move(who.value()),
                       self->id_, self->gw_);
      });
    };
    if (auto ticket = query_param(target, "ticket"); !ticket.empty())
      gw_->rt.authenticate_ticket(std::move(ticket), std::move(on_auth));
    else
      gw_->rt.authenticate(bearer_token(req_), std::move(on_auth));
  }

  /// No Origin header (not a browser), the server's own origin, or one of the allowed origins.
  bool origin_allowed() const {
    auto i = req_.find(http::field::origin);
    if (i == req_.end())
      return true;
    auto origin = std::string{i->value()};
    auto host = std::string{req_[http::field::host]};
    if (!host.empty() && (origin == "http://" + host || origin == "https://" + host))
      return true;
    auto& allowed = gw_->cfg.allowed_origins;
    return std::find(allowed.begin(), allowed.end(), origin) != allowed.end();
  }

  /// The value of `name` in the query string of `target` (no percent-decoding: tokens and
  /// tickets are URL-safe); empty when absent.
  static std::string query_param(std::string_view target, std::string_view name) {
    auto q = target.find('?');
    if (q == std::string_view::npos)
      return {};
    auto rest = target.substr(q + 1);
    while (!rest.empty()) {
      auto amp = rest.find('&');
      auto pair = rest.substr(0, amp);
      if (pair.size() > name.size() && pair.substr(0, name.size()) == name
          && pair[name.size()] == '=')
        return std::string{pair.substr(name.size() + 1)};
      if (amp == std::string_view::npos)
        break;
      rest = rest.substr(amp + 1);
    }
    return {};
  }

  void write(http_response res) {
    auto sp = std::make_shared<http_response>(std::move(res));
    bool close = !sp->keep_alive();
    stream_.expires_after(std::chrono::seconds(30));
    http::async_write(stream_, *sp,
                      [self = shared_from_this(), sp, close](beast::error_code ec, size_t) {
                        if (ec || close) {
                          beast::error_code ignored;
                          self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                          return;
                        }
                        self->read();
                      });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> req_;
  std::shared_ptr<gateway_state> gw_;
  uint64_t id_;
  std::string client_address_;
};

} // namespace

void run_http_session(tcp::socket socket, std::shared_ptr<gateway_state> gw) {
  std::make_shared<http_session>(std::move(socket), std::move(gw))->run();
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
    if (std::tolower(static_cast<unsigned char>(value[k])) != std::tolower(static_cast<unsigned char>(prefix[k])))
      return {};
  return std::string{value.substr(prefix.size())};
}

} // namespace pactum::gateway
