// A user's wallet entity actor: withdrawals through the payment provider (wallet_machine holds
// the rules). Its journal is keyed by the user's id, entity type "wallet".
//
// Lifecycle: activated by the directory on the first withdrawal or payout outcome; replays its
// journal, then serves commands one at a time. Idle for `passivate_after` with no payout pending,
// it is passivated (the directory stops it; the next message activates it again). A withdrawal first reads, off the actor, what the
// ledger allows (balance less reservations, less what is still settling) and the owner's KYC
// status; the machine decides; the request is journaled with its ledger reservation in one
// append; then the payout is made (and made again, idempotently, on every activation while it
// is pending: a `provider_calls` timer stored with the request activates the wallet after a
// crash, entity_support.hpp). The provider's webhook posts or voids the reservation. A ledger refusal (the
// balance moved meanwhile) answers `conflict` and changes nothing; any other failed append stops
// the actor, which is re-activated from storage.

#include <algorithm>
#include <deque>
#include <optional>

#include <spdlog/spdlog.h>

#include "entity_support.hpp"
#include "message_types.hpp"
#include "pactum/payments/provider.hpp"
#include "services.hpp"
#include "notifications.hpp"

namespace pactum::actors {

namespace {

struct queued_wallet_command {
  wallet_command cmd;
  caf::response_promise rp; ///< not pending for provider outcomes without a requester
};

} // namespace

struct wallet_actor_state {
  static inline const char* name = "wallet";

  services* svc = nullptr;
  wallet::state machine;
  wallet::rules rules;
  std::deque<queued_wallet_command> queued;
  bool busy = false;     ///< a command is being decided or appended
  uint64_t ticket = 0;   ///< the facts read / append in flight
  std::map<std::string, int> attempts; ///< payout calls made since activation
  caf::actor_clock::time_point last_active; ///< the last command or query
  bool retiring = false;                    ///< the directory agreed to passivate it
  /// The command being decided: its requester, the withdrawal waiting for its facts, the event
  /// waiting for its append.
  caf::response_promise current_rp;
  std::optional<wallet::withdraw> waiting_facts;
  std::optional<protocol::wallet_event> appending;

