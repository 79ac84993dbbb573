// End to end: negotiation inside a conversation. Offers, counters, answers, the one-contract rule
// under concurrent accepts, validation errors, and offer expiry through durable timers, including
// an expiry that falls while pactumd is down.

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "pactum/sim/client.hpp"
#include "e2e_fixture.hpp"

using namespace pactum::sim;

namespace {

json terms(int64_t amount) {
  return json{{"amount", amount},
              {"currency", "USD"},
              {"deliverables",
               json::array({json{{"type", "tiktok_duet"}, {"count", 2}, {"brief", "duet our launch video"}},
                            json{{"type", "instagram_story"}, {"count", 3}}})},
              {"delivery_days", 10},
              {"revision_rounds", 2},
              {"usage_rights", json{{"scope", "organic"}, {"days", 90}}}};
}

class OfferEndToEnd : public pactum::test_support::server_test {
protected:
  std::vector<std::string> server_args() const override { return {"--timer-sweep-ms", "200"}; }

  void SetUp() override {
    server_test::SetUp();
    if (HasFatalFailure())
      return;
    brand_ = make_account(ep(), "brand", "Acme");
    creator_ = make_account(ep(), "creator", "Cleo");
  }

  std::string open(ws_client& brand) {
    auto r = brand.request(json{{"type", "conversation.open"}, {"with", creator_.id}});
    EXPECT_EQ(r["type"], "ok") << r.dump();
    return r["conversation"]["id"].get<std::string>();
  }

  static json make(ws_client& c, const std::string& conv, const std::string& client_id,
                   int64_t amount, int64_t counter_to = 0, int64_t expires_in = 0) {
    json req{{"type", "offer.make"}, {"conversation", conv}, {"client_id", client_id},
             {"terms", terms(amount)}};
    if (counter_to > 0)
      req["counter_to"] = counter_to;
    if (expires_in > 0)
      req["expires_in"] = expires_in;
    return c.request(req);
  }

  static json answer(ws_client& c, const std::string& type, const std::string& conv, int64_t offer) {
    return c.request(json{{"type", type}, {"conversation", conv}, {"offer", offer}});
  }

  /// Every event of the conversation, oldest first.
  static std::vector<json> history(ws_client& c, const std::string& conv) {
    auto r = c.request(json{{"type", "history"}, {"conversation", conv}, {"limit", 200}});
    EXPECT_EQ(r["type"], "ok") << r.dump();
    std::vector<json> out;
    for (auto& item : r["events"])
      out.push_back(item["event"]);
    return out;
  }

  static size_t count_type(const std::vector<json>& events, const std::string& type) {
    size_t n = 0;
    for (auto& e : events)
      n += e["type"] == type ? 1 : 0;
    return n;
  }

  /// Waits for the next event of `type` on the conversation's stream.
  static std::optional<json> wait_for(ws_client& c, const std::string& type,
                                      std::chrono::milliseconds t) {
    return pactum::test_support::wait_event(
      c, [&](const json& e) { return e["event"]["type"] == type; }, t);
  }

  account brand_;
  account creator_;
};

} // namespace

