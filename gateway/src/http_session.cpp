// One HTTP connection, plain or TLS. Owned by the chain of its own async operations
// (shared_from_this); all handlers run on the connection's strand. A TLS connection first
// completes its handshake (30 s). Requests are read one at a time (no pipelining): each gets its
// response before the next is read. A WebSocket upgrade is checked here, before any 101 is sent
// (upgrade_check.hpp, then the runtime for the credential), and then the stream moves to a
// ws_session of the same stream type.
//
// The session is a template over its stream (beast::tcp_stream or tls_stream) so both kinds run
// the same code; the few places that differ are `if constexpr (tls)`.

#include <algorithm>
#include <type_traits>

#include <spdlog/spdlog.h>

#include "rest_metrics.hpp"
#include "rest_parse.hpp"
#include "tls.hpp"

namespace pactum::gateway {

namespace {

template <class Stream>
class http_session : public std::enable_shared_from_this<http_session<Stream>> {
  static constexpr bool tls = std::is_same_v<Stream, tls_stream>;

public:
  http_session(tcp::socket socket, std::shared_ptr<gateway_state> gw)
    requires(!tls)
    : stream_(std::move(socket)), gw_(std::move(gw)), id_(gw_->next_conn_id++) {
    init();
  }

  http_session(tcp::socket socket, std::shared_ptr<gateway_state> gw)
    requires(tls)
    : stream_(std::move(socket), *gw->tls), gw_(std::move(gw)), id_(gw_->next_conn_id++) {
    init();
  }

  void run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&http_session::start, this->shared_from_this()));
  }

private:
  void init() {
    beast::error_code ec;
    auto peer = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (!ec)
      client_address_ = peer.address().to_string();
  }

  void start() {
    if constexpr (tls) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
      stream_.async_handshake(net::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) {
                                  // e.g. plain HTTP sent to the TLS port, an old TLS version, a
                                  // client that does not trust the certificate
                                  spdlog::debug("conn={} tls handshake: {}", self->id_, ec.message());
                                  return;
                                }
                                self->read();
                              });
    } else {
      read();
    }
  }

  void read() {
    parser_.emplace();
    parser_->body_limit(gw_->cfg.max_body_bytes);
    parser_->header_limit(max_header_bytes);
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&http_session::on_header, this->shared_from_this()));
  }

  /// The head is in: the catalog import may carry a larger body than any other request
  /// (--product-import-max-bytes); a request without a body is complete already.
  void on_header(beast::error_code ec, size_t) {
    if (ec)
      return on_read(ec, 0);
    if (std::string_view{parser_->get().target()}.starts_with("/api/v1/brands/products/import"))
      parser_->body_limit(std::max(gw_->cfg.max_body_bytes, gw_->cfg.product_import_max_bytes));
    if (parser_->is_done())
      return on_read({}, 0);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&http_session::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, size_t) {
    if (ec == http::error::end_of_stream || ec == net::error::eof) {
      return shutdown();
    }
    if (ec == net::error::operation_aborted || ec == beast::error::timeout)
      return; // the socket closes with this session
    if (ec == http::error::body_limit) {
      route_ = route_class(std::string_view{parser_->get().target()}.substr(
        0, std::string_view{parser_->get().target()}.find('?')));
      actors::api_error err{413, protocol::error_code::too_large,
                            "request body larger than "
                              + std::to_string(std::string_view{parser_->get().target()}.starts_with(
                                                 "/api/v1/brands/products/import")
                                                 ? std::max(gw_->cfg.max_body_bytes, gw_->cfg.product_import_max_bytes)
                                                 : gw_->cfg.max_body_bytes)
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
    auto target = std::string_view{req_.target()};
    route_ = route_class(target.substr(0, target.find('?')));
    if (websocket::is_upgrade(req_))
      return upgrade();
    auto self = this->shared_from_this();
    handle_rest(req_, client_address_, *gw_, [self](http_response res) {
      net::post(self->stream_.get_executor(),
                [self, res = std::move(res)]() mutable { self->write(std::move(res)); });
    });
  }

  /// Refuses the upgrade with `err` and closes the connection after the answer.
  void refuse(const actors::api_error& err) {
    auto res = error_response(req_, err);
    if (err.status == 401)
      res.set(http::field::www_authenticate, "Bearer");
    res.keep_alive(false);
    write(std::move(res));
  }

  void upgrade() {
    auto checked = check_upgrade(req_, gw_->cfg.allowed_origins, gw_->draining);
    if (auto* no = std::get_if<http_refusal>(&checked)) {
      if (no->status == 403)
        spdlog::info("conn={} websocket refused: foreign origin '{}'", id_,
                     std::string{req_[http::field::origin]});
      return refuse(actors::api_error{no->status, no->code, no->message, {}});
    }
    auto& up = std::get<upgrade_request>(checked);
    bool answer_v1 = up.answer_v1;
    auto self = this->shared_from_this();
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
    auto on_auth = [self, answer_v1](expected<actors::principal, actors::api_error> who) {
      net::post(self->stream_.get_executor(), [self, answer_v1, who = std::move(who)]() mutable {
        if (!who)
          return self->refuse(who.error());
        if (!self->gw_->acquire_socket(who->user))
          return self->refuse(actors::api_error{
            429, protocol::error_code::rate_limited,
            "too many open WebSockets for this user (at most "
              + std::to_string(self->gw_->cfg.max_sockets_per_user) + ")",
            {}});
        beast::get_lowest_layer(self->stream_).expires_never();
        gateway_metrics::get().http_answered(ws_route(), 101);
        spdlog::info("conn={} websocket user={} role={}", self->id_, who->user.str(), who->role);
        who->address = self->client_address_; // for the audit log of what the session does
        run_ws_session(std::move(self->stream_), std::move(self->req_), std::move(who.value()),
                       answer_v1, self->id_, self->gw_);
      });
    };
    if (up.kind == upgrade_request::credential::ticket)
      gw_->rt.authenticate_ticket(std::move(up.secret), std::move(on_auth));
    else
      gw_->rt.authenticate_upgrade(std::move(up.secret), std::move(on_auth)); // empty: 401
  }

  void write(http_response res) {
    gateway_metrics::get().http_answered(route_, res.result_int());
    auto sp = std::make_shared<http_response>(std::move(res));
    bool close = !sp->keep_alive();
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
    http::async_write(stream_, *sp,
                      [self = this->shared_from_this(), sp, close](beast::error_code ec, size_t) {
                        if (ec)
                          return;
                        if (close)
                          return self->shutdown();
                        self->read();
                      });
  }

  /// Ends the connection politely: a TLS close_notify (waiting at most 5 s for the peer's), or a
  /// TCP half-close.
  void shutdown() {
    if constexpr (tls) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {});
    } else {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> req_;
  std::shared_ptr<gateway_state> gw_;
  uint64_t id_;
  std::string client_address_;
  size_t route_ = 0; ///< route class of the request being answered (pactum_http_requests_total)
};

} // namespace

void run_http_session(tcp::socket socket, std::shared_ptr<gateway_state> gw) {
  if (gw->tls)
    std::make_shared<http_session<tls_stream>>(std::move(socket), std::move(gw))->run();
  else
    std::make_shared<http_session<beast::tcp_stream>>(std::move(socket), std::move(gw))->run();
}

} // namespace pactum::gateway