  /// Declared so CAF default-constructs the state (it would otherwise try the actor pointer).
  wallet_actor_state() {}
};

namespace {

using self_ptr = caf::stateful_actor<wallet_actor_state>*;

withdrawal_info info_of(const wallet::state& s, const std::string& payout, bool duplicate) {
  const auto& w = s.withdrawals.at(payout);
  return withdrawal_info{payout,        w.seq,  w.amount, w.currency, w.destination,
                         std::string{to_string(w.status)}, w.code, w.at, duplicate};
}

const std::string* payout_of_seq(const wallet::state& s, int64_t seq) {
  for (auto& [payout, w] : s.withdrawals)
    if (w.seq == seq)
      return &payout;
  return nullptr;
}

void next(self_ptr self);

void pay(self_ptr self, const std::string& payout) {
  auto& st = self->state;
  auto* provider = st.svc->provider.load();
  auto w = st.machine.withdrawals.find(payout);
  if (w == st.machine.withdrawals.end() || w->second.status != wallet::withdrawal_status::pending)
    return;
  if (!provider) {
    self->delayed_send(self, std::chrono::seconds(1), retry_call_atom_v, payout);
    return;
  }
  auto attempt = st.attempts[payout]++;
  auto handle = caf::actor_cast<caf::actor>(self);
  payments::payout_request req;
  req.key = payout;
  req.amount = w->second.amount;
  req.currency = w->second.currency;
  req.destination = w->second.destination;
  req.reference = st.machine.user.str();
  provider->payout(std::move(req), [handle, payout, attempt](payments::call_result r) {
    caf::anon_send(handle, provider_answer{payout, attempt, r.ok, r.retryable, r.code, r.message});
  });
}

/// Journals `ev` with its ledger transfers; the outcome comes back as append_done.
void append(self_ptr self, protocol::wallet_event ev) {
  auto& st = self->state;
  auto seq = st.machine.head + 1;
  std::vector<persistence::ledger_op> ledger;
  for (auto& p : wallet::postings(st.machine, seq, ev))
    ledger.push_back({static_cast<persistence::ledger_op::kind>(p.what), p.id, p.debit, p.credit, p.amount,
                      p.currency, p.pending_id});
  auto payload = protocol::encode_wallet_event(ev);
  std::vector<persistence::event_record> records{
    {seq, std::string{protocol::wallet_event_type(ev)}, protocol::wallet_event_version(ev), payload, 0}};
  auto ticket = ++st.ticket;
  auto handle = caf::actor_cast<caf::actor>(self);
  persistence::append_request req{st.machine.user, "wallet", st.machine.head, std::move(records),
                                  [handle, ticket](persistence::result<int64_t> r) {
                                    caf::anon_send(handle, append_done{ticket, std::move(r)});
                                  }};
  req.ledger = std::move(ledger);
  // A payout owed after this event keeps (or gets) the wake-up timer that survives a crash.
  auto after = st.machine;
  wallet::apply(after, seq, ev);
  if (auto wake = provider_calls_timer_change(!wallet::payouts_due(st.machine).empty(),
                                              !wallet::payouts_due(after).empty(), st.svc->now(),
                                              st.svc->cfg.timer_retry.count()))
    req.timers.push_back(std::move(*wake));
  st.appending = std::move(ev);
  st.svc->store.append(std::move(req));
}

void on_appended(self_ptr self, append_done& done) {
  auto& st = self->state;
  if (done.batch != st.ticket || !st.appending)
    return;
  auto ev = std::move(*st.appending);
  st.appending.reset();
  st.busy = false;
  auto rp = std::move(st.current_rp);
  if (!done.head) {
    if (done.head.error().code == persistence::errc::refused) {
      answer(rp, refuse(protocol::error_code::conflict,
                        "the balance changed meanwhile and no longer covers this; nothing was done"));
      return next(self);
    }
    answer(rp, refuse(from_persistence(done.head.error().code), "nothing was stored; retry with the same key"));
    for (auto& q : st.queued)
      answer(q.rp, refuse(from_persistence(done.head.error().code), "nothing was stored; retry"));
    self->quit(refuse(from_persistence(done.head.error().code), "journal append failed"));
    return;
  }
  wallet::apply(st.machine, st.machine.head + 1, ev);
  if (auto* paid = std::get_if<protocol::withdrawal_paid>(&ev))
    notify_payout(*st.svc, st.machine.user, st.machine.head, info_of(st.machine, paid->payout, false));
  if (auto* req = std::get_if<protocol::withdrawal_requested>(&ev)) {
    answer(rp, info_of(st.machine, req->payout, false));
    pay(self, req->payout);
  } else {
    answer(rp, true);
  }
  next(self);
}

void on_facts(self_ptr self, wallet_facts_loaded& loaded) {
  auto& st = self->state;
  if (loaded.ticket != st.ticket || !st.waiting_facts)
    return;
  auto c = std::move(*st.waiting_facts);
  st.waiting_facts.reset();
  if (!loaded.facts) {
    st.busy = false;
    answer(st.current_rp, refuse(from_persistence(loaded.facts.error().code), "could not read the balance; retry"));
    return next(self);
  }
  c.withdrawable = loaded.facts->available - loaded.facts->settling;
  c.verified = loaded.facts->kyc_status == "verified";
  auto d = wallet::decide(st.machine, c, st.svc->now(), st.rules);
  if (auto* a = std::get_if<wallet::accepted>(&d))
    return append(self, std::move(a->event));
  st.busy = false;
  if (auto* r = std::get_if<wallet::refusal>(&d))
    answer(st.current_rp, refuse(r->code, r->message));
  else if (auto* dup = std::get_if<wallet::duplicate>(&d); dup && payout_of_seq(st.machine, dup->seq))
    answer(st.current_rp, info_of(st.machine, *payout_of_seq(st.machine, dup->seq), true));
  next(self);
}

/// Decides the next queued command (reading the ledger first for a withdrawal).
void next(self_ptr self) {
  auto& st = self->state;
  if (st.busy)
    return;
  if (st.queued.empty()) {
    if (st.retiring) { // passivation was agreed while a command was being decided
      ++st.svc->passivations;
      self->quit();
    }
    return;
  }
  auto current = std::move(st.queued.front());
  st.queued.pop_front();
  st.busy = true;
  st.current_rp = std::move(current.rp);
  if (auto* res = std::get_if<wallet::payout_result>(&current.cmd.cmd)) {
    auto d = wallet::decide(st.machine, *res, st.svc->now(), st.rules);
    if (auto* a = std::get_if<wallet::accepted>(&d))
      return append(self, std::move(a->event));
    st.busy = false;
    answer(st.current_rp, true); // stale or repeated: acknowledged, nothing to do
    return next(self);
  }
  st.waiting_facts = std::get<wallet::withdraw>(current.cmd.cmd);
  auto ticket = ++st.ticket;
  auto handle = caf::actor_cast<caf::actor>(self);
  st.svc->db->wallet_facts(st.machine.user, st.waiting_facts->currency,
                           st.svc->now() - st.rules.settlement_window,
                           [handle, ticket](persistence::result<persistence::wallet_facts> r) {
                             caf::anon_send(handle, wallet_facts_loaded{ticket, std::move(r)});
                           });
}

void schedule_idle_check(self_ptr self) {
  schedule_idle_check_after(self, self->state.svc->cfg.passivate_after);
}

caf::behavior running(self_ptr self) {
  self->state.last_active = self->clock().now();
  schedule_idle_check(self);
  for (auto& payout : wallet::payouts_due(self->state.machine))
    pay(self, payout); // owed since before this activation
  return {
    [=](wallet_atom, wallet_command& c) {
      auto rp = self->make_response_promise();
      self->state.last_active = self->clock().now();
      self->state.queued.push_back({std::move(c), rp});
      next(self);
      return rp;
    },
    [=](wallet_atom) -> std::vector<withdrawal_info> {
      self->state.last_active = self->clock().now();
      std::vector<withdrawal_info> out;
      for (auto& [payout, w] : self->state.machine.withdrawals)
        out.push_back(info_of(self->state.machine, payout, false));
      std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.seq > b.seq; });
      return out;
    },
    [=](provider_answer& a) {
      auto& st = self->state;
      if (a.ok)
        return;
      if (a.retryable) {
        auto delay = std::min<caf::timespan>(std::chrono::milliseconds(500) * (1 << std::min(a.attempt, 7)),
                                             std::chrono::seconds(60));
        self->delayed_send(self, delay, retry_call_atom_v, a.key);
        return;
      }
      spdlog::warn("wallet {}: payout {} refused ({}: {})", st.machine.user.str(), a.key, a.code, a.message);
      st.queued.push_back({wallet_command{wallet::payout_result{a.key, false, a.code}}, {}});
      next(self);
    },
    [=](retry_call_atom, const std::string& payout) { pay(self, payout); },
    [=](timer_atom, const std::string&, millis) {
      // The provider-calls wake-up timer: activating this wallet made every payout owed (above);
      // a live wallet has made them already and retries failed ones by itself.
    },
    [=](append_done& d) { on_appended(self, d); },
    [=](wallet_facts_loaded& f) { on_facts(self, f); },
    [=](idle_check_atom) {
      // Idle long enough, nothing being decided, and no payout pending (one that is stays live
      // for its outcome; the provider-calls timer would only wake it again): the directory stops
      // it; the next command or outcome activates it from its journal.
      auto& st = self->state;
      if (st.retiring)
        return;
      if (!st.busy && st.queued.empty() && wallet::payouts_due(st.machine).empty()
          && self->clock().now() - st.last_active >= st.svc->cfg.passivate_after) {
        self->send(st.svc->directory, passivate_atom_v, st.machine.user);
        return;
      }
      schedule_idle_check(self);
    },
    [=](passivate_atom) {
      self->state.retiring = true;
      next(self); // stops now when idle, else once the command being decided is answered
    },
  };
}

} // namespace

