// End to end: campaigns over REST against a real pactumd and PostgreSQL (issue 6). A brand
// drafts, is refused publishing without a budget (field error), publishes; creators find it
// (public list with filters, their eligible campaigns), apply and are approved, are invited and
// accept; each opens the pair's conversation, once; strangers get not_found for drafts; a creator
// cannot decide applications; the feed hides other creators' proposals; the campaign, its read
// model and its conversations survive a pactumd restart; cancelling gives back the budget.

#include <set>
#include <thread>

#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "e2e_fixture.hpp"
#include "pactum/sim/client.hpp"

using namespace pactum::sim;
using namespace std::chrono_literals;

namespace {

json details(int64_t budget) {
  return json{{"title", "Summer rides launch"},
              {"description", "Our new city bike"},
              {"goals", {"awareness"}},
              {"budget", budget},
              {"currency", "EUR"},
              {"deliverables", {json{{"type", "tiktok_duet"}, {"count", 1}}}},
              {"audience", {{"niches", {"travel", "sports"}}, {"countries", {"DE", "AT"}}, {"min_followers", 1000}}},
              {"collaboration_types", {"tiktok_duet"}},
              {"pricing", {{"model", "flat"}, {"rate", 0}}},
              {"brief", "Ride it through the city"}};
}

json creator_profile(const std::string& country, int followers) {
  return json{{"bio", "Rides."},
              {"niches", {"travel"}},
              {"social_accounts", {json{{"platform", "tiktok"}, {"handle", "@r"}, {"followers", followers},
                                        {"average_views", 1000}, {"engagement_rate", 5.0}}}},
              {"location", {{"country", country}, {"city", "X"}}},
              {"languages", {"de"}}};
}

class CampaignE2E : public pactum::test_support::server_test {
protected:
  /// Snapshots every 2 events, so a restart recovers from a snapshot plus the journal's tail.
  std::vector<std::string> server_args() const override { return {"--snapshot-every", "2"}; }

  http_reply call(const account& who, const std::string& method, const std::string& target,
                  const json& body = json()) {
    return http_call(ep(), method, target, body.is_null() ? std::string{} : body.dump(), who.token);
  }

