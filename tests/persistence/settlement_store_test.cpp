// The settlement store against a real PostgreSQL (migrations 0032, 0035): a performance contract
// claims the rows it counts, so two funded contracts of the same creator in the same campaign
// never count, and so never pay, the same click or view delta. A contract's claim survives a crash
// (it counts its own unbilled claim again, nobody else does); two claims at the same instant split
// the rows; the marking after a bill touches only the contract's own rows; clicks at or above the
// oldest one still awaiting its verdict are nobody's yet.

#include <future>
#include <memory>
#include <set>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pactum/common/time.hpp"
#include "pactum/persistence/database.hpp"
#include "pactum/persistence/settlement_store.hpp"
#include "started_database.hpp"
#include "test_database.hpp"

#include "await.hpp"

namespace pactum::persistence {
namespace {

using test_support::await;

class SettlementStoreTest : public test_support::database_test {
protected:
  void SetUp() override {
    database_test::SetUp();
    if (HasFatalFailure())
      return;
    db_ = test_support::start_database(url(), 2); // two claims can run at the same instant
  }

  void TearDown() override {
    db_.reset();
    database_test::TearDown();
  }

  /// `n` clicks of the creator in the campaign with the given verdict (now).
  void clicks(int n, const std::string& verdict = "valid") {
    sql("insert into link_clicks (code, campaign_id, creator_id, product_id, at, client_hash, verdict)"
        " select 'c', '" + campaign_.str() + "', '" + creator_.str() + "', '" + product_.str()
        + "', now(), '\\x00'::bytea, '" + verdict + "' from generate_series(1, " + std::to_string(n) + ")");
  }

  void view_delta(int64_t views) {
    sql("insert into content_view_deltas (campaign_id, creator_id, submission, platform, post, at, views, total)"
        " values ('" + campaign_.str() + "', '" + creator_.str() + "', 7, 'tiktok', 'p', now(), "
        + std::to_string(views) + ", " + std::to_string(views) + ")");
  }

  unbilled_units claim(uuid contract, int64_t after, const std::string& model = "cpc", size_t limit = 100'000) {
    auto r = await<unbilled_units>([&](auto cb) {
      claim_unbilled(*db_, unbilled_query{contract, campaign_, creator_, model, after, 0, 0, limit}, cb);
    });
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? *r : unbilled_units{};
  }

  int64_t mark(uuid contract, int64_t through, const std::string& model = "cpc") {
    auto r = await<int64_t>([&](auto cb) { mark_billed(*db_, contract, campaign_, creator_, model, 0, through, cb); });
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? *r : -1;
  }

  int64_t claimed_by(uuid contract, const std::string& table = "link_clicks") {
    return scalar("select count(*) from " + table + " where claimed_by = '" + contract.str() + "'");
  }

