// Campaign rooms in the conversation machine: the brand's entry opens the room, creators the
// campaign vouched for join it, the member limit holds, offers are refused, members chat, and a
// snapshot keeps the room (docs/protocol.md "Campaign rooms").

#include "pactum/actors/conversation_machine.hpp"

#include <gtest/gtest.h>

using namespace pactum;
using namespace pactum::actors::conversation;

namespace {

class CampaignRoomMachineTest : public ::testing::Test {
protected:
  /// Decides and, when accepted, applies; returns the decision.
  template <class Cmd>
  decision run(const Cmd& cmd, millis now = 2000) {
    auto d = decide(s_, cmd, now, rules_);
    if (auto* a = std::get_if<accepted>(&d))
      apply(s_, s_.head + 1, a->event, rules_);
    return d;
  }

  protocol::error_code refused_with(const decision& d) {
    EXPECT_TRUE(std::holds_alternative<refusal>(d));
    return std::holds_alternative<refusal>(d) ? std::get<refusal>(d).code : protocol::error_code::internal;
  }

  uuid campaign_ = uuid::v7();
  uuid brand_ = uuid::v7();
  uuid ann_ = uuid::v7();
  uuid bob_ = uuid::v7();
  uuid cid_ = uuid::v7();
  rules rules_;
  state s_;
};

} // namespace

TEST_F(CampaignRoomMachineTest, OnlyTheBrandsEntryOpensTheRoom) {
  EXPECT_EQ(refused_with(run(enter_room{ann_, campaign_, brand_})), protocol::error_code::forbidden);
  auto d = run(enter_room{brand_, campaign_, brand_}, 1000);
  ASSERT_TRUE(std::holds_alternative<accepted>(d));
  EXPECT_EQ(protocol::event_type(std::get<accepted>(d).event), "room.opened");
  EXPECT_TRUE(s_.is_room());
  EXPECT_TRUE(s_.is_member(brand_));
  EXPECT_FALSE(s_.is_member(ann_));
  EXPECT_TRUE(std::holds_alternative<duplicate>(run(enter_room{brand_, campaign_, brand_})));
  // Another campaign's entry never lands in this room.
  EXPECT_EQ(refused_with(run(enter_room{ann_, uuid::v7(), brand_})), protocol::error_code::internal);
}

TEST_F(CampaignRoomMachineTest, CreatorsJoinUpToTheLimitAndChatButMakeNoOffers) {
  rules_.max_room_members = 2;
  run(enter_room{brand_, campaign_, brand_}, 1000);
  auto joined = run(enter_room{ann_, campaign_, brand_});
  ASSERT_TRUE(std::holds_alternative<accepted>(joined));
  EXPECT_EQ(protocol::event_type(std::get<accepted>(joined).event), "member.joined");
  EXPECT_TRUE(s_.is_member(ann_));
  EXPECT_TRUE(std::holds_alternative<duplicate>(run(enter_room{ann_, campaign_, brand_})));
  EXPECT_EQ(refused_with(run(enter_room{bob_, campaign_, brand_})), protocol::error_code::limit_reached);
  EXPECT_FALSE(s_.is_member(bob_));

  EXPECT_TRUE(std::holds_alternative<accepted>(run(post_message{ann_, "m1", "hello all"})));
  EXPECT_TRUE(std::holds_alternative<duplicate>(run(post_message{ann_, "m1", "hello all"})));
  EXPECT_EQ(refused_with(run(post_message{bob_, "m2", "let me in"})), protocol::error_code::forbidden);

  protocol::offer_terms terms;
  terms.amount = 1000;
  terms.currency = "EUR";
  auto offer = run(make_offer{brand_, "o1", terms, 0, 60'000});
  EXPECT_EQ(refused_with(offer), protocol::error_code::forbidden);
  EXPECT_NE(std::get<refusal>(offer).message.find("campaign room"), std::string::npos);
}

TEST_F(CampaignRoomMachineTest, TheGuardStillMasksContactDetails) {
  rules_.guard = guard_policy::mask;
  run(enter_room{brand_, campaign_, brand_}, 1000);
  run(enter_room{ann_, campaign_, brand_});
  auto d = run(post_message{ann_, "m1", "write me at ann@example.com"});
  ASSERT_TRUE(std::holds_alternative<accepted>(d));
  EXPECT_TRUE(std::get<accepted>(d).guard.has_value());
  auto& posted = std::get<protocol::message_posted>(std::get<accepted>(d).event);
  EXPECT_EQ(posted.text.find("ann@example.com"), std::string::npos);
}

TEST_F(CampaignRoomMachineTest, ASnapshotKeepsTheRoomAndItsMembers) {
  run(enter_room{brand_, campaign_, brand_}, 1000);
  run(enter_room{ann_, campaign_, brand_});
  run(post_message{ann_, "m1", "hi"});
  auto back = decode_snapshot(snapshot_version, encode_snapshot(s_), rules_);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back->campaign, campaign_);
  EXPECT_TRUE(back->is_member(ann_));
  EXPECT_FALSE(back->is_member(bob_));
  EXPECT_TRUE(std::holds_alternative<duplicate>(decide(*back, post_message{ann_, "m1", "hi"}, 3000, rules_)));
  // The room's events survive the journal's encoding.
  for (auto ev : {protocol::conversation_event{protocol::room_opened{campaign_, brand_, 5}},
                  protocol::conversation_event{protocol::member_joined{ann_, 6}}}) {
    auto decoded = protocol::decode_event(protocol::event_type(ev), protocol::event_version(ev),
                                          protocol::encode_event(ev));
    ASSERT_TRUE(decoded) << decoded.error();
    EXPECT_EQ(decoded->index(), ev.index());
  }
}
