// End to end: campaign content review releases the contract (issue 6, item 3). A funded campaign
// contract with 2 deliverables; the creator submits content (one piece without disclosure: the
// screening report shows it), the brand asks for a revision, the creator resubmits, a second
// revision is refused (the terms allow 1), the brand approves both; the campaign then releases
// the contract through the contract's approve path (the creator's balance grows, the ledger
// check is clean), the budget moves from committed to spent and the campaign can complete. A
// creator cannot review; a stranger gets not_found; a moderator subscribed over WebSocket
// receives the review events live; a restart keeps the content and its reviews.

#include <thread>

#include <gtest/gtest.h>

#include "e2e_fixture.hpp"
#include "pactum/sim/client.hpp"

using namespace pactum::sim;
using namespace std::chrono_literals;

namespace {

json campaign_details() {
  return json{{"title", "Autumn rides"},
              {"description", "Our new city bike"},
              {"goals", {"awareness"}},
              {"budget", 100'000},
              {"currency", "EUR"},
              {"deliverables", {json{{"type", "tiktok_duet"}, {"count", 2}}}},
              {"audience", {{"niches", {"travel"}}, {"countries", {"DE"}}, {"min_followers", 1000}}},
              {"collaboration_types", {"tiktok_duet"}},
              {"pricing", {{"model", "flat"}, {"rate", 0}}},
              {"brief", "Ride it through the city"}};
}

class CampaignContentE2E : public pactum::test_support::server_test {
protected:
  std::vector<std::string> server_args() const override {
    return {"--webhook-secret", "campaign-content-secret", "--timer-sweep-ms", "200", "--snapshot-every", "2"};
  }

  http_reply call(const account& who, const std::string& method, const std::string& target,
                  const json& body = json()) {
    return http_call(ep(), method, target, body.is_null() ? std::string{} : body.dump(), who.token);
  }

  json poll(const account& who, const std::string& target, const std::function<bool(const json&)>& pred) {
    json last;
    for (int i = 0; i < 100; ++i) {
      auto r = call(who, "GET", target);
      last = r.json_body();
      if (r.status == 200 && pred(last))
        return last;
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << target << " never matched: " << last.dump();
    return last;
  }

  int64_t balance(const account& who, const std::string& currency) {
    auto r = call(who, "GET", "/api/v1/users/me/balance");
    EXPECT_EQ(r.status, 200) << r.body;
    auto body = r.json_body();
    for (auto& b : body["balances"])
      if (b["currency"] == currency)
        return b["available"].get<int64_t>();
    return 0;
  }

  int run_pactumd(const std::string& args) {
    std::string cmd = std::string{std::getenv("PACTUMD_BIN")} + " --database-url '" + url()
                      + "' --log-level warn " + args;
    int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }

  json submit(const account& who, const std::string& campaign, const std::string& contract, int deliverable,
              const std::string& caption, const std::string& key, int expect = 201) {
    auto r = call(who, "POST", "/api/v1/campaigns/" + campaign + "/content",
                  json{{"key", key},
                       {"contract", contract},
                       {"deliverable", deliverable},
                       {"media", json::array({json{{"url", "https://tiktok.example/v/" + key}, {"type", "video/mp4"}}})},
                       {"caption", caption},
                       {"platform", "tiktok"}});
    EXPECT_EQ(r.status, expect) << r.body;
    return r.json_body();
  }

  http_reply review(const account& who, const std::string& campaign, int64_t submission,
                    const std::string& verdict, const std::string& key) {
    return call(who, "PUT", "/api/v1/campaigns/" + campaign + "/content/" + std::to_string(submission) + "/status",
                json{{"key", key}, {"verdict", verdict}, {"reason", "see notes"}});
  }
};

TEST_F(CampaignContentE2E, ReviewedContentReleasesTheContract) {
  auto brand = make_account(ep(), "brand", "Acme");
  auto cleo = make_account(ep(), "creator", "Cleo");
  auto eve = make_account(ep(), "creator", "Eve");
  auto mod = make_account(ep(), "creator", "Mo");
  ASSERT_EQ(run_pactumd("--set-role " + mod.email + "=moderator"), 0);

  auto d = campaign_details();
  d["key"] = "content";
  auto id = call(brand, "POST", "/api/v1/brands/campaigns", d).json_body()["campaign"]["id"].get<std::string>();
  ASSERT_EQ(call(brand, "POST", "/api/v1/brands/campaigns/" + id + "/status", json{{"to", "publish"}, {"key", "p"}}).status, 200);
  auto app = call(cleo, "POST", "/api/v1/influencers/campaigns/" + id + "/apply", json{{"key", "a"}})
               .json_body()["application"].get<int64_t>();
  auto approved = call(brand, "PUT", "/api/v1/brands/campaigns/" + id + "/applications/" + std::to_string(app),
                       json{{"key", "d"}, {"outcome", "approved"}});
  ASSERT_EQ(approved.status, 200) << approved.body;
  auto conv = approved.json_body()["conversation"].get<std::string>();

  ws_client b{ep(), brand.token}, c{ep(), cleo.token};
  auto offer = b.request(json{{"type", "offer.make"}, {"conversation", conv}, {"client_id", "o-1"},
                              {"terms", json{{"amount", 30'000}, {"currency", "EUR"},
                                             {"deliverables", json::array({json{{"platform", "tiktok"}, {"type", "tiktok_duet"}, {"count", 2}}})},
                                             {"delivery_days", 7}, {"revision_rounds", 1}}}});
  ASSERT_EQ(offer["type"], "ok") << offer.dump();
  auto accepted = c.request(json{{"type", "offer.accept"}, {"conversation", conv}, {"offer", offer["seq"]}});
  ASSERT_EQ(accepted["type"], "ok") << accepted.dump();
  auto contract = accepted["contract"].get<std::string>();
  auto content_url = "/api/v1/campaigns/" + id + "/content";

  // Before funding the creator holds no contract of the campaign: a stranger to its content.
  EXPECT_EQ(call(cleo, "GET", content_url).status, 404);
  ASSERT_EQ(call(brand, "POST", "/api/v1/contracts/" + contract + "/fund",
                 json{{"key", "f"}, {"payment_method", "4242424242424242"}}).status, 200);
  poll(brand, "/api/v1/campaigns/" + id, [](const json& v) { return v.value("committed", 0) == 30'000; });
  auto before = balance(cleo, "EUR");

  // A moderator watches the campaign live.
  ws_client m{ep(), mod.token};
  auto sub = m.request(json{{"type", "campaign.subscribe"}, {"campaign", id}});
  ASSERT_EQ(sub["type"], "ok") << sub.dump();
  // A creator with no part in the campaign may not watch its content.
  ws_client e{ep(), eve.token};
  auto eve_sub = e.request(json{{"type", "campaign.subscribe"}, {"campaign", id}});
  EXPECT_EQ(eve_sub["type"], "ok") << "a published campaign is public: " << eve_sub.dump();

  // Deliverable 0 without disclosure: stored, but the screening report shows the problem.
  auto first = submit(cleo, id, contract, 0, "Look at my new ride", "s0");
  ASSERT_TRUE(first.contains("submission")) << first.dump();
  auto s0 = first["submission"].get<int64_t>();
  EXPECT_FALSE(first["content"]["report"]["passed"].get<bool>()) << first.dump();
  bool disclosure = false;
  for (auto& f : first["content"]["report"]["findings"])
    disclosure = disclosure || f["rule"] == "disclosure";
  EXPECT_TRUE(disclosure) << first.dump();
  // A retry with the same key is the same submission.
  EXPECT_EQ(submit(cleo, id, contract, 0, "Look at my new ride", "s0", 201)["submission"], s0);
  auto second = submit(cleo, id, contract, 1, "Riding to work #ad", "s1");
  auto s1 = second["submission"].get<int64_t>();
  EXPECT_TRUE(second["content"]["report"]["passed"].get<bool>()) << second.dump();

  // Only the brand or a moderator reviews; strangers learn nothing.
  auto self_review = review(cleo, id, s1, "approved", "r-self");
  EXPECT_EQ(self_review.status, 403) << self_review.body;
  EXPECT_EQ(self_review.json_body()["error"]["code"], "forbidden");
  EXPECT_EQ(review(eve, id, s1, "approved", "r-eve").status, 404);
  EXPECT_EQ(call(eve, "GET", content_url).status, 404);
  EXPECT_EQ(submit(eve, id, contract, 0, "mine #ad", "e0", 404)["error"]["code"], "not_found");

  // One revision round (the terms' 1), then the creator resubmits; a second round is refused.
  auto rev = review(brand, id, s0, "revision_requested", "r0");
  ASSERT_EQ(rev.status, 200) << rev.body;
  EXPECT_EQ(rev.json_body()["verdict"], "revision_requested");
  auto s2 = submit(cleo, id, contract, 0, "My new ride #ad", "s2")["submission"].get<int64_t>();
  auto again = review(brand, id, s2, "revision_requested", "r2");
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(again.json_body()["error"]["code"], "limit_reached");

  // The creator sees their submissions with verdicts and reports.
  auto mine = call(cleo, "GET", content_url).json_body();
  ASSERT_EQ(mine["content"].size(), 3u) << mine.dump();
  EXPECT_EQ(mine["content"][0]["verdict"], "revision_requested");
  EXPECT_EQ(mine["content"][0]["review"]["verdict"], "revision_requested");
  EXPECT_FALSE(mine["content"][0].contains("key")) << "keys are private";

  // Both approved: the last approval releases the contract.
  ASSERT_EQ(review(brand, id, s1, "approved", "r1").status, 200);
  auto last = review(brand, id, s2, "approved", "r3");
  ASSERT_EQ(last.status, 200) << last.body;
  EXPECT_TRUE(last.json_body()["review"]["release"].get<bool>()) << last.body;
  auto view = poll(brand, "/api/v1/contracts/" + contract, [](const json& v) {
    return v.contains("contract") ? v["contract"].value("status", "") == "released" : v.value("status", "") == "released";
  });
  view = poll(brand, "/api/v1/campaigns/" + id, [](const json& v) { return v.value("spent", 0) == 30'000; });
  EXPECT_EQ(view["committed"], 0);
  EXPECT_GT(balance(cleo, "EUR"), before);
  EXPECT_EQ(run_pactumd("--ledger-check"), 0);

  // A moderator sees every submission.
  auto all = call(mod, "GET", content_url).json_body();
  EXPECT_EQ(all["content"].size(), 3u) << all.dump();
  // Nothing holds budget now: the campaign completes.
  auto done = call(brand, "POST", "/api/v1/brands/campaigns/" + id + "/status", json{{"to", "complete"}, {"key", "c"}});
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(done.json_body()["campaign"]["status"], "completed");

  // The moderator received the reviews live; Eve (a stranger to the content) did not.
  int reviews = 0;
  while (auto ev = m.next_event(2s))
    if ((*ev)["stream"] == "campaign:" + id && (*ev)["event"].contains("verdict"))
      ++reviews;
  EXPECT_EQ(reviews, 3);
  int leaked = 0;
  bool status_seen = false;
  while (auto ev = e.next_event(1s)) {
    if ((*ev)["event"].contains("verdict") || (*ev)["event"].contains("report"))
      ++leaked;
    if ((*ev)["event"].value("status", "") == "completed")
      status_seen = true;
  }
  EXPECT_EQ(leaked, 0);
  EXPECT_TRUE(status_seen) << "campaign-wide events reach every subscriber";

  // A restart (recovery from a snapshot plus the journal's tail) keeps the content and reviews.
  restart_with(server_args());
  auto after = call(brand, "GET", content_url).json_body();
  ASSERT_EQ(after["content"].size(), 3u) << after.dump();
  EXPECT_EQ(after["content"], all["content"]);
}

} // namespace
