// The ledger as the journal writer applies it: transfers commit with their events or not at all,
// floors hold, a pending transfer is resolved once, and ledger_check finds what is broken.

#include <future>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pactum/persistence/database.hpp"

#include "await.hpp"
#include "started_database.hpp"
#include "test_database.hpp"

namespace pactum::persistence {
namespace {

using test_support::await;

errc code_of(const auto& r) {
  return r.has_value() ? errc{} : r.error().code;
}

ledger_op transfer(std::string id, std::string debit, std::string credit, int64_t amount,
                   ledger_op::kind what = ledger_op::kind::post) {
  return ledger_op{what, std::move(id), std::move(debit), std::move(credit), amount, "USD"};
}

ledger_op resolve(std::string pending_id, std::string debit, std::string credit, int64_t amount,
                  bool post) {
  return ledger_op{post ? ledger_op::kind::post_pending : ledger_op::kind::void_pending,
                   {},
                   std::move(debit),
                   std::move(credit),
                   amount,
                   "USD",
                   std::move(pending_id)};
}

class LedgerTest : public test_support::database_test {
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

  append_request event_with(const uuid& entity, std::vector<ledger_op> ops) {
    append_request req;
    req.entity = entity;
    req.entity_type = "contract";
    req.expected_seq = heads_[entity.str()];
    req.events.push_back(event_record{req.expected_seq + 1, "contract.test", 1, "\x80", 0});
    req.ledger = std::move(ops);
    return req;
  }

  /// Appends one event carrying `ops` to `entity` and returns the outcome.
  result<int64_t> move(const uuid& entity, std::vector<ledger_op> ops) {
    auto req = event_with(entity, std::move(ops));
    auto r = await<int64_t>([&](auto cb) {
      req.done = cb;
      db_->append(std::move(req));
    });
    if (r)
      heads_[entity.str()] = *r;
    return r;
  }

  int64_t available(const std::string& account) {
    auto r = await<std::vector<ledger_balance>>(
      [&](auto cb) { db_->ledger_balances({account}, cb); });
    EXPECT_TRUE(r.has_value());
    if (!r || r->empty())
      return 0;
    return r->front().available;
  }

  int64_t posted(const std::string& account) {
    auto r = await<std::vector<ledger_balance>>(
      [&](auto cb) { db_->ledger_balances({account}, cb); });
    return r && !r->empty() ? r->front().posted : 0;
  }

  ledger_report check() {
    auto r = await<ledger_report>([&](auto cb) { db_->ledger_check(cb); });
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
    return r ? *r : ledger_report{};
  }

  int64_t events_of(const uuid& entity) {
    auto r = await<std::vector<event_record>>(
      [&](auto cb) { db_->read_events(entity, 0, 0, 1000, false, cb); });
    return r ? static_cast<int64_t>(r->size()) : -1;
  }

