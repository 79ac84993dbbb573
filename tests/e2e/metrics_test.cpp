// End to end: GET /metrics on a real pactumd. Scrapes, does some chat and refused requests, scrapes
// again and checks that the counters moved by exactly what was done, and that the text is valid
// Prometheus exposition (every sample line `name{labels} value`).

#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "e2e_fixture.hpp"
#include "pactum/sim/client.hpp"
#include "pactum/sim/server_stats.hpp"

using namespace pactum;
using namespace pactum::sim;

namespace {

/// One scrape: every sample by its series (`name{labels}` as written), checked line by line.
struct scrape {
  std::map<std::string, double> samples;
  std::string content_type;

  double at(const std::string& series) const {
    auto i = samples.find(series);
    return i == samples.end() ? 0.0 : i->second;
  }
  bool has(const std::string& series) const { return samples.count(series) > 0; }
};

scrape parse_exposition(const std::string& text) {
  // name{label="value",...} value — label values may hold escaped quotes and backslashes.
  static const std::regex sample{
    R"(^([a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})?) (\S+)$)"};
  static const std::regex comment{R"(^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*$)"};
  scrape s;
  std::istringstream in{text};
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty())
      continue;
    if (line[0] == '#') {
      EXPECT_TRUE(std::regex_match(line, comment)) << "line " << n << ": " << line;
      continue;
    }
    std::smatch m;
    if (!std::regex_match(line, m, sample)) {
      ADD_FAILURE() << "line " << n << " is not `name{labels} value`: " << line;
      continue;
    }
    auto v = m[5].str();
    double value = v == "+Inf" ? std::numeric_limits<double>::infinity() : std::stod(v);
    EXPECT_TRUE(s.samples.emplace(m[1].str(), value).second) << "duplicate series " << m[1];
  }
  return s;
}

class MetricsEndToEnd : public pactum::test_support::server_test {
protected:
  scrape get_metrics() {
    auto r = http_call(ep(), "GET", "/metrics", {}, {}, "");
    EXPECT_EQ(r.status, 200) << r.body;
    auto s = parse_exposition(r.body);
    s.content_type = r.content_type;
    return s;
  }
};

server_stats_config stats_config(const endpoint& ep, bool use_metrics, int pid, std::string token = {}) {
  server_stats_config cfg;
  cfg.ep = ep;
  cfg.use_metrics = use_metrics;
  cfg.server_pid = pid;
  cfg.metrics_token = std::move(token);
  return cfg;
}

json send_msg(ws_client& c, const std::string& conv, int n) {
  return c.request(json{{"type", "message.send"},
                        {"conversation", conv},
                        {"client_id", "m-" + std::to_string(n)},
                        {"text", "hello " + std::to_string(n)}});
}

} // namespace

