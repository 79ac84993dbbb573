// End to end: pactumd with --tls-cert/--tls-key serves HTTPS and WSS (and nothing in plain text).
// A throwaway self-signed certificate is made with the openssl command for each test run; the
// clients here are Beast's, over Asio SSL, trusting exactly that certificate.

#include <cstdlib>
#include <fstream>
#include <utility> // before Boost.Asio: its C++20 awaitable.hpp uses std::exchange

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include "pactum/sim/client.hpp"
#include "pactumd_process.hpp"
#include "test_database.hpp"

using namespace pactum::sim;
using pactum::test_support::pactumd_process;

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace ssl = net::ssl;

struct reply {
  int status = 0;
  json body;
};

class TlsEndToEnd : public pactum::test_support::database_test {
protected:
  void SetUp() override {
    database_test::SetUp();
    if (HasFatalFailure())
      return;
    dir_ = "/tmp/pactum-tls-" + std::to_string(::getpid());
    std::string cmd = "mkdir -p " + dir_ + " && openssl req -x509 -newkey ec -pkeyopt "
                      "ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=127.0.0.1 -addext "
                      "subjectAltName=IP:127.0.0.1 -keyout " + dir_ + "/key.pem -out " + dir_
                      + "/cert.pem 2>" + dir_ + "/openssl.log";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl req failed; see " << dir_ << "/openssl.log";
    server_.emplace(url(), std::vector<std::string>{"--tls-cert", dir_ + "/cert.pem", "--tls-key",
                                                    dir_ + "/key.pem", "--payments", "none"});
  }

  void TearDown() override {
    if (HasFailure() && server_)
      std::cerr << "---- pactumd log ----\n" << server_->log() << "---------------------\n";
    server_.reset();
    std::system(("rm -rf " + dir_).c_str());
    database_test::TearDown();
  }

  /// A client context that trusts only the test certificate and checks the name (127.0.0.1).
  ssl::context client_context() const {
    ssl::context ctx{ssl::context::tls_client};
    ctx.load_verify_file(dir_ + "/cert.pem");
    ctx.set_verify_mode(ssl::verify_peer);
    return ctx;
  }

  net::ip::tcp::endpoint at() const {
    return {net::ip::make_address("127.0.0.1"), server_->port()};
  }

  /// One HTTPS request on a fresh connection.
  reply https(http::verb method, const std::string& target, const json& body = nullptr,
              const std::string& bearer = {}) {
    net::io_context ioc;
    auto ctx = client_context();
    beast::ssl_stream<beast::tcp_stream> s{ioc, ctx};
    s.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    beast::get_lowest_layer(s).expires_after(std::chrono::seconds(10));
    beast::get_lowest_layer(s).connect(at());
    s.handshake(ssl::stream_base::client);
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!body.is_null()) {
      req.set(http::field::content_type, "application/json");
      req.body() = body.dump();
    }
    if (!bearer.empty())
      req.set(http::field::authorization, "Bearer " + bearer);
    req.prepare_payload();
    http::write(s, req);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(s, buf, res);
    beast::error_code ignored;
    s.shutdown(ignored);
    return reply{static_cast<int>(res.result_int()), json::parse(res.body(), nullptr, false)};
  }

  /// Registers and logs in; the access token.
  std::string account(const std::string& email) {
    auto r = https(http::verb::post, "/api/v1/users/register",
                   json{{"email", email}, {"password", "a long passphrase"}, {"display_name", "T"},
                        {"role", "brand"}});
    EXPECT_EQ(r.status, 201) << r.body.dump();
    auto l = https(http::verb::post, "/api/v1/users/login",
                   json{{"email", email}, {"password", "a long passphrase"}});
    EXPECT_EQ(l.status, 200) << l.body.dump();
    return l.body.value("token", "");
  }

  /// A TLS handshake with a client limited to at most `max_version`; true when it succeeds.
  bool handshake_with_max(int max_version) {
    net::io_context ioc;
    ssl::context ctx{ssl::context::tls_client};
    SSL_CTX_set_security_level(ctx.native_handle(), 0); // let the client try old versions
    SSL_CTX_set_cipher_list(ctx.native_handle(), "ALL:@SECLEVEL=0");
    SSL_CTX_set_min_proto_version(ctx.native_handle(), 0);
    SSL_CTX_set_max_proto_version(ctx.native_handle(), max_version);
    ctx.set_verify_mode(ssl::verify_none);
    beast::ssl_stream<beast::tcp_stream> s{ioc, ctx};
    beast::get_lowest_layer(s).expires_after(std::chrono::seconds(10));
    beast::get_lowest_layer(s).connect(at());
    beast::error_code ec;
    s.handshake(ssl::stream_base::client, ec);
    return !ec;
  }

  std::string dir_;
  std::optional<pactumd_process> server_;
};

} // namespace

