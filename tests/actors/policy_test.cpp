// The authorization table: every action has exactly one row, the cells say what docs/security.md
// says, and refusals keep the codes and statuses clients already rely on.

#include "pactum/actors/policy.hpp"

#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

using namespace pactum::actors::policy;
using pactum::protocol::error_code;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace

TEST(PolicyTest, EveryActionHasOneRowInOrderWithUniqueNames) {
  auto all = rules();
  std::set<std::string_view> names;
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(static_cast<size_t>(all[i].what), i);
    EXPECT_TRUE(names.insert(all[i].name).second) << all[i].name;
    EXPECT_EQ(&rule_of(all[i].what), &all[i]);
    EXPECT_FALSE(all[i].endpoint.empty());
    // Every row has at least one cell that can occur, and every 'n' cell a refusal.
    bool any = false;
    for (size_t rel = 0; rel < relation_count; ++rel)
      for (size_t r = 0; r < role_count; ++r) {
        auto c = at(all[i].what, static_cast<role>(r), static_cast<relation>(rel));
        any = any || c != cell::na;
        if (c == cell::deny) {
          auto no = decide(all[i].what, static_cast<role>(r), static_cast<relation>(rel));
          ASSERT_TRUE(no.has_value());
          EXPECT_FALSE(no->message.empty());
          EXPECT_NE(no->message, "forbidden") << all[i].name << " has an 'n' cell without a refusal";
        }
      }
    EXPECT_TRUE(any) << all[i].name;
  }
}

TEST(PolicyTest, AnonymousCallersGet401OnAuthenticatedEndpoints) {
  auto no = decide(action::session_list, role::anonymous, relation::none);
  ASSERT_TRUE(no);
  EXPECT_EQ(no->status, 401);
  EXPECT_EQ(no->code, error_code::unauthorized);
  EXPECT_FALSE(decide(action::user_login, role::anonymous, relation::none));
  EXPECT_FALSE(decide(action::health, role::anonymous, relation::none));
}

TEST(PolicyTest, StaffQueuesAreForModeratorsAndAdmins) {
  for (auto a : {action::guard_queue, action::guard_review, action::dispute_list}) {
    EXPECT_TRUE(allowed(a, role::moderator, relation::none));
    EXPECT_TRUE(allowed(a, role::admin, relation::none));
    for (auto r : {role::brand, role::creator}) {
      auto no = decide(a, r, relation::none);
      ASSERT_TRUE(no);
      EXPECT_EQ(no->status, 403);
      EXPECT_EQ(no->message, "moderators only");
    }
  }
  for (auto a : {action::ledger_check, action::audit_query}) {
    EXPECT_TRUE(allowed(a, role::admin, relation::none));
    EXPECT_EQ(decide(a, role::moderator, relation::none)->message, "admins only");
  }
}

TEST(PolicyTest, ContractsAnswerStrangersLikeMissingContracts) {
  for (auto r : {role::brand, role::creator}) {
    auto no = decide(action::contract_get, r, relation::stranger);
    ASSERT_TRUE(no);
    EXPECT_EQ(no->status, 403);
    EXPECT_EQ(no->message, "no such contract, or not a party to it");
    EXPECT_EQ(decide(action::contract_resolve, r, relation::stranger)->message, no->message);
    EXPECT_TRUE(allowed(action::contract_get, r, relation::member));
  }
  EXPECT_TRUE(allowed(action::contract_get, role::moderator, relation::stranger));
  EXPECT_TRUE(allowed(action::contract_resolve, role::admin, relation::stranger));
  EXPECT_EQ(decide(action::contract_resolve, role::brand, relation::member)->message,
            "only a moderator resolves a dispute");
  EXPECT_TRUE(allowed(action::contract_fund, role::brand, relation::member));
  EXPECT_EQ(decide(action::contract_fund, role::creator, relation::member)->message,
            "only the brand funds the escrow");
  EXPECT_TRUE(allowed(action::contract_deliver, role::creator, relation::member));
  EXPECT_FALSE(allowed(action::contract_deliver, role::brand, relation::member));
  EXPECT_FALSE(allowed(action::contract_fund, role::moderator, relation::stranger));
}

