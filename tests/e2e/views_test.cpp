// End to end: views from the social adapter (issue 8, items 3 and 4). A CPV campaign's contract
// with two deliverables; the creator posts one on TikTok (a post the simulated provider counts)
// and one whose id starts with `missing` (the platform says not_found); the brand approves both.
// A real pactumd polls the approved posts every 200 ms: the performance report shows the
// creator's views and the cpv spend (rate per 1,000 views), the delta rows sum to the report's
// views, the brand's analytics.subscribe socket receives analytics.updated with views, the
// missing post is retired after one failed poll (no error loop), and a restart counts nothing
// twice (counted views = the post's latest total − its first).

#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "e2e_fixture.hpp"
#include "pactum/common/time.hpp"
#include "pactum/sim/client.hpp"

using namespace pactum::sim;
using namespace std::chrono_literals;

namespace {

constexpr int64_t rate = 1'500; // per 1,000 views

class ViewsE2E : public pactum::test_support::server_test {
protected:
  std::vector<std::string> server_args() const override {
    return {"--webhook-secret", "views-secret", "--views-poll-interval-ms", "200", "--analytics-interval-ms", "100"};
  }

  http_reply call(const account& who, const std::string& method, const std::string& target,
                  const json& body = json()) {
    return http_call(ep(), method, target, body.is_null() ? std::string{} : body.dump(), who.token);
  }

