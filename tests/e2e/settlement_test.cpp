// End to end: cpc/cpv campaigns pay creators per valid click or view through the ledger (issue 8,
// item 4; docs/contracts.md "Performance contracts"), against a real pactumd and PostgreSQL.
//
// CPC: a creator's deal in a cpc campaign is a performance contract (cap 1,000 at 5 per click).
// Real `/r/{code}` redirects with a browser user agent, and some bot clicks: after billing the
// creator holds 20 x 5 less the commission, billed_at is set on exactly the valid clicks, the
// bots are never billed. A SIGKILL after the bill with its marks lost bills nothing twice and the
// marks are made again. Clicks beyond the cap stop at the cap and end the contract; the campaign
// then reports the cap spent; `pactumd --ledger-check` stays clean throughout.
//
// CPV: the view deltas are inserted with SQL, standing in for the social adapter's poller (the
// other half of migration 0030, built on another branch), exactly as it records them.

#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "e2e_fixture.hpp"
#include "pactum/common/time.hpp"
#include "pactum/sim/client.hpp"

using namespace pactum::sim;
using pactum::test_support::event_of;
using namespace std::chrono_literals;

namespace {

const char* browser = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                      "Chrome/120.0.0.0 Safari/537.36";

class SettlementE2E : public pactum::test_support::server_test {
protected:
  std::vector<std::string> server_args() const override {
    // All test clicks come from 127.0.0.1: the repeat and velocity rules are set wide so that
    // only the bot agents are invalid here (the fraud rules have their own tests).
    return {"--webhook-secret", "settle-secret", "--timer-sweep-ms", "200",
            "--analytics-interval-ms", "100", "--billing-interval-ms", "300",
            "--fraud-repeat-window-s", "0", "--fraud-client-floor", "100000",
            "--fraud-agent-floor", "100000", "--fraud-creator-floor", "100000"};
  }

  http_reply call(const account& who, const std::string& method, const std::string& target,
                  const json& body = json()) {
    return http_call(ep(), method, target, body.is_null() ? std::string{} : body.dump(), who.token);
  }

