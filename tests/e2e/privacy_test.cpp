// End to end: privacy. A user exports their data, erases their account, and afterwards nothing
// personal of theirs is left readable anywhere: not in the journal, the snapshots, any read model
// or the server's log, while their counterparty's history still loads (their messages shown as
// erased) and the ledger still balances. Also: events written before sealing existed still load,
// an erasure waits while money is in flight, and consents are recorded with version and time.

#include <cctype>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pactum/sim/client.hpp"
#include "e2e_fixture.hpp"

using namespace pactum::sim;

namespace {

std::string token_of_length(size_t n) {
  static std::mt19937_64 rng{std::random_device{}()};
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz";
  std::string out;
  for (size_t i = 0; i < n; ++i)
    out += alphabet[rng() % 26];
  return out;
}

class PrivacyEndToEnd : public pactum::test_support::server_test {
protected:
  void SetUp() override {
    server_test::SetUp();
    if (HasFatalFailure())
      return;
    tag_ = token_of_length(10);
    // Amelia registers with consents, by hand: her email and name are what must vanish.
    amelia_.email = "amelia." + tag_ + "@example.com";
    amelia_.password = "correct horse " + tag_;
    amelia_name_ = "Amelia Zorander " + tag_;
    auto reg = http_call(ep(), "POST", "/api/v1/users/register",
                         json{{"email", amelia_.email},
                              {"password", amelia_.password},
                              {"display_name", amelia_name_},
                              {"role", "brand"},
                              {"consents", json{{"terms", "2026-01"}, {"marketing", false}}}}
                           .dump());
    ASSERT_EQ(reg.status, 201) << reg.body;
    amelia_.id = reg.json_body()["user"]["id"];
    amelia_.token = login(amelia_.email, amelia_.password);
    ASSERT_FALSE(amelia_.token.empty());
    bruno_ = make_account(ep(), "creator", "Bruno");
  }

  std::string login(const std::string& email, const std::string& password) {
    auto r = http_call(ep(), "POST", "/api/v1/users/login",
                       json{{"email", email}, {"password", password}}.dump());
    return r.status == 200 ? r.json_body()["token"].get<std::string>() : std::string{};
  }

  static std::vector<json> history(ws_client& c, const std::string& conv) {
    auto r = c.request(json{{"type", "history"}, {"conversation", conv}, {"limit", 200}});
    EXPECT_EQ(r["type"], "ok") << r.dump();
    std::vector<json> out;
    for (auto& item : r["events"])
      out.push_back(item["event"]);
    return out;
  }

  /// Every place in the database (any column of any table) holding `needle`, as "table.column".
  /// bytea columns (journal and snapshot payloads) are searched for the needle's raw bytes.
  std::vector<std::string> found_in_database(const std::string& needle) {
    pqxx::connection conn{url()};
    pqxx::work tx{conn};
    auto cols = tx.exec("select table_name, column_name, data_type from information_schema.columns"
                        " where table_schema = 'public' order by table_name, column_name");
    std::vector<std::string> out;
    for (const auto& c : cols) {
      auto table = c[0].as<std::string>();
      auto column = c[1].as<std::string>();
      auto where = c[2].as<std::string>() == "bytea"
                     ? "position(convert_to($1, 'UTF8') in " + tx.quote_name(column) + ") > 0"
                     : "strpos(" + tx.quote_name(column) + "::text, $1) > 0";
      auto n = tx.exec_params("select count(*) from " + tx.quote_name(table) + " where " + where,
                              needle)[0][0]
                 .as<int64_t>();
      if (n > 0)
        out.push_back(table + "." + column);
    }
    return out;
  }

  int ledger_check() {
    std::string cmd = std::string{std::getenv("PACTUMD_BIN")} + " --database-url '" + url()
                      + "' --log-level warn --ledger-check > /dev/null";
    int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }

  http_reply erase(const std::string& token, const std::string& password) {
    return http_call(ep(), "DELETE", "/api/v1/users/me", json{{"password", password}}.dump(), token);
  }

