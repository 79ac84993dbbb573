// The escrow contract entity actor: thin CAF glue around contract_machine, the ledger and the
// payment provider.
//
// Lifecycle: spawned by the directory on the first message for its id (a contract is created by
// the conversation that accepted an offer, in the same transaction as that acceptance). It
// replays its whole journal (a contract holds at most `rules::max_commands` events, so it keeps
// no snapshots and serves its timeline from memory), then serves. An id with an empty journal is
// no contract: it refuses everything briefly and stops. A failed append stops it; the directory
// re-activates it from the database on the next message.
//
// Money: each event's ledger transfers (contract::postings) ride in the same append as the event,
// so the journal and the ledger cannot disagree. Outgoing provider calls (contract::calls_due:
// the funding charge or authorization, re-authorizations, captures, cancels of authorizations,
// charges in their place, refunds) are recorded in the journal first (their keys are derived
// from the event that starts them), then made, retried with capped exponential backoff while the provider answers
// retryably, and made again on every activation until their outcome is journaled: the provider's
// idempotency by key makes repeats harmless. While any is owed a `provider_calls` timer is stored
// (entity_support.hpp), so a crash before a call was made is followed by an activation that makes it. Outcomes arrive as webhooks through
// `runtime::payment_webhook`.
//
// Live events: after commit, each event is pushed on stream `contract:<id>` to every live session
// of both parties (through the registry); a client that was away reads the timeline
// (`contract.get` with `after`).
//
// Commands are decided one at a time: contracts see few commands, and a strict order keeps the
// idempotency records exact. Ownership and threading: one CAF actor; persistence and provider
// callbacks only send it messages.

#include <algorithm>
#include <deque>
#include <utility>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "audit.hpp"
#include "entity_support.hpp"
#include "message_types.hpp"
#include "pactum/actors/policy.hpp"
#include "pactum/payments/provider.hpp"
#include "pactum/persistence/settlement_store.hpp"
#include "services.hpp"
#include "notifications.hpp"

namespace pactum::actors {

namespace {

struct queued_command {
  contract_command cmd;
  caf::response_promise rp; ///< not pending for the actor's own commands (timers, provider)
};

using timeline = std::vector<std::pair<int64_t, std::shared_ptr<const std::string>>>;

/// The command whose events are being appended.
struct in_flight_command {
  queued_command command;
  timeline fresh;          ///< its events, for the timeline and pushes once committed
  contract::state before;  ///< the state to return to if the append fails
  uint64_t batch = 0;
  std::optional<int64_t> settled_spent = {}; ///< a terminal event: what the creator got (gross)
};

/// The longest wait between retries of a provider call.
constexpr auto max_call_backoff = std::chrono::seconds(60);

/// The most tracking rows one performance bill counts (a backlog is billed over several rounds).
constexpr size_t max_bill_rows = 100'000;
/// How soon a performance contract's end counts again while clicks from before it await their
/// verdicts (at most `billing_end_grace` past the end), or while a bill or count is under way.
constexpr auto end_recount_delay = std::chrono::milliseconds(250);
/// The end's last count is made no sooner than this past the end (bounded by the grace): a click
/// is stamped at its redirect and written a moment later, in the click writer's next batch.
constexpr millis end_settle_ms = 2'000;
/// The kind of the actor's own delayed timer message that makes the end count again.
constexpr const char* end_recount_timer = "end_recount";

} // namespace

struct contract_actor_state {
  static inline const char* name = "contract";

  services* svc = nullptr;
  uuid id;
  std::string stream;
  contract::state machine;
  contract::rules rules;
  int64_t committed = 0;
  timeline events;
  std::deque<queued_command> queued;
  std::optional<in_flight_command> in_flight; ///< set while an append is outstanding
  uint64_t batch = 0;
  millis timer_due = 0; ///< the durable timer as stored with the last append (0: none)
  /// What the journal's terminal event gave the creator (gross; 0 for a refund or cancel): the
  /// settle report's figure when it is made again after a restart.
  int64_t paid_gross = 0;
  /// Provider calls made since activation, by key: attempts so far, and whether the provider
  /// accepted it (its outcome then arrives as a webhook). Calls no longer owed are dropped.
  struct call_state {
    int attempts = 0;
    bool accepted = false;
  };
  std::map<std::string, call_state> calls;
  caf::actor_clock::time_point last_active;
  bool retiring = false;
  /// A performance contract's count of unbilled units is in flight (one at a time).
  bool counting = false;
  /// A performance contract's end is due: the count in flight is the last bill, then the timer
  /// (which gives the rest back) is decided.
  bool then_timer = false;
  bool end_recount_scheduled = false; ///< the end's next count is on its way (schedule_end_recount)

