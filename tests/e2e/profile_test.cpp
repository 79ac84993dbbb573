// End to end: brand and creator profiles (own and public views, field errors, who may see a
// brand's contact), an admin's role change closing the user's sockets, and one-time email-code
// logins read from the mail outbox the way a relay would. A real pactumd and PostgreSQL.

#include <map>
#include <regex>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pactum/sim/client.hpp"
#include "e2e_fixture.hpp"

using namespace pactum::sim;
using namespace std::chrono_literals;

namespace {

json creator_body() {
  return json{
    {"bio", "City cycling, every week."},
    {"niches", {"travel", "sports"}},
    {"social_accounts",
     {json{{"platform", "tiktok"}, {"handle", "@cleo"}, {"followers", 120'000},
           {"average_views", 40'000}, {"engagement_rate", 6.5}},
      json{{"platform", "instagram"}, {"handle", "cleo.rides"}, {"followers", 30'000},
           {"average_views", 9'000}, {"engagement_rate", 3.1}}}},
    {"audience", {{"age_bands", {{"18-24", 40}, {"25-34", 45}}}, {"gender", {{"female", 55}, {"male", 45}}}}},
    {"location", {{"country", "DE"}, {"city", "Berlin"}, {"lat", 52.52}, {"lon", 13.405}}},
    {"languages", {"de", "en"}},
    {"rates", {json{{"type", "tiktok_duet"}, {"amount", 50'000}, {"currency", "EUR"}}}},
    {"media_kit_url", "https://cleo.example/kit.pdf"}};
}

json brand_body() {
  return json{{"company_name", "Acme Bikes"},
              {"industry", "Sporting goods"},
              {"website", "https://acme.example"},
              {"budget", {{"min", 100'000}, {"max", 500'000}, {"currency", "EUR"}}},
              {"contact", {{"name", "Ana Berg"}, {"email", "deals@acme.example"}, {"phone", "+49 30 1234 5678"}}},
              {"country", "DE"}};
}

class ProfileEndToEnd : public pactum::test_support::server_test {
protected:
  std::vector<std::string> server_args() const override {
    return {"--login-code-attempts", "3", "--login-free-failures", "50"};
  }

  http_reply put(const std::string& target, const json& body, const std::string& token) {
    return http_call(ep(), "PUT", target, body.dump(), token);
  }
  http_reply get(const std::string& target, const std::string& token) {
    return http_call(ep(), "GET", target, "", token);
  }

  /// Runs `pactumd --set-role EMAIL=ROLE` against the test database, as an operator would.
  void set_role(const std::string& email, const std::string& role) {
    std::string cmd = std::string{std::getenv("PACTUMD_BIN")} + " --database-url '" + url()
                      + "' --log-level warn --set-role " + email + "=" + role;
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }

  /// Emails as stored and mailed: trimmed and lower-cased.
  static std::string lower(std::string s) {
    for (auto& c : s)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }

  /// The newest mail to `to` in the outbox, read as a relay would (waits up to 5 s: the code
  /// request is answered before the mail is stored).
  std::optional<std::pair<std::string, std::string>> newest_mail(const std::string& to,
                                                                 size_t at_least = 1) {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
      pqxx::connection db{url()};
      pqxx::nontransaction tx{db};
      auto rows = tx.exec_params("select subject, body, count(*) over () from mail_outbox"
                                 " where to_address = $1 and sent_at is null order by id desc",
                                 lower(to));
      if (!rows.empty() && rows[0][2].as<size_t>() >= at_least)
        return std::make_pair(rows[0][0].as<std::string>(), rows[0][1].as<std::string>());
      std::this_thread::sleep_for(50ms);
    }
    return std::nullopt;
  }

  size_t outbox_rows() {
    pqxx::connection db{url()};
    pqxx::nontransaction tx{db};
    return tx.exec1("select count(*) from mail_outbox")[0].as<size_t>();
  }

  static std::string code_in(const std::string& body) {
    std::smatch m;
    if (std::regex_search(body, m, std::regex{"code is ([0-9]{6})"}))
      return m[1];
    return {};
  }

  http_reply request_code(const std::string& email) {
    return http_call(ep(), "POST", "/api/v1/users/login/code", json{{"email", email}}.dump());
  }
  http_reply verify(const std::string& email, const std::string& code) {
    return http_call(ep(), "POST", "/api/v1/users/login/code/verify",
                     json{{"email", email}, {"code", code}}.dump());
  }

  /// Brand and creator agree on a deal: an accepted offer, hence a contract.
  void make_contract(const account& brand, const account& creator) {
    ws_client b{ep(), brand.token};
    ws_client c{ep(), creator.token};
    auto open = b.request(json{{"type", "conversation.open"}, {"with", creator.id}});
    ASSERT_EQ(open["type"], "ok") << open.dump();
    auto conv = open["conversation"]["id"].get<std::string>();
    json terms{{"amount", 150'000}, {"currency", "EUR"},
               {"deliverables", json::array({json{{"type", "tiktok_duet"}, {"count", 1}}})},
               {"delivery_days", 10}, {"revision_rounds", 1},
               {"usage_rights", json{{"scope", "organic"}, {"days", 30}}}};
    auto offer = b.request(json{{"type", "offer.make"}, {"conversation", conv}, {"client_id", "o-1"},
                                {"terms", terms}});
    ASSERT_EQ(offer["type"], "ok") << offer.dump();
    auto accepted = c.request(json{{"type", "offer.accept"}, {"conversation", conv},
                                   {"offer", offer["seq"]}});
    ASSERT_EQ(accepted["type"], "ok") << accepted.dump();
    ASSERT_TRUE(accepted.contains("contract"));
  }
};

} // namespace

// -- profiles -------------------------------------------------------------------------------------

TEST_F(ProfileEndToEnd, ACreatorAndABrandFillTheirProfilesAndReadThemBack) {
  auto creator = make_account(ep(), "creator", "Cleo");
  auto brand = make_account(ep(), "brand", "Acme");

  EXPECT_EQ(get("/api/v1/influencers/profile", creator.token).status, 404) << "none yet";
  auto saved = put("/api/v1/influencers/profile", creator_body(), creator.token);
  ASSERT_EQ(saved.status, 200) << saved.body;
  auto c = saved.json_body();
  EXPECT_EQ(c["user_id"], creator.id);
  EXPECT_EQ(c["display_name"], "Cleo");
  EXPECT_EQ(c["version"], 1);
  EXPECT_EQ(c["follower_total"], 150'000);
  EXPECT_EQ(c["niches"], json({"travel", "sports"}));
  EXPECT_EQ(c["social_accounts"][1]["handle"], "cleo.rides");
  EXPECT_EQ(c["location"]["lat"], 52.52);
  EXPECT_EQ(c["rates"][0]["type"], "tiktok_duet");
  auto own = get("/api/v1/influencers/profile", creator.token);
  ASSERT_EQ(own.status, 200) << own.body;
  EXPECT_EQ(own.json_body(), c) << "what was stored is what is read";

  auto b = put("/api/v1/brands/profile", brand_body(), brand.token);
  ASSERT_EQ(b.status, 200) << b.body;
  EXPECT_EQ(b.json_body()["contact"]["email"], "deals@acme.example");
  EXPECT_EQ(b.json_body()["contact"]["phone"], "+493012345678");
  EXPECT_EQ(get("/api/v1/brands/profile", brand.token).json_body(), b.json_body());

  // A second PUT replaces the profile and bumps the version; a stale version is refused.
  auto body = creator_body();
  body["bio"] = "Now also gravel.";
  body["version"] = 1;
  auto second = put("/api/v1/influencers/profile", body, creator.token);
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(second.json_body()["version"], 2);
  EXPECT_EQ(second.json_body()["bio"], "Now also gravel.");
  auto stale = put("/api/v1/influencers/profile", body, creator.token);
  EXPECT_EQ(stale.status, 409) << stale.body;
  EXPECT_EQ(get("/api/v1/influencers/profile", creator.token).json_body()["bio"], "Now also gravel.");
}

TEST_F(ProfileEndToEnd, FieldErrorsComeBackPerFieldAndNothingIsStored) {
  auto creator = make_account(ep(), "creator", "Cleo");
  auto body = creator_body();
  body["social_accounts"][1]["followers"] = 3'000'000'000LL;
  body["niches"] = {"travel", "knitting"};
  body["location"]["country"] = "Germany";
  body["unknown_field"] = "ignored";
  auto r = put("/api/v1/influencers/profile", body, creator.token);
  ASSERT_EQ(r.status, 400) << r.body;
  auto err = r.json_body()["error"];
  EXPECT_EQ(err["code"], "bad_request");
  EXPECT_EQ(err["fields"]["social_accounts[1].followers"],
            "must be a whole number from 0 to 2,000,000,000");
  EXPECT_TRUE(err["fields"].contains("niches[1]"));
  EXPECT_TRUE(err["fields"].contains("location.country"));
  EXPECT_EQ(err["fields"].size(), 3u) << err.dump();
  EXPECT_EQ(get("/api/v1/influencers/profile", creator.token).status, 404);

  auto brand = make_account(ep(), "brand", "Acme");
  auto bb = brand_body();
  bb["contact"].erase("email");
  bb["budget"]["min"] = -5;
  auto br = put("/api/v1/brands/profile", bb, brand.token);
  ASSERT_EQ(br.status, 400) << br.body;
  EXPECT_EQ(br.json_body()["error"]["fields"]["contact.email"], "is required");
  EXPECT_TRUE(br.json_body()["error"]["fields"].contains("budget.min"));
  EXPECT_EQ(http_call(ep(), "PUT", "/api/v1/brands/profile", "[]", brand.token).status, 400);
  EXPECT_EQ(http_call(ep(), "PUT", "/api/v1/brands/profile", "{}", brand.token, "text/plain").status, 415);
}

TEST_F(ProfileEndToEnd, EachRoleWritesOnlyItsOwnKindAndStrangersAre401) {
  auto creator = make_account(ep(), "creator", "Cleo");
  auto brand = make_account(ep(), "brand", "Acme");
  auto r = put("/api/v1/brands/profile", brand_body(), creator.token);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.json_body()["error"]["code"], "forbidden");
  EXPECT_EQ(put("/api/v1/influencers/profile", creator_body(), brand.token).status, 403);
  EXPECT_EQ(get("/api/v1/influencers/profile", brand.token).status, 403);
  EXPECT_EQ(put("/api/v1/influencers/profile", creator_body(), "").status, 401);
  ASSERT_EQ(put("/api/v1/influencers/profile", creator_body(), creator.token).status, 200);
  EXPECT_EQ(get("/api/v1/influencers/" + creator.id, "").status, 401);
  EXPECT_EQ(get("/api/v1/brands/" + brand.id, brand.token).status, 404) << "no profile yet";
  EXPECT_EQ(get("/api/v1/brands/" + creator.id, brand.token).status, 404) << "not a brand";
  EXPECT_EQ(get("/api/v1/influencers/not-a-uuid", brand.token).status, 404);
}

TEST_F(ProfileEndToEnd, PublicViewsHidePrivateFieldsAndTheContactNeedsAContract) {
  auto creator = make_account(ep(), "creator", "Cleo");
  auto stranger = make_account(ep(), "creator", "Sam");
  auto brand = make_account(ep(), "brand", "Acme");
  auto other_brand = make_account(ep(), "brand", "Bolt");
  ASSERT_EQ(put("/api/v1/influencers/profile", creator_body(), creator.token).status, 200);
  ASSERT_EQ(put("/api/v1/brands/profile", brand_body(), brand.token).status, 200);

  auto seen = get("/api/v1/influencers/" + creator.id, brand.token);
  ASSERT_EQ(seen.status, 200) << seen.body;
  auto c = seen.json_body();
  EXPECT_EQ(c["location"]["city"], "Berlin");
  EXPECT_FALSE(c["location"].contains("lat")) << "exact coordinates are private";
  EXPECT_FALSE(c["location"].contains("lon"));
  EXPECT_EQ(c["social_accounts"][0]["followers"], 120'000);
  EXPECT_EQ(c["rates"][0]["amount"], 50'000);

  for (auto* viewer : {&creator, &stranger, &other_brand}) {
    auto v = get("/api/v1/brands/" + brand.id, viewer->token);
    ASSERT_EQ(v.status, 200) << v.body;
    EXPECT_FALSE(v.json_body().contains("contact")) << "hidden from " << viewer->role;
    EXPECT_EQ(v.json_body()["company_name"], "Acme Bikes");
    EXPECT_EQ(v.body.find("deals@acme.example"), std::string::npos);
  }

  make_contract(brand, creator);
  auto after = get("/api/v1/brands/" + brand.id, creator.token);
  ASSERT_EQ(after.status, 200);
  EXPECT_EQ(after.json_body()["contact"]["email"], "deals@acme.example")
    << "a creator with a contract sees the contact";
  EXPECT_FALSE(get("/api/v1/brands/" + brand.id, stranger.token).json_body().contains("contact"))
    << "a creator without one still does not";

  set_role(other_brand.email, "moderator");
  EXPECT_TRUE(get("/api/v1/brands/" + brand.id, other_brand.token).json_body().contains("contact"))
    << "moderators see everything";
  EXPECT_TRUE(get("/api/v1/influencers/" + creator.id, other_brand.token).json_body()["location"].contains("lat"));
}

// -- role changes ---------------------------------------------------------------------------------

TEST_F(ProfileEndToEnd, AnAdminsRoleChangeClosesTheUsersSocketsWithin1sAndTheNewRoleApplies) {
  auto admin = make_account(ep(), "brand", "Root");
  auto user = make_account(ep(), "creator", "Cleo");
  auto bystander = make_account(ep(), "creator", "Sam");
  set_role(admin.email, "admin");
  ws_client s1{ep(), user.token};
  ws_client s2{ep(), user.token};
  ws_client other{ep(), bystander.token};
  EXPECT_EQ(get("/api/v1/moderation/guard-hits", user.token).status, 403);

  auto target = "/api/v1/admin/users/" + user.id + "/role";
  EXPECT_EQ(put(target, json{{"role", "moderator"}}, user.token).status, 403) << "admins only";
  EXPECT_EQ(put(target, json{{"role", "moderator"}}, "").status, 401);
  auto bad = put(target, json{{"role", "king"}}, admin.token);
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(bad.json_body()["error"]["fields"].contains("role"));
  EXPECT_EQ(put("/api/v1/admin/users/01900000-0000-7000-8000-000000000000/role",
                json{{"role", "moderator"}}, admin.token).status, 404);

  auto t0 = std::chrono::steady_clock::now();
  auto r = put(target, json{{"role", "moderator"}}, admin.token);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json_body()["user"]["role"], "moderator");
  for (auto* s : {&s1, &s2}) {
    EXPECT_TRUE(s->wait_closed(1'500ms)) << "socket still open";
    EXPECT_EQ(s->close_code(), 4004);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1'000ms + 500ms);
  EXPECT_EQ(other.request(json{{"type", "ping"}})["type"], "ok") << "other users keep theirs";
  EXPECT_EQ(get("/api/v1/moderation/guard-hits", user.token).status, 200)
    << "the same token now acts with the new role";
  ws_client again{ep(), user.token};
  EXPECT_EQ(again.request(json{{"type", "ping"}})["type"], "ok");
  EXPECT_EQ(again.hello()["user"]["role"], "moderator")
    << "a reconnect with a token the server verified before (its token cache) gets the new role";
}

// -- email-code logins ----------------------------------------------------------------------------

TEST_F(ProfileEndToEnd, ACodeFromTheOutboxLogsInOnceExactlyLikeAPassword) {
  auto user = make_account(ep(), "creator", "Cleo");
  auto r = request_code(" " + user.email + " ");
  ASSERT_EQ(r.status, 202) << r.body;
  auto mail = newest_mail(user.email);
  ASSERT_TRUE(mail) << "a mail is queued for the relay";
  EXPECT_EQ(mail->first, "Your Pactum login code");
  auto code = code_in(mail->second);
  ASSERT_EQ(code.size(), 6u) << mail->second;
  EXPECT_EQ(server_->log().find(code), std::string::npos) << "the code is not logged";
  EXPECT_EQ(server_->log().find(lower(user.email)), std::string::npos) << "nor the email";

  auto in = verify(user.email, code);
  ASSERT_EQ(in.status, 200) << in.body;
  auto tokens = in.json_body();
  EXPECT_EQ(tokens["user"]["id"], user.id);
  EXPECT_EQ(tokens["token_type"], "Bearer");
  EXPECT_TRUE(tokens.contains("refresh_token"));
  ws_client ws{ep(), tokens["token"].get<std::string>()};
  EXPECT_EQ(ws.request(json{{"type", "ping"}})["type"], "ok");
  auto refreshed = http_call(ep(), "POST", "/api/v1/users/refresh",
                             json{{"refresh_token", tokens["refresh_token"]}}.dump());
  EXPECT_EQ(refreshed.status, 200) << "a code login is a login like any other";

  auto again = verify(user.email, code);
  EXPECT_EQ(again.status, 401) << "single use";
  EXPECT_EQ(again.json_body()["error"]["code"], "unauthorized");

  {
    pqxx::connection db{url()};
    pqxx::nontransaction tx{db};
    auto row = tx.exec1("select count(*), bool_and(code_hash <> convert_to('" + code + "', 'UTF8'))"
                        " from login_codes");
    EXPECT_EQ(row[0].as<int>(), 1);
    EXPECT_TRUE(row[1].as<bool>()) << "only a hash is stored";
  }
}

TEST_F(ProfileEndToEnd, UnknownEmailsGetTheSameAnswerAndNoMail) {
  auto user = make_account(ep(), "brand", "Acme");
  auto known = request_code(user.email);
  auto unknown = request_code("nobody-" + user.email);
  EXPECT_EQ(known.status, 202);
  EXPECT_EQ(unknown.status, known.status);
  EXPECT_EQ(unknown.body, known.body);
  ASSERT_TRUE(newest_mail(user.email));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(outbox_rows(), 1u) << "nothing is queued for an unknown email";
  auto v = verify("nobody-" + user.email, "123456");
  EXPECT_EQ(v.status, 401);
  EXPECT_EQ(v.json_body()["error"]["message"], "wrong or expired code");
  EXPECT_EQ(request_code("not an email").status, 400);
}

TEST_F(ProfileEndToEnd, WrongGuessesUseUpTheCodeAndANewCodeReplacesTheOld) {
  auto user = make_account(ep(), "creator", "Cleo");
  ASSERT_EQ(request_code(user.email).status, 202);
  auto mail = newest_mail(user.email);
  ASSERT_TRUE(mail);
  auto code = code_in(mail->second);
  auto wrong = code == "000000" ? std::string{"111111"} : std::string{"000000"};
  for (int i = 0; i < 3; ++i) // --login-code-attempts 3
    EXPECT_EQ(verify(user.email, wrong).status, 401);
  EXPECT_EQ(verify(user.email, code).status, 401) << "the code died after 3 wrong guesses";

  ASSERT_EQ(request_code(user.email).status, 202);
  auto second = newest_mail(user.email, 2);
  ASSERT_TRUE(second);
  auto fresh = code_in(second->second);
  ASSERT_EQ(request_code(user.email).status, 202);
  auto third = newest_mail(user.email, 3);
  ASSERT_TRUE(third);
  auto newest = code_in(third->second);
  if (fresh != newest) {
    EXPECT_EQ(verify(user.email, fresh).status, 401) << "a newer code replaces the older one";
  }
  EXPECT_EQ(verify(user.email, newest).status, 200);
}

TEST_F(ProfileEndToEnd, CodesExpireAndRequestsAreThrottledPerEmailAndPerAddress) {
  restart_with({"--login-code-ttl-s", "1", "--login-codes-per-email-hour", "2",
                "--login-codes-per-address-hour", "4"});
  auto user = make_account(ep(), "creator", "Cleo");
  ASSERT_EQ(request_code(user.email).status, 202);
  auto mail = newest_mail(user.email);
  ASSERT_TRUE(mail);
  std::this_thread::sleep_for(1'300ms);
  EXPECT_EQ(verify(user.email, code_in(mail->second)).status, 401) << "expired";

  EXPECT_EQ(request_code(user.email).status, 202);
  auto third = request_code(user.email);
  EXPECT_EQ(third.status, 429) << "two per hour";
  EXPECT_FALSE(third.retry_after.empty());
  // The same limit for an email with no account: a 429 tells nothing about registration.
  EXPECT_EQ(request_code("ghost@nowhere.example").status, 202);
  EXPECT_EQ(request_code("ghost@nowhere.example").status, 202);
  EXPECT_EQ(request_code("ghost@nowhere.example").status, 429);
  // Four accepted requests from this address so far: a fifth email is refused by address.
  auto by_address = request_code("someone-else@nowhere.example");
  EXPECT_EQ(by_address.status, 429) << "four per address";
  EXPECT_EQ(by_address.json_body()["error"]["code"], "rate_limited");
}

TEST_F(ProfileEndToEnd, CodeLoginCanBeSwitchedOff) {
  restart_with({"--login-codes", "off"});
  auto user = make_account(ep(), "creator", "Cleo");
  EXPECT_EQ(request_code(user.email).status, 404);
  EXPECT_EQ(verify(user.email, "123456").status, 404);
}
