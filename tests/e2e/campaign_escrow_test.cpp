// End to end: `POST /api/v1/payments/campaigns/{id}/escrow` (issue 7, item 5) against a real
// pactumd and PostgreSQL. A brand with three accepted deals in one campaign funds them in one call
// with one card: the campaign's remaining budget covers two, so two are funded through the
// sandbox (their amounts committed to the campaign) and the third is reported `budget_exceeded`
// and left untouched. A retry with the same key charges nothing twice; other users get what a
// missing campaign gets; bad fields are named. Also: a contract's settle report that a crash lost
// (the contract's release committed, the campaign's budget.settled not) is made again after a
// restart, so the campaign's money does not stay committed forever.

#include <thread>

#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "e2e_fixture.hpp"
#include "pactum/sim/client.hpp"

using namespace pactum::sim;
using namespace std::chrono_literals;

namespace {

class CampaignEscrowE2E : public pactum::test_support::server_test {
protected:
  std::vector<std::string> server_args() const override {
    return {"--webhook-secret", "campaign-escrow-secret", "--timer-sweep-ms", "200"};
  }

  http_reply call(const account& who, const std::string& method, const std::string& target,
                  const json& body = json()) {
    return http_call(ep(), method, target, body.is_null() ? std::string{} : body.dump(), who.token);
  }

