// End to end: the anti-bypass guard in a live conversation, the moderators' queue, and roles
// granted by the operator command.

#include <algorithm>
#include <cstdlib>
#include <thread>

#include <gtest/gtest.h>

#include "pactum/sim/client.hpp"
#include "e2e_fixture.hpp"

using namespace pactum::sim;

namespace {

class GuardEndToEnd : public pactum::test_support::server_test {
protected:
  void start(const std::string& policy) { restart_with({"--contact-guard", policy}); }

  /// Runs `pactumd --set-role EMAIL=ROLE` against the test database, as an operator would.
  void set_role(const std::string& email, const std::string& role) {
    std::string cmd = std::string{std::getenv("PACTUMD_BIN")} + " --database-url '" + url()
                      + "' --log-level warn --set-role " + email + "=" + role;
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }

  json queue(const std::string& token) {
    auto r = http_call(ep(), "GET", "/api/v1/moderation/guard-hits", "", token);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json_body()["hits"];
  }
};

const std::string leak = "love it! whatsapp me on +44 7700 900123 and we can skip the fees";

json send(ws_client& c, const std::string& conv, const std::string& client_id, const std::string& text) {
  return c.request(json{{"type", "message.send"}, {"conversation", conv}, {"client_id", client_id},
                        {"text", text}});
}

} // namespace

TEST_F(GuardEndToEnd, ContactDetailsAreMaskedAndQueuedForModerators) {
  start("mask");
  auto brand = make_account(ep(), "brand", "Acme");
  auto creator = make_account(ep(), "creator", "Cleo");
  auto mod = make_account(ep(), "creator", "Mo");
  ws_client b{ep(), brand.token};
  ws_client c{ep(), creator.token};
  auto conv = b.request(json{{"type", "conversation.open"}, {"with", creator.id}})["conversation"]["id"]
                .get<std::string>();
  ASSERT_EQ(b.request(json{{"type", "subscribe"}, {"conversation", conv}})["type"], "ok");

  ASSERT_EQ(send(c, conv, "1", leak)["type"], "ok");
  ASSERT_EQ(send(c, conv, "2", "I can do 2 reels for $1,500, delivered by 12/05")["type"], "ok");
  std::vector<std::string> seen;
  while (seen.size() < 2) {
    auto ev = b.next_event(5s);
    ASSERT_TRUE(ev) << "the brand receives both messages";
    if ((*ev)["event"]["type"] == "message.posted")
      seen.push_back((*ev)["event"]["text"]);
  }
  EXPECT_EQ(seen[0].find("7700"), std::string::npos) << "the number never reaches the brand: " << seen[0];
  EXPECT_NE(seen[0].find("[hidden]"), std::string::npos) << seen[0];
  EXPECT_EQ(seen[1], "I can do 2 reels for $1,500, delivered by 12/05") << "ordinary talk is untouched";

  // Only moderators see the queue; the operator grants the role.
  EXPECT_EQ(http_call(ep(), "GET", "/api/v1/moderation/guard-hits", "", brand.token).status, 403);
  set_role(mod.email, "moderator");
  // The recording runs after the commit, off the conversation: give it a moment.
  json hits;
  for (int i = 0; i < 50 && hits.empty(); ++i) {
    hits = queue(mod.token);
    if (hits.empty())
      std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(hits.size(), 1u) << hits.dump();
  EXPECT_EQ(hits[0]["sender"], creator.id);
  EXPECT_EQ(hits[0]["action"], "masked");
  EXPECT_EQ(hits[0]["original"], leak) << "moderators see what was written";
  EXPECT_EQ(hits[0]["strikes"], 1);
  auto cats = hits[0]["categories"];
  EXPECT_NE(std::find(cats.begin(), cats.end(), "phone"), cats.end()) << cats.dump();

  auto id = std::to_string(hits[0]["id"].get<int64_t>());
  auto bad = http_call(ep(), "POST", "/api/v1/moderation/guard-hits/" + id + "/review",
                       json{{"verdict", "maybe"}}.dump(), mod.token);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(http_call(ep(), "POST", "/api/v1/moderation/guard-hits/" + id + "/review",
                      json{{"verdict", "confirmed"}}.dump(), brand.token).status, 403);
  EXPECT_EQ(http_call(ep(), "POST", "/api/v1/moderation/guard-hits/" + id + "/review",
                      json{{"verdict", "confirmed"}}.dump(), mod.token).status, 204);
  EXPECT_TRUE(queue(mod.token).empty()) << "reviewed findings leave the queue";
  EXPECT_EQ(http_call(ep(), "POST", "/api/v1/moderation/guard-hits/" + id + "/review",
                      json{{"verdict", "dismissed"}}.dump(), mod.token).status, 404)
    << "a finding is reviewed once";
}

TEST_F(GuardEndToEnd, TheBlockPolicyRefusesAndStillRecordsTheAttempt) {
  start("block");
  auto brand = make_account(ep(), "brand", "Acme");
  auto creator = make_account(ep(), "creator", "Cleo");
  auto mod = make_account(ep(), "brand", "Mo");
  set_role(mod.email, "moderator");
  ws_client b{ep(), brand.token};
  auto conv = b.request(json{{"type", "conversation.open"}, {"with", creator.id}})["conversation"]["id"]
                .get<std::string>();
  auto r = send(b, conv, "1", "pay the deposit to my paypal, acme.payments@gmail.com");
  EXPECT_EQ(r["code"], "content_blocked") << r.dump();
  auto h = b.request(json{{"type", "history"}, {"conversation", conv}});
  EXPECT_EQ(h["events"].size(), 1u) << "only the opening: nothing was stored";
  json hits;
  for (int i = 0; i < 50 && hits.empty(); ++i) {
    hits = queue(mod.token);
    if (hits.empty())
      std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0]["action"], "blocked");
  EXPECT_EQ(hits[0]["seq"], 0);
  EXPECT_EQ(hits[0]["sender"], brand.id);
}
