// Which notifications a committed event implies (actors/src/notifications.cpp): recipients,
// types, sources (the idempotence key), coalescing keys, and what is left out.

#include "notifications.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "message_types.hpp"

using namespace pactum;
using namespace pactum::actors;
using json = nlohmann::json;

namespace {

std::string mp(const json& j) {
  auto bytes = json::to_msgpack(j);
  return std::string(bytes.begin(), bytes.end());
}

class NotificationFactsTest : public ::testing::Test {
protected:
  uuid conv = uuid::v7(), brand = uuid::v7(), creator = uuid::v7();
};

TEST_F(NotificationFactsTest, AMessageNotifiesTheOtherMemberUnlessTheyAreViewing) {
  auto ev = mp(json{{"type", "message.posted"}, {"author", brand.str()}, {"text", "hello"}, {"at", 5}});
  auto facts = conversation_facts(conv, brand, creator, 7, ev, {});
  ASSERT_EQ(facts.size(), 1u);
  EXPECT_EQ(facts[0].user, creator);
  EXPECT_EQ(facts[0].type, "message.received");
  EXPECT_EQ(facts[0].source, "conversation:" + conv.str() + ":7");
  EXPECT_EQ(facts[0].coalesce_key, "conversation:" + conv.str());
  auto data = json::parse(facts[0].payload);
  EXPECT_FALSE(data.contains("text")) << "message text is sealed at rest: never stored in the clear";
  EXPECT_FALSE(data.contains("preview"));
  EXPECT_EQ(data["from"], brand.str());
  EXPECT_EQ(data["seq"], 7);
  EXPECT_EQ(data["count"], 1);
  EXPECT_TRUE(conversation_facts(conv, brand, creator, 7, ev, {creator}).empty());
  EXPECT_EQ(conversation_facts(conv, brand, creator, 7, ev, {brand}).size(), 1u)
    << "the author viewing does not matter";
}

TEST_F(NotificationFactsTest, OffersNotifyTheCounterpartyAndOtherEventsNobody) {
  auto made = conversation_facts(
    conv, brand, creator, 3,
    mp(json{{"type", "offer.made"}, {"by", brand.str()}, {"client_id", "o"}, {"terms", {{"amount", 5}}}}), {creator});
  ASSERT_EQ(made.size(), 1u) << "offers notify even a viewing member";
  EXPECT_EQ(made[0].user, creator);
  EXPECT_EQ(made[0].type, "offer.made");
  EXPECT_TRUE(made[0].coalesce_key.empty());
  auto data = json::parse(made[0].payload);
  EXPECT_FALSE(data.contains("terms")) << "offer terms are sealed at rest: never stored in the clear";
  EXPECT_FALSE(data.contains("client_id"));
  EXPECT_EQ(data["by"], brand.str());
  auto accepted = conversation_facts(conv, brand, creator, 4,
                                     mp(json{{"type", "offer.accepted"}, {"by", creator.str()}, {"offer", 3}}), {});
  ASSERT_EQ(accepted.size(), 1u);
  EXPECT_EQ(accepted[0].user, brand);
  EXPECT_TRUE(conversation_facts(conv, brand, creator, 5,
                                 mp(json{{"type", "offer.withdrawn"}, {"by", brand.str()}}), {})
                .empty());
  EXPECT_TRUE(conversation_facts(conv, brand, creator, 6,
                                 mp(json{{"type", "message.posted"}, {"author", uuid::v7().str()}}), {})
                .empty())
    << "a moderator's message notifies no one";
}

TEST_F(NotificationFactsTest, ContractMoneyEventsNotifyBothSidesWithOneSourceEach) {
  auto contract = uuid::v7();
  auto funded = contract_facts(contract, brand, creator, 4, mp(json{{"type", "contract.funded"}, {"key", "k"}}));
  auto disputed = contract_facts(contract, brand, creator, 9, mp(json{{"type", "contract.disputed"}, {"reason", "r"}}));
  ASSERT_EQ(disputed.size(), 2u);
  EXPECT_FALSE(json::parse(disputed[0].payload).contains("reason"));
  ASSERT_EQ(funded.size(), 2u);
  EXPECT_EQ(funded[0].user, brand);
  EXPECT_EQ(funded[1].user, creator);
  EXPECT_EQ(funded[0].source, funded[1].source);
  EXPECT_FALSE(json::parse(funded[0].payload).contains("key"));
  auto reminder = contract_facts(contract, brand, creator, 5, mp(json{{"type", "contract.reminder"}}));
  ASSERT_EQ(reminder.size(), 2u);
  EXPECT_EQ(reminder[0].type, "deadline.reminder");
  EXPECT_TRUE(contract_facts(contract, brand, creator, 6, mp(json{{"type", "contract.delivered"}})).empty());
}

TEST_F(NotificationFactsTest, APerformanceBillThatPaysNotifiesBothSides) {
  auto contract = uuid::v7();
  auto paid = contract_facts(contract, brand, creator, 7,
                             mp(json{{"type", "contract.performance_billed"}, {"units", 20}, {"gross", 100},
                                     {"commission", 10}, {"through", 42}, {"ended", false}}));
  ASSERT_EQ(paid.size(), 2u);
  EXPECT_EQ(paid[0].type, "contract.performance_billed");
  EXPECT_EQ(paid[0].user, brand);
  EXPECT_EQ(paid[1].user, creator);
  auto data = json::parse(paid[1].payload);
  EXPECT_EQ(data.value("gross", 0), 100);
  EXPECT_EQ(data.value("units", 0), 20);
  EXPECT_EQ(data.value("seq", 0), 7);
  // A cpv bill below one minor unit moves the watermark and pays nothing: no notification.
  EXPECT_TRUE(contract_facts(contract, brand, creator, 8,
                             mp(json{{"type", "contract.performance_billed"}, {"units", 3}, {"gross", 0},
                                     {"commission", 0}, {"through", 43}, {"ended", false}}))
                .empty());
}

TEST_F(NotificationFactsTest, CampaignEventsGoToTheSideTheyConcern) {
  auto campaign = uuid::v7();
  auto applied = campaign_facts(campaign, brand, creator, 2,
                                mp(json{{"type", "application.submitted"}, {"creator", creator.str()}}));
  ASSERT_EQ(applied.size(), 1u);
  EXPECT_EQ(applied[0].user, brand);
  EXPECT_EQ(applied[0].type, "application.received");
  auto invited = campaign_facts(campaign, brand, creator, 3, mp(json{{"type", "invitation.sent"}}));
  ASSERT_EQ(invited.size(), 1u);
  EXPECT_EQ(invited[0].user, creator);
  EXPECT_EQ(invited[0].type, "invitation.received");
  EXPECT_EQ(campaign_facts(campaign, brand, creator, 4, mp(json{{"type", "content.reviewed"}}))[0].user, creator);
  EXPECT_TRUE(campaign_facts(campaign, brand, creator, 5, mp(json{{"type", "budget.committed"}})).empty());
  for (auto& f : {applied[0], invited[0]})
    EXPECT_NE(std::find(notification_types().begin(), notification_types().end(), f.type),
              notification_types().end());
}

} // namespace
