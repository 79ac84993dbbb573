// End to end: the matching scorer wired into the campaign endpoints (docs/api.md, "Campaigns"
// and "Matching"). Two published campaigns, one fitting the creator far better (published
// first, so newest-first would show it second): the creator's list ranks it first with six
// reasons per campaign, pages through the ranking with an opaque cursor, still offers
// `sort=newest`; the brand's matches for a stored campaign rank the best-fitting creator first;
// a stranger brand and a creator get exactly what a missing campaign gets; the candidate cap
// (`--match-candidates`) also caps the campaigns ranked; rows projected before migration 0024
// (no stored details) are re-projected at start-up and ranked again.

#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "e2e_fixture.hpp"
#include "pactum/sim/client.hpp"

using namespace pactum::sim;
using namespace std::chrono_literals;

namespace {

json creator_body(std::vector<std::string> niches, const std::string& country, int64_t followers,
                  double engagement, json top_countries, int64_t duet_rate) {
  return json{{"bio", "Weekly rides and races."},
              {"niches", niches},
              {"social_accounts", json::array({json{{"platform", "tiktok"}, {"handle", "@h"},
                                                    {"followers", followers},
                                                    {"average_views", followers / 5},
                                                    {"engagement_rate", engagement}}})},
              {"audience", json{{"age_bands", {{"18-24", 45}, {"25-34", 35}, {"35-44", 20}}},
                                {"gender", {{"female", 50}, {"male", 50}}},
                                {"top_countries", top_countries}}},
              {"location", {{"country", country}, {"city", "Somewhere"}}},
              {"languages", {"de", "en"}},
              {"rates", json::array({json{{"type", "tiktok_duet"}, {"amount", duet_rate}, {"currency", "EUR"}}})}};
}

/// A campaign the sporty German creator fits on every factor.
json fitting_campaign(const std::string& key) {
  return json{{"key", key},
              {"title", "Spring bikes"},
              {"description", "Our new city bike"},
              {"goals", {"awareness"}},
              {"budget", 1'000'000},
              {"currency", "EUR"},
              {"audience", {{"niches", {"sports", "outdoors"}}, {"countries", {"DE"}},
                            {"age_bands", {"18-24", "25-34"}}, {"gender", "any"}, {"min_followers", 1'000}}},
              {"collaboration_types", {"tiktok_duet"}},
              {"deliverables", json::array({json{{"platform", "tiktok"}, {"type", "tiktok_duet"}, {"count", 2}}})},
              {"pricing", {{"model", "per_post"}, {"rate", 40'000}}},
              {"brief", "Ride it through the city"}};
}

/// A campaign the same creator is eligible for (one shared niche, any country) but fits badly:
/// one of four niches, an older female audience, a sixth of the creator's rate.
json loose_campaign(const std::string& key) {
  return json{{"key", key},
              {"title", "Kitchen gadgets"},
              {"description", "Blenders"},
              {"goals", {"awareness"}},
              {"budget", 1'000'000},
              {"currency", "EUR"},
              {"audience", {{"niches", {"sports", "cooking", "finance", "travel"}},
                            {"age_bands", {"45-54", "55+"}}, {"gender", "female"}}},
              {"collaboration_types", {"tiktok_duet"}},
              {"deliverables", json::array({json{{"platform", "tiktok"}, {"type", "tiktok_duet"}, {"count", 1}}})},
              {"pricing", {{"model", "per_post"}, {"rate", 5'000}}},
              {"brief", "Blend it"}};
}

class CampaignMatchingE2E : public pactum::test_support::server_test {
protected:
  http_reply call(const account& who, const std::string& method, const std::string& target,
                  const json& body = json()) {
    return http_call(ep(), method, target, body.is_null() ? std::string{} : body.dump(), who.token);
  }

  account creator(const std::string& name, const json& profile) {
    auto a = make_account(ep(), "creator", name);
    auto r = call(a, "PUT", "/api/v1/influencers/profile", profile);
    EXPECT_EQ(r.status, 200) << r.body;
    return a;
  }

  std::string publish(const account& brand, const json& details) {
    auto c = call(brand, "POST", "/api/v1/brands/campaigns", details);
    EXPECT_EQ(c.status, 201) << c.body;
    auto id = c.json_body()["campaign"]["id"].get<std::string>();
    auto p = call(brand, "POST", "/api/v1/brands/campaigns/" + id + "/status", json{{"to", "publish"}, {"key", "p"}});
    EXPECT_EQ(p.status, 200) << p.body;
    return id;
  }

  /// The creator's list once the read model shows `n` campaigns.
  json wait_for(const account& who, const std::string& target, size_t n) {
    json last;
    for (int i = 0; i < 100; ++i) {
      auto r = call(who, "GET", target);
      last = r.json_body();
      if (r.status == 200 && last["campaigns"].size() == n)
        return last;
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << target << " never listed " << n << ": " << last.dump();
    return last;
  }
};

void expect_reasons(const json& match) {
  ASSERT_TRUE(match.contains("score")) << match.dump();
  ASSERT_EQ(match["reasons"].size(), 6u) << match.dump();
  double sum = 0;
  std::vector<std::string> factors;
  for (auto& r : match["reasons"]) {
    sum += r["contribution"].get<double>();
    EXPECT_NEAR(r["contribution"].get<double>(), r["weight"].get<double>() * r["score"].get<double>(), 1e-9);
    EXPECT_FALSE(r["text"].get<std::string>().empty()) << r.dump();
    factors.push_back(r["factor"]);
  }
  EXPECT_NEAR(sum, match["score"].get<double>(), 1e-9);
  EXPECT_EQ(factors, (std::vector<std::string>{"niche", "audience", "engagement", "geography", "price", "history"}));
}

TEST_F(CampaignMatchingE2E, CreatorListIsRankedAndBrandSeesBestCreatorsFirst) {
  auto brand = make_account(ep(), "brand", "AcmeBikes");
  auto other = make_account(ep(), "brand", "Other");
  auto de70 = json::array({json{{"country", "DE"}, {"percent", 70}}, json{{"country", "AT"}, {"percent", 10}}});
  auto us90 = json::array({json{{"country", "US"}, {"percent", 80}}, json{{"country", "DE"}, {"percent", 10}}});
  auto cleo = creator("Cleo", creator_body({"sports", "outdoors"}, "DE", 50'000, 4.0, de70, 30'000));
  // Ten times the followers, one target niche among five, an American audience, dear.
  auto big = creator("Big", creator_body({"sports", "music", "gaming", "comedy", "tech"}, "US", 900'000, 1.2,
                                         us90, 900'000));

  // The better fit is published first: newest first would put it last.
  auto fit = publish(brand, fitting_campaign("fit"));
  auto loose = publish(brand, loose_campaign("loose"));

  // The creator's list: ranked by default, best first, each with its match and reasons.
  auto ranked = wait_for(cleo, "/api/v1/influencers/campaigns", 2);
  ASSERT_EQ(ranked["campaigns"].size(), 2u) << ranked.dump();
  EXPECT_EQ(ranked["sort"], "match");
  EXPECT_EQ(ranked["campaigns"][0]["id"], fit) << ranked.dump(2);
  EXPECT_EQ(ranked["campaigns"][1]["id"], loose);
  EXPECT_EQ(ranked["campaigns"][0]["rank"], 1);
  EXPECT_EQ(ranked["campaigns"][0]["title"], "Spring bikes"); // the same item as the plain list
  for (auto& c : ranked["campaigns"])
    expect_reasons(c["match"]);
  auto best = ranked["campaigns"][0]["match"]["score"].get<double>();
  auto worst = ranked["campaigns"][1]["match"]["score"].get<double>();
  EXPECT_GT(best, worst + 0.2) << "far better, not a tie broken by order";
  EXPECT_EQ(ranked["campaigns"][0]["match"]["reasons"][0]["text"], "2 of 2 target niches");
  EXPECT_TRUE(ranked["next_before"].is_null());
  EXPECT_EQ(ranked["considered"], 2);
  EXPECT_EQ(ranked["eligible"], 2);

  // Pages through the ranking with the opaque cursor.
  auto p1 = call(cleo, "GET", "/api/v1/influencers/campaigns?limit=1").json_body();
  ASSERT_EQ(p1["campaigns"].size(), 1u) << p1.dump();
  EXPECT_EQ(p1["campaigns"][0]["id"], fit);
  ASSERT_TRUE(p1["next_before"].is_string()) << p1.dump();
  auto p2 = call(cleo, "GET", "/api/v1/influencers/campaigns?limit=1&before=" + p1["next_before"].get<std::string>())
              .json_body();
  ASSERT_EQ(p2["campaigns"].size(), 1u) << p2.dump();
  EXPECT_EQ(p2["campaigns"][0]["id"], loose);
  EXPECT_EQ(p2["campaigns"][0]["rank"], 2);
  EXPECT_TRUE(p2["next_before"].is_null());

  // The old order is still there; bad parameters are field errors.
  auto newest = call(cleo, "GET", "/api/v1/influencers/campaigns?sort=newest").json_body();
  ASSERT_EQ(newest["campaigns"].size(), 2u) << newest.dump();
  EXPECT_EQ(newest["campaigns"][0]["id"], loose);
  EXPECT_FALSE(newest["campaigns"][0].contains("match"));
  auto bad_sort = call(cleo, "GET", "/api/v1/influencers/campaigns?sort=random");
  EXPECT_EQ(bad_sort.status, 400) << bad_sort.body;
  EXPECT_TRUE(bad_sort.json_body()["error"]["fields"].contains("sort")) << bad_sort.body;
  EXPECT_EQ(call(cleo, "GET", "/api/v1/influencers/campaigns?before=garbage").status, 400);
  EXPECT_EQ(call(cleo, "GET", "/api/v1/influencers/campaigns?limit=101").status, 400);
  EXPECT_EQ(call(brand, "GET", "/api/v1/influencers/campaigns").status, 403);
  auto no_profile = make_account(ep(), "creator", "NoProfile");
  EXPECT_EQ(call(no_profile, "GET", "/api/v1/influencers/campaigns").status, 409);

  // The brand's matches for its stored campaign: the best-fitting creator first, with reasons.
  auto m = call(brand, "GET", "/api/v1/brands/campaigns/" + fit + "/matches");
  ASSERT_EQ(m.status, 200) << m.body;
  auto matches = m.json_body();
  EXPECT_EQ(matches["campaign"], fit);
  ASSERT_EQ(matches["matches"].size(), 2u) << matches.dump();
  EXPECT_EQ(matches["matches"][0]["creator"]["user_id"], cleo.id) << matches.dump(2);
  EXPECT_EQ(matches["matches"][1]["creator"]["user_id"], big.id);
  EXPECT_EQ(matches["matches"][0]["rank"], 1);
  for (auto& x : matches["matches"])
    expect_reasons(x);
  EXPECT_GT(matches["matches"][0]["score"].get<double>(), matches["matches"][1]["score"].get<double>());
  auto one = call(brand, "GET", "/api/v1/brands/campaigns/" + fit + "/matches?limit=1").json_body();
  ASSERT_EQ(one["matches"].size(), 1u) << one.dump();
  EXPECT_EQ(one["matches"][0]["creator"]["user_id"], cleo.id);
  EXPECT_EQ(call(brand, "GET", "/api/v1/brands/campaigns/" + fit + "/matches?limit=0").status, 400);
  EXPECT_EQ(call(brand, "POST", "/api/v1/brands/campaigns/" + fit + "/matches", json::object()).status, 405);

  // Someone else's campaign (published, so its page is public) answers like a missing one.
  auto missing = call(other, "GET", "/api/v1/brands/campaigns/01900000-0000-7000-8000-000000000000/matches");
  EXPECT_EQ(missing.status, 404) << missing.body;
  for (auto* who : {&other, &cleo}) {
    auto r = call(*who, "GET", "/api/v1/brands/campaigns/" + fit + "/matches");
    EXPECT_EQ(r.status, 404) << r.body;
    EXPECT_EQ(r.json_body()["error"]["code"], "not_found");
    EXPECT_EQ(r.body, missing.body);
  }
  EXPECT_EQ(http_call(ep(), "GET", "/api/v1/brands/campaigns/" + fit + "/matches").status, 401);

  // The candidate cap also caps the campaigns ranked: with one, only the newest eligible one.
  restart_with({"--match-candidates", "1"});
  auto capped = call(cleo, "GET", "/api/v1/influencers/campaigns").json_body();
  EXPECT_EQ(capped["considered"], 1) << capped.dump();
  ASSERT_EQ(capped["campaigns"].size(), 1u) << capped.dump();
  EXPECT_EQ(capped["campaigns"][0]["id"], loose);
}

TEST_F(CampaignMatchingE2E, RowsWithoutStoredDetailsAreReprojectedAtStartUp) {
  auto brand = make_account(ep(), "brand", "AcmeBikes");
  auto de70 = json::array({json{{"country", "DE"}, {"percent", 70}}});
  auto cleo = creator("Cleo", creator_body({"sports", "outdoors"}, "DE", 50'000, 4.0, de70, 30'000));
  auto fit = publish(brand, fitting_campaign("fit"));
  wait_for(cleo, "/api/v1/influencers/campaigns", 1);
  {
    // What a row projected before migration 0024 looks like.
    pqxx::connection c{url()};
    pqxx::work tx{c};
    tx.exec_params0("update campaigns set details = null where id = $1", fit);
    tx.commit();
  }
  EXPECT_EQ(call(cleo, "GET", "/api/v1/influencers/campaigns").json_body()["campaigns"].size(), 0u)
    << "a row without details cannot be ranked";
  restart_with({});
  auto healed = wait_for(cleo, "/api/v1/influencers/campaigns", 1);
  ASSERT_EQ(healed["campaigns"].size(), 1u) << healed.dump();
  EXPECT_EQ(healed["campaigns"][0]["id"], fit);
  expect_reasons(healed["campaigns"][0]["match"]);
}

} // namespace
