#pragma once

// Notifications (docs/protocol.md "Notifications"): the per-user notifier actors and the one call
// each entity actor makes after a commit. Internal to actors/src.
//
// Entity actors (conversation, contract, campaign, wallet) call the `notify_*` helpers from their
// commit handler, so only durably committed events become notifications; each fact carries its
// source (entity, journal seq), which the store keeps unique per user, so a retried or replayed
// fact stores nothing twice. The helpers send one message per concerned user to the notifier
// hub, which hands it to that user's notifier actor (spawned on demand, passivated when idle).
// The notifier stores it through the persistence pool (never blocking its scheduler thread) and
// pushes it to the user's live sessions on `user:<id>` through the registry.

#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <caf/fwd.hpp>

#include "pactum/actors/runtime.hpp"
#include "pactum/protocol/wallet_events.hpp"

namespace pactum::actors {

struct services;

/// Every notification type (stable wire strings).
const std::vector<std::string>& notification_types();

/// Spawns the notifier hub: user id -> that user's notifier actor.
caf::actor spawn_notifier_hub(caf::actor_system& sys, services* svc);

struct notification_fact;

/// The notifications one committed event implies (pure; unit-tested): for a conversation event
/// (`viewing`: users with a live session subscribed there), a contract event, a campaign event
/// (`creator`: the creator it concerns). `msgpack` is the event as pushed to clients.
std::vector<notification_fact> conversation_facts(const uuid& conv, const uuid& brand, const uuid& creator,
                                                  int64_t seq, const std::string& msgpack,
                                                  const std::set<uuid>& viewing);
std::vector<notification_fact> contract_facts(const uuid& contract, const uuid& brand, const uuid& creator,
                                              int64_t seq, const std::string& msgpack);
std::vector<notification_fact> campaign_facts(const uuid& campaign, const uuid& brand, const uuid& creator,
                                              int64_t seq, const std::string& msgpack);

/// Conversation `conv` committed `frames`; `viewing` are the users with a live session
/// subscribed to it (they get no `message.received`).
void notify_conversation_events(services& svc, const uuid& conv, const uuid& brand, const uuid& creator,
                                const std::vector<protocol::push_frame_ptr>& frames,
                                const std::set<uuid>& viewing);

/// Contract `contract` committed `fresh` (seq, msgpack payload).
void notify_contract_events(services& svc, const uuid& contract, const uuid& brand, const uuid& creator,
                            const std::vector<std::pair<int64_t, std::shared_ptr<const std::string>>>& fresh);

/// Campaign `campaign` committed one event; `creator` is the creator it concerns (nil: none).
void notify_campaign_event(services& svc, const uuid& campaign, const uuid& brand, const uuid& creator,
                           int64_t seq, const std::string& payload);

/// `user`'s wallet committed a paid withdrawal at `seq`.
void notify_payout(services& svc, const uuid& user, int64_t seq, const withdrawal_info& paid);

/// After authentication: pushes `notifications.missed` (unread, newest first, bounded) to
/// `session` when the user has unread notifications.
void push_missed_notifications(services& svc, const caf::actor& session, const uuid& user);

/// A notifications request of `who` (WebSocket or REST); answers a JSON object's text.
void notifications_request(services& svc, const principal& who, protocol::notifications_req req,
                           std::function<void(expected<std::string, api_error>)> done);

} // namespace pactum::actors
