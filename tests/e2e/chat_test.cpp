// End to end: a real pactumd process, real PostgreSQL, real WebSocket and HTTP clients.

#include <cmath>
#include <cstdlib>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "pactum/common/uuid.hpp"
#include "pactum/sim/client.hpp"
#include "e2e_fixture.hpp"

using namespace pactum;
using namespace pactum::sim;
using pactum::test_support::pactumd_process;
using pactum::test_support::wait_event;

namespace {

class ChatEndToEnd : public pactum::test_support::server_test {
protected:

  /// Brand opens a conversation with creator; returns its id.
  std::string open_conversation(ws_client& brand, const account& creator) {
    auto r = brand.request(json{{"type", "conversation.open"}, {"with", creator.id}});
    EXPECT_EQ(r["type"], "ok") << r.dump();
    return r["conversation"]["id"].get<std::string>();
  }

  /// Waits for the next event on `stream` (skipping events of other streams).
  static json next_on(ws_client& c, const std::string& stream, std::chrono::milliseconds t = 5s) {
    if (auto ev = wait_event(c, [&](const json& e) { return e["stream"] == stream; }, t))
      return *ev;
    ADD_FAILURE() << "no event on " << stream;
    return nullptr;
  }
};

json send_msg(ws_client& c, const std::string& conv, const std::string& client_id,
              const std::string& text) {
  return c.request(json{{"type", "message.send"},
                        {"conversation", conv},
                        {"client_id", client_id},
                        {"text", text}});
}

} // namespace

