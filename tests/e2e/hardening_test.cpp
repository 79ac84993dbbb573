// End to end: the WebSocket limits of docs/security.md against a real pactumd over real sockets.
// Credentials in the Sec-WebSocket-Protocol offer, the message size limit enforced from the frame
// header, permessage-deflate off unless asked for, ping/pong idle timeout, the per-connection
// frame rate limit. Clients that misbehave on purpose use raw_ws (a hand-rolled socket client).

#include <fstream>
#include <thread>
#include <utility> // before Boost.Asio: its C++20 awaitable.hpp uses std::exchange

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>

#include "pactum/sim/client.hpp"
#include "pactumd_process.hpp"
#include "raw_ws.hpp"
#include "test_database.hpp"

using namespace pactum::sim;
using pactum::test_support::pactumd_process;
using pactum::test_support::raw_ws;

namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;

class HardeningEndToEnd : public pactum::test_support::database_test {
protected:
  void TearDown() override {
    if (HasFailure() && server_)
      std::cerr << "---- pactumd log ----\n" << server_->log() << "---------------------\n";
    server_.reset();
    database_test::TearDown();
  }

  void start(std::vector<std::string> flags = {}) { server_.emplace(url(), std::move(flags)); }

  endpoint ep() const { return endpoint{"127.0.0.1", server_->port()}; }

  /// The server's resident memory in KiB (/proc/<pid>/status).
  long rss_kib() const {
    std::ifstream in("/proc/" + std::to_string(server_->pid()) + "/status");
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("VmRSS:", 0) == 0)
        return std::stol(line.substr(6));
    return -1;
  }

  /// Upgrades `ws` offering these subprotocols (one Sec-WebSocket-Protocol header).
  static int offer(raw_ws& ws, const std::string& protocols, const std::string& more = {}) {
    return ws.upgrade("Sec-WebSocket-Protocol: " + protocols + "\r\n" + more);
  }

  /// Reads the hello frame of a freshly opened raw connection; its user id.
  static std::string hello_user(raw_ws& ws) {
    auto f = ws.read_frame(std::chrono::seconds(5));
    if (!f || f->opcode != 1)
      return {};
    auto j = json::parse(f->payload, nullptr, false);
    return j.is_object() && j["type"] == "hello" ? j["user"]["id"].get<std::string>() : std::string{};
  }

  std::optional<pactumd_process> server_;
};

} // namespace

// -- credentials in the subprotocol offer ----------------------------------------------------------

TEST_F(HardeningEndToEnd, BrowsersCanOfferTheAccessTokenAsASubprotocolAndOnlyPactumV1IsAnswered) {
  start();
  auto a = make_account(ep(), "brand", "Ana");
  raw_ws ws{server_->port()};
  ASSERT_EQ(offer(ws, "pactum.v1, pactum.bearer." + a.token), 101) << ws.head();
  EXPECT_EQ(ws.header("Sec-WebSocket-Protocol"), "pactum.v1");
  EXPECT_EQ(ws.head().find(a.token), std::string::npos) << "the token is never echoed";
  EXPECT_EQ(hello_user(ws), a.id);

  // pactum.v1 alone with the header credential: the subprotocol is answered too.
  raw_ws plain{server_->port()};
  ASSERT_EQ(plain.upgrade("Sec-WebSocket-Protocol: pactum.v1\r\nAuthorization: Bearer " + a.token + "\r\n"), 101);
  EXPECT_EQ(plain.header("Sec-WebSocket-Protocol"), "pactum.v1");
  // No subprotocol offered: none answered (what existing clients do).
  raw_ws none{server_->port()};
  ASSERT_EQ(none.upgrade("Authorization: Bearer " + a.token + "\r\n"), 101);
  EXPECT_FALSE(none.header("Sec-WebSocket-Protocol").has_value());
}

