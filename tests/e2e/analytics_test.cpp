// End to end: the analytics pipeline (issue 8, items 4 and 5). Tracking rows are inserted with
// SQL, exactly as the redirect and the conversion endpoint insert them (the documented seam of
// migration 0022); a real pactumd classifies them, writes the verdicts and folds the valid ones
// into the rollups. The performance report excludes the bot, repeat and unattributed events,
// the invalid-traffic list shows them with their reasons, a stranger gets not_found, and a
// restart neither double-counts nor loses anything. The live stream (analytics.subscribe) pushes
// the brand new figures soon after a batch, at most once a second, and nothing after unsubscribe.

#include <atomic>
#include <cstdio>
#include <map>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "e2e_fixture.hpp"
#include "pactum/common/time.hpp"
#include "pactum/sim/client.hpp"

using namespace pactum::sim;
using namespace std::chrono_literals;

namespace {

const char* browser = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                      "Chrome/120.0.0.0 Safari/537.36";

class AnalyticsE2E : public pactum::test_support::server_test {
protected:
  std::vector<std::string> server_args() const override {
    return {"--analytics-interval-ms", "100", "--analytics-max-subscriptions", "2"};
  }

  http_reply call(const account& who, const std::string& target) {
    return http_call(ep(), "GET", target, {}, who.token);
  }

  int run_pactumd(const std::string& args) {
    std::string cmd = std::string{std::getenv("PACTUMD_BIN")} + " --database-url '" + url()
                      + "' --log-level warn " + args;
    int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }

  /// A published cpc campaign of `brand` paying `rate` per valid click.
  std::string cpc_campaign(const account& brand, int64_t rate, const std::string& key = "an-campaign") {
    json d{{"key", key},
           {"title", "Spring shoes"},
           {"description", "Run"},
           {"goals", {"sales"}},
           {"budget", 100'000},
           {"currency", "EUR"},
           {"deliverables", {json{{"type", "instagram_post"}, {"count", 1}}}},
           {"audience", {{"niches", {"sport"}}, {"countries", {"DE"}}, {"min_followers", 0}}},
           {"collaboration_types", {"instagram_post"}},
           {"pricing", {{"model", "cpc"}, {"rate", rate}}},
           {"brief", "Show them"}};
    auto r = http_call(ep(), "POST", "/api/v1/brands/campaigns", d.dump(), brand.token);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json_body()["campaign"]["id"].get<std::string>();
  }

  /// Waits (up to 10 s) until the campaigns read model, projected after the commit, has
  /// `campaign`: until then its report answers 404.
  void await_report(const account& brand, const std::string& campaign) {
    for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
         std::chrono::steady_clock::now() < until;) {
      if (call(brand, "/api/v1/analytics/campaigns/" + campaign + "/performance").status == 200)
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "the report of campaign " << campaign << " never appeared";
  }

  void sql(const std::string& statement) {
    pqxx::connection c{url()};
    pqxx::work tx{c};
    tx.exec0(statement);
    tx.commit();
  }

  /// A click `seconds_ago` on `code` from client `client` (one byte, hex) with `ua`.
  std::string click(const std::string& code, const std::string& client, const std::string& ua, int seconds_ago) {
    return "insert into link_clicks (code, campaign_id, creator_id, product_id, at, client_hash, user_agent)"
           " select code, campaign_id, creator_id, product_id, now() - interval '"
           + std::to_string(seconds_ago) + " seconds', decode('" + client + "', 'hex'), '" + ua
           + "' from affiliate_links where code = '" + code + "';";
  }

  json performance(const account& who, const std::string& campaign) {
    auto now = pactum::now_millis();
    auto r = call(who, "/api/v1/analytics/campaigns/" + campaign + "/performance?from="
                         + std::to_string(now - 3'600'000) + "&to=" + std::to_string(now + 3'600'000)
                         + "&bucket=minute");
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json_body();
  }

  /// Polls the report until `pred` holds (the pipeline runs every 100 ms).
  json wait_totals(const account& who, const std::string& campaign, const std::function<bool(const json&)>& pred) {
    json last;
    for (int i = 0; i < 100; ++i) {
      last = performance(who, campaign);
      if (last.contains("totals") && pred(last["totals"]))
        return last;
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << "the report never matched: " << last.dump();
    return last;
  }

  int64_t pending() {
    pqxx::connection c{url()};
    pqxx::work tx{c};
    return tx.exec1("select (select count(*) from link_clicks where verdict = 'pending')"
                    " + (select count(*) from conversions where verdict = 'pending')")[0]
      .as<int64_t>();
  }
};

} // namespace

TEST_F(AnalyticsE2E, ReportsExcludeInvalidTrafficAndSurviveARestart) {
  auto brand = make_account(ep(), "brand", "ShoeCo");
  auto other = make_account(ep(), "brand", "OtherCo");
  auto ana = make_account(ep(), "creator", "Ana");
  auto ben = make_account(ep(), "creator", "Ben");
  auto mod = make_account(ep(), "creator", "Mo");
  ASSERT_EQ(run_pactumd("--set-role " + mod.email + "=moderator"), 0);
  auto campaign = cpc_campaign(brand, 5);
  // The campaigns read model is projected after the commit: wait until the report sees it.
  await_report(brand, campaign);

  std::string product = "0190a000-0000-7000-8000-000000000001";
  sql("insert into products (id, brand_id, sku, name, category, url, price, currency) values ('" + product + "', '"
      + brand.id + "', 'sku-1', 'Runner', 'shoes', 'https://shop.example/runner', 9900, 'EUR');"
      "insert into affiliate_links (code, campaign_id, creator_id, product_id, brand_id) values"
      " ('ana1', '" + campaign + "', '" + ana.id + "', '" + product + "', '" + brand.id + "'),"
      " ('ben1', '" + campaign + "', '" + ben.id + "', '" + product + "', '" + brand.id + "');");

  // Ana: five visitors (valid), two of them click again within the repeat window (invalid).
  std::string batch;
  for (int i = 1; i <= 5; ++i)
    batch += click("ana1", "0" + std::to_string(i), browser, 300 - i * 10);
  batch += click("ana1", "01", browser, 200);
  batch += click("ana1", "02", browser, 190);
  // Ben: three bots (invalid), two visitors (valid), one repeat (invalid).
  batch += click("ben1", "a1", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 180);
  batch += click("ben1", "a2", "curl/8.4.0", 170);
  batch += click("ben1", "a3", "", 160);
  batch += click("ben1", "b1", browser, 150);
  batch += click("ben1", "b2", browser, 140);
  batch += click("ben1", "b1", browser, 130);
  sql(batch);
  // Conversions: one from a visitor of Ana's link, one from a client that never clicked.
  sql("insert into conversions (brand_id, order_id, code, campaign_id, creator_id, product_id, amount, currency,"
      " client_hash, at) values"
      " ('" + brand.id + "', 'o-1', 'ana1', '" + campaign + "', '" + ana.id + "', '" + product
      + "', 9900, 'EUR', decode('01', 'hex'), now() - interval '100 seconds'),"
      " ('" + brand.id + "', 'o-2', 'ana1', '" + campaign + "', '" + ana.id + "', '" + product
      + "', 5000, 'EUR', decode('ff', 'hex'), now() - interval '90 seconds');");

  auto report = wait_totals(brand, campaign, [](const json& t) {
    return t["clicks"] == 7 && t["conversions"] == 1 && t["invalid_conversions"] == 1;
  });
  auto t = report["totals"];
  EXPECT_EQ(t["clicks"], 7) << "5 of Ana's + 2 of Ben's";
  EXPECT_EQ(t["unique_clicks"], 7);
  EXPECT_EQ(t["invalid_clicks"], 6) << "2 repeats + 3 bots + 1 repeat";
  EXPECT_EQ(t["revenue"], 9900) << "only the attributed order";
  EXPECT_EQ(t["spend"], 35) << "7 valid clicks at 5";
  EXPECT_DOUBLE_EQ(t["cpc"].get<double>(), 5.0);
  EXPECT_DOUBLE_EQ(t["cpa"].get<double>(), 35.0);
  EXPECT_NEAR(t["roi"].get<double>(), (9900.0 - 35.0) / 35.0, 1e-9);
  EXPECT_TRUE(t["cpv"].is_null()) << "no views: no divisor";
  ASSERT_EQ(report["creators"].size(), 2u);
  for (auto& c : report["creators"]) {
    if (c["creator"]["id"] == ana.id) {
      EXPECT_EQ(c["clicks"], 5);
      EXPECT_EQ(c["invalid_clicks"], 2);
      EXPECT_EQ(c["conversions"], 1);
      EXPECT_EQ(c["creator"]["display_name"], "Ana");
    } else {
      EXPECT_EQ(c["creator"]["id"], ben.id);
      EXPECT_EQ(c["clicks"], 2);
      EXPECT_EQ(c["invalid_clicks"], 4);
      EXPECT_EQ(c["revenue"], 0);
    }
  }
  int64_t series_clicks = 0;
  for (auto& p : report["series"])
    series_clicks += p["clicks"].get<int64_t>();
  EXPECT_EQ(series_clicks, 7) << "the series adds up to the totals";

  // The invalid events, newest first, with reasons; paginated.
  auto base = "/api/v1/analytics/campaigns/" + campaign + "/invalid-traffic";
  auto page = call(brand, base + "?limit=4");
  ASSERT_EQ(page.status, 200) << page.body;
  auto p1 = page.json_body();
  ASSERT_EQ(p1["events"].size(), 4u);
  auto p2 = call(brand, base + "?limit=4&before=" + std::to_string(p1["next_before"].get<int64_t>())).json_body();
  ASSERT_EQ(p2["events"].size(), 2u);
  std::map<std::string, int> reasons;
  for (auto* p : {&p1, &p2})
    for (auto& e : (*p)["events"])
      ++reasons[e["reason"].get<std::string>()];
  EXPECT_EQ(reasons["repeat_click"], 3);
  EXPECT_EQ(reasons["bot_agent"], 3);
  auto conv = call(brand, base + "?kind=conversion").json_body();
  ASSERT_EQ(conv["events"].size(), 1u);
  EXPECT_EQ(conv["events"][0]["reason"], "conversion_without_click");
  EXPECT_EQ(conv["events"][0]["order_id"], "o-2");

  // Who may read it: the brand and staff; a stranger brand and a creator get not_found, as for a
  // campaign that does not exist.
  EXPECT_EQ(call(mod, "/api/v1/analytics/campaigns/" + campaign + "/performance").status, 200);
  for (auto* who : {&other, &ana}) {
    auto r = call(*who, "/api/v1/analytics/campaigns/" + campaign + "/performance");
    EXPECT_EQ(r.status, 404) << r.body;
    EXPECT_EQ(r.json_body()["error"]["code"], "not_found");
    EXPECT_EQ(call(*who, base).status, 404);
  }
  EXPECT_EQ(call(brand, "/api/v1/analytics/campaigns/0190a000-0000-7000-8000-0000000000ff/performance").status, 404);
  EXPECT_EQ(call(brand, "/api/v1/analytics/campaigns/" + campaign + "/performance?bucket=week").status, 400);
  EXPECT_EQ(http_call(ep(), "GET", "/api/v1/analytics/campaigns/" + campaign + "/performance").status, 401);

  // A restart: nothing counted twice; the rebuilt detector still knows Ana's visitor 03 (a
  // click again right after the restart is a repeat), and a new visitor counts.
  restart_with(server_args());
  sql(click("ana1", "03", browser, 5) + click("ana1", "06", browser, 4));
  report = wait_totals(brand, campaign, [](const json& t) { return t["clicks"] == 8 && t["invalid_clicks"] == 7; });
  t = report["totals"];
  EXPECT_EQ(t["clicks"], 8);
  EXPECT_EQ(t["invalid_clicks"], 7);
  EXPECT_EQ(t["conversions"], 1);
  EXPECT_EQ(t["revenue"], 9900);
  EXPECT_EQ(t["spend"], 40);
  EXPECT_EQ(pending(), 0);
}

TEST_F(AnalyticsE2E, AClickFarmBurstIsFlaggedByVelocityAndNotBilled) {
  auto brand = make_account(ep(), "brand", "FarmTarget");
  auto cara = make_account(ep(), "creator", "Cara");
  auto campaign = cpc_campaign(brand, 3);
  await_report(brand, campaign);
  std::string product = "0190a000-0000-7000-8000-000000000002";
  sql("insert into products (id, brand_id, sku, name, category, url, price, currency) values ('" + product + "', '"
      + brand.id + "', 'sku-2', 'Trail', 'shoes', 'https://shop.example/trail', 12900, 'EUR');"
      "insert into affiliate_links (code, campaign_id, creator_id, product_id, brand_id) values"
      " ('cara1', '" + campaign + "', '" + cara.id + "', '" + product + "', '" + brand.id + "');");
  // 60 clicks in 30 seconds, each from a new address, all with one (browser-looking) agent: the
  // agent's first `--fraud-agent-floor` (12) clicks pass, the rest are velocity_agent.
  const char* farm = "Mozilla/5.0 (Linux; Android 9; SM-J730F) AppleWebKit/537.36 (KHTML, like Gecko) "
                     "Chrome/96.0.4664.104 Mobile Safari/537.36";
  std::string batch;
  for (int i = 0; i < 60; ++i) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "%04x", 0x1000 + i);
    batch += "insert into link_clicks (code, campaign_id, creator_id, product_id, at, client_hash, user_agent)"
             " select code, campaign_id, creator_id, product_id, now() - interval '40 seconds' + "
             + std::to_string(i * 500) + " * interval '1 millisecond', decode('" + hex + "', 'hex'), '" + farm
             + "' from affiliate_links where code = 'cara1';";
  }
  sql(batch);
  auto report = wait_totals(brand, campaign, [](const json& t) { return t["clicks"].get<int64_t>() + t["invalid_clicks"].get<int64_t>() == 60; });
  EXPECT_EQ(report["totals"]["clicks"], 12);
  EXPECT_EQ(report["totals"]["invalid_clicks"], 48);
  EXPECT_EQ(report["totals"]["spend"], 36) << "only the valid clicks cost money";
  auto list = call(brand, "/api/v1/analytics/campaigns/" + campaign + "/invalid-traffic?limit=200").json_body();
  ASSERT_EQ(list["events"].size(), 48u);
  for (auto& e : list["events"])
    EXPECT_EQ(e["reason"], "velocity_agent");
  EXPECT_TRUE(list["next_before"].is_number());
}

