#pragma once

// Every CAF message type and atom of the project, in one place.
//
// All custom types here are process-local: they carry shared pointers to encoded frames, request
// structs handed over by the gateway, or persistence results delivered by its threads. They are
// allowed as unsafe message types (never serialized). Making entity commands serializable with a
// CAF `inspect` is a prerequisite of the multi-node design (shared/design.md, "Beyond one
// machine") and belongs with that work.

#include <caf/all.hpp>

#include "pactum/actors/campaign_machine.hpp"
#include "pactum/actors/contract_machine.hpp"
#include "pactum/actors/conversation_machine.hpp"
#include "pactum/actors/pledge_machine.hpp"
#include "pactum/actors/runtime.hpp"
#include "pactum/actors/wallet_machine.hpp"
#include "pactum/common/uuid.hpp"
#include "pactum/persistence/database.hpp"
#include "pactum/protocol/messages.hpp"

namespace pactum::actors {

/// The kinds of entity the directory activates.
enum class entity_kind : uint8_t { conversation, contract, wallet, campaign, pledge };

/// The entity kind stored with a journal (`entity_type`), or nullopt for an unknown one.
inline std::optional<entity_kind> entity_kind_from_type(std::string_view type) {
  if (type == "conversation")
    return entity_kind::conversation;
  if (type == "contract")
    return entity_kind::contract;
  if (type == "wallet")
    return entity_kind::wallet;
  if (type == "campaign")
    return entity_kind::campaign;
  if (type == "pledge")
    return entity_kind::pledge;
  return std::nullopt;
}

/// A decoded client request and the encoding its reply must use.
struct client_command {
  protocol::request req;
  protocol::encoding enc;
  /// When the gateway handed the decoded request over (pactum_ws_command_seconds starts here).
  std::chrono::steady_clock::time_point received = std::chrono::steady_clock::now();
};

/// A member's journaled command to a conversation, stamped with who sends it.
struct post_command {
  std::variant<conversation::post_message, conversation::edit_message,
               conversation::delete_message, conversation::mark_read, conversation::make_offer,
               conversation::answer_offer, conversation::expire_offer,
               conversation::note_dispute, conversation::join, conversation::enter_room>
    cmd;
  /// The sender's account role for the authorization policy; empty for the system's own commands
  /// (offer expiry, dispute notes), which the policy does not judge.
  std::string role = {};
};

/// A command to a contract: from a party or moderator (stamped by the session or REST layer),
/// from the provider (webhook outcomes), or from the contract's own timer.
struct contract_command {
  std::variant<contract::fund, contract::payment_result, contract::deliver, contract::approve,
               contract::request_revision, contract::dispute, contract::resolve, contract::cancel,
               contract::timer_fired, contract::confirm_call, contract::capture_result,
               contract::authorization_lapsed, contract::bill, contract::bill_due>
    cmd;
  /// The sender's account role for the authorization policy; empty for the system's own commands
  /// (provider outcomes, timers), which the policy does not judge.
  std::string role = {};
  /// A `bill` answering a performance contract's count at its end: false while something of the
  /// contract's from before the end was left for a later count (a click still awaiting its
  /// verdict), so the end waits and counts again.
  bool complete = true;
};

/// A command to a user's wallet: the owner's withdrawal (the actor adds what the ledger allows)
/// or the provider's payout outcome.
struct wallet_command {
  std::variant<wallet::withdraw, wallet::payout_result> cmd;
};

/// The facts a withdrawal is decided on, read from the database off the actor.
struct wallet_facts_loaded {
  uint64_t ticket = 0;
  persistence::result<persistence::wallet_facts> facts;
};

/// Read a contract: its view and its events after `after`.
struct contract_query {
  uuid user;
  std::string role;
  int64_t after = 0;
};

/// A payment provider's answer to call `key` (attempt number `attempt`, from 0).
struct provider_answer {
  std::string key;
  int attempt = 0;
  bool ok = false;
  bool retryable = false;
  std::string code;
  std::string message;
};

struct history_query {
  protocol::history_req req;
  uuid user;
  std::string role = {}; ///< the reader's account role (authorization policy)
};

struct subscribe_query {
  uuid user;
  int64_t after = 0;
  caf::actor subscriber;
  std::string role = {}; ///< the subscriber's account role (authorization policy)
};

/// The answer to a subscribe: the reply plus the gap (events after `after` up to `head`).
struct subscribe_result {
  caf::actor conversation; ///< monitored by the session, to re-subscribe if it ends
  protocol::subscribe_reply reply;
  std::vector<protocol::push_frame_ptr> gap;
  std::vector<uuid> members = {}; ///< for presence: the session watches the other members
};

/// A user's last-seen time loaded from storage, for the registry's presence answers.
struct last_seen_loaded {
  uuid user;
  millis at = 0; ///< 0: never seen (or unknown)
};

struct events_loaded {
  persistence::result<std::vector<persistence::event_record>> events;
};

struct append_done {
  uint64_t batch;
  persistence::result<int64_t> head;
};

/// The brand's country as its profile says now (nullopt: no profile or no country; `failed`: the
/// lookup itself failed), for the funding mode of a contract an acceptance opens.
struct brand_country_loaded {
  std::optional<std::string> country;
  bool failed = false;
  /// The conversation's campaign terms when it is a cpc/cpv campaign (a performance contract).
  std::optional<protocol::performance_terms> performance = std::nullopt;
  std::string performance_currency = {}; ///< that campaign's currency
};

struct history_loaded {
  uint64_t ticket;
  persistence::result<std::vector<persistence::event_record>> events;
};

struct snapshot_loaded {
  persistence::result<std::optional<persistence::snapshot_record>> snapshot;
};

struct gap_loaded {
  uint64_t ticket;
  persistence::result<std::vector<persistence::event_record>> events;
};

/// The outcome of `conversation.open` computed off the actor (database lookups).
struct open_done {
  protocol::request_id id;
  protocol::encoding enc;
  expected<protocol::conversation_open_reply, std::pair<protocol::error_code, std::string>> result;
};

/// A batch of due timers read by the sweeper.
/// The settlement job's candidates (offer.accepted payloads), read on the pool.
struct billing_candidates_loaded {
  persistence::result<std::vector<std::string>> accepted;
};

struct timers_loaded {
  persistence::result<std::vector<persistence::due_timer>> timers;
};

struct list_done {
  protocol::request_id id;
  protocol::encoding enc;
  expected<protocol::conversation_list_reply, std::pair<protocol::error_code, std::string>> result;
};

/// A command to a campaign (actors/src/campaign_actor.cpp): from a principal (REST; `role` set,
/// judged by the policy) or from a contract of the campaign (budget; `role` empty).
struct campaign_command {
  std::variant<campaign::create, campaign::update, campaign::change_status, campaign::apply,
               campaign::decide_application, campaign::invite, campaign::answer_invitation,
               campaign::commit_budget, campaign::settle_budget, campaign::submit_content,
               campaign::review_content>
    cmd;
  std::string role = {};
};

/// A read of a campaign: "view" (the campaign), "applications" (the brand's list), "updates"
/// (the events after `after` that `user` may see, at most `limit`).
struct campaign_query {
  uuid user;
  std::string role;
  std::string what;
  int64_t after = 0;
  size_t limit = 100;
};

/// The events of a campaign's journal loaded for a feed read.
struct feed_loaded {
  uint64_t ticket = 0;
  persistence::result<std::vector<persistence::event_record>> events;
};

/// A conversation opened (or found) for an approval or acceptance.
struct conversation_opened_for {
  uint64_t ticket = 0;
  persistence::result<uuid> conversation;
};

/// A command to a pledge campaign: from its creator or a backer (stamped with the role by the
/// REST or session layer), from the provider (webhook outcomes), its timer, or itself (release).
struct pledge_command {
  std::variant<pledge::create, pledge::launch, pledge::pledge_cmd, pledge::withdraw,
               pledge::authorization_result, pledge::capture_result, pledge::authorization_lapsed,
               pledge::confirm_call, pledge::timer_fired, pledge::release>
    cmd;
  std::string role = {}; ///< empty for the system's own commands
};

/// Read a pledge campaign: its view, or (`backers`) its backers (creator only).
struct pledge_query {
  uuid user;
  std::string role;
  bool backers = false;
};

/// Subscribe `subscriber` (a session actor) to a campaign's live progress; answered with the
/// current view (JSON). The campaign monitors the subscriber.
struct pledge_subscribe {
  uuid user;
  std::string role;
  caf::actor subscriber;
  bool unsubscribe = false;
};

/// Subscribe `subscriber` (a session actor) to a brand campaign's live events (or, `unsubscribe`,
/// stop); answered with the campaign's view (JSON). The campaign monitors the subscriber and
/// pushes it the events `user` may see (the `/updates` visibility rule).
struct campaign_subscribe {
  uuid user;
  std::string role;
  caf::actor subscriber;
  bool unsubscribe = false;
};

/// Subscribe `subscriber` (a session actor) to a campaign's live analytics figures (or,
/// `unsubscribe`, stop); answered by the analytics hub with the current figures (JSON).
struct analytics_subscribe {
  uuid campaign;
  uuid user;
  std::string role;
  caf::actor subscriber;
  bool unsubscribe = false;
};

/// The creator's KYC status read off the actor for a due release.
struct pledge_kyc_loaded {
  uint64_t ticket = 0;
  persistence::result<persistence::wallet_facts> facts;
};

/// A fact for one user's notifier (actors/src/notifications.cpp): stored unless muted or already
/// stored (one row per user and `source`), then pushed to the user's sessions.
struct notification_fact {
  uuid user;
  std::string type;
  std::string source;
  std::string coalesce_key; ///< non-empty: merged into the unread row of this key
  std::string payload;      ///< a JSON object's text
};

/// A session's notifications request answered off the actor.
struct notifications_done {
  protocol::request_id id;
  protocol::encoding enc;
  expected<protocol::notifications_reply, std::pair<protocol::error_code, std::string>> result;
};

} // namespace pactum::actors

