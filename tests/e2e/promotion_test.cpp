// Local promotions end to end (docs/api.md, "Local promotions"): a business creates a promotion,
// a creator joins and gets signed single-use QR codes (PNG/SVG), the business redeems them; a
// code redeems exactly once even when 100 clients try it at the same instant; forged, altered,
// unknown, expired codes and exhausted budgets are refused with their documented codes; points
// for redemptions and verified reposts rank promoters per locality, pushed live to a subscribed
// WebSocket.
//
// The server signs with a key the test knows (--promo-signing-key-file), so the test can also
// mint well-signed tokens for codes the server never issued.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>

#include "e2e_fixture.hpp"
#include "pactum/actors/promo_token.hpp"
#include "pactum/common/time.hpp"

using namespace pactum::sim;
namespace promo = pactum::actors::promo;

namespace {

std::array<uint8_t, 32> test_seed() {
  std::array<uint8_t, 32> s{};
  for (size_t i = 0; i < s.size(); ++i)
    s[i] = static_cast<uint8_t>(i * 7 + 3);
  return s;
}

std::string seed_file() {
  static const std::string path = [] {
    auto p = "/tmp/pactum-promo-seed-" + std::to_string(::getpid());
    auto s = test_seed();
    std::ofstream out{p, std::ios::binary | std::ios::trunc};
    out.write(reinterpret_cast<const char*>(s.data()), static_cast<std::streamsize>(s.size()));
    out.close();
    ::chmod(p.c_str(), 0600);
    return p;
  }();
  return path;
}

/// One HTTP/1.1 request on a socket connected beforehand; the status of the answer.
struct raw_http {
  int fd = -1;
  explicit raw_http(uint16_t port) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      throw std::runtime_error("connect failed");
  }
  ~raw_http() {
    if (fd >= 0)
      ::close(fd);
  }
  raw_http(const raw_http&) = delete;
  raw_http& operator=(const raw_http&) = delete;

  std::string exchange(const std::string& request) {
    size_t sent = 0;
    while (sent < request.size()) {
      auto n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0)
        return {};
      sent += static_cast<size_t>(n);
    }
    std::string in;
    char buf[4096];
    while (true) {
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0)
        break;
      in.append(buf, static_cast<size_t>(n));
    }
    return in;
  }
};

class Promotion : public pactum::test_support::server_test {
protected:
  std::vector<std::string> server_args() const override {
    return {"--promo-signing-key-file", seed_file(), "--promo-push-ms", "300", "--promo-max-codes", "20"};
  }

  http_reply rest(const account& who, const std::string& method, const std::string& target,
                  const json& body = json()) {
    return http_call(ep(), method, target, body.is_null() ? std::string{} : body.dump(), who.token);
  }

  json promotion_body(int64_t reward, int64_t budget, int64_t valid_for_ms, const std::string& city = "  berlin ") {
    auto now = pactum::now_millis();
    return json{{"title", "Coffee for a scan"},
                {"reward", {{"amount", reward}, {"currency", "EUR"}}},
                {"budget", budget},
                {"valid_from", now - 1'000},
                {"valid_until", now + valid_for_ms},
                {"locality", {{"country", "de"}, {"city", city}}}};
  }

  std::string create(const account& brand, const json& body) {
    auto r = rest(brand, "POST", "/api/v1/promotions", body);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json_body()["promotion"].value("id", "");
  }

  /// `n` codes of `creator` in `promotion`: their JSON.
  json codes(const account& creator, const std::string& promotion, int n) {
    auto r = rest(creator, "POST", "/api/v1/promotions/" + promotion + "/codes", json{{"count", n}});
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json_body()["codes"];
  }

  http_reply redeem(const account& brand, const std::string& token) {
    return rest(brand, "POST", "/api/v1/promotions/redeem", json{{"token", token}});
  }

  static std::string code_of(const http_reply& r) {
    auto j = r.json_body();
    return j.is_object() && j.contains("error") ? j["error"].value("code", "") : std::string{};
  }
};

} // namespace