TEST_F(ChatEndToEnd, HealthzChecksTheDatabase) {
  auto r = http_call(ep(), "GET", "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json_body()["status"], "ok");
}

TEST_F(ChatEndToEnd, RegistrationValidatesFieldsAndLoginDoesNotTellWhichPartWasWrong) {
  auto bad = http_call(ep(), "POST", "/api/v1/users/register",
                       json{{"email", "not-an-email"}, {"password", "short"}, {"display_name", ""}, {"role", "admin"}}.dump());
  EXPECT_EQ(bad.status, 400);
  auto fields = bad.json_body()["error"]["fields"];
  EXPECT_TRUE(fields.contains("email"));
  EXPECT_TRUE(fields.contains("password"));
  EXPECT_TRUE(fields.contains("display_name"));
  EXPECT_TRUE(fields.contains("role")) << "admins cannot sign themselves up";

  auto a = make_account(ep(), "brand", "Acme");
  auto dup = http_call(ep(), "POST", "/api/v1/users/register",
                       json{{"email", "  " + a.email + " "}, {"password", "another good one"}, {"display_name", "X"}, {"role", "creator"}}.dump());
  EXPECT_EQ(dup.status, 409) << "emails are normalised before the uniqueness check";

  auto wrong_pw = http_call(ep(), "POST", "/api/v1/users/login", json{{"email", a.email}, {"password", "wrong password!"}}.dump());
  auto no_user = http_call(ep(), "POST", "/api/v1/users/login", json{{"email", "nobody@example.test"}, {"password", "wrong password!"}}.dump());
  EXPECT_EQ(wrong_pw.status, 401);
  EXPECT_EQ(no_user.status, 401);
  EXPECT_EQ(wrong_pw.json_body(), no_user.json_body()) << "no user enumeration through login errors";

  auto not_json = http_call(ep(), "POST", "/api/v1/users/login", "{", "", "application/json");
  EXPECT_EQ(not_json.status, 400);
  EXPECT_EQ(http_call(ep(), "GET", "/api/v1/users/login").status, 405);
  EXPECT_EQ(http_call(ep(), "GET", "/nope").status, 404);
}

TEST_F(ChatEndToEnd, UpgradeWithoutAValidTokenIsRefusedBeforeAny101) {
  try {
    ws_client c{ep(), ""};
    FAIL() << "upgrade without a token succeeded";
  } catch (const upgrade_refused& e) {
    EXPECT_EQ(e.status, 401);
  }
  try {
    ws_client c{ep(), std::string(43, 'A')};
    FAIL() << "upgrade with an unknown token succeeded";
  } catch (const upgrade_refused& e) {
    EXPECT_EQ(e.status, 401);
  }
}

TEST_F(ChatEndToEnd, AMessageCrossesBothWaysLiveInBothEncodings) {
  auto brand = make_account(ep(), "brand", "Acme");
  auto creator = make_account(ep(), "creator", "Cleo");
  ws_client b{ep(), brand.token, ws_client::mode::msgpack};
  ws_client c{ep(), creator.token, ws_client::mode::json};
  EXPECT_EQ(c.hello()["user"]["id"], creator.id);
  EXPECT_EQ(c.hello()["user"]["role"], "creator");
  EXPECT_EQ(c.hello()["limits"]["max_frame_bytes"], 65536);

  auto conv = open_conversation(b, creator);
  // The creator learns about the new conversation on their user stream.
  auto notice = next_on(c, "user:" + creator.id);
  EXPECT_EQ(notice["event"]["type"], "conversation.opened");
  EXPECT_EQ(notice["event"]["conversation"]["id"], conv);

  auto stream = "conversation:" + conv;
  auto sub_c = c.request(json{{"type", "subscribe"}, {"conversation", conv}, {"after", 0}});
  ASSERT_EQ(sub_c["type"], "ok") << sub_c.dump();
  EXPECT_EQ(sub_c["head"], 1);
  auto opened = next_on(c, stream);
  EXPECT_EQ(opened["seq"], 1);
  EXPECT_EQ(opened["event"]["type"], "conversation.opened");
  ASSERT_EQ(b.request(json{{"type", "subscribe"}, {"conversation", conv}, {"after", 1}})["type"], "ok");

  auto ack = send_msg(b, conv, "b-1", "Hi Cleo, want to work together?");
  ASSERT_EQ(ack["type"], "ok") << ack.dump();
  EXPECT_EQ(ack["seq"], 2);
  EXPECT_EQ(ack["duplicate"], false);
  auto got = next_on(c, stream);
  EXPECT_EQ(got["seq"], 2);
  EXPECT_EQ(got["event"]["type"], "message.posted");
  EXPECT_EQ(got["event"]["text"], "Hi Cleo, want to work together?");
  EXPECT_EQ(got["event"]["author"], brand.id);
  EXPECT_EQ(got["event"]["client_id"], "b-1");

  auto ack2 = send_msg(c, conv, "c-1", "Sure! 🎉");
  ASSERT_EQ(ack2["type"], "ok");
  EXPECT_EQ(ack2["seq"], 3);
  auto own = next_on(b, stream);
  EXPECT_EQ(own["seq"], 2) << "a member's sessions see their own messages too";
  auto back = next_on(b, stream);
  EXPECT_EQ(back["seq"], 3);
  EXPECT_EQ(back["event"]["text"], "Sure! 🎉");

  auto list = c.request(json{{"type", "conversation.list"}});
  ASSERT_EQ(list["conversations"].size(), 1u);
  EXPECT_EQ(list["conversations"][0]["head"], 3);
}

TEST_F(ChatEndToEnd, ARetriedSendReturnsTheFirstAckAndStoresNothingTwice) {
  auto brand = make_account(ep(), "brand", "Acme");
  auto creator = make_account(ep(), "creator", "Cleo");
  ws_client b{ep(), brand.token};
  auto conv = open_conversation(b, creator);
  auto first = send_msg(b, conv, "same-id", "once");
  auto again = send_msg(b, conv, "same-id", "once");
  ASSERT_EQ(first["type"], "ok");
  ASSERT_EQ(again["type"], "ok");
  EXPECT_EQ(again["seq"], first["seq"]);
  EXPECT_EQ(again["at"], first["at"]);
  EXPECT_EQ(again["duplicate"], true);
  // Several retries in flight at once still store one message.
  for (int i = 0; i < 5; ++i)
    b.send(json{{"type", "message.send"}, {"id", "burst" + std::to_string(i)}, {"conversation", conv}, {"client_id", "burst"}, {"text", "x"}});
  std::set<int64_t> seqs;
  for (int i = 0; i < 5; ++i) {
    auto r = b.wait_reply("burst" + std::to_string(i));
    ASSERT_TRUE(r);
    seqs.insert((*r)["seq"].get<int64_t>());
  }
  EXPECT_EQ(seqs.size(), 1u);
  auto h = b.request(json{{"type", "history"}, {"conversation", conv}, {"limit", 50}});
  ASSERT_EQ(h["events"].size(), 3u) << "opened + two distinct messages: " << h.dump();
}

TEST_F(ChatEndToEnd, StrangersAreForbiddenEverywhere) {
  auto brand = make_account(ep(), "brand", "Acme");
  auto creator = make_account(ep(), "creator", "Cleo");
  auto stranger = make_account(ep(), "creator", "Mallory");
  ws_client b{ep(), brand.token};
  ws_client s{ep(), stranger.token};
  auto conv = open_conversation(b, creator);
  for (const std::string& conv_id : {conv, uuid::v7().str()}) {
    auto post = send_msg(s, conv_id, "x", "let me in");
    EXPECT_EQ(post["code"], "forbidden") << post.dump();
    auto sub = s.request(json{{"type", "subscribe"}, {"conversation", conv_id}});
    EXPECT_EQ(sub["code"], "forbidden");
    auto hist = s.request(json{{"type", "history"}, {"conversation", conv_id}});
    EXPECT_EQ(hist["code"], "forbidden");
  }
  auto open = s.request(json{{"type", "conversation.open"}, {"with", brand.id}});
  EXPECT_EQ(open["code"], "forbidden") << "creators do not open conversations";
  auto not_creator = b.request(json{{"type", "conversation.open"}, {"with", brand.id}});
  EXPECT_EQ(not_creator["code"], "not_found");
  // Nothing the stranger did reached the conversation.
  auto h = b.request(json{{"type", "history"}, {"conversation", conv}});
  EXPECT_EQ(h["events"].size(), 1u);
}

TEST_F(ChatEndToEnd, BadInputGetsDocumentedErrorsAndOthersKeepBeingServed) {
  auto user = make_account(ep(), "brand", "Acme");
  ws_client c{ep(), user.token};
  ws_client bystander{ep(), user.token, ws_client::mode::msgpack};

  c.send_raw("{not json", true);
  auto e1 = c.wait_reply(nullptr);
  ASSERT_TRUE(e1);
  EXPECT_EQ((*e1)["code"], "bad_frame");

  c.send(json{{"type", "no.such.thing"}, {"id", "u1"}});
  EXPECT_EQ((*c.wait_reply("u1"))["code"], "unknown_type");

  c.send(json{{"type", "message.send"}, {"id", "w1"}, {"conversation", uuid::v7().str()}, {"client_id", 5}, {"text", "x"}});
  EXPECT_EQ((*c.wait_reply("w1"))["code"], "bad_request");

  c.send_raw(std::string("\x85\xa4type", 6), false); // truncated msgpack
  auto e2 = c.wait_reply(nullptr);
  ASSERT_TRUE(e2);
  EXPECT_EQ((*e2)["code"], "bad_frame");

  auto ping = c.request(json{{"type", "ping"}});
  EXPECT_EQ(ping["type"], "ok") << "the connection survives malformed frames";

  // An oversized frame closes this connection with 1009 ...
  c.send_raw(std::string(64 * 1024 + 1, 'x'), true);
  ASSERT_TRUE(c.wait_closed(5s));
  EXPECT_EQ(c.close_code(), 1009);
  // ... and everyone else is still served.
  EXPECT_EQ(bystander.request(json{{"type", "ping"}})["type"], "ok");

  // A flood of malformed frames ends in 1008.
  ws_client flood{ep(), user.token};
  for (int i = 0; i < 40; ++i)
    flood.send_raw("garbage", true);
  ASSERT_TRUE(flood.wait_closed(5s));
  EXPECT_EQ(flood.close_code(), 1008);
  EXPECT_EQ(bystander.request(json{{"type", "ping"}})["type"], "ok");
}

TEST_F(ChatEndToEnd, HistoryAndResumeSurviveARestart) {
  auto brand = make_account(ep(), "brand", "Acme");
  auto creator = make_account(ep(), "creator", "Cleo");
  std::string conv;
  {
    ws_client b{ep(), brand.token};
    conv = open_conversation(b, creator);
    for (int i = 1; i <= 30; ++i)
      ASSERT_EQ(send_msg(b, conv, "m" + std::to_string(i), "message " + std::to_string(i))["type"], "ok");
  }
  ASSERT_EQ(server_->stop(), 0) << "graceful shutdown exits 0";
  server_->start();

  ws_client b{ep(), brand.token};
  ws_client c{ep(), creator.token};
  // Page backwards through the whole history, 7 at a time.
  std::vector<int64_t> seqs;
  int64_t before = 0;
  for (;;) {
    json q{{"type", "history"}, {"conversation", conv}, {"limit", 7}};
    if (before)
      q["before"] = before;
    auto page = c.request(q);
    ASSERT_EQ(page["type"], "ok") << page.dump();
    auto& evs = page["events"];
    ASSERT_FALSE(evs.empty());
    for (auto i = evs.size(); i-- > 0;)
      seqs.push_back(evs[i]["seq"].get<int64_t>());
    before = evs[0]["seq"].get<int64_t>();
    if (!page["more"].get<bool>())
      break;
  }
  ASSERT_EQ(seqs.size(), 31u);
  for (size_t i = 0; i < seqs.size(); ++i)
    EXPECT_EQ(seqs[i], static_cast<int64_t>(31 - i));
  auto forward = c.request(json{{"type", "history"}, {"conversation", conv}, {"after", 29}, {"limit", 10}});
  ASSERT_EQ(forward["events"].size(), 2u);
  EXPECT_EQ(forward["events"][0]["event"]["text"], "message 29");
  EXPECT_EQ(forward["more"], false);

  // The creator last saw seq 10: subscribing replays exactly 11..31, then live events follow.
  auto stream = "conversation:" + conv;
  ASSERT_EQ(c.request(json{{"type", "subscribe"}, {"conversation", conv}, {"after", 10}})["head"], 31);
  for (int64_t seq = 11; seq <= 31; ++seq) {
    auto ev = next_on(c, stream);
    ASSERT_EQ(ev["seq"], seq);
    EXPECT_EQ(ev["event"]["text"], "message " + std::to_string(seq - 1));
  }
  ASSERT_EQ(send_msg(b, conv, "after-restart", "still here")["seq"], 32);
  auto live = next_on(c, stream);
  EXPECT_EQ(live["seq"], 32);
  EXPECT_FALSE(c.next_event(300ms)) << "nothing delivered twice";
  // A retry of a message sent before the restart is still recognised.
  EXPECT_EQ(send_msg(b, conv, "m30", "message 30")["duplicate"], true);
}

TEST_F(ChatEndToEnd, ResumeFromFarBackReadsTheGapFromStorage) {
  // More events than the in-memory tail holds (512), so the replay comes from PostgreSQL while
  // live messages keep arriving: the client must still see every seq once, in order.
  auto brand = make_account(ep(), "brand", "Acme");
  auto creator = make_account(ep(), "creator", "Cleo");
  ws_client b{ep(), brand.token, ws_client::mode::msgpack};
  auto conv = open_conversation(b, creator);
  for (int chunk = 0; chunk < 700; chunk += 200) { // below the per-connection in-flight limit
    for (int i = chunk; i < chunk + 200 && i < 700; ++i)
      b.send(json{{"type", "message.send"}, {"id", i}, {"conversation", conv}, {"client_id", "p" + std::to_string(i)}, {"text", "x"}});
    for (int i = chunk; i < chunk + 200 && i < 700; ++i)
      ASSERT_EQ((*b.wait_reply(i, 30s))["type"], "ok");
  }
  ws_client c{ep(), creator.token};
  c.send(json{{"type", "subscribe"}, {"id", "s"}, {"conversation", conv}, {"after", 0}});
  for (int i = 0; i < 20; ++i)
    b.send(json{{"type", "message.send"}, {"id", 1000 + i}, {"conversation", conv}, {"client_id", "live" + std::to_string(i)}, {"text", "y"}});
  ASSERT_EQ((*c.wait_reply("s", 30s))["type"], "ok");
  auto stream = "conversation:" + conv;
  for (int64_t seq = 1; seq <= 721; ++seq) {
    auto ev = next_on(c, stream, 30s);
    ASSERT_EQ(ev["seq"], seq);
  }
  EXPECT_GT(c.batches_received(), 0u) << "queued pushes leave as batch frames";
}

TEST_F(ChatEndToEnd, TooManyUnansweredRequestsAreRateLimited) {
  auto brand = make_account(ep(), "brand", "Acme");
  auto creator = make_account(ep(), "creator", "Cleo");
  ws_client b{ep(), brand.token};
  auto conv = open_conversation(b, creator);
  for (int i = 0; i < 600; ++i)
    b.send(json{{"type", "message.send"}, {"id", i}, {"conversation", conv}, {"client_id", "f" + std::to_string(i)}, {"text", "x"}});
  int ok = 0, limited = 0;
  for (int i = 0; i < 600; ++i) {
    auto r = b.wait_reply(i, 30s);
    ASSERT_TRUE(r);
    if ((*r)["type"] == "ok")
      ++ok;
    else if ((*r)["code"] == "rate_limited")
      ++limited;
  }
  EXPECT_EQ(ok + limited, 600);
  EXPECT_GE(ok, 256) << "at least the allowed in-flight requests succeed";
  auto h = b.request(json{{"type", "history"}, {"conversation", conv}, {"after", 1}, {"limit", 200}});
  EXPECT_EQ(h["events"].size(), std::min(ok, 200)) << "exactly the acknowledged messages are stored";
}

TEST_F(ChatEndToEnd, GracefulShutdownClosesSocketsWith1001) {
  auto user = make_account(ep(), "creator", "Cleo");
  ws_client c{ep(), user.token};
  EXPECT_EQ(server_->stop(), 0);
  ASSERT_TRUE(c.wait_closed(5s));
  EXPECT_EQ(c.close_code(), 1001);
  server_->start(); // TearDown expects a server
}

TEST_F(ChatEndToEnd, PactumSimSmokeRunPassesItsOwnChecks) {
  auto* sim = std::getenv("PACTUM_SIM_BIN");
  ASSERT_TRUE(sim && *sim) << "PACTUM_SIM_BIN is not set";
  for (const char* enc : {"json", "msgpack"}) {
    auto cmd = std::string{sim} + " --url http://127.0.0.1:" + std::to_string(server_->port())
               + " --pairs 3 --messages 60 --rate 300 --encoding " + enc + " > /dev/null";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
}

TEST_F(ChatEndToEnd, RepliesAttachmentsEditsDeletesAndTypingReachTheOtherSide) {
  auto brand = make_account(ep(), "brand", "Acme");
  auto creator = make_account(ep(), "creator", "Cleo");
  ws_client b{ep(), brand.token};
  ws_client c{ep(), creator.token, ws_client::mode::msgpack};
  auto conv = open_conversation(b, creator);
  auto stream = "conversation:" + conv;
  ASSERT_EQ(c.request(json{{"type", "subscribe"}, {"conversation", conv}, {"after", 1}})["type"], "ok");

  auto first = b.request(json{{"type", "message.send"}, {"conversation", conv}, {"client_id", "b1"},
                              {"text", "Here is the brief"},
                              {"attachments", json::array({json{{"url", "https://cdn.example/brief.pdf"},
                                                                {"type", "application/pdf"}, {"size", 52000}}})}});
  ASSERT_EQ(first["type"], "ok") << first.dump();
  auto posted = next_on(c, stream);
  EXPECT_EQ(posted["event"]["attachments"][0]["url"], "https://cdn.example/brief.pdf");

  auto reply = c.request(json{{"type", "message.send"}, {"conversation", conv}, {"client_id", "c1"},
                              {"text", "Got it"}, {"reply_to", first["seq"]}});
  ASSERT_EQ(reply["type"], "ok");
  EXPECT_EQ(next_on(c, stream)["event"]["reply_to"], first["seq"]);

  // Only the author edits, and the other side sees it.
  auto foreign = c.request(json{{"type", "message.edit"}, {"conversation", conv}, {"seq", first["seq"]}, {"text", "mine"}});
  EXPECT_EQ(foreign["code"], "forbidden");
  auto edit = b.request(json{{"type", "message.edit"}, {"conversation", conv}, {"seq", first["seq"]}, {"text", "Here is the final brief"}});
  ASSERT_EQ(edit["type"], "ok") << edit.dump();
  auto edited = next_on(c, stream);
  EXPECT_EQ(edited["event"]["type"], "message.edited");
  EXPECT_EQ(edited["event"]["target"], first["seq"]);
  EXPECT_EQ(edited["event"]["text"], "Here is the final brief");
  auto del = b.request(json{{"type", "message.delete"}, {"conversation", conv}, {"seq", first["seq"]}});
  ASSERT_EQ(del["type"], "ok");
  EXPECT_EQ(next_on(c, stream)["event"]["type"], "message.deleted");
  auto del_again = b.request(json{{"type", "message.delete"}, {"conversation", conv}, {"seq", first["seq"]}});
  EXPECT_EQ(del_again["duplicate"], true);

  // Typing is pushed live without a seq, throttled, and never stored.
  auto t1 = b.request(json{{"type", "typing"}, {"conversation", conv}});
  EXPECT_EQ(t1["sent"], true);
  auto typing = next_on(c, stream);
  EXPECT_EQ(typing["event"]["type"], "typing");
  EXPECT_EQ(typing["event"]["user"], brand.id);
  EXPECT_FALSE(typing.contains("seq"));
  EXPECT_EQ(b.request(json{{"type", "typing"}, {"conversation", conv}})["sent"], false) << "throttled";
  auto h = b.request(json{{"type", "history"}, {"conversation", conv}});
  for (auto& e : h["events"])
    EXPECT_NE(e["event"]["type"], "typing");
  EXPECT_EQ(h["events"].size(), 5u) << "opened, two messages, one edit, one delete";
}

TEST_F(ChatEndToEnd, ReadMarksArePersistedSeenByTheOtherSideAndCountUnread) {
  auto brand = make_account(ep(), "brand", "Acme");
  auto creator = make_account(ep(), "creator", "Cleo");
  std::string conv;
  {
    ws_client b{ep(), brand.token};
    conv = open_conversation(b, creator);
    for (int i = 0; i < 3; ++i)
      ASSERT_EQ(send_msg(b, conv, "r" + std::to_string(i), "hello")["type"], "ok");
    ASSERT_EQ(b.request(json{{"type", "subscribe"}, {"conversation", conv}, {"after", 4}})["type"], "ok");
    ws_client c{ep(), creator.token};
    auto sub = c.request(json{{"type", "subscribe"}, {"conversation", conv}, {"after", 4}});
    EXPECT_EQ(sub["unread"], 3);
    auto read = c.request(json{{"type", "read"}, {"conversation", conv}, {"seq", 3}});
    ASSERT_EQ(read["type"], "ok") << read.dump();
    auto seen = next_on(b, "conversation:" + conv);
    EXPECT_EQ(seen["event"]["type"], "read.marked");
    EXPECT_EQ(seen["event"]["member"], creator.id);
    EXPECT_EQ(seen["event"]["seq"], 3);
    EXPECT_EQ(c.request(json{{"type", "read"}, {"conversation", conv}, {"seq", 2}})["duplicate"], true);
  }
  ASSERT_EQ(server_->stop(), 0);
  server_->start();
  ws_client c{ep(), creator.token};
  auto sub = c.request(json{{"type", "subscribe"}, {"conversation", conv}, {"after", 5}});
  EXPECT_EQ(sub["read"][creator.id], 3) << "read marks survive a restart";
  EXPECT_EQ(sub["unread"], 1);
}

TEST_F(ChatEndToEnd, MessagesAreRateLimitedPerUserAcrossConnections) {
  // The defaults (10 per second, bursts of 30), as a deployment runs them.
  restart_with({"--message-rate-per-s", "10", "--message-burst", "30"});
  auto brand = make_account(ep(), "brand", "Acme");
  auto creator = make_account(ep(), "creator", "Cleo");
  ws_client laptop{ep(), brand.token};
  ws_client phone{ep(), brand.token};
  ws_client other{ep(), creator.token};
  auto conv = open_conversation(laptop, creator);
  int ok = 0, limited = 0;
  std::string message;
  // All 40 are sent before any answer is read: waiting for each acknowledgement (a journal commit)
  // would let the allowance refill between sends, and under a sanitizer 40 commits take long
  // enough for every send to pass.
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 40; ++i) {
    auto& c = i % 2 ? phone : laptop; // two devices share one allowance
    c.send(json{{"type", "message.send"}, {"id", i}, {"conversation", conv},
                {"client_id", "m" + std::to_string(i)}, {"text", "hello " + std::to_string(i)}});
  }
  for (int i = 0; i < 40; ++i) {
    auto& c = i % 2 ? phone : laptop;
    auto answer = c.wait_reply(i, 30s);
    ASSERT_TRUE(answer) << "no answer to send " << i;
    auto& r = *answer;
    if (r["type"] == "ok") {
      ++ok;
    } else {
      EXPECT_EQ(r["code"], "rate_limited") << r.dump();
      ++limited;
      message = r["message"];
    }
  }
  // The allowance refills continuously, so what passes beyond the burst depends on how long the
  // server took to read the 40 sends: at most until the last answer arrived.
  double elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_GE(ok, 30) << "the burst passes";
  EXPECT_LE(ok, 30 + static_cast<int>(std::ceil(10 * elapsed_s)) + 1)
    << "then 10 per second; the loop took " << elapsed_s << " s";
  EXPECT_EQ(ok + limited, 40);
  ASSERT_GT(limited, 0) << "40 sends in " << elapsed_s << " s outran 30 + 10/s";
  EXPECT_NE(message.find("retry in"), std::string::npos) << message;
  // Another user is not affected, and a refused message can be retried later with its client_id.
  EXPECT_EQ(send_msg(other, conv, "c1", "hi")["type"], "ok");
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  auto retry = send_msg(laptop, conv, "m39", "hello 39");
  EXPECT_EQ(retry["type"], "ok") << retry.dump();
}

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// The next `presence` notice about `user` on this client's user stream.
std::optional<json> next_presence(ws_client& c, const std::string& user, std::chrono::milliseconds t) {
  auto ev = wait_event(
    c, [&](const json& e) { return e["event"]["type"] == "presence" && e["event"]["user"] == user; }, t);
  return ev ? std::optional<json>{(*ev)["event"]} : std::nullopt;
}

} // namespace