CAF_ERROR_CODE_ENUM(pactum::protocol::error_code, "pactum")

CAF_BEGIN_TYPE_ID_BLOCK(pactum, caf::first_custom_type_id)
  CAF_ADD_ATOM(pactum, pactum::actors, post_atom, "post")
  CAF_ADD_ATOM(pactum, pactum::actors, history_atom, "history")
  CAF_ADD_ATOM(pactum, pactum::actors, push_atom, "push")
  CAF_ADD_ATOM(pactum, pactum::actors, command_atom, "command")
  CAF_ADD_ATOM(pactum, pactum::actors, lookup_atom, "lookup")
  CAF_ADD_ATOM(pactum, pactum::actors, notify_atom, "notify")
  CAF_ADD_ATOM(pactum, pactum::actors, expire_atom, "expire")
  CAF_ADD_ATOM(pactum, pactum::actors, resub_atom, "resub")
  CAF_ADD_ATOM(pactum, pactum::actors, passivate_atom, "passivate")
  CAF_ADD_ATOM(pactum, pactum::actors, idle_check_atom, "idlecheck")
  CAF_ADD_ATOM(pactum, pactum::actors, kick_atom, "kick")
  CAF_ADD_ATOM(pactum, pactum::actors, typing_atom, "typing")
  CAF_ADD_ATOM(pactum, pactum::actors, timer_atom, "timer")
  CAF_ADD_ATOM(pactum, pactum::actors, sweep_atom, "sweep")
  CAF_ADD_ATOM(pactum, pactum::actors, watch_atom, "watch")
  CAF_ADD_ATOM(pactum, pactum::actors, delivered_atom, "delivered")
  CAF_ADD_ATOM(pactum, pactum::actors, unwatch_atom, "unwatch")
  CAF_ADD_ATOM(pactum, pactum::actors, contract_atom, "contract")
  CAF_ADD_ATOM(pactum, pactum::actors, retry_call_atom, "retrycall")
  CAF_ADD_ATOM(pactum, pactum::actors, wallet_atom, "wallet")
  CAF_ADD_ATOM(pactum, pactum::actors, forget_atom, "forget")
  CAF_ADD_ATOM(pactum, pactum::actors, campaign_atom, "campaign")
  CAF_ADD_ATOM(pactum, pactum::actors, pledge_atom, "pledge")
  CAF_ADD_ATOM(pactum, pactum::actors, progress_atom, "progress")
  CAF_ADD_ATOM(pactum, pactum::actors, analytics_atom, "analytics")
  CAF_ADD_ATOM(pactum, pactum::actors, achanged_atom, "achanged")
  CAF_ADD_ATOM(pactum, pactum::actors, apush_atom, "apush")
  CAF_ADD_ATOM(pactum, pactum::actors, aloaded_atom, "aloaded")
  CAF_ADD_ATOM(pactum, pactum::actors, afigures_atom, "afigures")
  CAF_ADD_ATOM(pactum, pactum::actors, billing_atom, "billing")