  /// Declared so CAF default-constructs the state (it would otherwise try the actor pointer).
  contract_actor_state() {}
};

namespace {

using self_ptr = caf::stateful_actor<contract_actor_state>*;




persistence::ledger_op to_ledger_op(const contract::posting& p) {
  using k = contract::posting::kind;
  using lk = persistence::ledger_op::kind;
  lk what = lk::post;
  switch (p.what) {
    case k::post:
      what = lk::post;
      break;
    case k::pending:
      what = lk::pending;
      break;
    case k::post_pending:
      what = lk::post_pending;
      break;
    case k::void_pending:
      what = lk::void_pending;
      break;
  }
  return persistence::ledger_op{what, p.id, p.debit, p.credit, p.amount, p.currency, p.pending_id};
}

/// Pushes a committed event to both parties' live sessions.
void publish(self_ptr self, int64_t seq, const std::shared_ptr<const std::string>& payload) {
  auto& st = self->state;
  auto frame = std::make_shared<protocol::push_frame>(st.stream, seq, payload);
  for (const auto& user : {st.machine.brand, st.machine.creator})
    self->send(st.svc->registry, notify_atom_v, user, protocol::push_frame_ptr{frame});
}

void start_next(self_ptr self);
void make_calls(self_ptr self);
void enqueue(self_ptr self, contract_command cmd, caf::response_promise rp);

/// Tells the deal's conversation that a dispute opened or closed, so moderators may join it
/// while it is open. Idempotent there; repeated on activation while disputed, so a report lost
/// to a crash is made again.
void tell_conversation(self_ptr self, bool open) {
  auto& st = self->state;
  auto conv = st.machine.conversation;
  auto id = st.id;
  self->request(st.svc->directory, st.svc->cfg.request_timeout, lookup_atom_v, conv, entity_kind::conversation)
    .then(
      [=](caf::actor& c) {
        self->request(c, self->state.svc->cfg.request_timeout, post_atom_v,
                      post_command{conversation::note_dispute{id, open}})
          .then([](protocol::message_ack_reply&) {},
                [=](caf::error& err) {
                  spdlog::warn("contract {}: conversation not told of the dispute: {}", id.str(),
                               caf::to_string(err));
                });
      },
      [=](caf::error& err) {
        spdlog::warn("contract {}: conversation not reached: {}", id.str(), caf::to_string(err));
      });
}

/// Tells the deal's campaign (if it has one) that this contract holds its amount. Idempotent
/// there; repeated on every activation while the contract is funded and running, so a report
/// lost to a crash is made again.
void report_commit(self_ptr self) {
  auto& st = self->state;
  campaign::commit_budget c{st.id, st.machine.creator, st.machine.terms.amount,
                            st.machine.terms.revision_rounds, {}};
  for (auto& d : st.machine.terms.deliverables)
    for (int64_t i = 0; i < std::max<int64_t>(d.count, 1); ++i)
      c.platforms.push_back(d.platform.empty() ? std::string{"other"} : d.platform);
  report_campaign_budget(self->system(), st.svc, st.machine.conversation, campaign_command{std::move(c)});
}

/// Tells the deal's campaign (if any) that this contract ended: `spent` (gross) went to the
/// creator, the rest back to the brand. Idempotent there; repeated on every activation of an
/// ended contract, so a report lost to a crash is made again.
void report_settle(self_ptr self, int64_t spent) {
  auto& st = self->state;
  report_campaign_budget(self->system(), st.svc, st.machine.conversation,
                         campaign_command{campaign::settle_budget{st.id, spent, st.machine.terms.amount - spent}});
}

/// Sets billed_at on the tracking rows the committed bills counted (up to the watermark). Made
/// after each bill's commit and again on every activation: a mark lost to a crash is made then,
/// and the rows are never counted twice meanwhile (they are below the watermark).
void mark_billed(self_ptr self) {
  auto& st = self->state;
  if (!st.svc->db || !st.machine.performance || st.machine.billed_through <= 0)
    return;
  auto id = st.id;
  auto through = st.machine.billed_through;
  persistence::mark_billed(*st.svc->db, st.id, st.machine.performance->campaign, st.machine.creator,
                           st.machine.performance->model, st.machine.funded_at, through,
                           [id, through](persistence::result<int64_t> r) {
                             if (!r)
                               spdlog::warn("contract {}: billed rows through {} not marked (again on activation): {}",
                                            id.str(), through, r.error().message);
                             else if (r.value() > 0)
                               spdlog::debug("contract {}: {} rows marked billed through {}", id.str(),
                                             r.value(), through);
                           });
}

/// The settlement job's nudge: claims and counts this performance contract's unbilled units above
/// its watermark on the pool (rows another contract of the same creator and campaign claimed are
/// not its own); the answer comes back as a `bill` system command (units 0: nothing).
void count_units(self_ptr self) {
  auto& st = self->state;
  const auto& m = st.machine;
  if (!st.svc->db || !m.performance || st.counting || m.funded_at == 0 || m.terminal()
      || m.status == contract::contract_status::disputed)
    return;
  st.counting = true;
  auto handle = caf::actor_cast<caf::actor>(self);
  auto id = st.id;
  auto after = m.billed_through;
  // Traffic from the funding to the end (the campaign's, or the delivery deadline's) is the
  // contract's. The count at the end also asks whether anything from before it is left for a
  // later count: a click made in the last moments may still await its verdict, and the end
  // waits for it (up to the grace).
  const millis end = m.running_deadline();
  const bool check = st.then_timer && end != 0 && st.svc->now() < end + st.svc->cfg.billing_end_grace.count();
  persistence::claim_unbilled(
    *st.svc->db,
    persistence::unbilled_query{id, m.performance->campaign, m.creator, m.performance->model, after,
                                m.funded_at, end, max_bill_rows, check},
    [handle, id, after, check](persistence::result<persistence::unbilled_units> r) {
      contract::bill b{after, after, 0};
      bool complete = true;
      if (!r) {
        spdlog::warn("contract {}: unbilled units not counted: {}", id.str(), r.error().message);
        complete = !check; // the end counts again within its grace
      } else {
        b = contract::bill{after, r.value().through, r.value().units};
        complete = r.value().complete;
      }
      caf::anon_send(handle, contract_atom_v, contract_command{b, {}, complete});
    });
}

/// Makes the end count again in a moment (once: a recount already scheduled covers this one).
void schedule_end_recount(self_ptr self, millis delay_ms) {
  auto& st = self->state;
  if (st.end_recount_scheduled)
    return;
  st.end_recount_scheduled = true;
  self->delayed_send(self, std::chrono::milliseconds(std::max<millis>(delay_ms, end_recount_delay.count())),
                     timer_atom_v, std::string{end_recount_timer}, millis{0});
}

/// The durable timer fired (or fell due while away). A performance contract whose end is due
/// first bills what its creator earned up to now (a last count), then decides the timer, which
/// gives the rest of the cap back: the units of the last billing interval are paid too. The last
/// count waits for the click writer (`end_settle_ms`) and for any bill or count under way, so
/// that its watermark is the journal's and its answer is the end's own.
void on_timer(self_ptr self) {
  auto& st = self->state;
  const auto& m = st.machine;
  const millis deadline = m.running_deadline();
  const millis now = st.svc->now();
  if (m.performance && deadline != 0 && now >= deadline) {
    const millis settled = deadline + std::min<millis>(end_settle_ms, st.svc->cfg.billing_end_grace.count());
    if (now < settled || st.counting || st.in_flight || !st.queued.empty())
      return schedule_end_recount(self, settled - now);
    st.then_timer = true;
    count_units(self);
    if (st.counting)
      return; // the count's answer enqueues the bill, then the timer
    st.then_timer = false;
  }
  enqueue(self, contract_command{contract::timer_fired{}}, {});
}

void on_appended(self_ptr self, append_done& done) {
  auto& st = self->state;
  if (!st.in_flight || done.batch != st.in_flight->batch)
    return;
  auto flight = std::move(*st.in_flight);
  st.in_flight.reset();
  if (!done.head) {
    // `refused` means a ledger rule broke: a bug in the machine, never the caller's fault.
    auto code = done.head.error().code == persistence::errc::refused
                  ? protocol::error_code::internal
                  : from_persistence(done.head.error().code);
    spdlog::error("contract {}: append failed ({}): {}; stopping to re-activate from storage",
                  st.id.str(), persistence::to_string(done.head.error().code),
                  done.head.error().message);
    answer(flight.command.rp, refuse(code, "nothing was stored; retry with the same key"));
    for (auto& q : st.queued)
      answer(q.rp, refuse(code, "nothing was stored; retry with the same key"));
    st.queued.clear();
    st.machine = std::move(flight.before);
    self->quit(refuse(code, "journal append failed"));
    return;
  }
  st.committed = done.head.value();
  // A deadline that moved money (a refund, a release) is the system's money action.
  if (std::holds_alternative<contract::timer_fired>(flight.command.cmd.cmd)
      && flight.before.status != st.machine.status)
    audit(*st.svc, audit_actor::system(), "contract.timer", st.id.str(), "ok",
          {{"from", std::string{to_string(flight.before.status)}},
           {"to", std::string{to_string(st.machine.status)}}});
  for (auto& [seq, payload] : flight.fresh) {
    st.events.emplace_back(seq, payload);
    publish(self, seq, payload);
  }
  notify_contract_events(*st.svc, st.id, st.machine.brand, st.machine.creator, flight.fresh);
  if (flight.before.status != contract::contract_status::disputed
      && st.machine.status == contract::contract_status::disputed)
    tell_conversation(self, true);
  else if (flight.before.status == contract::contract_status::disputed
           && st.machine.status != contract::contract_status::disputed)
    tell_conversation(self, false);
  // The campaign's budget follows the money: committed when funded, settled when it ends.
  if (flight.before.funded_at == 0 && st.machine.funded_at > 0)
    report_commit(self);
  if (flight.before.funded_at > 0 && !contract::is_terminal(flight.before.status)
      && contract::is_terminal(st.machine.status)) {
    st.paid_gross = flight.settled_spent.value_or(0);
    report_settle(self, st.paid_gross);
  }
  if (st.machine.billed_through > flight.before.billed_through)
    mark_billed(self); // the bill is committed: now its rows are marked
  answer(flight.command.rp,
         protocol::contract_ack_reply{st.id, flight.fresh.front().first, st.svc->now(), false,
                                      std::string{to_string(st.machine.status)}});
  make_calls(self);
  start_next(self);
  if (st.retiring && !st.in_flight && st.queued.empty()) {
    ++st.svc->passivations;
    self->quit();
  }
}

/// Decides the next queued command; journals what it decides (with its ledger transfers and the
/// timer change) and answers after commit.
void start_next(self_ptr self) {
  auto& st = self->state;
  while (!st.in_flight && !st.queued.empty()) {
    auto current = std::move(st.queued.front());
    st.queued.pop_front();
    auto now = st.svc->now();
    auto d = std::visit([&](const auto& cmd) { return contract::decide(st.machine, cmd, now, st.rules); },
                        current.cmd.cmd);
    if (auto* r = std::get_if<contract::refusal>(&d)) {
      answer(current.rp, refuse(r->code, r->message));
      continue;
    }
    if (auto* dup = std::get_if<contract::duplicate>(&d)) {
      answer(current.rp, protocol::contract_ack_reply{st.id, dup->seq, dup->at, true,
                                                      std::string{to_string(st.machine.status)}});
      continue;
    }
    if (auto* ign = std::get_if<contract::ignored>(&d)) {
      spdlog::debug("contract {}: ignored: {}", st.id.str(), ign->reason);
      answer(current.rp, protocol::contract_ack_reply{st.id, st.committed, now, true,
                                                      std::string{to_string(st.machine.status)}});
      continue;
    }
    auto& events = std::get<contract::accepted>(d).events;
    auto before = st.machine;
    std::vector<persistence::event_record> records;
    std::vector<persistence::ledger_op> ledger;
    timeline fresh;
    std::optional<int64_t> spent;
    for (auto& ev : events) {
      auto seq = st.machine.head + 1;
      for (auto& p : contract::postings(st.machine, seq, ev))
        ledger.push_back(to_ledger_op(p));
      auto payload = protocol::encode_contract_event(ev);
      records.push_back({seq, std::string{protocol::contract_event_type(ev)},
                         protocol::contract_event_version(ev), payload, now});
      fresh.emplace_back(seq, std::make_shared<const std::string>(std::move(payload)));
      if (auto* x = std::get_if<protocol::contract_released>(&ev))
        spent = x->to_creator;
      else if (auto* x = std::get_if<protocol::contract_resolved>(&ev))
        spent = x->to_creator;
      contract::apply(st.machine, seq, ev, st.rules);
    }
    if (st.machine.performance && st.machine.terminal())
      spent = st.machine.billed_gross; // a performance contract paid out its bills
    std::vector<persistence::timer_change> timers;
    if (auto want = st.machine.next_timer(st.rules); want != st.timer_due) {
      timers.push_back({std::string{contract::timer_kind}, want, want == 0});
      st.timer_due = want;
    }
    if (auto wake = provider_calls_timer_change(!contract::calls_due(before).empty(),
                                                !contract::calls_due(st.machine).empty(), now,
                                                st.svc->cfg.timer_retry.count()))
      timers.push_back(std::move(*wake));
    auto batch = ++st.batch;
    auto handle = caf::actor_cast<caf::actor>(self);
    st.in_flight = in_flight_command{std::move(current), std::move(fresh), std::move(before), batch, spent};
    persistence::append_request req{st.id, "contract", st.committed, std::move(records),
                                    [handle, batch](persistence::result<int64_t> r) {
                                      caf::anon_send(handle, append_done{batch, std::move(r)});
                                    },
                                    std::move(timers)};
    req.ledger = std::move(ledger);
    st.svc->store.append(std::move(req));
    return;
  }
}

void enqueue(self_ptr self, contract_command cmd, caf::response_promise rp) {
  self->state.queued.push_back({std::move(cmd), std::move(rp)});
  self->state.last_active = self->clock().now();
  start_next(self);
}

// -- provider calls ---------------------------------------------------------------------------

caf::timespan backoff(int attempt) {
  auto ms = std::chrono::milliseconds(500) * (1 << std::min(attempt, 7));
  return std::min<caf::timespan>(ms, max_call_backoff);
}

/// The call `key` if the journal still says it is owed (contract::calls_due), else nullopt.
std::optional<contract::provider_call> owed(const contract::state& m, const std::string& key) {
  for (auto& c : contract::calls_due(m))
    if (c.key == key)
      return c;
  return std::nullopt;
}

/// Makes (or repeats) provider call `key` as the journal describes it (contract::calls_due):
/// the funding charge or authorization, a re-authorization or a charge for a release
/// (create_intent), the capture of an authorization, the cancel of one, or a refund.
void call(self_ptr self, const std::string& key) {
  auto& st = self->state;
  auto due = owed(st.machine, key);
  if (!due) {
    st.calls.erase(key); // settled meanwhile: nothing is owed any more
    return;
  }
  auto* provider = st.svc->provider.load();
  if (!provider) { // not attached yet (start-up): try again shortly
    self->delayed_send(self, std::chrono::seconds(1), retry_call_atom_v, key);
    return;
  }
  auto& cs = st.calls[key];
  auto attempt = cs.attempts++;
  cs.accepted = false;
  auto handle = caf::actor_cast<caf::actor>(self);
  auto done = [handle, key, attempt](payments::call_result r) {
    caf::anon_send(handle, provider_answer{key, attempt, r.ok, r.retryable, r.code, r.message});
  };
  using k = contract::provider_call::kind;
  switch (due->what) {
    case k::create_intent: {
      payments::intent_request req;
      req.key = key;
      req.amount = due->amount;
      req.currency = due->currency;
      req.payment_method = due->payment_method;
      req.capture = due->capture;
      req.reference = st.id.str();
      provider->create_intent(std::move(req), std::move(done));
      return;
    }
    case k::capture:
      provider->capture(key, due->intent, std::move(done));
      return;
    case k::cancel:
      provider->cancel(key, due->intent, std::move(done));
      return;
    case k::refund:
      provider->refund(key, due->intent, due->amount, std::move(done));
      return;
  }
}

/// Starts every call the journal says is due (contract::calls_due) and not yet in flight.
void make_calls(self_ptr self) {
  auto& st = self->state;
  std::vector<std::string> due;
  for (auto& c : contract::calls_due(st.machine))
    due.push_back(c.key);
  for (auto i = st.calls.begin(); i != st.calls.end();) // settled ones are no longer owed
    i = std::find(due.begin(), due.end(), i->first) == due.end() ? st.calls.erase(i) : std::next(i);
  for (auto& key : due)
    if (!st.calls.count(key))
      call(self, key);
}

void on_provider_answer(self_ptr self, provider_answer& a) {
  auto& st = self->state;
  auto cs = st.calls.find(a.key);
  if (cs == st.calls.end() || cs->second.attempts != a.attempt + 1)
    return; // stale: settled meanwhile, or an older attempt's answer
  if (a.ok) {
    // Accepted: the outcome arrives as a webhook. Only a re-activation repeats the call.
    cs->second.accepted = true;
    return;
  }
  if (a.retryable) {
    spdlog::warn("contract {}: provider call {} failed ({}: {}), retrying", st.id.str(), a.key,
                 a.code, a.message);
    self->delayed_send(self, backoff(a.attempt), retry_call_atom_v, a.key);
    return;
  }
  auto due = owed(st.machine, a.key);
  if (!due) {
    st.calls.erase(cs);
    return;
  }
  // Refused outright (final, and replayed as such by the provider): the outcome the journal
  // waits for is this refusal, for every call that has one.
  using k = contract::provider_call::kind;
  std::optional<contract_command> outcome;
  switch (due->what) {
    case k::create_intent: // the charge or authorization failed
      outcome = contract_command{contract::payment_result{a.key, false, a.code}};
      break;
    case k::capture: // the authorization is gone or unusable: the machine charges instead
      outcome = contract_command{contract::capture_result{
        a.key, false,
        a.code == "invalid_state" && a.message == "authorization_expired" ? std::string{"authorization_expired"}
                                                                         : a.code}};
      break;
    case k::cancel: // invalid_state: the authorization is void already (lapsed, captured or canceled)
      if (a.code == "invalid_state")
        outcome = contract_command{contract::confirm_call{a.key}};
      break;
    case k::refund:
      break;
  }
  if (outcome) {
    st.calls.erase(cs);
    enqueue(self, std::move(*outcome), {});
    return;
  }
  spdlog::error("contract {}: provider refused {} call {} ({}: {}); it needs an operator",
                st.id.str(), contract::to_string(due->what), a.key, a.code, a.message);
}

// -- views --------------------------------------------------------------------------------------

/// The contract as committed: while an append is in flight the machine is already ahead of the
/// journal, and a reader must not see what may still be lost.
std::string view_of(const contract_actor_state& st) {
  const auto& m = st.in_flight ? st.in_flight->before : st.machine;
  nlohmann::json v{{"id", st.id.str()},
                   {"conversation", m.conversation.str()},
                   {"offer", m.offer},
                   {"brand", m.brand.str()},
                   {"creator", m.creator.str()},
                   {"status", std::string{to_string(m.status)}},
                   {"amount", m.terms.amount},
                   {"currency", m.terms.currency},
                   {"escrow", m.escrow},
                   {"funding_mode", std::string{protocol::to_string(m.mode)}},
                   {"authorized", m.authorized},
                   {"revisions_used", m.revisions_used},
                   {"revision_rounds", m.terms.revision_rounds},
                   {"opened_at", m.opened_at},
                   {"head", st.committed}};
  auto terms = protocol::encode_terms(m.terms);
  v["terms"] = nlohmann::json::from_msgpack(terms.begin(), terms.end(), true, false);
  auto put_time = [&](const char* key, millis t) { v[key] = t > 0 ? nlohmann::json(t) : nlohmann::json(nullptr); };
  put_time("funded_at", m.funded_at);
  put_time("delivery_due", m.running_deadline() == m.delivery_due ? m.delivery_due : 0);
  put_time("review_due", m.status == contract::contract_status::delivered ? m.review_due : 0);
  put_time("authorization_expires_at", m.authorization.empty() ? 0 : m.authorization_expires_at);
  if (m.status == contract::contract_status::disputed)
    v["paused_status"] = std::string{to_string(m.paused_status)};
  if (m.cancel_requested_by)
    v["cancel_requested_by"] = m.cancel_requested_by->str();
  if (m.performance) {
    v["performance"] = nlohmann::json{{"campaign", m.performance->campaign.str()},
                                      {"model", m.performance->model},
                                      {"rate", m.performance->rate},
                                      {"ends_at", m.performance->ends_at > 0 ? nlohmann::json(m.performance->ends_at) : nlohmann::json(nullptr)},
                                      {"billed_units", m.billed_units},
                                      {"billed_gross", m.billed_gross},
                                      {"billed_through", m.billed_through}};
    if (m.status == contract::contract_status::delivered)
      v["review_due"] = nullptr; // paid per unit: no review window runs
  }
  auto bytes = nlohmann::json::to_msgpack(v);
  return std::string{bytes.begin(), bytes.end()};
}

policy::relation relation_of(const contract_actor_state& st, const uuid& user) {
  return st.machine.is_member(user) ? policy::relation::member : policy::relation::stranger;
}

/// The policy's verdict on a principal's command (nullopt: allowed, or a system command).
std::optional<caf::error> refused(const contract_actor_state& st, const contract_command& c) {
  if (c.role.empty())
    return std::nullopt; // the provider's outcomes and timers
  auto act = std::visit(
    [](const auto& cmd) -> std::optional<std::pair<policy::action, uuid>> {
      using T = std::decay_t<decltype(cmd)>;
      if constexpr (std::is_same_v<T, contract::fund>)
        return std::pair{policy::action::contract_fund, cmd.by};
      else if constexpr (std::is_same_v<T, contract::deliver>)
        return std::pair{policy::action::contract_deliver, cmd.by};
      else if constexpr (std::is_same_v<T, contract::approve>)
        return std::pair{policy::action::contract_approve, cmd.by};
      else if constexpr (std::is_same_v<T, contract::request_revision>)
        return std::pair{policy::action::contract_request_revision, cmd.by};
      else if constexpr (std::is_same_v<T, contract::dispute>)
        return std::pair{policy::action::contract_dispute, cmd.by};
      else if constexpr (std::is_same_v<T, contract::resolve>)
        return std::pair{policy::action::contract_resolve, cmd.by};
      else if constexpr (std::is_same_v<T, contract::cancel>)
        return std::pair{policy::action::contract_cancel, cmd.by};
      else
        return std::nullopt;
    },
    c.cmd);
  if (!act)
    return std::nullopt;
  if (auto no = policy::decide(act->first, policy::parse_role(c.role), relation_of(st, act->second)))
    return refuse(no->code, std::string{no->message});
  return std::nullopt;
}

void schedule_idle_check(self_ptr self) {
  schedule_idle_check_after(self, self->state.svc->cfg.passivate_after);
}

caf::behavior running(self_ptr self) {
  self->state.last_active = self->clock().now();
  schedule_idle_check(self);
  make_calls(self); // whatever the journal says is owed to or by the provider
  if (self->state.machine.status == contract::contract_status::disputed)
    tell_conversation(self, true);
  mark_billed(self); // a performance contract's rows whose mark a crash may have lost
  if (self->state.machine.funded_at > 0 && !contract::is_terminal(self->state.machine.status))
    report_commit(self);
  else if (self->state.machine.funded_at > 0)
    report_settle(self, self->state.paid_gross); // idempotent there: a report lost to a crash is made again
  if (auto due = self->state.machine.next_timer(self->state.rules); due > 0 && due <= self->state.svc->now())
    on_timer(self); // fell due while we were away
  return {
    [=](contract_atom, contract_command& c) -> caf::result<protocol::contract_ack_reply> {
      if (auto no = refused(self->state, c))
        return std::move(*no);
      auto& st = self->state;
      if (std::holds_alternative<contract::bill_due>(c.cmd)) {
        count_units(self);
        return protocol::contract_ack_reply{st.id, st.committed, st.svc->now(), true,
                                            std::string{to_string(st.machine.status)}};
      }
      if (auto* b = std::get_if<contract::bill>(&c.cmd); b && c.role.empty()) {
        st.counting = false; // the count's answer
        // `then_timer` is set only by the end, and only while no other count runs: this is the
        // answer to the end's own count.
        bool last = std::exchange(st.then_timer, false);
        if (last && !c.complete) {
          // The end's count left clicks from before the end awaiting their verdicts: what it
          // counted is billed now, the rest after the next count; the end is decided after that.
          spdlog::debug("contract {}: end waits for clicks still being judged", st.id.str());
          schedule_end_recount(self, 0);
          last = false;
        }
        if (b->units <= 0) {
          if (last)
            enqueue(self, contract_command{contract::timer_fired{}}, {});
          return protocol::contract_ack_reply{st.id, st.committed, st.svc->now(), true,
                                              std::string{to_string(st.machine.status)}};
        }
        auto rp = self->make_response_promise();
        enqueue(self, std::move(c), rp);
        if (last) // decided after the bill: the rest of the cap goes back
          enqueue(self, contract_command{contract::timer_fired{}}, {});
        return rp;
      }
      auto rp = self->make_response_promise();
      enqueue(self, std::move(c), rp);
      return rp;
    },
    [=](contract_atom, contract_query& q) -> caf::result<protocol::contract_reply> {
      auto& st = self->state;
      if (auto no = policy::decide(policy::action::contract_get, policy::parse_role(q.role),
                                   relation_of(st, q.user)))
        return refuse(no->code, std::string{no->message});
      st.last_active = self->clock().now();
      protocol::contract_reply reply{view_of(st), {}};
      for (auto& [seq, payload] : st.events)
        if (seq > q.after)
          reply.events.push_back({seq, *payload});
      return reply;
    },
    [=](timer_atom, const std::string& kind, millis) {
      if (kind == end_recount_timer)
        self->state.end_recount_scheduled = false;
      if (kind != provider_calls_timer)
        on_timer(self);
      else if (!self->state.in_flight) // the machine is ahead of the journal while one is: its
        make_calls(self);              // calls wait for the commit (on_appended makes them)
    },
    [=](append_done& d) { on_appended(self, d); },
    [=](provider_answer& a) { on_provider_answer(self, a); },
    [=](retry_call_atom, const std::string& key) { call(self, key); },
    [=](idle_check_atom) {
      auto& st = self->state;
      if (st.retiring)
        return;
      bool calls_settled = std::all_of(st.calls.begin(), st.calls.end(),
                                       [](const auto& c) { return c.second.accepted; });
      if (!st.in_flight && st.queued.empty() && calls_settled
          && self->clock().now() - st.last_active >= st.svc->cfg.passivate_after) {
        self->send(st.svc->directory, passivate_atom_v, st.id);
        return;
      }
      schedule_idle_check(self);
    },
    [=](passivate_atom) {
      self->state.retiring = true;
      if (!self->state.in_flight && self->state.queued.empty()) {
        ++self->state.svc->passivations;
        self->quit();
      }
    },
  };
}

caf::behavior absent(self_ptr self) {
  // Everyone is a stranger to a contract that does not exist: the policy's stranger answer.
  auto no = [] {
    auto& r = policy::rule_of(policy::action::contract_get).denied_stranger;
    return refuse(r.code, std::string{r.message});
  };
  self->delayed_send(self, std::chrono::seconds(2), expire_atom_v);
  return {
    [=](contract_atom, contract_command&) -> caf::result<protocol::contract_ack_reply> { return no(); },
    [=](contract_atom, contract_query&) -> caf::result<protocol::contract_reply> { return no(); },
    [=](timer_atom, const std::string&, millis) {},
    [=](provider_answer&) {},
    [=](retry_call_atom, const std::string&) {},
    [=](expire_atom) { self->quit(); },
  };
}

void load_next(self_ptr self) {
  auto handle = caf::actor_cast<caf::actor>(self);
  self->state.svc->store.read_events(self->state.id, self->state.machine.head, 0, 1000, false,
                                     [handle](auto r) {
                                       caf::anon_send(handle, events_loaded{std::move(r)});
                                     });
}

} // namespace

namespace {

contract_command make_contract_command_body(const principal& who, protocol::contract_command_req req) {
  using protocol::contract_action;
  switch (req.action) {
    case contract_action::fund:
      return {contract::fund{who.user, std::move(req.key), std::move(req.payment_method)}};
    case contract_action::deliver:
      return {contract::deliver{who.user, std::move(req.key), std::move(req.items), std::move(req.note)}};
    case contract_action::approve:
      return {contract::approve{who.user, std::move(req.key)}};
    case contract_action::request_revision:
      return {contract::request_revision{who.user, std::move(req.key), std::move(req.reason)}};
    case contract_action::dispute:
      return {contract::dispute{who.user, std::move(req.key), std::move(req.reason)}};
    case contract_action::resolve:
      // A moderator resolves as a stranger to the contract: whoever the policy lets do that.
      return {contract::resolve{who.user, std::move(req.key), req.to_creator,
                                policy::allowed(policy::action::contract_resolve,
                                                policy::parse_role(who.role),
                                                policy::relation::stranger)}};
    case contract_action::cancel:
      break;
  }
  return {contract::cancel{who.user, std::move(req.key)}};
}

} // namespace

contract_command make_contract_command(const principal& who, protocol::contract_command_req req) {
  auto out = make_contract_command_body(who, std::move(req));
  out.role = who.role.empty() ? std::string{"anonymous"} : who.role;
  return out;
}

caf::actor spawn_contract(caf::local_actor* parent, services* svc, uuid id) {
  auto init = [](self_ptr self, services* svc, uuid id) -> caf::behavior {
    auto& st = self->state;
    st.svc = svc;
    ++svc->activations;
    st.id = id;
    st.stream = protocol::contract_stream(id);
    st.machine.id = id;
    st.rules = svc->cfg.contract_rules;
    self->set_default_handler(caf::skip); // hold commands until the journal is replayed
    load_next(self);
    return {
      [=](events_loaded& loaded) {
        auto& st = self->state;
        if (!loaded.events) {
          spdlog::warn("contract {}: recovery failed: {}", st.id.str(), loaded.events.error().message);
          self->quit(refuse(from_persistence(loaded.events.error().code), "could not load the contract"));
          return;
        }
        auto& rows = loaded.events.value();
        for (auto& rec : rows) {
          auto ev = protocol::decode_contract_event(rec.type, rec.version, rec.payload);
          if (!ev || rec.seq != st.machine.head + 1) {
            spdlog::error("contract {}: journal is unreadable at seq {}: {}", st.id.str(), rec.seq,
                          ev ? "sequence gap" : ev.error());
            self->quit(refuse(protocol::error_code::internal, "corrupt journal"));
            return;
          }
          if (auto* x = std::get_if<protocol::contract_performance_billed>(&ev.value()))
            st.paid_gross += x->gross;
          else if (auto* x = std::get_if<protocol::contract_released>(&ev.value()))
            st.paid_gross = x->to_creator;
          else if (auto* x = std::get_if<protocol::contract_resolved>(&ev.value()))
            st.paid_gross = x->to_creator;
          contract::apply(st.machine, rec.seq, ev.value(), st.rules);
          st.events.emplace_back(rec.seq, std::make_shared<const std::string>(std::move(rec.payload)));
        }
        if (rows.size() == 1000) {
          load_next(self);
          return;
        }
        st.committed = st.machine.head;
        st.timer_due = st.machine.next_timer(st.rules); // what the last append stored
        self->set_default_handler(caf::print_and_drop);
        self->become(st.machine.exists() ? running(self) : absent(self));
      },
    };
  };
  return parent->spawn(init, svc, id);
}

} // namespace pactum::actors
