#pragma once

#include <atomic>

#include <caf/all.hpp>

#include "pactum/actors/entity_store.hpp"
#include "pactum/actors/rate_limiter.hpp"
#include "pactum/actors/runtime.hpp"
#include "pactum/persistence/database.hpp"

namespace pactum::payments {
class provider;
}

namespace pactum::actors {

struct contract_command;
struct campaign_command;
class auth_cache;

/// What every actor of the runtime may use. Owned by runtime::impl, which outlives all actors
/// (the actor system is shut down before it is destroyed). Actors hold a plain pointer.
struct services {
  runtime_config cfg;
  persistence::database* db; ///< accounts and conversation registry (null in simulation tests)
  entity_store& store;       ///< journals and snapshots of entities
  caf::actor directory; ///< conversation id -> live conversation actor
  caf::actor registry;  ///< user id -> live session actors
  caf::actor notifier;  ///< user id -> that user's notifier (actors/src/notifications.cpp)
  std::atomic<size_t> in_flight{0};
  std::atomic<uint64_t> activations{0};  ///< entity actors started (including re-activations)
  std::atomic<uint64_t> passivations{0}; ///< entity actors stopped for being idle
  /// The time entities decide with (ms since the epoch): the wall clock, or the virtual clock of
  /// the deterministic simulation, so deadlines there follow simulated time.
  millis (*clock)(void* ctx) = [](void*) { return now_millis(); };
  void* clock_ctx = nullptr;
  millis now() const { return clock(clock_ctx); }
  /// Per-user limit on messages, edits and offers (null: none, as in the simulation).
  std::unique_ptr<rate_limiter> message_rate = nullptr;
  /// The payment provider contracts call (null until pactumd attaches one after binding its port,
  /// and in the simulation: calls then wait and retry).
  std::atomic<payments::provider*> provider{nullptr};
  /// The live analytics hub (analytics.subscribe; actors/src/analytics.cpp): set by
  /// runtime::start_analytics before serving, null without the pipeline.
  caf::actor analytics = {};
  /// Verified access tokens served from memory (actors/src/auth_cache.hpp); set by the runtime.
  /// Whoever revokes a login or changes a user's role drops their entries before answering.
  std::shared_ptr<auth_cache> tokens = nullptr;
};

/// Spawns the directory: conversation id -> live conversation actor, activated on demand.
caf::actor spawn_directory(caf::actor_system& sys, services* svc);

/// Spawns the registry: user id -> live session actors, for pushes to a user.
caf::actor spawn_registry(caf::actor_system& sys, services* svc);

/// Spawns one conversation entity actor (called by the directory only).
caf::actor spawn_conversation(caf::local_actor* parent, services* svc, uuid id);

/// The contract command a principal's request stands for (`by` and the moderator flag from who
/// sends it).
contract_command make_contract_command(const principal& who, protocol::contract_command_req req);

/// Spawns one user's wallet actor (withdrawals; called by the directory only).
caf::actor spawn_wallet(caf::local_actor* parent, services* svc, uuid id);

/// Spawns one escrow contract entity actor (called by the directory only).
caf::actor spawn_contract(caf::local_actor* parent, services* svc, uuid id);

/// Spawns one campaign entity actor (called by the directory only).
caf::actor spawn_campaign(caf::local_actor* parent, services* svc, uuid id);
/// Spawns one pledge campaign entity actor (called by the directory only).
caf::actor spawn_pledge(caf::local_actor* parent, services* svc, uuid id);

/// Reports a budget change of the contract of conversation `conversation` to the campaign that
/// conversation serves (the most recently linked one), if any: `cmd` is a commit_budget or a
/// settle_budget (idempotent per contract on the campaign's side). Fire and forget; a failure is
/// logged. Runs the lookup on the persistence pool (actors/src/campaigns.cpp).
void report_campaign_budget(caf::actor_system& sys, services* svc, uuid conversation,
                            campaign_command cmd);

/// Spawns the durable-timer sweeper (reads `svc->store`).
caf::actor spawn_timer_sweeper(caf::actor_system& sys, services* svc);
caf::actor spawn_settlement(caf::actor_system& sys, services* svc);

/// Spawns the session actor of one client connection.
caf::actor spawn_session(caf::actor_system& sys, services* svc, principal who,
                         std::shared_ptr<session_sink> sink);

} // namespace pactum::actors
