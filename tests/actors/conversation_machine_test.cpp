#include "pactum/actors/conversation_machine.hpp"

#include <gtest/gtest.h>

using namespace pactum;
using namespace pactum::actors::conversation;

namespace {

class ConversationMachineTest : public ::testing::Test {
protected:
  void SetUp() override {
    s_.id = uuid::v7();
    apply(s_, 1, protocol::conversation_opened{brand_, creator_, 1000}, rules_);
  }

  /// Decides and, when accepted, applies; returns the decision.
  decision post(const uuid& author, const std::string& client_id, const std::string& text,
                millis now = 2000) {
    auto d = decide(s_, post_message{author, client_id, text}, now);
    if (auto* a = std::get_if<accepted>(&d))
      apply(s_, s_.head + 1, a->event, rules_);
    return d;
  }

  uuid brand_ = uuid::v7();
  uuid creator_ = uuid::v7();
  rules rules_;
  state s_;
};

} // namespace

TEST_F(ConversationMachineTest, OpeningMakesBothSidesMembers) {
  EXPECT_TRUE(s_.exists());
  EXPECT_EQ(s_.head, 1);
  EXPECT_TRUE(s_.is_member(brand_));
  EXPECT_TRUE(s_.is_member(creator_));
  EXPECT_FALSE(s_.is_member(uuid::v7()));
}

TEST_F(ConversationMachineTest, MembersPostWithIncreasingSequenceNumbers) {
  auto d1 = post(brand_, "a", "hello");
  auto d2 = post(creator_, "a", "hi back"); // same client id, other author: a new message
  ASSERT_TRUE(std::holds_alternative<accepted>(d1));
  ASSERT_TRUE(std::holds_alternative<accepted>(d2));
  EXPECT_EQ(s_.head, 3);
  auto& m = std::get<protocol::message_posted>(std::get<accepted>(d2).event);
  EXPECT_EQ(m.author, creator_);
  EXPECT_EQ(m.text, "hi back");
  EXPECT_EQ(m.at, 2000);
}

TEST_F(ConversationMachineTest, StrangersAreRefused) {
  auto d = post(uuid::v7(), "x", "let me in");
  ASSERT_TRUE(std::holds_alternative<refusal>(d));
  EXPECT_EQ(std::get<refusal>(d).code, protocol::error_code::forbidden);
  EXPECT_EQ(s_.head, 1) << "nothing stored";
}

TEST_F(ConversationMachineTest, AConversationThatWasNeverOpenedRefusesEveryone) {
  state empty;
  auto d = decide(empty, post_message{brand_, "x", "hello"}, 1);
  ASSERT_TRUE(std::holds_alternative<refusal>(d));
  EXPECT_EQ(std::get<refusal>(d).code, protocol::error_code::forbidden);
}

TEST_F(ConversationMachineTest, ARetryReturnsTheFirstResultAndStoresNothing) {
  post(brand_, "m-1", "hello", 5000);
  auto retry = post(brand_, "m-1", "hello", 9000);
  ASSERT_TRUE(std::holds_alternative<duplicate>(retry));
  EXPECT_EQ(std::get<duplicate>(retry).seq, 2);
  EXPECT_EQ(std::get<duplicate>(retry).at, 5000) << "the first send's time";
  EXPECT_EQ(s_.head, 2);
}

TEST_F(ConversationMachineTest, EmptyTextOrClientIdIsRefused) {
  EXPECT_TRUE(std::holds_alternative<refusal>(post(brand_, "x", "")));
  EXPECT_TRUE(std::holds_alternative<refusal>(post(brand_, "", "text")));
}

TEST_F(ConversationMachineTest, DedupWindowIsBounded) {
  rules_.dedup_window = 3;
  for (int i = 0; i < 10; ++i)
    post(brand_, "m" + std::to_string(i), "text");
  EXPECT_EQ(s_.recent.size(), 3u);
  EXPECT_TRUE(std::holds_alternative<duplicate>(post(brand_, "m9", "text")));
  EXPECT_TRUE(std::holds_alternative<accepted>(post(brand_, "m0", "text")))
    << "beyond the window a client id is new again (documented)";
}

TEST_F(ConversationMachineTest, ReplayRebuildsTheSameState) {
  std::vector<protocol::conversation_event> journal{protocol::conversation_opened{brand_, creator_, 1000}};
  for (int i = 0; i < 5; ++i) {
    auto d = post(i % 2 ? brand_ : creator_, "c" + std::to_string(i), "t");
    journal.push_back(std::get<accepted>(d).event);
  }
  state replayed;
  for (size_t i = 0; i < journal.size(); ++i)
    apply(replayed, static_cast<int64_t>(i + 1), journal[i], rules_);
  EXPECT_EQ(replayed.head, s_.head);
  EXPECT_EQ(replayed.brand, s_.brand);
  EXPECT_EQ(replayed.recent.size(), s_.recent.size());
  EXPECT_TRUE(std::holds_alternative<duplicate>(decide(replayed, post_message{creator_, "c4", "t"}, 1)));
}