TEST_F(Promotion, FullFlowWithSingleUseCodesPointsAndALiveLeaderboard) {
  auto shop = make_account(ep(), "brand", "CornerCafe");
  auto other_shop = make_account(ep(), "brand", "OtherShop");
  auto ana = make_account(ep(), "creator", "Ana");
  auto ben = make_account(ep(), "creator", "Ben");

  // Validation with per-field errors; creators may not create.
  auto bad = rest(shop, "POST", "/api/v1/promotions",
                  json{{"title", ""}, {"reward", {{"amount", -1}, {"currency", "eur"}}}, {"budget", 0},
                       {"valid_until", 1}, {"locality", {{"country", "Germany"}, {"city", ""}}}});
  ASSERT_EQ(bad.status, 400) << bad.body;
  auto fields = bad.json_body()["error"]["fields"];
  for (auto f : {"title", "reward.amount", "reward.currency", "budget", "valid_until", "locality.country"})
    EXPECT_TRUE(fields.contains(f)) << f << " in " << bad.body;
  EXPECT_EQ(rest(ana, "POST", "/api/v1/promotions", promotion_body(100, 1'000, 3'600'000)).status, 403);

  auto pid = create(shop, promotion_body(100, 1'000, 3'600'000));
  ASSERT_FALSE(pid.empty());
  auto listed = rest(ana, "GET", "/api/v1/promotions?locality=DE:Berlin");
  ASSERT_EQ(listed.status, 200) << listed.body;
  ASSERT_EQ(listed.json_body()["promotions"].size(), 1u);
  EXPECT_EQ(listed.json_body()["promotions"][0]["locality"]["key"], "DE:berlin");
  EXPECT_EQ(rest(ana, "GET", "/api/v1/promotions?locality=Berlin").status, 400);

  // Ben subscribes to Berlin's leaderboard before anything happens: it is empty.
  ws_client watcher(ep(), ben.token);
  auto sub = watcher.request(json{{"type", "leaderboard.subscribe"}, {"locality", "de: Berlin"}});
  ASSERT_EQ(sub["type"], "ok") << sub.dump();
  EXPECT_EQ(sub["leaderboard"]["locality"]["key"], "DE:berlin");
  EXPECT_TRUE(sub["leaderboard"]["entries"].empty());
  auto bad_sub = watcher.request(json{{"type", "leaderboard.subscribe"}, {"locality", "nowhere"}});
  EXPECT_EQ(bad_sub["code"], "bad_request") << bad_sub.dump();

  // Codes only for promoters who joined; a stranger gets what a missing promotion gets.
  auto not_joined = rest(ana, "POST", "/api/v1/promotions/" + pid + "/codes", json{{"count", 1}});
  EXPECT_EQ(not_joined.status, 404) << not_joined.body;
  auto joined = rest(ana, "POST", "/api/v1/promotions/" + pid + "/join");
  ASSERT_EQ(joined.status, 200) << joined.body;
  EXPECT_TRUE(joined.json_body()["promotion"]["joined"].get<bool>());
  EXPECT_EQ(rest(ana, "POST", "/api/v1/promotions/" + pid + "/codes", json{{"count", 21}}).status, 400);
  auto mine = codes(ana, pid, 3);
  ASSERT_EQ(mine.size(), 3u);
  auto token = mine[0]["token"].get<std::string>();
  auto nonce = mine[0]["nonce"].get<std::string>();

  // The token is what the server signed: our copy of its key verifies it and reads its claims.
  auto key = promo::key_from_seed(test_seed());
  auto claims = promo::verify(token, key.pk);
  ASSERT_TRUE(claims);
  EXPECT_EQ(claims->promotion.str(), pid);
  EXPECT_EQ(claims->promoter.str(), ana.id);
  EXPECT_EQ(promo::nonce_hex(claims->nonce), nonce);

  // Rendering: the promoter and the business see the QR code; anyone else gets 404.
  auto png = rest(ana, "GET", mine[0]["png"].get<std::string>());
  ASSERT_EQ(png.status, 200);
  EXPECT_EQ(png.content_type, "image/png");
  EXPECT_EQ(png.body.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  auto svg = rest(shop, "GET", mine[0]["svg"].get<std::string>());
  ASSERT_EQ(svg.status, 200);
  EXPECT_EQ(svg.content_type, "image/svg+xml");
  EXPECT_NE(svg.body.find("<path"), std::string::npos);
  EXPECT_EQ(rest(ben, "GET", mine[0]["png"].get<std::string>()).status, 404);
  EXPECT_EQ(rest(other_shop, "GET", mine[0]["svg"].get<std::string>()).status, 404);

  // Forged (our own key under the server's key id), altered (any character), unknown (well
  // signed, never issued) and someone else's: one answer.
  auto forger = promo::generate_key();
  auto forged = promo::sign(*claims, promo::key_pair{claims->key_id, forger.pk, forger.sk});
  auto unknown_claims = *claims;
  unknown_claims.nonce = promo::random_nonce();
  auto unknown = promo::sign(unknown_claims, key);
  auto altered = token;
  altered[40] = altered[40] == 'A' ? 'B' : 'A';
  std::string invalid_message;
  for (auto& t : {forged, altered, unknown, std::string{"not-a-token"}}) {
    auto r = redeem(shop, t);
    EXPECT_EQ(r.status, 422) << r.body;
    EXPECT_EQ(code_of(r), "invalid_code") << r.body;
    if (invalid_message.empty())
      invalid_message = r.json_body()["error"].value("message", "");
    EXPECT_EQ(r.json_body()["error"].value("message", ""), invalid_message);
  }
  auto stranger = redeem(other_shop, token);
  EXPECT_EQ(code_of(stranger), "invalid_code") << stranger.body;
  EXPECT_EQ(stranger.json_body()["error"].value("message", ""), invalid_message);
  EXPECT_EQ(code_of(redeem(ana, token)), "invalid_code");

  // The business redeems: budget down by one reward, points to Ana, pushed to Ben's socket.
  auto ok = redeem(shop, token);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json_body()["budget_left"], 900);
  EXPECT_EQ(ok.json_body()["points"], 10);
  auto pushed = pactum::test_support::wait_event(
    watcher,
    [](const json& ev) {
      return ev.value("stream", "") == "leaderboard:DE:berlin" && ev["event"].value("type", "") == "leaderboard.updated";
    },
    std::chrono::seconds(5));
  ASSERT_TRUE(pushed) << "no leaderboard.updated push";
  auto entries = (*pushed)["event"]["leaderboard"]["entries"];
  ASSERT_EQ(entries.size(), 1u) << pushed->dump();
  EXPECT_EQ(entries[0]["promoter"]["id"], ana.id);
  EXPECT_EQ(entries[0]["points"], 10);
  EXPECT_EQ(code_of(redeem(shop, token)), "already_redeemed");

  // A verified repost earns points once; an undisclosed or missing post earns nothing.
  auto post = rest(ana, "POST", "/api/v1/promotions/" + pid + "/reposts",
                   json{{"platform", "instagram"}, {"url", "https://instagram.example/p/ad-cafe-1"}});
  ASSERT_EQ(post.status, 201) << post.body;
  EXPECT_EQ(post.json_body()["points"], 15);
  auto again = rest(ana, "POST", "/api/v1/promotions/" + pid + "/reposts",
                    json{{"platform", "instagram"}, {"url", "https://instagram.example/p/ad-cafe-1"}});
  EXPECT_EQ(again.status, 409) << again.body;
  auto respelled = rest(ana, "POST", "/api/v1/promotions/" + pid + "/reposts",
                        json{{"platform", "instagram"}, {"url", "https://instagram.example/p/ad-cafe-1?ref=x"}});
  EXPECT_EQ(respelled.status, 409) << respelled.body;
  auto plain = rest(ana, "POST", "/api/v1/promotions/" + pid + "/reposts",
                    json{{"platform", "instagram"}, {"url", "https://instagram.example/p/plain-cafe"}});
  EXPECT_EQ(plain.status, 422) << plain.body;
  auto missing = rest(ana, "POST", "/api/v1/promotions/" + pid + "/reposts",
                      json{{"platform", "instagram"}, {"url", "https://instagram.example/p/missing-1"}});
  EXPECT_EQ(missing.status, 404) << missing.body;
  EXPECT_EQ(rest(ben, "POST", "/api/v1/promotions/" + pid + "/reposts",
                 json{{"platform", "instagram"}, {"url", "https://instagram.example/p/ad-ben"}})
              .status,
            404);

  // Ben joins and redeems once: the board ranks Ana (15) above Ben (10); equal scores keep the
  // order in which they were reached.
  ASSERT_EQ(rest(ben, "POST", "/api/v1/promotions/" + pid + "/join").status, 200);
  auto bens = codes(ben, pid, 1);
  ASSERT_EQ(redeem(shop, bens[0]["token"].get<std::string>()).status, 200);
  auto board = rest(shop, "GET", "/api/v1/promotions/leaderboard?locality=DE:Berlin&limit=10");
  ASSERT_EQ(board.status, 200) << board.body;
  auto rows = board.json_body()["entries"];
  ASSERT_EQ(rows.size(), 2u) << board.body;
  EXPECT_EQ(rows[0]["promoter"]["id"], ana.id);
  EXPECT_EQ(rows[0]["points"], 15);
  EXPECT_EQ(rows[1]["promoter"]["id"], ben.id);
  EXPECT_EQ(rows[1]["rank"], 2);
  // Coalesced pushes still arrive with the latest figures.
  auto latest = pactum::test_support::wait_event(
    watcher,
    [](const json& ev) {
      return ev.value("stream", "") == "leaderboard:DE:berlin" && ev["event"]["leaderboard"]["entries"].size() == 2;
    },
    std::chrono::seconds(5));
  ASSERT_TRUE(latest) << "no push with both promoters";

  // Pause: codes are refused as inactive; resume; close is final.
  ASSERT_EQ(rest(other_shop, "POST", "/api/v1/promotions/" + pid + "/status", json{{"to", "paused"}}).status, 404);
  ASSERT_EQ(rest(shop, "POST", "/api/v1/promotions/" + pid + "/status", json{{"to", "paused"}}).status, 200);
  EXPECT_EQ(code_of(redeem(shop, mine[1]["token"].get<std::string>())), "promotion_inactive");
  ASSERT_EQ(rest(shop, "POST", "/api/v1/promotions/" + pid + "/status", json{{"to", "active"}}).status, 200);
  EXPECT_EQ(redeem(shop, mine[1]["token"].get<std::string>()).status, 200);
  ASSERT_EQ(rest(shop, "POST", "/api/v1/promotions/" + pid + "/status", json{{"to", "closed"}}).status, 200);
  EXPECT_EQ(code_of(redeem(shop, mine[2]["token"].get<std::string>())), "promotion_inactive");
  EXPECT_EQ(rest(shop, "POST", "/api/v1/promotions/" + pid + "/status", json{{"to", "active"}}).status, 409);
}

TEST_F(Promotion, HundredClientsRedeemOneCodeAtTheSameInstantAndExactlyOneWins) {
  auto shop = make_account(ep(), "brand", "RaceCafe");
  auto ana = make_account(ep(), "creator", "Ana");
  auto pid = create(shop, promotion_body(100, 10'000, 3'600'000));
  ASSERT_EQ(rest(ana, "POST", "/api/v1/promotions/" + pid + "/join").status, 200);
  auto token = codes(ana, pid, 1)[0]["token"].get<std::string>();

  constexpr int clients = 100;
  auto body = json{{"token", token}}.dump();
  std::string request = "POST /api/v1/promotions/redeem HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + shop.token
                        + "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: "
                        + std::to_string(body.size()) + "\r\n\r\n" + body;
  // Every socket is connected before any request is sent; then all are released together.
  std::vector<std::unique_ptr<raw_http>> sockets;
  for (int i = 0; i < clients; ++i)
    sockets.push_back(std::make_unique<raw_http>(ep().port));
  std::mutex mtx;
  std::condition_variable cv;
  bool go = false;
  std::atomic<int> ready{0};
  std::vector<std::string> answers(clients);
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i)
    threads.emplace_back([&, i] {
      {
        std::unique_lock<std::mutex> lock{mtx};
        ++ready;
        cv.wait(lock, [&] { return go; });
      }
      answers[static_cast<size_t>(i)] = sockets[static_cast<size_t>(i)]->exchange(request);
    });
  while (ready.load() < clients)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  {
    std::lock_guard<std::mutex> lock{mtx};
    go = true;
  }
  cv.notify_all();
  for (auto& t : threads)
    t.join();
  int won = 0, already = 0, other = 0;
  for (auto& a : answers) {
    if (a.rfind("HTTP/1.1 200", 0) == 0)
      ++won;
    else if (a.rfind("HTTP/1.1 409", 0) == 0 && a.find("\"already_redeemed\"") != std::string::npos)
      ++already;
    else {
      ++other;
      ADD_FAILURE() << "unexpected answer: " << a.substr(0, 300);
    }
  }
  EXPECT_EQ(won, 1);
  EXPECT_EQ(already, clients - 1);
  EXPECT_EQ(other, 0);
  auto p = rest(shop, "GET", "/api/v1/promotions/" + pid);
  ASSERT_EQ(p.status, 200);
  EXPECT_EQ(p.json_body()["promotion"]["budget_left"], 9'900); // decremented once
  EXPECT_EQ(p.json_body()["promotion"]["redemptions"], 1);
  auto board = rest(shop, "GET", "/api/v1/promotions/leaderboard?locality=DE:berlin");
  ASSERT_EQ(board.status, 200);
  ASSERT_EQ(board.json_body()["entries"].size(), 1u);
  EXPECT_EQ(board.json_body()["entries"][0]["points"], 10);
  std::cout << "race: " << won << " redeemed, " << already << " already_redeemed\n";
}

TEST_F(Promotion, ExpiredCodesAndAnExhaustedBudgetAreRefused) {
  auto shop = make_account(ep(), "brand", "BudgetCafe");
  auto ana = make_account(ep(), "creator", "Ana");
  // Budget for two rewards.
  auto pid = create(shop, promotion_body(100, 250, 3'600'000, "Hamburg"));
  ASSERT_EQ(rest(ana, "POST", "/api/v1/promotions/" + pid + "/join").status, 200);
  auto mine = codes(ana, pid, 3);
  EXPECT_EQ(redeem(shop, mine[0]["token"].get<std::string>()).status, 200);
  EXPECT_EQ(redeem(shop, mine[1]["token"].get<std::string>()).status, 200);
  auto third = redeem(shop, mine[2]["token"].get<std::string>());
  EXPECT_EQ(third.status, 409) << third.body;
  EXPECT_EQ(code_of(third), "budget_exhausted");
  auto p = rest(shop, "GET", "/api/v1/promotions/" + pid).json_body()["promotion"];
  EXPECT_EQ(p["budget_left"], 50);
  EXPECT_EQ(p["redemptions"], 2);
  // The refused code stays unused (refused again the same way, not already_redeemed).
  EXPECT_EQ(code_of(redeem(shop, mine[2]["token"].get<std::string>())), "budget_exhausted");

  // A promotion ending in 5 s: its codes expire with it.
  auto brief = create(shop, promotion_body(100, 1'000, 5'000, "Hamburg"));
  ASSERT_EQ(rest(ana, "POST", "/api/v1/promotions/" + brief + "/join").status, 200);
  auto soon = codes(ana, brief, 1);
  ASSERT_EQ(soon.size(), 1u) << "the set-up outlasted the promotion";
  auto soon_expires = soon[0]["expires_at"].get<int64_t>();
  EXPECT_LE(soon_expires, pactum::now_millis() + 5'000);
  std::this_thread::sleep_for(std::chrono::milliseconds(std::max<int64_t>(0, soon_expires + 300 - pactum::now_millis())));
  auto late = redeem(shop, soon[0]["token"].get<std::string>());
  EXPECT_EQ(late.status, 410) << late.body;
  EXPECT_EQ(code_of(late), "expired");
  // A well-signed token whose expiry passed is refused as expired too.
  auto key = promo::key_from_seed(test_seed());
  auto c = *promo::verify(mine[2]["token"].get<std::string>(), key.pk);
  c.expires_at = pactum::now_millis() - 1;
  EXPECT_EQ(code_of(redeem(shop, promo::sign(c, key))), "expired");
  // No codes for an ended promotion.
  auto none = rest(ana, "POST", "/api/v1/promotions/" + brief + "/codes", json{{"count", 1}});
  EXPECT_EQ(code_of(none), "promotion_inactive") << none.body;
}

TEST_F(Promotion, LivePushesAreCoalescedAndSubscribersPerLocalityAreLimited) {
  restart_with({"--promo-signing-key-file", seed_file(), "--promo-push-ms", "1000", "--promo-max-subscribers", "1"});
  auto shop = make_account(ep(), "brand", "PushCafe");
  auto ana = make_account(ep(), "creator", "Ana");
  auto ben = make_account(ep(), "creator", "Ben");
  auto pid = create(shop, promotion_body(100, 100'000, 3'600'000, "Munich"));
  ASSERT_EQ(rest(ana, "POST", "/api/v1/promotions/" + pid + "/join").status, 200);

  ws_client first(ep(), ana.token);
  ws_client second(ep(), ben.token);
  ASSERT_EQ(first.request(json{{"type", "leaderboard.subscribe"}, {"locality", "DE:Munich"}})["type"], "ok");
  auto full = second.request(json{{"type", "leaderboard.subscribe"}, {"locality", "DE:munich"}});
  EXPECT_EQ(full["code"], "limit_reached") << full.dump();
  EXPECT_EQ(second.request(json{{"type", "leaderboard.subscribe"}, {"locality", "DE:Hamburg"}})["type"], "ok");

  // Five redemptions in quick succession: the first change is pushed at once, the rest in one
  // coalesced push a second later, carrying the final score.
  auto mine = codes(ana, pid, 5);
  auto began = std::chrono::steady_clock::now();
  for (auto& c : mine)
    ASSERT_EQ(redeem(shop, c["token"].get<std::string>()).status, 200);
  auto redeeming_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  std::vector<json> pushes;
  auto points = [](const json& ev) { return ev["event"]["leaderboard"]["entries"][0]["points"]; };
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline && (pushes.empty() || points(pushes.back()) != 50)) {
    auto ev = first.next_event(std::chrono::milliseconds(200));
    if (ev && ev->value("stream", "") == "leaderboard:DE:munich")
      pushes.push_back(*ev);
  }
  ASSERT_FALSE(pushes.empty());
  EXPECT_EQ(points(pushes.back()), 50) << "the final score is pushed";
  // At most one push a second while the redemptions came in, and one for the last change.
  EXPECT_LE(pushes.size(), static_cast<size_t>(std::ceil(redeeming_s)) + 2)
    << "pushes were not coalesced (" << redeeming_s << " s of redemptions)";
  // Hamburg's subscriber heard nothing about Munich.
  EXPECT_FALSE(second.next_event(std::chrono::milliseconds(300)));

  // Unsubscribing frees the place.
  auto left = first.request(json{{"type", "leaderboard.unsubscribe"}, {"locality", "DE:Munich"}});
  EXPECT_EQ(left["type"], "ok") << left.dump();
  EXPECT_EQ(second.request(json{{"type", "leaderboard.subscribe"}, {"locality", "DE:Munich"}})["type"], "ok");
}


TEST_F(Promotion, AGeneratedSigningKeyIsStoredSealedAndKeepsSigningAfterARestart) {
  restart_with({"--promo-push-ms", "300"}); // no seed file: the server generates and stores its key
  auto shop = make_account(ep(), "brand", "SealCafe");
  auto ana = make_account(ep(), "creator", "Ana");
  auto pid = create(shop, promotion_body(100, 10'000, 3'600'000, "Lyon"));
  ASSERT_EQ(rest(ana, "POST", "/api/v1/promotions/" + pid + "/join").status, 200);
  auto before = codes(ana, pid, 1)[0]["token"].get<std::string>();
  auto signer = promo::peek(before);
  ASSERT_TRUE(signer);

  auto keys = [&] {
    pqxx::connection conn{url()};
    pqxx::read_transaction tx{conn};
    // Keys whose secret is stored (the fixture's first server may have stored its seed's public
    // key alone before this test restarted it without the seed file).
    return tx.exec("select key_id, length(secret_key), active from promo_signing_keys"
                   " where secret_key is not null order by created_at");
  };
  auto rows = keys();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0].as<int64_t>(), static_cast<int64_t>(signer->key_id));
  EXPECT_EQ(rows[0][1].as<int>(), 104) << "the 64-byte Ed25519 secret is stored sealed (24 nonce + 16 tag)";

  // After a restart the sealed key opens with the same master key and keeps signing: no new key.
  restart_with({"--promo-push-ms", "300"});
  auto after = codes(ana, pid, 1)[0]["token"].get<std::string>();
  EXPECT_EQ(promo::peek(after)->key_id, signer->key_id);
  EXPECT_EQ(keys().size(), 1u);
  EXPECT_EQ(redeem(shop, before).status, 200);
  EXPECT_EQ(redeem(shop, after).status, 200);

  // A key stored in the clear (before sealing existed) is used and then stored sealed. (Another
  // seed than the fixture's, whose public key may already have a row.)
  auto legacy_seed = test_seed();
  legacy_seed[0] ^= 0x5a;
  auto legacy = promo::key_from_seed(legacy_seed);
  {
    pqxx::connection conn{url()};
    pqxx::work tx{conn};
    tx.exec0("update promo_signing_keys set active = false");
    tx.exec_params0("insert into promo_signing_keys (key_id, public_key, secret_key, active, created_at)"
                    " values ($1, $2, $3, true, now() + interval '1 second')",
                    static_cast<int64_t>(legacy.key_id),
                    pqxx::binarystring(legacy.pk.data(), legacy.pk.size()),
                    pqxx::binarystring(legacy.sk.data(), legacy.sk.size()));
    tx.commit();
  }
  restart_with({"--promo-push-ms", "300"});
  auto resealed = codes(ana, pid, 1)[0]["token"].get<std::string>();
  EXPECT_EQ(promo::peek(resealed)->key_id, legacy.key_id);
  EXPECT_TRUE(promo::verify(resealed, legacy.pk));
  rows = keys();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1][0].as<int64_t>(), static_cast<int64_t>(legacy.key_id));
  EXPECT_EQ(rows[1][1].as<int>(), 104) << "the clear secret was replaced by its sealed form";
  EXPECT_EQ(redeem(shop, resealed).status, 200);
}