TEST_F(ChatEndToEnd, PresenceShowsTheOtherMemberOnlineAndLastSeenAcrossRestarts) {
  auto brand = make_account(ep(), "brand", "Acme");
  auto creator = make_account(ep(), "creator", "Cleo");
  ws_client b{ep(), brand.token};
  auto conv = open_conversation(b, creator);
  ASSERT_EQ(b.request(json{{"type", "subscribe"}, {"conversation", conv}})["type"], "ok");
  auto p = next_presence(b, creator.id, 5s);
  ASSERT_TRUE(p) << "subscribing tells the brand whether the creator is around";
  EXPECT_EQ((*p)["online"], false);
  EXPECT_TRUE((*p)["last_seen"].is_null()) << "never seen yet";

  auto before = now_ms();
  {
    ws_client phone{ep(), creator.token};
    p = next_presence(b, creator.id, 5s);
    ASSERT_TRUE(p) << "the creator coming online is pushed";
    EXPECT_EQ((*p)["online"], true);
    ws_client laptop{ep(), creator.token}; // a second device changes nothing
    laptop.close();
    EXPECT_FALSE(next_presence(b, creator.id, 300ms)) << "still online on the phone";
  }
  p = next_presence(b, creator.id, 5s);
  ASSERT_TRUE(p) << "the last session ending is pushed";
  EXPECT_EQ((*p)["online"], false);
  EXPECT_GE((*p)["last_seen"].get<int64_t>(), before);
  auto last_seen = (*p)["last_seen"].get<int64_t>();

  // After a restart, last seen comes from storage.
  server_->restart();
  ws_client again{ep(), brand.token};
  ASSERT_EQ(again.request(json{{"type", "subscribe"}, {"conversation", conv}})["type"], "ok");
  p = next_presence(again, creator.id, 5s);
  ASSERT_TRUE(p);
  EXPECT_EQ((*p)["online"], false);
  EXPECT_EQ((*p)["last_seen"], last_seen);
}