  std::string tag_;
  account amelia_;
  std::string amelia_name_;
  account bruno_;
};

TEST_F(PrivacyEndToEnd, ExportThenErasureLeavesNoPersonalDataButKeepsTheHistoryWhole) {
  auto text1 = "launch plan " + tag_ + " alpha";
  auto text2 = "edited plan " + tag_ + " beta";
  auto brief = "film at my studio " + tag_ + " gamma";
  auto reply = "sounds good " + tag_ + " delta";

  ws_client a{ep(), amelia_.token};
  ws_client b{ep(), bruno_.token};
  auto open = a.request(json{{"type", "conversation.open"}, {"with", bruno_.id}});
  ASSERT_EQ(open["type"], "ok") << open.dump();
  std::string conv = open["conversation"]["id"];
  auto m1 = a.request(json{{"type", "message.send"}, {"conversation", conv}, {"client_id", "a1"}, {"text", text1}});
  ASSERT_EQ(m1["type"], "ok") << m1.dump();
  auto m2 = b.request(json{{"type", "message.send"}, {"conversation", conv}, {"client_id", "b1"}, {"text", reply}});
  ASSERT_EQ(m2["type"], "ok") << m2.dump();
  auto edit = a.request(json{{"type", "message.edit"}, {"conversation", conv}, {"seq", m1["seq"]}, {"text", text2}});
  ASSERT_EQ(edit["type"], "ok") << edit.dump();
  auto offer = a.request(json{{"type", "offer.make"},
                              {"conversation", conv},
                              {"client_id", "o1"},
                              {"terms", json{{"amount", 25'000},
                                             {"currency", "USD"},
                                             {"deliverables", json::array({json{{"type", "tiktok_duet"}, {"count", 1}, {"brief", brief}}})}}}});
  ASSERT_EQ(offer["type"], "ok") << offer.dump();

  // The search works (Bruno's account row holds his email), and messages are sealed at rest
  // already: the journal holds no message text in the clear.
  auto stored_email = bruno_.email; // stored lower-cased (make_account's names have capitals)
  for (auto& ch : stored_email)
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  EXPECT_EQ(found_in_database(stored_email), std::vector<std::string>{"users.email"});
  EXPECT_TRUE(found_in_database(text1).empty());
  EXPECT_TRUE(found_in_database(reply).empty());
  EXPECT_TRUE(found_in_database(brief).empty());

  // The export: everything of Amelia's, decrypted.
  auto exported = http_call(ep(), "GET", "/api/v1/users/me/export", "", amelia_.token);
  ASSERT_EQ(exported.status, 200) << exported.body;
  auto doc = exported.json_body();
  EXPECT_EQ(doc["account"]["email"], amelia_.email);
  EXPECT_EQ(doc["account"]["display_name"], amelia_name_);
  EXPECT_EQ(doc["consents"].size(), 2u);
  bool terms_found = false;
  for (auto& c : doc["consents"])
    if (c["kind"] == "terms") {
      terms_found = true;
      EXPECT_EQ(c["version"], "2026-01");
      EXPECT_EQ(c["granted"], true);
    }
  EXPECT_TRUE(terms_found);
  EXPECT_EQ(doc["sessions"].size(), 1u);
  EXPECT_EQ(exported.body.find("token_hash"), std::string::npos);
  ASSERT_EQ(doc["conversations"].size(), 1u);
  for (auto& s : {text1, text2, brief, reply})
    EXPECT_NE(exported.body.find(s), std::string::npos) << s << " missing from the export";
  EXPECT_EQ(doc["truncated"], false);

  // Personal data outside the journal too: a brand profile with a contact, and a login code
  // mailed to her address (the outbox holds the address and the code).
  auto contact_name = "Amelia Contact " + tag_;
  json profile{{"company_name", "Zorander Goods " + tag_},
               {"industry", "Retail"},
               {"website", "https://zorander.example"},
               {"budget", {{"min", 100'000}, {"max", 500'000}, {"currency", "EUR"}}},
               {"contact", {{"name", contact_name}, {"email", "deals@zorander.example"}, {"phone", "+49 30 1234 5678"}}},
               {"country", "DE"}};
  auto put = http_call(ep(), "PUT", "/api/v1/brands/profile", profile.dump(), amelia_.token);
  ASSERT_EQ(put.status, 200) << put.body;
  ASSERT_EQ(http_call(ep(), "POST", "/api/v1/users/login/code", json{{"email", amelia_.email}}.dump()).status,
            202);
  {
    auto lower = amelia_.email; // the code is stored after the answer: wait for its mail
    for (auto& ch : lower)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    bool mailed = false;
    for (int i = 0; i < 100 && !mailed; ++i) {
      pqxx::connection db{url()};
      pqxx::nontransaction tx{db};
      mailed = tx.exec_params("select 1 from mail_outbox where to_address = $1", lower).size() > 0;
      if (!mailed)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(mailed) << "no login code mailed";
  }

  // The erasure: confirmed with the password.
  EXPECT_EQ(erase(amelia_.token, "not my password").status, 403);
  auto erased = erase(amelia_.token, amelia_.password);
  ASSERT_EQ(erased.status, 200) << erased.body;
  std::string pseudonym = erased.json_body()["pseudonym"];
  EXPECT_EQ(pseudonym.rfind("Deleted user ", 0), 0u) << pseudonym;

  // Her sockets close, her tokens and password stop working.
  EXPECT_TRUE(a.wait_closed(std::chrono::seconds(2)));
  EXPECT_EQ(a.close_code(), 4003);
  EXPECT_EQ(http_call(ep(), "GET", "/api/v1/users/me/export", "", amelia_.token).status, 401);
  EXPECT_EQ(http_call(ep(), "GET", "/api/v1/users/me/sessions", "", amelia_.token).status, 401);
  EXPECT_TRUE(login(amelia_.email, amelia_.password).empty());

  // Her profile is gone.
  EXPECT_EQ(http_call(ep(), "GET", "/api/v1/brands/" + amelia_.id, "", bruno_.token).status, 404);

  // Bruno's history still loads, Amelia's contributions shown as erased, his own intact.
  auto events = history(b, conv);
  bool saw_hers = false, saw_his = false, saw_offer = false;
  for (auto& e : events) {
    if (e["type"] == "message.posted" && e["author"] == amelia_.id) {
      saw_hers = true;
      EXPECT_EQ(e["text"], "");
      EXPECT_EQ(e.value("erased", false), true);
    }
    if (e["type"] == "message.posted" && e["author"] == bruno_.id) {
      saw_his = true;
      EXPECT_EQ(e["text"], reply);
    }
    if (e["type"] == "message.edited") {
      EXPECT_EQ(e["text"], "");
    }
    if (e["type"] == "offer.made") {
      saw_offer = true;
      EXPECT_EQ(e["terms"]["amount"], 25'000);
      EXPECT_EQ(e["terms"]["deliverables"][0]["brief"], "");
    }
  }
  EXPECT_TRUE(saw_hers && saw_his && saw_offer);
  // Bruno can still write in the conversation (the live actor was restarted from the journal).
  auto after = b.request(json{{"type", "message.send"}, {"conversation", conv}, {"client_id", "b2"}, {"text", "still here"}});
  EXPECT_EQ(after["type"], "ok") << after.dump();

  // Nothing personal of hers anywhere: journal, snapshots, read models, the log.
  server_->stop(); // the log is complete, every snapshot written
  auto stored_amelia = amelia_.email; // stored (and mailed) lower-cased
  for (auto& ch : stored_amelia)
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (auto& needle : {amelia_.email, stored_amelia, amelia_name_, text1, text2, brief, contact_name,
                       std::string{"Zorander Goods "} + tag_}) {
    auto where = found_in_database(needle);
    EXPECT_TRUE(where.empty()) << needle << " still in " << ::testing::PrintToString(where);
    EXPECT_EQ(server_->log().find(needle), std::string::npos) << needle << " in the log";
  }
  EXPECT_EQ(ledger_check(), 0);
  server_->start();
  // The erasure is recorded (without personal data), and she cannot be erased twice.
  pqxx::connection conn{url()};
  pqxx::work tx{conn};
  auto proof = tx.exec_params("select pseudonym from user_erasures where user_id = $1", amelia_.id);
  ASSERT_EQ(proof.size(), 1u);
  EXPECT_EQ(proof[0][0].as<std::string>(), pseudonym);
  EXPECT_EQ(tx.exec_params("select count(*) from user_keys where user_id = $1", amelia_.id)[0][0].as<int>(), 0);
  // After a restart (keys reloaded from storage), Bruno's history loads the same way.
  ws_client b2{ep(), bruno_.token};
  for (auto& e : history(b2, conv)) {
    if (e["type"] == "message.posted" && e["author"] == amelia_.id) {
      EXPECT_EQ(e["text"], "");
    }
  }
}

TEST_F(PrivacyEndToEnd, EventsWrittenBeforeSealingStillLoad) {
  ws_client a{ep(), amelia_.token};
  auto open = a.request(json{{"type", "conversation.open"}, {"with", bruno_.id}});
  ASSERT_EQ(open["type"], "ok");
  std::string conv = open["conversation"]["id"];
  auto m = a.request(json{{"type", "message.send"}, {"conversation", conv}, {"client_id", "n1"}, {"text", "sealed " + tag_}});
  ASSERT_EQ(m["type"], "ok");
  a.close();
  server_->stop();
  {
    // A version-1 message.posted as an older pactumd wrote it: plaintext, no "sealed" field.
    auto old = json{{"type", "message.posted"}, {"author", bruno_.id}, {"client_id", "old-1"},
                    {"text", "written in 2025 " + tag_}, {"at", 1'750'000'000'000}};
    auto bytes = json::to_msgpack(old);
    pqxx::connection conn{url()};
    pqxx::work tx{conn};
    tx.exec_params("insert into journal (entity_id, seq, entity_type, event_type, version, payload)"
                   " values ($1, $2, 'conversation', 'message.posted', 1, $3)",
                   conv, m["seq"].get<int64_t>() + 1,
                   pqxx::binarystring{std::string{bytes.begin(), bytes.end()}});
    tx.commit();
  }
  server_->start();
  ws_client b{ep(), bruno_.token};
  auto events = history(b, conv);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events[1]["text"], "sealed " + tag_);
  EXPECT_EQ(events[2]["text"], "written in 2025 " + tag_);
  auto next = b.request(json{{"type", "message.send"}, {"conversation", conv}, {"client_id", "n2"}, {"text", "after"}});
  EXPECT_EQ(next["type"], "ok") << next.dump();
}

TEST_F(PrivacyEndToEnd, ErasureWaitsWhileAContractHoldsMoney) {
  ws_client a{ep(), amelia_.token};
  ws_client b{ep(), bruno_.token};
  std::string conv = a.request(json{{"type", "conversation.open"}, {"with", bruno_.id}})["conversation"]["id"];
  auto offer = a.request(json{{"type", "offer.make"},
                              {"conversation", conv},
                              {"client_id", "o1"},
                              {"terms", json{{"amount", 10'000}, {"currency", "USD"},
                                             {"deliverables", json::array({json{{"type", "tiktok_duet"}, {"count", 1}}})}}}});
  ASSERT_EQ(offer["type"], "ok") << offer.dump();
  auto accepted = b.request(json{{"type", "offer.accept"}, {"conversation", conv}, {"offer", offer["seq"]}});
  ASSERT_EQ(accepted["type"], "ok") << accepted.dump();
  std::string contract = accepted["contract"];
  auto fund = http_call(ep(), "POST", "/api/v1/contracts/" + contract + "/fund",
                        json{{"key", "f1"}, {"payment_method", "4242424242424242"}}.dump(), amelia_.token);
  ASSERT_EQ(fund.status, 200) << fund.body;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  std::string status;
  while (status != "funded" && std::chrono::steady_clock::now() < deadline) {
    status = http_call(ep(), "GET", "/api/v1/contracts/" + contract, "", amelia_.token).json_body()["status"];
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(status, "funded");
  auto refused = erase(amelia_.token, amelia_.password);
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_EQ(refused.json_body()["error"]["code"], "conflict");
  // Nothing was erased: she can still log in and export.
  EXPECT_FALSE(login(amelia_.email, amelia_.password).empty());
  EXPECT_EQ(http_call(ep(), "GET", "/api/v1/users/me/export", "", amelia_.token).status, 200);
  EXPECT_EQ(ledger_check(), 0);
}

TEST_F(PrivacyEndToEnd, ConsentsAreRecordedWithVersionAndTime) {
  auto got = http_call(ep(), "GET", "/api/v1/users/me/consents", "", amelia_.token);
  ASSERT_EQ(got.status, 200) << got.body;
  auto body = got.json_body();
  EXPECT_EQ(body["consents"]["terms"]["version"], "2026-01");
  EXPECT_EQ(body["consents"]["terms"]["granted"], true);
  EXPECT_EQ(body["consents"]["marketing"]["granted"], false);
  EXPECT_GT(body["consents"]["terms"]["at"].get<int64_t>(), 0);

  auto put = http_call(ep(), "PUT", "/api/v1/users/me/consents",
                       json{{"consents", json{{"marketing", json{{"version", "2026-02"}, {"granted", true}}}}}}.dump(),
                       amelia_.token);
  ASSERT_EQ(put.status, 200) << put.body;
  body = put.json_body();
  EXPECT_EQ(body["consents"]["marketing"]["granted"], true);
  EXPECT_EQ(body["consents"]["marketing"]["version"], "2026-02");
  EXPECT_EQ(body["history"].size(), 3u) << "every change is kept";

  auto bad = http_call(ep(), "PUT", "/api/v1/users/me/consents",
                       json{{"consents", json{{"Not A Kind", true}}}}.dump(), amelia_.token);
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(http_call(ep(), "GET", "/api/v1/users/me/consents", "", "").status, 401);
  auto reg = http_call(ep(), "POST", "/api/v1/users/register",
                       json{{"email", "x" + tag_ + "@example.com"}, {"password", "long enough password"},
                            {"display_name", "X"}, {"role", "creator"}, {"consents", json{{"terms", 5}}}}
                         .dump());
  EXPECT_EQ(reg.status, 400) << reg.body;
}

} // namespace
