// End to end: social platforms against a real pactumd with the embedded simulated provider. A
// creator refreshes their declared accounts and the provider's figures replace the declared ones
// (with a verified marker in the public view); a fraudulent handle raises a flag that a moderator
// lists and clears (audited), while creators and brands cannot see the queue; unknown handles are
// reported per account; the platforms' quota surfaces as 429 with Retry-After.

#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pactum/sim/client.hpp"
#include "pactum/social/signals.hpp"
#include "pactum/social/simulated.hpp"
#include "e2e_fixture.hpp"

using namespace pactum::sim;
using namespace std::chrono_literals;

namespace {

constexpr uint64_t seed = 11;

json account_json(const std::string& platform, const std::string& handle, int64_t followers) {
  return json{{"platform", platform}, {"handle", handle}, {"followers", followers},
              {"average_views", 1'000}, {"engagement_rate", 4.5}};
}

json creator_body(json accounts) {
  return json{{"bio", "Rides and reviews."},
              {"niches", {"sports"}},
              {"social_accounts", std::move(accounts)},
              {"location", {{"country", "DE"}, {"city", "Berlin"}}},
              {"languages", {"de"}}};
}

class SocialEndToEnd : public pactum::test_support::server_test {
protected:
  std::vector<std::string> server_args() const override {
    return {"--social-seed", std::to_string(seed), "--social-refresh-interval-s", "600"};
  }

  http_reply call(const std::string& method, const std::string& target, const std::string& token,
                  const json& body = json()) {
    return http_call(ep(), method, target, body.is_null() ? std::string{} : body.dump(), token);
  }

  void set_role(const std::string& email, const std::string& role) {
    std::string cmd = std::string{std::getenv("PACTUMD_BIN")} + " --database-url '" + url()
                      + "' --log-level warn --set-role " + email + "=" + role;
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }

  account creator_with(json accounts) {
    auto c = make_account(ep(), "creator", "Creator");
    auto put = call("PUT", "/api/v1/influencers/profile", c.token, creator_body(std::move(accounts)));
    EXPECT_EQ(put.status, 200) << put.body;
    return c;
  }

  http_reply refresh(const account& who) {
    return call("POST", "/api/v1/influencers/profile/social/refresh", who.token);
  }

  /// Audit rows of `action` (the audit writer batches: waits up to 5 s for at least one).
  std::vector<std::pair<std::string, std::string>> audited(const std::string& action) {
    std::vector<std::pair<std::string, std::string>> out;
    for (int i = 0; i < 100 && out.empty(); ++i) {
      pqxx::connection db{url()};
      pqxx::nontransaction tx{db};
      for (auto r : tx.exec_params("select target, outcome from audit_log where action = $1 order by id", action))
        out.emplace_back(r[0].as<std::string>(), r[1].as<std::string>());
      if (out.empty())
        std::this_thread::sleep_for(50ms);
    }
    return out;
  }
};

} // namespace

TEST_F(SocialEndToEnd, ARefreshReplacesTheDeclaredFiguresWithThePlatforms) {
  auto creator = creator_with(json::array({account_json("tiktok", "@Cleo_Rides", 120'000),
                                           account_json("instagram", "cleo.rides", 30'000)}));
  auto brand = make_account(ep(), "brand", "Acme");
  auto before = call("GET", "/api/v1/influencers/" + creator.id, brand.token).json_body();
  EXPECT_TRUE(before["verified_stats"].is_null()) << "self-declared figures are not verified";

  auto r = refresh(creator);
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = r.json_body();
  EXPECT_EQ(body["provider"], "simulated");
  ASSERT_EQ(body["accounts"].size(), 2u);
  auto& profile = body["profile"];
  int64_t total = 0;
  for (size_t i = 0; i < 2; ++i) {
    auto& fetched = body["accounts"][i];
    auto& stats = fetched["statistics"];
    auto& stored = profile["social_accounts"][i];
    EXPECT_TRUE(fetched["signals"].empty()) << fetched.dump();
    EXPECT_TRUE(fetched["flag"].is_null());
    EXPECT_EQ(stored["followers"], stats["followers"]);
    EXPECT_EQ(stored["average_views"], stats["average_views"]);
    EXPECT_EQ(stored["engagement_rate"], stats["engagement_rate"]);
    EXPECT_EQ(stats["history"].size(), 12u);
    total += stats["followers"].get<int64_t>();
    // The figures are the simulated provider's, for this seed at the time it answered.
    auto expected = pactum::social::simulated_provider::generate(
      stats["platform"].get<std::string>(), stats["handle"].get<std::string>(), seed,
      stats["fetched_at"].get<int64_t>());
    EXPECT_EQ(stats["followers"].get<int64_t>(), expected.followers);
    EXPECT_EQ(stats["following"].get<int64_t>(), expected.following);
  }
  EXPECT_EQ(body["accounts"][0]["handle"], "@Cleo_Rides") << "the declared spelling is kept";
  EXPECT_EQ(body["accounts"][0]["statistics"]["handle"], "cleo_rides");
  EXPECT_NE(profile["social_accounts"][0]["followers"], 120'000);
  EXPECT_EQ(profile["follower_total"], total);
  ASSERT_TRUE(profile["verified_stats"].is_object()) << profile.dump();
  auto refreshed_at = profile["verified_stats"]["refreshed_at"].get<int64_t>();
  EXPECT_GT(refreshed_at, pactum::now_millis() - 60'000);

  // Everyone sees the platform's figures and when they were fetched.
  auto seen = call("GET", "/api/v1/influencers/" + creator.id, brand.token).json_body();
  EXPECT_EQ(seen["social_accounts"], profile["social_accounts"]);
  EXPECT_EQ(seen["follower_total"], total);
  EXPECT_EQ(seen["verified_stats"]["refreshed_at"], refreshed_at);

  // One refresh per interval.
  auto again = refresh(creator);
  EXPECT_EQ(again.status, 429) << again.body;
  EXPECT_EQ(again.json_body()["error"]["code"], "rate_limited");
  EXPECT_GT(std::stoi(again.retry_after), 500);

  // Saving the profile with the accounts as they are keeps the marker; other figures drop it.
  auto own = call("GET", "/api/v1/influencers/profile", creator.token).json_body();
  json resent = creator_body(own["social_accounts"]);
  auto kept = call("PUT", "/api/v1/influencers/profile", creator.token, resent);
  ASSERT_EQ(kept.status, 200) << kept.body;
  EXPECT_EQ(kept.json_body()["verified_stats"]["refreshed_at"], refreshed_at);
  resent["social_accounts"][0]["followers"] = 9'999'999;
  auto changed = call("PUT", "/api/v1/influencers/profile", creator.token, resent);
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_TRUE(changed.json_body()["verified_stats"].is_null()) << changed.body;
  EXPECT_TRUE(call("GET", "/api/v1/influencers/" + creator.id, brand.token).json_body()["verified_stats"].is_null());
}

TEST_F(SocialEndToEnd, AFraudulentHandleIsFlaggedAndAModeratorClearsIt) {
  auto creator = creator_with(json::array({account_json("tiktok", "fake_bought_rose", 500'000),
                                           account_json("instagram", "rose.daily", 20'000)}));
  auto other = make_account(ep(), "creator", "Other");
  auto brand = make_account(ep(), "brand", "Acme");
  auto mod = make_account(ep(), "creator", "Mod");
  set_role(mod.email, "moderator");
  ASSERT_FALSE(HasFatalFailure());

  auto r = refresh(creator);
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = r.json_body();
  auto& bought = body["accounts"][0];
  std::vector<std::string> codes;
  for (auto& s : bought["signals"])
    codes.push_back(s["code"].get<std::string>());
  EXPECT_NE(std::find(codes.begin(), codes.end(), "engagement_too_low"), codes.end()) << bought.dump();
  EXPECT_NE(std::find(codes.begin(), codes.end(), "views_too_low"), codes.end()) << bought.dump();
  ASSERT_TRUE(bought["flag"].is_number_integer()) << bought.dump();
  auto flag_id = bought["flag"].get<int64_t>();
  EXPECT_TRUE(body["accounts"][1]["flag"].is_null()) << "the ordinary account is not flagged";

  // The queue is for moderators and admins only.
  for (auto* who : {&creator, &other, &brand}) {
    auto no = call("GET", "/api/v1/moderation/social-flags", who->token);
    EXPECT_EQ(no.status, 403) << no.body;
    EXPECT_EQ(no.json_body()["error"]["message"], "moderators only");
    auto no_review = call("PUT", "/api/v1/moderation/social-flags/" + std::to_string(flag_id), who->token,
                          json{{"status", "cleared"}});
    EXPECT_EQ(no_review.status, 403) << no_review.body;
  }
  EXPECT_EQ(call("GET", "/api/v1/moderation/social-flags", "").status, 401);

  auto listed = call("GET", "/api/v1/moderation/social-flags?status=open", mod.token);
  ASSERT_EQ(listed.status, 200) << listed.body;
  auto flags = listed.json_body()["flags"];
  ASSERT_EQ(flags.size(), 1u) << listed.body;
  auto& f = flags[0];
  EXPECT_EQ(f["id"], flag_id);
  EXPECT_EQ(f["user"]["id"], creator.id);
  EXPECT_EQ(f["platform"], "tiktok");
  EXPECT_EQ(f["handle"], "fake_bought_rose");
  EXPECT_EQ(f["status"], "open");
  EXPECT_EQ(f["signals"], bought["signals"]);
  EXPECT_EQ(f["snapshot"]["followers"], bought["statistics"]["followers"]);
  EXPECT_TRUE(f["reviewer"].is_null());

  auto bad = call("PUT", "/api/v1/moderation/social-flags/" + std::to_string(flag_id), mod.token,
                  json{{"status", "maybe"}});
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_TRUE(bad.json_body()["error"]["fields"].contains("status"));
  EXPECT_EQ(call("PUT", "/api/v1/moderation/social-flags/999999", mod.token, json{{"status", "cleared"}}).status, 404);

  auto cleared = call("PUT", "/api/v1/moderation/social-flags/" + std::to_string(flag_id), mod.token,
                      json{{"status", "cleared"}});
  ASSERT_EQ(cleared.status, 200) << cleared.body;
  EXPECT_EQ(cleared.json_body()["status"], "cleared");
  EXPECT_EQ(cleared.json_body()["reviewer"], mod.id);
  EXPECT_TRUE(cleared.json_body()["reviewed_at"].is_number_integer());
  auto twice = call("PUT", "/api/v1/moderation/social-flags/" + std::to_string(flag_id), mod.token,
                    json{{"status", "confirmed"}});
  EXPECT_EQ(twice.status, 409) << twice.body;

  EXPECT_TRUE(call("GET", "/api/v1/moderation/social-flags?status=open", mod.token).json_body()["flags"].empty());
  auto done = call("GET", "/api/v1/moderation/social-flags?status=cleared", mod.token).json_body()["flags"];
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0]["id"], flag_id);
  EXPECT_EQ(call("GET", "/api/v1/moderation/social-flags?status=nonsense", mod.token).status, 400);

  // The review is in the audit log (the refused attempts too).
  auto rows = audited("social_flag.review");
  bool ok = false;
  for (auto& [target, outcome] : rows)
    ok = ok || (target == std::to_string(flag_id) && outcome == "ok");
  EXPECT_TRUE(ok);
}

TEST_F(SocialEndToEnd, EachScriptedFraudPatternRaisesItsSignal) {
  auto mod = make_account(ep(), "creator", "Mod");
  set_role(mod.email, "moderator");
  ASSERT_FALSE(HasFatalFailure());
  std::vector<std::pair<std::string, std::string>> patterns{{"fake_pods_x", "engagement_too_high"},
                                                            {"fake_jump_x", "follower_jump"},
                                                            {"fake_follow_x", "follow_ratio"}};
  for (auto& [handle, code] : patterns) {
    auto c = creator_with(json::array({account_json("youtube", handle, 10'000)}));
    auto r = refresh(c);
    ASSERT_EQ(r.status, 200) << r.body;
    auto signals = r.json_body()["accounts"][0]["signals"];
    bool has = false;
    for (auto& s : signals)
      has = has || s["code"] == code;
    EXPECT_TRUE(has) << handle << ": " << signals.dump();
  }
  auto flags = call("GET", "/api/v1/moderation/social-flags?limit=2", mod.token).json_body();
  EXPECT_EQ(flags["flags"].size(), 2u) << "paginated";
  auto older = call("GET", "/api/v1/moderation/social-flags?limit=2&before=" + flags["next_before"].dump(),
                    mod.token).json_body();
  ASSERT_EQ(older["flags"].size(), 1u);
  EXPECT_EQ(older["flags"][0]["handle"], "fake_pods_x") << "newest first";
}

TEST_F(SocialEndToEnd, UnknownHandlesAreReportedAndNothingChanges) {
  auto creator = creator_with(json::array({account_json("tiktok", "cleo", 1'000),
                                           account_json("instagram", "gone_cleo", 2'000)}));
  auto r = refresh(creator);
  ASSERT_EQ(r.status, 400) << r.body;
  auto fields = r.json_body()["error"]["fields"];
  EXPECT_TRUE(fields.contains("social_accounts[1].handle")) << r.body;
  EXPECT_FALSE(fields.contains("social_accounts[0].handle")) << r.body;
  auto own = call("GET", "/api/v1/influencers/profile", creator.token).json_body();
  EXPECT_EQ(own["social_accounts"][0]["followers"], 1'000);
  EXPECT_TRUE(own["verified_stats"].is_null());

  // Brands have no statistics to refresh; a creator without a profile is told to make one.
  auto brand = make_account(ep(), "brand", "Acme");
  auto no = refresh(brand);
  EXPECT_EQ(no.status, 403) << no.body;
  auto empty = make_account(ep(), "creator", "Empty");
  EXPECT_EQ(refresh(empty).status, 404);
}

namespace {

/// A platform quota of 2 calls a minute and a client that does not limit itself: the third
/// account's fetch meets the platform's 429.
class SocialQuotaEndToEnd : public SocialEndToEnd {
protected:
  std::vector<std::string> server_args() const override {
    return {"--social-quota-calls", "2", "--social-quota-window-ms", "60000", "--social-client-calls", "0",
            "--social-max-wait-ms", "500", "--social-refresh-interval-s", "0"};
  }
};

} // namespace

TEST_F(SocialQuotaEndToEnd, ThePlatformsQuotaSurfacesAsRetryAfter) {
  auto creator = creator_with(json::array({account_json("tiktok", "a1", 1'000), account_json("tiktok", "a2", 1'000),
                                           account_json("tiktok", "a3", 1'000)}));
  auto r = refresh(creator);
  // Unless the minute turned between the calls, the third fetch is refused by the platform.
  if (r.status == 200)
    r = refresh(creator);
  ASSERT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(r.json_body()["error"]["code"], "rate_limited");
  auto wait = std::stoi(r.retry_after);
  EXPECT_GE(wait, 1);
  EXPECT_LE(wait, 60);
  EXPECT_TRUE(call("GET", "/api/v1/influencers/profile", creator.token).json_body()["verified_stats"].is_null());
}

TEST_F(SocialEndToEnd, APlatformThatFailsTwiceIsRetriedWithBackoff) {
  // flaky_ handles answer unavailable twice; the client's retries (500 ms, then 1 s, jittered)
  // absorb it and the creator sees one successful refresh.
  auto creator = creator_with(json::array({account_json("twitch", "flaky_streamer", 1'000)}));
  auto start = std::chrono::steady_clock::now();
  auto r = refresh(creator);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json_body()["accounts"][0]["statistics"]["handle"], "flaky_streamer");
  EXPECT_GE(took, 700ms) << "two backoff delays of at least 250 and 500 ms";
}
