// End to end: escrow contracts with the embedded sandbox payment provider. A whole deal (offer,
// accept, fund, deliver, revise, approve, release), a declined card, the delivery deadline that
// refunds, the review window that releases, a dispute a moderator splits, webhook forgery and
// replay, and a SIGKILL during funding; `pactumd --ledger-check` must stay clean after each.

#include <algorithm>
#include <cstdlib>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pactum/common/time.hpp"
#include "pactum/payments/sandbox.hpp"
#include "pactum/payments/webhook.hpp"
#include "pactum/sim/client.hpp"
#include "e2e_fixture.hpp"

using namespace pactum::sim;
using pactum::test_support::event_of;

namespace {

constexpr const char* good_card = "4242424242424242";
constexpr const char* declined_card = "4000000000000002";

class ContractEndToEnd : public pactum::test_support::server_test {
protected:
  std::vector<std::string> server_args() const override { return args_; }

  void SetUp() override {
    server_test::SetUp();
    if (HasFatalFailure())
      return;
    brand_ = make_account(ep(), "brand", "Acme");
    creator_ = make_account(ep(), "creator", "Cleo");
  }

  /// Restarts the server with extra flags (the accounts stay: same database).
  void start(std::vector<std::string> extra) {
    extra.insert(extra.end(), {"--timer-sweep-ms", "200", "--webhook-secret", secret_});
    args_ = extra;
    restart_with(extra);
  }

  /// Opens a conversation, makes an offer as the brand and accepts it as the creator: the
  /// contract's id.
  std::string deal(int64_t amount, int64_t revision_rounds = 1, int64_t delivery_days = 7) {
    ws_client b{ep(), brand_.token};
    ws_client c{ep(), creator_.token};
    auto conv = b.request(json{{"type", "conversation.open"}, {"with", creator_.id}})["conversation"]["id"];
    auto offer = b.request(json{{"type", "offer.make"},
                                {"conversation", conv},
                                {"client_id", "o-" + std::to_string(amount)},
                                {"terms", json{{"amount", amount},
                                               {"currency", "USD"},
                                               {"deliverables", json::array({json{{"type", "tiktok_duet"}, {"count", 1}}})},
                                               {"delivery_days", delivery_days},
                                               {"revision_rounds", revision_rounds}}}});
    EXPECT_EQ(offer["type"], "ok") << offer.dump();
    auto accepted = c.request(json{{"type", "offer.accept"}, {"conversation", conv}, {"offer", offer["seq"]}});
    EXPECT_EQ(accepted["type"], "ok") << accepted.dump();
    return accepted.value("contract", std::string{});
  }

  http_reply act(const account& who, const std::string& contract, const std::string& action, json body) {
    return http_call(ep(), "POST", "/api/v1/contracts/" + contract + "/" + action, body.dump(), who.token);
  }

  json get(const account& who, const std::string& contract, int64_t after = 0) {
    auto r = http_call(ep(), "GET", "/api/v1/contracts/" + contract + "?after=" + std::to_string(after),
                       "", who.token);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json_body();
  }

  /// Polls the contract until its status is `status`; the last view either way.
  json await_status(const std::string& contract, const std::string& status,
                    std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    json view;
    do {
      view = get(brand_, contract);
      if (view["status"] == status)
        return view;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    } while (std::chrono::steady_clock::now() < deadline);
    ADD_FAILURE() << "contract never reached " << status << ": " << view.dump();
    return view;
  }

  /// Polls until the timeline holds `n` events of `type`; the view then, or nullopt.
  std::optional<json> await_events(const std::string& contract, const std::string& type, size_t n) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      auto view = get(brand_, contract);
      size_t count = 0;
      for (auto& e : view["events"])
        count += e["event"]["type"] == type;
      if (count >= n)
        return view;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return std::nullopt;
  }

  /// True when the contract's timeline holds an event of `type`.
  bool has_event(const json& view, const std::string& type) {
    for (auto& e : view["events"])
      if (e["event"]["type"] == type)
        return true;
    return false;
  }

  int64_t balance(const account& who) {
    auto r = http_call(ep(), "GET", "/api/v1/users/me/balance", "", who.token);
    EXPECT_EQ(r.status, 200) << r.body;
    auto body = r.json_body();
    for (auto& b : body["balances"])
      if (b["currency"] == "USD")
        return b["available"].get<int64_t>();
    return 0;
  }

  /// `pactumd --ledger-check` against the test database, as an operator runs it.
  int ledger_check() {
    std::string cmd = std::string{std::getenv("PACTUMD_BIN")} + " --database-url '" + url()
                      + "' --log-level warn --ledger-check";
    int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }

