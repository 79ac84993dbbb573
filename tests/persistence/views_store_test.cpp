// The views store against a real PostgreSQL (migrations 0030, 0031): an approved post is tracked
// once however often it is handed over; only published campaigns' active posts are polled; the
// first count is the baseline, each increase over the highest count is one delta row plus views
// and cpv spend in the rollup (the spend rounded down over the post's whole count), a decrease
// adds nothing and views count again only above the highest count; a retired post is never
// polled nor counted again.

#include <memory>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pactum/persistence/database.hpp"
#include "pactum/persistence/views_store.hpp"
#include "started_database.hpp"
#include "test_database.hpp"

#include "await.hpp"

namespace pactum::persistence {
namespace {

using test_support::await;

class ViewsStoreTest : public test_support::database_test {
protected:
  void SetUp() override {
    database_test::SetUp();
    if (HasFatalFailure())
      return;
    db_ = test_support::start_database(url(), 2);
    brand_ = {uuid::v7(), "brand@example.com", "x", "BikeCo", "brand", 0};
    creator_ = {uuid::v7(), "cleo@example.com", "x", "Cleo", "creator", 0};
    ASSERT_TRUE(await<unit>([&](auto cb) { db_->create_user(brand_, cb); }));
    ASSERT_TRUE(await<unit>([&](auto cb) { db_->create_user(creator_, cb); }));
    campaign_ = uuid::v7();
    sql("insert into campaigns (id, brand_id, status, title, pricing_model, rate, head_seq, created_at, updated_at)"
        " values ('" + campaign_.str() + "', '" + brand_.id.str() + "', 'published', 'Bikes', 'cpv', 1500, 2, now(), now())");
    post_ = tracked_post{campaign_, 7, creator_.id, "tiktok", "https://www.tiktok.com/@cleo/video/ad-1"};
  }

  void TearDown() override {
    db_.reset();
    database_test::TearDown();
  }

  pqxx::row sql1(const std::string& query) {
    pqxx::connection c{url()};
    pqxx::work tx{c};
    return tx.exec1(query);
  }

  approved_post approved(int64_t submission) {
    return approved_post{campaign_, submission, creator_.id, "tiktok",
                         "https://www.tiktok.com/@cleo/video/ad-" + std::to_string(submission), now_millis()};
  }

  std::vector<tracked_post> due(size_t limit = 10) {
    auto r = await<std::vector<tracked_post>>([&](auto cb) { posts_to_poll(*db_, limit, cb); });
    EXPECT_TRUE(r);
    return r ? *r : std::vector<tracked_post>{};
  }

  view_observation observe(int64_t total) {
    auto r = await<view_observation>([&](auto cb) { record_post_views(*db_, post_, total, now_millis(), cb); });
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? *r : view_observation{};
  }

  std::unique_ptr<database> db_;
  user_row brand_, creator_;
  uuid campaign_;
  tracked_post post_;
};

TEST_F(ViewsStoreTest, AnApprovedPostIsTrackedOnce) {
  auto first = await<size_t>([&](auto cb) { track_approved_posts(*db_, {approved(7), approved(8)}, cb); });
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, 2u);
  auto again = await<size_t>([&](auto cb) { track_approved_posts(*db_, {approved(7), approved(8)}, cb); });
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0u) << "an activation hands them over again: nothing changes";
  EXPECT_EQ(sql1("select count(*) from tracked_posts")[0].as<int64_t>(), 2);

  auto polled = due();
  ASSERT_EQ(polled.size(), 2u);
  EXPECT_EQ(polled[0].campaign, campaign_);
  EXPECT_EQ(polled[0].creator, creator_.id);
  EXPECT_EQ(polled[0].platform, "tiktok");
  // Polled posts go to the back of the line.
  post_ = polled[0];
  observe(100);
  auto next = due(1);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_NE(next[0].submission, post_.submission);
  // A paused campaign's posts are not polled.
  sql("update campaigns set status = 'paused' where id = '" + campaign_.str() + "'");
  EXPECT_TRUE(due().empty());
}

TEST_F(ViewsStoreTest, IncreasesAreCountedOnceAndDecreasesNotAtAll) {
  ASSERT_TRUE(await<size_t>([&](auto cb) { track_approved_posts(*db_, {approved(7)}, cb); }));
  auto base = observe(1'000);
  EXPECT_EQ(base.views, 0) << "the first count is the baseline";
  EXPECT_FALSE(base.changed);
  auto a = observe(1'003);
  EXPECT_EQ(a.views, 3);
  EXPECT_EQ(a.spend, 4) << "floor(1500 * 3 / 1000)";
  EXPECT_TRUE(a.changed);
  auto b = observe(1'004);
  EXPECT_EQ(b.views, 1);
  EXPECT_EQ(b.spend, 2) << "floor(1500 * 4 / 1000) - 4";
  EXPECT_EQ(observe(1'004).views, 0);
  EXPECT_EQ(observe(990).views, 0) << "a platform correcting its count down";
  EXPECT_EQ(observe(1'000).views, 0) << "below the highest count seen";
  auto c = observe(1'010);
  EXPECT_EQ(c.views, 6);
  EXPECT_EQ(c.spend, 9);

  auto deltas = sql1("select count(*), sum(views), max(total), bool_and(billed_at is null) from content_view_deltas");
  EXPECT_EQ(deltas[0].as<int64_t>(), 3);
  EXPECT_EQ(deltas[1].as<int64_t>(), 10);
  EXPECT_EQ(deltas[2].as<int64_t>(), 1'010);
  EXPECT_TRUE(deltas[3].as<bool>());
  auto rollup = sql1("select sum(views), sum(spend), max(creator_id::text) from analytics_rollups where campaign_id = '"
                     + campaign_.str() + "'");
  EXPECT_EQ(rollup[0].as<int64_t>(), 10) << "latest highest count - first";
  EXPECT_EQ(rollup[1].as<int64_t>(), 15) << "floor(1500 * 10 / 1000)";
  EXPECT_EQ(rollup[2].as<std::string>(), creator_.id.str());
  auto row = sql1("select first_total, last_total, observed_total from tracked_posts");
  EXPECT_EQ(row[0].as<int64_t>(), 1'000);
  EXPECT_EQ(row[1].as<int64_t>(), 1'010);
  EXPECT_EQ(row[2].as<int64_t>(), 1'010);
}

TEST_F(ViewsStoreTest, ARetiredPostIsNeitherPolledNorCounted) {
  ASSERT_TRUE(await<size_t>([&](auto cb) { track_approved_posts(*db_, {approved(7)}, cb); }));
  observe(50);
  ASSERT_TRUE(await<unit>([&](auto cb) { record_post_failure(*db_, post_, false, "unavailable: try later", cb); }));
  EXPECT_EQ(due().size(), 1u) << "a retryable failure keeps it";
  ASSERT_TRUE(await<unit>([&](auto cb) { record_post_failure(*db_, post_, true, "not_found: no such post", cb); }));
  EXPECT_TRUE(due().empty());
  EXPECT_EQ(observe(80).views, 0);
  auto row = sql1("select status, failures, last_error, last_total from tracked_posts");
  EXPECT_EQ(row[0].as<std::string>(), "gone");
  EXPECT_EQ(row[1].as<int>(), 2);
  EXPECT_EQ(row[2].as<std::string>(), "not_found: no such post");
  EXPECT_EQ(row[3].as<int64_t>(), 50);
  EXPECT_EQ(sql1("select count(*) from content_view_deltas")[0].as<int64_t>(), 0);
}

} // namespace
} // namespace pactum::persistence
