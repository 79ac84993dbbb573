// End to end: notifications (issue 8, item 1) against a real pactumd and PostgreSQL. A creator's
// application reaches the brand's live socket as a `notification` (unread 1, then read: 0); an
// offer made while the creator is offline is pushed on reconnect (`notifications.missed`) and
// listed over REST; a muted type is neither stored nor pushed; a message notifies only a member
// not subscribed to the conversation, coalesced into one unread row; funding and release notify
// both parties, once, even across a pactumd restart and retried commands; the per-user cap drops
// read rows first.

#include <thread>

#include <gtest/gtest.h>

#include "e2e_fixture.hpp"
#include "pactum/sim/client.hpp"

using namespace pactum::sim;
using namespace std::chrono_literals;

namespace {

constexpr const char* good_card = "4242424242424242";

class NotificationE2E : public pactum::test_support::server_test {
protected:
  std::vector<std::string> server_args() const override { return args_; }

  http_reply call(const account& who, const std::string& method, const std::string& target,
                  const json& body = json()) {
    return http_call(ep(), method, target, body.is_null() ? std::string{} : body.dump(), who.token);
  }

  json list(const account& who, const std::string& query = "") {
    auto r = call(who, "GET", "/api/v1/notifications" + query);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json_body();
  }

  int64_t unread(const account& who) {
    auto r = call(who, "GET", "/api/v1/notifications/unread-count");
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json_body().value("unread", int64_t{-1});
  }

  /// The stored notifications of `type` (newest first).
  std::vector<json> of_type(const account& who, const std::string& type) {
    std::vector<json> out;
    auto page = list(who, "?limit=100"); // kept: a range-for over page["…"] of a temporary dangles
    for (auto& n : page["notifications"])
      if (n["type"] == type)
        out.push_back(n);
    return out;
  }

