// The authorization table (see policy.hpp). Pure data plus lookups; no CAF, no I/O.

#include "pactum/actors/policy.hpp"

#include <array>

namespace pactum::actors::policy {

namespace {

using protocol::error_code;

// Refusals. Strangers to a conversation or contract get the same answer whether it exists or
// not (the actors' `absent` behaviours answer these too), so a stranger learns nothing.
constexpr refusal unauthenticated{401, error_code::unauthorized, "missing or invalid token"};
constexpr refusal moderators_only{403, error_code::forbidden, "moderators only"};
constexpr refusal admins_only{403, error_code::forbidden, "admins only"};
constexpr refusal no_session{404, error_code::not_found, "no such session"};
constexpr refusal not_member{403, error_code::forbidden, "not a member of this conversation"};
constexpr refusal not_party{403, error_code::forbidden, "no such contract, or not a party to it"};
constexpr refusal no_pledge{404, error_code::not_found, "no such pledge campaign"};
constexpr refusal none{};
constexpr refusal no_campaign{404, error_code::not_found, "no such campaign"};
constexpr refusal no_promotion{404, error_code::not_found, "no such promotion"};
constexpr refusal no_code{404, error_code::not_found, "no such code"};
constexpr refusal invalid_code{422, error_code::invalid_code, "this code is not valid"};
constexpr refusal brands_only{403, error_code::forbidden, "brands only"};

// Relation columns: none, owner, member, counterparty, moderator, stranger.
// Role characters in each: anonymous, brand, creator, moderator, admin.
#define PUBLIC {"Y....", ".....", ".....", ".....", ".....", "....."}
#define OWN {"n....", ".YYYY", ".....", ".....", ".....", "....."}
#define STAFF(r) {r, ".....", ".....", ".....", ".....", "....."}
#define CONVERSATION_WIDE {".....", ".....", ".YY..", ".....", "...YY", ".nnnn"}

// clang-format off
constexpr std::array<rule, static_cast<size_t>(action::count)> table{{
  {action::health, "health", "GET /healthz", PUBLIC, none, none},
  {action::user_register, "user.register", "POST /api/v1/users/register", PUBLIC, none, none},
  {action::user_login, "user.login", "POST /api/v1/users/login", PUBLIC, none, none},
  {action::user_refresh, "user.refresh", "POST /api/v1/users/refresh", PUBLIC, none, none},
  {action::payment_webhook, "payment.webhook", "POST /api/v1/webhooks/payments (signed)", PUBLIC, none, none},
  {action::user_logout, "user.logout", "POST /api/v1/users/logout", OWN, none, none},
  {action::session_list, "session.list", "GET /api/v1/users/me/sessions", OWN, none, none},
  {action::session_revoke, "session.revoke", "DELETE /api/v1/users/me/sessions/{id}",
   {"n....", ".YYYY", ".....", ".....", ".....", ".nnnn"}, none, no_session},
  {action::session_revoke_all, "session.revoke_all", "DELETE /api/v1/users/me/sessions", OWN, none, none},
  {action::password_change, "password.change", "PUT /api/v1/users/me/password", OWN, none, none},
  {action::ws_ticket, "ws.ticket", "POST /api/v1/ws-ticket", OWN, none, none},
  {action::balance_get, "balance.get", "GET /api/v1/users/me/balance", OWN, none, none},
  {action::withdrawal_list, "withdrawal.list", "GET /api/v1/users/me/withdrawals", OWN, none, none},
  {action::withdrawal_create, "withdrawal.create", "POST /api/v1/users/me/withdrawals", OWN, none, none},
  {action::guard_queue, "guard.queue", "GET /api/v1/moderation/guard-hits", STAFF("nnnYY"), moderators_only, none},
  {action::guard_review, "guard.review", "POST /api/v1/moderation/guard-hits/{id}/review", STAFF("nnnYY"), moderators_only, none},
  {action::dispute_list, "dispute.list", "GET /api/v1/moderation/disputes", STAFF("nnnYY"), moderators_only, none},
  {action::ledger_check, "ledger.check", "GET /api/v1/admin/ledger-check", STAFF("nnnnY"), admins_only, none},
  {action::audit_query, "audit.query", "GET /api/v1/admin/audit", STAFF("nnnnY"), admins_only, none},
  {action::contract_get, "contract.get", "GET /api/v1/contracts/{id}; ws contract.get",
   {"n....", ".....", ".YY..", ".....", ".....", ".nnYY"}, none, not_party},
  {action::contract_fund, "contract.fund", "POST /api/v1/contracts/{id}/fund; ws contract.fund",
   {"n....", ".....", ".Yn..", ".....", ".....", ".nnnn"},
   {403, error_code::forbidden, "only the brand funds the escrow"}, not_party},
  {action::contract_deliver, "contract.deliver", "POST /api/v1/contracts/{id}/deliver; ws contract.deliver",
   {"n....", ".....", ".nY..", ".....", ".....", ".nnnn"},
   {403, error_code::forbidden, "only the creator delivers"}, not_party},
  {action::contract_approve, "contract.approve", "POST /api/v1/contracts/{id}/approve; ws contract.approve",
   {"n....", ".....", ".Yn..", ".....", ".....", ".nnnn"},
   {403, error_code::forbidden, "only the brand approves a delivery"}, not_party},
  {action::contract_request_revision, "contract.request_revision",
   "POST /api/v1/contracts/{id}/request-revision; ws contract.request_revision",
   {"n....", ".....", ".Yn..", ".....", ".....", ".nnnn"},
   {403, error_code::forbidden, "only the brand asks for a revision"}, not_party},
  {action::contract_dispute, "contract.dispute", "POST /api/v1/contracts/{id}/dispute; ws contract.dispute",
   {"n....", ".....", ".YY..", ".....", ".....", ".nnnn"}, none, not_party},
  {action::contract_resolve, "contract.resolve", "POST /api/v1/contracts/{id}/resolve; ws contract.resolve",
   {"n....", ".....", ".nn..", ".....", ".....", ".nnYY"},
   {403, error_code::forbidden, "only a moderator resolves a dispute"}, not_party},
  {action::contract_cancel, "contract.cancel", "POST /api/v1/contracts/{id}/cancel; ws contract.cancel",
   {"n....", ".....", ".YY..", ".....", ".....", ".nnnn"}, none, not_party},
  {action::ping, "ping", "ws ping", STAFF(".YYYY"), none, none},
  {action::conversation_open, "conversation.open", "ws conversation.open", STAFF(".Ynnn"),
   {403, error_code::forbidden, "only brands open conversations with creators"}, none},
  {action::conversation_list, "conversation.list", "ws conversation.list", STAFF(".YYYY"), none, none},
  {action::conversation_join, "conversation.join", "ws conversation.join",
   {".....", ".....", ".nn..", ".....", "...YY", ".nnYY"},
   {403, error_code::forbidden, "only moderators join conversations"}, not_member},
  {action::subscribe, "subscribe", "ws subscribe", CONVERSATION_WIDE, none, not_member},
  {action::unsubscribe, "unsubscribe", "ws unsubscribe", STAFF(".YYYY"), none, none},
  {action::history, "history", "ws history", CONVERSATION_WIDE, none, not_member},
  {action::message_send, "message.send", "ws message.send", CONVERSATION_WIDE, none, not_member},
  {action::message_edit, "message.edit", "ws message.edit",
   {".....", ".YYYY", ".....", ".nnnn", ".....", ".nnnn"},
   {403, error_code::forbidden, "only its author may change a message"}, not_member},
  {action::message_delete, "message.delete", "ws message.delete",
   {".....", ".YYYY", ".....", ".nnnn", ".....", ".nnnn"},
   {403, error_code::forbidden, "only its author may change a message"}, not_member},
  {action::read, "read", "ws read", CONVERSATION_WIDE, none, not_member},
  {action::delivered, "delivered", "ws delivered", CONVERSATION_WIDE, none, not_member},
  {action::typing, "typing", "ws typing", CONVERSATION_WIDE, none, not_member},
  {action::offer_make, "offer.make", "ws offer.make",
   {".....", ".....", ".YY..", ".....", "...nn", ".nnnn"},
   {403, error_code::forbidden, "only members make offers"}, not_member},
  {action::offer_accept, "offer.accept", "ws offer.answer (accept)",
   {".....", ".nn..", ".....", ".YY..", "...nn", ".nnnn"},
   {403, error_code::forbidden, "only the other member may accept or decline an offer"}, not_member},
  {action::offer_decline, "offer.decline", "ws offer.answer (decline)",
   {".....", ".nn..", ".....", ".YY..", "...nn", ".nnnn"},
   {403, error_code::forbidden, "only the other member may accept or decline an offer"}, not_member},
  {action::offer_withdraw, "offer.withdraw", "ws offer.answer (withdraw)",
   {".....", ".YY..", ".....", ".nn..", "...nn", ".nnnn"},
   {403, error_code::forbidden, "only its author may withdraw an offer"}, not_member},
  // Profiles: each kind is written and read (own) by its role only; anyone authenticated views
  // anyone's public profile (which fields they see is the view rule `sees_private_fields`).
  {action::creator_profile_put, "creator_profile.put", "PUT /api/v1/influencers/profile",
   {"n....", ".nYnn", ".....", ".....", ".....", "....."},
   {403, error_code::forbidden, "only creators have a creator profile"}, none},
  {action::creator_profile_get, "creator_profile.get", "GET /api/v1/influencers/profile",
   {"n....", ".nYnn", ".....", ".....", ".....", "....."},
   {403, error_code::forbidden, "only creators have this profile"}, none},
  {action::creator_profile_view, "creator_profile.view", "GET /api/v1/influencers/{id}",
   {"n....", ".YYYY", ".....", ".....", ".....", ".YYYY"}, none, none},
  {action::brand_profile_put, "brand_profile.put", "PUT /api/v1/brands/profile",
   {"n....", ".Ynnn", ".....", ".....", ".....", "....."},
   {403, error_code::forbidden, "only brands have a brand profile"}, none},
  {action::brand_profile_get, "brand_profile.get", "GET /api/v1/brands/profile",
   {"n....", ".Ynnn", ".....", ".....", ".....", "....."},
   {403, error_code::forbidden, "only brands have this profile"}, none},
  {action::brand_profile_view, "brand_profile.view", "GET /api/v1/brands/{id}",
   {"n....", ".YYYY", "..Y..", ".....", ".....", ".YYYY"}, none, none},
  {action::role_change, "role.change", "PUT /api/v1/admin/users/{id}/role", STAFF("nnnnY"), admins_only, none},
  {action::login_code_request, "login_code.request", "POST /api/v1/users/login/code", PUBLIC, none, none},
  {action::login_code_verify, "login_code.verify", "POST /api/v1/users/login/code/verify", PUBLIC, none, none},
  {action::password_reset, "password.reset", "POST /api/v1/users/password/reset", PUBLIC, none, none},
  // Privacy: only ever the caller's own account.
  {action::user_export, "user.export", "GET /api/v1/users/me/export", OWN, none, none},
  {action::user_erase, "user.erase", "DELETE /api/v1/users/me", OWN, none, none},
  {action::consents_get, "consents.get", "GET /api/v1/users/me/consents", OWN, none, none},
  {action::consents_set, "consents.set", "PUT /api/v1/users/me/consents", OWN, none, none},
  // Discovery: brands find creators; staff too. Creators may not list their peers in bulk
  // (each public profile stays readable by id).
  {action::creator_search, "creator.search", "GET /api/v1/search/influencers", STAFF("nYnYY"),
   {403, error_code::forbidden, "creator search is for brands, moderators and admins"}, none},
  // Campaigns: the brand owns its campaign (owner); a creator who applied or was invited is its
  // member for their own application or invitation; everyone else is a stranger and gets what a
  // missing campaign gets. Which campaigns a read shows (drafts only to their brand and staff) is
  // the campaign actor's rule (docs/api.md, "Campaigns").
  {action::campaign_create, "campaign.create", "POST /api/v1/brands/campaigns",
   {"n....", ".Ynnn", ".....", ".....", ".....", "....."},
   {403, error_code::forbidden, "only brands create campaigns"}, none},
  {action::campaign_update, "campaign.update", "PUT /api/v1/brands/campaigns/{id}",
   {"n....", ".Y...", ".....", ".....", ".....", ".nnnn"}, none, no_campaign},
  {action::campaign_status, "campaign.status", "POST /api/v1/brands/campaigns/{id}/status",
   {"n....", ".Y...", ".....", ".....", ".....", ".nnnn"}, none, no_campaign},
  {action::campaign_list, "campaign.list", "GET /api/v1/campaigns",
   {"n....", ".YYYY", ".....", ".....", ".....", "....."}, none, none},
  {action::campaign_get, "campaign.get", "GET /api/v1/campaigns/{id}",
   {"n....", ".Y...", ".....", ".....", ".....", ".YYYY"}, none, no_campaign},
  {action::campaign_updates, "campaign.updates", "GET /api/v1/campaigns/{id}/updates",
   {"n....", ".Y...", ".....", ".....", ".....", ".YYYY"}, none, no_campaign},
  {action::campaign_mine, "campaign.mine", "GET /api/v1/brands/campaigns",
   {"n....", ".Ynnn", ".....", ".....", ".....", "....."},
   {403, error_code::forbidden, "only brands have campaigns"}, none},
  {action::application_list, "application.list", "GET /api/v1/brands/campaigns/{id}/applications",
   {"n....", ".Y...", ".....", ".....", ".....", ".nnYY"}, none, no_campaign},
  {action::application_create, "application.create", "POST /api/v1/influencers/campaigns/{id}/apply",
   {"n....", ".nYnn", ".....", ".....", ".....", "....."},
   {403, error_code::forbidden, "only creators apply to campaigns"}, none},
  {action::application_decide, "application.decide", "PUT /api/v1/brands/campaigns/{id}/applications/{appId}",
   {"n....", ".Y...", ".....", ".....", ".....", ".nnnn"}, none, no_campaign},
  {action::application_withdraw, "application.withdraw",
   "POST /api/v1/influencers/campaigns/{id}/applications/{appId}/withdraw",
   {"n....", "..Y..", ".....", ".....", ".....", ".nnnn"}, none,
   {404, error_code::not_found, "no such application"}},
  {action::invitation_create, "invitation.create", "POST /api/v1/brands/campaigns/{id}/invitations",
   {"n....", ".Y...", ".....", ".....", ".....", ".nnnn"}, none, no_campaign},
  {action::invitation_list, "invitation.list", "GET /api/v1/influencers/invitations",
   {"n....", ".nYnn", ".....", ".....", ".....", "....."},
   {403, error_code::forbidden, "only creators are invited"}, none},
  {action::invitation_answer, "invitation.answer", "PUT /api/v1/influencers/campaigns/{id}/invitations/{invId}",
   {"n....", "..Y..", ".....", ".....", ".....", ".nnnn"}, none,
   {404, error_code::not_found, "no such invitation"}},
  {action::campaign_matches, "campaign.matches", "GET /api/v1/influencers/campaigns",
   {"n....", ".nYnn", ".....", ".....", ".....", "....."},
   {403, error_code::forbidden, "only creators have matching campaigns"}, none},
  // Social platforms: creators refresh their own statistics; moderators review the flags.
  {action::social_refresh, "social.refresh", "POST /api/v1/influencers/profile/social/refresh",
   {"n....", ".nYnn", ".....", ".....", ".....", "....."},
   {403, error_code::forbidden, "only creators refresh their social statistics"}, none},
  {action::social_flag_list, "social_flag.list", "GET /api/v1/moderation/social-flags", STAFF("nnnYY"), moderators_only, none},
  {action::social_flag_review, "social_flag.review", "PUT /api/v1/moderation/social-flags/{id}", STAFF("nnnYY"), moderators_only, none},
  // Matching: a brand previews the creators a campaign it is drafting would match.
  {action::match_preview, "match.preview", "POST /api/v1/brands/matches", STAFF("nYnnn"),
   {403, error_code::forbidden, "only brands preview matches"}, none},
  {action::pledge_create, "pledge.create", "POST /api/v1/pledges",
   {"nnYnn", ".....", ".....", ".....", ".....", "....."},
   {403, error_code::forbidden, "only creators run pledge campaigns"}, none},
  {action::pledge_launch, "pledge.launch", "POST /api/v1/pledges/{id}/launch",
   {"n....", "..Y..", ".....", ".....", ".....", ".nnnn"}, none, no_pledge},
  {action::pledge_get, "pledge.get", "GET /api/v1/pledges/{id}",
   {"n....", "..Y..", ".YY..", ".....", ".....", ".YYYY"}, none, none},
  {action::pledge_list, "pledge.list", "GET /api/v1/pledges",
   {"nYYYY", ".....", ".....", ".....", ".....", "....."}, none, none},
  {action::pledge_back, "pledge.back", "POST /api/v1/pledges/{id}/pledge",
   {"n....", "..n..", ".YY..", ".....", ".....", ".YYnn"},
   {403, error_code::forbidden, "creators cannot back their own campaign"},
   {403, error_code::forbidden, "only brands and creators back campaigns"}},
  {action::pledge_cancel, "pledge.cancel", "DELETE /api/v1/pledges/{id}/pledge",
   {"n....", "..n..", ".YY..", ".....", ".....", ".nnnn"},
   {403, error_code::forbidden, "creators do not back their own campaign"},
   {404, error_code::not_found, "you have no live pledge on this campaign"}},
  {action::pledge_backers, "pledge.backers", "GET /api/v1/pledges/{id}/backers",
   {"n....", "..Y..", ".nn..", ".....", ".....", ".nnnn"},
   {403, error_code::forbidden, "only the campaign's creator sees its backers"}, no_pledge},
  {action::pledge_subscribe, "pledge.subscribe", "ws pledge.subscribe",
   {".....", "..Y..", ".YY..", ".....", ".....", ".YYYY"}, none, none},
  // Campaign matching: the creators that fit a stored campaign, for its brand and staff; anyone
  // else gets what a missing campaign gets.
  {action::campaign_match_creators, "campaign.match_creators", "GET /api/v1/brands/campaigns/{id}/matches",
   {"n....", ".Y...", ".....", ".....", ".....", ".nnYY"}, none, no_campaign},
  // Campaign content: the campaign's brand is its owner, a creator with a funded contract in the
  // campaign a member; moderators review as strangers; any other stranger gets not_found.
  {action::content_submit, "content.submit", "POST /api/v1/campaigns/{id}/content",
   {"n....", ".n...", "..Y..", ".....", ".....", ".nnnn"},
   {403, error_code::forbidden, "only the contract's creator submits its content"}, no_campaign},
  {action::content_review, "content.review", "PUT /api/v1/campaigns/{id}/content/{contentId}/status",
   {"n....", ".Y...", "..n..", ".....", ".....", ".nnYY"},
   {403, error_code::forbidden, "only the campaign's brand or a moderator reviews content"}, no_campaign},
  {action::content_list, "content.list", "GET /api/v1/campaigns/{id}/content",
   {"n....", ".Y...", "..Y..", ".....", ".....", ".nnYY"}, none, no_campaign},
  // Who may watch a campaign live: whoever may read its /updates feed (drafts only its brand and
  // staff: the campaign actor's visibility rule); each sees only the events the feed shows them.
  {action::campaign_subscribe, "campaign.subscribe", "ws campaign.subscribe",
   {".....", ".Y...", ".....", ".....", ".....", ".YYYY"}, none, no_campaign},
  // Only the campaign's brand funds its accepted contracts (each contract's own rule applies too).
  {action::campaign_fund_escrow, "campaign.fund_escrow", "POST /api/v1/payments/campaigns/{id}/escrow",
   {"n....", ".Y...", ".....", ".....", ".....", ".nnnn"}, none, no_campaign},
  // Analytics: a campaign's figures and invalid traffic, for its brand and staff; anyone else
  // gets what a missing campaign gets.
  {action::analytics_performance, "analytics.performance", "GET /api/v1/analytics/campaigns/{id}/performance, ws analytics.subscribe",
   {"n....", ".Y...", ".....", ".....", ".....", ".nnYY"}, none, no_campaign},
  {action::analytics_invalid_traffic, "analytics.invalid_traffic", "GET /api/v1/analytics/campaigns/{id}/invalid-traffic",
   {"n....", ".Y...", ".....", ".....", ".....", ".nnYY"}, none, no_campaign},
  // Local promotions: the business (brand) owns its promotion; a joined creator is a member
  // (a promoter); a code's owner is its promoter and the business a member of it. A code
  // someone may not redeem gets exactly the answer of a forged one.
  {action::promotion_create, "promotion.create", "POST /api/v1/promotions", STAFF("nYnnn"),
   {403, error_code::forbidden, "only brands create promotions"}, none},
  {action::promotion_list, "promotion.list", "GET /api/v1/promotions", STAFF("nYYYY"), none, none},
  {action::promotion_get, "promotion.get", "GET /api/v1/promotions/{id}", STAFF("nYYYY"), none, none},
  {action::promotion_status, "promotion.status", "POST /api/v1/promotions/{id}/status",
   {"n....", ".Y...", ".....", ".....", ".....", ".nnnn"}, none, no_promotion},
  {action::promotion_join, "promotion.join", "POST /api/v1/promotions/{id}/join", STAFF("nnYnn"),
   {403, error_code::forbidden, "only creators join promotions"}, none},
  {action::promotion_codes, "promotion.codes", "POST /api/v1/promotions/{id}/codes",
   {"n....", ".....", "..Y..", ".....", ".....", ".nnnn"}, none, no_promotion},
  {action::promotion_code_image, "promotion.code_image", "GET /api/v1/promotions/{id}/codes/{nonce}.png|.svg",
   {"n....", "..Y..", ".Y...", ".....", ".....", ".nnnn"}, none, no_code},
  {action::promotion_redeem, "promotion.redeem", "POST /api/v1/promotions/redeem",
   {"n....", ".Y...", ".....", ".....", ".....", ".nnnn"}, none, invalid_code},
  {action::promotion_repost, "promotion.repost", "POST /api/v1/promotions/{id}/reposts",
   {"n....", ".....", "..Y..", ".....", ".....", ".nnnn"}, none, no_promotion},
  {action::promotion_leaderboard, "promotion.leaderboard", "GET /api/v1/promotions/leaderboard",
   STAFF("nYYYY"), none, none},
  {action::leaderboard_subscribe, "leaderboard.subscribe", "ws leaderboard.subscribe", STAFF(".YYYY"), none, none},
  // Products: each brand manages its own catalog (another brand's product answers not_found,
  // like a missing one: the store scopes every query by brand).
  {action::product_create, "product.create", "POST /api/v1/brands/products", STAFF("nYnnn"), brands_only, none},
  {action::product_list, "product.list", "GET /api/v1/brands/products", STAFF("nYnnn"), brands_only, none},
  {action::product_get, "product.get", "GET /api/v1/brands/products/{id}", STAFF("nYnnn"), brands_only, none},
  {action::product_update, "product.update", "PUT /api/v1/brands/products/{id}", STAFF("nYnnn"), brands_only, none},
  {action::product_delete, "product.delete", "DELETE /api/v1/brands/products/{id}", STAFF("nYnnn"), brands_only, none},
  {action::product_import, "product.import", "POST /api/v1/brands/products/import", STAFF("nYnnn"), brands_only, none},
  // Affiliate links: the campaign's brand is its owner, a creator with an approved application,
  // accepted invitation or conversation in it a member; anyone else gets the missing campaign.
  {action::link_create, "link.create", "POST /api/v1/campaigns/{id}/links",
   {"n....", ".Y...", "..Y..", ".....", ".....", ".nnnn"}, none, no_campaign},
  {action::link_list, "link.list", "GET /api/v1/campaigns/{id}/links",
   {"n....", ".Y...", "..Y..", ".....", ".....", ".nnYY"}, none, no_campaign},
  {action::link_redirect, "link.redirect", "GET /r/{code}", PUBLIC, none, none},
  {action::signing_key_rotate, "signing_key.rotate", "POST /api/v1/brands/signing-key", STAFF("nYnnn"), brands_only, none},
  {action::conversion_track, "conversion.track", "POST /api/v1/track/conversion (signed by the brand)", PUBLIC, none, none},
  {action::tracking_stats, "tracking.stats", "GET /api/v1/admin/tracking-stats", STAFF("nnnnY"), admins_only, none},
  // Notifications (docs/protocol.md "Notifications"): each user reads and manages only their own.
  {action::notification_list, "notification.list",
   "GET /api/v1/notifications, /unread-count; ws notifications.list", OWN, none, none},
  {action::notification_read, "notification.read", "PUT /api/v1/notifications/read; ws notifications.read",
   OWN, none, none},
  {action::notification_prefs_get, "notification.prefs_get",
   "GET /api/v1/notifications/preferences; ws notifications.prefs.get", OWN, none, none},
  {action::notification_prefs_set, "notification.prefs_set",
   "PUT /api/v1/notifications/preferences; ws notifications.prefs.set", OWN, none, none},
  // A campaign's room: its brand (owner) opens and enters it, a creator with an approved
  // application or accepted invitation (member) enters it; anyone else gets what a missing
  // campaign gets. In the room itself the conversation rows apply (creators are members).
  {action::campaign_room, "campaign.room", "ws campaign.room",
   {".....", ".Y...", "..Y..", ".....", ".....", ".nnnn"}, none, no_campaign},
}};
// clang-format on

#undef PUBLIC
#undef OWN
#undef STAFF
#undef CONVERSATION_WIDE

constexpr bool well_formed() {
  for (size_t i = 0; i < table.size(); ++i) {
    if (static_cast<size_t>(table[i].what) != i)
      return false;
    for (auto& c : table[i].cells) {
      if (c.size() != role_count)
        return false;
      for (char ch : c)
        if (ch != 'Y' && ch != 'n' && ch != '.')
          return false;
    }
  }
  return true;
}
// A missing row leaves a value-initialised one at the end, whose `what` (0) is out of order.
static_assert(well_formed(), "policy table: one row per action, in action order, 5 cells of Y/n/.");

constexpr std::array<std::string_view, role_count> role_names{"anonymous", "brand", "creator",
                                                              "moderator", "admin"};
constexpr std::array<std::string_view, relation_count> relation_names{
  "none", "owner", "member", "counterparty", "moderator", "stranger"};

} // namespace

std::span<const rule> rules() noexcept {
  return {table.data(), table.size()};
}

const rule& rule_of(action a) noexcept {
  return table[static_cast<size_t>(a)];
}

cell at(action a, role r, relation rel) noexcept {
  switch (rule_of(a).cells[static_cast<size_t>(rel)][static_cast<size_t>(r)]) {
    case 'Y':
      return cell::allow;
    case 'n':
      return cell::deny;
    default:
      return cell::na;
  }
}

bool allowed(action a, role r, relation rel) noexcept {
  return at(a, r, rel) == cell::allow;
}

std::optional<refusal> decide(action a, role r, relation rel) noexcept {
  if (allowed(a, r, rel))
    return std::nullopt;
  if (r == role::anonymous)
    return unauthenticated;
  auto& row = rule_of(a);
  if (rel == relation::stranger && row.denied_stranger.message.size() > 0)
    return row.denied_stranger;
  if (row.denied.message.size() > 0)
    return row.denied;
  return refusal{403, error_code::forbidden, "forbidden"};
}

bool sees_private_fields(role r, relation rel) noexcept {
  return rel == relation::owner || rel == relation::member || r == role::moderator || r == role::admin;
}

role parse_role(std::string_view name) noexcept {
  for (size_t i = 1; i < role_names.size(); ++i)
    if (role_names[i] == name)
      return static_cast<role>(i);
  return role::anonymous;
}

std::string_view to_string(role r) noexcept {
  return role_names[static_cast<size_t>(r)];
}

std::string_view to_string(relation r) noexcept {
  return relation_names[static_cast<size_t>(r)];
}

std::string_view to_string(action a) noexcept {
  return rule_of(a).name;
}

std::string matrix_markdown() {
  std::string out = "| action | endpoint |";
  for (auto name : relation_names)
    out += " " + std::string{name} + " |";
  out += " refused with |\n|---|---|";
  for (size_t i = 0; i < relation_count; ++i)
    out += "---|";
  out += "---|\n";
  auto refusal_text = [](const refusal& r) {
    return std::to_string(r.status) + " " + std::string{protocol::to_string(r.code)} + " \""
           + std::string{r.message} + "\"";
  };
  for (auto& row : table) {
    out += "| `" + std::string{row.name} + "` | " + std::string{row.endpoint} + " |";
    for (auto& c : row.cells)
      out += " `" + std::string{c} + "` |";
    std::string refused;
    if (row.denied.message.size() > 0)
      refused = refusal_text(row.denied);
    if (row.denied_stranger.message.size() > 0)
      refused += (refused.empty() ? "" : "; ") + std::string{"stranger: "}
                 + refusal_text(row.denied_stranger);
    out += " " + (refused.empty() ? std::string{"—"} : refused) + " |\n";
  }
  return out;
}

} // namespace pactum::actors::policy
