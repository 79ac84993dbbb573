// End to end: a brand previews the creators a campaign would match. Creators fill in profiles
// over the API; the best-fitting one ranks first with six reasons whose contributions sum to its
// score; private fields never appear; a real contract (sealed in the journal) shows up in the
// creator's history; field errors, the policy's refusal, `limit` and the candidate cap.

#include <cctype>
#include <cmath>
#include <thread>

#include <gtest/gtest.h>

#include "pactum/sim/client.hpp"
#include "e2e_fixture.hpp"

using namespace pactum::sim;

namespace {

constexpr const char* good_card = "4242424242424242";

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
              {"location", {{"country", country}, {"city", "Somewhere"}, {"lat", 47.123456}, {"lon", 11.654321}}},
              {"languages", {"de", "en"}},
              {"rates", json::array({json{{"type", "tiktok_duet"}, {"amount", duet_rate}, {"currency", "EUR"}}})}};
}

json campaign_body() {
  return json{{"title", "Spring bikes"},
              {"currency", "EUR"},
              {"budget", 1'000'000},
              {"audience", {{"niches", {"sports", "outdoors"}}, {"countries", {"DE"}},
                            {"age_bands", {"18-24", "25-34"}}, {"gender", "any"}, {"min_followers", 1'000}}},
              {"collaboration_types", {"tiktok_duet"}},
              {"deliverables", json::array({json{{"platform", "tiktok"}, {"type", "tiktok_duet"}, {"count", 2}}})},
              {"pricing", {{"model", "per_post"}, {"rate", 40'000}}}};
}

class MatchingEndToEnd : public pactum::test_support::server_test {
protected:
  http_reply preview(const account& who, const json& body, const std::string& query = "") {
    return http_call(ep(), "POST", "/api/v1/brands/matches" + query, body.dump(), who.token);
  }

  account creator(const std::string& name, const json& profile) {
    auto a = make_account(ep(), "creator", name);
    auto r = http_call(ep(), "PUT", "/api/v1/influencers/profile", profile.dump(), a.token);
    EXPECT_EQ(r.status, 200) << r.body;
    return a;
  }

  /// A whole deal between `brand` and `creator`: offer, accept, fund, deliver, approve.
  void released_contract(const account& brand, const account& creator) {
    ws_client b{ep(), brand.token};
    ws_client c{ep(), creator.token};
    auto conv = b.request(json{{"type", "conversation.open"}, {"with", creator.id}})["conversation"]["id"];
    auto offer = b.request(json{{"type", "offer.make"}, {"conversation", conv}, {"client_id", "o1"},
                                {"terms", json{{"amount", 50'000}, {"currency", "EUR"},
                                               {"deliverables", json::array({json{{"type", "tiktok_duet"}, {"count", 1}}})}}}});
    ASSERT_EQ(offer["type"], "ok") << offer.dump();
    auto accepted = c.request(json{{"type", "offer.accept"}, {"conversation", conv}, {"offer", offer["seq"]}});
    ASSERT_EQ(accepted["type"], "ok") << accepted.dump();
    auto contract = accepted["contract"].get<std::string>();
    auto act = [&](const account& who, const char* what, json body) {
      return http_call(ep(), "POST", "/api/v1/contracts/" + contract + "/" + what, body.dump(), who.token);
    };
    ASSERT_EQ(act(brand, "fund", {{"key", "f"}, {"payment_method", good_card}}).status, 200);
    bool funded = false;
    for (int i = 0; i < 150 && !funded; ++i) {
      auto v = http_call(ep(), "GET", "/api/v1/contracts/" + contract, "", brand.token).json_body();
      funded = v["status"] == "funded";
      if (!funded)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(funded);
    ASSERT_EQ(act(creator, "deliver", {{"key", "d"}, {"items", json::array({json{{"url", "https://t.example/v/1"}}})}}).status,
              200);
    auto approved = act(brand, "approve", {{"key", "a"}});
    ASSERT_EQ(approved.status, 200) << approved.body;
    ASSERT_EQ(approved.json_body()["status"], "released");
  }
};

TEST_F(MatchingEndToEnd, BestFittingCreatorRanksFirstWithReasonsAndNoPrivateFields) {
  auto brand = make_account(ep(), "brand", "AcmeBikes");
  auto de70 = json::array({json{{"country", "DE"}, {"percent", 70}}, json{{"country", "AT"}, {"percent", 10}}});
  auto us90 = json::array({json{{"country", "US"}, {"percent", 80}}, json{{"country", "DE"}, {"percent", 10}}});
  // Fits on every factor.
  auto best = creator("Best", creator_body({"sports", "outdoors"}, "DE", 50'000, 4.0, de70, 30'000));
  // Ten times the followers, one target niche among five, an American audience, dear.
  auto big = creator("Big", creator_body({"sports", "music", "gaming", "comedy", "tech"}, "US", 900'000, 1.2,
                                         us90, 900'000));
  // Fits, but lives abroad with part of the audience in DE and bought engagement.
  auto odd = creator("Odd", creator_body({"sports"}, "AT", 20'000, 30.0,
                                         json::array({json{{"country", "DE"}, {"percent", 30}}}), 30'000));
  creator("Off", creator_body({"finance"}, "DE", 50'000, 4.0, de70, 30'000)); // no shared niche
  make_account(ep(), "creator", "NoProfile");

  auto r = preview(brand, campaign_body());
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = r.json_body();
  EXPECT_EQ(body["considered"], 3) << body.dump();
  EXPECT_EQ(body["eligible"], 3);
  ASSERT_EQ(body["matches"].size(), 3u) << body.dump();
  auto& first = body["matches"][0];
  EXPECT_EQ(first["rank"], 1);
  EXPECT_EQ(first["creator"]["user_id"], best.id);
  EXPECT_EQ(first["creator"]["display_name"], "Best");
  EXPECT_EQ(body["matches"][1]["creator"]["user_id"], odd.id) << body.dump(2);
  EXPECT_EQ(body["matches"][2]["creator"]["user_id"], big.id);
  double prev = 2;
  for (auto& m : body["matches"]) {
    ASSERT_EQ(m["reasons"].size(), 6u);
    double sum = 0, weights = 0;
    for (auto& reason : m["reasons"]) {
      sum += reason["contribution"].get<double>();
      weights += reason["weight"].get<double>();
      EXPECT_FALSE(reason["text"].get<std::string>().empty());
    }
    EXPECT_NEAR(sum, m["score"].get<double>(), 1e-9);
    EXPECT_NEAR(weights, 1.0, 1e-9);
    EXPECT_LE(m["score"].get<double>(), prev);
    prev = m["score"].get<double>();
    // The public view: country and city, never the coordinates.
    EXPECT_FALSE(m["creator"]["location"].contains("lat")) << m["creator"].dump();
    EXPECT_FALSE(m["creator"]["location"].contains("lon"));
  }
  EXPECT_EQ(r.body.find("47.123456"), std::string::npos) << "no private coordinates anywhere";
  auto lower = [](std::string x) {
    for (auto& ch : x)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return x;
  };
  for (auto* who : {&best, &big, &odd})
    EXPECT_EQ(lower(r.body).find(lower(who->email)), std::string::npos) << "no email addresses";
  EXPECT_EQ(first["reasons"][0]["factor"], "niche");
  EXPECT_EQ(first["reasons"][0]["text"], "2 of 2 target niches");
  EXPECT_EQ(first["reasons"][5]["text"], "no contracts yet (neutral prior)");
  EXPECT_EQ(body["weights"].size(), 6u);

  // limit, and its refusal.
  auto one = preview(brand, campaign_body(), "?limit=1");
  ASSERT_EQ(one.status, 200) << one.body;
  ASSERT_EQ(one.json_body()["matches"].size(), 1u);
  EXPECT_EQ(one.json_body()["matches"][0]["creator"]["user_id"], best.id);
  auto zero = preview(brand, campaign_body(), "?limit=0");
  EXPECT_EQ(zero.status, 400);
  EXPECT_TRUE(zero.json_body()["error"]["fields"].contains("limit")) << zero.body;

  // Field errors come from the campaign's own validation, all at once.
  auto bad = campaign_body();
  bad["audience"]["countries"] = {"de"};
  bad.erase("title");
  auto invalid = preview(brand, bad);
  ASSERT_EQ(invalid.status, 400) << invalid.body;
  auto fields = invalid.json_body()["error"]["fields"];
  EXPECT_TRUE(fields.contains("audience.countries[0]")) << invalid.body;
  EXPECT_TRUE(fields.contains("title")) << invalid.body;

  // Only brands preview matches.
  auto refused = preview(best, campaign_body());
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.json_body()["error"]["message"], "only brands preview matches");
  EXPECT_EQ(http_call(ep(), "POST", "/api/v1/brands/matches", campaign_body().dump()).status, 401);
  EXPECT_EQ(http_call(ep(), "GET", "/api/v1/brands/matches", "", brand.token).status, 405);
}

TEST_F(MatchingEndToEnd, AReleasedContractShowsInTheCreatorsHistoryAndTheCapLimitsCandidates) {
  auto brand = make_account(ep(), "brand", "AcmeBikes");
  auto de = json::array({json{{"country", "DE"}, {"percent", 70}}});
  auto proven = creator("Proven", creator_body({"sports"}, "DE", 50'000, 4.0, de, 30'000));
  auto fresh = creator("Fresh", creator_body({"sports"}, "DE", 50'000, 4.0, de, 30'000));
  released_contract(brand, proven);
  ASSERT_FALSE(HasFatalFailure());

  auto r = preview(brand, campaign_body());
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = r.json_body();
  ASSERT_EQ(body["matches"].size(), 2u) << body.dump();
  // Identical profiles: the delivered, approved contract decides.
  EXPECT_EQ(body["matches"][0]["creator"]["user_id"], proven.id) << body.dump(2);
  EXPECT_EQ(body["matches"][0]["reasons"][5]["text"], "1 contract: 100% on time, 100% approved, 0.0 revisions each");
  EXPECT_EQ(body["matches"][1]["reasons"][5]["text"], "no contracts yet (neutral prior)");
  EXPECT_GT(body["matches"][0]["reasons"][5]["score"].get<double>(),
            body["matches"][1]["reasons"][5]["score"].get<double>());

  // The prefilter's cap is a flag: with 1, one candidate is considered.
  restart_with({"--match-candidates", "1"});
  auto capped = preview(brand, campaign_body());
  ASSERT_EQ(capped.status, 200) << capped.body;
  EXPECT_EQ(capped.json_body()["considered"], 1);
  EXPECT_EQ(capped.json_body()["matches"].size(), 1u);
}

} // namespace