  json poll(const account& who, const std::string& target, const std::function<bool(const json&)>& pred) {
    json last;
    for (int i = 0; i < 100; ++i) {
      auto r = call(who, "GET", target);
      last = r.json_body();
      if (r.status == 200 && pred(last))
        return last;
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << target << " never matched: " << last.dump();
    return last;
  }

  json performance(const account& who, const std::string& campaign) {
    auto now = pactum::now_millis();
    auto r = call(who, "GET", "/api/v1/analytics/campaigns/" + campaign + "/performance?from="
                                + std::to_string(now - 3'600'000) + "&to=" + std::to_string(now + 3'600'000)
                                + "&bucket=minute");
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json_body();
  }

  pqxx::row sql1(const std::string& query) {
    pqxx::connection c{url()};
    pqxx::work tx{c};
    return tx.exec1(query);
  }

  /// A published cpv campaign with one approved creator's funded contract of two TikTok
  /// deliverables; answers (campaign, contract).
  std::pair<std::string, std::string> funded_cpv_campaign(const account& brand, const account& creator) {
    json d{{"key", "views"},
           {"title", "City bike views"},
           {"description", "Our new city bike"},
           {"goals", {"awareness"}},
           {"budget", 100'000},
           {"currency", "EUR"},
           {"deliverables", {json{{"type", "tiktok_duet"}, {"count", 2}}}},
           {"audience", {{"niches", {"travel"}}, {"countries", {"DE"}}, {"min_followers", 0}}},
           {"collaboration_types", {"tiktok_duet"}},
           {"pricing", {{"model", "cpv"}, {"rate", rate}}},
           {"brief", "Ride it through the city"}};
    auto created = call(brand, "POST", "/api/v1/brands/campaigns", d);
    EXPECT_EQ(created.status, 201) << created.body;
    auto id = created.json_body()["campaign"]["id"].get<std::string>();
    EXPECT_EQ(call(brand, "POST", "/api/v1/brands/campaigns/" + id + "/status", json{{"to", "publish"}, {"key", "p"}}).status, 200);
    auto app = call(creator, "POST", "/api/v1/influencers/campaigns/" + id + "/apply", json{{"key", "a"}})
                 .json_body()["application"].get<int64_t>();
    auto approved = call(brand, "PUT", "/api/v1/brands/campaigns/" + id + "/applications/" + std::to_string(app),
                         json{{"key", "d"}, {"outcome", "approved"}});
    EXPECT_EQ(approved.status, 200) << approved.body;
    auto conv = approved.json_body()["conversation"].get<std::string>();
    ws_client b{ep(), brand.token}, c{ep(), creator.token};
    auto offer = b.request(json{{"type", "offer.make"}, {"conversation", conv}, {"client_id", "o-1"},
                                {"terms", json{{"amount", 30'000}, {"currency", "EUR"},
                                               {"deliverables", json::array({json{{"platform", "tiktok"}, {"type", "tiktok_duet"}, {"count", 2}}})},
                                               {"delivery_days", 7}, {"revision_rounds", 1}}}});
    EXPECT_EQ(offer["type"], "ok") << offer.dump();
    auto accepted = c.request(json{{"type", "offer.accept"}, {"conversation", conv}, {"offer", offer["seq"]}});
    EXPECT_EQ(accepted["type"], "ok") << accepted.dump();
    auto contract = accepted["contract"].get<std::string>();
    EXPECT_EQ(call(brand, "POST", "/api/v1/contracts/" + contract + "/fund",
                   json{{"key", "f"}, {"payment_method", "4242424242424242"}}).status, 200);
    poll(brand, "/api/v1/campaigns/" + id, [](const json& v) { return v.value("committed", 0) == 30'000; });
    return {id, contract};
  }

  int64_t submit(const account& who, const std::string& campaign, const std::string& contract, int deliverable,
                 const std::string& url, const std::string& key) {
    auto r = call(who, "POST", "/api/v1/campaigns/" + campaign + "/content",
                  json{{"key", key},
                       {"contract", contract},
                       {"deliverable", deliverable},
                       {"media", json::array({json{{"url", url}, {"type", "video/mp4"}}})},
                       {"caption", "Riding to work #ad"},
                       {"platform", "tiktok"}});
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json_body()["submission"].get<int64_t>();
  }

  void approve(const account& brand, const std::string& campaign, int64_t submission, const std::string& key) {
    auto r = call(brand, "PUT", "/api/v1/campaigns/" + campaign + "/content/" + std::to_string(submission) + "/status",
                  json{{"key", key}, {"verdict", "approved"}, {"reason", "great"}});
    ASSERT_EQ(r.status, 200) << r.body;
  }

  /// The report's views of `creator` (0 when absent), with its spend.
  static std::pair<int64_t, int64_t> creator_views(const json& report, const std::string& creator) {
    for (auto& c : report["creators"])
      if (c["creator"]["id"] == creator)
        return {c["views"].get<int64_t>(), c["spend"].get<int64_t>()};
    return {0, 0};
  }
};

} // namespace

TEST_F(ViewsE2E, ApprovedPostsViewsReachTheReportLiveAndSurviveARestart) {
  auto brand = make_account(ep(), "brand", "BikeCo");
  auto cleo = make_account(ep(), "creator", "Cleo");
  auto funded = funded_cpv_campaign(brand, cleo);
  ASSERT_FALSE(HasFailure());
  const std::string campaign = funded.first, contract = funded.second;

  // The brand follows the campaign's figures live from the start.
  ws_client live{ep(), brand.token};
  auto sub = live.request(json{{"type", "analytics.subscribe"}, {"campaign", campaign}});
  ASSERT_EQ(sub["type"], "ok") << sub.dump();
  EXPECT_EQ(sub["analytics"]["totals"]["views"], 0);

  auto counted = submit(cleo, campaign, contract, 0, "https://www.tiktok.com/@cleo/video/ad-city-ride?lang=de", "s0");
  auto missing = submit(cleo, campaign, contract, 1, "https://www.tiktok.com/@cleo/video/missing-ride", "s1");
  // Submitted but not approved yet: nothing is tracked.
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(sql1("select count(*) from tracked_posts")[0].as<int64_t>(), 0);
  approve(brand, campaign, counted, "r0");
  approve(brand, campaign, missing, "r1");

  // Polled: the first answer is the baseline, later ones add views.
  json report;
  for (int i = 0; i < 100; ++i) {
    report = performance(brand, campaign);
    if (creator_views(report, cleo.id).first > 0)
      break;
    std::this_thread::sleep_for(100ms);
  }
  int64_t views = 0, spend = 0;
  std::tie(views, spend) = creator_views(report, cleo.id);
  ASSERT_GT(views, 0) << report.dump() << "\ntracked posts: "
                      << sql1("select count(*)::text || ' ' || coalesce(string_agg(status || '/' || coalesce(first_total::text, '-')"
                              " || '/' || coalesce(last_total::text, '-') || '/' || coalesce(last_error, ''), ', '), '')"
                              " from tracked_posts")[0].as<std::string>();
  EXPECT_EQ(spend, rate * views / 1000) << report.dump();
  EXPECT_EQ(report["totals"]["views"], views);
  EXPECT_EQ(report["totals"]["spend"], spend);
  int64_t series_views = 0;
  for (auto& p : report["series"])
    series_views += p["views"].get<int64_t>();
  EXPECT_EQ(series_views, views) << "the series carries the views too";

  // The brand's socket received the views live.
  auto update = pactum::test_support::wait_event(
    live,
    [&](const json& e) {
      return e["stream"] == "analytics:" + campaign && e["event"]["type"] == "analytics.updated"
             && e["event"]["totals"]["views"].get<int64_t>() > 0;
    },
    5s);
  ASSERT_TRUE(update.has_value()) << "no analytics.updated with views";
  EXPECT_EQ((*update)["event"]["creators"][0]["creator"]["id"], cleo.id);

  // A few more rounds: the missing post failed once and was retired (no error loop), the
  // counted one keeps growing; the delta rows are what the report shows.
  auto gone = sql1("select status, failures, coalesce(last_error, ''), last_total is null from tracked_posts"
                   " where submission = " + std::to_string(missing));
  auto increases = [&] {
    return sql1("select count(*) from content_view_deltas where campaign_id = '" + campaign + "'")[0].as<int64_t>();
  };
  for (int i = 0; i < 200 && (gone[0].as<std::string>() != "gone" || increases() < 2); ++i) {
    std::this_thread::sleep_for(50ms);
    gone = sql1("select status, failures, coalesce(last_error, ''), last_total is null from tracked_posts"
                " where submission = " + std::to_string(missing));
  }
  EXPECT_EQ(gone[0].as<std::string>(), "gone");
  EXPECT_EQ(gone[1].as<int>(), 1);
  EXPECT_NE(gone[2].as<std::string>().find("not_found"), std::string::npos) << gone[2].as<std::string>();
  EXPECT_TRUE(gone[3].as<bool>());
  EXPECT_EQ(sql1("select count(*) from content_view_deltas where submission = " + std::to_string(missing))[0]
              .as<int64_t>(), 0);
  // The poller keeps committing deltas between the report and the query: read both until a
  // quiet moment sees them agree.
  auto deltas = sql1("select 0");
  for (int i = 0; i < 50; ++i) {
    report = performance(brand, campaign);
    std::tie(views, spend) = creator_views(report, cleo.id);
    deltas = sql1("select coalesce(sum(views), 0), count(*), count(distinct total), min(views) > 0,"
                  " bool_and(platform = 'tiktok' and creator_id::text = '" + cleo.id + "')"
                  " from content_view_deltas where campaign_id = '" + campaign + "'");
    if (deltas[0].as<int64_t>() == views)
      break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(deltas[0].as<int64_t>(), views) << report.dump();
  EXPECT_GE(deltas[1].as<int64_t>(), 2) << "several polls saw increases";
  EXPECT_EQ(deltas[1].as<int64_t>(), deltas[2].as<int64_t>()) << "each increase once";
  EXPECT_TRUE(deltas[3].as<bool>());
  EXPECT_TRUE(deltas[4].as<bool>());
  EXPECT_EQ(spend, rate * views / 1000);

  // A restart: the campaign re-tracks its approved posts on activation (nothing doubles), and the
  // views keep being counted from where they were: counted = latest total − first total.
  auto before = views;
  restart_with(server_args());
  EXPECT_EQ(call(brand, "GET", "/api/v1/campaigns/" + campaign).status, 200); // activates the campaign
  for (int i = 0; i < 100; ++i) {
    report = performance(brand, campaign);
    if (creator_views(report, cleo.id).first > before)
      break;
    std::this_thread::sleep_for(100ms);
  }
  std::tie(views, spend) = creator_views(report, cleo.id);
  EXPECT_GT(views, before) << report.dump();
  // Let a poll or two land, then read everything at rest: stop the server first.
  server_.reset();
  report = json();
  auto post = sql1("select last_total - first_total, observed_total, (select count(*) from tracked_posts)"
                   " from tracked_posts where submission = " + std::to_string(counted));
  auto sums = sql1("select coalesce(sum(views), 0), max(total) from content_view_deltas where campaign_id = '"
                   + campaign + "'");
  auto rollup = sql1("select coalesce(sum(views), 0), coalesce(sum(spend), 0) from analytics_rollups"
                     " where campaign_id = '" + campaign + "'");
  EXPECT_EQ(post[2].as<int64_t>(), 2) << "each approved submission tracked once";
  EXPECT_EQ(rollup[0].as<int64_t>(), post[0].as<int64_t>()) << "counted views = latest total − first total";
  EXPECT_EQ(sums[0].as<int64_t>(), rollup[0].as<int64_t>());
  EXPECT_EQ(sums[1].as<int64_t>(), post[1].as<int64_t>());
  EXPECT_EQ(rollup[1].as<int64_t>(), rate * rollup[0].as<int64_t>() / 1000);
}

TEST_F(ViewsE2E, AReserveThatLeavesPollsNoTokenIsRefusedAtStartUp) {
  auto run = [&](const std::string& args) {
    std::string cmd = std::string{std::getenv("PACTUMD_BIN")} + " --database-url '" + url()
                      + "' --log-level warn --migrate-only " + args + " 2>/dev/null";
    int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  };
  EXPECT_EQ(run("--social-burst 4 --views-quota-reserve 4"), 2) << "a refused flag exits 2";
  EXPECT_EQ(run("--social-burst 4 --views-quota-reserve 3"), 0);
  EXPECT_EQ(run("--social-burst 4 --views-quota-reserve 4 --views-poll-interval-ms 0"), 0) << "polling off";
}
