#pragma once
// Asking an entity actor (conversation, contract, campaign, pledge, …) from outside the actor
// system, for the runtime's services: a one-shot actor looks the entity up in the directory
// (activating it on demand) and asks it, so no caller thread ever blocks. Its refusal arrives as
// the api_error a client sees (the HTTP status its protocol code stands for). Internal to
// actors/src: it pulls in CAF.

#include <functional>

#include <caf/all.hpp>

#include "message_types.hpp"
#include "services.hpp"

namespace pactum::actors {

/// The HTTP status of a protocol error code (docs/protocol.md, "Error codes").
int http_status_of(protocol::error_code code);

/// The api_error an entity's CAF error stands for.
api_error api_error_of(const caf::error& err);

/// Spawning in CAF 0.17 makes the calling thread hold the actor system's logger (a thread-local
/// strong reference), and ~actor_system waits until the logger is destroyed. A thread outside CAF
/// that spawned and outlives the runtime (a persistence pool thread answering a REST request)
/// would hang the shutdown for ever. Put one of these around a spawn made from any thread: a
/// thread that held no logger before holds none after; CAF's own threads are left as they were.
class foreign_spawn_guard {
public:
  foreign_spawn_guard() : foreign_(caf::logger::current_logger() == nullptr) {}
  ~foreign_spawn_guard() {
    if (foreign_)
      caf::logger::set_current_actor_system(nullptr);
  }
  foreign_spawn_guard(const foreign_spawn_guard&) = delete;
  foreign_spawn_guard& operator=(const foreign_spawn_guard&) = delete;

private:
  bool foreign_;
};

/// Asks entity `id` of `kind` with `msg`; `done` gets its `Reply` or the refusal.
template <class Reply>
void ask_entity(caf::actor_system& sys, services& svc, uuid id, entity_kind kind, caf::message msg,
                std::function<void(expected<Reply, api_error>)> done) {
  auto timeout = svc.cfg.request_timeout;
  foreign_spawn_guard guard;
  sys.spawn([=, directory = svc.directory](caf::event_based_actor* self) {
    self->request(directory, timeout, lookup_atom_v, id, kind)
      .then(
        [=](caf::actor& entity) {
          self->request(entity, timeout, msg)
            .then([=](Reply& r) { done(std::move(r)); }, [=](caf::error& err) { done(api_error_of(err)); });
        },
        [=](caf::error& err) { done(api_error_of(err)); });
  });
}

} // namespace pactum::actors
