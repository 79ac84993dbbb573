// End to end: creator search (docs/api.md "Creator search"). Creators fill their profiles through
// the API; a brand finds them by each filter (and does not find them when a filter does not
// match), by radius and by free text, pages through results without repeats or gaps, gets field
// errors for bad parameters, never sees private fields; creators and anonymous callers are
// refused. A real pactumd and PostgreSQL.

#include <set>

#include <gtest/gtest.h>

#include "pactum/sim/client.hpp"
#include "e2e_fixture.hpp"

using namespace pactum::sim;

namespace {

struct creator_spec {
  std::string name;
  json body;
};

json social_account(const char* platform, const char* handle, int64_t followers, double er) {
  return json{{"platform", platform}, {"handle", handle}, {"followers", followers},
              {"average_views", followers / 4}, {"engagement_rate", er}};
}

json rate(const char* type, int64_t amount, const char* currency) {
  return json{{"type", type}, {"amount", amount}, {"currency", currency}};
}

/// Four creators that differ in every searchable field.
std::vector<creator_spec> creators() {
  return {
    {"Cleo",
     json{{"bio", "City cycling, every week in Berlin."},
          {"niches", {"travel", "sports"}},
          {"social_accounts", {social_account("tiktok", "@cleo", 120'000, 6.5), social_account("instagram", "cleo.rides", 30'000, 3.1)}},
          {"audience", {{"age_bands", {{"18-24", 40}, {"25-34", 45}}},
                        {"top_countries", {json{{"country", "DE"}, {"percent", 60}}, json{{"country", "AT"}, {"percent", 20}}}}}},
          {"location", {{"country", "DE"}, {"city", "Berlin"}, {"lat", 52.52}, {"lon", 13.405}}},
          {"languages", {"de", "en"}},
          {"rates", {rate("tiktok_duet", 50'000, "EUR"), rate("instagram_reel", 80'000, "EUR")}}}},
    {"Bo",
     json{{"bio", "Recettes de cuisine française et pâtisserie."},
          {"niches", {"food"}},
          {"social_accounts", {social_account("youtube", "bo-cuisine", 500'000, 2.0)}},
          {"audience", {{"age_bands", {{"35-44", 50}}}, {"top_countries", {json{{"country", "FR"}, {"percent", 70}}}}}},
          {"location", {{"country", "FR"}, {"city", "Paris"}, {"lat", 48.8566}, {"lon", 2.3522}}},
          {"languages", {"fr"}},
          {"rates", {rate("youtube_video", 300'000, "EUR")}}}},
    {"Cai",
     json{{"bio", "Speedruns and retro hardware."},
          {"niches", {"gaming", "tech"}},
          {"social_accounts", {social_account("twitch", "cai", 5'000, 12.0)}},
          {"audience", {{"age_bands", {{"13-17", 60}}}, {"top_countries", {json{{"country", "US"}, {"percent", 80}}}}}},
          {"location", {{"country", "US"}, {"city", "Austin"}, {"lat", 30.27}, {"lon", -97.74}}},
          {"languages", {"en"}},
          {"rates", {rate("custom", 10'000, "USD")}}}},
    {"Dee",
     json{{"bio", "Wandern und Radfahren in Brandenburg."},
          {"niches", {"travel"}},
          {"social_accounts", {social_account("instagram", "dee.wandert", 40'000, 4.0)}},
          {"audience", {{"top_countries", {json{{"country", "DE"}, {"percent", 8}}}}}},
          {"location", {{"country", "DE"}, {"city", "Potsdam"}, {"lat", 52.39}, {"lon", 13.06}}},
          {"languages", {"de"}}}},
  };
}

class SearchEndToEnd : public pactum::test_support::server_test {
protected:
  http_reply search(const std::string& query, const std::string& token) {
    return http_call(ep(), "GET", "/api/v1/search/influencers" + (query.empty() ? "" : "?" + query), "", token);
  }

  /// Creates the four creators; `ids_` maps display name -> user id.
  void make_creators() {
    for (auto& c : creators()) {
      auto a = make_account(ep(), "creator", c.name);
      auto r = http_call(ep(), "PUT", "/api/v1/influencers/profile", c.body.dump(), a.token);
      ASSERT_EQ(r.status, 200) << r.body;
      ids_[c.name] = a.id;
      tokens_[c.name] = a.token;
      emails_[c.name] = a.email;
    }
  }

  /// The display names found by `query` (one page of up to 100), in answer order.
  std::vector<std::string> found(const std::string& query, const std::string& token) {
    auto r = search(query + (query.empty() ? "" : "&") + "limit=100", token);
    EXPECT_EQ(r.status, 200) << query << ": " << r.body;
    std::vector<std::string> out;
    auto body = r.json_body();
    for (auto& hit : body["results"])
      out.push_back(hit["profile"]["display_name"].get<std::string>());
    return out;
  }
  std::set<std::string> found_set(const std::string& query, const std::string& token) {
    auto v = found(query, token);
    return {v.begin(), v.end()};
  }

  std::map<std::string, std::string> ids_, tokens_, emails_;
};

using names = std::set<std::string>;

} // namespace

TEST_F(SearchEndToEnd, EachFilterFindsWhatMatchesAndOnlyThat) {
  make_creators();
  auto brand = make_account(ep(), "brand", "Acme");
  auto& t = brand.token;

  EXPECT_EQ(found_set("", t), (names{"Cleo", "Bo", "Cai", "Dee"}));
  // niche: any of
  EXPECT_EQ(found_set("niche=travel", t), (names{"Cleo", "Dee"}));
  EXPECT_EQ(found_set("niche=food,gaming", t), (names{"Bo", "Cai"}));
  EXPECT_EQ(found_set("niche=food&niche=gaming", t), (names{"Bo", "Cai"}));
  EXPECT_EQ(found_set("niche=pets", t), names{});
  // platform, and follower ranges (total without a platform, the platform's account with one)
  EXPECT_EQ(found_set("platform=tiktok", t), names{"Cleo"});
  EXPECT_EQ(found_set("platform=pinterest", t), names{});
  EXPECT_EQ(found_set("followers_min=100000", t), (names{"Cleo", "Bo"}));
  EXPECT_EQ(found_set("followers_max=10000", t), names{"Cai"});
  EXPECT_EQ(found_set("followers_min=140000&followers_max=160000", t), names{"Cleo"});
  EXPECT_EQ(found_set("platform=instagram&followers_min=35000", t), names{"Dee"})
    << "Cleo's 150,000 are mostly on TikTok; her Instagram has 30,000";
  // engagement: any account, or the platform's
  EXPECT_EQ(found_set("engagement_min=10", t), names{"Cai"});
  EXPECT_EQ(found_set("engagement_min=3&engagement_max=3.5", t), names{"Cleo"}) << "her Instagram's 3.1";
  EXPECT_EQ(found_set("platform=tiktok&engagement_max=5", t), names{});
  EXPECT_EQ(found_set("engagement_min=50", t), names{});
  // audience country and age band, with the default 10% share and an explicit one
  EXPECT_EQ(found_set("audience_country=DE", t), names{"Cleo"}) << "Dee's 8% is below the default 10%";
  EXPECT_EQ(found_set("audience_country=DE&audience_min_share=5", t), (names{"Cleo", "Dee"}));
  // The index keys shares by level (5, 10, ...); the exact share decides between levels.
  EXPECT_EQ(found_set("audience_country=DE&audience_min_share=8", t), (names{"Cleo", "Dee"}));
  EXPECT_EQ(found_set("audience_country=DE&audience_min_share=8.5", t), names{"Cleo"});
  EXPECT_EQ(found_set("audience_country=FR", t), names{"Bo"});
  EXPECT_EQ(found_set("audience_country=JP", t), names{});
  EXPECT_EQ(found_set("audience_age=13-17", t), names{"Cai"});
  EXPECT_EQ(found_set("audience_age=25-34&audience_min_share=50", t), names{}) << "Cleo has 45%";
  EXPECT_EQ(found_set("audience_age=25-34&audience_min_share=45", t), names{"Cleo"});
  // location: country, radius
  EXPECT_EQ(found_set("country=FR", t), names{"Bo"});
  EXPECT_EQ(found_set("country=DE", t), (names{"Cleo", "Dee"}));
  EXPECT_EQ(found_set("country=IT", t), names{});
  // language: any of
  EXPECT_EQ(found_set("language=fr", t), names{"Bo"});
  EXPECT_EQ(found_set("language=en", t), (names{"Cleo", "Cai"}));
  EXPECT_EQ(found_set("language=ja", t), names{});
  // rates: per currency, optionally per collaboration type
  EXPECT_EQ(found_set("rate_currency=EUR&rate_max=60000", t), names{"Cleo"});
  EXPECT_EQ(found_set("rate_currency=EUR&rate_type=youtube_video", t), names{"Bo"});
  EXPECT_EQ(found_set("rate_currency=EUR&rate_type=instagram_reel&rate_max=60000", t), names{})
    << "her reel costs 80,000";
  EXPECT_EQ(found_set("rate_currency=USD", t), names{"Cai"});
  EXPECT_EQ(found_set("rate_currency=EUR&rate_min=400000", t), names{});
  // combined
  EXPECT_EQ(found_set("niche=travel&country=DE&language=en&platform=tiktok&audience_country=AT", t),
            names{"Cleo"});
  EXPECT_EQ(found_set("niche=travel&country=FR", t), names{});

  // The matched figures: the platform's account, the shares and the cheapest matching rate.
  auto r = search("platform=instagram&followers_min=35000&audience_country=DE&audience_min_share=5", t);
  ASSERT_EQ(r.status, 200) << r.body;
  auto m = r.json_body()["results"][0]["matched"];
  EXPECT_EQ(m["followers"], 40'000);
  EXPECT_DOUBLE_EQ(m["engagement_rate"].get<double>(), 4.0);
  EXPECT_EQ(m["platform"], "instagram");
  EXPECT_DOUBLE_EQ(m["audience_country_share"].get<double>(), 8);
  auto rr = search("rate_currency=EUR&niche=travel", t).json_body()["results"][0]["matched"]["rate"];
  EXPECT_EQ(rr, (json{{"type", "tiktok_duet"}, {"amount", 50'000}, {"currency", "EUR"}}));

  // Sorted by followers (default without text) and by engagement, best first.
  EXPECT_EQ(found("", t), (std::vector<std::string>{"Bo", "Cleo", "Dee", "Cai"}));
  EXPECT_EQ(found("sort=engagement", t), (std::vector<std::string>{"Cai", "Cleo", "Dee", "Bo"}));

  // A PUT keeps the read model in sync: Cleo moves to pets and leaves the travel results.
  auto body = creators()[0].body;
  body["niches"] = {"pets"};
  body["social_accounts"] = json::array();
  ASSERT_EQ(http_call(ep(), "PUT", "/api/v1/influencers/profile", body.dump(), tokens_["Cleo"]).status, 200);
  EXPECT_EQ(found_set("niche=travel", t), names{"Dee"});
  EXPECT_EQ(found_set("niche=pets", t), names{"Cleo"});
  EXPECT_EQ(found_set("platform=tiktok", t), names{});
}

TEST_F(SearchEndToEnd, RadiusAndFreeText) {
  make_creators();
  auto brand = make_account(ep(), "brand", "Acme");
  auto& t = brand.token;
  // Berlin -> Potsdam is about 27 km.
  EXPECT_EQ(found_set("lat=52.52&lon=13.405&radius_km=10", t), names{"Cleo"});
  EXPECT_EQ(found_set("lat=52.52&lon=13.405&radius_km=40", t), (names{"Cleo", "Dee"}));
  EXPECT_EQ(found_set("lat=48.85&lon=2.35&radius_km=5", t), names{"Bo"});
  EXPECT_EQ(found_set("lat=0&lon=0&radius_km=500", t), names{});
  EXPECT_EQ(found_set("lat=52.52&lon=13.405&radius_km=500&country=FR", t), names{});
  // Across the antimeridian: a point at 179.9 E finds nothing here, but the query runs.
  EXPECT_EQ(found_set("lat=10&lon=179.9&radius_km=300", t), names{});

  // Text: any language (config 'simple': no stemming, case folded), web search syntax.
  EXPECT_EQ(found_set("q=cycling", t), names{"Cleo"});
  EXPECT_EQ(found_set("q=p%C3%A2tisserie", t), names{"Bo"});
  EXPECT_EQ(found_set("q=RADFAHREN", t), names{"Dee"});
  EXPECT_EQ(found_set("q=%22retro+hardware%22", t), names{"Cai"});
  EXPECT_EQ(found_set("q=%22hardware+retro%22", t), names{}) << "a phrase keeps its order";
  EXPECT_EQ(found_set("q=skiing", t), names{});
  EXPECT_EQ(found_set("q=in+-berlin", t), names{"Dee"}) << "'in' without 'berlin'";
  EXPECT_EQ(found_set("q=berlin+or+brandenburg", t), (names{"Cleo", "Dee"}));
  auto r = search("q=berlin", t);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json_body()["sort"], "relevance");
  EXPECT_GT(r.json_body()["results"][0]["matched"]["relevance"].get<double>(), 0);
}

TEST_F(SearchEndToEnd, PagesHaveNoRepeatsAndNoGapsInEverySort) {
  make_creators();
  // Ties on every sort key: eight more creators with the same figures and the same bio.
  for (int i = 0; i < 8; ++i) {
    auto a = make_account(ep(), "creator", "Twin" + std::to_string(i));
    json body{{"bio", "Twin bio with berlin."}, {"niches", {"home"}},
              {"social_accounts", {social_account("x", "twin", 1'000, 1.5)}},
              {"location", {{"country", "NL"}}}, {"languages", {"nl"}}};
    ASSERT_EQ(http_call(ep(), "PUT", "/api/v1/influencers/profile", body.dump(), a.token).status, 200);
  }
  auto brand = make_account(ep(), "brand", "Acme");
  // With a country the search runs in two steps (the country's btree, then the whole rows for
  // the per-account check): its pages must be as consistent as the others.
  for (std::string base : {"sort=followers", "sort=engagement", "q=berlin+or+twin", "country=NL&sort=followers",
                           "country=NL&platform=x&followers_min=500&engagement_min=1&sort=engagement"}) {
    auto all = found(base, brand.token);
    std::vector<std::string> paged;
    std::string cursor;
    int pages = 0;
    while (true) {
      auto r = search(base + "&limit=3" + (cursor.empty() ? "" : "&cursor=" + cursor), brand.token);
      ASSERT_EQ(r.status, 200) << r.body;
      auto b = r.json_body();
      ASSERT_LE(b["results"].size(), 3u);
      for (auto& hit : b["results"])
        paged.push_back(hit["profile"]["display_name"]);
      ++pages;
      ASSERT_LT(pages, 10) << "the cursor must advance";
      if (b["next_cursor"].is_null())
        break;
      cursor = b["next_cursor"];
    }
    EXPECT_EQ(paged, all) << base << ": page by page is the same list as one page";
    EXPECT_EQ(std::set<std::string>(paged.begin(), paged.end()).size(), paged.size()) << base;
    if (base.rfind("country=NL", 0) == 0)
      EXPECT_EQ(paged.size(), 8u) << base << ": the twins";
    else if (base != "q=berlin+or+twin")
      EXPECT_EQ(paged.size(), 12u) << base;
    else
      EXPECT_EQ(paged.size(), 9u) << "Cleo and the twins";
  }
  // A cursor of another sort is refused.
  auto first = search("sort=followers&limit=1", brand.token).json_body();
  auto other = search("sort=engagement&cursor=" + first["next_cursor"].get<std::string>(), brand.token);
  EXPECT_EQ(other.status, 400);
  EXPECT_TRUE(other.json_body()["error"]["fields"].contains("cursor")) << other.body;
}

TEST_F(SearchEndToEnd, BadParametersAreFieldErrors) {
  auto brand = make_account(ep(), "brand", "Acme");
  auto fields_of = [&](const std::string& q) {
    auto r = search(q, brand.token);
    EXPECT_EQ(r.status, 400) << q << ": " << r.body;
    EXPECT_EQ(r.json_body()["error"]["code"], "bad_request") << r.body;
    return r.json_body()["error"]["fields"];
  };
  auto f = fields_of("niche=knitting&followers_min=-1&engagement_max=101&audience_age=99-100"
                     "&country=Germany&language=english&limit=101&sort=relevance&foo=1"
                     "&platform=myspace&audience_min_share=0&rate_min=5");
  for (auto* name : {"niche", "followers_min", "engagement_max", "audience_age", "country", "language",
                     "limit", "sort", "foo", "platform", "audience_min_share", "rate_currency"})
    EXPECT_TRUE(f.contains(name)) << name << " in " << f.dump();
  EXPECT_EQ(f.size(), 12u) << f.dump();
  EXPECT_EQ(f["limit"], "must be a whole number from 1 to 100");

  f = fields_of("followers_min=10&followers_max=5&engagement_min=5&engagement_max=1");
  EXPECT_TRUE(f.contains("followers_max"));
  EXPECT_TRUE(f.contains("engagement_max"));
  f = fields_of("lat=52.5&radius_km=10");
  EXPECT_EQ(f["lon"], "is required with lat and radius_km");
  f = fields_of("lat=52.5&lon=13.4&radius_km=501");
  EXPECT_EQ(f["radius_km"], "must be a distance in km above 0 and at most 500");
  f = fields_of("lat=91&lon=13.4&radius_km=5");
  EXPECT_TRUE(f.contains("lat"));
  f = fields_of("q=" + std::string(201, 'a'));
  EXPECT_EQ(f["q"], "must be at most 200 characters");
  EXPECT_EQ(search("q=" + std::string(200, 'a'), brand.token).status, 200) << "200 is allowed";
  f = fields_of("q=%21%21%21");
  EXPECT_TRUE(f.contains("q"));
  f = fields_of("q=a%01b");
  EXPECT_TRUE(f.contains("q"));
  f = fields_of("cursor=bm90LWEtY3Vyc29y");
  EXPECT_TRUE(f.contains("cursor"));
  f = fields_of("limit=0&limit=5");
  EXPECT_TRUE(f.contains("limit"));
  auto bad_escape = search("q=%zz", brand.token);
  EXPECT_EQ(bad_escape.status, 400) << bad_escape.body;
  EXPECT_EQ(search("limit=100", brand.token).status, 200);
  EXPECT_EQ(search("audience_age=65%2B", brand.token).status, 200);
  EXPECT_EQ(search("audience_age=65+", brand.token).status, 200) << "an unescaped + reads as 65+";
  auto post = http_call(ep(), "POST", "/api/v1/search/influencers", "{}", brand.token);
  EXPECT_EQ(post.status, 405);
}

TEST_F(SearchEndToEnd, LimitsFollowTheirFlags) {
  restart_with({"--search-page-max", "5", "--search-radius-max-km", "20", "--search-text-max-chars", "10"});
  auto brand = make_account(ep(), "brand", "Acme");
  EXPECT_EQ(search("limit=5", brand.token).status, 200);
  auto r = search("limit=6&lat=1&lon=1&radius_km=21&q=abcdefghijk", brand.token);
  ASSERT_EQ(r.status, 400) << r.body;
  auto f = r.json_body()["error"]["fields"];
  EXPECT_EQ(f["limit"], "must be a whole number from 1 to 5");
  EXPECT_EQ(f["radius_km"], "must be a distance in km above 0 and at most 20");
  EXPECT_EQ(f["q"], "must be at most 10 characters");
}

TEST_F(SearchEndToEnd, NoPrivateFieldsAndOnlyBrandsAndStaffMaySearch) {
  make_creators();
  auto brand = make_account(ep(), "brand", "Acme");
  auto r = search("limit=100", brand.token);
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = r.json_body();
  ASSERT_EQ(body["results"].size(), 4u) << r.body;
  for (auto& hit : body["results"]) {
    auto loc = hit["profile"]["location"];
    EXPECT_FALSE(loc.contains("lat")) << hit.dump();
    EXPECT_FALSE(loc.contains("lon")) << hit.dump();
    EXPECT_EQ(hit["profile"]["role"], "creator");
  }
  EXPECT_EQ(r.body.find("52.52"), std::string::npos) << "Cleo's position appears nowhere";

  // Staff may search too, and see the public view as well.
  auto mod = make_account(ep(), "brand", "Mo");
  std::string cmd = std::string{std::getenv("PACTUMD_BIN")} + " --database-url '" + url()
                    + "' --log-level warn --set-role " + mod.email + "=moderator";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto staff = search("country=DE", mod.token);
  ASSERT_EQ(staff.status, 200) << staff.body;
  EXPECT_EQ(staff.body.find("\"lat\""), std::string::npos);

  // A creator whose role changes leaves the results at once (and comes back with the role).
  EXPECT_EQ(found_set("niche=travel", brand.token), (names{"Cleo", "Dee"}));
  {
    std::string sql_cmd = std::string{std::getenv("PACTUMD_BIN")} + " --database-url '" + url()
                          + "' --log-level warn --set-role " + emails_["Dee"] + "=brand";
    ASSERT_EQ(std::system(sql_cmd.c_str()), 0);
    EXPECT_EQ(found_set("niche=travel", brand.token), names{"Cleo"});
    sql_cmd = std::string{std::getenv("PACTUMD_BIN")} + " --database-url '" + url()
              + "' --log-level warn --set-role " + emails_["Dee"] + "=creator";
    ASSERT_EQ(std::system(sql_cmd.c_str()), 0);
    EXPECT_EQ(found_set("niche=travel", brand.token), (names{"Cleo", "Dee"}));
  }

  auto creator = search("", tokens_["Cleo"]);
  EXPECT_EQ(creator.status, 403) << creator.body;
  EXPECT_EQ(creator.json_body()["error"]["code"], "forbidden");
  auto anonymous = search("", "");
  EXPECT_EQ(anonymous.status, 401);
  auto bogus = search("", "not-a-token");
  EXPECT_EQ(bogus.status, 401);
  // Refused before the parameters are looked at.
  EXPECT_EQ(search("niche=knitting", "").status, 401);
  EXPECT_EQ(search("niche=knitting", tokens_["Cleo"]).status, 403);
  EXPECT_EQ(search("q=%zz", tokens_["Cleo"]).status, 403);
}

TEST_F(SearchEndToEnd, RelevanceRanksTheDenserMatchFirstAndRadiusCrossesTheAntimeridian) {
  // Relevance: a bio made of the searched word ranks above bios that mention it once among many
  // words, whatever their followers (the match set is below the ranked-candidate bound, so the
  // order is exact).
  struct bio_case {
    const char* name;
    const char* bio;
    int64_t followers;
    double lat, lon;
  };
  for (auto& c : std::vector<bio_case>{
         {"Dense", "zephyr zephyr zephyr kites", 1'000, -17.0, 179.95},
         {"Sparse", "kites over the bay, zephyr now and then, boats, sails and cold coffee at dawn", 900'000,
          -17.0, -179.95},
         {"Other", "kites kites kites", 5'000'000, -17.0, 170.0}}) {
    auto a = make_account(ep(), "creator", c.name);
    json body{{"bio", c.bio}, {"niches", {"travel"}},
              {"social_accounts", {social_account("instagram", c.name, c.followers, 2.0)}},
              {"location", {{"country", "FJ"}, {"lat", c.lat}, {"lon", c.lon}}}, {"languages", {"en"}}};
    auto r = http_call(ep(), "PUT", "/api/v1/influencers/profile", body.dump(), a.token);
    ASSERT_EQ(r.status, 200) << r.body;
  }
  auto brand = make_account(ep(), "brand", "Acme");
  auto& t = brand.token;
  EXPECT_EQ(found("q=zephyr", t), (std::vector<std::string>{"Dense", "Sparse"}));
  EXPECT_EQ(found("q=kites", t).front(), "Other");
  // 179.95 E and 179.95 W are about 11 km apart across the antimeridian; 170 E is ~1,060 km away.
  EXPECT_EQ(found_set("lat=-17&lon=179.99&radius_km=20", t), (names{"Dense", "Sparse"}));
  EXPECT_EQ(found_set("lat=-17&lon=-179.99&radius_km=20", t), (names{"Dense", "Sparse"}));
  EXPECT_EQ(found_set("lat=-17&lon=-179.99&radius_km=5", t), names{"Sparse"}) << "4.3 km; Dense is 6.4 km away";
  EXPECT_EQ(found_set("lat=-17&lon=171&radius_km=120", t), names{"Other"});
}