TEST(PolicyTest, ConversationsAndOffers) {
  EXPECT_TRUE(allowed(action::message_send, role::brand, relation::member));
  EXPECT_TRUE(allowed(action::message_send, role::moderator, relation::moderator));
  EXPECT_EQ(decide(action::message_send, role::admin, relation::stranger)->message,
            "not a member of this conversation");
  EXPECT_TRUE(allowed(action::message_edit, role::creator, relation::owner));
  EXPECT_EQ(decide(action::message_edit, role::creator, relation::counterparty)->message,
            "only its author may change a message");
  EXPECT_TRUE(allowed(action::offer_accept, role::creator, relation::counterparty));
  EXPECT_FALSE(allowed(action::offer_accept, role::creator, relation::owner));
  EXPECT_TRUE(allowed(action::offer_withdraw, role::brand, relation::owner));
  EXPECT_FALSE(allowed(action::offer_withdraw, role::brand, relation::counterparty));
  EXPECT_FALSE(allowed(action::offer_make, role::moderator, relation::moderator));
  EXPECT_TRUE(allowed(action::conversation_join, role::moderator, relation::stranger));
  EXPECT_EQ(decide(action::conversation_join, role::brand, relation::stranger)->message,
            "not a member of this conversation");
  EXPECT_EQ(decide(action::conversation_join, role::brand, relation::member)->message,
            "only moderators join conversations");
  EXPECT_TRUE(allowed(action::conversation_open, role::brand, relation::none));
  EXPECT_FALSE(allowed(action::conversation_open, role::creator, relation::none));
}

TEST(PolicyTest, AnotherUsersLoginIsNotFound) {
  EXPECT_TRUE(allowed(action::session_revoke, role::creator, relation::owner));
  auto no = decide(action::session_revoke, role::creator, relation::stranger);
  ASSERT_TRUE(no);
  EXPECT_EQ(no->status, 404);
  EXPECT_EQ(no->code, error_code::not_found);
}

TEST(PolicyTest, RolesParse) {
  EXPECT_EQ(parse_role("admin"), role::admin);
  EXPECT_EQ(parse_role("moderator"), role::moderator);
  EXPECT_EQ(parse_role("brand"), role::brand);
  EXPECT_EQ(parse_role("creator"), role::creator);
  EXPECT_EQ(parse_role(""), role::anonymous);
  EXPECT_EQ(parse_role("Admin"), role::anonymous);
}

// docs/security.md shows the matrix between two markers; it must be exactly the generated table.
TEST(PolicyTest, SecurityDocShowsTheCodeTable) {
  auto doc = read_file(std::string{PACTUM_TEST_DATA_DIR} + "/../../docs/security.md");
  ASSERT_FALSE(doc.empty());
  const std::string begin = "<!-- policy-matrix:begin (generated from actors/src/policy.cpp) -->\n";
  const std::string end = "<!-- policy-matrix:end -->";
  auto b = doc.find(begin);
  auto e = doc.find(end);
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(e, std::string::npos);
  auto shown = doc.substr(b + begin.size(), e - b - begin.size());
  EXPECT_EQ(shown, matrix_markdown()) << "regenerate the table in docs/security.md:\n"
                                      << matrix_markdown();
}

TEST(PolicyTest, ProfilesRoleChangesAndPrivacy) {
  EXPECT_TRUE(allowed(action::creator_profile_put, role::creator, relation::owner));
  EXPECT_EQ(decide(action::creator_profile_put, role::brand, relation::owner)->message,
            "only creators have a creator profile");
  EXPECT_EQ(decide(action::brand_profile_get, role::admin, relation::owner)->message,
            "only brands have this profile");
  EXPECT_EQ(decide(action::brand_profile_put, role::anonymous, relation::none)->status, 401);
  for (auto r : {role::brand, role::creator, role::moderator, role::admin}) {
    EXPECT_TRUE(allowed(action::brand_profile_view, r, relation::stranger));
    EXPECT_TRUE(allowed(action::creator_profile_view, r, relation::owner));
    EXPECT_TRUE(allowed(action::user_erase, r, relation::owner));
    EXPECT_TRUE(allowed(action::consents_set, r, relation::owner));
  }
  EXPECT_TRUE(allowed(action::brand_profile_view, role::creator, relation::member));
  EXPECT_EQ(decide(action::role_change, role::moderator, relation::none)->message, "admins only");
  EXPECT_TRUE(allowed(action::role_change, role::admin, relation::none));
  EXPECT_TRUE(allowed(action::login_code_verify, role::anonymous, relation::none));
  EXPECT_EQ(decide(action::user_export, role::anonymous, relation::none)->status, 401);
}

TEST(PolicyTest, PrivateProfileFieldsAreAViewRule) {
  EXPECT_TRUE(sees_private_fields(role::brand, relation::owner));
  EXPECT_TRUE(sees_private_fields(role::creator, relation::member));
  EXPECT_FALSE(sees_private_fields(role::creator, relation::stranger));
  EXPECT_FALSE(sees_private_fields(role::brand, relation::stranger));
  EXPECT_TRUE(sees_private_fields(role::moderator, relation::stranger));
  EXPECT_TRUE(sees_private_fields(role::admin, relation::stranger));
}