TEST_F(TlsEndToEnd, RestAndWebSocketWorkOverTls) {
  auto health = https(http::verb::get, "/healthz");
  EXPECT_EQ(health.status, 200);
  auto token = account("tls-user@example.com");
  ASSERT_FALSE(token.empty());

  net::io_context ioc;
  auto ctx = client_context();
  websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws{ioc, ctx};
  ws.next_layer().set_verify_callback(ssl::host_name_verification("127.0.0.1"));
  beast::get_lowest_layer(ws).expires_after(std::chrono::seconds(10));
  beast::get_lowest_layer(ws).connect(at());
  ws.next_layer().handshake(ssl::stream_base::client);
  beast::get_lowest_layer(ws).expires_never();
  ws.set_option(websocket::stream_base::decorator([&](websocket::request_type& req) {
    req.set(http::field::authorization, "Bearer " + token);
    req.set(http::field::origin, "https://127.0.0.1:" + std::to_string(server_->port()));
  }));
  ws.handshake("127.0.0.1:" + std::to_string(server_->port()), "/ws");
  beast::flat_buffer buf;
  ws.read(buf);
  auto hello = json::parse(beast::buffers_to_string(buf.data()));
  EXPECT_EQ(hello["type"], "hello");
  buf.consume(buf.size());
  ws.text(true);
  ws.write(net::buffer(std::string{R"({"type":"ping","id":1})"}));
  ws.read(buf);
  auto pong = json::parse(beast::buffers_to_string(buf.data()));
  EXPECT_EQ(pong["type"], "ok");
  EXPECT_EQ(pong["re"], 1);
  ws.close(websocket::close_code::normal);
}

TEST_F(TlsEndToEnd, PlainHttpToTheTlsPortFailsCleanlyAndTheServerKeepsServing) {
  for (int i = 0; i < 3; ++i) {
    bool answered_in_plain_text = false;
    try {
      auto r = http_call(endpoint{"127.0.0.1", server_->port()}, "GET", "/healthz");
      answered_in_plain_text = r.status == 200;
    } catch (const std::exception&) {
      // expected: the server speaks only TLS and drops the connection
    }
    EXPECT_FALSE(answered_in_plain_text);
  }
  EXPECT_EQ(https(http::verb::get, "/healthz").status, 200);
}

TEST_F(TlsEndToEnd, TlsOlderThan12IsRefused) {
  EXPECT_TRUE(handshake_with_max(TLS1_2_VERSION)) << "the probe client itself works";
  EXPECT_FALSE(handshake_with_max(TLS1_1_VERSION));
  EXPECT_FALSE(handshake_with_max(TLS1_VERSION));
  EXPECT_EQ(https(http::verb::get, "/healthz").status, 200);
}

TEST(TlsConfiguration, PactumdRefusesAMissingOrMismatchedCertificate) {
  auto* bin = std::getenv("PACTUMD_BIN");
  ASSERT_TRUE(bin && *bin);
  auto run = [&](const std::string& args) {
    auto rc = std::system((std::string{bin} + " --database-url postgresql://127.0.0.1:1/none "
                           + args + " >/dev/null 2>&1").c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  };
  EXPECT_EQ(run("--tls-cert /nonexistent.pem"), 2) << "a certificate without a key";
  EXPECT_EQ(run("--tls-cert /a.pem --tls-key /b.pem"), 2) << "the sandbox needs plain HTTP";
}
