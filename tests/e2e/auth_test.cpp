// End to end: the token lifecycle (access + rotating refresh tokens, logout, own sessions),
// login throttling, and the checks a WebSocket upgrade goes through (Origin, tickets, per-user
// cap). A real pactumd and real sockets; every assertion is something a client would notice.

// BOOST_BEAST_USE_STD_STRING_VIEW comes from pactum_sim (a PUBLIC definition): Beast templates
// instantiated here and in the sim library must agree on it, or the linker merges incompatible
// code.

#include <atomic>
#include <map>
#include <optional>
#include <sys/wait.h>
#include <thread>
#include <utility> // before Boost.Asio: its C++20 awaitable.hpp uses std::exchange

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include "pactum/sim/client.hpp"
#include "mail_outbox.hpp"
#include "pactumd_process.hpp"
#include "test_database.hpp"

using namespace pactum::sim;
using pactum::test_support::pactumd_process;

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

class AuthEndToEnd : public pactum::test_support::database_test {
protected:
  void TearDown() override {
    if (HasFailure() && server_)
      std::cerr << "---- pactumd log ----\n" << server_->log() << "---------------------\n";
    server_.reset();
    database_test::TearDown();
  }

  void start(std::vector<std::string> flags = {}) { server_.emplace(url(), std::move(flags)); }

  endpoint ep() const { return endpoint{"127.0.0.1", server_->port()}; }

  http_reply login(const std::string& email, const std::string& password) {
    return http_call(ep(), "POST", "/api/v1/users/login",
                     json{{"email", email}, {"password", password}}.dump());
  }

  http_reply refresh(const std::string& refresh_token) {
    return http_call(ep(), "POST", "/api/v1/users/refresh",
                     json{{"refresh_token", refresh_token}}.dump());
  }

  /// A WebSocket upgrade with exactly these extra headers; returns the HTTP status (101 = open).
  int upgrade_status(const std::string& target, const std::map<std::string, std::string>& headers) {
    net::io_context ioc;
    beast::tcp_stream stream{ioc};
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(net::ip::tcp::endpoint{net::ip::make_address("127.0.0.1"), server_->port()});
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1:" + std::to_string(server_->port()));
    req.set(http::field::connection, "Upgrade");
    req.set(http::field::upgrade, "websocket");
    req.set(http::field::sec_websocket_version, "13");
    req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
    for (auto& [k, v] : headers)
      req.set(k, v);
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    http::read_header(stream, buffer, parser);
    return parser.get().result_int();
  }

  /// True when an upgrade with this access token is refused with 401.
  bool refused_401(const std::string& token) {
    try {
      ws_client c{ep(), token};
      return false;
    } catch (const upgrade_refused& e) {
      return e.status == 401;
    }
  }