  json poll(const account& who, const std::string& target, const std::function<bool(const json&)>& pred) {
    json last;
    for (int i = 0; i < 200; ++i) {
      auto r = call(who, "GET", target);
      last = r.json_body();
      if (r.status == 200 && pred(last))
        return last;
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << target << " never matched: " << last.dump();
    return last;
  }

  /// A published flat campaign with `budget` EUR cents: its id.
  std::string campaign(const account& brand, int64_t budget) {
    json d{{"key", "c"},
           {"title", "Autumn rides"},
           {"description", "City bikes"},
           {"goals", {"awareness"}},
           {"budget", budget},
           {"currency", "EUR"},
           {"deliverables", {json{{"type", "tiktok_duet"}, {"count", 1}}}},
           {"audience", {{"niches", {"travel"}}, {"countries", {"DE"}}}},
           {"collaboration_types", {"tiktok_duet"}},
           {"pricing", {{"model", "flat"}, {"rate", 0}}},
           {"brief", "Ride it"}};
    auto made = call(brand, "POST", "/api/v1/brands/campaigns", d);
    EXPECT_EQ(made.status, 201) << made.body;
    auto id = made.json_body()["campaign"]["id"].get<std::string>();
    EXPECT_EQ(call(brand, "POST", "/api/v1/brands/campaigns/" + id + "/status", json{{"to", "publish"}, {"key", "p"}}).status, 200);
    return id;
  }

  /// `creator` applies, the brand approves, they agree on `amount`: the accepted contract's id.
  std::string deal(const account& brand, const account& creator, const std::string& campaign, int64_t amount) {
    auto app = call(creator, "POST", "/api/v1/influencers/campaigns/" + campaign + "/apply", json{{"key", "a"}});
    EXPECT_EQ(app.status, 201) << app.body;
    auto approved = call(brand, "PUT",
                         "/api/v1/brands/campaigns/" + campaign + "/applications/"
                           + std::to_string(app.json_body()["application"].get<int64_t>()),
                         json{{"key", "d-" + creator.id}, {"outcome", "approved"}});
    EXPECT_EQ(approved.status, 200) << approved.body;
    auto conv = approved.json_body()["conversation"].get<std::string>();
    ws_client b{ep(), brand.token}, c{ep(), creator.token};
    auto offer = b.request(json{{"type", "offer.make"}, {"conversation", conv}, {"client_id", "o-" + creator.id},
                                {"terms", json{{"amount", amount}, {"currency", "EUR"},
                                               {"deliverables", json::array({json{{"platform", "tiktok"}, {"type", "tiktok_duet"}, {"count", 1}}})},
                                               {"delivery_days", 7}, {"revision_rounds", 1}}}});
    EXPECT_EQ(offer["type"], "ok") << offer.dump();
    auto accepted = c.request(json{{"type", "offer.accept"}, {"conversation", conv}, {"offer", offer["seq"]}});
    EXPECT_EQ(accepted["type"], "ok") << accepted.dump();
    return accepted["contract"].get<std::string>();
  }
};

TEST_F(CampaignEscrowE2E, FundsAcceptedContractsWithinTheBudgetOnce) {
  auto brand = make_account(ep(), "brand", "Acme");
  auto id = campaign(brand, 50'000);
  std::vector<std::string> contracts;
  for (auto name : {"Cleo", "Dana", "Emil"}) {
    auto creator = make_account(ep(), "creator", name);
    contracts.push_back(deal(brand, creator, id, 20'000));
  }

  auto target = "/api/v1/payments/campaigns/" + id + "/escrow";
  auto r = call(brand, "POST", target, json{{"key", "fund-all"}, {"payment_method", "4242424242424242"}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = r.json_body();
  EXPECT_EQ(body["requested"], 2) << body.dump();
  EXPECT_EQ(body["requested_amount"], 40'000);
  ASSERT_EQ(body["contracts"].size(), 3u) << body.dump();
  // In the order the offers were accepted: the first two fit the budget, the third does not.
  for (size_t i = 0; i < 3; ++i)
    EXPECT_EQ(body["contracts"][i]["contract"], contracts[i]);
  EXPECT_EQ(body["contracts"][0]["outcome"], "funding_requested");
  EXPECT_EQ(body["contracts"][1]["outcome"], "funding_requested");
  EXPECT_EQ(body["contracts"][2]["outcome"], "budget_exceeded");

  // The sandbox's webhooks fund the two; the campaign commits their amounts.
  for (size_t i = 0; i < 2; ++i)
    poll(brand, "/api/v1/contracts/" + contracts[i], [](const json& c) { return c.value("status", "") == "funded"; });
  auto view = poll(brand, "/api/v1/campaigns/" + id, [](const json& v) { return v.value("committed", 0) == 40'000; });
  EXPECT_EQ(view["remaining"], 10'000);
  auto third = call(brand, "GET", "/api/v1/contracts/" + contracts[2]).json_body();
  EXPECT_EQ(third["status"], "awaiting_funding");

  // The same request again: the funded two are skipped, the third still does not fit.
  auto again = call(brand, "POST", target, json{{"key", "fund-all"}, {"payment_method", "4242424242424242"}});
  ASSERT_EQ(again.status, 200) << again.body;
  auto b2 = again.json_body();
  EXPECT_EQ(b2["requested"], 0);
  EXPECT_EQ(b2["contracts"][0]["outcome"], "skipped");
  EXPECT_EQ(b2["contracts"][0]["status"], "funded");
  EXPECT_EQ(b2["contracts"][2]["outcome"], "budget_exceeded");
  view = call(brand, "GET", "/api/v1/campaigns/" + id).json_body();
  EXPECT_EQ(view["committed"], 40'000);
}

TEST_F(CampaignEscrowE2E, OnlyTheBrandFundsAndFieldsAreChecked) {
  auto brand = make_account(ep(), "brand", "Acme");
  auto other = make_account(ep(), "brand", "Rival");
  auto cleo = make_account(ep(), "creator", "Cleo");
  auto id = campaign(brand, 50'000);
  auto contract = deal(brand, cleo, id, 20'000);
  auto target = "/api/v1/payments/campaigns/" + id + "/escrow";
  json ok_body{{"key", "k"}, {"payment_method", "4242424242424242"}};

  // Another brand and the creator get what an unknown campaign gets.
  auto missing = call(brand, "POST", "/api/v1/payments/campaigns/00000000-0000-7000-8000-000000000000/escrow", ok_body);
  EXPECT_EQ(missing.status, 404) << missing.body;
  for (auto* who : {&other, &cleo}) {
    auto r = call(*who, "POST", target, ok_body);
    EXPECT_EQ(r.status, 404) << r.body;
    EXPECT_EQ(r.json_body()["error"]["message"], missing.json_body()["error"]["message"]);
  }
  EXPECT_EQ(call(account{}, "POST", target, ok_body).status, 401);

  auto bad = call(brand, "POST", target, json{{"key", ""}});
  ASSERT_EQ(bad.status, 400) << bad.body;
  EXPECT_TRUE(bad.json_body()["error"]["fields"].contains("key")) << bad.body;
  EXPECT_TRUE(bad.json_body()["error"]["fields"].contains("payment_method")) << bad.body;
  EXPECT_EQ(call(brand, "GET", target).status, 405);

  // Nothing was funded by the refused calls.
  EXPECT_EQ(call(brand, "GET", "/api/v1/contracts/" + contract).json_body()["status"], "awaiting_funding");

  // A cancelled campaign's contracts are not funded through it.
  ASSERT_EQ(call(brand, "POST", "/api/v1/brands/campaigns/" + id + "/status", json{{"to", "cancel"}, {"key", "x"}}).status, 200);
  auto cancelled = call(brand, "POST", target, ok_body);
  EXPECT_EQ(cancelled.status, 409) << cancelled.body;
}

TEST_F(CampaignEscrowE2E, ASettleReportLostToACrashIsMadeAgainAfterRestart) {
  auto brand = make_account(ep(), "brand", "Acme");
  auto cleo = make_account(ep(), "creator", "Cleo");
  auto id = campaign(brand, 50'000);
  auto contract = deal(brand, cleo, id, 20'000);
  auto funded = call(brand, "POST", "/api/v1/payments/campaigns/" + id + "/escrow",
                     json{{"key", "f"}, {"payment_method", "4242424242424242"}});
  ASSERT_EQ(funded.status, 200) << funded.body;
  poll(brand, "/api/v1/contracts/" + contract, [](const json& c) { return c.value("status", "") == "funded"; });
  poll(brand, "/api/v1/campaigns/" + id, [](const json& v) { return v.value("committed", 0) == 20'000; });
  ASSERT_EQ(call(cleo, "POST", "/api/v1/contracts/" + contract + "/deliver",
                 json{{"key", "dl"}, {"items", json::array({json{{"url", "https://tiktok.example/v/1"}}})}}).status, 200);
  ASSERT_EQ(call(brand, "POST", "/api/v1/contracts/" + contract + "/approve", json{{"key", "ap"}}).status, 200);
  poll(brand, "/api/v1/campaigns/" + id, [](const json& v) { return v.value("spent", 0) == 20'000; });

  // The crash, made exact: the campaign's last event (the settle) never reached its journal.
  server_.reset();
  {
    pqxx::connection conn{url()};
    pqxx::work tx{conn};
    auto last = tx.exec_params1("select seq, event_type from journal where entity_id = $1 order by seq desc limit 1", id);
    ASSERT_EQ(last[1].as<std::string>(), "budget.settled");
    auto seq = last[0].as<int64_t>();
    tx.exec_params("delete from journal where entity_id = $1 and seq = $2", id, seq);
    tx.exec_params("delete from snapshots where entity_id = $1 and seq >= $2", id, seq);
    tx.exec_params("update campaigns set committed = 20000, spent = 0, head_seq = $2 where id = $1", id, seq - 1);
    tx.commit();
  }
  restart_with(server_args());
  auto view = call(brand, "GET", "/api/v1/campaigns/" + id).json_body();
  EXPECT_EQ(view["committed"], 20'000) << "the settle was lost: " << view.dump();
  // Activating the campaign wakes its unsettled contract, which reports its end again.
  view = poll(brand, "/api/v1/campaigns/" + id, [](const json& v) { return v.value("spent", 0) == 20'000; });
  EXPECT_EQ(view["committed"], 0);
  EXPECT_EQ(view["remaining"], 30'000);
}

TEST_F(CampaignEscrowE2E, SigtermAfterRestRequestsThatAskEntitiesExitsCleanly) {
  // REST requests ask entity actors from persistence threads; CAF 0.17 made such a thread hold
  // the actor system's logger, and ~actor_system waited for it for ever (a hang on Ctrl-C).
  auto brand = make_account(ep(), "brand", "Acme");
  auto cleo = make_account(ep(), "creator", "Cleo");
  auto id = campaign(brand, 50'000);
  auto contract = deal(brand, cleo, id, 20'000);
  EXPECT_EQ(call(brand, "GET", "/api/v1/contracts/" + contract).status, 200);
  EXPECT_EQ(call(cleo, "GET", "/api/v1/users/me/withdrawals").status, 200);
  EXPECT_EQ(call(brand, "GET", "/api/v1/campaigns/" + id).status, 200);
  EXPECT_EQ(server_->stop(std::chrono::seconds(20)), 0) << "SIGTERM must end pactumd cleanly";
}

} // namespace
