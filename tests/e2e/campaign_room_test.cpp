// End to end: campaign rooms (docs/protocol.md "Campaign rooms") against a real pactumd and
// PostgreSQL. The brand opens its campaign's room; two approved creators enter it; a message
// reaches all three live exactly once (a retry stores nothing new); a stranger is refused as for
// any conversation; an offer is refused; the contact guard still masks; the member limit holds;
// a creator who comes before the brand still finds the room; the room survives a restart.

#include <algorithm>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "e2e_fixture.hpp"
#include "pactum/sim/client.hpp"

using namespace pactum::sim;
using namespace std::chrono_literals;

namespace {

class CampaignRoomE2E : public pactum::test_support::server_test {
protected:
  /// Rooms of at most three: the brand and two creators.
  std::vector<std::string> server_args() const override { return {"--max-room-members", "3"}; }

  json ok(const http_reply& r, int status) {
    EXPECT_EQ(r.status, status) << r.body;
    return r.json_body();
  }

  http_reply call(const account& who, const std::string& method, const std::string& target,
                  const json& body = json()) {
    return http_call(ep(), method, target, body.is_null() ? std::string{} : body.dump(), who.token);
  }

  /// A published campaign of `brand`.
  std::string campaign(const account& brand, const std::string& key) {
    json d{{"title", "Autumn launch"},
           {"description", "Our new coat"},
           {"goals", {"awareness"}},
           {"budget", 1'000'000},
           {"currency", "EUR"},
           {"deliverables", {json{{"type", "tiktok_duet"}, {"count", 1}}}},
           {"collaboration_types", {"tiktok_duet"}},
           {"pricing", {{"model", "flat"}, {"rate", 0}}},
           {"brief", "Wear it"},
           {"key", key}};
    auto id = ok(call(brand, "POST", "/api/v1/brands/campaigns", d), 201)["campaign"]["id"].get<std::string>();
    ok(call(brand, "POST", "/api/v1/brands/campaigns/" + id + "/status", json{{"to", "publish"}, {"key", key + "p"}}), 200);
    return id;
  }

  /// `creator` applies to `id` and `brand` approves.
  void approve(const account& brand, const account& creator, const std::string& id) {
    auto app = ok(call(creator, "POST", "/api/v1/influencers/campaigns/" + id + "/apply",
                       json{{"key", "a-" + creator.id}, {"proposal", "One duet"}, {"amount", 100}}),
                  201)["application"]
                 .get<int64_t>();
    ok(call(brand, "PUT", "/api/v1/brands/campaigns/" + id + "/applications/" + std::to_string(app),
            json{{"key", "d-" + creator.id}, {"outcome", "approved"}}),
       200);
  }

  static json room(ws_client& c, const std::string& campaign) {
    return c.request(json{{"type", "campaign.room"}, {"campaign", campaign}});
  }

  /// The texts of the room's messages in `history`, by author (the last one each).
  static std::map<std::string, std::string> history_texts(ws_client& c, const std::string& conv) {
    std::map<std::string, std::string> out;
    auto h = c.request(json{{"type", "history"}, {"conversation", conv}, {"limit", 50}});
    for (auto& item : h["events"])
      if (item["event"].value("type", "") == "message.posted")
        out[item["event"].value("author", "")] = item["event"].value("text", "");
    return out;
  }

  /// The message.posted events on `stream` that arrive within `wait`, by client_id.
  /// The `message.posted` pushes on `stream` by client_id: read until each of `expected` has
  /// arrived (at most 10 s), then 300 ms more, so that a duplicate would be counted too.
  static std::map<std::string, int> posted(ws_client& c, const std::string& stream,
                                           const std::vector<std::string>& expected) {
    std::map<std::string, int> out;
    auto all_seen = [&] {
      return std::all_of(expected.begin(), expected.end(), [&](const std::string& id) { return out.count(id) > 0; });
    };
    auto deadline = std::chrono::steady_clock::now() + 10s;
    bool draining = false;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!draining && all_seen()) {
        draining = true;
        deadline = std::chrono::steady_clock::now() + 300ms;
      }
      auto ev = c.next_event(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
      if (!ev)
        break;
      if (ev->value("stream", "") == stream && (*ev)["event"].value("type", "") == "message.posted")
        ++out[(*ev)["event"].value("client_id", "")];
    }
    return out;
  }
};

} // namespace