TEST_F(ChatEndToEnd, DeliveredMarksArePushedWithoutASeqAndOnlyMoveForward) {
  auto brand = make_account(ep(), "brand", "Acme");
  auto creator = make_account(ep(), "creator", "Cleo");
  ws_client b{ep(), brand.token};
  ws_client c{ep(), creator.token};
  auto conv = open_conversation(b, creator);
  ASSERT_EQ(c.request(json{{"type", "subscribe"}, {"conversation", conv}})["type"], "ok");
  auto sent = send_msg(c, conv, "1", "hello");
  auto seq = sent["seq"].get<int64_t>();

  auto r = b.request(json{{"type", "delivered"}, {"conversation", conv}, {"seq", seq}});
  ASSERT_EQ(r["type"], "ok") << r.dump();
  EXPECT_EQ(r["moved"], true);
  auto ev = wait_event(c, [](const json& e) { return e["event"]["type"] == "delivered"; }, 5s);
  ASSERT_TRUE(ev) << "the sender sees the message was delivered";
  EXPECT_FALSE(ev->contains("seq")) << "ephemeral: not part of the sequence";
  EXPECT_EQ((*ev)["event"]["member"], brand.id);
  EXPECT_EQ((*ev)["event"]["seq"], seq);

  EXPECT_EQ(b.request(json{{"type", "delivered"}, {"conversation", conv}, {"seq", seq}})["moved"], false);
  EXPECT_EQ(b.request(json{{"type", "delivered"}, {"conversation", conv}, {"seq", seq + 5}})["code"],
            "bad_request") << "not beyond the head";
  ws_client again{ep(), creator.token};
  auto sub = again.request(json{{"type", "subscribe"}, {"conversation", conv}});
  EXPECT_EQ(sub["delivered"][brand.id], seq) << sub.dump();
}