TEST_F(MetricsEndToEnd, CountersMoveByWhatTheClientsDid) {
  auto before = get_metrics();
  EXPECT_EQ(before.content_type, "text/plain; version=0.0.4; charset=utf-8");

  auto brand_acc = make_account(ep(), "brand", "Acme");     // register + login: 2 requests
  auto creator_acc = make_account(ep(), "creator", "Cleo"); // 2 more
  {
    ws_client brand{ep(), brand_acc.token};
    ws_client creator{ep(), creator_acc.token};
    auto open = brand.request(json{{"type", "conversation.open"}, {"with", creator_acc.id}});
    ASSERT_EQ(open["type"], "ok") << open.dump();
    auto conv = open["conversation"]["id"].get<std::string>();
    ASSERT_EQ(brand.request(json{{"type", "subscribe"}, {"conversation", conv}, {"after", 0}})["type"], "ok");
    ASSERT_EQ(creator.request(json{{"type", "subscribe"}, {"conversation", conv}, {"after", 0}})["type"], "ok");
    for (int i = 1; i <= 3; ++i)
      ASSERT_EQ(send_msg(brand, conv, i)["type"], "ok");
    for (int i = 1; i <= 3; ++i)
      ASSERT_TRUE(pactum::test_support::wait_event(
        creator, [&](const json& e) { return e["event"].value("client_id", "") == "m-" + std::to_string(i); }, 5s))
        << "message " << i << " not delivered";
    // Refused: a request type that does not exist (the gateway's decoder), a message to a
    // conversation that does not exist (the actors), a REST call with the wrong method.
    auto unknown = brand.request(json{{"type", "no.such.request"}});
    EXPECT_EQ(unknown["code"], "unknown_type") << unknown.dump();
    auto stranger = send_msg(brand, "018f0000-0000-7000-8000-000000000000", 9);
    EXPECT_EQ(stranger["type"], "error") << stranger.dump();
    auto stranger_code = stranger["code"].get<std::string>();
    EXPECT_EQ(http_call(ep(), "GET", "/api/v1/users/login").status, 405);

    auto after = get_metrics();
    auto delta = [&](const std::string& series) { return after.at(series) - before.at(series); };

    EXPECT_EQ(delta("pactum_ws_connections"), 2);
    EXPECT_EQ(delta("pactum_ws_connections_opened_total"), 2);
    EXPECT_EQ(delta("pactum_actors_alive{type=\"session\"}"), 2);
    // brand: open, subscribe, 3 sends, unknown, stranger send; creator: subscribe.
    EXPECT_EQ(delta("pactum_ws_frames_in_total"), 8);
    // At least: 8 replies, 2 hellos, 3 messages to each member.
    EXPECT_GE(delta("pactum_ws_frames_out_total"), 16);
    EXPECT_GE(delta("pactum_ws_frames_out_total"), delta("pactum_ws_writes_total"));
    EXPECT_GE(delta("pactum_ws_writes_total"), 1);

    // 3 accepted sends and the refused one; each a latency observation of its type.
    EXPECT_EQ(delta("pactum_ws_command_seconds_count{type=\"message.send\"}"), 4);
    EXPECT_EQ(delta("pactum_ws_command_seconds_count{type=\"subscribe\"}"), 2);
    EXPECT_EQ(delta("pactum_ws_command_seconds_count{type=\"conversation.open\"}"), 1);
    EXPECT_EQ(after.at("pactum_ws_command_seconds_count{type=\"message.send\"}"),
              after.at("pactum_ws_command_seconds_bucket{type=\"message.send\",le=\"+Inf\"}"));
    EXPECT_GT(delta("pactum_ws_command_seconds_sum{type=\"message.send\"}"), 0);
    EXPECT_EQ(delta("pactum_errors_total{code=\"unknown_type\",via=\"ws\"}"), 1);
    EXPECT_EQ(delta("pactum_errors_total{code=\"" + stranger_code + "\",via=\"ws\"}"), 1);
    EXPECT_EQ(delta("pactum_errors_total{code=\"bad_request\",via=\"http\"}"), 1);

    EXPECT_EQ(delta("pactum_http_requests_total{route=\"api/users\",status=\"2xx\"}"), 4);
    EXPECT_EQ(delta("pactum_http_requests_total{route=\"api/users\",status=\"4xx\"}"), 1);
    EXPECT_EQ(delta("pactum_http_requests_total{route=\"ws\",status=\"1xx\"}"), 2);
    // The first scrape is counted once its answer is written, so the second one sees it.
    EXPECT_EQ(delta("pactum_http_requests_total{route=\"metrics\",status=\"2xx\"}"), 1);

    // The 3 messages went through the group-commit journal (a refused one writes nothing).
    EXPECT_GE(delta("pactum_journal_appends_total"), 3);
    EXPECT_EQ(delta("pactum_journal_batch_size_sum"), delta("pactum_journal_appends_total"));
    EXPECT_GE(delta("pactum_journal_batch_size_count"), 1);
    EXPECT_GE(delta("pactum_journal_commit_seconds_count"), 1);
    EXPECT_GE(after.at("pactum_actors_alive{type=\"conversation\"}"), 1);
    EXPECT_GE(delta("pactum_actor_activations_total{type=\"conversation\"}"), 1);
    EXPECT_TRUE(after.has("pactum_actor_passivations_total{type=\"conversation\"}"));
    EXPECT_TRUE(after.has("pactum_journal_queue_depth"));
    EXPECT_TRUE(after.has("pactum_executor_queue_depth{executor=\"pactum-db\"}"));

    EXPECT_GT(after.at("process_cpu_seconds_total"), 0);
    EXPECT_GE(after.at("process_cpu_seconds_total"), before.at("process_cpu_seconds_total"));
    EXPECT_GT(after.at("process_resident_memory_bytes"), 1024 * 1024);
    EXPECT_GT(after.at("process_open_fds"), 2);
  }
  // Both connections closed: the gauge goes back to where it started.
  double open = -1;
  for (int i = 0; i < 100; ++i) {
    open = get_metrics().at("pactum_ws_connections");
    if (open == before.at("pactum_ws_connections"))
      break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(open, before.at("pactum_ws_connections"));
}

TEST_F(MetricsEndToEnd, OnlyGetIsAllowed) {
  auto r = http_call(ep(), "POST", "/metrics", "{}");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.json_body()["error"]["code"], "bad_request");
}