TEST_F(HardeningEndToEnd, ATicketInTheSubprotocolOfferWorksOnce) {
  start();
  auto a = make_account(ep(), "creator", "Cleo");
  auto t = http_call(ep(), "POST", "/api/v1/ws-ticket", "", a.token);
  ASSERT_EQ(t.status, 200) << t.body;
  auto ticket = t.json_body()["ticket"].get<std::string>();
  raw_ws first{server_->port()};
  ASSERT_EQ(offer(first, "pactum.ticket." + ticket + ", pactum.v1"), 101) << first.head();
  EXPECT_EQ(first.header("Sec-WebSocket-Protocol"), "pactum.v1");
  EXPECT_EQ(hello_user(first), a.id);
  raw_ws again{server_->port()};
  EXPECT_EQ(offer(again, "pactum.v1, pactum.ticket." + ticket), 401) << "single use";
}

TEST_F(HardeningEndToEnd, BadSubprotocolCredentialsAreRefusedBeforeAny101) {
  start();
  auto a = make_account(ep(), "brand", "Ana");
  {
    raw_ws ws{server_->port()};
    EXPECT_EQ(offer(ws, "pactum.v1, pactum.bearer.AAAAnotAtokenAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), 401);
    EXPECT_EQ(ws.header("WWW-Authenticate"), "Bearer");
    EXPECT_TRUE(ws.wait_ended(std::chrono::seconds(2))) << "closed after the refusal, never upgraded";
  }
  {
    raw_ws ws{server_->port()};
    EXPECT_EQ(offer(ws, "pactum.v1, pactum.bearer."), 400) << "empty token";
  }
  {
    raw_ws ws{server_->port()};
    EXPECT_EQ(offer(ws, "pactum.bearer." + a.token), 400) << "credential without pactum.v1";
  }
  {
    raw_ws ws{server_->port()};
    EXPECT_EQ(offer(ws, "pactum.v1, pactum.bearer." + a.token + ", pactum.ticket.x"), 400)
      << "two credentials";
  }
  {
    raw_ws ws{server_->port()};
    EXPECT_EQ(offer(ws, "pactum.v1, pactum.bearer." + a.token, "Origin: https://evil.example\r\n"), 403)
      << "Origin is checked first, even with a valid token";
  }
}

// -- message size ---------------------------------------------------------------------------------

TEST_F(HardeningEndToEnd, AFrameClaimingAGibibyteIsRefusedFromItsHeaderWithoutBuffering) {
  start({"--max-sockets-per-user", "100"});
  auto a = make_account(ep(), "brand", "Ana");
  ws_client bystander{ep(), a.token};
  auto before = rss_kib();
  ASSERT_GT(before, 0);
  // 40 connections each announce a 1 GiB binary frame, then send nothing more (and a few bytes
  // of payload on half of them). Each must be closed with 1009 at once, not wait for the payload.
  std::vector<std::unique_ptr<raw_ws>> liars;
  for (int i = 0; i < 40; ++i) {
    auto ws = std::make_unique<raw_ws>(server_->port());
    ASSERT_EQ(ws->upgrade("Authorization: Bearer " + a.token + "\r\n"), 101);
    ASSERT_EQ(hello_user(*ws), a.id);
    liars.push_back(std::move(ws));
  }
  auto sent = std::chrono::steady_clock::now();
  for (size_t i = 0; i < liars.size(); ++i)
    liars[i]->send_all(raw_ws::frame_header(2, uint64_t{1} << 30)
                       + (i % 2 ? std::string(1000, 'x') : std::string{}));
  for (auto& ws : liars) {
    auto f = ws->read_frame(std::chrono::seconds(2));
    ASSERT_TRUE(f.has_value()) << "no close frame";
    EXPECT_EQ(f->opcode, 8);
    EXPECT_EQ(f->close_code(), 1009);
    EXPECT_TRUE(ws->wait_ended(std::chrono::seconds(2)));
  }
  auto took = std::chrono::steady_clock::now() - sent;
  EXPECT_LT(took, std::chrono::seconds(2)) << "closed from the header, not after a read timeout";
  auto after = rss_kib();
  std::cout << "server RSS " << before << " KiB -> " << after << " KiB after 40 x 1 GiB claims\n";
  // Generous for the ASan build (its quarantine keeps freed memory resident); one buffered claim
  // alone would be 1 GiB.
  EXPECT_LT(after - before, 256 * 1024) << "RSS grew from " << before << " to " << after << " KiB";
  // A frame over the limit by one byte, with its payload, is refused too; the server still serves.
  raw_ws over{server_->port()};
  ASSERT_EQ(over.upgrade("Authorization: Bearer " + a.token + "\r\n"), 101);
  hello_user(over);
  over.send_frame(1, std::string(64 * 1024 + 1, ' '));
  auto f = over.read_frame(std::chrono::seconds(2));
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->close_code(), 1009);
  EXPECT_EQ(bystander.request(json{{"type", "ping"}})["type"], "ok");
}

// -- permessage-deflate ---------------------------------------------------------------------------

TEST_F(HardeningEndToEnd, PermessageDeflateIsOffUnlessTurnedOn) {
  start();
  auto a = make_account(ep(), "brand", "Ana");
  raw_ws off{server_->port()};
  ASSERT_EQ(off.upgrade("Authorization: Bearer " + a.token
                        + "\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"),
            101);
  EXPECT_FALSE(off.header("Sec-WebSocket-Extensions").has_value()) << off.head();

  server_.reset();
  start({"--ws-deflate"});
  raw_ws on{server_->port()};
  ASSERT_EQ(on.upgrade("Authorization: Bearer " + a.token
                       + "\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"),
            101);
  auto ext = on.header("Sec-WebSocket-Extensions");
  ASSERT_TRUE(ext.has_value()) << on.head();
  EXPECT_NE(ext->find("permessage-deflate"), std::string::npos);

  // A compressing client (Beast's) talks to it: a large, very compressible request round-trips.
  net::io_context ioc;
  websocket::stream<beast::tcp_stream> ws{ioc};
  websocket::permessage_deflate pmd;
  pmd.client_enable = true;
  ws.set_option(pmd);
  beast::get_lowest_layer(ws).connect(
    net::ip::tcp::endpoint{net::ip::make_address("127.0.0.1"), server_->port()});
  ws.set_option(websocket::stream_base::decorator([&](websocket::request_type& req) {
    req.set(beast::http::field::authorization, "Bearer " + a.token);
  }));
  ws.handshake("127.0.0.1", "/ws");
  beast::flat_buffer buf;
  ws.read(buf); // hello
  buf.consume(buf.size());
  ws.text(true);
  // JSON allows any amount of whitespace: 40 KB that deflate shrinks to almost nothing.
  ws.write(net::buffer(R"({"type":"ping","id":"big")" + std::string(40'000, ' ') + "}"));
  ws.read(buf);
  auto reply = json::parse(beast::buffers_to_string(buf.data()));
  EXPECT_EQ(reply["type"], "ok") << reply.dump();
  ws.close(websocket::close_code::normal);
}

// -- ping/pong ------------------------------------------------------------------------------------

TEST_F(HardeningEndToEnd, ASilentClientIsPingedAndDroppedWhileAnAnsweringOneStays) {
  start({"--ws-ping-interval-s", "1"});
  auto a = make_account(ep(), "brand", "Ana");
  ws_client polite{ep(), a.token}; // reads continuously; its library answers pings
  raw_ws mute{server_->port()};
  ASSERT_EQ(mute.upgrade("Authorization: Bearer " + a.token + "\r\n"), 101);
  ASSERT_EQ(hello_user(mute), a.id);
  auto opened = std::chrono::steady_clock::now();
  std::optional<std::chrono::steady_clock::duration> pinged;
  while (auto f = mute.read_frame(std::chrono::seconds(6)))
    if (f->opcode == 9 && !pinged)
      pinged = std::chrono::steady_clock::now() - opened;
  auto ended = std::chrono::steady_clock::now() - opened;
  ASSERT_TRUE(mute.ended()) << "still open after 6 s";
  ASSERT_TRUE(pinged.has_value()) << "closed without a ping first";
  // Bounds are loose: two busy cores under ASan may stall the server for hundreds of ms.
  EXPECT_GT(*pinged, std::chrono::milliseconds(500));
  EXPECT_LT(*pinged, std::chrono::milliseconds(2'500));
  EXPECT_GT(ended, std::chrono::milliseconds(1'500)) << "not before the pong had time to come";
  EXPECT_LT(ended, std::chrono::milliseconds(4'500));
  std::this_thread::sleep_for(std::chrono::milliseconds(4'500) - ended);
  EXPECT_FALSE(polite.closed());
  EXPECT_EQ(polite.request(json{{"type", "ping"}})["type"], "ok") << "answering pings keeps it open";
}

// -- per-connection frame rate -------------------------------------------------------------------

TEST_F(HardeningEndToEnd, FramesOverTheConnectionRateAreRefusedUnexecutedAndAFloodIsClosed) {
  // One token a second: a stall of the server while it reads the burst cannot refill the bucket
  // enough to let the over-limit frames through.
  start({"--ws-frame-rate-per-s", "1", "--ws-frame-burst", "5", "--ws-rate-strikes", "20",
         "--ws-rate-window-s", "10"});
  auto brand = make_account(ep(), "brand", "Ana");
  auto creator = make_account(ep(), "creator", "Cleo");
  ws_client b{ep(), brand.token};
  ws_client other{ep(), brand.token}; // the same user's other connection
  auto open = b.request(json{{"type", "conversation.open"}, {"with", creator.id}});
  ASSERT_EQ(open["type"], "ok") << open.dump();
  auto conv = open["conversation"]["id"].get<std::string>();
  // 7 frames back to back against a bucket of at most 5: the first ones run, the last are refused.
  for (int i = 0; i < 6; ++i)
    b.send(json{{"type", "ping"}, {"id", "p" + std::to_string(i)}});
  b.send(json{{"type", "message.send"}, {"id", "m1"}, {"conversation", conv}, {"client_id", "c1"},
              {"text", "over the limit"}});
  int ok = 0, limited = 0;
  for (int i = 0; i < 6; ++i) {
    auto r = b.wait_reply(json("p" + std::to_string(i)));
    ASSERT_TRUE(r.has_value());
    if ((*r)["type"] == "ok") {
      EXPECT_EQ(limited, 0) << "refusals come after the burst, not before";
      ++ok;
    } else {
      EXPECT_EQ((*r)["code"], "rate_limited") << r->dump();
      EXPECT_GT((*r)["retry_after_ms"].get<int64_t>(), 0);
      ++limited;
    }
  }
  EXPECT_GE(ok, 4);
  EXPECT_GE(limited, 1);
  auto refused = b.wait_reply(json("m1"));
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ((*refused)["code"], "rate_limited") << refused->dump();
  auto wait_ms = (*refused)["retry_after_ms"].get<int64_t>();
  EXPECT_GT(wait_ms, 0);
  EXPECT_LE(wait_ms, 1'000) << "one token at 1/s";
  EXPECT_EQ(other.request(json{{"type", "ping"}})["type"], "ok") << "other connections unaffected";

  std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms + 50));
  auto h = b.request(json{{"type", "history"}, {"conversation", conv}});
  ASSERT_EQ(h["type"], "ok") << h.dump();
  EXPECT_EQ(h["events"].size(), 1u) << "only the opening; the refused message was not stored";

  // A persistent offender: 20 refusals within 10 s close the connection with 4029.
  for (int i = 0; i < 40 && !b.closed(); ++i)
    b.send(json{{"type", "ping"}, {"id", "f" + std::to_string(i)}});
  EXPECT_TRUE(b.wait_closed(std::chrono::seconds(3)));
  EXPECT_EQ(b.close_code(), 4029);
  EXPECT_EQ(other.request(json{{"type", "ping"}})["type"], "ok");
}