caf::actor spawn_wallet(caf::local_actor* parent, services* svc, uuid id) {
  auto init = [](self_ptr self, services* svc, uuid id) -> caf::behavior {
    auto& st = self->state;
    st.svc = svc;
    st.machine.user = id;
    st.rules = svc->cfg.wallet_rules;
    self->set_default_handler(caf::skip);
    auto handle = caf::actor_cast<caf::actor>(self);
    svc->store.read_events(id, 0, 0, 100'000, false, [handle](auto r) {
      caf::anon_send(handle, events_loaded{std::move(r)});
    });
    return {
      [=](events_loaded& loaded) {
        auto& st = self->state;
        if (!loaded.events) {
          self->quit(refuse(from_persistence(loaded.events.error().code), "could not load the wallet"));
          return;
        }
        for (auto& rec : loaded.events.value()) {
          auto ev = protocol::decode_wallet_event(rec.type, rec.version, rec.payload);
          if (!ev || rec.seq != st.machine.head + 1) {
            spdlog::error("wallet {}: journal is unreadable at seq {}", st.machine.user.str(), rec.seq);
            self->quit(refuse(protocol::error_code::internal, "corrupt journal"));
            return;
          }
          wallet::apply(st.machine, rec.seq, ev.value());
        }
        self->set_default_handler(caf::print_and_drop);
        self->become(running(self));
      },
    };
  };
  return parent->spawn(init, svc, id);
}

} // namespace pactum::actors