TEST_F(MetricsEndToEnd, PactumSimSamplesServerCpuAndMemoryFromMetricsOrProc) {
  auto from_metrics = stats_config(ep(), true, 0);
  from_metrics.interval = 50ms;
  server_stats_sampler a{from_metrics};
  ASSERT_TRUE(a.start());
  // Real server work until the server's CPU clock (10 ms ticks) has moved.
  for (int i = 0; i < 20; ++i) {
    make_account(ep(), "brand", "Busy" + std::to_string(i));
    auto now = a.sample_now();
    ASSERT_TRUE(now);
    if (now->cpu_seconds > 0.05 && i >= 2)
      break;
  }
  auto ra = a.finish();
  EXPECT_EQ(ra["source"], "metrics") << ra.dump();
  EXPECT_GE(ra["samples"].get<int>(), 3) << ra.dump();
  EXPECT_GT(ra["cpu_seconds"].get<double>(), 0) << "registering accounts costs CPU: " << ra.dump();
  EXPECT_GT(ra["rss_bytes"]["start"].get<uint64_t>(), 1024u * 1024);
  EXPECT_GE(ra["rss_bytes"]["peak"].get<uint64_t>(), ra["rss_bytes"]["end"].get<uint64_t>());
  EXPECT_GE(ra["rss_bytes"]["peak"].get<uint64_t>(), ra["rss_bytes"]["start"].get<uint64_t>());

  // /proc of the same process agrees with its /metrics.
  std::string why;
  auto via_metrics = read_server_sample(from_metrics, why);
  auto via_proc = read_proc_sample(server_->pid());
  ASSERT_TRUE(via_metrics) << why;
  ASSERT_TRUE(via_proc);
  EXPECT_NEAR(via_proc->cpu_seconds, via_metrics->cpu_seconds, 0.5);
  EXPECT_NEAR(static_cast<double>(via_proc->rss_bytes), static_cast<double>(via_metrics->rss_bytes),
              0.25 * static_cast<double>(via_metrics->rss_bytes));

  auto from_proc = stats_config(ep(), false, static_cast<int>(server_->pid()));
  server_stats_sampler b{from_proc};
  ASSERT_TRUE(b.start());
  auto rb = b.finish();
  EXPECT_EQ(rb["source"], "proc") << rb.dump();
  EXPECT_GE(rb["samples"].get<int>(), 2);

  server_stats_sampler off{stats_config(ep(), false, 0)};
  EXPECT_FALSE(off.start());
  EXPECT_EQ(off.finish()["source"], "none");
  EXPECT_FALSE(read_proc_sample(999'999'999)) << "no such process";
}

namespace {

class MetricsTokenEndToEnd : public MetricsEndToEnd {
protected:
  std::vector<std::string> server_args() const override { return {"--metrics-token", "s3cret-scrape"}; }
};

} // namespace

TEST_F(MetricsTokenEndToEnd, WithATokenEveryClientMustPresentIt) {
  auto none = http_call(ep(), "GET", "/metrics", {}, {}, "");
  EXPECT_EQ(none.status, 401) << "loopback is not enough once a token is configured";
  EXPECT_EQ(none.www_authenticate, "Bearer");
  EXPECT_EQ(none.json_body()["error"]["code"], "unauthorized");
  EXPECT_EQ(http_call(ep(), "GET", "/metrics", {}, "s3cret-scrap", "").status, 401);
  EXPECT_EQ(http_call(ep(), "GET", "/metrics", {}, "s3cret-scrape-", "").status, 401);
  auto ok = http_call(ep(), "GET", "/metrics", {}, "s3cret-scrape", "");
  ASSERT_EQ(ok.status, 200);
  auto s = parse_exposition(ok.body);
  EXPECT_EQ(s.at("pactum_http_requests_total{route=\"metrics\",status=\"4xx\"}"), 3);
  EXPECT_EQ(s.at("pactum_errors_total{code=\"unauthorized\",via=\"http\"}"), 3);

  // pactum-sim's sampler: refused without the token (the run goes on unsampled), works with it.
  server_stats_sampler without{stats_config(ep(), true, 0)};
  EXPECT_FALSE(without.start());
  auto r = without.finish();
  EXPECT_EQ(r["source"], "none");
  EXPECT_NE(r["reason"].get<std::string>().find("401"), std::string::npos) << r.dump();
  server_stats_sampler with{stats_config(ep(), true, 0, "s3cret-scrape")};
  EXPECT_TRUE(with.start());
  EXPECT_EQ(with.finish()["source"], "metrics");
}