  std::unique_ptr<database> db_;
  uuid campaign_ = uuid::v7(), creator_ = uuid::v7(), product_ = uuid::v7();
  uuid first_ = uuid::v7(), second_ = uuid::v7();
};

TEST_F(SettlementStoreTest, AClickIsCountedByOneContractOnly) {
  clicks(5);
  clicks(1, "invalid");
  auto a = claim(first_, 0);
  EXPECT_EQ(a.units, 5);
  EXPECT_EQ(a.rows, 5);
  EXPECT_GT(a.through, 0);
  // The other contract counts in the window between the first one's bill and its marking: the
  // rows are the first one's, not its own.
  auto b = claim(second_, 0);
  EXPECT_EQ(b.units, 0) << "before migration 0035 this counted the same 5 clicks again";
  EXPECT_EQ(mark(first_, a.through), 5);
  EXPECT_EQ(claimed_by(first_), 5);
  EXPECT_EQ(claimed_by(second_), 0);
  EXPECT_EQ(scalar("select count(*) from link_clicks where verdict = 'invalid' and claimed_by is not null"), 0)
    << "an invalid click is nobody's";

  // New traffic goes to whichever contract counts first; the other gets none of it.
  clicks(3);
  auto b2 = claim(second_, b.through);
  EXPECT_EQ(b2.units, 3);
  auto a2 = claim(first_, a.through);
  EXPECT_EQ(a2.units, 0);
  EXPECT_EQ(mark(first_, 1'000'000), 0) << "the first contract marks none of the second's rows";
  EXPECT_EQ(mark(second_, b2.through), 3);
  EXPECT_EQ(scalar("select count(*) from link_clicks where billed_at is not null"), 8);
}

TEST_F(SettlementStoreTest, AnUnbilledClaimIsCountedAgainByItsOwnerOnly) {
  clicks(4);
  auto a = claim(first_, 0);
  ASSERT_EQ(a.units, 4);
  // The contract died before its bill's commit: its next count (same watermark) counts its own
  // claim again; no other contract takes it meanwhile.
  EXPECT_EQ(claim(second_, 0).units, 0);
  auto again = claim(first_, 0);
  EXPECT_EQ(again.units, 4);
  EXPECT_EQ(again.through, a.through);
  // After the bill (watermark = through) and before the marking, a recount finds nothing.
  EXPECT_EQ(claim(first_, a.through).units, 0);
}

TEST_F(SettlementStoreTest, ClicksFromTheOldestPendingOnAreNobodysYet) {
  clicks(2);
  clicks(1, "pending");
  clicks(2);
  auto a = claim(first_, 0);
  EXPECT_EQ(a.units, 2) << "the valid clicks after the pending one may not be billed yet";
  sql("update link_clicks set verdict = 'valid' where verdict = 'pending'");
  auto b = claim(second_, 0);
  EXPECT_EQ(b.units, 3);
  EXPECT_GT(b.through, a.through);
}

TEST_F(SettlementStoreTest, TheCountAtTheEndStopsThereAndSaysWhatIsStillBeingJudged) {
  // A contract that ends in a minute: two valid clicks, one awaiting its verdict, one valid after
  // it, and two valid clicks made after the end.
  const millis end = now_millis() + 60'000;
  clicks(2);
  clicks(1, "pending");
  clicks(1);
  sql("insert into link_clicks (code, campaign_id, creator_id, product_id, at, client_hash, verdict)"
      " select 'c', '" + campaign_.str() + "', '" + creator_.str() + "', '" + product_.str()
      + "', now() + interval '2 minutes', '\\x00'::bytea, 'valid' from generate_series(1, 2)");
  auto count = [&](int64_t after, bool check) {
    auto r = await<unbilled_units>([&](auto cb) {
      claim_unbilled(*db_, unbilled_query{first_, campaign_, creator_, "cpc", after, 0, end, 100'000, check}, cb);
    });
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? *r : unbilled_units{};
  };
  auto a = count(0, true);
  EXPECT_EQ(a.units, 2);
  EXPECT_FALSE(a.complete) << "a click from before the end awaits its verdict";
  sql("update link_clicks set verdict = 'valid' where verdict = 'pending'");
  auto b = count(a.through, true);
  EXPECT_EQ(b.units, 2) << "the judged click and the one behind it; none from after the end";
  EXPECT_TRUE(b.complete);
  auto c = count(b.through, true);
  EXPECT_EQ(c.units, 0) << "clicks after the end are not the contract's";
  EXPECT_TRUE(c.complete);
  // A count cut short by its limit is not complete either.
  clicks(3);
  auto d = await<unbilled_units>([&](auto cb) {
    claim_unbilled(*db_, unbilled_query{first_, campaign_, creator_, "cpc", b.through, 0, end, 2, true}, cb);
  });
  ASSERT_TRUE(d);
  EXPECT_EQ(d->units, 2);
  EXPECT_FALSE(d->complete);
  // After the bill, the marking takes the contract's own rows only: the two clicks after its end
  // lie below its watermark, unclaimed, and are not its to mark.
  EXPECT_EQ(mark(first_, d->through), 6);
  // A contract without an end counts the clicks after the first one's end, and the one left over.
  EXPECT_EQ(claim(second_, 0).units, 3);
}

TEST_F(SettlementStoreTest, TwoClaimsAtTheSameInstantSplitTheRows) {
  constexpr int total = 3'000;
  clicks(total);
  // Both contracts count in batches of 100, at the same time, each above its own watermark,
  // until neither finds anything: every click is counted exactly once between them.
  auto drain = [&](uuid contract) {
    int64_t after = 0, units = 0;
    for (;;) {
      auto r = await<unbilled_units>([&](auto cb) {
        claim_unbilled(*db_, unbilled_query{contract, campaign_, creator_, "cpc", after, 0, 0, 100}, cb);
      });
      if (!r)
        throw std::runtime_error(r.error().message);
      if (r->units == 0)
        return units;
      units += r->units;
      after = r->through;
    }
  };
  auto one = std::async(std::launch::async, drain, first_);
  auto two = std::async(std::launch::async, drain, second_);
  const int64_t a = one.get(), b = two.get();
  EXPECT_EQ(a + b, total) << a << " + " << b << ": a click counted twice, or not at all";
  EXPECT_EQ(claimed_by(first_), a);
  EXPECT_EQ(claimed_by(second_), b);
}

TEST_F(SettlementStoreTest, AViewDeltaIsCountedByOneContractOnly) {
  view_delta(120);
  view_delta(30);
  auto a = claim(first_, 0, "cpv");
  EXPECT_EQ(a.units, 150) << "cpv units are views";
  EXPECT_EQ(a.rows, 2);
  EXPECT_EQ(claim(second_, 0, "cpv").units, 0);
  view_delta(5);
  EXPECT_EQ(claim(second_, 0, "cpv").units, 5);
  EXPECT_EQ(mark(first_, 1'000'000, "cpv"), 2);
  EXPECT_EQ(claimed_by(first_, "content_view_deltas"), 2);
  EXPECT_EQ(scalar("select count(*) from content_view_deltas where billed_at is null"), 1);
}

TEST_F(SettlementStoreTest, RowsBilledBeforeClaimsExistedAreStillMarked) {
  // A bill committed before migration 0035 whose marking a crash lost: its rows are unclaimed,
  // below the contract's watermark and older than migration 0037; its next marking sets them, so
  // no claim can take them later.
  clicks(3);
  sql("update link_clicks set at = at - interval '1 day'");
  auto through = scalar("select max(id) from link_clicks");
  EXPECT_EQ(mark(first_, through), 3);
  EXPECT_EQ(claim(second_, 0).units, 0);
}

} // namespace
} // namespace pactum::persistence
