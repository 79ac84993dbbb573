// The settlement job of cpc/cpv campaigns (docs/contracts.md, "Performance contracts";
// docs/operations.md, `--billing-interval-ms`).
//
// Every `billing_interval` it reads, on the persistence pool, the contracts of the (campaign,
// creator) pairs that have unbilled valid clicks (cpc) or unbilled view deltas (cpv)
// (persistence::contracts_with_unbilled_units), and nudges each (`bill_due`). The contract actor
// does the rest itself, one bill at a time: it counts its units above its own watermark, journals
// contract.performance_billed with the ledger transfers in the same append, and only after the
// commit sets `billed_at` on the rows it billed. The job keeps no state of its own, so a crash or
// restart anywhere loses nothing and pays nothing twice: the watermark is in the journal.
//
// Lifecycle: spawned by the runtime when the interval is > 0 and a database is attached; stopped
// with the runtime. One read is in flight at a time; its answer comes back as a message, so no
// CAF thread ever blocks.

#include <algorithm>

#include <spdlog/spdlog.h>

#include "message_types.hpp"
#include "pactum/persistence/settlement_store.hpp"
#include "pactum/protocol/events.hpp"
#include "services.hpp"

namespace pactum::actors {

namespace {

struct settlement_state {
  settlement_state() = default; // not an aggregate (see timer_sweeper.cpp)
  static inline const char* name = "settlement";
  bool reading = false;
};

using settlement_ptr = caf::stateful_actor<settlement_state>*;

void read_candidates(settlement_ptr self, services* svc) {
  if (self->state.reading)
    return;
  self->state.reading = true;
  auto handle = caf::actor_cast<caf::actor>(self);
  persistence::contracts_with_unbilled_units(*svc->db, svc->cfg.billing_batch, [handle](auto r) {
    caf::anon_send(handle, billing_candidates_loaded{std::move(r)});
  });
}

} // namespace

caf::actor spawn_settlement(caf::actor_system& sys, services* svc) {
  auto init = [](settlement_ptr self, services* svc) -> caf::behavior {
    auto interval = std::chrono::duration_cast<caf::timespan>(svc->cfg.billing_interval);
    // A nudged contract answers; a refusal (e.g. an id that is no contract) must not stop the job.
    self->set_error_handler([](caf::error& err) {
      spdlog::debug("settlement: a contract refused its nudge: {}", caf::to_string(err));
    });
    self->delayed_send(self, interval, billing_atom_v);
    return {
      [=](billing_atom) { read_candidates(self, svc); },
      [=](billing_candidates_loaded& loaded) {
        self->state.reading = false;
        self->delayed_send(self, interval, billing_atom_v);
        if (!loaded.accepted) {
          spdlog::warn("settlement: cannot read contracts to bill: {}", loaded.accepted.error().message);
          return;
        }
        std::vector<uuid> contracts;
        for (auto& payload : loaded.accepted.value()) {
          auto ev = protocol::decode_event("offer.accepted", 1, payload);
          if (!ev)
            continue;
          auto id = std::get<protocol::offer_accepted>(ev.value()).contract;
          if (std::find(contracts.begin(), contracts.end(), id) == contracts.end())
            contracts.push_back(id);
        }
        for (auto& id : contracts)
          self->request(svc->directory, caf::infinite, lookup_atom_v, id, entity_kind::contract)
            .then(
              [=](caf::actor& contract) {
                self->send(contract, contract_atom_v, contract_command{contract::bill_due{}});
              },
              [=](caf::error& err) {
                spdlog::warn("settlement: contract {} not reached: {}", id.str(), caf::to_string(err));
              });
        if (!contracts.empty())
          spdlog::debug("settlement: {} contract(s) asked to bill", contracts.size());
      },
      [](const protocol::contract_ack_reply&) {}, // the nudge's acknowledgement
    };
  };
  return sys.spawn(init, svc);
}

} // namespace pactum::actors