  /// The socket is closed by the server with 4003 within about a second.
  static void expect_revoked_close(ws_client& c) {
    EXPECT_TRUE(c.wait_closed(std::chrono::milliseconds(1'500))) << "socket still open";
    EXPECT_EQ(c.close_code(), 4003);
  }

  static bool still_open(ws_client& c) {
    return c.request(json{{"type", "ping"}})["type"] == "ok";
  }

  std::optional<pactumd_process> server_;
};

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

} // namespace

// -- token lifecycle ------------------------------------------------------------------------------

TEST_F(AuthEndToEnd, LoginGivesAShortLivedAccessTokenAndARefreshTokenThatRotates) {
  start();
  auto a = make_account(ep(), "brand", "Ana");
  auto r = login(a.email, a.password);
  ASSERT_EQ(r.status, 200) << r.body;
  auto first = r.json_body();
  auto now = now_ms();
  EXPECT_EQ(first["token_type"], "Bearer");
  EXPECT_EQ(first["token"].get<std::string>().size(), 43u);
  EXPECT_EQ(first["refresh_token"].get<std::string>().size(), 43u);
  EXPECT_EQ(first["expires_at"], first["access_expires_at"]) << "old clients read expires_at";
  EXPECT_NEAR(first["access_expires_at"].get<int64_t>() - now, 15 * 60'000, 60'000);
  EXPECT_NEAR(first["refresh_expires_at"].get<int64_t>() - now, 30LL * 24 * 3'600'000, 60'000);

  auto rotated = refresh(first["refresh_token"]);
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  auto second = rotated.json_body();
  EXPECT_NE(second["token"], first["token"]);
  EXPECT_NE(second["refresh_token"], first["refresh_token"]);
  EXPECT_EQ(second["session_id"], first["session_id"]) << "same login, new tokens";
  EXPECT_EQ(second["user"]["id"], a.id);
  ws_client c{ep(), second["token"].get<std::string>()};
  EXPECT_EQ(c.hello()["user"]["id"], a.id);

  // An access token is not a refresh token and vice versa.
  EXPECT_EQ(refresh(second["token"]).status, 401);
  EXPECT_TRUE(refused_401(second["refresh_token"]));
  EXPECT_EQ(refresh("not a token").status, 401);
}

TEST_F(AuthEndToEnd, ReplayingARotatedRefreshTokenRevokesTheWholeLoginAndClosesItsSockets) {
  start();
  auto a = make_account(ep(), "creator", "Cleo");
  auto first = login(a.email, a.password).json_body();
  auto second = refresh(first["refresh_token"]).json_body();
  ASSERT_TRUE(second.contains("refresh_token")) << second.dump();
  ws_client victim{ep(), second["token"].get<std::string>()};
  ws_client other_login{ep(), a.token}; // make_account's own login: a different family

  // The thief (or the victim) presents the already rotated token again.
  auto replay = refresh(first["refresh_token"]);
  EXPECT_EQ(replay.status, 401);
  EXPECT_EQ(replay.json_body()["error"]["code"], "unauthorized");
  expect_revoked_close(victim);
  EXPECT_TRUE(refused_401(second["token"])) << "the family's newest access token is dead too";
  EXPECT_EQ(refresh(second["refresh_token"]).status, 401) << "and so is its newest refresh token";
  EXPECT_TRUE(still_open(other_login)) << "other logins of the user are untouched";
}

TEST_F(AuthEndToEnd, LogoutRevokesThatLoginOnlyAndClosesItsSocketsWithin1s) {
  start();
  auto a = make_account(ep(), "brand", "Ana");
  auto phone = login(a.email, a.password).json_body();
  ws_client phone_ws1{ep(), phone["token"].get<std::string>()};
  ws_client phone_ws2{ep(), phone["token"].get<std::string>()};
  ws_client laptop_ws{ep(), a.token};

  EXPECT_EQ(http_call(ep(), "POST", "/api/v1/users/logout").status, 401);
  auto out = http_call(ep(), "POST", "/api/v1/users/logout", "", phone["token"]);
  EXPECT_EQ(out.status, 204) << out.body;
  expect_revoked_close(phone_ws1);
  expect_revoked_close(phone_ws2);
  EXPECT_TRUE(still_open(laptop_ws));
  EXPECT_TRUE(refused_401(phone["token"]));
  EXPECT_EQ(refresh(phone["refresh_token"]).status, 401);
  EXPECT_EQ(http_call(ep(), "POST", "/api/v1/users/logout", "", phone["token"]).status, 401);
}

TEST_F(AuthEndToEnd, UsersListTheirLoginsAndRevokeOne) {
  start();
  auto a = make_account(ep(), "brand", "Ana");
  auto b = make_account(ep(), "creator", "Bo");
  auto second = login(a.email, a.password).json_body();
  ws_client second_ws{ep(), second["token"].get<std::string>()};

  EXPECT_EQ(http_call(ep(), "GET", "/api/v1/users/me/sessions").status, 401);
  auto list = http_call(ep(), "GET", "/api/v1/users/me/sessions", "", a.token);
  ASSERT_EQ(list.status, 200) << list.body;
  auto sessions = list.json_body()["sessions"];
  ASSERT_EQ(sessions.size(), 2u) << sessions.dump();
  EXPECT_EQ(sessions[0]["id"], second["session_id"]) << "newest first";
  EXPECT_EQ(sessions[0]["current"], false);
  EXPECT_EQ(sessions[1]["current"], true);
  EXPECT_EQ(sessions[0]["user_agent"], "pactum-sim");
  EXPECT_GT(sessions[0]["created_at"].get<int64_t>(), 0);
  EXPECT_GE(sessions[0]["last_used_at"].get<int64_t>(), sessions[0]["created_at"].get<int64_t>());

  auto path = "/api/v1/users/me/sessions/" + second["session_id"].get<std::string>();
  EXPECT_EQ(http_call(ep(), "DELETE", path, "", b.token).status, 404)
    << "someone else's login cannot be revoked (nor told apart from a missing one)";
  EXPECT_TRUE(still_open(second_ws));
  EXPECT_EQ(http_call(ep(), "DELETE", path, "", a.token).status, 204);
  expect_revoked_close(second_ws);
  EXPECT_TRUE(refused_401(second["token"]));
  EXPECT_EQ(http_call(ep(), "DELETE", path, "", a.token).status, 404);
  EXPECT_EQ(http_call(ep(), "DELETE", "/api/v1/users/me/sessions/nonsense", "", a.token).status,
            404);
  auto after = http_call(ep(), "GET", "/api/v1/users/me/sessions", "", a.token).json_body();
  EXPECT_EQ(after["sessions"].size(), 1u);
}

TEST_F(AuthEndToEnd, AnExpiredAccessTokenIsRefusedAndARefreshRenewsIt) {
  start({"--access-token-ttl-s", "1"});
  auto a = make_account(ep(), "brand", "Ana");
  auto tokens = login(a.email, a.password).json_body();
  std::this_thread::sleep_for(std::chrono::milliseconds(1'500));
  EXPECT_TRUE(refused_401(tokens["token"]));
  EXPECT_EQ(http_call(ep(), "GET", "/api/v1/users/me/sessions", "", tokens["token"]).status, 401);
  auto renewed = refresh(tokens["refresh_token"]);
  ASSERT_EQ(renewed.status, 200) << renewed.body;
  ws_client c{ep(), renewed.json_body()["token"].get<std::string>()};
  EXPECT_EQ(c.hello()["user"]["id"], a.id);
}

// -- login throttling -----------------------------------------------------------------------------

TEST_F(AuthEndToEnd, FailedLoginsAreThrottledAndKnownAndUnknownEmailsLookTheSame) {
  start();
  auto a = make_account(ep(), "brand", "Ana");
  auto hammer = [&](const std::string& email) {
    for (int i = 0; i < 5; ++i)
      EXPECT_EQ(login(email, "wrong password " + std::to_string(i)).status, 401) << i;
    return login(email, "another wrong one");
  };
  auto known = hammer(a.email);
  // While throttled even the right password is refused (asked at once: the block lasts 1 s, and
  // the unknown email's six hashed logins below can take longer than that under a sanitizer).
  auto blocked = login(a.email, a.password);
  auto unknown = hammer("nobody-here@example.test");
  EXPECT_EQ(known.status, 429);
  EXPECT_EQ(known.json_body()["error"]["code"], "rate_limited");
  EXPECT_EQ(known.retry_after, "1");
  EXPECT_EQ(unknown.status, known.status);
  EXPECT_EQ(unknown.body, known.body);
  EXPECT_EQ(unknown.retry_after, known.retry_after);

  EXPECT_EQ(blocked.status, 429);
  // After the wait the right password works again.
  std::this_thread::sleep_for(std::chrono::milliseconds(1'100));
  EXPECT_EQ(login(a.email, a.password).status, 200);
  // The success reset the account: failures are free again.
  EXPECT_EQ(login(a.email, "wrong again").status, 401);
}

TEST_F(AuthEndToEnd, TheWaitGrowsWithEachFurtherFailure) {
  start();
  auto a = make_account(ep(), "brand", "Ana");
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(login(a.email, "wrong password").status, 401);
  std::this_thread::sleep_for(std::chrono::milliseconds(1'100));
  EXPECT_EQ(login(a.email, "wrong password").status, 401) << "allowed after the wait, still wrong";
  auto next = login(a.email, "wrong password");
  EXPECT_EQ(next.status, 429);
  EXPECT_EQ(next.retry_after, "2");
}

TEST_F(AuthEndToEnd, ASuccessfulLoginResetsTheAccountsCounter) {
  start();
  auto a = make_account(ep(), "brand", "Ana");
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 4; ++i)
      ASSERT_EQ(login(a.email, "wrong password").status, 401) << round << "/" << i;
    ASSERT_EQ(login(a.email, a.password).status, 200) << round;
  }
}

TEST_F(AuthEndToEnd, AParallelBurstOfGuessesGetsNoMoreThanTheFreeFailures) {
  // Each guess costs an argon2id check, far longer than the throttle's own check: 24 guesses
  // sent at the same instant used to pass the throttle before the first of them had failed.
  start();
  auto a = make_account(ep(), "brand", "Ana");
  constexpr int n = 24;
  std::vector<http_reply> replies(n);
  std::atomic<bool> go{false};
  std::vector<std::thread> guessers;
  for (int i = 0; i < n; ++i)
    guessers.emplace_back([&, i] {
      while (!go.load())
        std::this_thread::yield();
      replies[i] = login(a.email, "guess number " + std::to_string(i));
    });
  go = true;
  for (auto& t : guessers)
    t.join();
  int wrong = 0, limited = 0;
  for (auto& r : replies) {
    if (r.status == 401)
      ++wrong;
    else if (r.status == 429 && !r.retry_after.empty())
      ++limited;
    else
      ADD_FAILURE() << r.status << " " << r.body;
  }
  EXPECT_GE(wrong, 1);
  EXPECT_LE(wrong, 5) << "no more guesses are checked than the account's 5 free failures";
  EXPECT_EQ(wrong + limited, n);
  // The owner gets in once the wait (if the burst used up the free failures) is over.
  http_reply in;
  for (int i = 0; i < 50 && in.status != 200; ++i) {
    in = login(a.email, a.password);
    if (in.status != 200)
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(in.status, 200) << in.body;
}

TEST_F(AuthEndToEnd, FailuresFromOneAddressAreThrottledAcrossAccounts) {
  start({"--login-free-failures-per-address", "3"});
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(login("spray" + std::to_string(i) + "@example.test", "guess guess").status, 401);
  auto next = login("spray-new@example.test", "guess guess");
  EXPECT_EQ(next.status, 429);
  EXPECT_FALSE(next.retry_after.empty());
}

// -- WebSocket upgrade ----------------------------------------------------------------------------

TEST_F(AuthEndToEnd, OnlyTheServersOwnAndAllowedOriginsMayOpenWebSockets) {
  start({"--allowed-origins", "https://app.example.com, https://admin.example.com"});
  auto a = make_account(ep(), "brand", "Ana");
  auto bearer = "Bearer " + a.token;
  auto own = "http://127.0.0.1:" + std::to_string(server_->port());
  EXPECT_EQ(upgrade_status("/ws", {{"Authorization", bearer}}), 101) << "no Origin: not a browser";
  EXPECT_EQ(upgrade_status("/ws", {{"Authorization", bearer}, {"Origin", own}}), 101);
  EXPECT_EQ(upgrade_status("/ws", {{"Authorization", bearer}, {"Origin", "https://admin.example.com"}}),
            101);
  EXPECT_EQ(upgrade_status("/ws", {{"Authorization", bearer}, {"Origin", "https://evil.example"}}),
            403);
  EXPECT_EQ(upgrade_status("/ws", {{"Origin", "https://evil.example"}}), 403)
    << "the origin is checked before the token";
}

TEST_F(AuthEndToEnd, ABrowserOpensAWebSocketWithASingleUseTicket) {
  start();
  auto a = make_account(ep(), "brand", "Ana");
  auto own = "http://127.0.0.1:" + std::to_string(server_->port());
  EXPECT_EQ(http_call(ep(), "POST", "/api/v1/ws-ticket").status, 401);
  auto t = http_call(ep(), "POST", "/api/v1/ws-ticket", "", a.token);
  ASSERT_EQ(t.status, 200) << t.body;
  auto ticket = t.json_body()["ticket"].get<std::string>();
  EXPECT_NEAR(t.json_body()["expires_at"].get<int64_t>() - now_ms(), 30'000, 5'000);
  EXPECT_EQ(upgrade_status("/ws?ticket=" + ticket, {{"Origin", own}}), 101);
  EXPECT_EQ(upgrade_status("/ws?ticket=" + ticket, {{"Origin", own}}), 401) << "single use";
  EXPECT_EQ(upgrade_status("/ws?ticket=" + std::string(43, 'x'), {}), 401);

  // A ticket dies with its login.
  auto t2 = http_call(ep(), "POST", "/api/v1/ws-ticket", "", a.token).json_body()["ticket"];
  ASSERT_EQ(http_call(ep(), "POST", "/api/v1/users/logout", "", a.token).status, 204);
  EXPECT_EQ(upgrade_status("/ws?ticket=" + t2.get<std::string>(), {}), 401);
}

TEST_F(AuthEndToEnd, AUserHasAtMostTheConfiguredNumberOfWebSockets) {
  start({"--max-sockets-per-user", "2"});
  auto a = make_account(ep(), "brand", "Ana");
  auto b = make_account(ep(), "creator", "Bo");
  std::optional<ws_client> one{std::in_place, ep(), a.token};
  ws_client two{ep(), a.token};
  try {
    ws_client three{ep(), a.token};
    FAIL() << "a third socket was accepted";
  } catch (const upgrade_refused& e) {
    EXPECT_EQ(e.status, 429);
  }
  ws_client other_user{ep(), b.token};
  one->close();
  one.reset();
  // The slot is freed when the server has seen the close.
  bool reopened = false;
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
       !reopened && std::chrono::steady_clock::now() < until;) {
    try {
      ws_client again{ep(), a.token};
      reopened = true;
    } catch (const upgrade_refused&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  EXPECT_TRUE(reopened);
}

// -- the token cache of WebSocket upgrades (docs/security.md "Tokens and logins") -----------------

TEST_F(AuthEndToEnd, AReconnectWithAVerifiedTokenStillEndsWithTheTokensLifetime) {
  start({"--access-token-ttl-s", "1"});
  auto a = make_account(ep(), "brand", "Ana");
  auto tokens = login(a.email, a.password).json_body();
  auto token = tokens["token"].get<std::string>();
  {
    ws_client first{ep(), token}; // verified in the database, then cached
    ws_client reconnect{ep(), token};
    EXPECT_EQ(reconnect.hello()["user"]["id"], a.id);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1'500));
  EXPECT_TRUE(refused_401(token)) << "the cache never outlives the token";
}

TEST_F(AuthEndToEnd, ARevokedLoginsCachedTokenIsRefusedAtTheNextUpgrade) {
  for (const char* ttl : {"30000", "0"}) {
    start({"--auth-cache-ttl-ms", ttl});
    auto a = make_account(ep(), "creator", "Cleo");
    auto other = login(a.email, a.password).json_body();
    auto token = other["token"].get<std::string>();
    std::optional<ws_client> before{std::in_place, ep(), token};
    before->close();
    before.reset();
    ws_client kept{ep(), a.token};
    auto path = "/api/v1/users/me/sessions/" + other["session_id"].get<std::string>();
    ASSERT_EQ(http_call(ep(), "DELETE", path, "", a.token).status, 204) << "ttl " << ttl;
    EXPECT_TRUE(refused_401(token)) << "ttl " << ttl << ": revoked, cached or not";
    ws_client again{ep(), a.token};
    EXPECT_EQ(again.hello()["user"]["id"], a.id) << "the user's other login is untouched";
    server_.reset();
  }
}

TEST_F(AuthEndToEnd, TheTokenCacheLifetimeIsBounded) {
  // Refused at start-up with the usage exit status 2 (a server that started would be ended by
  // `timeout`, 124).
  std::string cmd = "timeout 30 " + std::string{std::getenv("PACTUMD_BIN")} + " --database-url '" + url()
                    + "' --listen 127.0.0.1:0 --log-level warn --auth-cache-ttl-ms 60001 >/dev/null 2>&1";
  int rc = std::system(cmd.c_str());
  EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 2)
    << "a revocation made elsewhere must apply within a minute; status " << rc;
}

// -- password change, log out everywhere, password reset (docs/protocol.md, docs/api.md) ----------

TEST_F(AuthEndToEnd, APasswordChangeKeepsThisLoginAndEndsEveryOther) {
  start();
  auto a = make_account(ep(), "brand", "Ana");
  auto phone = login(a.email, a.password).json_body();
  ws_client phone_ws{ep(), phone["token"].get<std::string>()};
  ws_client laptop_ws{ep(), a.token};
  auto change = [&](const std::string& current, const std::string& next, const std::string& token) {
    return http_call(ep(), "PUT", "/api/v1/users/me/password",
                     json{{"current_password", current}, {"new_password", next}}.dump(), token);
  };
  const std::string next = "a brand new passphrase";

  EXPECT_EQ(change(a.password, next, "").status, 401);
  auto wrong = change("not my password", next, a.token);
  EXPECT_EQ(wrong.status, 403) << wrong.body;
  EXPECT_EQ(wrong.json_body()["error"]["message"], "wrong password");
  auto weak = change(a.password, "short", a.token);
  ASSERT_EQ(weak.status, 400) << weak.body;
  EXPECT_EQ(weak.json_body()["error"]["fields"]["new_password"], "must be 10 to 128 characters long");
  auto same = change(a.password, a.password, a.token);
  EXPECT_EQ(same.status, 400) << same.body;
  EXPECT_EQ(same.json_body()["error"]["fields"]["new_password"], "must differ from the current password");
  EXPECT_TRUE(still_open(phone_ws)) << "refused changes revoke nothing";

  auto ok = change(a.password, next, a.token);
  ASSERT_EQ(ok.status, 204) << ok.body;
  expect_revoked_close(phone_ws);
  EXPECT_TRUE(refused_401(phone["token"]));
  EXPECT_EQ(refresh(phone["refresh_token"]).status, 401) << "the other login's refresh is dead too";
  EXPECT_TRUE(still_open(laptop_ws)) << "the login that changed the password stays";
  EXPECT_EQ(http_call(ep(), "GET", "/api/v1/users/me/sessions", "", a.token).json_body()["sessions"].size(), 1u);
  EXPECT_EQ(login(a.email, a.password).status, 401) << "the old password is gone";
  EXPECT_EQ(login(a.email, next).status, 200);
}

TEST_F(AuthEndToEnd, GuessingTheCurrentPasswordIsThrottledLikeALogin) {
  start();
  auto a = make_account(ep(), "creator", "Cleo");
  auto guess = [&](int i) {
    return http_call(ep(), "PUT", "/api/v1/users/me/password",
                     json{{"current_password", "guess " + std::to_string(i)}, {"new_password", "a brand new passphrase"}}.dump(),
                     a.token);
  };
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(guess(i).status, 403) << i;
  // The fifth failure blocks for 1 s; one more failure after it doubles the block to 2 s, which
  // leaves room for a slow machine to see the next two requests inside it.
  std::this_thread::sleep_for(std::chrono::milliseconds(1'100));
  EXPECT_EQ(guess(5).status, 403);
  auto blocked = guess(6);
  EXPECT_EQ(blocked.status, 429) << "the login throttle";
  EXPECT_EQ(blocked.json_body()["error"]["code"], "rate_limited");
  EXPECT_EQ(login(a.email, a.password).status, 429) << "the same counters as a password login";
}

TEST_F(AuthEndToEnd, LogoutEverywhereEndsEveryLoginIncludingThisOne) {
  start();
  auto a = make_account(ep(), "brand", "Ana");
  auto b = make_account(ep(), "creator", "Bo");
  auto phone = login(a.email, a.password).json_body();
  ws_client phone_ws{ep(), phone["token"].get<std::string>()};
  ws_client laptop_ws{ep(), a.token};
  ws_client other_user{ep(), b.token};

  EXPECT_EQ(http_call(ep(), "DELETE", "/api/v1/users/me/sessions").status, 401);
  auto out = http_call(ep(), "DELETE", "/api/v1/users/me/sessions", "", a.token);
  ASSERT_EQ(out.status, 204) << out.body;
  expect_revoked_close(phone_ws);
  expect_revoked_close(laptop_ws);
  EXPECT_TRUE(refused_401(a.token));
  EXPECT_TRUE(refused_401(phone["token"]));
  EXPECT_EQ(refresh(phone["refresh_token"]).status, 401);
  EXPECT_TRUE(still_open(other_user)) << "another user is untouched";
  EXPECT_EQ(login(a.email, a.password).status, 200) << "the password still works";
}

TEST_F(AuthEndToEnd, AForgottenPasswordIsResetWithAnEmailedCode) {
  start();
  auto a = make_account(ep(), "creator", "Cleo");
  ws_client laptop_ws{ep(), a.token};
  auto reset = [&](const std::string& code, const std::string& next) {
    return http_call(ep(), "POST", "/api/v1/users/password/reset",
                     json{{"email", a.email}, {"code", code}, {"new_password", next}}.dump());
  };
  auto before = pactum::test_support::last_mail_id(url());
  ASSERT_EQ(http_call(ep(), "POST", "/api/v1/users/login/code", json{{"email", a.email}}.dump()).status, 202);
  auto code = pactum::test_support::mailed_login_code(url(), a.email, before);
  ASSERT_EQ(code.size(), 6u);

  auto weak = reset(code, "aaaaaaaaaaaa");
  ASSERT_EQ(weak.status, 400) << weak.body;
  EXPECT_EQ(weak.json_body()["error"]["fields"]["new_password"], "must not be one character repeated");
  auto wrong = reset(code == "000000" ? "111111" : "000000", "a brand new passphrase");
  EXPECT_EQ(wrong.status, 401) << wrong.body;
  EXPECT_EQ(wrong.json_body()["error"]["message"], "wrong or expired code");
  EXPECT_TRUE(still_open(laptop_ws));

  auto ok = reset(code, "a brand new passphrase");
  ASSERT_EQ(ok.status, 204) << ok.body << " (the refused password did not use up the code)";
  expect_revoked_close(laptop_ws);
  EXPECT_TRUE(refused_401(a.token)) << "every login ends, since someone else may hold one";
  EXPECT_EQ(login(a.email, a.password).status, 401);
  EXPECT_EQ(login(a.email, "a brand new passphrase").status, 200);
  EXPECT_EQ(reset(code, "yet another passphrase").status, 401) << "a code works once";
  EXPECT_EQ(http_call(ep(), "POST", "/api/v1/users/password/reset",
                      json{{"email", "nobody@example.test"}, {"code", code}, {"new_password", "a brand new passphrase"}}.dump())
              .status,
            401)
    << "an unknown email answers like a wrong code";
}
