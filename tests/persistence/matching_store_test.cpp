// The matching store against a real PostgreSQL: the prefilter selects by niche, country (home or
// audience) and followers, orders by niches shared and honours the cap; history figures come
// from contract journals written with the real event encoder (migration 0019's index finds a
// creator's contracts), and a creator without contracts gets zeros.

#include <memory>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pactum/persistence/database.hpp"
#include "pactum/persistence/matching_store.hpp"
#include "pactum/persistence/profile_store.hpp"
#include "pactum/protocol/contract_events.hpp"
#include "started_database.hpp"
#include "test_database.hpp"

#include "await.hpp"

namespace pactum::persistence {
namespace {

using test_support::await;
namespace pr = protocol;

class MatchingStoreTest : public test_support::database_test {
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

  uuid user(const std::string& name, const std::string& role) {
    user_row u{uuid::v7(), name + "@example.com", "x", name, role, 0};
    auto r = await<unit>([&](auto cb) { db_->create_user(u, cb); });
    EXPECT_TRUE(r.has_value());
    return u.id;
  }

  uuid creator(const std::string& name, std::vector<std::string> niches, std::string country,
               int64_t followers, std::string audience = "{}") {
    auto id = user(name, "creator");
    creator_profile_row p;
    p.user = id;
    p.niches = std::move(niches);
    p.social_accounts = "[]";
    p.follower_total = followers;
    p.audience = std::move(audience);
    p.country = std::move(country);
    p.languages = {"en"};
    p.rates = "[]";
    auto r = await<creator_profile_row>([&](auto cb) { save_creator_profile(*db_, p, 0, cb); });
    EXPECT_TRUE(r.has_value());
    return id;
  }

  /// A contract journal for `who` with these events after contract.opened (event types only
  /// matter to the store; payloads are real encodings).
  void contract(uuid brand, uuid who, const std::vector<pr::contract_event>& later) {
    auto id = uuid::v7();
    pr::offer_terms terms;
    terms.amount = 10'000;
    terms.currency = "EUR";
    terms.deliverables = {pr::deliverable{"tiktok", "tiktok_duet", 1, "a duet"}};
    std::vector<pr::contract_event> all{pr::contract_opened{uuid::v7(), 1, brand, who, terms, 1}};
    all.insert(all.end(), later.begin(), later.end());
    pqxx::connection conn{url()};
    pqxx::work tx{conn};
    for (size_t i = 0; i < all.size(); ++i)
      tx.exec_params0("insert into journal (entity_id, seq, entity_type, event_type, version, payload)"
                      " values ($1, $2, 'contract', $3, $4, $5)",
                      id.str(), static_cast<int64_t>(i + 1), std::string{pr::contract_event_type(all[i])},
                      pr::contract_event_version(all[i]), pqxx::binarystring{pr::encode_contract_event(all[i])});
    tx.commit();
  }

  std::vector<match_candidate_row> candidates(match_candidate_query q) {
    auto r = await<std::vector<match_candidate_row>>([&](auto cb) { load_match_candidates(*db_, q, cb); });
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
    return r ? *r : std::vector<match_candidate_row>{};
  }

