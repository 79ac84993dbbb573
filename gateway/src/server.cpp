// The listener and the I/O threads.

#include "pactum/gateway/server.hpp"

#include <thread>

#include <spdlog/spdlog.h>

#include "static_files.hpp"
#include "tls.hpp"

namespace pactum::gateway {

struct server::impl {
  impl(server_config cfg, actors::runtime& rt)
    : gw(new gateway_state{std::move(cfg), rt}),
      ioc(static_cast<int>(std::max<size_t>(gw->cfg.io_threads, 1))),
      acceptor(net::make_strand(ioc)) {}

  void accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec == net::error::operation_aborted || !acceptor.is_open())
          return;
        spdlog::warn("accept: {}", ec.message());
        // e.g. out of file descriptors: back off briefly rather than spin
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      } else {
        socket.set_option(tcp::no_delay(true), ec);
        run_http_session(std::move(socket), gw);
      }
      accept();
    });
  }

  std::shared_ptr<gateway_state> gw;
  net::io_context ioc;
  tcp::acceptor acceptor;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  uint16_t bound_port = 0;
};

server::server(server_config cfg, actors::runtime& rt)
  : impl_(std::make_unique<impl>(std::move(cfg), rt)) {}

server::~server() {
  stop();
}

void server::start() {
  auto& d = *impl_;
  auto& cfg = d.gw->cfg;
  if (cfg.tls_cert_file.empty() != cfg.tls_key_file.empty())
    throw std::runtime_error("TLS needs both a certificate and a key file");
  if (!cfg.tls_cert_file.empty())
    d.gw->tls = make_tls_context(cfg.tls_cert_file, cfg.tls_key_file);
  if (!cfg.web_root.empty()) {
    d.gw->site = static_site::load(cfg.web_root, cfg.web_max_bytes);
    spdlog::info("serving the web client from {} ({} files, {} bytes, loaded into memory)",
                 cfg.web_root, d.gw->site->files(), d.gw->site->bytes());
  }
  beast::error_code ec;
  auto address = net::ip::make_address(d.gw->cfg.address, ec);
  if (ec)
    throw std::runtime_error("invalid listen address '" + d.gw->cfg.address + "'");
  tcp::endpoint ep{address, d.gw->cfg.port};
  d.acceptor.open(ep.protocol(), ec);
  if (!ec)
    d.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec)
    d.acceptor.bind(ep, ec);
  if (!ec)
    d.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("cannot listen on " + d.gw->cfg.address + ":"
                             + std::to_string(d.gw->cfg.port) + ": " + ec.message());
  d.bound_port = d.acceptor.local_endpoint().port();
  d.work.emplace(d.ioc.get_executor());
  d.accept();
  for (size_t i = 0; i < std::max<size_t>(d.gw->cfg.io_threads, 1); ++i)
    d.threads.emplace_back([&d] { d.ioc.run(); });
}

bool server::tls() const noexcept {
  return impl_->gw->tls != nullptr;
}

uint16_t server::port() const noexcept {
  return impl_->bound_port;
}

void server::begin_shutdown() {
  auto& d = *impl_;
  d.gw->draining = true;
  net::post(d.acceptor.get_executor(), [&d] {
    beast::error_code ec;
    d.acceptor.close(ec);
  });
}

void server::close_all(std::chrono::milliseconds wait) {
  close_all_sessions(*impl_->gw);
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (impl_->gw->ws_connections.load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

void server::stop() {
  auto& d = *impl_;
  if (d.threads.empty())
    return;
  d.work.reset();
  d.ioc.stop();
  for (auto& t : d.threads)
    t.join();
  d.threads.clear();
}

size_t server::connections() const noexcept {
  return impl_->gw->ws_connections.load();
}

} // namespace pactum::gateway