  /// Polls until `who` has `n` stored notifications of `type`.
  std::vector<json> await_count(const account& who, const std::string& type, size_t n) {
    std::vector<json> got;
    for (int i = 0; i < 100; ++i) {
      got = of_type(who, type);
      if (got.size() >= n)
        return got;
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "never " << n << " notifications of " << type << "; have " << got.size();
    return got;
  }

  static std::function<bool(const json&)> notification_of(const account& who, const std::string& type) {
    return [stream = "user:" + who.id, type](const json& ev) {
      return ev.value("stream", "") == stream && ev["event"].value("type", "") == "notification"
             && ev["event"]["notification"].value("type", "") == type;
    };
  }

  json offer(ws_client& brand, const json& conv, const std::string& client_id, int64_t amount = 10'000) {
    auto r = brand.request(json{{"type", "offer.make"},
                                {"conversation", conv},
                                {"client_id", client_id},
                                {"terms", json{{"amount", amount},
                                               {"currency", "USD"},
                                               {"deliverables", json::array({json{{"type", "tiktok_duet"}, {"count", 1}}})},
                                               {"delivery_days", 7},
                                               {"revision_rounds", 1}}}});
    EXPECT_EQ(r["type"], "ok") << r.dump();
    return r;
  }

  std::vector<std::string> args_;
};

json campaign_details() {
  return json{{"title", "Summer rides launch"},
              {"description", "Our new city bike"},
              {"goals", {"awareness"}},
              {"budget", 500'000},
              {"currency", "EUR"},
              {"deliverables", {json{{"type", "tiktok_duet"}, {"count", 1}}}},
              {"audience", {{"niches", {"travel"}}, {"countries", {"DE"}}, {"min_followers", 1000}}},
              {"collaboration_types", {"tiktok_duet"}},
              {"pricing", {{"model", "flat"}, {"rate", 0}}},
              {"brief", "Ride it through the city"}};
}

TEST_F(NotificationE2E, AnApplicationReachesTheBrandsLiveSocketAndIsMarkedRead) {
  auto brand = make_account(ep(), "brand", "Acme");
  auto cleo = make_account(ep(), "creator", "Cleo");
  ASSERT_EQ(call(cleo, "PUT", "/api/v1/influencers/profile",
                 json{{"bio", "Rides."},
                      {"niches", {"travel"}},
                      {"social_accounts", {json{{"platform", "tiktok"}, {"handle", "@r"}, {"followers", 5000},
                                                {"average_views", 1000}, {"engagement_rate", 5.0}}}},
                      {"location", {{"country", "DE"}, {"city", "X"}}},
                      {"languages", {"de"}}})
              .status,
            200);
  auto d = campaign_details();
  d["key"] = "c-1";
  auto created = call(brand, "POST", "/api/v1/brands/campaigns", d);
  ASSERT_EQ(created.status, 201) << created.body;
  auto id = created.json_body()["campaign"]["id"].get<std::string>();
  ASSERT_EQ(call(brand, "POST", "/api/v1/brands/campaigns/" + id + "/status", json{{"to", "publish"}, {"key", "p-1"}}).status,
            200);
  EXPECT_EQ(unread(brand), 0);

  ws_client brand_ws(ep(), brand.token);
  auto applied = call(cleo, "POST", "/api/v1/influencers/campaigns/" + id + "/apply",
                      json{{"key", "a-1"}, {"proposal", "Berlin rides"}, {"amount", 40'000}});
  ASSERT_EQ(applied.status, 201) << applied.body;
  auto live = pactum::test_support::wait_event(brand_ws, notification_of(brand, "application.received"), 5s);
  ASSERT_TRUE(live) << "the brand's socket gets the notification without asking";
  auto& n = (*live)["event"]["notification"];
  EXPECT_EQ(n["data"]["campaign"], id);
  EXPECT_EQ(n["data"]["creator"], cleo.id);
  EXPECT_FALSE(n["read"].get<bool>());
  EXPECT_EQ((*live)["event"]["unread"], 1);
  EXPECT_EQ(unread(brand), 1);
  EXPECT_EQ(unread(cleo), 0) << "the applicant is not notified of their own application";

  // A retried application (same key) notifies nobody again.
  ASSERT_EQ(call(cleo, "POST", "/api/v1/influencers/campaigns/" + id + "/apply",
                 json{{"key", "a-1"}, {"proposal", "Berlin rides"}, {"amount", 40'000}}).status / 100, 2);

  auto read = brand_ws.request(json{{"type", "notifications.read"}, {"ids", {n["id"]}}});
  ASSERT_EQ(read["type"], "ok") << read.dump();
  EXPECT_EQ(read["marked"], 1);
  EXPECT_EQ(read["unread"], 0);
  EXPECT_EQ(unread(brand), 0);
  auto listed = brand_ws.request(json{{"type", "notifications.list"}});
  ASSERT_EQ(listed["type"], "ok") << listed.dump();
  ASSERT_EQ(listed["notifications"].size(), 1u);
  EXPECT_TRUE(listed["notifications"][0]["read"].get<bool>());
  EXPECT_EQ(brand_ws.request(json{{"type", "notifications.list"}, {"unread_only", true}})["notifications"].size(), 0u);

  // Approval notifies the creator.
  auto approved = call(brand, "PUT", "/api/v1/brands/campaigns/" + id + "/applications/"
                                       + std::to_string(applied.json_body()["application"].get<int64_t>()),
                       json{{"key", "d-1"}, {"outcome", "approved"}});
  ASSERT_EQ(approved.status, 200) << approved.body;
  auto decided = await_count(cleo, "application.decided", 1);
  ASSERT_EQ(decided.size(), 1u);
  EXPECT_EQ(decided[0]["data"]["outcome"], "approved");

  // Another user's notifications are not reachable: marking them read changes nothing.
  auto other = make_account(ep(), "brand", "Other");
  auto stolen = call(other, "PUT", "/api/v1/notifications/read", json{{"ids", {decided[0]["id"]}}});
  ASSERT_EQ(stolen.status, 200) << stolen.body;
  EXPECT_EQ(stolen.json_body()["marked"], 0);
  EXPECT_EQ(unread(cleo), 1);
  EXPECT_EQ(http_call(ep(), "GET", "/api/v1/notifications", "", "").status, 401);
}

TEST_F(NotificationE2E, OfflineOfferIsDeliveredOnReconnectAndMutedTypesAreNeitherStoredNorPushed) {
  auto brand = make_account(ep(), "brand", "Acme");
  auto cleo = make_account(ep(), "creator", "Cleo");
  ws_client b(ep(), brand.token);
  auto conv = b.request(json{{"type", "conversation.open"}, {"with", cleo.id}})["conversation"]["id"];
  auto made = offer(b, conv, "o-1");

  // Cleo was offline: on connect she gets what she missed, newest first. (The notification is
  // stored just after the offer's commit: wait for it over REST, which opens no session.)
  await_count(cleo, "offer.made", 1);
  {
    ws_client c(ep(), cleo.token);
    auto missed = pactum::test_support::wait_event(
      c, [&](const json& ev) { return ev["event"].value("type", "") == "notifications.missed"; }, 5s);
    ASSERT_TRUE(missed) << "the missed notifications come after hello";
    EXPECT_EQ((*missed)["stream"], "user:" + cleo.id);
    EXPECT_EQ((*missed)["event"]["unread"], 1);
    ASSERT_EQ((*missed)["event"]["notifications"].size(), 1u);
    auto& n = (*missed)["event"]["notifications"][0];
    EXPECT_EQ(n["type"], "offer.made");
    EXPECT_EQ(n["data"]["conversation"], conv);
    EXPECT_EQ(n["data"]["seq"], made["seq"]);
    EXPECT_EQ(n["data"]["by"], brand.id);
    EXPECT_FALSE(n["data"].contains("terms")) << "sealed at rest: read the offer with history";
  }
  auto listed = list(cleo);
  ASSERT_EQ(listed["notifications"].size(), 1u);
  EXPECT_EQ(listed["notifications"][0]["type"], "offer.made");
  EXPECT_EQ(listed["unread"], 1);

  // Muting: unknown types are refused; a muted type is neither stored nor pushed.
  auto bad = call(cleo, "PUT", "/api/v1/notifications/preferences", json{{"muted", {"offer.nope"}}});
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(bad.json_body()["error"]["code"], "bad_request");
  auto set = call(cleo, "PUT", "/api/v1/notifications/preferences", json{{"muted", {"offer.made"}}});
  ASSERT_EQ(set.status, 200) << set.body;
  auto got = call(cleo, "GET", "/api/v1/notifications/preferences").json_body();
  EXPECT_EQ(got["muted"], json({"offer.made"}));

  ws_client c(ep(), cleo.token);
  offer(b, conv, "o-2", 12'000);
  // A message after the muted offer: Cleo (not subscribed) is notified of the message, and the
  // notifier handles her facts in order, so the offer's push would have come first.
  ASSERT_EQ(b.request(json{{"type", "message.send"}, {"conversation", conv}, {"client_id", "m-1"}, {"text", "Hi"}})["type"],
            "ok");
  std::vector<std::string> pushed;
  auto msg = pactum::test_support::wait_event(
    c,
    [&](const json& ev) {
      if (ev["event"].value("type", "") == "notification")
        pushed.push_back(ev["event"]["notification"]["type"]);
      return ev["event"].value("type", "") == "notification"
             && ev["event"]["notification"]["type"] == "message.received";
    },
    5s);
  ASSERT_TRUE(msg);
  EXPECT_EQ(pushed, std::vector<std::string>{"message.received"}) << "the muted offer was not pushed";
  EXPECT_EQ(of_type(cleo, "offer.made").size(), 1u) << "the muted offer was not stored";

  // Unmuted again (over the WebSocket): the next offer notifies.
  auto unmute = c.request(json{{"type", "notifications.prefs.set"}, {"muted", json::array()}});
  ASSERT_EQ(unmute["type"], "ok") << unmute.dump();
  EXPECT_EQ(c.request(json{{"type", "notifications.prefs.get"}})["muted"], json::array());
  offer(b, conv, "o-3", 13'000);
  EXPECT_TRUE(pactum::test_support::wait_event(c, notification_of(cleo, "offer.made"), 5s));
  EXPECT_EQ(of_type(cleo, "offer.made").size(), 2u);
}

TEST_F(NotificationE2E, MessagesNotifyOnlyMembersNotViewingTheConversationCoalesced) {
  auto brand = make_account(ep(), "brand", "Acme");
  auto cleo = make_account(ep(), "creator", "Cleo");
  ws_client b(ep(), brand.token);
  ws_client c(ep(), cleo.token);
  auto conv = b.request(json{{"type", "conversation.open"}, {"with", cleo.id}})["conversation"]["id"];
  ASSERT_EQ(c.request(json{{"type", "subscribe"}, {"conversation", conv}, {"after", 0}})["type"], "ok");
  auto send = [&](const std::string& id, const std::string& text) {
    auto r = b.request(json{{"type", "message.send"}, {"conversation", conv}, {"client_id", id}, {"text", text}});
    ASSERT_EQ(r["type"], "ok") << r.dump();
  };
  send("m-1", "seen live");
  // The message itself arrives on the conversation stream; no notification.
  ASSERT_TRUE(pactum::test_support::wait_event(
    c, [](const json& ev) { return ev["event"].value("type", "") == "message.posted"; }, 5s));
  ASSERT_EQ(c.request(json{{"type", "unsubscribe"}, {"conversation", conv}})["type"], "ok");
  send("m-2", "first while away");
  send("m-3", "second while away");
  auto first = pactum::test_support::wait_event(c, notification_of(cleo, "message.received"), 5s);
  ASSERT_TRUE(first);
  auto second = pactum::test_support::wait_event(c, notification_of(cleo, "message.received"), 5s);
  ASSERT_TRUE(second) << "the coalesced update is pushed too";
  EXPECT_EQ((*second)["event"]["notification"]["id"], (*first)["event"]["notification"]["id"]);
  auto stored = of_type(cleo, "message.received");
  ASSERT_EQ(stored.size(), 1u) << "one unread row per conversation";
  EXPECT_EQ(stored[0]["data"]["count"], 2) << "the message seen live is not counted";
  EXPECT_FALSE(stored[0]["data"].contains("preview")) << "message text is never stored in the clear";
  EXPECT_EQ(stored[0]["data"]["from"], brand.id);
  EXPECT_EQ(of_type(brand, "message.received").size(), 0u) << "the author is not notified";

  // Once read, the next message starts a new row.
  ASSERT_EQ(call(cleo, "PUT", "/api/v1/notifications/read", json{{"up_to", stored[0]["id"]}}).status, 200);
  send("m-4", "after reading");
  auto rows = await_count(cleo, "message.received", 2);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["data"]["count"], 1);
  EXPECT_FALSE(rows[0]["read"].get<bool>());
  EXPECT_EQ(unread(cleo), 1);
}

TEST_F(NotificationE2E, FundingAndReleaseNotifyBothSidesOnceAcrossARestart) {
  auto brand = make_account(ep(), "brand", "Acme");
  auto cleo = make_account(ep(), "creator", "Cleo");
  std::string contract;
  {
    ws_client b(ep(), brand.token);
    ws_client c(ep(), cleo.token);
    auto conv = b.request(json{{"type", "conversation.open"}, {"with", cleo.id}})["conversation"]["id"];
    auto made = offer(b, conv, "o-1", 50'000);
    auto accepted = c.request(json{{"type", "offer.accept"}, {"conversation", conv}, {"offer", made["seq"]}});
    ASSERT_EQ(accepted["type"], "ok") << accepted.dump();
    contract = accepted["contract"];
  }
  EXPECT_EQ(await_count(brand, "offer.accepted", 1).size(), 1u);
  auto act = [&](const account& who, const std::string& action, const json& body) {
    return call(who, "POST", "/api/v1/contracts/" + contract + "/" + action, body);
  };
  ASSERT_EQ(act(brand, "fund", {{"key", "f1"}, {"payment_method", good_card}}).status, 200);
  for (auto* who : {&brand, &cleo}) {
    auto funded = await_count(*who, "contract.funded", 1);
    ASSERT_EQ(funded.size(), 1u);
    EXPECT_EQ(funded[0]["data"]["contract"], contract);
  }
  ASSERT_EQ(act(cleo, "deliver", {{"key", "d1"}, {"items", json::array({json{{"url", "https://tiktok.example/v/1"}}})}}).status,
            200);
  ASSERT_EQ(act(brand, "approve", {{"key", "a1"}}).status, 200);
  for (auto* who : {&brand, &cleo})
    EXPECT_EQ(await_count(*who, "contract.released", 1).size(), 1u);
  auto before_brand = list(brand, "?limit=100")["notifications"].size();
  auto before_cleo = list(cleo, "?limit=100")["notifications"].size();

  // A restart re-activates the contract from its journal; retried commands answer their first
  // result. Nothing is notified twice.
  restart_with(args_);
  ASSERT_EQ(act(brand, "approve", {{"key", "a1"}}).status, 200);
  ASSERT_EQ(act(brand, "fund", {{"key", "f1"}, {"payment_method", good_card}}).status, 200);
  {
    ws_client c(ep(), cleo.token); // activates nothing new, but gives the server time to misbehave
    std::this_thread::sleep_for(500ms);
  }
  EXPECT_EQ(list(brand, "?limit=100")["notifications"].size(), before_brand);
  EXPECT_EQ(list(cleo, "?limit=100")["notifications"].size(), before_cleo);
  EXPECT_EQ(of_type(cleo, "contract.funded").size(), 1u);
  EXPECT_EQ(of_type(brand, "contract.released").size(), 1u);
}

class NotificationDeadlineE2E : public NotificationE2E {
protected:
  std::vector<std::string> server_args() const override {
    return {"--contract-day-ms", "3000", "--timer-sweep-ms", "200"};
  }
};

TEST_F(NotificationDeadlineE2E, ARefundAtTheDeadlineAndADisputeNotifyBothSides) {
  auto brand = make_account(ep(), "brand", "Acme");
  auto cleo = make_account(ep(), "creator", "Cleo");
  auto deal = [&](const std::string& id, int64_t days) {
    ws_client b(ep(), brand.token);
    ws_client c(ep(), cleo.token);
    auto conv = b.request(json{{"type", "conversation.open"}, {"with", cleo.id}})["conversation"]["id"];
    auto r = b.request(json{{"type", "offer.make"},
                            {"conversation", conv},
                            {"client_id", id},
                            {"terms", json{{"amount", 10'000},
                                           {"currency", "USD"},
                                           {"deliverables", json::array({json{{"type", "tiktok_duet"}, {"count", 1}}})},
                                           {"delivery_days", days},
                                           {"revision_rounds", 1}}}});
    EXPECT_EQ(r["type"], "ok") << r.dump();
    auto accepted = c.request(json{{"type", "offer.accept"}, {"conversation", conv}, {"offer", r["seq"]}});
    EXPECT_EQ(accepted["type"], "ok") << accepted.dump();
    return accepted.value("contract", std::string{});
  };
  auto late = deal("o-late", 1); // one (3-second) day to deliver
  auto argued = deal("o-argued", 5);
  for (auto& c : {late, argued})
    ASSERT_EQ(call(brand, "POST", "/api/v1/contracts/" + c + "/fund", json{{"key", "f"}, {"payment_method", good_card}}).status,
              200);
  await_count(cleo, "contract.funded", 2);
  ASSERT_EQ(call(cleo, "POST", "/api/v1/contracts/" + argued + "/deliver",
                 json{{"key", "d"}, {"items", json::array({json{{"url", "https://yt.example/w/1"}}})}})
              .status,
            200);
  ASSERT_EQ(call(brand, "POST", "/api/v1/contracts/" + argued + "/dispute", json{{"key", "x"}, {"reason", "half missing"}}).status,
            200);
  for (auto* who : {&brand, &cleo}) {
    auto disputed = await_count(*who, "contract.disputed", 1);
    ASSERT_EQ(disputed.size(), 1u);
    EXPECT_EQ(disputed[0]["data"]["contract"], argued);
    EXPECT_FALSE(disputed[0]["data"].contains("reason")) << "sealed at rest";
    auto refunded = await_count(*who, "contract.refunded", 1);
    ASSERT_EQ(refunded.size(), 1u) << "the deadline refund notifies both sides";
    EXPECT_EQ(refunded[0]["data"]["contract"], late);
    EXPECT_EQ(refunded[0]["data"]["reason"], "delivery_deadline");
  }
  // Each contract's own reminders (24 contract-hours before a deadline), when they were
  // journaled, became one deadline.reminder per side each. Both contracts may have reminded: on a
  // slow machine the disputed one's review deadline can come within a day before the dispute.
  for (auto& c : {late, argued}) {
    auto view = call(brand, "GET", "/api/v1/contracts/" + c).json_body();
    size_t reminders = 0;
    for (auto& e : view.value("events", json::array()))
      reminders += e.value("event", json::object()).value("type", "") == "contract.reminder";
    for (auto* who : {&brand, &cleo}) {
      size_t notified = 0;
      for (auto& n : of_type(*who, "deadline.reminder"))
        notified += n.value("data", json::object()).value("contract", "") == c;
      EXPECT_EQ(notified, reminders) << "contract " << c;
    }
  }
}

class NotificationCapE2E : public NotificationE2E {
protected:
  std::vector<std::string> server_args() const override { return {"--notifications-per-user", "3"}; }
};

TEST_F(NotificationCapE2E, TheCapDropsReadNotificationsFirstThenTheOldest) {
  auto brand = make_account(ep(), "brand", "Acme");
  auto cleo = make_account(ep(), "creator", "Cleo");
  ws_client b(ep(), brand.token);
  auto conv = b.request(json{{"type", "conversation.open"}, {"with", cleo.id}})["conversation"]["id"];
  auto seq_of = [](const json& n) { return n["data"]["seq"].get<int64_t>(); };
  std::vector<int64_t> offers;
  for (int i = 1; i <= 2; ++i)
    offers.push_back(offer(b, conv, "o-" + std::to_string(i), 1'000 * i)["seq"].get<int64_t>());
  auto rows = await_count(cleo, "offer.made", 2);
  ASSERT_EQ(rows.size(), 2u);
  // Read the older one; two more arrive: the read one goes first.
  ASSERT_EQ(call(cleo, "PUT", "/api/v1/notifications/read", json{{"ids", {rows[1]["id"]}}}).status, 200);
  for (int i = 3; i <= 4; ++i)
    offers.push_back(offer(b, conv, "o-" + std::to_string(i), 1'000 * i)["seq"].get<int64_t>());
  std::vector<json> kept;
  for (int i = 0; i < 100; ++i) {
    kept = of_type(cleo, "offer.made");
    if (!kept.empty() && seq_of(kept[0]) == offers[3])
      break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(seq_of(kept[0]), offers[3]);
  EXPECT_EQ(seq_of(kept[1]), offers[2]);
  EXPECT_EQ(seq_of(kept[2]), offers[1]) << "the read one was dropped, not the older unread one";
  // All unread now: the oldest unread goes.
  offers.push_back(offer(b, conv, "o-5", 5'000)["seq"].get<int64_t>());
  for (int i = 0; i < 100; ++i) {
    kept = of_type(cleo, "offer.made");
    if (!kept.empty() && seq_of(kept[0]) == offers[4])
      break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(seq_of(kept[2]), offers[2]);
  EXPECT_EQ(unread(cleo), 3);
}

} // namespace
