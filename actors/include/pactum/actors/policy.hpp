#pragma once

// The authorization policy: ONE table saying, for every REST endpoint and WebSocket command
// (`action`), which account `role` may perform it in which `relation` to its target. Pure C++ (no
// CAF, no I/O), so every layer may call it and it is unit-tested alone.
//
// Who computes what: the entity that knows the relation computes it (the conversation actor knows
// membership and authorship, the contract actor its parties, the persistence layer whose login a
// session id is); then it asks `decide` and answers the refusal the table gives. The same table
// generates the matrix in docs/security.md (a unit test compares them) and drives the end-to-end
// matrix test (tests/e2e/authz_matrix_test.cpp), so code, docs and test cannot drift.
//
// Adding an endpoint or command: add an `action` value and ONE row to the table in policy.cpp
// (`all_rules`); the unit test fails until every action has exactly one row, the doc test until
// docs/security.md shows it, and the e2e matrix test until it knows how to perform it.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "pactum/protocol/errors.hpp"

namespace pactum::actors::policy {

/// Every REST endpoint and WebSocket command a client can call.
enum class action : uint8_t {
  // public REST (no credentials)
  health,
  user_register,
  user_login,
  user_refresh,
  payment_webhook,
  // own account (REST)
  user_logout,
  session_list,
  session_revoke,
  session_revoke_all,
  password_change,
  ws_ticket,
  balance_get,
  withdrawal_list,
  withdrawal_create,
  // staff queues (REST)
  guard_queue,
  guard_review,
  dispute_list,
  ledger_check,
  audit_query,
  // contracts (REST and WebSocket)
  contract_get,
  contract_fund,
  contract_deliver,
  contract_approve,
  contract_request_revision,
  contract_dispute,
  contract_resolve,
  contract_cancel,
  // conversations (WebSocket)
  ping,
  conversation_open,
  conversation_list,
  conversation_join,
  subscribe,
  unsubscribe,
  history,
  message_send,
  message_edit,
  message_delete,
  read,
  delivered,
  typing,
  offer_make,
  offer_accept,
  offer_decline,
  offer_withdraw,
  // profiles and accounts (REST)
  creator_profile_put,
  creator_profile_get,
  creator_profile_view,
  brand_profile_put,
  brand_profile_get,
  brand_profile_view,
  role_change,
  login_code_request,
  login_code_verify,
  password_reset,
  // privacy (REST)
  user_export,
  user_erase,
  consents_get,
  consents_set,
  // discovery (REST)
  creator_search,
  // campaigns (REST; docs/api.md, "Campaigns")
  campaign_create,
  campaign_update,
  campaign_status,
  campaign_list,
  campaign_get,
  campaign_updates,
  campaign_mine,
  application_list,
  application_create,
  application_decide,
  application_withdraw,
  invitation_create,
  invitation_list,
  invitation_answer,
  campaign_matches,
  // social platforms (REST)
  social_refresh,
  social_flag_list,
  social_flag_review,
  // matching (REST)
  match_preview,
  // pledge campaigns (REST and WebSocket)
  pledge_create,
  pledge_launch,
  pledge_get,
  pledge_list,
  pledge_back,
  pledge_cancel,
  pledge_backers,
  pledge_subscribe,
  // campaign matching (REST)
  campaign_match_creators,
  // campaign content (REST; docs/api.md, "Campaigns")
  content_submit,
  content_review,
  content_list,
  campaign_subscribe,
  // campaign escrow (REST)
  campaign_fund_escrow,
  // analytics (REST and WebSocket; docs/api.md, "Analytics")
  analytics_performance,
  analytics_invalid_traffic,
  // local promotions (REST and WebSocket; docs/api.md, "Local promotions")
  promotion_create,
  promotion_list,
  promotion_get,
  promotion_status,
  promotion_join,
  promotion_codes,
  promotion_code_image,
  promotion_redeem,
  promotion_repost,
  promotion_leaderboard,
  leaderboard_subscribe,
  // products, affiliate links and tracking (REST; docs/api.md, "Products and affiliate links")
  product_create,
  product_list,
  product_get,
  product_update,
  product_delete,
  product_import,
  link_create,
  link_list,
  link_redirect,
  signing_key_rotate,
  conversion_track,
  tracking_stats,
  // notifications (REST and WebSocket; docs/protocol.md "Notifications")
  notification_list,
  notification_read,
  notification_prefs_get,
  notification_prefs_set,
  // campaign rooms (WebSocket; docs/protocol.md "Campaign rooms")
  campaign_room,
  count, ///< not an action: how many there are (new actions go above this line)
};

/// The account roles, plus `anonymous` for a request without valid credentials.
enum class role : uint8_t { anonymous, brand, creator, moderator, admin };
inline constexpr size_t role_count = 5;

/// How the caller stands to the target of the action.
enum class relation : uint8_t {
  none,         ///< the action has no target (lists, queues, sign-up, opening a conversation)
  owner,        ///< the target is the caller's own: their account, login, message or offer
  member,       ///< a member of the conversation / a party to the contract (the whole entity)
  counterparty, ///< a member acting on the other member's message or offer
  moderator,    ///< a moderator who joined the conversation (its deal is disputed)
  stranger,     ///< none of these: someone else's login, a conversation or contract not theirs,
                ///< or one that does not exist (answered alike)
};
inline constexpr size_t relation_count = 6;

/// One cell of the matrix.
enum class cell : uint8_t {
  allow,
  deny,
  na, ///< cannot occur (e.g. a moderator as a conversation member, a public endpoint's roles)
};

/// What a refused caller gets: HTTP status, stable code and message (the same over WebSocket,
/// without the status).
struct refusal {
  int status = 403;
  protocol::error_code code = protocol::error_code::forbidden;
  std::string_view message;
};

/// One row of the table.
struct rule {
  action what;
  std::string_view name;     ///< stable name, used in docs, audit and tests ("contract.fund")
  std::string_view endpoint; ///< "POST /api/v1/..." and/or "ws contract.fund"
  /// Per relation (in `relation` order), one character per role (in `role` order):
  /// 'Y' allowed, 'n' refused, '.' cannot occur.
  std::string_view cells[relation_count];
  refusal denied;         ///< the refusal of an 'n' cell other than `stranger`
  refusal denied_stranger; ///< the refusal of an 'n' cell with relation `stranger`
};

/// The whole table, in `action` order (one row per action).
std::span<const rule> rules() noexcept;

/// The row of `a`.
const rule& rule_of(action a) noexcept;

/// The table's cell.
cell at(action a, role r, relation rel) noexcept;

/// True when the table allows it ('n' and '.' are both refused).
bool allowed(action a, role r, relation rel) noexcept;

/// nullopt when allowed; otherwise the refusal to answer (401 for anonymous callers).
std::optional<refusal> decide(action a, role r, relation rel) noexcept;

/// A view rule, not an allow/deny (docs/security.md, notes under the matrix): whether `r`, in
/// relation `rel` to a profile's owner, sees its private fields (a brand's contact, a creator's
/// exact coordinates). The owner, moderators and admins do, and a `member`: a creator who shares
/// a contract with the brand. Everyone else allowed to view the profile sees the public part.
bool sees_private_fields(role r, relation rel) noexcept;

/// The role named "brand", "creator", "moderator" or "admin"; anything else is `anonymous`.
role parse_role(std::string_view name) noexcept;

std::string_view to_string(role r) noexcept;
std::string_view to_string(relation r) noexcept;
std::string_view to_string(action a) noexcept;

/// The matrix as the markdown table docs/security.md shows (generated from `rules()`).
std::string matrix_markdown();

} // namespace pactum::actors::policy