TEST_F(OfferEndToEnd, OfferCounterAcceptIsPushedLiveAndKeptInHistory) {
  ws_client brand{ep(), brand_.token};
  ws_client creator{ep(), creator_.token};
  auto conv = open(brand);
  ASSERT_EQ(creator.request(json{{"type", "subscribe"}, {"conversation", conv}})["type"], "ok");

  auto first = make(brand, conv, "offer-1", 150'000);
  ASSERT_EQ(first["type"], "ok") << first.dump();
  auto first_seq = first["seq"].get<int64_t>();
  auto pushed = wait_for(creator, "offer.made", 5s);
  ASSERT_TRUE(pushed) << "the creator sees the offer live";
  EXPECT_EQ((*pushed)["seq"], first_seq);
  EXPECT_EQ((*pushed)["event"]["terms"]["amount"], 150'000);
  EXPECT_EQ((*pushed)["event"]["terms"]["deliverables"][0]["platform"], "tiktok")
    << "the platform follows from the collaboration type";
  EXPECT_GT((*pushed)["event"]["expires_at"].get<int64_t>(), (*pushed)["event"]["at"].get<int64_t>());

  auto counter = make(creator, conv, "counter-1", 200'000, first_seq);
  ASSERT_EQ(counter["type"], "ok") << counter.dump();
  auto counter_seq = counter["seq"].get<int64_t>();
  // The superseded offer can no longer be accepted.
  auto stale = answer(creator, "offer.accept", conv, first_seq);
  EXPECT_EQ(stale["code"], "conflict") << "countered, so superseded: " << stale.dump();
  auto late = answer(brand, "offer.withdraw", conv, first_seq);
  EXPECT_EQ(late["code"], "conflict") << late.dump();

  auto accepted = answer(brand, "offer.accept", conv, counter_seq);
  ASSERT_EQ(accepted["type"], "ok") << accepted.dump();
  ASSERT_TRUE(accepted.contains("contract")) << "accepting creates the contract";
  auto ev = wait_for(creator, "offer.accepted", 5s);
  ASSERT_TRUE(ev);
  EXPECT_EQ((*ev)["event"]["offer"], counter_seq);
  EXPECT_EQ((*ev)["event"]["contract"], accepted["contract"]);

  auto events = history(creator, conv);
  EXPECT_EQ(count_type(events, "offer.made"), 2u) << "the whole offer history stays visible";
  EXPECT_EQ(count_type(events, "offer.accepted"), 1u);
  EXPECT_EQ(events.back()["type"], "offer.accepted");
}

TEST_F(OfferEndToEnd, BadTermsGetFieldLevelErrorsAndStoreNothing) {
  ws_client brand{ep(), brand_.token};
  auto conv = open(brand);
  auto bad = [&](json t) {
    return brand.request(json{{"type", "offer.make"}, {"conversation", conv}, {"client_id", "x"},
                              {"terms", std::move(t)}});
  };
  auto t = terms(100);
  t["currency"] = "usd";
  auto r = bad(t);
  EXPECT_EQ(r["code"], "bad_request");
  EXPECT_NE(r["message"].get<std::string>().find("terms.currency"), std::string::npos) << r.dump();

  t = terms(100);
  t["deliverables"][1]["type"] = "snapchat_spotlight";
  r = bad(t);
  EXPECT_NE(r["message"].get<std::string>().find("terms.deliverables[1].type"), std::string::npos) << r.dump();

  t = terms(100);
  t["deliverables"][0]["platform"] = "youtube";
  r = bad(t);
  EXPECT_NE(r["message"].get<std::string>().find("tiktok collaboration"), std::string::npos) << r.dump();

  t = terms(0);
  EXPECT_EQ(bad(t)["code"], "bad_request") << "amounts are positive";
  t = terms(100);
  t["usage_rights"] = json{{"scope", "organic"}, {"days", 0}};
  EXPECT_EQ(bad(t)["code"], "bad_request") << "granted rights need a duration";

  auto events = history(brand, conv);
  EXPECT_EQ(count_type(events, "offer.made"), 0u) << "nothing stored";
}

TEST_F(OfferEndToEnd, ConcurrentAcceptsCreateExactlyOneContract) {
  ws_client brand{ep(), brand_.token};
  ws_client creator{ep(), creator_.token};
  ws_client creator_phone{ep(), creator_.token};
  auto conv = open(brand);
  // Each side has an offer open to the other, and the creator is signed in on two devices.
  auto from_brand = make(brand, conv, "b", 100'000)["seq"].get<int64_t>();
  auto from_creator = make(creator, conv, "c", 120'000)["seq"].get<int64_t>();

  json replies[3];
  std::atomic<int> ready{0};
  auto click = [&](int i, ws_client& c, int64_t offer) {
    ++ready;
    while (ready.load() < 3) {
    }
    replies[i] = answer(c, "offer.accept", conv, offer);
  };
  std::thread t1{click, 0, std::ref(creator), from_brand};
  std::thread t2{click, 1, std::ref(creator_phone), from_brand};
  std::thread t3{click, 2, std::ref(brand), from_creator};
  t1.join();
  t2.join();
  t3.join();

  auto events = history(brand, conv);
  ASSERT_EQ(count_type(events, "offer.accepted"), 1u) << "one deal, whoever clicked first";
  std::string contract;
  for (auto& e : events)
    if (e["type"] == "offer.accepted")
      contract = e["contract"];
  size_t ok = 0;
  for (auto& r : replies) {
    if (r["type"] == "ok") {
      ++ok;
      EXPECT_EQ(r["contract"], contract) << "every success names the one contract: " << r.dump();
    } else {
      EXPECT_EQ(r["code"], "conflict") << r.dump();
    }
  }
  EXPECT_GE(ok, 1u);
}

TEST_F(OfferEndToEnd, PendingOffersAreLimited) {
  restart_with({"--max-pending-offers", "2"});
  ws_client brand{ep(), brand_.token};
  auto conv = open(brand);
  EXPECT_EQ(make(brand, conv, "1", 100)["type"], "ok");
  EXPECT_EQ(make(brand, conv, "2", 100)["type"], "ok");
  auto third = make(brand, conv, "3", 100);
  EXPECT_EQ(third["code"], "limit_reached") << third.dump();
}

TEST_F(OfferEndToEnd, AnUnansweredOfferExpiresLive) {
  ws_client brand{ep(), brand_.token};
  ws_client creator{ep(), creator_.token};
  auto conv = open(brand);
  ASSERT_EQ(creator.request(json{{"type", "subscribe"}, {"conversation", conv}})["type"], "ok");
  auto offer = make(brand, conv, "short", 100'000, 0, 1)["seq"].get<int64_t>();
  auto expired = wait_for(creator, "offer.expired", 10s);
  ASSERT_TRUE(expired) << "the offer lapses about a second later, pushed live";
  EXPECT_EQ((*expired)["event"]["offer"], offer);
  auto late = answer(creator, "offer.accept", conv, offer);
  EXPECT_EQ(late["code"], "conflict") << late.dump();
}

TEST_F(OfferEndToEnd, AnExpiryDueWhileTheServerWasDownFiresOnceAfterRestart) {
  std::string conv;
  int64_t offer = 0;
  {
    ws_client brand{ep(), brand_.token};
    conv = open(brand);
    offer = make(brand, conv, "before-crash", 100'000, 0, 2)["seq"].get<int64_t>();
    ASSERT_GT(offer, 0);
  }
  server_->kill_now(); // the acknowledged offer and its timer are in PostgreSQL; nothing else is
  std::this_thread::sleep_for(3s); // the offer's expiry passes while nothing runs
  server_->start();

  ws_client creator{ep(), creator_.token};
  auto sub = creator.request(json{{"type", "subscribe"}, {"conversation", conv}, {"after", offer}});
  ASSERT_EQ(sub["type"], "ok") << sub.dump();
  std::optional<json> expired;
  if (sub["head"].get<int64_t>() == offer) // not fired yet: wait for it live
    expired = wait_for(creator, "offer.expired", 10s);
  else
    expired = wait_for(creator, "offer.expired", 1s); // fired already: it is in the gap replay
  ASSERT_TRUE(expired) << "the sweeper fired the overdue timer after restart";
  EXPECT_EQ((*expired)["event"]["offer"], offer);

  // Give the sweeper several more rounds: the timer must not fire again.
  std::this_thread::sleep_for(1s);
  server_->restart();
  std::this_thread::sleep_for(1s);
  ws_client again{ep(), creator_.token};
  auto events = history(again, conv);
  EXPECT_EQ(count_type(events, "offer.expired"), 1u) << "exactly once";
  pqxx::connection db{url()};
  pqxx::nontransaction tx{db};
  EXPECT_EQ(tx.exec1("select count(*) from due_timers")[0].as<int>(), 0) << "the timer row is gone";
}
