// The durable-timer sweeper: finds due timers in PostgreSQL and wakes their entities.
//
// Timers are rows of `due_timers`, written by entities in the same transaction as the event that
// sets them (persistence::append_request::timers). On start and every `timer_sweep_interval`, the
// sweeper reads the due rows (oldest first, at most `timer_sweep_batch`; `for update skip locked`
// so several sweepers never read the same row at once), asks the directory for each entity
// (activating it from storage if it is passive) and sends it `timer`. Delivery is at least once:
// the row stays until the entity's own append clears or moves it, so a timer that was due while
// the server was down fires at the first sweep. A row handed out is moved `timer_retry` ahead in
// the same statement: one whose entity could not be reached, or did not act on it, fires again
// then, behind the rows that fell due meanwhile (it cannot starve them). Entities decide idempotently
// (an offer already answered or expired is not expired again), which makes each timer's event
// exactly once in the journal.
//
// The database call runs on the persistence pool; its answer comes back as a message. One read is
// in flight at a time; a full batch is followed at once by the next.

#include <spdlog/spdlog.h>

#include "message_types.hpp"
#include "services.hpp"

namespace pactum::actors {

namespace {

struct sweeper_state {
  // Not an aggregate on purpose: CAF 0.17 constructs the state from the actor pointer when it
  // can, and C++20 would happily aggregate-initialise `reading` from that pointer (true).
  sweeper_state() = default;
  static inline const char* name = "timer-sweeper";
  bool reading = false;
  uint64_t fired = 0;
};

using sweeper_ptr = caf::stateful_actor<sweeper_state>*;

void sweep(sweeper_ptr self, services* svc) {
  if (self->state.reading)
    return;
  self->state.reading = true;
  auto handle = caf::actor_cast<caf::actor>(self);
  svc->store.due_timers(svc->now(), svc->cfg.timer_sweep_batch, svc->cfg.timer_retry.count(), [handle](auto r) {
    caf::anon_send(handle, timers_loaded{std::move(r)});
  });
}

} // namespace

caf::actor spawn_timer_sweeper(caf::actor_system& sys, services* svc) {
  auto init = [](sweeper_ptr self, services* svc) -> caf::behavior {
    self->send(self, sweep_atom_v);
    return {
      [=](sweep_atom) { sweep(self, svc); },
      [=](timers_loaded& loaded) {
        self->state.reading = false;
        auto interval = svc->cfg.timer_sweep_interval;
        if (!loaded.timers) {
          spdlog::warn("timer sweeper: cannot read due timers: {}", loaded.timers.error().message);
          self->delayed_send(self, interval, sweep_atom_v);
          return;
        }
        auto& timers = loaded.timers.value();
        for (auto& t : timers) {
          auto kind = entity_kind_from_type(t.entity_type);
          if (!kind) {
            spdlog::error("timer sweeper: timer {} of unknown entity type {} ({})", t.kind,
                          t.entity_type, t.entity.str());
            continue;
          }
          ++self->state.fired;
          self->request(svc->directory, caf::infinite, lookup_atom_v, t.entity, *kind)
            .then([=](caf::actor& entity) { self->send(entity, timer_atom_v, t.kind, t.due_at); },
                  [=](caf::error& err) {
                    spdlog::warn("timer sweeper: cannot reach {}: {}", t.entity.str(),
                                 caf::to_string(err));
                  });
        }
        if (!timers.empty())
          spdlog::debug("timer sweeper: {} due timer(s) fired", timers.size());
        if (timers.size() >= svc->cfg.timer_sweep_batch)
          self->send(self, sweep_atom_v); // more are due: go on at once
        else
          self->delayed_send(self, interval, sweep_atom_v);
      },
    };
  };
  return sys.spawn(init, svc);
}

} // namespace pactum::actors