  /// A whole deal of `amount`: funded by card, delivered and approved, so the creator is paid.
  void pay_creator(int64_t amount) {
    auto contract = deal(amount);
    ASSERT_EQ(act(brand_, contract, "fund", {{"key", "f"}, {"payment_method", good_card}}).status, 200);
    await_status(contract, "funded");
    ASSERT_EQ(act(creator_, contract, "deliver",
                  {{"key", "d"}, {"items", json::array({json{{"url", "https://tiktok.example/v/5"}}})}})
                .status,
              200);
    ASSERT_EQ(act(brand_, contract, "approve", {{"key", "a"}}).status, 200);
  }

  /// Identity verification of the creator: an operator action in the embedded default.
  void verify_creator() {
    std::string cmd = std::string{std::getenv("PACTUMD_BIN")} + " --database-url '" + url()
                      + "' --log-level warn --set-kyc " + creator_.email + "=verified";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }

  /// How many events of `type` the journal of `entity` holds, read from PostgreSQL directly: it
  /// activates nothing, unlike a request to the server.
  int journaled(const std::string& entity, const std::string& type) {
    pqxx::connection db{url()};
    pqxx::nontransaction q{db};
    return q.exec_params("select count(*) from journal where entity_id = $1 and event_type = $2", entity, type)[0][0]
      .as<int>();
  }

  /// Polls journaled() until it reaches `n` (or 20 s pass); the last count.
  int await_journaled(const std::string& entity, const std::string& type, int n) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    int count = journaled(entity, type);
    while (count < n && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      count = journaled(entity, type);
    }
    return count;
  }

  /// How many calls the sandbox provider has recorded (any kind, any key).
  int64_t provider_calls() {
    pqxx::connection db{url()};
    pqxx::nontransaction q{db};
    return q.exec("select count(*) from sandbox_calls")[0][0].as<int64_t>();
  }

  /// Holds a lock on the sandbox provider's call table: no provider call can start (it waits)
  /// until the returned transaction ends. A crash meanwhile leaves every such call unmade.
  static std::unique_ptr<pqxx::work> hold_provider_calls(pqxx::connection& db) {
    auto lock = std::make_unique<pqxx::work>(db);
    lock->exec("lock table sandbox_calls in share mode");
    return lock;
  }

  void set_role(const std::string& email, const std::string& role) {
    std::string cmd = std::string{std::getenv("PACTUMD_BIN")} + " --database-url '" + url()
                      + "' --log-level warn --set-role " + email + "=" + role;
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }

  std::string secret_ = "e2e-webhook-secret";
  std::vector<std::string> args_ = {"--timer-sweep-ms", "200", "--webhook-secret", "e2e-webhook-secret"};
  account brand_;
  account creator_;
};

} // namespace