TEST_F(CampaignRoomE2E, BrandAndApprovedCreatorsChatInTheRoomStrangersAndOffersAreRefused) {
  auto brand = make_account(ep(), "brand", "Coats");
  auto ann = make_account(ep(), "creator", "Ann");
  auto bob = make_account(ep(), "creator", "Bob");
  auto cid = make_account(ep(), "creator", "Cid");
  auto eve = make_account(ep(), "creator", "Eve"); // never applied: a stranger
  auto id = campaign(brand, "c-1");
  approve(brand, ann, id);
  approve(brand, bob, id);
  approve(brand, cid, id);

  ws_client b{ep(), brand.token}, a{ep(), ann.token}, o{ep(), bob.token}, c{ep(), cid.token}, e{ep(), eve.token};
  // The brand opens the room; asking again finds the same room and changes nothing.
  auto opened = room(b, id);
  ASSERT_EQ(opened["type"], "ok") << opened.dump();
  EXPECT_EQ(opened["joined"], true);
  EXPECT_EQ(opened["campaign"], id);
  auto conv = opened["conversation"].get<std::string>();
  auto again = room(b, id);
  EXPECT_EQ(again["conversation"], conv);
  EXPECT_EQ(again["joined"], false);

  // Two approved creators enter; the third is over the limit (brand + 2).
  auto ra = room(a, id);
  ASSERT_EQ(ra["type"], "ok") << ra.dump();
  EXPECT_EQ(ra["conversation"], conv);
  EXPECT_EQ(ra["joined"], true);
  ASSERT_EQ(room(o, id)["joined"], true);
  auto full = room(c, id);
  EXPECT_EQ(full["type"], "error") << full.dump();
  EXPECT_EQ(full["code"], "limit_reached");

  // A stranger to the campaign gets what a missing campaign gets, and in the room what any
  // stranger to a conversation gets.
  auto by_stranger = room(e, id);
  EXPECT_EQ(by_stranger["code"], "not_found") << by_stranger.dump();
  auto missing = room(e, "01890000-0000-7000-8000-000000000000");
  EXPECT_EQ(missing["code"], "not_found");
  EXPECT_EQ(by_stranger["message"], missing["message"]);
  auto stranger_send = e.request(json{{"type", "message.send"}, {"conversation", conv}, {"client_id", "x"}, {"text", "hi"}});
  EXPECT_EQ(stranger_send["code"], "forbidden") << stranger_send.dump();
  EXPECT_EQ(e.request(json{{"type", "subscribe"}, {"conversation", conv}, {"after", 0}})["code"], "forbidden");
  EXPECT_EQ(c.request(json{{"type", "subscribe"}, {"conversation", conv}, {"after", 0}})["code"], "forbidden");

  // All three members live; the brand's message reaches each of them exactly once.
  auto stream = "conversation:" + conv;
  for (auto* ws : {&b, &a, &o}) {
    auto sub = ws->request(json{{"type", "subscribe"}, {"conversation", conv}, {"after", 0}});
    ASSERT_EQ(sub["type"], "ok") << sub.dump();
  }
  auto sent = b.request(json{{"type", "message.send"}, {"conversation", conv}, {"client_id", "brief-1"},
                             {"text", "Shoot on Friday, everyone"}});
  ASSERT_EQ(sent["type"], "ok") << sent.dump();
  EXPECT_EQ(sent["duplicate"], false);
  auto retry = b.request(json{{"type", "message.send"}, {"conversation", conv}, {"client_id", "brief-1"},
                              {"text", "Shoot on Friday, everyone"}});
  EXPECT_EQ(retry["duplicate"], true);
  EXPECT_EQ(retry["seq"], sent["seq"]);
  auto reply = a.request(json{{"type", "message.send"}, {"conversation", conv}, {"client_id", "ann-1"}, {"text", "Got it"}});
  ASSERT_EQ(reply["type"], "ok") << reply.dump();
  for (auto* ws : {&b, &a, &o}) {
    auto seen = posted(*ws, stream, {"brief-1", "ann-1"});
    EXPECT_EQ(seen["brief-1"], 1);
    EXPECT_EQ(seen["ann-1"], 1);
    EXPECT_EQ(seen.size(), 2u);
  }

  // Offers belong in the brand-creator conversation, not the room.
  auto offer = b.request(json{{"type", "offer.make"}, {"conversation", conv}, {"client_id", "o-1"},
                              {"terms", {{"amount", 5000}, {"currency", "EUR"},
                                         {"deliverables", {json{{"type", "tiktok_duet"}, {"count", 1}, {"brief", "x"}}}}}}});
  EXPECT_EQ(offer["code"], "forbidden") << offer.dump();
  EXPECT_NE(offer.value("message", "").find("campaign room"), std::string::npos) << offer.dump();

  // The contact guard still applies (default: mask) to every member.
  auto leak = o.request(json{{"type", "message.send"}, {"conversation", conv}, {"client_id", "bob-1"},
                             {"text", "mail me: bob@example.com"}});
  ASSERT_EQ(leak["type"], "ok") << leak.dump();
  auto shown = pactum::test_support::wait_event(
    a, [&](const json& ev) { return ev.value("stream", "") == stream && ev["event"].value("client_id", "") == "bob-1"; }, 5s);
  ASSERT_TRUE(shown.has_value());
  EXPECT_EQ((*shown)["event"]["text"].get<std::string>().find("bob@example.com"), std::string::npos);

  // Read marks and history work for room members.
  EXPECT_EQ(a.request(json{{"type", "read"}, {"conversation", conv}, {"seq", sent["seq"]}})["type"], "ok");
  auto hist = o.request(json{{"type", "history"}, {"conversation", conv}, {"limit", 50}});
  ASSERT_EQ(hist["type"], "ok") << hist.dump();
  EXPECT_EQ(hist["events"][0]["event"]["type"], "room.opened");

  // After a restart the room, its members and the limit are as they were.
  a.close();
  b.close();
  o.close();
  c.close();
  e.close();
  restart_with({"--max-room-members", "3"});
  ws_client a2{ep(), ann.token}, c2{ep(), cid.token};
  auto back = room(a2, id);
  EXPECT_EQ(back["conversation"], conv);
  EXPECT_EQ(back["joined"], false) << back.dump();
  EXPECT_EQ(room(c2, id)["code"], "limit_reached");
}