TEST_F(ChatEndToEnd, SmallerMemoryBoundsForgetOldRetriesAndEditsButLoseNothing) {
  // --dedup-window 2: only the last two messages are remembered for retries and edits;
  // --tail-cache 0: no event is kept in memory, so every replay is read from PostgreSQL.
  restart_with({"--dedup-window", "2", "--tail-cache", "0"});
  auto brand = make_account(ep(), "brand", "Acme");
  auto creator = make_account(ep(), "creator", "Cleo");
  ws_client b{ep(), brand.token};
  auto conv = open_conversation(b, creator);
  auto m1 = send_msg(b, conv, "m1", "one");
  send_msg(b, conv, "m2", "two");
  auto m3 = send_msg(b, conv, "m3", "three");
  ASSERT_EQ(m3["type"], "ok") << m3.dump();

  auto again3 = send_msg(b, conv, "m3", "three");
  EXPECT_EQ(again3["seq"], m3["seq"]) << "a retry inside the window is the same message";
  EXPECT_EQ(again3.value("duplicate", false), true);
  auto again1 = send_msg(b, conv, "m1", "one");
  ASSERT_EQ(again1["type"], "ok") << again1.dump();
  EXPECT_GT(again1["seq"].get<int64_t>(), m3["seq"].get<int64_t>())
    << "a retry older than the window is stored again (documented)";

  auto old_edit = b.request(json{{"type", "message.edit"}, {"conversation", conv}, {"seq", m1["seq"]}, {"text", "uno"}});
  EXPECT_EQ(old_edit.value("code", ""), "not_found") << old_edit.dump();
  auto new_edit = b.request(json{{"type", "message.edit"}, {"conversation", conv}, {"seq", again1["seq"]}, {"text", "uno"}});
  EXPECT_EQ(new_edit["type"], "ok") << new_edit.dump();

  // Nothing acknowledged is lost: a subscriber from the start gets every event, in order.
  ws_client c{ep(), creator.token};
  ASSERT_EQ(c.request(json{{"type", "subscribe"}, {"conversation", conv}, {"after", 0}})["type"], "ok");
  auto stream = "conversation:" + conv;
  auto head = new_edit["seq"].get<int64_t>();
  for (int64_t seq = 1; seq <= head; ++seq)
    ASSERT_EQ(next_on(c, stream)["seq"], seq);
}
