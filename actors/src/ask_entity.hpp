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

/// Asks entity `id` of `kind` with `msg`; `done` gets its `Reply` or the refusal.
template <class Reply>
void ask_entity(caf::actor_system& sys, services& svc, uuid id, entity_kind kind, caf::message msg,
                std::function<void(expected<Reply, api_error>)> done) {
  auto timeout = svc.cfg.request_timeout;
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