CAF_END_TYPE_ID_BLOCK(pactum)

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::uuid)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::entity_kind)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::protocol::push_frame_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<pactum::protocol::push_frame_ptr>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::protocol::message_ack_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::protocol::history_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::protocol::close_code)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::protocol::typing_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::protocol::delivered_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::client_command)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::post_command)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::history_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::subscribe_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::subscribe_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::events_loaded)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::append_done)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::brand_country_loaded)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::history_loaded)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::gap_loaded)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::snapshot_loaded)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::open_done)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::list_done)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::timers_loaded)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::last_seen_loaded)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::contract_command)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::contract_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::provider_answer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::wallet_command)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::wallet_facts_loaded)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::withdrawal_info)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<pactum::actors::withdrawal_info>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::protocol::contract_ack_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::protocol::contract_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::campaign_command)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::campaign_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::feed_loaded)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::conversation_opened_for)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::pledge_command)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::pledge_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::pledge_subscribe)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::pledge_kyc_loaded)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::campaign_subscribe)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::analytics_subscribe)

namespace pactum::actors {

static_assert(caf::has_type_id<uuid>::value);
static_assert(caf::has_type_id<protocol::push_frame_ptr>::value);
static_assert(caf::has_type_id<client_command>::value);
static_assert(caf::has_type_id<post_command>::value);
static_assert(caf::has_type_id<subscribe_result>::value);
static_assert(caf::has_type_id<append_done>::value);
static_assert(caf::has_type_id<campaign_command>::value);
static_assert(caf::has_type_id<campaign_query>::value);

/// Turns a caf::error from a request into a protocol error code (timeouts, dead actors, ours).
protocol::error_code to_protocol_code(const caf::error& err);

/// The message of a caf::error for the client: ours carry one; CAF's get a fixed text.
std::string error_text(const caf::error& err);

/// Shared services every entity actor needs; outlives the actor system's actors.
struct services;

} // namespace pactum::actors
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::notification_fact)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::notifications_done)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::billing_candidates_loaded)