TEST_F(CampaignRoomE2E, ACreatorWhoComesFirstFindsTheRoomOpen) {
  auto brand = make_account(ep(), "brand", "Shoes");
  auto ann = make_account(ep(), "creator", "Ann");
  auto id = campaign(brand, "c-2");
  ws_client a{ep(), ann.token};
  // Not approved yet: refused like a stranger.
  EXPECT_EQ(room(a, id)["code"], "not_found");
  approve(brand, ann, id);
  auto first = room(a, id);
  ASSERT_EQ(first["type"], "ok") << first.dump();
  EXPECT_EQ(first["joined"], true);
  ws_client b{ep(), brand.token};
  auto then = room(b, id);
  EXPECT_EQ(then["conversation"], first["conversation"]);
  EXPECT_EQ(then["joined"], false);
  auto hist = a.request(json{{"type", "history"}, {"conversation", first["conversation"]}, {"limit", 10}});
  ASSERT_EQ(hist["events"].size(), 2u) << hist.dump();
  EXPECT_EQ(hist["events"][0]["event"]["type"], "room.opened");
  EXPECT_EQ(hist["events"][1]["event"]["type"], "member.joined");
  EXPECT_EQ(hist["events"][1]["event"]["member"], ann.id);
}

// Privacy: a member's export holds the room; after the member erases their account, the room
// (live, with subscribers) no longer shows what they wrote.
TEST_F(CampaignRoomE2E, ExportHoldsTheRoomAndErasureReachesIt) {
  auto brand = make_account(ep(), "brand", "Hats");
  auto ann = make_account(ep(), "creator", "Ann");
  auto id = campaign(brand, "c-3");
  approve(brand, ann, id);
  ws_client b{ep(), brand.token}, a{ep(), ann.token};
  auto conv = room(b, id)["conversation"].get<std::string>();
  ASSERT_EQ(room(a, id)["joined"], true);
  ASSERT_EQ(b.request(json{{"type", "subscribe"}, {"conversation", conv}, {"after", 0}})["type"], "ok");
  ASSERT_EQ(a.request(json{{"type", "message.send"}, {"conversation", conv}, {"client_id", "a-1"},
                           {"text", "my private note"}})["type"], "ok");
  auto seen = history_texts(b, conv);
  ASSERT_EQ(seen[ann.id], "my private note");

  auto exported = http_call(ep(), "GET", "/api/v1/users/me/export", "", ann.token);
  ASSERT_EQ(exported.status, 200) << exported.body;
  auto doc = exported.json_body(); // kept: the loop below walks inside it
  bool found = false;
  for (auto& c : doc["conversations"])
    if (c["id"] == conv) {
      found = true;
      EXPECT_GE(c["events"].size(), 3u) << c.dump(); // room.opened, member.joined, message.posted
    }
  EXPECT_TRUE(found) << "the export lists the room";

  a.close();
  auto erased = http_call(ep(), "DELETE", "/api/v1/users/me", json{{"password", ann.password}}.dump(), ann.token);
  ASSERT_EQ(erased.status, 200) << erased.body;
  std::map<std::string, std::string> after;
  for (int i = 0; i < 150; ++i) { // the room restarts from its (sealed) journal
    after = history_texts(b, conv);
    if (after.count(ann.id) && after[ann.id].empty())
      break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(after[ann.id], "") << "the erased member's text is gone from the room";
}