  std::unique_ptr<database> db_;
};

TEST_F(MatchingStoreTest, PrefilterSelectsByNicheCountryAndFollowersAndHonoursTheCap) {
  auto both = creator("both", {"sports", "outdoors"}, "DE", 50'000);
  auto one = creator("one", {"sports", "music"}, "DE", 80'000);
  auto abroad = creator("abroad", {"sports"}, "FR", 90'000,
                        R"({"top_countries":[{"country":"DE","percent":40}]})");
  creator("elsewhere", {"sports"}, "US", 90'000, R"({"top_countries":[{"country":"US","percent":90}]})");
  creator("other", {"finance"}, "DE", 90'000);
  auto small = creator("small", {"sports", "outdoors"}, "DE", 500);
  user("brandy", "brand");

  match_candidate_query q{{"sports", "outdoors"}, {"DE"}, 1'000, 100};
  auto got = candidates(q);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].profile.user, both); // two niches shared
  // One niche each: living in DE first, then the audience's country.
  EXPECT_EQ(got[1].profile.user, one);
  EXPECT_EQ(got[2].profile.user, abroad);
  EXPECT_EQ(got[0].profile.display_name, "both");
  EXPECT_EQ(got[0].profile.niches, (std::vector<std::string>{"sports", "outdoors"}));

  q.cap = 2;
  EXPECT_EQ(candidates(q).size(), 2u);
  q.min_followers = 0;
  q.cap = 100;
  q.countries.clear();
  auto any_country = candidates(q);
  EXPECT_EQ(any_country.size(), 5u); // + elsewhere and small
  EXPECT_EQ(any_country[0].profile.user, both);
  EXPECT_EQ(any_country[1].profile.user, small);
  q.niches.clear();
  EXPECT_EQ(candidates(q).size(), 6u); // everyone with a creator profile
}

TEST_F(MatchingStoreTest, HistoryFiguresComeFromTheContractJournals) {
  auto brand = user("brand", "brand");
  auto veteran = creator("veteran", {"sports"}, "DE", 10'000);
  auto late = creator("late", {"sports"}, "DE", 10'000);
  auto fresh = creator("fresh", {"sports"}, "DE", 10'000);
  pr::contract_funded funded{"i", 10, 2};
  pr::contract_delivered delivered{veteran, "k", {pr::delivery_item{"https://x.example/1", ""}}, "", 0, 20, 3};
  pr::contract_revision_requested revision{brand, "r", "again", 1, 30, 4};
  pr::contract_released released{10'000, 1'000, false, 5, brand, "a"};
  pr::contract_refunded refunded{10'000, "delivery_deadline", "ref", 6};
  pr::contract_disputed disputed{brand, "d", "why", "delivered", 0, 7};
  // veteran: two released (one after a revision), one refunded after a missed revision deadline,
  // one disputed, one still awaiting funding (not counted).
  contract(brand, veteran, {funded, delivered, released});
  contract(brand, veteran, {funded, delivered, revision, delivered, released});
  contract(brand, veteran, {funded, delivered, revision, refunded});
  contract(brand, veteran, {funded, delivered, disputed});
  contract(brand, veteran, {});
  // late: missed the only deadline.
  contract(brand, late, {funded, refunded});

  auto got = candidates(match_candidate_query{{"sports"}, {}, 0, 100});
  ASSERT_EQ(got.size(), 3u);
  for (auto& c : got) {
    auto& h = c.history;
    EXPECT_EQ(h.creator, c.profile.user);
    if (c.profile.user == veteran) {
      EXPECT_EQ(h.contracts, 4);
      EXPECT_EQ(h.on_time, 3);
      EXPECT_EQ(h.completed, 2);
      EXPECT_EQ(h.delivered, 4);
      EXPECT_EQ(h.reviewed, 3); // the disputed one has not ended
      EXPECT_EQ(h.revisions, 2);
      EXPECT_EQ(h.disputes, 1);
    } else if (c.profile.user == late) {
      EXPECT_EQ(h.contracts, 1);
      EXPECT_EQ(h.on_time, 0);
      EXPECT_EQ(h.completed, 0);
      EXPECT_EQ(h.delivered, 0);
    } else {
      EXPECT_EQ(c.profile.user, fresh);
      EXPECT_EQ(h.contracts, 0);
      EXPECT_EQ(h.completed, 0);
    }
  }
  auto direct = await<std::vector<creator_history_row>>(
    [&](auto cb) { load_creator_history(*db_, {fresh, veteran}, cb); });
  ASSERT_TRUE(direct.has_value());
  ASSERT_EQ(direct->size(), 2u);
  EXPECT_EQ((*direct)[0].creator, fresh);
  EXPECT_EQ((*direct)[0].contracts, 0);
  EXPECT_EQ((*direct)[1].completed, 2);

  // The creator's contracts are found through migration 0019's index, not a journal scan.
  pqxx::connection conn{url()};
  pqxx::nontransaction tx{conn};
  tx.exec0("set enable_seqscan = off");
  std::string plan;
  for (const auto& r : tx.exec_params("explain select entity_id from journal where event_type ="
                                      " 'contract.opened' and pactum_contract_creator(payload) = $1::uuid",
                                      veteran.str()))
    plan += r[0].as<std::string>() + "\n";
  EXPECT_NE(plan.find("journal_contract_creator"), std::string::npos) << plan;
  // A payload without the key, or with garbage after it, gives null rather than an error.
  EXPECT_TRUE(tx.exec1("select pactum_contract_creator('\\x00'::bytea)")[0].is_null());
  EXPECT_TRUE(tx.exec1("select pactum_contract_creator('\\xa763726561746f72d924ffff'::bytea)")[0].is_null());
}

} // namespace
} // namespace pactum::persistence
