// ledger_check's pledge-campaign invariants against a real database: a settled campaign (its
// journal holds pledge.failed or pledge.released) must have an empty escrow and no pending
// transfer, every pledge.captured posts exactly one authorization, and a released campaign paid
// out exactly what it captured. Each check is shown clean on a correct history and then finding
// the broken one.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pactum/persistence/database.hpp"
#include "await.hpp"
#include "started_database.hpp"
#include "test_database.hpp"

namespace pactum::persistence {
namespace {

using test_support::await;

class PledgeLedgerCheckTest : public test_support::database_test {
protected:
  void SetUp() override {
    database_test::SetUp();
    if (HasFatalFailure())
      return;
    db_ = test_support::start_database(url(), 2);
  }

  void TearDown() override {
    db_.reset();
    database_test::TearDown();
  }

  /// Appends one event of `type` to the campaign with `ops`; its seq.
  int64_t event(const std::string& type, std::vector<ledger_op> ops) {
    append_request req;
    req.entity = campaign_;
    req.entity_type = "pledge";
    req.expected_seq = head_;
    req.events.push_back(event_record{head_ + 1, type, 1, "\x80", 0});
    req.ledger = std::move(ops);
    auto r = await<int64_t>([&](auto cb) {
      req.done = cb;
      db_->append(std::move(req));
    });
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
    if (r)
      head_ = *r;
    return head_;
  }

  ledger_op op(ledger_op::kind what, std::string id, std::string debit, std::string credit, int64_t amount,
               std::string pending = {}) {
    return ledger_op{what, std::move(id), std::move(debit), std::move(credit), amount, "EUR", std::move(pending)};
  }

  /// An authorized pledge of `amount`: its pending transfer's id.
  std::string authorized(int64_t amount) {
    auto id = campaign_.str() + ":" + std::to_string(head_ + 1) + ":0";
    event("pledge.authorized", {op(ledger_op::kind::pending, id, "clearing:EUR", escrow_, amount)});
    return id;
  }

  std::vector<std::string> violations() {
    auto r = await<ledger_report>([&](auto cb) { db_->ledger_check(cb); });
    EXPECT_TRUE(r.has_value());
    return r ? r->violations : std::vector<std::string>{};
  }

  static bool has(const std::vector<std::string>& v, const std::string& what) {
    for (auto& s : v)
      if (s.find(what) != std::string::npos)
        return true;
    return false;
  }

  std::unique_ptr<database> db_;
  uuid campaign_ = uuid::v7();
  std::string escrow_ = "escrow:" + campaign_.str();
  int64_t head_ = 0;
};

} // namespace

TEST_F(PledgeLedgerCheckTest, AFailedCampaignThatVoidedEverythingIsCleanOneThatKeptAPendingTransferIsNot) {
  event("pledge.created", {});
  auto a = authorized(1'000);
  auto b = authorized(2'000);
  EXPECT_TRUE(violations().empty()) << "a live campaign may hold pending transfers";
  event("pledge.failed", {op(ledger_op::kind::void_pending, {}, "clearing:EUR", escrow_, 1'000, a)});
  auto v = violations();
  EXPECT_TRUE(has(v, "pending transfer of a settled pledge campaign")) << "b was never voided";
  EXPECT_TRUE(has(v, "settled pledge campaign with money in escrow"));
  event("pledge.call_confirmed", {op(ledger_op::kind::void_pending, {}, "clearing:EUR", escrow_, 2'000, b)});
  EXPECT_TRUE(violations().empty());
}

TEST_F(PledgeLedgerCheckTest, AReleasedCampaignPaysOutExactlyWhatItCaptured) {
  auto creator = "user:" + uuid::v7().str() + ":EUR";
  event("pledge.created", {});
  auto a = authorized(1'000);
  auto b = authorized(3'000);
  event("pledge.succeeded", {});
  event("pledge.captured", {op(ledger_op::kind::post_pending, {}, "clearing:EUR", escrow_, 1'000, a)});
  event("pledge.captured", {op(ledger_op::kind::post_pending, {}, "clearing:EUR", escrow_, 3'000, b)});
  EXPECT_TRUE(violations().empty()) << "captured, not yet released: the escrow holds it";
  // Released short: 3,500 of 4,000 leave the escrow.
  auto seq = head_ + 1;
  event("pledge.released", {op(ledger_op::kind::post, campaign_.str() + ":" + std::to_string(seq) + ":0", escrow_,
                               creator, 3'150),
                            op(ledger_op::kind::post, campaign_.str() + ":" + std::to_string(seq) + ":1", escrow_,
                               "revenue:EUR", 350)});
  auto v = violations();
  EXPECT_TRUE(has(v, "captured pledge total differs from what was released")) << ::testing::PrintToString(v);
  EXPECT_TRUE(has(v, "settled pledge campaign with money in escrow"));
}

TEST_F(PledgeLedgerCheckTest, ACaptureEventThatPostedNothingIsFound) {
  event("pledge.created", {});
  authorized(1'000);
  event("pledge.succeeded", {});
  event("pledge.captured", {}); // the event without its posting
  EXPECT_TRUE(has(violations(), "pledge capture that posted no authorization"));
}

} // namespace pactum::persistence
