// End to end: the audit log. Security-relevant actions produce rows with the right actor,
// address and outcome (written asynchronously: the test polls); only admins may read them, page
// by page; and the table refuses UPDATE, DELETE and TRUNCATE even from the role pactumd uses.

#include <cctype>
#include <regex>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pactum/sim/client.hpp"
#include "e2e_fixture.hpp"
#include "mail_outbox.hpp"

using namespace pactum::sim;

namespace {

constexpr const char* good_card = "4242424242424242";

class AuditEndToEnd : public pactum::test_support::server_test {
protected:
  void SetUp() override {
    server_test::SetUp();
    if (HasFatalFailure())
      return;
    brand_ = make_account(ep(), "brand", "Acme");
    creator_ = make_account(ep(), "creator", "Cleo");
    admin_ = make_account(ep(), "creator", "Ada");
    set_role(admin_.email, "admin");
  }

  void set_role(const std::string& email, const std::string& role) {
    std::string cmd = std::string{std::getenv("PACTUMD_BIN")} + " --database-url '" + url()
                      + "' --log-level warn --set-role " + email + "=" + role;
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }

  /// Audit entries for `query` (as the admin), polling until `want` holds or 10 s pass.
  json entries(const std::string& query, const std::function<bool(const json&)>& want) {
    json list;
    for (int i = 0; i < 100; ++i) {
      auto r = http_call(ep(), "GET", "/api/v1/admin/audit?" + query, "", admin_.token);
      EXPECT_EQ(r.status, 200) << r.body;
      list = r.json_body()["entries"];
      for (auto& e : list)
        if (want(e))
          return list;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "no audit entry as wanted for " << query << ": " << list.dump();
    return list;
  }

  std::string mailed_code(const std::string& email, int64_t after_id) {
    return pactum::test_support::mailed_login_code(url(), email, after_id);
  }

  account brand_, creator_, admin_;
};

} // namespace

TEST_F(AuditEndToEnd, LoginsRoleChangesAndMoneyActionsAreRecordedWithActorAddressAndOutcome) {
  // The operator's role change (pactumd --set-role), by user id.
  entries("action=role.change", [&](const json& e) {
    return e["target"] == admin_.id && e["actor_role"] == "operator" && e["actor"].is_null()
           && e["outcome"] == "ok" && e["detail"]["role"] == "admin";
  });
  // Sign-up, by the new user from the client's address.
  entries("action=user.register&actor=" + brand_.id, [&](const json& e) {
    return e["outcome"] == "ok" && e["address"] == "127.0.0.1" && e["actor_role"] == "brand";
  });

  // A failed login: anonymous, with the email's hash and never the email.
  auto bad = http_call(ep(), "POST", "/api/v1/users/login",
                       json{{"email", brand_.email}, {"password", "not the password"}}.dump());
  ASSERT_EQ(bad.status, 401);
  auto failures = entries("action=user.login", [&](const json& e) { return e["outcome"] == "unauthorized"; });
  for (auto& e : failures)
    if (e["outcome"] == "unauthorized") {
      EXPECT_TRUE(e["actor"].is_null());
      EXPECT_EQ(e["actor_role"], "anonymous");
      EXPECT_EQ(e["address"], "127.0.0.1");
      EXPECT_EQ(e["detail"]["email_hash"].get<std::string>().size(), 64u);
      EXPECT_EQ(e.dump().find(brand_.email), std::string::npos) << "no email in the audit log";
    }
  entries("action=user.login&actor=" + brand_.id,
          [&](const json& e) { return e["outcome"] == "ok" && e["address"] == "127.0.0.1"; });

  // Money: a deal funded over REST, delivered over the WebSocket, a refused funding by the creator.
  ws_client b{ep(), brand_.token};
  ws_client c{ep(), creator_.token};
  auto conv = b.request(json{{"type", "conversation.open"}, {"with", creator_.id}})["conversation"]["id"];
  auto offer = b.request(json{{"type", "offer.make"}, {"conversation", conv}, {"client_id", "o1"},
                              {"terms", json{{"amount", 20'000}, {"currency", "USD"},
                                             {"deliverables", json::array({json{{"type", "tiktok_duet"}, {"count", 1}}})}}}});
  ASSERT_EQ(offer["type"], "ok") << offer.dump();
  auto accepted = c.request(json{{"type", "offer.accept"}, {"conversation", conv}, {"offer", offer["seq"]}});
  ASSERT_EQ(accepted["type"], "ok") << accepted.dump();
  auto contract = accepted["contract"].get<std::string>();
  auto refused = http_call(ep(), "POST", "/api/v1/contracts/" + contract + "/fund",
                           json{{"key", "cf"}, {"payment_method", good_card}}.dump(), creator_.token);
  ASSERT_EQ(refused.status, 403) << refused.body;
  auto funded = http_call(ep(), "POST", "/api/v1/contracts/" + contract + "/fund",
                          json{{"key", "bf"}, {"payment_method", good_card}}.dump(), brand_.token);
  ASSERT_EQ(funded.status, 200) << funded.body;
  entries("action=contract.fund&actor=" + brand_.id, [&](const json& e) {
    return e["target"] == contract && e["outcome"] == "ok" && e["address"] == "127.0.0.1"
           && e["actor_role"] == "brand";
  });
  entries("action=contract.fund&actor=" + creator_.id,
          [&](const json& e) { return e["target"] == contract && e["outcome"] == "forbidden"; });
  for (int i = 0; i < 100; ++i) {
    auto view = http_call(ep(), "GET", "/api/v1/contracts/" + contract, "", brand_.token).json_body();
    if (view["status"] == "funded")
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto delivered = c.request(json{{"type", "contract.deliver"}, {"contract", contract}, {"key", "d"},
                                  {"items", json::array({json{{"url", "https://yt.example/w/1"}}})}});
  ASSERT_EQ(delivered["type"], "ok") << delivered.dump();
  entries("action=contract.deliver", [&](const json& e) {
    return e["actor"] == creator_.id && e["target"] == contract && e["outcome"] == "ok"
           && e["address"] == "127.0.0.1"; // the WebSocket's upgrade address
  });

  // Logout.
  auto second = http_call(ep(), "POST", "/api/v1/users/login",
                          json{{"email", brand_.email}, {"password", brand_.password}}.dump());
  ASSERT_EQ(second.status, 200);
  ASSERT_EQ(http_call(ep(), "POST", "/api/v1/users/logout", "", second.json_body()["token"].get<std::string>()).status, 204);
  entries("action=user.logout&actor=" + brand_.id, [&](const json& e) {
    return e["target"] == second.json_body()["session_id"] && e["outcome"] == "ok";
  });
}

TEST_F(AuditEndToEnd, OnlyAdminsQueryAndPagesFollowTheCursor) {
  for (auto* who : {&brand_, &creator_}) {
    auto r = http_call(ep(), "GET", "/api/v1/admin/audit", "", who->token);
    EXPECT_EQ(r.status, 403) << r.body;
    EXPECT_EQ(r.json_body()["error"]["message"], "admins only");
  }
  EXPECT_EQ(http_call(ep(), "GET", "/api/v1/admin/audit").status, 401);
  EXPECT_EQ(http_call(ep(), "GET", "/api/v1/admin/audit?limit=0", "", admin_.token).status, 400);
  EXPECT_EQ(http_call(ep(), "GET", "/api/v1/admin/audit?actor=nope", "", admin_.token).status, 400);
  // The refused queries are recorded too.
  auto refusals = entries("action=audit.query&actor=" + brand_.id,
                          [](const json& e) { return e["outcome"] == "forbidden"; });
  EXPECT_FALSE(refusals.empty());

  // Pages of one, newest first, each older than the cursor, with no repeats.
  entries("", [](const json&) { return true; });
  std::vector<int64_t> ids;
  std::string cursor;
  for (int page = 0; page < 4; ++page) {
    auto r = http_call(ep(), "GET", "/api/v1/admin/audit?limit=1" + (cursor.empty() ? "" : "&before=" + cursor),
                       "", admin_.token);
    ASSERT_EQ(r.status, 200) << r.body;
    auto body = r.json_body();
    ASSERT_EQ(body["entries"].size(), 1u) << body.dump();
    ids.push_back(body["entries"][0]["id"].get<int64_t>());
    cursor = std::to_string(body["next_before"].get<int64_t>());
  }
  for (size_t i = 1; i < ids.size(); ++i)
    EXPECT_LT(ids[i], ids[i - 1]);
}

TEST_F(AuditEndToEnd, TheTableRefusesUpdateDeleteAndTruncate) {
  entries("action=user.register", [](const json&) { return true; });
  pqxx::connection conn{url()}; // the credentials pactumd itself runs with in this test
  for (const char* sql : {"update audit_log set outcome = 'ok'", "delete from audit_log",
                          "truncate audit_log"}) {
    pqxx::work tx{conn};
    EXPECT_THROW(tx.exec0(sql), pqxx::sql_error) << sql;
  }
  pqxx::work tx{conn};
  EXPECT_GT(tx.exec1("select count(*) from audit_log")[0].as<int64_t>(), 0);
}

namespace {

/// With one-second contract days, so that a delivery deadline passes during the test.
class AuditTimerEndToEnd : public AuditEndToEnd {
protected:
  std::vector<std::string> server_args() const override {
    return {"--timer-sweep-ms", "200", "--contract-day-ms", "1000"};
  }
};

} // namespace

TEST_F(AuditTimerEndToEnd, ADeadlineRefundIsRecordedAsTheSystemsMoneyAction) {
  ws_client b{ep(), brand_.token};
  ws_client c{ep(), creator_.token};
  auto conv = b.request(json{{"type", "conversation.open"}, {"with", creator_.id}})["conversation"]["id"];
  auto offer = b.request(json{{"type", "offer.make"}, {"conversation", conv}, {"client_id", "o1"},
                              {"terms", json{{"amount", 5'000}, {"currency", "USD"}, {"delivery_days", 1},
                                             {"deliverables", json::array({json{{"type", "tiktok_duet"}, {"count", 1}}})}}}});
  ASSERT_EQ(offer["type"], "ok") << offer.dump();
  auto accepted = c.request(json{{"type", "offer.accept"}, {"conversation", conv}, {"offer", offer["seq"]}});
  ASSERT_EQ(accepted["type"], "ok") << accepted.dump();
  auto contract = accepted["contract"].get<std::string>();
  ASSERT_EQ(http_call(ep(), "POST", "/api/v1/contracts/" + contract + "/fund",
                      json{{"key", "f"}, {"payment_method", good_card}}.dump(), brand_.token)
              .status,
            200);
  // Nobody delivers: the deadline refunds the brand, by itself.
  entries("action=contract.timer", [&](const json& e) {
    return e["target"] == contract && e["actor"].is_null() && e["actor_role"] == "system"
           && e["outcome"] == "ok" && e["detail"]["to"] == "refunded";
  });
}

TEST_F(AuditEndToEnd, RoleChangesExportsErasuresAndCodeLoginsAreRecorded) {
  // An admin's role change over REST, and a refused one by a brand.
  auto changed = http_call(ep(), "PUT", "/api/v1/admin/users/" + creator_.id + "/role",
                           json{{"role", "moderator"}}.dump(), admin_.token);
  ASSERT_EQ(changed.status, 200) << changed.body;
  auto refused = http_call(ep(), "PUT", "/api/v1/admin/users/" + creator_.id + "/role",
                           json{{"role", "admin"}}.dump(), brand_.token);
  ASSERT_EQ(refused.status, 403) << refused.body;
  entries("action=role.change&actor=" + admin_.id, [&](const json& e) {
    return e["target"] == creator_.id && e["outcome"] == "ok" && e["actor_role"] == "admin"
           && e["address"] == "127.0.0.1" && e["detail"]["role"] == "moderator";
  });
  entries("action=role.change&actor=" + brand_.id, [&](const json& e) {
    return e["target"] == creator_.id && e["outcome"] == "forbidden" && e["address"] == "127.0.0.1";
  });

  // An export, by the user from the client's address.
  ASSERT_EQ(http_call(ep(), "GET", "/api/v1/users/me/export", "", brand_.token).status, 200);
  entries("action=user.export&actor=" + brand_.id, [&](const json& e) {
    return e["target"] == brand_.id && e["outcome"] == "ok" && e["address"] == "127.0.0.1";
  });

  // Code logins: a wrong code (anonymous, by the email's hash), then the mailed one.
  auto coder = make_account(ep(), "creator", "Kim");
  auto code_for = [&](const std::string& email) {
    auto asked = http_call(ep(), "POST", "/api/v1/users/login/code", json{{"email", email}}.dump());
    EXPECT_EQ(asked.status, 202) << asked.body;
  };
  auto before = pactum::test_support::last_mail_id(url());
  code_for(coder.email);
  auto code = mailed_code(coder.email, before);
  ASSERT_EQ(code.size(), 6u);
  auto wrong = http_call(ep(), "POST", "/api/v1/users/login/code/verify",
                         json{{"email", coder.email}, {"code", code == "000000" ? "000001" : "000000"}}.dump());
  ASSERT_EQ(wrong.status, 401) << wrong.body;
  auto failures = entries("action=login_code.verify",
                          [&](const json& e) { return e["outcome"] == "unauthorized"; });
  for (auto& e : failures)
    if (e["outcome"] == "unauthorized") {
      EXPECT_TRUE(e["actor"].is_null());
      EXPECT_EQ(e["actor_role"], "anonymous");
      EXPECT_EQ(e["address"], "127.0.0.1");
      EXPECT_EQ(e["detail"]["email_hash"].get<std::string>().size(), 64u);
      EXPECT_EQ(e.dump().find(coder.email), std::string::npos) << "no email in the audit log";
    }
  auto in = http_call(ep(), "POST", "/api/v1/users/login/code/verify",
                      json{{"email", coder.email}, {"code", code}}.dump());
  ASSERT_EQ(in.status, 200) << in.body;
  entries("action=login_code.verify&actor=" + coder.id, [&](const json& e) {
    return e["outcome"] == "ok" && e["target"] == in.json_body()["session_id"]
           && e["address"] == "127.0.0.1" && e["actor_role"] == "creator";
  });

  // An erasure: recorded by account id, without the address, the name or the email.
  auto gone = make_account(ep(), "brand", "Gina");
  auto erased = http_call(ep(), "DELETE", "/api/v1/users/me", json{{"password", gone.password}}.dump(),
                          gone.token);
  ASSERT_EQ(erased.status, 200) << erased.body;
  auto rows = entries("action=user.erase&actor=" + gone.id,
                      [&](const json& e) { return e["target"] == gone.id && e["outcome"] == "ok"; });
  for (auto& e : rows) {
    EXPECT_EQ(e["address"], "");
    EXPECT_EQ(e["detail"], json::object());
    EXPECT_EQ(e.dump().find(gone.email), std::string::npos);
    EXPECT_EQ(e.dump().find("Gina"), std::string::npos);
  }
}