  /// Waits until the read model shows `pred` for the public list answer of `target`.
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
};

bool lists(const json& page, const std::string& id) {
  for (auto& c : page["campaigns"])
    if (c["id"] == id)
      return true;
  return false;
}

TEST_F(CampaignE2E, DraftToPublishedWithApplicationsInvitationsAndRestart) {
  auto brand = make_account(ep(), "brand", "Acme");
  auto cleo = make_account(ep(), "creator", "Cleo");
  auto dan = make_account(ep(), "creator", "Dan");
  auto stranger = make_account(ep(), "brand", "Other");
  ASSERT_EQ(call(cleo, "PUT", "/api/v1/influencers/profile", creator_profile("DE", 5000)).status, 200);
  ASSERT_EQ(call(dan, "PUT", "/api/v1/influencers/profile", creator_profile("FR", 5000)).status, 200);

  // A draft without a budget; a retry with the same key is the same campaign.
  auto created = call(brand, "POST", "/api/v1/brands/campaigns", [] {
    auto d = details(0);
    d["key"] = "c-1";
    return d;
  }());
  ASSERT_EQ(created.status, 201) << created.body;
  auto id = created.json_body()["campaign"]["id"].get<std::string>();
  EXPECT_EQ(created.json_body()["campaign"]["status"], "draft");
  auto again = http_call(ep(), "POST", "/api/v1/brands/campaigns", details(0).dump(), brand.token,
                         "application/json", {{"Idempotency-Key", "c-1"}});
  ASSERT_EQ(again.status, 201) << again.body;
  EXPECT_EQ(again.json_body()["campaign"]["id"], id);
  EXPECT_TRUE(again.json_body()["duplicate"].get<bool>());

  // Drafts: strangers and creators get what a missing campaign gets.
  for (auto* who : {&stranger, &cleo}) {
    auto r = call(*who, "GET", "/api/v1/campaigns/" + id);
    EXPECT_EQ(r.status, 404) << r.body;
    EXPECT_EQ(r.json_body()["error"]["code"], "not_found");
    EXPECT_EQ(call(*who, "GET", "/api/v1/campaigns/01900000-0000-7000-8000-000000000000").body, r.body);
  }
  EXPECT_EQ(call(stranger, "PUT", "/api/v1/brands/campaigns/" + id, [] {
              auto d = details(5);
              d["key"] = "x";
              return d;
            }()).status, 404);

  // Publishing without a budget: refused with a field error.
  auto refused = call(brand, "POST", "/api/v1/brands/campaigns/" + id + "/status", json{{"to", "publish"}, {"key", "p-0"}});
  EXPECT_EQ(refused.status, 400) << refused.body;
  ASSERT_TRUE(refused.json_body()["error"].contains("fields")) << refused.body;
  EXPECT_TRUE(refused.json_body()["error"]["fields"].contains("budget")) << refused.body;

  auto d = details(500'000);
  d["key"] = "u-1";
  auto updated = call(brand, "PUT", "/api/v1/brands/campaigns/" + id, d);
  ASSERT_EQ(updated.status, 200) << updated.body;
  auto published = call(brand, "POST", "/api/v1/brands/campaigns/" + id + "/status", json{{"to", "publish"}, {"key", "p-1"}});
  ASSERT_EQ(published.status, 200) << published.body;
  EXPECT_EQ(published.json_body()["campaign"]["status"], "published");

  // The public list (read model), with filters; the creator's eligible list follows the profile.
  poll(cleo, "/api/v1/campaigns?niche=travel&country=DE&currency=EUR&min_budget=1000&q=summer",
       [&](const json& p) { return lists(p, id); });
  EXPECT_FALSE(lists(call(cleo, "GET", "/api/v1/campaigns?currency=USD").json_body(), id));
  EXPECT_FALSE(lists(call(cleo, "GET", "/api/v1/campaigns?max_budget=100").json_body(), id));
  EXPECT_FALSE(lists(call(cleo, "GET", "/api/v1/campaigns?q=winter").json_body(), id));
  EXPECT_TRUE(lists(call(cleo, "GET", "/api/v1/influencers/campaigns").json_body(), id));
  EXPECT_FALSE(lists(call(dan, "GET", "/api/v1/influencers/campaigns").json_body(), id)); // FR
  EXPECT_TRUE(lists(call(brand, "GET", "/api/v1/brands/campaigns").json_body(), id));
  EXPECT_EQ(call(stranger, "GET", "/api/v1/campaigns/" + id).status, 200);

  // Live pushes: the brand's and Cleo's sockets (Dan's must not see Cleo's application).
  ws_client brand_ws(ep(), brand.token), cleo_ws(ep(), cleo.token), dan_ws(ep(), dan.token);
  auto on_stream = [&](const std::string& type) {
    return [&, type](const json& ev) {
      return ev.value("stream", "") == "campaign:" + id && ev["event"].value("type", "") == type;
    };
  };

  // Cleo applies; a creator cannot decide it; the brand approves: the pair's conversation opens.
  auto applied = call(cleo, "POST", "/api/v1/influencers/campaigns/" + id + "/apply",
                      json{{"key", "a-1"}, {"proposal", "Berlin rides, 3 videos"}, {"amount", 40'000}});
  ASSERT_EQ(applied.status, 201) << applied.body;
  auto app = applied.json_body()["application"].get<int64_t>();
  auto by_creator = call(cleo, "PUT", "/api/v1/brands/campaigns/" + id + "/applications/" + std::to_string(app),
                         json{{"key", "d-x"}, {"outcome", "approved"}});
  EXPECT_EQ(by_creator.status, 404) << by_creator.body;
  auto apps = call(brand, "GET", "/api/v1/brands/campaigns/" + id + "/applications");
  ASSERT_EQ(apps.status, 200) << apps.body;
  EXPECT_EQ(apps.json_body()["applications"][0]["proposal"], "Berlin rides, 3 videos");
  EXPECT_EQ(call(stranger, "GET", "/api/v1/brands/campaigns/" + id + "/applications").status, 404);
  std::string approve_target = "/api/v1/brands/campaigns/" + id + "/applications/" + std::to_string(app);
  auto approved = call(brand, "PUT", approve_target, json{{"key", "d-1"}, {"outcome", "approved"}});
  ASSERT_EQ(approved.status, 200) << approved.body;
  auto conv1 = approved.json_body()["conversation"].get<std::string>();
  auto live = pactum::test_support::wait_event(brand_ws, on_stream("application.submitted"), 5s);
  ASSERT_TRUE(live.has_value());
  EXPECT_EQ((*live)["event"]["proposal"], "Berlin rides, 3 videos");
  auto live_decision = pactum::test_support::wait_event(cleo_ws, on_stream("application.decided"), 5s);
  ASSERT_TRUE(live_decision.has_value());
  EXPECT_EQ((*live_decision)["event"]["outcome"], "approved");
  auto retried = call(brand, "PUT", approve_target, json{{"key", "d-1"}, {"outcome", "approved"}});
  ASSERT_EQ(retried.status, 200) << retried.body;
  EXPECT_TRUE(retried.json_body()["duplicate"].get<bool>());
  EXPECT_EQ(retried.json_body()["conversation"], conv1);

  // The brand invites Dan; Dan sees it in the inbox and accepts: a second conversation opens.
  auto invited = call(brand, "POST", "/api/v1/brands/campaigns/" + id + "/invitations",
                      json{{"key", "i-1"}, {"creator", dan.id}, {"brief", "Come ride with us"}});
  ASSERT_EQ(invited.status, 201) << invited.body;
  auto inv = invited.json_body()["invitation"].get<int64_t>();
  auto inbox = poll(dan, "/api/v1/influencers/invitations", [](const json& p) { return !p["invitations"].empty(); });
  EXPECT_EQ(inbox["invitations"][0]["brief"], "Come ride with us");
  EXPECT_EQ(inbox["invitations"][0]["outcome"], "pending");
  auto wrong = call(cleo, "PUT", "/api/v1/influencers/campaigns/" + id + "/invitations/" + std::to_string(inv),
                    json{{"key", "n-x"}, {"outcome", "accepted"}});
  EXPECT_EQ(wrong.status, 404) << wrong.body;
  auto accepted = call(dan, "PUT", "/api/v1/influencers/campaigns/" + id + "/invitations/" + std::to_string(inv),
                       json{{"key", "n-1"}, {"outcome", "accepted"}});
  ASSERT_EQ(accepted.status, 200) << accepted.body;
  auto conv2 = accepted.json_body()["conversation"].get<std::string>();
  EXPECT_NE(conv1, conv2);
  // Dan's socket got his invitation's events and never Cleo's application.
  std::set<std::string> dan_saw;
  auto dan_live = pactum::test_support::wait_event(dan_ws, [&](const json& ev) {
    dan_saw.insert(ev["event"].value("type", ""));
    return on_stream("invitation.answered")(ev);
  }, 5s);
  ASSERT_TRUE(dan_live.has_value());
  EXPECT_TRUE(dan_saw.count("invitation.sent"));
  EXPECT_FALSE(dan_saw.count("application.submitted"));
  EXPECT_FALSE(dan_saw.count("application.decided"));

  // The feed: the brand sees everything; Dan sees his invitation, not Cleo's proposal.
  auto brand_feed = call(brand, "GET", "/api/v1/campaigns/" + id + "/updates").json_body();
  auto dan_feed = call(dan, "GET", "/api/v1/campaigns/" + id + "/updates").json_body();
  std::set<std::string> brand_types, dan_types;
  for (auto& e : brand_feed["events"])
    brand_types.insert(e["type"].get<std::string>());
  for (auto& e : dan_feed["events"])
    dan_types.insert(e["type"].get<std::string>());
  EXPECT_TRUE(brand_types.count("application.submitted")) << brand_feed.dump();
  EXPECT_FALSE(dan_types.count("application.submitted")) << dan_feed.dump();
  EXPECT_TRUE(dan_types.count("invitation.answered")) << dan_feed.dump();
  EXPECT_EQ(dan_feed.dump().find("Berlin rides"), std::string::npos);

  // A restart keeps the campaign, its applications and its read model.
  restart_with({"--snapshot-every", "2"});
  {
    pqxx::connection conn{url()};
    pqxx::read_transaction tx{conn};
    EXPECT_GE(tx.exec1("select count(*) from snapshots where entity_id = '" + id + "'")[0].as<int>(), 1);
  }
  auto after = call(brand, "GET", "/api/v1/campaigns/" + id);
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(after.json_body()["status"], "published");
  EXPECT_EQ(after.json_body()["applications"], 1);
  EXPECT_EQ(server_->log().find("ignoring snapshot"), std::string::npos) << server_->log();
  EXPECT_TRUE(lists(call(cleo, "GET", "/api/v1/campaigns").json_body(), id));
  auto retried2 = call(brand, "PUT", approve_target, json{{"key", "d-1"}, {"outcome", "approved"}});
  EXPECT_EQ(retried2.json_body()["conversation"], conv1) << retried2.body;

  // Cancelling gives back the whole uncommitted budget.
  auto cancelled = call(brand, "POST", "/api/v1/brands/campaigns/" + id + "/status", json{{"to", "cancel"}, {"key", "x-1"}});
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_EQ(cancelled.json_body()["campaign"]["status"], "cancelled");
  EXPECT_EQ(cancelled.json_body()["campaign"]["remaining"], 0);
  auto feed = call(brand, "GET", "/api/v1/campaigns/" + id + "/updates").json_body();
  EXPECT_EQ(feed["events"].back()["event"]["released"], 500'000) << feed.dump();
  poll(cleo, "/api/v1/campaigns", [&](const json& p) { return !lists(p, id); });
}

TEST_F(CampaignE2E, RolesAndValidation) {
  auto brand = make_account(ep(), "brand", "Acme");
  auto cleo = make_account(ep(), "creator", "Cleo");
  auto r = call(cleo, "POST", "/api/v1/brands/campaigns", [] {
    auto d = details(100);
    d["key"] = "k";
    return d;
  }());
  EXPECT_EQ(r.status, 403) << r.body;
  auto bad = call(brand, "POST", "/api/v1/brands/campaigns", json{{"key", "k"}, {"title", ""}, {"currency", "eur"}});
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_TRUE(bad.json_body()["error"]["fields"].contains("currency")) << bad.body;
  auto nokey = call(brand, "POST", "/api/v1/brands/campaigns", details(100));
  EXPECT_EQ(nokey.status, 400) << nokey.body;
  EXPECT_EQ(call(brand, "GET", "/api/v1/campaigns?sort=random").status, 400);
  EXPECT_EQ(call(brand, "GET", "/api/v1/campaigns?limit=1000").status, 400);
  EXPECT_EQ(call(brand, "GET", "/api/v1/campaigns?before=garbage").status, 400);
  EXPECT_EQ(call(brand, "GET", "/api/v1/influencers/campaigns").status, 403);
  EXPECT_EQ(http_call(ep(), "GET", "/api/v1/campaigns").status, 401);

  // Pagination: three published campaigns, two per page, newest first, no repeats.
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto d = details(1000 + i);
    d["key"] = "p" + std::to_string(i);
    auto c = call(brand, "POST", "/api/v1/brands/campaigns", d);
    ASSERT_EQ(c.status, 201) << c.body;
    ids.push_back(c.json_body()["campaign"]["id"]);
    ASSERT_EQ(call(brand, "POST", "/api/v1/brands/campaigns/" + ids.back() + "/status",
                   json{{"to", "publish"}, {"key", "p"}}).status, 200);
  }
  poll(brand, "/api/v1/campaigns", [](const json& p) { return p["campaigns"].size() == 3; });
  auto p1 = call(brand, "GET", "/api/v1/campaigns?limit=2&sort=budget").json_body();
  ASSERT_EQ(p1["campaigns"].size(), 2u) << p1.dump();
  EXPECT_EQ(p1["campaigns"][0]["budget"], 1002);
  ASSERT_TRUE(p1["next_before"].is_string());
  auto p2 = call(brand, "GET", "/api/v1/campaigns?limit=2&sort=budget&before=" + p1["next_before"].get<std::string>()).json_body();
  ASSERT_EQ(p2["campaigns"].size(), 1u) << p2.dump();
  EXPECT_EQ(p2["campaigns"][0]["budget"], 1000);
  EXPECT_TRUE(p2["next_before"].is_null());
}

} // namespace

namespace {

class CampaignLimitsE2E : public CampaignE2E {
protected:
  std::vector<std::string> server_args() const override {
    return {"--campaign-max-applications", "1", "--campaign-max-invitations", "1"};
  }
};

std::string published_campaign(CampaignE2E& t, const pactum::sim::account& brand,
                               const std::function<http_reply(const account&, const std::string&,
                                                              const std::string&, const json&)>& call) {
  auto d = details(10'000);
  d["key"] = "limits";
  auto c = call(brand, "POST", "/api/v1/brands/campaigns", d);
  EXPECT_EQ(c.status, 201) << c.body;
  auto id = c.json_body()["campaign"]["id"].get<std::string>();
  EXPECT_EQ(call(brand, "POST", "/api/v1/brands/campaigns/" + id + "/status", json{{"to", "publish"}, {"key", "p"}}).status, 200);
  (void)t;
  return id;
}

TEST_F(CampaignLimitsE2E, ApplicationAndInvitationLimitsAreFlags) {
  auto brand = make_account(ep(), "brand", "Acme");
  auto a = make_account(ep(), "creator", "A");
  auto b = make_account(ep(), "creator", "B");
  auto c = make_account(ep(), "creator", "C");
  auto call_fn = [&](const account& w, const std::string& m, const std::string& t, const json& body) {
    return call(w, m, t, body);
  };
  auto id = published_campaign(*this, brand, call_fn);
  EXPECT_EQ(call(a, "POST", "/api/v1/influencers/campaigns/" + id + "/apply", json{{"key", "1"}}).status, 201);
  auto second = call(b, "POST", "/api/v1/influencers/campaigns/" + id + "/apply", json{{"key", "1"}});
  EXPECT_EQ(second.status, 409) << second.body;
  EXPECT_EQ(second.json_body()["error"]["code"], "limit_reached");
  EXPECT_EQ(call(brand, "POST", "/api/v1/brands/campaigns/" + id + "/invitations",
                 json{{"key", "i1"}, {"creator", c.id}}).status, 201);
  auto third = call(brand, "POST", "/api/v1/brands/campaigns/" + id + "/invitations", json{{"key", "i2"}, {"creator", b.id}});
  EXPECT_EQ(third.status, 409) << third.body;
  EXPECT_EQ(third.json_body()["error"]["code"], "limit_reached");
}

TEST_F(CampaignE2E, ConcurrentApprovalsOpenOneConversation) {
  auto brand = make_account(ep(), "brand", "Acme");
  auto cleo = make_account(ep(), "creator", "Cleo");
  auto d = details(10'000);
  d["key"] = "race";
  auto id = call(brand, "POST", "/api/v1/brands/campaigns", d).json_body()["campaign"]["id"].get<std::string>();
  ASSERT_EQ(call(brand, "POST", "/api/v1/brands/campaigns/" + id + "/status", json{{"to", "publish"}, {"key", "p"}}).status, 200);
  auto app = call(cleo, "POST", "/api/v1/influencers/campaigns/" + id + "/apply", json{{"key", "a"}})
               .json_body()["application"].get<int64_t>();
  // Eight approvals at once, each with its own key: one wins, the others find it decided.
  std::vector<http_reply> replies(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < replies.size(); ++i)
    threads.emplace_back([&, i] {
      replies[i] = call(brand, "PUT", "/api/v1/brands/campaigns/" + id + "/applications/" + std::to_string(app),
                        json{{"key", "k" + std::to_string(i)}, {"outcome", "approved"}});
    });
  for (auto& t : threads)
    t.join();
  int ok = 0, conflicts = 0;
  for (auto& r : replies) {
    ok += r.status == 200;
    conflicts += r.status == 409;
  }
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(conflicts, 7);
  // The pair has exactly one conversation, the one the approval named.
  pqxx::connection conn{url()};
  auto count = [&](const std::string& sql) {
    pqxx::read_transaction tx{conn};
    return tx.exec1(sql)[0].as<int>();
  };
  EXPECT_EQ(count("select count(*) from conversations where brand_id = '" + brand.id + "' and creator_id = '" + cleo.id + "'"), 1);
  int linked = 0;
  for (int i = 0; i < 100 && linked == 0; ++i) { // the link is written just after the commit
    linked = count("select count(*) from campaign_conversations where campaign_id = '" + id + "'");
    if (linked == 0)
      std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(linked, 1);
}

} // namespace
