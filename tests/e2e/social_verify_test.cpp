// The runtime's post verification (`actors::runtime::verify_post`, what the campaigns' content
// review calls): a real runtime on a real database with the simulated provider behind the
// quota-respecting client. No REST endpoint exists for it, so the test drives the runtime itself.

#include <future>
#include <memory>

#include <gtest/gtest.h>

#include "pactum/actors/runtime.hpp"
#include "pactum/persistence/database.hpp"
#include "pactum/social/client.hpp"
#include "pactum/social/simulated.hpp"
#include "test_database.hpp"

namespace {

using namespace pactum;

class SocialVerifyPost : public test_support::database_test {
protected:
  void SetUp() override {
    database_test::SetUp();
    if (HasFatalFailure())
      return;
    persistence::config c;
    c.url = url();
    c.pool_threads = 2;
    db_ = std::make_unique<persistence::database>(c);
    db_->migrate();
    db_->start();
    actors::runtime_config rc;
    rc.master_key = std::string(32, 'k');
    rc.timer_sweep_interval = std::chrono::milliseconds(0);
    rc.pwhash_opslimit = 1;
    rc.pwhash_memlimit = 8 << 20;
    rt_ = std::make_unique<actors::runtime>(rc, *db_);
  }

  void TearDown() override {
    if (client_)
      client_->stop();
    rt_.reset();
    client_.reset();
    if (db_)
      db_->stop();
    db_.reset();
    database_test::TearDown();
  }

  void attach(int64_t quota) {
    social::simulated_config sc;
    sc.calls_per_window = quota;
    sc.window_ms = 3'600'000;
    provider_ = std::make_unique<social::simulated_provider>(sc);
    social::client_config cc;
    cc.calls_per_window = 0;
    cc.max_wait_ms = 200;
    client_ = std::make_unique<social::client>(*provider_, clock_, cc);
    rt_->set_social_client(client_.get());
  }

  expected<social::post_check, actors::api_error> verify(const std::string& platform, const std::string& post,
                                                         const std::string& required) {
    std::promise<expected<social::post_check, actors::api_error>> p;
    rt_->verify_post(platform, post, required, [&p](auto r) { p.set_value(std::move(r)); });
    auto f = p.get_future();
    if (f.wait_for(std::chrono::seconds(10)) != std::future_status::ready)
      throw std::runtime_error("verify_post did not answer");
    return f.get();
  }

  std::unique_ptr<persistence::database> db_;
  std::unique_ptr<actors::runtime> rt_;
  std::unique_ptr<social::simulated_provider> provider_;
  social::real_clock clock_;
  std::unique_ptr<social::client> client_;
};

} // namespace

TEST_F(SocialVerifyPost, AnswersExistenceAndDisclosureWithTypedRefusals) {
  auto none = verify("instagram", "ad-1", "any");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().status, 503) << "no provider attached yet";

  attach(0);
  auto ad = verify("instagram", "https://www.instagram.com/p/ad-20260412/", "#ad");
  ASSERT_TRUE(ad) << ad.error().message;
  EXPECT_TRUE(ad->exists);
  EXPECT_TRUE(ad->disclosed);
  EXPECT_EQ(ad->post_id, "ad-20260412");

  auto partner = verify("instagram", "partner-3", "#sponsored");
  ASSERT_TRUE(partner);
  EXPECT_TRUE(partner->paid_partnership);
  EXPECT_FALSE(partner->disclosed) << "the label is not the #sponsored that was required";
  EXPECT_TRUE(verify("instagram", "partner-3", "any")->disclosed);
  EXPECT_FALSE(verify("tiktok", "plain-3", "any")->disclosed);

  auto missing = verify("tiktok", "https://www.tiktok.com/@x/video/missing-9", "any");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().status, 404);
  EXPECT_EQ(missing.error().code, protocol::error_code::not_found);

  auto bad = verify("tiktok", "ad-1", "#advert");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().status, 400);
  ASSERT_EQ(bad.error().fields.size(), 1u);
  EXPECT_EQ(bad.error().fields[0].first, "required_disclosure");
  EXPECT_EQ(verify("tiktok", "bad ref!", "any").error().status, 400);
}

TEST_F(SocialVerifyPost, ThePlatformsQuotaIsA429WithRetryAfter) {
  attach(2);
  ASSERT_TRUE(verify("youtube", "ad-1", "any"));
  ASSERT_TRUE(verify("youtube", "ad-2", "any"));
  auto refused = verify("youtube", "ad-3", "any");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().status, 429);
  EXPECT_EQ(refused.error().code, protocol::error_code::rate_limited);
  EXPECT_GE(refused.error().retry_after_s, 1);
  EXPECT_TRUE(verify("tiktok", "ad-3", "any")) << "another platform's quota";
}