TEST_F(AnalyticsE2E, TheBrandSeesLiveFiguresCoalescedToOnePushASecond) {
  auto brand = make_account(ep(), "brand", "LiveCo");
  auto other = make_account(ep(), "brand", "Snoop");
  auto dora = make_account(ep(), "creator", "Dora");
  auto campaign = cpc_campaign(brand, 2);
  await_report(brand, campaign);
  std::string product = "0190a000-0000-7000-8000-000000000003";
  sql("insert into products (id, brand_id, sku, name, category, url, price, currency) values ('" + product + "', '"
      + brand.id + "', 'sku-3', 'Road', 'shoes', 'https://shop.example/road', 8900, 'EUR');"
      "insert into affiliate_links (code, campaign_id, creator_id, product_id, brand_id) values"
      " ('dora1', '" + campaign + "', '" + dora.id + "', '" + product + "', '" + brand.id + "');");

  // The reply carries the current figures.
  ws_client live{ep(), brand.token};
  auto sub = live.request(json{{"type", "analytics.subscribe"}, {"campaign", campaign}});
  ASSERT_EQ(sub["type"], "ok") << sub.dump();
  EXPECT_EQ(sub["analytics"]["campaign"], campaign);
  EXPECT_EQ(sub["analytics"]["totals"]["clicks"], 0);
  EXPECT_TRUE(sub["analytics"]["creators"].empty());

  // A stranger, and a campaign that does not exist: not_found alike.
  ws_client snoop{ep(), other.token};
  auto refused = snoop.request(json{{"type", "analytics.subscribe"}, {"campaign", campaign}});
  EXPECT_EQ(refused["code"], "not_found") << refused.dump();
  auto missing = live.request(json{{"type", "analytics.subscribe"}, {"campaign", "0190a000-0000-7000-8000-0000000000fe"}});
  EXPECT_EQ(missing["code"], "not_found") << missing.dump();

  const std::string stream = "analytics:" + campaign;
  auto is_update = [&](const json& e) { return e["stream"] == stream && e["event"]["type"] == "analytics.updated"; };

  // Three visitors: pushed within ~2 s of the insert, with the right figures.
  auto inserted = std::chrono::steady_clock::now();
  sql(click("dora1", "c1", browser, 3) + click("dora1", "c2", browser, 2) + click("dora1", "c3", browser, 1));
  auto first = pactum::test_support::wait_event(
    live, [&](const json& e) { return is_update(e) && e["event"]["totals"]["clicks"] == 3; }, 10s);
  ASSERT_TRUE(first.has_value()) << "no analytics.updated with the three clicks within 10 s";
  // About 1 s in a release build (a 100 ms pipeline round, then at most one push a second); the
  // bound leaves room for a sanitizer build on a shared machine.
  EXPECT_LT(std::chrono::steady_clock::now() - inserted, 5s);
  auto ev = (*first)["event"];
  EXPECT_EQ(ev["campaign"], campaign);
  EXPECT_EQ(ev["totals"]["spend"], 6) << "3 valid clicks at 2";
  EXPECT_DOUBLE_EQ(ev["totals"]["cpc"].get<double>(), 2.0);
  ASSERT_EQ(ev["creators"].size(), 1u);
  EXPECT_EQ(ev["creators"][0]["creator"]["id"], dora.id);
  EXPECT_EQ(ev["creators"][0]["creator"]["display_name"], "Dora");
  EXPECT_EQ(ev["creators"][0]["clicks"], 3);
  EXPECT_FALSE(snoop.next_event(200ms).has_value()) << "the stranger receives nothing";

  // A burst: a click every 100 ms for 3 s (each in its own batch) gives about one push a second.
  std::atomic<int64_t> writer_ms{0};
  std::thread writer{[&] {
    auto began = std::chrono::steady_clock::now();
    for (int i = 0; i < 30; ++i) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "%04x", 0x2000 + i);
      sql(click("dora1", hex, browser, 0));
      std::this_thread::sleep_for(100ms);
    }
    writer_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - began).count();
  }};
  std::vector<std::chrono::steady_clock::time_point> arrivals;
  json last;
  auto until = std::chrono::steady_clock::now() + 20s; // the loop ends at the 33rd click
  while (std::chrono::steady_clock::now() < until) {
    auto e = live.next_event(std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()));
    if (!e)
      break;
    if (!is_update(*e))
      continue;
    arrivals.push_back(std::chrono::steady_clock::now());
    last = (*e)["event"];
    auto t = last["totals"];
    if (t["clicks"].get<int64_t>() + t["invalid_clicks"].get<int64_t>() == 33)
      break;
  }
  writer.join();
  ASSERT_FALSE(arrivals.empty());
  auto t = last["totals"];
  EXPECT_EQ(t["clicks"].get<int64_t>() + t["invalid_clicks"].get<int64_t>(), 33) << last.dump();
  auto span_ms = std::chrono::duration_cast<std::chrono::milliseconds>(arrivals.back() - arrivals.front()).count();
  // At most one push per second: n pushes span at least (n - 1) s on the server; the client's
  // clock may see two arrivals closer by delivery jitter, so allow 300 ms per gap.
  EXPECT_GE(arrivals.size(), 2u) << "a 3 s burst gives more than one push";
  // The writer takes 3 s and a little (longer on a slow machine): at most one push for each
  // second of changes and one for the last, not one per batch.
  auto writer_s = static_cast<size_t>((writer_ms.load() + 999) / 1000);
  EXPECT_LE(arrivals.size(), writer_s + 2) << "the writer took " << writer_ms.load() << " ms";
  EXPECT_GE(span_ms, static_cast<int64_t>(arrivals.size() - 1) * 700) << arrivals.size() << " pushes in " << span_ms << " ms";
  for (size_t i = 1; i < arrivals.size(); ++i)
    EXPECT_GE(std::chrono::duration_cast<std::chrono::milliseconds>(arrivals[i] - arrivals[i - 1]).count(), 300);

  // A per-connection limit (--analytics-max-subscriptions 2 here); subscribing again is no new one.
  auto second = cpc_campaign(brand, 1, "an-second");
  auto third = cpc_campaign(brand, 1, "an-third");
  await_report(brand, second);
  await_report(brand, third);
  EXPECT_EQ(live.request(json{{"type", "analytics.subscribe"}, {"campaign", campaign}})["type"], "ok");
  EXPECT_EQ(live.request(json{{"type", "analytics.subscribe"}, {"campaign", second}})["type"], "ok");
  auto over = live.request(json{{"type", "analytics.subscribe"}, {"campaign", third}});
  EXPECT_EQ(over["code"], "limit_reached") << over.dump();

  // After unsubscribe nothing more arrives, though the figures change.
  auto unsub = live.request(json{{"type", "analytics.unsubscribe"}, {"campaign", campaign}});
  ASSERT_EQ(unsub["type"], "ok") << unsub.dump();
  while (live.next_event(1ms)) {
  } // pushes that arrived before the reply (kept by the client while it waited)
  sql(click("dora1", "d1", browser, 0));
  wait_totals(brand, campaign, [](const json& t) {
    return t["clicks"].get<int64_t>() + t["invalid_clicks"].get<int64_t>() == 34;
  });
  auto late = pactum::test_support::wait_event(live, is_update, 1500ms);
  EXPECT_FALSE(late.has_value()) << late->dump();
  // The freed place takes another campaign.
  EXPECT_EQ(live.request(json{{"type", "analytics.subscribe"}, {"campaign", third}})["type"], "ok");
}