  json poll(const account& who, const std::string& target, const std::function<bool(const json&)>& pred,
            int tries = 300) {
    json last;
    for (int i = 0; i < tries; ++i) {
      auto r = call(who, "GET", target);
      last = r.json_body();
      if (r.status == 200 && pred(last))
        return last;
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << target << " never matched: " << last.dump();
    return last;
  }

  int64_t balance(const account& who) {
    auto r = call(who, "GET", "/api/v1/users/me/balance");
    EXPECT_EQ(r.status, 200) << r.body;
    auto body = r.json_body(); // kept: the loop must not walk a destroyed temporary
    for (auto& b : body["balances"])
      if (b["currency"] == "EUR")
        return b["available"].get<int64_t>();
    return 0;
  }

  /// The balance once it reaches `want` (or the last one read after a few seconds).
  int64_t balance_eventually(const account& who, int64_t want) {
    int64_t b = balance(who);
    for (int i = 0; i < 100 && b != want; ++i) {
      std::this_thread::sleep_for(50ms);
      b = balance(who);
    }
    return b;
  }

  int ledger_check() {
    std::string cmd = std::string{std::getenv("PACTUMD_BIN")} + " --database-url '" + url()
                      + "' --log-level warn --ledger-check";
    int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }

  int64_t count(const std::string& sql) {
    pqxx::connection c{url()};
    pqxx::read_transaction tx{c};
    return tx.exec1(sql)[0].as<int64_t>();
  }

  void exec(const std::string& sql) {
    pqxx::connection c{url()};
    pqxx::work tx{c};
    tx.exec0(sql);
    tx.commit();
  }

  /// A published campaign priced `model` at `rate`; `creator` approved into it. Answers the
  /// campaign and the conversation.
  std::pair<std::string, std::string> make_campaign(const account& brand, const account& creator,
                                               const std::string& model, int64_t rate, int64_t ends_at = 0) {
    json d{{"key", "c"},
           {"title", "Autumn rides"},
           {"description", "City bikes"},
           {"goals", {"sales"}},
           {"budget", 100'000},
           {"currency", "EUR"},
           {"deliverables", {json{{"type", "tiktok_duet"}, {"count", 1}}}},
           {"audience", {{"niches", {"travel"}}, {"countries", {"DE"}}}},
           {"collaboration_types", {"tiktok_duet"}},
           {"pricing", {{"model", model}, {"rate", rate}}},
           {"brief", "Ride it"}};
    if (ends_at > 0)
      d["ends_at"] = ends_at;
    auto made = call(brand, "POST", "/api/v1/brands/campaigns", d);
    EXPECT_EQ(made.status, 201) << made.body;
    auto id = made.json_body()["campaign"]["id"].get<std::string>();
    EXPECT_EQ(call(brand, "POST", "/api/v1/brands/campaigns/" + id + "/status", json{{"to", "publish"}, {"key", "p"}}).status, 200);
    auto app = call(creator, "POST", "/api/v1/influencers/campaigns/" + id + "/apply", json{{"key", "a"}});
    EXPECT_EQ(app.status, 201) << app.body;
    auto approved = call(brand, "PUT",
                         "/api/v1/brands/campaigns/" + id + "/applications/"
                           + std::to_string(app.json_body()["application"].get<int64_t>()),
                         json{{"key", "d"}, {"outcome", "approved"}});
    EXPECT_EQ(approved.status, 200) << approved.body;
    return {id, approved.json_body()["conversation"].get<std::string>()};
  }

  /// The deal (cap `amount` EUR cents), accepted and funded: the contract's id.
  std::string funded_deal(const account& brand, const account& creator, const std::string& conv, int64_t amount,
                          const std::string& tag = "o") {
    ws_client b{ep(), brand.token}, c{ep(), creator.token};
    auto offer = b.request(json{{"type", "offer.make"}, {"conversation", conv}, {"client_id", tag},
                                {"terms", json{{"amount", amount}, {"currency", "EUR"},
                                               {"deliverables", json::array({json{{"platform", "tiktok"}, {"type", "tiktok_duet"}, {"count", 1}}})},
                                               {"delivery_days", 7}, {"revision_rounds", 1}}}});
    EXPECT_EQ(offer["type"], "ok") << offer.dump();
    auto accepted = c.request(json{{"type", "offer.accept"}, {"conversation", conv}, {"offer", offer["seq"]}});
    EXPECT_EQ(accepted["type"], "ok") << accepted.dump();
    auto contract = accepted["contract"].get<std::string>();
    auto fund = call(brand, "POST", "/api/v1/contracts/" + contract + "/fund",
                     json{{"key", "f" + tag}, {"payment_method", "4242424242424242"}});
    EXPECT_EQ(fund.status, 200) << fund.body;
    poll(brand, "/api/v1/contracts/" + contract, [](const json& v) { return v.value("status", "") == "funded"; });
    return contract;
  }

  /// A product of `brand` and `creator`'s affiliate link to it in `campaign`: the link's code.
  std::string link_code(const account& brand, const account& creator, const std::string& campaign) {
    auto product = call(brand, "POST", "/api/v1/brands/products",
                        json{{"sku", "BIKE"}, {"name", "City bike"}, {"category", "bikes"},
                             {"url", "https://shop.example/bike"}, {"price", 49'900}, {"currency", "EUR"}});
    EXPECT_EQ(product.status, 201) << product.body;
    auto pid = product.json_body()["product"].value("id", std::string{});
    auto link = call(creator, "POST", "/api/v1/campaigns/" + campaign + "/links", json{{"product_id", pid}});
    EXPECT_EQ(link.status, 200) << link.body;
    return link.json_body().value("link", json::object()).value("code", std::string{});
  }

  /// The commission of every bill in a contract view, each checked to be 10% of its gross
  /// rounded down. How many bills the clicks fall into depends on how the pipeline's rounds cut
  /// them (more on a slow machine), and each bill rounds on its own: what the creator receives is
  /// the gross less this sum, never a figure fixed in advance.
  int64_t billed_commission(const json& view) {
    int64_t sum = 0;
    for (auto& e : view.value("events", json::array())) {
      auto ev = e.value("event", json::object());
      if (ev.value("type", "") != "contract.performance_billed")
        continue;
      EXPECT_EQ(ev.value("commission", int64_t{-1}), ev.value("gross", int64_t{0}) * 1000 / 10000) << ev.dump();
      sum += ev.value("commission", int64_t{0});
    }
    return sum;
  }

  void clicks(const std::string& code, int n, const std::string& ua) {
    for (int i = 0; i < n; ++i) {
      auto r = http_call(ep(), "GET", "/r/" + code, "", "", "", {{"User-Agent", ua}});
      ASSERT_EQ(r.status, 302) << r.body;
    }
  }
};

} // namespace

TEST_F(SettlementE2E, CpcPaysValidClicksOnceUpToTheCap) {
  auto brand = make_account(ep(), "brand", "Acme");
  auto cleo = make_account(ep(), "creator", "Cleo");
  auto made = make_campaign(brand, cleo, "cpc", 5);
  const std::string campaign = made.first, conv = made.second;
  auto contract = funded_deal(brand, cleo, conv, 1000);
  auto view = call(brand, "GET", "/api/v1/contracts/" + contract).json_body();
  ASSERT_TRUE(view.contains("performance")) << view.dump();
  EXPECT_EQ(view["performance"]["model"], "cpc");
  EXPECT_EQ(view["performance"]["rate"], 5);
  EXPECT_EQ(view["performance"]["campaign"], campaign);
  EXPECT_EQ(view["escrow"], 1000);
  // Paid per click: the brand's approval does not release the cap.
  auto approve = call(brand, "POST", "/api/v1/contracts/" + contract + "/approve", json{{"key", "ap"}});
  EXPECT_EQ(approve.status, 409) << approve.body;

  auto code = link_code(brand, cleo, campaign);
  ASSERT_FALSE(code.empty());

  clicks(code, 20, browser);
  clicks(code, 2, "curl/8.4.0");
  clicks(code, 1, "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)");

  view = poll(brand, "/api/v1/contracts/" + contract,
              [](const json& v) { return v.contains("performance") && v["performance"]["billed_units"] == 20; });
  EXPECT_EQ(view["performance"]["billed_gross"], 100);
  EXPECT_EQ(view["escrow"], 900);
  EXPECT_EQ(view["status"], "funded");
  // 20 x 5 less the 10% commission: 90 when the 20 clicks came in one bill (or in bills of even
  // counts); each bill of an odd count rounds its commission down by half a unit.
  const int64_t first_commission = billed_commission(view);
  EXPECT_EQ(balance_eventually(cleo, 100 - first_commission), 100 - first_commission) << view.dump();
  // Each paying bill is a notification to both sides (stored; a REST client reads it).
  auto billed_notes = [&](const account& who) {
    int64_t units = 0;
    for (int i = 0; i < 100; ++i) {
      units = 0;
      auto page = call(who, "GET", "/api/v1/notifications?limit=100").json_body();
      for (auto& n : page.value("notifications", json::array()))
        if (n.value("type", "") == "contract.performance_billed"
            && n.value("data", json::object()).value("contract", "") == contract)
          units += n["data"].value("units", int64_t{0});
      if (units >= 20)
        break;
      std::this_thread::sleep_for(50ms);
    }
    return units;
  };
  EXPECT_EQ(billed_notes(cleo), 20) << "the creator is told of every click paid";
  EXPECT_EQ(billed_notes(brand), 20);
  auto marked = [&](const std::string& verdict) {
    return count("select count(*) from link_clicks where campaign_id = '" + campaign + "' and verdict = '" + verdict
                 + "' and billed_at is not null");
  };
  for (int i = 0; i < 100 && marked("valid") < 20; ++i)
    std::this_thread::sleep_for(50ms);
  EXPECT_EQ(marked("valid"), 20);
  // The bot clicks came last: they may be classified in a later pipeline round than the bill.
  auto invalid = [&] {
    return count("select count(*) from link_clicks where campaign_id = '" + campaign + "' and verdict = 'invalid'");
  };
  for (int i = 0; i < 200 && invalid() < 3; ++i)
    std::this_thread::sleep_for(50ms);
  EXPECT_EQ(invalid(), 3);
  EXPECT_EQ(marked("invalid"), 0) << "bot clicks are never billed";
  EXPECT_EQ(ledger_check(), 0);
  // The 20 clicks may have been billed in more than one round (on a slow machine the pipeline
  // classifies them in several batches); what counts is that a restart adds no bill.
  auto bills = [&] {
    return count("select count(*) from journal where entity_id = '" + contract
                 + "' and event_type = 'contract.performance_billed'");
  };
  auto bills_before = bills();
  EXPECT_GE(bills_before, 1);

  // kill -9 after the bill, with its marks lost (as if it died between the journal and the
  // marking): nothing is billed twice, and the rows are marked again.
  server_.reset();
  exec("update link_clicks set billed_at = null where campaign_id = '" + campaign + "'");
  restart_with(server_args());
  for (int i = 0; i < 200 && marked("valid") < 20; ++i)
    std::this_thread::sleep_for(50ms);
  EXPECT_EQ(marked("valid"), 20);
  std::this_thread::sleep_for(1s); // a few billing rounds
  view = call(brand, "GET", "/api/v1/contracts/" + contract).json_body();
  EXPECT_EQ(view["performance"]["billed_units"], 20);
  EXPECT_EQ(balance_eventually(cleo, 100 - first_commission), 100 - first_commission);
  EXPECT_EQ(bills(), bills_before) << "the restart billed nothing again";

  // Beyond the cap: 900 left pays 180 clicks; 200 more stop at the cap and end the contract.
  clicks(code, 200, browser);
  view = poll(brand, "/api/v1/contracts/" + contract, [](const json& v) { return v.value("status", "") == "released"; });
  EXPECT_EQ(view["escrow"], 0);
  EXPECT_EQ(view["performance"]["billed_gross"], 1000);
  // The creator has the cap less the commission of each bill (rounded down per bill: a run billed
  // in more rounds of odd counts leaves the creator a few units more, at most half a unit a bill).
  const int64_t commission = billed_commission(view);
  EXPECT_EQ(balance_eventually(cleo, 1000 - commission), 1000 - commission) << "the cap less the commission";
  poll(brand, "/api/v1/campaigns/" + campaign, [](const json& v) { return v.value("spent", 0) == 1000 && v.value("committed", 1) == 0; });
  EXPECT_EQ(ledger_check(), 0);
}

TEST_F(SettlementE2E, CpvPaysViewsPerThousandFromViewDeltas) {
  auto brand = make_account(ep(), "brand", "Acme");
  auto cleo = make_account(ep(), "creator", "Cleo");
  auto made = make_campaign(brand, cleo, "cpv", 70); // 70 per 1,000 views
  const std::string campaign = made.first, conv = made.second;
  auto contract = funded_deal(brand, cleo, conv, 1000);
  // Standing in for the view poller (feat/views): one transaction of observed increases.
  exec("insert into content_view_deltas (campaign_id, creator_id, submission, platform, post, at, views, total) values"
       " ('" + campaign + "', '" + cleo.id + "', 3, 'tiktok', 'https://tiktok.com/@cleo/video/1', now(), 500, 500),"
       " ('" + campaign + "', '" + cleo.id + "', 3, 'tiktok', 'https://tiktok.com/@cleo/video/1', now(), 750, 1250),"
       " ('" + campaign + "', '" + cleo.id + "', 3, 'tiktok', 'https://tiktok.com/@cleo/video/1', now(), 250, 1500)");
  auto view = poll(brand, "/api/v1/contracts/" + contract,
                   [](const json& v) { return v.contains("performance") && v["performance"]["billed_units"] == 1500; });
  EXPECT_EQ(view["performance"]["model"], "cpv");
  EXPECT_EQ(view["performance"]["billed_gross"], 105) << "1,500 views at 70 per 1,000";
  EXPECT_EQ(view["escrow"], 1000 - 105);
  EXPECT_EQ(balance_eventually(cleo, 105 - 10), 105 - 10);
  for (int i = 0; i < 100 && count("select count(*) from content_view_deltas where billed_at is null") > 0; ++i)
    std::this_thread::sleep_for(50ms);
  EXPECT_EQ(count("select count(*) from content_view_deltas where billed_at is not null"), 3);
  EXPECT_EQ(ledger_check(), 0);
}

TEST_F(SettlementE2E, TwoContractsOfOneCreatorPayEachClickOnce) {
  // A second deal in the same campaign conversation while the first runs: both are performance
  // contracts of the same (campaign, creator), nudged every round; each click is paid by one.
  auto brand = make_account(ep(), "brand", "Acme");
  auto cleo = make_account(ep(), "creator", "Cleo");
  auto made = make_campaign(brand, cleo, "cpc", 5);
  const std::string campaign = made.first, conv = made.second;
  auto first = funded_deal(brand, cleo, conv, 1000, "o1");
  auto second = funded_deal(brand, cleo, conv, 1000, "o2");
  ASSERT_NE(first, second);
  auto code = link_code(brand, cleo, campaign);
  // Clicks in several waves, so that both contracts' counts run while bills are in flight.
  for (int wave = 0; wave < 6; ++wave) {
    clicks(code, 10, browser);
    std::this_thread::sleep_for(150ms);
  }
  auto billed = [&](const std::string& contract, const char* field) {
    auto v = call(brand, "GET", "/api/v1/contracts/" + contract).json_body();
    return v.value("performance", json::object()).value(field, int64_t{0});
  };
  for (int i = 0; i < 300 && billed(first, "billed_units") + billed(second, "billed_units") < 60; ++i)
    std::this_thread::sleep_for(50ms);
  std::this_thread::sleep_for(1500ms); // a few more billing rounds: nothing may be billed again
  const int64_t units = billed(first, "billed_units") + billed(second, "billed_units");
  const int64_t gross = billed(first, "billed_gross") + billed(second, "billed_gross");
  EXPECT_EQ(units, 60) << "each of the 60 valid clicks is paid once, by one of the two contracts";
  EXPECT_EQ(gross, 300);
  EXPECT_EQ(count("select count(*) from link_clicks where campaign_id = '" + campaign
                  + "' and billed_at is not null and claimed_by in ('" + first + "', '" + second + "')"),
            60);
  int64_t commission = 0;
  for (const auto& contract : {first, second}) {
    auto view = call(brand, "GET", "/api/v1/contracts/" + contract).json_body();
    EXPECT_EQ(view.value("status", ""), "funded");
    EXPECT_EQ(view.value("escrow", int64_t{0}), 1000 - view["performance"].value("billed_gross", int64_t{0}));
    for (auto& e : view.value("events", json::array())) {
      auto ev = e.value("event", json::object());
      if (ev.value("type", "") == "contract.performance_billed")
        commission += ev.value("commission", int64_t{0});
    }
  }
  EXPECT_EQ(balance_eventually(cleo, 300 - commission), 300 - commission) << "paid once, less the commission";
  EXPECT_EQ(ledger_check(), 0);
}

// The end's last bill while the clicks made before the end are unjudged: the analytics pipeline
// is set to judge only every 10 minutes (never during a test), and the test writes the verdicts
// itself, as the pipeline writes them, when it wants them judged.
class SettlementEndE2E : public SettlementE2E {
protected:
  std::vector<std::string> server_args() const override {
    auto args = SettlementE2E::server_args();
    for (size_t i = 0; i + 1 < args.size(); ++i) {
      if (args[i] == "--billing-interval-ms")
        args[i + 1] = "0"; // no job: only the contract's own last bill at the end pays
      if (args[i] == "--analytics-interval-ms")
        args[i + 1] = "600000";
    }
    args.insert(args.end(), {"--billing-end-grace-ms", std::to_string(grace_ms())});
    return args;
  }
  virtual int64_t grace_ms() const { return 60'000; }

  /// A cpc campaign ending `in_ms` from now, a funded deal, a link, and 10 browser clicks and a
  /// bot's click (all before the end): the campaign, the contract and the end.
  struct ended {
    std::string campaign, contract;
    int64_t ends_at = 0;
  };
  ended set_up(const account& brand, const account& cleo, int64_t in_ms) {
    const int64_t ends_at = pactum::now_millis() + in_ms;
    auto made = make_campaign(brand, cleo, "cpc", 5, ends_at);
    auto contract = funded_deal(brand, cleo, made.second, 1000);
    auto view = call(brand, "GET", "/api/v1/contracts/" + contract).json_body();
    EXPECT_EQ(view["performance"]["ends_at"], ends_at) << view.dump();
    auto code = link_code(brand, cleo, made.first);
    clicks(code, 10, browser);
    clicks(code, 1, "curl/8.4.0");
    EXPECT_LT(pactum::now_millis(), ends_at - 1'000) << "the machine is too slow for this test's timing";
    return {made.first, contract, ends_at};
  }

  /// The pipeline's verdicts, written as it writes them: the browser's clicks valid, the bot's not.
  void judge(const std::string& campaign) {
    exec("update link_clicks set verdict = case when user_agent like 'curl/%' then 'invalid' else 'valid' end,"
         " reason = case when user_agent like 'curl/%' then 'bot_agent' end"
         " where campaign_id = '" + campaign + "' and verdict = 'pending'");
  }

  void sleep_until_millis(int64_t at) {
    std::this_thread::sleep_until(std::chrono::system_clock::time_point{std::chrono::milliseconds{at}});
  }
};

TEST_F(SettlementEndE2E, TheCampaignEndWaitsForTheVerdictsBillsTheLastClicksThenGivesTheRestBack) {
  auto brand = make_account(ep(), "brand", "Acme");
  auto cleo = make_account(ep(), "creator", "Cleo");
  // Set-up must finish a second before the end: 15 s leaves room for a sanitizer build.
  auto e = set_up(brand, cleo, 15'000);
  // Past the end, and past the click writer's settling time (2 s): the last count has run and
  // found 11 clicks from before the end awaiting their verdicts.
  sleep_until_millis(e.ends_at + 3'500);
  auto waiting = call(brand, "GET", "/api/v1/contracts/" + e.contract).json_body();
  EXPECT_EQ(waiting.value("status", ""), "funded") << "the end waits for the verdicts: " << waiting.dump();
  EXPECT_EQ(waiting["performance"]["billed_units"], 0);
  judge(e.campaign);
  auto view = poll(brand, "/api/v1/contracts/" + e.contract,
                   [](const json& v) { return v.value("status", "") == "refunded"; }, 1'000);
  EXPECT_EQ(view["performance"]["billed_units"], 10) << view.dump();
  EXPECT_EQ(view["performance"]["billed_gross"], 50);
  auto refund = event_of(view, "contract.refunded");
  EXPECT_EQ(refund["reason"], "campaign_ended") << view.dump();
  EXPECT_EQ(refund["amount"], 950);
  EXPECT_EQ(balance_eventually(cleo, 45), 45);
  EXPECT_EQ(count("select count(*) from link_clicks where campaign_id = '" + e.campaign
                  + "' and verdict = 'valid' and billed_at is not null"),
            10);
  EXPECT_EQ(ledger_check(), 0);
}

class SettlementEndGraceE2E : public SettlementEndE2E {
protected:
  int64_t grace_ms() const override { return 1'000; }
};

TEST_F(SettlementEndGraceE2E, AnEndThatWaitedItsGraceGivesBackWhatIsNotYetJudged) {
  // The verdicts do not come within the grace (a second here): the end bills what was judged
  // (nothing) and gives the whole cap back; verdicts written later bill nothing.
  auto brand = make_account(ep(), "brand", "Acme");
  auto cleo = make_account(ep(), "creator", "Cleo");
  auto e = set_up(brand, cleo, 15'000);
  auto view = poll(brand, "/api/v1/contracts/" + e.contract,
                   [](const json& v) { return v.value("status", "") == "refunded"; }, 1'000);
  EXPECT_GE(pactum::now_millis(), e.ends_at + 1'000) << "refunded only after the grace";
  EXPECT_EQ(view["performance"]["billed_units"], 0) << view.dump();
  EXPECT_EQ(event_of(view, "contract.refunded")["amount"], 1000) << view.dump();
  judge(e.campaign);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  view = call(brand, "GET", "/api/v1/contracts/" + e.contract).json_body();
  EXPECT_EQ(view["performance"]["billed_units"], 0) << "an ended contract pays nothing more";
  EXPECT_EQ(balance(cleo), 0);
  EXPECT_EQ(ledger_check(), 0);
}
