#include "pactum/actors/conversation_machine.hpp"

#include <algorithm>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

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
    auto d = decide(s_, post_message{author, client_id, text}, now, rules_);
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
  auto d = decide(empty, post_message{brand_, "x", "hello"}, 1, rules_);
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
  EXPECT_TRUE(std::holds_alternative<duplicate>(decide(replayed, post_message{creator_, "c4", "t"}, 1, rules_)));
}

TEST_F(ConversationMachineTest, AuthorsEditAndDeleteWithinTheWindowOnly) {
  rules_.edit_window = 60'000;
  post(brand_, "m1", "helo", 1'000); // seq 2
  auto edit = decide(s_, edit_message{brand_, 2, "hello"}, 2'000, rules_);
  ASSERT_TRUE(std::holds_alternative<accepted>(edit));
  apply(s_, 3, std::get<accepted>(edit).event, rules_);
  auto again = decide(s_, edit_message{brand_, 2, "hello"}, 2'500, rules_);
  ASSERT_TRUE(std::holds_alternative<duplicate>(again)) << "a retried edit changes nothing";
  EXPECT_EQ(std::get<duplicate>(again).seq, 3);

  auto other = decide(s_, edit_message{creator_, 2, "mine now"}, 2'000, rules_);
  ASSERT_TRUE(std::holds_alternative<refusal>(other));
  EXPECT_EQ(std::get<refusal>(other).code, protocol::error_code::forbidden);
  auto late = decide(s_, edit_message{brand_, 2, "too late"}, 1'000 + 60'001, rules_);
  ASSERT_TRUE(std::holds_alternative<refusal>(late));
  EXPECT_EQ(std::get<refusal>(late).code, protocol::error_code::forbidden);
  auto not_a_message = decide(s_, delete_message{brand_, 1}, 2'000, rules_);
  ASSERT_TRUE(std::holds_alternative<refusal>(not_a_message));
  EXPECT_EQ(std::get<refusal>(not_a_message).code, protocol::error_code::not_found);

  auto del = decide(s_, delete_message{brand_, 2}, 3'000, rules_);
  ASSERT_TRUE(std::holds_alternative<accepted>(del));
  apply(s_, 4, std::get<accepted>(del).event, rules_);
  EXPECT_TRUE(std::holds_alternative<duplicate>(decide(s_, delete_message{brand_, 2}, 3'100, rules_)));
  auto edit_deleted = decide(s_, edit_message{brand_, 2, "back"}, 3'200, rules_);
  ASSERT_TRUE(std::holds_alternative<refusal>(edit_deleted));
  EXPECT_EQ(std::get<refusal>(edit_deleted).code, protocol::error_code::conflict);
}

TEST_F(ConversationMachineTest, RepliesMustNameAnExistingSeq) {
  auto bad = decide(s_, post_message{brand_, "r", "re: nothing", 99, {}}, 1, rules_);
  ASSERT_TRUE(std::holds_alternative<refusal>(bad));
  EXPECT_EQ(std::get<refusal>(bad).code, protocol::error_code::bad_request);
  EXPECT_TRUE(std::holds_alternative<accepted>(decide(s_, post_message{brand_, "r", "re: opening", 1, {}}, 1, rules_)));
}

TEST_F(ConversationMachineTest, SnapshotsRoundTripAndVersionOneStillLoads) {
  post(brand_, "a", "one", 10);
  post(creator_, "b", "two", 20);
  auto bytes = encode_snapshot(s_);
  auto back = decode_snapshot(snapshot_version, bytes, rules_);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back->head, s_.head);
  EXPECT_EQ(back->messages.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<duplicate>(decide(back.value(), post_message{creator_, "b", "two"}, 30, rules_)));
  EXPECT_TRUE(std::holds_alternative<accepted>(decide(back.value(), edit_message{creator_, 3, "2"}, 30, rules_)));

  // Version 1 (written before edits existed) had no message index: it loads, dedup intact.
  auto key = dedup_key(creator_, "b");
  auto v1 = nlohmann::json::to_msgpack(nlohmann::json{
    {"id", s_.id.str()}, {"brand", brand_.str()}, {"creator", creator_.str()}, {"head", 3},
    {"recent", nlohmann::json::array({nlohmann::json::array(
                 {nlohmann::json::binary(std::vector<uint8_t>(key.begin(), key.end())),
                  3, 20})})}});
  auto old = decode_snapshot(1, std::string{v1.begin(), v1.end()}, rules_);
  ASSERT_TRUE(old) << old.error();
  EXPECT_EQ(old->head, 3);
  EXPECT_TRUE(std::holds_alternative<duplicate>(decide(old.value(), post_message{creator_, "b", "two"}, 30, rules_)));
  EXPECT_FALSE(decode_snapshot(99, bytes, rules_)) << "an unknown version is refused, not misread";
}

TEST_F(ConversationMachineTest, ReadMarksMoveForwardAndCountUnread) {
  post(brand_, "a", "one");   // 2
  post(brand_, "b", "two");   // 3
  post(creator_, "c", "mine"); // 4
  EXPECT_EQ(s_.unread(creator_), 2) << "the brand's two messages; never one's own";
  auto mark = decide(s_, mark_read{creator_, 2}, 50, rules_);
  ASSERT_TRUE(std::holds_alternative<accepted>(mark));
  apply(s_, 5, std::get<accepted>(mark).event, rules_);
  EXPECT_EQ(s_.unread(creator_), 1);
  auto back = decide(s_, mark_read{creator_, 1}, 60, rules_);
  ASSERT_TRUE(std::holds_alternative<duplicate>(back)) << "marks never move backwards";
  EXPECT_EQ(std::get<duplicate>(back).seq, 5);
  auto beyond = decide(s_, mark_read{creator_, 99}, 60, rules_);
  ASSERT_TRUE(std::holds_alternative<refusal>(beyond));
  EXPECT_EQ(std::get<refusal>(beyond).code, protocol::error_code::bad_request);
  auto stranger = decide(s_, mark_read{uuid::v7(), 1}, 60, rules_);
  EXPECT_TRUE(std::holds_alternative<refusal>(stranger));
  auto snap = decode_snapshot(snapshot_version, encode_snapshot(s_), rules_);
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->unread(creator_), 1) << "read marks survive a snapshot";
}

// -- offers ---------------------------------------------------------------------------------------

namespace {

protocol::offer_terms sample_terms(int64_t amount = 150'000) {
  protocol::offer_terms t;
  t.amount = amount;
  t.currency = "USD";
  t.deliverables = {{"tiktok", "tiktok_duet", 2, "duet our launch video"}};
  t.delivery_days = 7;
  t.revision_rounds = 2;
  t.usage_rights = "organic";
  t.usage_days = 90;
  return t;
}

class OfferTest : public ConversationMachineTest {
protected:
  /// Decides and, when accepted, applies (like the actor does).
  template <class Cmd>
  decision run(const Cmd& cmd, millis now = 2000) {
    auto d = decide(s_, cmd, now, rules_);
    if (auto* a = std::get_if<accepted>(&d))
      apply(s_, s_.head + 1, a->event, rules_);
    return d;
  }

  int64_t offer(const uuid& by, const std::string& client_id, int64_t counter_to = 0,
                millis expires_at = 100'000, millis now = 2000) {
    auto d = run(make_offer{by, client_id, sample_terms(), counter_to, expires_at - now}, now);
    EXPECT_TRUE(std::holds_alternative<accepted>(d));
    return s_.head;
  }

  static protocol::error_code code(const decision& d) {
    return std::holds_alternative<refusal>(d) ? std::get<refusal>(d).code
                                              : protocol::error_code::internal;
  }
};

} // namespace

TEST_F(OfferTest, AFullCycleOfferCounterAccept) {
  auto first = offer(brand_, "o1");
  EXPECT_EQ(s_.offers.at(first).status, offer_status::pending);
  EXPECT_EQ(s_.next_offer_expiry(), 100'000);

  auto counter = offer(creator_, "o2", first, 200'000);
  EXPECT_EQ(s_.offers.at(first).status, offer_status::superseded) << "a counter supersedes";
  EXPECT_EQ(s_.offers.at(first).closed_by, counter);
  EXPECT_EQ(s_.next_offer_expiry(), 200'000) << "the timer follows the pending offer";

  auto contract = uuid::v7();
  auto d = run(answer_offer{brand_, counter, answer::accept, "", contract}, 3000);
  ASSERT_TRUE(std::holds_alternative<accepted>(d));
  auto& ev = std::get<protocol::offer_accepted>(std::get<accepted>(d).event);
  EXPECT_EQ(ev.contract, contract);
  EXPECT_EQ(s_.offers.at(counter).status, offer_status::accepted);
  EXPECT_EQ(s_.offers.at(counter).contract, contract);
  EXPECT_EQ(s_.next_offer_expiry(), 0) << "nothing pending: the timer is cleared";
}

TEST_F(OfferTest, ASecondAcceptNeverCreatesASecondContract) {
  auto o = offer(brand_, "o1");
  auto c1 = uuid::v7();
  auto c2 = uuid::v7();
  ASSERT_TRUE(std::holds_alternative<accepted>(run(answer_offer{creator_, o, answer::accept, "", c1})));
  auto head = s_.head;
  // The same user clicks again (another device, or a retry after a lost reply).
  auto again = run(answer_offer{creator_, o, answer::accept, "", c2});
  ASSERT_TRUE(std::holds_alternative<duplicate>(again));
  EXPECT_EQ(std::get<duplicate>(again).contract, c1) << "the first contract, not a new one";
  EXPECT_EQ(std::get<duplicate>(again).seq, head);
  EXPECT_EQ(s_.head, head) << "nothing stored";
  // Nobody else can answer it any more.
  EXPECT_EQ(code(run(answer_offer{creator_, o, answer::decline, "", {}})), protocol::error_code::conflict);
  EXPECT_EQ(code(run(answer_offer{brand_, o, answer::withdraw, "", {}})), protocol::error_code::conflict);
}

TEST_F(OfferTest, AcceptingOneOfferClosesEveryOtherPendingOne) {
  // Both sides have an offer open; both click accept on the other's at the same moment. The
  // actor decides one after the other: the first wins, the second finds the deal struck.
  auto from_brand = offer(brand_, "b1");
  auto from_creator = offer(creator_, "c1");
  ASSERT_TRUE(std::holds_alternative<accepted>(
    run(answer_offer{creator_, from_brand, answer::accept, "", uuid::v7()})));
  EXPECT_EQ(s_.offers.at(from_creator).status, offer_status::superseded);
  auto second = run(answer_offer{brand_, from_creator, answer::accept, "", uuid::v7()});
  EXPECT_EQ(code(second), protocol::error_code::conflict);
  size_t contracts = 0;
  for (auto& [seq, o] : s_.offers)
    contracts += o.status == offer_status::accepted ? 1 : 0;
  EXPECT_EQ(contracts, 1u);
}

TEST_F(OfferTest, WhoMayDoWhat) {
  auto o = offer(brand_, "o1");
  EXPECT_EQ(code(run(answer_offer{brand_, o, answer::accept, "", uuid::v7()})),
            protocol::error_code::forbidden) << "no accepting one's own offer";
  EXPECT_EQ(code(run(answer_offer{creator_, o, answer::withdraw, "", {}})),
            protocol::error_code::forbidden) << "only the author withdraws";
  EXPECT_EQ(code(run(make_offer{brand_, "o2", sample_terms(), o, 100'000})),
            protocol::error_code::forbidden) << "no countering one's own offer";
  EXPECT_EQ(code(run(answer_offer{uuid::v7(), o, answer::decline, "", {}})),
            protocol::error_code::forbidden) << "strangers";
  EXPECT_EQ(code(run(answer_offer{creator_, 999, answer::decline, "", {}})),
            protocol::error_code::not_found);
  EXPECT_EQ(code(run(make_offer{creator_, "c", sample_terms(), 1, 100'000})),
            protocol::error_code::not_found) << "seq 1 is not an offer";
  ASSERT_TRUE(std::holds_alternative<accepted>(run(answer_offer{creator_, o, answer::decline, "too low", {}})));
  EXPECT_EQ(s_.offers.at(o).status, offer_status::declined);
  auto retry = run(answer_offer{creator_, o, answer::decline, "too low", {}});
  EXPECT_TRUE(std::holds_alternative<duplicate>(retry)) << "a repeated decline is a retry";
}

TEST_F(OfferTest, OffersExpireOnlyWhenDueAndOnlyOnce) {
  auto o = offer(brand_, "o1", 0, 5000);
  EXPECT_EQ(code(run(expire_offer{o}, 4999)), protocol::error_code::conflict) << "not due yet";
  EXPECT_EQ(code(run(answer_offer{creator_, o, answer::accept, "", uuid::v7()}, 5000)),
            protocol::error_code::conflict) << "an offer past its time cannot be accepted";
  ASSERT_TRUE(std::holds_alternative<accepted>(run(expire_offer{o}, 5001)));
  EXPECT_EQ(s_.offers.at(o).status, offer_status::expired);
  auto head = s_.head;
  EXPECT_TRUE(std::holds_alternative<refusal>(run(expire_offer{o}, 6000))) << "a repeated timer";
  EXPECT_EQ(s_.head, head);
}

TEST_F(OfferTest, PendingOffersAreLimitedAndMakeIsIdempotent) {
  rules_.max_pending_offers = 2;
  auto first = offer(brand_, "a");
  offer(creator_, "b");
  EXPECT_EQ(code(run(make_offer{brand_, "c", sample_terms(), 0, 100'000})),
            protocol::error_code::limit_reached);
  // A counter replaces the offer it answers, so it fits under the limit.
  EXPECT_TRUE(std::holds_alternative<accepted>(run(make_offer{creator_, "d", sample_terms(), first, 100'000})));
  auto retry = run(make_offer{creator_, "d", sample_terms(), first, 100'000});
  ASSERT_TRUE(std::holds_alternative<duplicate>(retry));
  EXPECT_EQ(std::get<duplicate>(retry).seq, s_.head);
}

TEST_F(OfferTest, OffersSurviveSnapshotAndReplay) {
  auto o1 = offer(brand_, "o1");
  auto o2 = offer(creator_, "o2", o1, 300'000);
  run(answer_offer{brand_, o2, answer::accept, "", uuid::v7()});
  offer(creator_, "o3", 0, 400'000);
  auto restored = decode_snapshot(snapshot_version, encode_snapshot(s_), rules_);
  ASSERT_TRUE(restored) << restored.error();
  ASSERT_EQ(restored->offers.size(), s_.offers.size());
  for (auto& [seq, o] : s_.offers) {
    auto& r = restored->offers.at(seq);
    EXPECT_EQ(r.status, o.status);
    EXPECT_EQ(r.by, o.by);
    EXPECT_EQ(r.expires_at, o.expires_at);
    EXPECT_EQ(r.closed_by, o.closed_by);
    EXPECT_EQ(r.contract, o.contract);
  }
  EXPECT_EQ(restored->next_offer_expiry(), 400'000);
  // And the events themselves survive the journal's encoding.
  auto ev = protocol::offer_made{brand_, "x", sample_terms(), 7, 9000, 1000};
  auto decoded = protocol::decode_event("offer.made", 1, protocol::encode_event(ev));
  ASSERT_TRUE(decoded) << decoded.error();
  auto& back = std::get<protocol::offer_made>(decoded.value());
  EXPECT_EQ(back.terms, ev.terms);
  EXPECT_EQ(back.counter_to, 7);
  EXPECT_EQ(back.expires_at, 9000);
}

// -- anti-bypass guard ----------------------------------------------------------------------------

TEST_F(OfferTest, TheGuardMasksFlagsOrBlocksContactDetailsUntilThereIsADeal) {
  const std::string leak = "great, just email me at zoe.bakes@gmail.com and we sort it out";
  rules_.guard = guard_policy::mask;
  auto masked = run(post_message{creator_, "g1", leak});
  ASSERT_TRUE(std::holds_alternative<accepted>(masked));
  auto& a = std::get<accepted>(masked);
  auto& stored = std::get<protocol::message_posted>(a.event).text;
  EXPECT_EQ(stored.find("gmail"), std::string::npos) << stored;
  EXPECT_NE(stored.find("[hidden]"), std::string::npos) << stored;
  ASSERT_TRUE(a.guard);
  EXPECT_EQ(a.guard->action, "masked");
  EXPECT_EQ(a.guard->original, leak) << "moderators see what was written";
  EXPECT_NE(std::find(a.guard->categories.begin(), a.guard->categories.end(), "email"),
            a.guard->categories.end());

  rules_.guard = guard_policy::flag;
  auto flagged = run(post_message{creator_, "g2", leak});
  ASSERT_TRUE(std::holds_alternative<accepted>(flagged));
  EXPECT_EQ(std::get<protocol::message_posted>(std::get<accepted>(flagged).event).text, leak);
  EXPECT_EQ(std::get<accepted>(flagged).guard->action, "flagged");

  rules_.guard = guard_policy::block;
  auto head = s_.head;
  auto refused = run(post_message{creator_, "g3", leak});
  ASSERT_TRUE(std::holds_alternative<refusal>(refused));
  EXPECT_EQ(std::get<refusal>(refused).code, protocol::error_code::content_blocked);
  ASSERT_TRUE(std::get<refusal>(refused).guard) << "a blocked attempt is still recorded";
  EXPECT_EQ(s_.head, head) << "nothing stored";
  // Edits, offer briefs and decline reasons are screened too.
  auto ok = run(post_message{creator_, "g4", "sounds good"});
  ASSERT_TRUE(std::holds_alternative<accepted>(ok));
  EXPECT_EQ(code(run(edit_message{creator_, s_.head, "call me on +44 20 7946 0958"})),
            protocol::error_code::content_blocked);
  auto terms = sample_terms();
  terms.deliverables[0].brief = "pay me on venmo @zoebakes instead";
  EXPECT_EQ(code(run(make_offer{brand_, "o", terms, 0, 100'000})), protocol::error_code::content_blocked);
  // Ordinary talk passes untouched.
  auto plain = run(post_message{brand_, "g5", "Can you do 2 reels and a story for $1,500 by 12/05?"});
  ASSERT_TRUE(std::holds_alternative<accepted>(plain));
  EXPECT_FALSE(std::get<accepted>(plain).guard);

  // Once a deal exists, the parties may exchange whatever they need.
  auto o = offer(brand_, "deal");
  ASSERT_TRUE(std::holds_alternative<accepted>(run(answer_offer{creator_, o, answer::accept, "", uuid::v7()})));
  auto after = run(post_message{creator_, "g6", leak});
  ASSERT_TRUE(std::holds_alternative<accepted>(after));
  EXPECT_EQ(std::get<protocol::message_posted>(std::get<accepted>(after).event).text, leak);
  EXPECT_FALSE(std::get<accepted>(after).guard);
}

TEST_F(OfferTest, TheGuardCanBeTurnedOff) {
  rules_.guard = guard_policy::off;
  auto d = run(post_message{creator_, "g", "whatsapp me +1 415 555 0132"});
  ASSERT_TRUE(std::holds_alternative<accepted>(d));
  EXPECT_FALSE(std::get<accepted>(d).guard);
  EXPECT_EQ(guard_policy_from_string("block"), guard_policy::block);
  EXPECT_FALSE(guard_policy_from_string("shout"));
}

TEST_F(ConversationMachineTest, ModeratorsJoinOnlyWhileADisputeIsOpenAndMakeNoOffers) {
  auto mod = uuid::v7();
  auto contract = uuid::v7();
  auto join_now = [&] {
    auto d = decide(s_, join{mod, true}, 3000, rules_);
    if (auto* a = std::get_if<accepted>(&d))
      apply(s_, s_.head + 1, a->event, rules_);
    return d;
  };
  auto early = join_now();
  ASSERT_TRUE(std::holds_alternative<refusal>(early));
  EXPECT_EQ(std::get<refusal>(early).code, protocol::error_code::forbidden);
  EXPECT_TRUE(std::holds_alternative<refusal>(decide(s_, join{uuid::v7(), false}, 3000, rules_)));

  auto opened = decide(s_, note_dispute{contract, true}, 3000, rules_);
  ASSERT_TRUE(std::holds_alternative<accepted>(opened));
  apply(s_, s_.head + 1, std::get<accepted>(opened).event, rules_);
  EXPECT_TRUE(std::holds_alternative<duplicate>(decide(s_, note_dispute{contract, true}, 3000, rules_)))
    << "a repeated report changes nothing";
  ASSERT_TRUE(std::holds_alternative<accepted>(join_now()));
  EXPECT_TRUE(s_.is_participant(mod));
  EXPECT_FALSE(s_.is_member(mod));
  EXPECT_TRUE(std::holds_alternative<duplicate>(join_now()));
  EXPECT_TRUE(std::holds_alternative<accepted>(post(mod, "m1", "Let us sort this out.")));
  auto offer = decide(s_, make_offer{mod, "o1", protocol::offer_terms{}, 0, 1000}, 3000, rules_);
  ASSERT_TRUE(std::holds_alternative<refusal>(offer));
  EXPECT_EQ(std::get<refusal>(offer).code, protocol::error_code::forbidden);

  // Disputes and moderators survive a snapshot.
  auto back = decode_snapshot(snapshot_version, encode_snapshot(s_), rules_);
  ASSERT_TRUE(back.has_value()) << back.error();
  EXPECT_TRUE(back->is_participant(mod));
  EXPECT_EQ(back->disputes.count(contract), 1u);
}

TEST_F(ConversationMachineTest, MembersAreCappedAndTheCapIsReportedAsLimitReached) {
  rules_.max_members = 4; // brand + creator + two moderators
  auto contract = uuid::v7();
  auto opened = decide(s_, note_dispute{contract, true}, 3000, rules_);
  ASSERT_TRUE(std::holds_alternative<accepted>(opened));
  apply(s_, s_.head + 1, std::get<accepted>(opened).event, rules_);
  std::vector<uuid> mods{uuid::v7(), uuid::v7(), uuid::v7()};
  for (size_t i = 0; i < 2; ++i) {
    auto d = decide(s_, join{mods[i], true}, 3000, rules_);
    ASSERT_TRUE(std::holds_alternative<accepted>(d)) << "moderator " << i;
    apply(s_, s_.head + 1, std::get<accepted>(d).event, rules_);
  }
  auto full = decide(s_, join{mods[2], true}, 3000, rules_);
  ASSERT_TRUE(std::holds_alternative<refusal>(full));
  EXPECT_EQ(std::get<refusal>(full).code, protocol::error_code::limit_reached);
  EXPECT_NE(std::get<refusal>(full).message.find("(4)"), std::string::npos) << std::get<refusal>(full).message;
  EXPECT_FALSE(s_.is_participant(mods[2]));
  EXPECT_TRUE(std::holds_alternative<duplicate>(decide(s_, join{mods[0], true}, 3000, rules_)))
    << "a member already in answers as before, even at the cap";
  // A lower cap after a restart keeps who is in, and still refuses newcomers.
  rules_.max_members = 2;
  EXPECT_TRUE(std::holds_alternative<duplicate>(decide(s_, join{mods[1], true}, 3000, rules_)));
  EXPECT_TRUE(std::holds_alternative<refusal>(decide(s_, join{mods[2], true}, 3000, rules_)));
}