TEST_F(ContractEndToEnd, AFullDealWithARevisionReleasesToTheCreatorLive) {
  auto contract = deal(50'000);
  ASSERT_FALSE(contract.empty());
  ws_client live{ep(), creator_.token}; // contract events reach both parties without subscribing
  auto view = get(creator_, contract);
  EXPECT_EQ(view["status"], "awaiting_funding");
  EXPECT_EQ(view["amount"], 50'000);
  EXPECT_EQ(view["events"][0]["event"]["type"], "contract.opened");
  EXPECT_EQ(http_call(ep(), "GET", "/api/v1/contracts/" + contract, "", make_account(ep(), "brand", "Other").token).status,
            403);

  EXPECT_EQ(act(creator_, contract, "fund", {{"key", "f1"}, {"payment_method", good_card}}).status, 403)
    << "only the brand funds";
  auto funded = act(brand_, contract, "fund", {{"key", "f1"}, {"payment_method", good_card}});
  ASSERT_EQ(funded.status, 200) << funded.body;
  await_status(contract, "funded");
  auto pushed = pactum::test_support::wait_event(
    live, [](const json& e) { return e["event"]["type"] == "contract.funded"; }, std::chrono::seconds(5));
  ASSERT_TRUE(pushed) << "the creator's session sees the funding live";
  EXPECT_EQ((*pushed)["stream"], "contract:" + contract);

  // Deliver over the WebSocket, the rest over REST.
  auto delivered = live.request(json{{"type", "contract.deliver"},
                                     {"contract", contract},
                                     {"key", "d1"},
                                     {"items", json::array({json{{"url", "https://tiktok.example/v/1"}}})}});
  ASSERT_EQ(delivered["type"], "ok") << delivered.dump();
  EXPECT_EQ(delivered["status"], "delivered");
  ASSERT_EQ(act(brand_, contract, "request-revision", {{"key", "r1"}, {"reason", "louder intro"}}).status, 200);
  ASSERT_EQ(act(creator_, contract, "deliver",
                {{"key", "d2"}, {"items", json::array({json{{"url", "https://tiktok.example/v/2"}}})}})
              .status,
            200);
  auto second = act(brand_, contract, "request-revision", {{"key", "r2"}});
  EXPECT_EQ(second.status, 409) << "one revision round only: " << second.body;
  EXPECT_EQ(second.json_body()["error"]["code"], "limit_reached");

  auto approved = act(brand_, contract, "approve", {{"key", "a1"}});
  ASSERT_EQ(approved.status, 200) << approved.body;
  EXPECT_EQ(approved.json_body()["status"], "released");
  auto again = act(brand_, contract, "approve", {{"key", "a1"}});
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.json_body()["duplicate"], true) << "a retry answers the first result";
  EXPECT_EQ(again.json_body()["seq"], approved.json_body()["seq"]);
  auto reused = act(brand_, contract, "approve", {{"key", "f1"}});
  EXPECT_EQ(reused.status, 409);
  EXPECT_EQ(reused.json_body()["error"]["code"], "idempotency_mismatch");

  EXPECT_EQ(balance(creator_), 45'000) << "the amount less the 10% commission";
  EXPECT_EQ(balance(brand_), 0);
  EXPECT_EQ(ledger_check(), 0);
}

TEST_F(ContractEndToEnd, DeclinedAndInvalidCardsLeaveTheContractWaitingForAnotherCard) {
  auto contract = deal(12'345);
  ASSERT_EQ(act(brand_, contract, "fund", {{"key", "f1"}, {"payment_method", declined_card}}).status, 200);
  ASSERT_TRUE(await_events(contract, "contract.funding_failed", 1));
  auto busy = act(brand_, contract, "approve", {{"key", "early"}});
  EXPECT_EQ(busy.status, 409) << "nothing to approve before funding";
  // A card that is not a sandbox test card is refused by the provider outright.
  ASSERT_EQ(act(brand_, contract, "fund", {{"key", "f2"}, {"payment_method", "5555555555554444"}}).status, 200);
  auto view = await_events(contract, "contract.funding_failed", 2);
  ASSERT_TRUE(view);
  EXPECT_EQ((*view)["status"], "awaiting_funding");
  EXPECT_EQ((*view)["events"].back()["event"]["code"], "invalid_payment_method");
  ASSERT_EQ(act(brand_, contract, "fund", {{"key", "f3"}, {"payment_method", good_card}}).status, 200);
  await_status(contract, "funded");
  EXPECT_EQ(ledger_check(), 0);
}

TEST_F(ContractEndToEnd, AnUndeliveredContractRefundsAtItsDeadlineAndAReviewLapseReleases) {
  start({"--contract-day-ms", "3000", "--review-window-s", "2"});
  auto late = deal(10'000, 1, 1);   // one (3-second) day to deliver
  // Delivered, then never reviewed. Five days (15 s) to deliver: its delivery deadline must not
  // come before a slow build has funded it and delivered (what lapses here is the review).
  auto silent = deal(20'000, 1, 5);
  ASSERT_EQ(act(brand_, late, "fund", {{"key", "f"}, {"payment_method", good_card}}).status, 200);
  ASSERT_EQ(act(brand_, silent, "fund", {{"key", "f"}, {"payment_method", good_card}}).status, 200);
  await_status(silent, "funded");
  ASSERT_EQ(act(creator_, silent, "deliver",
                {{"key", "d"}, {"items", json::array({json{{"url", "https://ig.example/p/1"}}})}})
              .status,
            200);
  auto released = await_status(silent, "released");
  EXPECT_EQ(event_of(released, "contract.released")["automatic"], true);
  auto refunded = await_status(late, "refunded");
  EXPECT_EQ(event_of(refunded, "contract.refunded")["reason"], "delivery_deadline");
  // The sandbox confirms the refund with a webhook.
  EXPECT_TRUE(await_events(late, "contract.provider_confirmed", 1));
  EXPECT_EQ(balance(creator_), 18'000);
  EXPECT_EQ(ledger_check(), 0);
}

TEST_F(ContractEndToEnd, AModeratorSplitsADisputedEscrow) {
  auto mod = make_account(ep(), "creator", "Mo");
  set_role(mod.email, "moderator");
  auto contract = deal(30'000);
  ASSERT_EQ(act(brand_, contract, "fund", {{"key", "f"}, {"payment_method", good_card}}).status, 200);
  await_status(contract, "funded");
  ASSERT_EQ(act(creator_, contract, "deliver",
                {{"key", "d"}, {"items", json::array({json{{"url", "https://yt.example/w/1"}}})}})
              .status,
            200);
  auto conv = get(brand_, contract)["conversation"].get<std::string>();
  ws_client m{ep(), mod.token};
  auto early = m.request(json{{"type", "conversation.join"}, {"conversation", conv}});
  EXPECT_EQ(early["code"], "forbidden") << "no dispute yet: " << early.dump();
  ASSERT_EQ(act(brand_, contract, "dispute", {{"key", "x"}, {"reason", "half of it is missing"}}).status, 200);
  // The moderator joins the deal's conversation to mediate (once the contract has told it).
  json joined;
  for (int i = 0; i < 150; ++i) {
    joined = m.request(json{{"type", "conversation.join"}, {"conversation", conv}});
    if (joined["type"] == "ok")
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(joined["type"], "ok") << joined.dump();
  ASSERT_EQ(m.request(json{{"type", "message.send"}, {"conversation", conv}, {"client_id", "mod-1"},
                           {"text", "Hi both, I am looking at the delivery now."}})["type"],
            "ok");
  ws_client c{ep(), creator_.token};
  auto page = c.request(json{{"type", "history"}, {"conversation", conv}, {"limit", 50}});
  std::vector<std::string> types;
  for (auto& e : page["events"])
    types.push_back(e["event"]["type"].get<std::string>());
  EXPECT_NE(std::find(types.begin(), types.end(), "dispute.opened"), types.end());
  EXPECT_NE(std::find(types.begin(), types.end(), "moderator.joined"), types.end());
  EXPECT_EQ(page["events"].back()["event"]["text"], "Hi both, I am looking at the delivery now.");
  auto offer = m.request(json{{"type", "offer.make"}, {"conversation", conv}, {"client_id", "mod-o"},
                              {"terms", json{{"amount", 1}, {"currency", "USD"},
                                             {"deliverables", json::array({json{{"type", "custom"}, {"count", 1}}})}}}});
  EXPECT_EQ(offer["code"], "forbidden") << "moderators mediate; they make no offers";
  auto queue = http_call(ep(), "GET", "/api/v1/moderation/disputes", "", mod.token);
  ASSERT_EQ(queue.status, 200) << queue.body;
  ASSERT_EQ(queue.json_body()["disputes"].size(), 1u);
  EXPECT_EQ(queue.json_body()["disputes"][0]["contract"], contract);
  EXPECT_EQ(http_call(ep(), "GET", "/api/v1/moderation/disputes", "", brand_.token).status, 403);

  EXPECT_EQ(act(brand_, contract, "resolve", {{"key", "r"}, {"to_creator", 30'000}}).status, 403)
    << "parties cannot resolve their own dispute";
  auto resolved = act(mod, contract, "resolve", {{"key", "r"}, {"to_creator", 15'000}});
  ASSERT_EQ(resolved.status, 200) << resolved.body;
  EXPECT_EQ(resolved.json_body()["status"], "resolved");
  EXPECT_EQ(balance(creator_), 13'500) << "half, less the commission on that half";
  EXPECT_TRUE(http_call(ep(), "GET", "/api/v1/moderation/disputes", "", mod.token)
                .json_body()["disputes"]
                .empty());
  EXPECT_EQ(ledger_check(), 0);
}

TEST_F(ContractEndToEnd, ForgedStaleAndReplayedWebhooksAreRefusedOrIgnored) {
  auto post = [&](const std::string& body, const std::string& signature) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!signature.empty())
      headers.emplace_back("Pactum-Signature", signature);
    return http_call(ep(), "POST", "/api/v1/webhooks/payments", body, "", "application/json", headers);
  };
  auto now_s = pactum::now_millis() / 1000;
  std::string body = R"({"id":"evt_test_1","type":"payout.paid","created":1,"data":{"key":"k"}})";
  EXPECT_EQ(post(body, "").status, 400) << "unsigned";
  EXPECT_EQ(post(body, pactum::payments::sign_webhook("wrong-secret", now_s, body)).status, 400);
  EXPECT_EQ(post(body, pactum::payments::sign_webhook(secret_, now_s - 600, body)).status, 400)
    << "outside the five-minute window";
  auto tampered = post(body + " ", pactum::payments::sign_webhook(secret_, now_s, body));
  EXPECT_EQ(tampered.status, 400);

  // A genuine success for a contract being funded, delivered twice: processed once.
  auto contract = deal(5'000);
  ASSERT_EQ(act(brand_, contract, "fund", {{"key", "f"}, {"payment_method", good_card}}).status, 200);
  await_status(contract, "funded");
  auto intent = get(brand_, contract)["events"][1]["event"]["intent"].get<std::string>();
  json ev{{"id", "evt_replayed"},
          {"type", "payment_intent.succeeded"},
          {"created", pactum::now_millis()},
          {"data", json{{"intent", intent},
                        {"key", intent},
                        {"reference", contract},
                        {"amount", 5'000},
                        {"currency", "USD"}}}};
  auto first = post(ev.dump(), pactum::payments::sign_webhook(secret_, now_s, ev.dump()));
  ASSERT_EQ(first.status, 200) << first.body;
  auto second = post(ev.dump(), pactum::payments::sign_webhook(secret_, now_s, ev.dump()));
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(second.json_body()["replay"], true);
  int funded_events = 0;
  auto after = get(brand_, contract);
  for (auto& e : after["events"])
    funded_events += e["event"]["type"] == "contract.funded";
  EXPECT_EQ(funded_events, 1) << "money arrives once however often the provider says so";
  EXPECT_EQ(ledger_check(), 0);
}

TEST_F(ContractEndToEnd, AKillDuringFundingAndAfterReleaseLeavesTheLedgerBalanced) {
  auto contract = deal(40'000);
  ASSERT_EQ(act(brand_, contract, "fund", {{"key", "f"}, {"payment_method", good_card}}).status, 200);
  server_->kill_now(); // right after the acknowledgement: the webhook may not have come yet
  restart_with(args_);
  auto view = await_status(contract, "funded"); // the GET re-activates it; the call is repeated
  int funded_events = 0;
  for (auto& e : view["events"])
    funded_events += e["event"]["type"] == "contract.funded";
  EXPECT_EQ(funded_events, 1);
  ASSERT_EQ(act(creator_, contract, "deliver",
                {{"key", "d"}, {"items", json::array({json{{"url", "https://tiktok.example/v/9"}}})}})
              .status,
            200);
  ASSERT_EQ(act(brand_, contract, "approve", {{"key", "a"}}).status, 200);
  server_->kill_now();
  EXPECT_EQ(ledger_check(), 0);
  restart_with(args_);
  EXPECT_EQ(get(brand_, contract)["status"], "released");
  EXPECT_EQ(balance(creator_), 36'000);
  EXPECT_EQ(ledger_check(), 0);
}

TEST_F(ContractEndToEnd, BothPartiesSeeEveryContractEventLiveFromItsOpening) {
  // contract.opened is written by the conversation with the acceptance; it reaches both
  // parties' sessions as seq 1 of the contract's stream, like every later event.
  ws_client b{ep(), brand_.token};
  ws_client c{ep(), creator_.token};
  auto conv = b.request(json{{"type", "conversation.open"}, {"with", creator_.id}})["conversation"]["id"];
  auto offer = b.request(json{{"type", "offer.make"}, {"conversation", conv}, {"client_id", "o-live"},
                              {"terms", json{{"amount", 12'000}, {"currency", "USD"},
                                             {"deliverables", json::array({json{{"type", "tiktok_duet"}, {"count", 1}}})},
                                             {"delivery_days", 7}, {"revision_rounds", 1}}}});
  ASSERT_EQ(offer["type"], "ok") << offer.dump();
  auto accepted = c.request(json{{"type", "offer.accept"}, {"conversation", conv}, {"offer", offer["seq"]}});
  ASSERT_EQ(accepted["type"], "ok") << accepted.dump();
  auto contract = accepted["contract"].get<std::string>();
  ASSERT_EQ(act(brand_, contract, "fund", {{"key", "f"}, {"payment_method", good_card}}).status, 200);
  for (auto* ws : {&b, &c}) {
    std::vector<std::pair<int64_t, std::string>> seen;
    auto funded = pactum::test_support::wait_event(
      *ws,
      [&](const json& e) {
        if (e.value("stream", "") != "contract:" + contract)
          return false;
        seen.emplace_back(e["seq"].get<int64_t>(), e["event"]["type"].get<std::string>());
        return e["event"]["type"] == "contract.funded";
      },
      std::chrono::seconds(10));
    ASSERT_TRUE(funded);
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen[0], (std::pair<int64_t, std::string>{1, "contract.opened"}));
    EXPECT_EQ(seen[1], (std::pair<int64_t, std::string>{2, "contract.funding_requested"}));
    EXPECT_EQ(seen[2], (std::pair<int64_t, std::string>{3, "contract.funded"}));
  }
}

TEST_F(ContractEndToEnd, AKillDuringRefundsLeavesTheLedgerBalancedAndRefundsOnce) {
  // A deadline refund: killed as soon as the refund is journaled, before or while the provider is
  // asked to pay it back. A mutual cancellation: killed right after the second side's ack.
  start({"--contract-day-ms", "2000"});
  auto late = deal(10'000, 1, 1);
  auto cancelled = deal(15'000);
  ASSERT_EQ(act(brand_, late, "fund", {{"key", "f"}, {"payment_method", good_card}}).status, 200);
  ASSERT_EQ(act(brand_, cancelled, "fund", {{"key", "f"}, {"payment_method", good_card}}).status, 200);
  await_status(cancelled, "funded");
  ASSERT_EQ(act(creator_, cancelled, "cancel", {{"key", "c1"}}).status, 200);
  ASSERT_EQ(act(brand_, cancelled, "cancel", {{"key", "c2"}}).status, 200);
  server_->kill_now();
  EXPECT_EQ(ledger_check(), 0);
  restart_with(args_);
  await_status(late, "refunded");
  server_->kill_now();
  EXPECT_EQ(ledger_check(), 0);
  restart_with(args_);
  for (auto& [contract, terminal] : {std::pair{late, "contract.refunded"}, std::pair{cancelled, "contract.cancelled"}}) {
    // The refund call is made again after the restart and confirmed by the provider exactly once.
    auto view = await_events(contract, "contract.provider_confirmed", 1);
    ASSERT_TRUE(view) << contract << " was never confirmed";
    size_t ends = 0, confirmations = 0;
    for (auto& e : (*view)["events"]) {
      ends += e["event"]["type"] == terminal;
      confirmations += e["event"]["type"] == "contract.provider_confirmed";
    }
    EXPECT_EQ(ends, 1u) << contract;
    EXPECT_EQ(confirmations, 1u) << contract;
    EXPECT_EQ((*view)["escrow"], 0) << contract;
  }
  EXPECT_EQ(balance(creator_), 0);
  EXPECT_EQ(ledger_check(), 0);
}

TEST_F(ContractEndToEnd, ACreatorWithdrawsSettledEarningsOnceVerified) {
  ASSERT_NO_FATAL_FAILURE(pay_creator(50'000));
  ASSERT_EQ(balance(creator_), 45'000);
  auto withdraw = [&](const std::string& key, int64_t amount, const std::string& destination) {
    return http_call(ep(), "POST", "/api/v1/users/me/withdrawals",
                     json{{"key", key}, {"amount", amount}, {"currency", "USD"}, {"destination", destination}}.dump(),
                     creator_.token);
  };
  auto unverified = withdraw("w1", 10'000, "acct_cleo");
  EXPECT_EQ(unverified.status, 403) << unverified.body;
  ASSERT_NO_FATAL_FAILURE(verify_creator());
  auto settling = withdraw("w2", 10'000, "acct_cleo");
  EXPECT_EQ(settling.status, 409) << "paid minutes ago: still in the settlement window; " << settling.body;

  start({"--settlement-window-s", "0"});
  auto first = withdraw("w3", 40'000, "acct_cleo");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.json_body()["status"], "pending");
  EXPECT_EQ(balance(creator_), 5'000) << "reserved at once";
  auto over = withdraw("w4", 6'000, "acct_cleo");
  EXPECT_EQ(over.status, 409) << "only what is left can be withdrawn: " << over.body;
  auto retry = withdraw("w3", 40'000, "acct_cleo");
  EXPECT_EQ(retry.json_body()["duplicate"], true);
  auto failing = withdraw("w5", 5'000, "acct_closed"); // the sandbox fails this payout
  ASSERT_EQ(failing.status, 200) << failing.body;

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  json list;
  while (std::chrono::steady_clock::now() < deadline) {
    list = http_call(ep(), "GET", "/api/v1/users/me/withdrawals", "", creator_.token).json_body();
    if (list["withdrawals"].size() == 2 && list["withdrawals"][0]["status"] != "pending"
        && list["withdrawals"][1]["status"] != "pending")
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(list["withdrawals"].size(), 2u) << list.dump();
  EXPECT_EQ(list["withdrawals"][0]["status"], "failed") << list.dump();
  EXPECT_EQ(list["withdrawals"][0]["code"], "account_closed");
  EXPECT_EQ(list["withdrawals"][1]["status"], "paid") << list.dump();
  EXPECT_EQ(balance(creator_), 5'000) << "the failed payout's money is back";
  EXPECT_EQ(ledger_check(), 0);
}

TEST_F(ContractEndToEnd, ADisputedConversationAdmitsModeratorsUpToTheMemberCap) {
  start({"--max-members", "3"}); // the brand, the creator and one moderator
  auto first = make_account(ep(), "creator", "Mo");
  auto second = make_account(ep(), "creator", "Max");
  set_role(first.email, "moderator");
  set_role(second.email, "moderator");
  auto contract = deal(20'000);
  ASSERT_FALSE(contract.empty());
  ASSERT_EQ(act(brand_, contract, "fund", {{"key", "f"}, {"payment_method", good_card}}).status, 200);
  await_status(contract, "funded");
  ASSERT_EQ(act(creator_, contract, "dispute", {{"key", "x"}, {"reason", "the brief changed"}}).status, 200);
  auto conv = get(brand_, contract)["conversation"].get<std::string>();
  ws_client m1{ep(), first.token};
  ws_client m2{ep(), second.token, ws_client::mode::msgpack};
  json joined;
  for (int i = 0; i < 150; ++i) { // once the contract has told the conversation of the dispute
    joined = m1.request(json{{"type", "conversation.join"}, {"conversation", conv}});
    if (joined["type"] == "ok")
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(joined["type"], "ok") << joined.dump();
  auto refused = m2.request(json{{"type", "conversation.join"}, {"conversation", conv}});
  EXPECT_EQ(refused["type"], "error") << refused.dump();
  EXPECT_EQ(refused["code"], "limit_reached") << refused.dump();
  EXPECT_EQ(m2.request(json{{"type", "message.send"}, {"conversation", conv}, {"client_id", "m2-1"},
                            {"text", "May I help?"}})["code"],
            "forbidden")
    << "a refused moderator is no member";
  auto again = m1.request(json{{"type", "conversation.join"}, {"conversation", conv}});
  EXPECT_EQ(again["duplicate"], true) << again.dump();

  // The cap holds across a restart with the same flags (the members come from the journal).
  start({"--max-members", "3"});
  ws_client m3{ep(), second.token};
  auto after_restart = m3.request(json{{"type", "conversation.join"}, {"conversation", conv}});
  EXPECT_EQ(after_restart["code"], "limit_reached") << after_restart.dump();
  ws_client m4{ep(), first.token};
  EXPECT_EQ(m4.request(json{{"type", "message.send"}, {"conversation", conv}, {"client_id", "m1-1"},
                            {"text", "I am on it."}})["type"],
            "ok");
}

TEST_F(ContractEndToEnd, AWebhookRecordedButNeverAppliedBeforeACrashIsAppliedOnTheProvidersRetry) {
  // pactumd records a webhook's id in its own transaction, then the contract journals the
  // outcome. A crash between the two leaves the id recorded and the outcome lost; the provider
  // then retries (its delivery was never answered), and that retry must still fund the contract.
  // The crash is simulated: the id is recorded by hand, and the webhook sent as the retry.
  auto contract = deal(6'000);
  ASSERT_EQ(act(brand_, contract, "fund",
                {{"key", "f"}, {"payment_method", std::string{pactum::payments::test_cards::late_webhook}}})
              .status,
            200); // the sandbox's own webhook comes 30 s later: after this test
  auto intent = get(brand_, contract)["events"][1]["event"]["intent"].get<std::string>();
  {
    pqxx::connection db{url()};
    pqxx::work tx{db};
    tx.exec_params("insert into payment_webhooks (event_id, event_type, reference) values ($1, $2, $3)",
                   "evt_recorded_then_crashed", "payment_intent.succeeded", contract);
    tx.commit();
  }
  EXPECT_EQ(get(brand_, contract)["status"], "awaiting_funding");
  json ev{{"id", "evt_recorded_then_crashed"},
          {"type", "payment_intent.succeeded"},
          {"created", pactum::now_millis()},
          {"data", json{{"intent", intent}, {"key", intent}, {"reference", contract}, {"amount", 6'000},
                        {"currency", "USD"}}}};
  auto body = ev.dump();
  auto post_signed = [&] {
    return http_call(ep(), "POST", "/api/v1/webhooks/payments", body, "", "application/json",
                     {{"Pactum-Signature", pactum::payments::sign_webhook(secret_, pactum::now_millis() / 1000, body)}});
  };
  auto r = post_signed();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json_body()["replay"], true) << "its id was recorded before";
  EXPECT_EQ(await_status(contract, "funded")["status"], "funded") << "the outcome is applied all the same";
  auto again = post_signed();
  ASSERT_EQ(again.status, 200) << again.body;
  auto view = get(brand_, contract); // kept: iterating a member of the temporary would dangle
  int funded_events = 0;
  for (auto& e : view["events"])
    funded_events += e["event"]["type"] == "contract.funded";
  EXPECT_EQ(funded_events, 1) << "and only once: " << view.dump();
  EXPECT_EQ(ledger_check(), 0);
}

TEST_F(ContractEndToEnd, ARefundJournaledButNeverSentBeforeACrashIsSentAfterTheRestartUnasked) {
  // The delivery deadline refunds: the refund is journaled, then the provider is asked to pay
  // the brand back. A crash between the two used to leave the money at the provider until
  // somebody happened to read the contract: the deadline's timer was cleared by the refund
  // itself. Now a wake-up timer stored with the refund activates the contract after the restart.
  // The crash is real: the provider's call table is locked so the call cannot start, pactumd is
  // killed, and after the restart nobody reads or touches the contract (the test watches the
  // journal in PostgreSQL, which activates nothing).
  // A 6-second day: the lock on the provider's calls must be taken before the deadline refunds,
  // after funding is seen, on however slow a build.
  start({"--contract-day-ms", "6000", "--timer-retry-ms", "500"});
  auto contract = deal(7'000, 1, 1);
  ASSERT_EQ(act(brand_, contract, "fund", {{"key", "f"}, {"payment_method", good_card}}).status, 200);
  await_status(contract, "funded");

  const auto calls = provider_calls();
  pqxx::connection locker{url()};
  auto lock = hold_provider_calls(locker);
  ASSERT_EQ(await_journaled(contract, "contract.refunded", 1), 1) << "the deadline refunds";
  std::this_thread::sleep_for(std::chrono::milliseconds(300)); // the call is waiting for the lock
  server_->kill_now();
  lock->abort();
  ASSERT_EQ(provider_calls(), calls) << "the refund never reached the provider";
  EXPECT_EQ(journaled(contract, "contract.provider_confirmed"), 0);
  EXPECT_EQ(ledger_check(), 0);

  restart_with(args_);
  EXPECT_EQ(await_journaled(contract, "contract.provider_confirmed", 1), 1)
    << "the refund is sent and confirmed unasked";
  EXPECT_EQ(journaled(contract, "contract.refunded"), 1);
  {
    pqxx::connection db{url()};
    pqxx::nontransaction q{db};
    EXPECT_EQ(q.exec_params("select count(*) from due_timers where entity_id = $1", contract)[0][0].as<int>(), 0)
      << "nothing is owed any more: no timer is left";
  }
  auto view = get(brand_, contract);
  EXPECT_EQ(view["status"], "refunded");
  EXPECT_EQ(view["escrow"], 0);
  EXPECT_EQ(ledger_check(), 0);
}

TEST_F(ContractEndToEnd, APayoutJournaledButNeverSentBeforeACrashIsPaidAfterTheRestartUnasked) {
  // The same for a creator's withdrawal: the request (with its reservation) is journaled, the
  // payout call cannot start, pactumd is killed. After the restart nobody touches the wallet.
  ASSERT_NO_FATAL_FAILURE(pay_creator(20'000));
  ASSERT_EQ(balance(creator_), 18'000);
  ASSERT_NO_FATAL_FAILURE(verify_creator());
  start({"--settlement-window-s", "0", "--timer-retry-ms", "500"});

  const auto calls = provider_calls();
  pqxx::connection locker{url()};
  auto lock = hold_provider_calls(locker);
  auto w = http_call(ep(), "POST", "/api/v1/users/me/withdrawals",
                     json{{"key", "w"}, {"amount", 15'000}, {"currency", "USD"}, {"destination", "acct_cleo"}}.dump(),
                     creator_.token);
  ASSERT_EQ(w.status, 200) << w.body;
  EXPECT_EQ(w.json_body()["status"], "pending");
  std::this_thread::sleep_for(std::chrono::milliseconds(300)); // the payout is waiting for the lock
  server_->kill_now();
  lock->abort();
  EXPECT_EQ(journaled(creator_.id, "wallet.withdrawal_requested"), 1);
  ASSERT_EQ(provider_calls(), calls) << "the payout never reached the provider";
  EXPECT_EQ(journaled(creator_.id, "wallet.withdrawal_paid"), 0);

  restart_with(args_);
  EXPECT_EQ(await_journaled(creator_.id, "wallet.withdrawal_paid", 1), 1) << "the payout is made unasked";
  EXPECT_EQ(balance(creator_), 3'000);
  EXPECT_EQ(ledger_check(), 0);
}

TEST_F(ContractEndToEnd, AnIdleWalletIsPassivatedAndComesBackWithItsHistory) {
  // A wallet used to stay in memory from its first withdrawal until the server stopped: one live
  // actor for every user who ever withdrew. Idle, with no payout pending, it is now passivated,
  // and the next request activates it from its journal.
  ASSERT_NO_FATAL_FAILURE(pay_creator(20'000));
  ASSERT_NO_FATAL_FAILURE(verify_creator());
  start({"--settlement-window-s", "0", "--passivate-after-ms", "300"});
  auto passivated_wallets = [&] {
    auto r = http_call(ep(), "GET", "/metrics", {}, {}, "");
    const std::string series = "pactum_actor_passivations_total{type=\"wallet\"} ";
    auto at = r.body.find(series);
    return at == std::string::npos ? -1.0 : std::stod(r.body.substr(at + series.size()));
  };
  auto withdraw = [&](const std::string& key, int64_t amount) {
    return http_call(ep(), "POST", "/api/v1/users/me/withdrawals",
                     json{{"key", key}, {"amount", amount}, {"currency", "USD"}, {"destination", "acct_cleo"}}.dump(),
                     creator_.token);
  };
  auto list = [&] { return http_call(ep(), "GET", "/api/v1/users/me/withdrawals", "", creator_.token).json_body(); };
  ASSERT_EQ(passivated_wallets(), 0);
  ASSERT_EQ(withdraw("w1", 5'000).status, 200);
  ASSERT_EQ(await_journaled(creator_.id, "wallet.withdrawal_paid", 1), 1);

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (passivated_wallets() < 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(passivated_wallets(), 1) << "idle with nothing pending: passivated";

  auto history = list();
  ASSERT_EQ(history["withdrawals"].size(), 1u) << history.dump();
  EXPECT_EQ(history["withdrawals"][0]["status"], "paid") << "activated again from its journal";
  auto again = withdraw("w1", 5'000);
  EXPECT_EQ(again.json_body()["duplicate"], true) << "and it remembers its keys: " << again.body;
  ASSERT_EQ(withdraw("w2", 4'000).status, 200);
  ASSERT_EQ(await_journaled(creator_.id, "wallet.withdrawal_paid", 2), 2);
  EXPECT_EQ(balance(creator_), 18'000 - 9'000);
  EXPECT_EQ(ledger_check(), 0);
}