  std::unique_ptr<database> db_;
  std::map<std::string, int64_t> heads_;
  uuid contract_ = uuid::v7();
  std::string escrow_ = "escrow:" + contract_.str();
  std::string creator_ = "user:" + uuid::v7().str() + ":USD";
};

TEST_F(LedgerTest, TransfersCommitWithTheirEventAndBalancesSumToZero) {
  ASSERT_EQ(code_of(move(contract_, {transfer("f", "clearing:USD", escrow_, 10'000)})), errc{});
  ASSERT_EQ(code_of(move(contract_, {transfer("r1", escrow_, creator_, 9'000),
                                     transfer("r2", escrow_, "revenue:USD", 1'000)})),
            errc{});
  EXPECT_EQ(posted("clearing:USD"), -10'000);
  EXPECT_EQ(posted(escrow_), 0);
  EXPECT_EQ(posted(creator_), 9'000);
  EXPECT_EQ(posted("revenue:USD"), 1'000);
  // A prefix finds every account of a user.
  auto mine = await<std::vector<ledger_balance>>([&](auto cb) {
    db_->ledger_balances({creator_.substr(0, creator_.size() - 3) + "*"}, cb);
  });
  ASSERT_TRUE(mine.has_value());
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ(mine->front().account, creator_);
  EXPECT_EQ(mine->front().available, 9'000);
  auto rows = await<std::vector<ledger_transfer_row>>(
    [&](auto cb) { db_->ledger_transfers(contract_, cb); });
  ASSERT_TRUE(rows.has_value());
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].entity_seq, 1);
  EXPECT_EQ((*rows)[1].entity_seq, 2);
  auto report = check();
  EXPECT_TRUE(report.violations.empty()) << report.violations.front();
  EXPECT_EQ(report.accounts, 4);
  EXPECT_EQ(report.transfers, 3);
}

TEST_F(LedgerTest, AnOverdraftRefusesTheWholeAppendEventIncluded) {
  ASSERT_EQ(code_of(move(contract_, {transfer("f", "clearing:USD", escrow_, 500)})), errc{});
  auto r = move(contract_, {transfer("r1", escrow_, creator_, 400),
                            transfer("r2", escrow_, "revenue:USD", 200)});
  EXPECT_EQ(code_of(r), errc::refused);
  EXPECT_EQ(events_of(contract_), 1); // the event did not commit either
  EXPECT_EQ(posted(escrow_), 500);
  EXPECT_EQ(posted(creator_), 0);
  EXPECT_TRUE(check().violations.empty());
}

TEST_F(LedgerTest, ATransferIdIsUsedOnce) {
  ASSERT_EQ(code_of(move(contract_, {transfer("f", "clearing:USD", escrow_, 500)})), errc{});
  EXPECT_EQ(code_of(move(contract_, {transfer("f", "clearing:USD", escrow_, 500)})),
            errc::refused);
  EXPECT_EQ(posted(escrow_), 500);
}

TEST_F(LedgerTest, APendingTransferHoldsTheFloorAndIsResolvedExactlyOnce) {
  ASSERT_EQ(code_of(move(contract_, {transfer("auth", "clearing:USD", escrow_, 700,
                                              ledger_op::kind::pending)})),
            errc{});
  EXPECT_EQ(posted(escrow_), 0); // authorised, not captured
  // Nothing may leave the escrow before the authorisation is captured.
  EXPECT_EQ(code_of(move(contract_, {transfer("early", escrow_, creator_, 700)})), errc::refused);
  // Capture and release in one event.
  ASSERT_EQ(code_of(move(contract_, {resolve("auth", "clearing:USD", escrow_, 700, true),
                                     transfer("pay", escrow_, creator_, 700)})),
            errc{});
  EXPECT_EQ(posted(creator_), 700);
  EXPECT_EQ(code_of(move(contract_, {resolve("auth", "clearing:USD", escrow_, 700, false)})),
            errc::refused);
  // A resolution must name the transfer's own accounts and amount.
  ASSERT_EQ(code_of(move(contract_, {transfer("auth2", "clearing:USD", escrow_, 300,
                                              ledger_op::kind::pending)})),
            errc{});
  EXPECT_EQ(code_of(move(contract_, {resolve("auth2", "clearing:USD", escrow_, 3000, true)})),
            errc::refused);
  ASSERT_EQ(code_of(move(contract_, {resolve("auth2", "clearing:USD", escrow_, 300, false)})),
            errc{});
  auto report = check();
  EXPECT_TRUE(report.violations.empty()) << report.violations.front();
  EXPECT_EQ(report.pending, 0);
}

TEST_F(LedgerTest, OneBadAppendInABatchRefusesOnlyItself) {
  // Queue many appends at once so the writer folds them into batches; one overdraws.
  std::vector<uuid> contracts(40);
  std::vector<std::future<result<int64_t>>> outcomes;
  for (size_t i = 0; i < contracts.size(); ++i) {
    contracts[i] = uuid::v7();
    auto escrow = "escrow:" + contracts[i].str();
    int64_t out_amount = i == 17 ? 2'000 : 1'000; // #17 pays out more than it holds
    auto req = event_with(contracts[i], {transfer("in" + std::to_string(i), "clearing:USD",
                                                  escrow, 1'000),
                                         transfer("out" + std::to_string(i), escrow, creator_,
                                                  out_amount)});
    auto promise = std::make_shared<std::promise<result<int64_t>>>();
    outcomes.push_back(promise->get_future());
    req.done = [promise](result<int64_t> r) { promise->set_value(std::move(r)); };
    db_->append(std::move(req));
  }
  for (size_t i = 0; i < outcomes.size(); ++i)
    EXPECT_EQ(code_of(outcomes[i].get()), i == 17 ? errc::refused : errc{}) << "append " << i;
  EXPECT_EQ(posted(creator_), 39 * 1'000);
  EXPECT_EQ(events_of(contracts[17]), 0);
  EXPECT_TRUE(check().violations.empty());
}

TEST_F(LedgerTest, ACurrencyIsFixedPerAccount) {
  ASSERT_EQ(code_of(move(contract_, {transfer("f", "clearing:USD", escrow_, 500)})), errc{});
  auto eur = transfer("g", "clearing:EUR", escrow_, 500);
  eur.currency = "EUR";
  EXPECT_EQ(code_of(move(contract_, {eur})), errc::refused);
}

TEST_F(LedgerTest, MalformedOperationsAreRefusedBeforeQueueing) {
  EXPECT_EQ(code_of(move(contract_, {transfer("z", "clearing:USD", escrow_, 0)})), errc::refused);
  EXPECT_EQ(code_of(move(contract_, {transfer("s", escrow_, escrow_, 5)})), errc::refused);
  auto lower = transfer("l", "clearing:usd", escrow_, 5);
  lower.currency = "usd";
  EXPECT_EQ(code_of(move(contract_, {lower})), errc::refused);
  EXPECT_EQ(events_of(contract_), 0);
}

TEST_F(LedgerTest, ACreatedEntityStartsInTheSameTransaction) {
  auto conversation = uuid::v7();
  auto req = event_with(conversation, {});
  req.creates.push_back(new_entity{contract_, "contract",
                                   {event_record{1, "contract.opened", 1, "\x80", 0}}});
  auto r = await<int64_t>([&](auto cb) {
    req.done = cb;
    db_->append(std::move(req));
  });
  ASSERT_EQ(code_of(r), errc{});
  EXPECT_EQ(events_of(contract_), 1);
  // Creating it again fails the whole append: the entity exists.
  auto again = event_with(conversation, {});
  again.expected_seq = 1;
  again.events.front().seq = 2;
  again.creates.push_back(new_entity{contract_, "contract",
                                     {event_record{1, "contract.opened", 1, "\x80", 0}}});
  auto r2 = await<int64_t>([&](auto cb) {
    again.done = cb;
    db_->append(std::move(again));
  });
  EXPECT_NE(code_of(r2), errc{});
  EXPECT_EQ(events_of(conversation), 1);
}

TEST_F(LedgerTest, TheCheckFindsTamperingAndMoneyLeftInATerminalContract) {
  ASSERT_EQ(code_of(move(contract_, {transfer("f", "clearing:USD", escrow_, 500)})), errc{});
  EXPECT_TRUE(check().violations.empty());
  {
    pqxx::connection conn{url()};
    pqxx::work tx{conn};
    // A contract that ended while its escrow still holds money.
    tx.exec_params0("insert into journal (entity_id, seq, entity_type, event_type, version, payload)"
                    " values ($1, 2, 'contract', 'contract.released', 1, '\\x80')",
                    contract_.str());
    // A balance changed behind the ledger's back.
    tx.exec0("update ledger_accounts set credits_posted = credits_posted + 1"
             " where id = 'revenue:USD' or id like 'escrow:%'");
    tx.commit();
  }
  auto report = check();
  auto has = [&](const std::string& what) {
    for (const auto& v : report.violations)
      if (v.find(what) != std::string::npos)
        return true;
    return false;
  };
  EXPECT_TRUE(has("currency does not sum to zero"));
  EXPECT_TRUE(has("balance differs from the sum of its transfers"));
  EXPECT_TRUE(has("terminal contract with money in escrow"));
}

} // namespace
} // namespace pactum::persistence
