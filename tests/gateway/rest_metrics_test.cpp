// The pure parts of GET /metrics (gateway/src/rest_metrics.hpp) and the metrics facade
// (pactum/metrics/metrics.hpp): who counts as loopback, the bounded route classes, histogram
// buckets and the exposition text. The endpoint itself is tested in tests/e2e/metrics_test.cpp.

#include "rest_metrics.hpp"

#include <gtest/gtest.h>

#include "pactum/metrics/metrics.hpp"

using namespace pactum;
using namespace pactum::gateway;

TEST(MetricsAccess, OnlyLoopbackAddressesAreLoopback) {
  EXPECT_TRUE(is_loopback_address("127.0.0.1"));
  EXPECT_TRUE(is_loopback_address("127.10.20.30"));
  EXPECT_TRUE(is_loopback_address("::1"));
  EXPECT_TRUE(is_loopback_address("::ffff:127.0.0.1"));
  EXPECT_FALSE(is_loopback_address("10.0.0.1"));
  EXPECT_FALSE(is_loopback_address("192.168.1.5"));
  EXPECT_FALSE(is_loopback_address("::ffff:10.0.0.1"));
  EXPECT_FALSE(is_loopback_address("2001:db8::1"));
  EXPECT_FALSE(is_loopback_address(""));
  EXPECT_FALSE(is_loopback_address("localhost")) << "only the numeric peer address counts";
}

TEST(MetricsRoutes, EveryPathFallsIntoABoundedClass) {
  EXPECT_EQ(route_class("/healthz"), route_class("/healthz"));
  EXPECT_EQ(route_class("/ws"), ws_route());
  EXPECT_NE(route_class("/metrics"), route_class("/healthz"));
  EXPECT_EQ(route_class("/api/v1/users/login"), route_class("/api/v1/users/register"));
  EXPECT_EQ(route_class("/api/v1/ws-ticket"), route_class("/api/v1/users/login"));
  EXPECT_NE(route_class("/api/v1/campaigns/x"), route_class("/api/v1/users/login"));
  // Unknown API areas share one class, so a client cannot create series at will.
  EXPECT_EQ(route_class("/api/v1/made-up-1"), route_class("/api/v1/made-up-2"));
  EXPECT_EQ(route_class("/api/v2/anything"), route_class("/api/v1/made-up-1"));
  EXPECT_EQ(route_class("/assets/app.js"), route_class("/"));
  EXPECT_NE(route_class("/assets/app.js"), route_class("/api/v1/made-up-1"));
}

TEST(MetricsFacade, HistogramBucketsAreInclusiveUpperBounds) {
  metrics::histogram h{{10, 100, 1000}, 1e-3};
  for (uint64_t v : {0, 10, 11, 100, 999, 1000, 1001, 50'000})
    h.observe(v);
  EXPECT_EQ(h.bucket(0), 2u); // 0, 10
  EXPECT_EQ(h.bucket(1), 2u); // 11, 100
  EXPECT_EQ(h.bucket(2), 2u); // 999, 1000
  EXPECT_EQ(h.bucket(3), 2u); // +Inf
  EXPECT_EQ(h.count(), 8u);
  EXPECT_EQ(h.sum(), 0u + 10 + 11 + 100 + 999 + 1000 + 1001 + 50'000);
}

TEST(MetricsFacade, RenderWritesCumulativeBucketsAndCallbackGaugesWhileTheyLive) {
  auto& c = metrics::counter_of("pactum_test_things_total", "Things.", {{"kind", "a"}});
  EXPECT_EQ(&c, &metrics::counter_of("pactum_test_things_total", "Things.", {{"kind", "a"}}))
    << "the same name and labels give the same counter";
  c.inc(3);
  auto& h = metrics::histogram_of("pactum_test_seconds", "Test latency.", {}, {1000, 10'000}, 1e-6);
  h.observe(500);
  h.observe(5'000);
  h.observe(50'000);
  std::string text;
  {
    auto handle = metrics::gauge_callback("pactum_test_depth", "Test depth.", {}, [] { return 7.0; });
    auto second = metrics::gauge_callback("pactum_test_depth", "Test depth.", {}, [] { return 5.0; });
    text = metrics::render();
    EXPECT_NE(text.find("pactum_test_depth 12\n"), std::string::npos) << "same series are summed\n" << text;
  }
  EXPECT_NE(text.find("# TYPE pactum_test_things_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("pactum_test_things_total{kind=\"a\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("pactum_test_seconds_bucket{le=\"0.001\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("pactum_test_seconds_bucket{le=\"0.01\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("pactum_test_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("pactum_test_seconds_count 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("process_cpu_seconds_total "), std::string::npos) << text;
  EXPECT_NE(text.find("process_resident_memory_bytes "), std::string::npos) << text;
  EXPECT_EQ(metrics::render().find("pactum_test_depth"), std::string::npos)
    << "a callback gauge goes away with its handle";
}

TEST(MetricsFacade, SamplesAProcessFromProc) {
  metrics::process_sample self;
  ASSERT_TRUE(metrics::sample_process(0, self));
  EXPECT_GT(self.rss_bytes, 1024u * 1024);
  EXPECT_GE(self.cpu_seconds, 0);
  metrics::process_sample none;
  EXPECT_FALSE(metrics::sample_process(999'999'999, none));
}
