// The pledge campaign entity actor: thin CAF glue around pledge_machine, the ledger and the
// payment provider (crowdfunding; docs/contracts.md, "Pledge campaigns").
//
// Lifecycle: spawned by the directory on the first message for its id. It replays its whole
// journal, then serves. A fresh id accepts only `create` (the runtime picks a new UUIDv7 for each
// campaign); anything else is answered not_found and the actor stops after a short idle time. A
// failed append stops it; the directory re-activates it from the database on the next message.
//
// No oversell: commands are decided strictly one at a time by this one actor, each against the
// state the previous left; the commands queued while an append is in flight are decided together
// into the next append (a batch, at most one append in flight), and every answer waits for the
// append that holds its decision, so the places of a tier are counted by one writer and no answer
// precedes its durable journal append.
//
// Money: each event's ledger transfers (pledge::postings) ride in the same append as the event.
// Provider calls (pledge::calls_due: authorizations of new pledges, captures after success,
// cancels of authorizations) are made after commit and again on every activation until their
// outcome is journaled (a `provider_calls` timer stored with them activates the campaign after a
// crash, entity_support.hpp); their keys are derived from the pledge event, so repeats are harmless.
// Outcomes arrive as webhooks (runtime::payment_webhook routes keys "pledge:..." here).
//
// The end date is the campaign's durable timer (`pledge_end`, stored with the events that set
// it, swept at start-up). After success the release waits for the creator's KYC verification:
// the timer stays due while a release is due, and the actor re-reads the KYC status (off the
// actor) at most once per `pledge_kyc_recheck`.
//
// Live progress: subscribers (session actors, monitored) get a `pledge.progress` push on stream
// `pledge:<id>` after commits that change it, coalesced to at most one per
// `pledge_progress_interval`.

#include <algorithm>
#include <deque>
#include <set>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "audit.hpp"
#include "entity_support.hpp"
#include "message_types.hpp"
#include "pactum/actors/policy.hpp"
#include "pactum/payments/provider.hpp"
#include "pactum/persistence/pledge_store.hpp"
#include "services.hpp"

namespace pactum::actors {

namespace {

struct queued_pledge_command {
  pledge_command cmd;
  caf::response_promise rp;
};

/// One command decided into the append in flight, answered once it commits: its first event's
/// seq (or, for a duplicate, the first answer's), or a refusal decided against the batch's state.
struct batched_answer {
  caf::response_promise rp;
  std::optional<caf::error> refused;
  int64_t seq = 0;
  millis at = 0;
  bool duplicate = false;
};

/// The append in flight: every command decided into it (a batch: see start_next).
struct pledge_in_flight {
  std::vector<batched_answer> answers;
  pledge::state before;
  uint64_t batch = 0;
  bool ended = false;    ///< it holds pledge.succeeded / pledge.failed (the timer's)
  bool released = false; ///< it holds pledge.released
};

/// The most commands decided into one append.
constexpr size_t max_batch = 256;

constexpr auto max_call_backoff = std::chrono::seconds(60);

} // namespace

struct pledge_actor_state {
  static inline const char* name = "pledge";

  services* svc = nullptr;
  uuid id;
  std::string stream;
  pledge::state machine;
  pledge::rules rules;
  int64_t committed = 0;
  std::deque<queued_pledge_command> queued;
  std::optional<pledge_in_flight> in_flight;
  uint64_t batch = 0;
  millis timer_due = 0;
  struct call_state {
    int attempts = 0;
    bool accepted = false;
  };
  std::map<std::string, call_state> calls;
  std::set<caf::actor> subscribers;
  bool progress_scheduled = false;
  caf::actor_clock::time_point last_progress;
  caf::actor_clock::time_point last_active;
  caf::actor_clock::time_point last_kyc_check;
  bool kyc_reading = false;
  uint64_t kyc_ticket = 0;
  bool retiring = false;

  pledge_actor_state() {}
};

namespace {

using self_ptr = caf::stateful_actor<pledge_actor_state>*;

persistence::ledger_op to_ledger_op(const pledge::posting& p) {
  return persistence::ledger_op{static_cast<persistence::ledger_op::kind>(p.what), p.id, p.debit,
                                p.credit, p.amount, p.currency, p.pending_id};
}

/// The campaign as clients see it (committed state only).
nlohmann::json view_json(const pledge_actor_state& st) {
  const auto& m = st.in_flight ? st.in_flight->before : st.machine;
  nlohmann::json tiers = nlohmann::json::array();
  for (size_t i = 0; i < m.tiers.size(); ++i) {
    auto& t = m.tiers[i];
    auto taken = i < m.taken.size() ? m.taken[i] : 0;
    tiers.push_back({{"tier", i},
                     {"title", t.title},
                     {"price", t.price},
                     {"quantity", t.quantity},
                     {"taken", taken},
                     {"available", t.quantity == 0 ? nlohmann::json(nullptr) : nlohmann::json(t.quantity - taken)},
                     {"delivery_at", t.delivery_at}});
  }
  return {{"id", st.id.str()},
          {"creator", m.creator.str()},
          {"title", m.title},
          {"description", m.description},
          {"status", std::string{to_string(m.status)}},
          {"goal", m.goal},
          {"currency", m.currency},
          {"end_at", m.end_at},
          {"pledged", m.authorized},
          {"authorizing", m.authorizing},
          {"captured", m.captured},
          {"backers", m.backers()},
          {"released", m.released},
          {"tiers", std::move(tiers)},
          {"head", st.committed}};
}

/// The `pledge.progress` push: what subscribers show live.
std::string progress_msgpack(const pledge_actor_state& st) {
  auto v = view_json(st);
  nlohmann::json tiers = nlohmann::json::array();
  for (auto& t : v["tiers"])
    tiers.push_back({{"tier", t["tier"]}, {"taken", t["taken"]}, {"available", t["available"]}});
  nlohmann::json ev{{"type", "pledge.progress"}, {"campaign", st.id.str()},
                    {"status", v["status"]},      {"pledged", v["pledged"]},
                    {"goal", v["goal"]},          {"currency", v["currency"]},
                    {"backers", v["backers"]},    {"tiers", std::move(tiers)}};
  auto bytes = nlohmann::json::to_msgpack(ev);
  return std::string{bytes.begin(), bytes.end()};
}

void push_progress(self_ptr self) {
  auto& st = self->state;
  st.last_progress = self->clock().now();
  if (st.subscribers.empty())
    return;
  auto frame = std::make_shared<protocol::push_frame>(
    st.stream, st.committed, std::make_shared<const std::string>(progress_msgpack(st)));
  for (auto& s : st.subscribers)
    self->send(s, notify_atom_v, protocol::push_frame_ptr{frame});
}

/// Coalesces pushes: at most one per `pledge_progress_interval`.
void progress_changed(self_ptr self) {
  auto& st = self->state;
  if (st.subscribers.empty() || st.progress_scheduled)
    return;
  auto interval = st.svc->cfg.pledge_progress_interval;
  auto since = self->clock().now() - st.last_progress;
  if (since >= interval) {
    push_progress(self);
    return;
  }
  st.progress_scheduled = true;
  self->delayed_send(self, interval - since, progress_atom_v);
}

/// Keeps the listing's read model in step (best effort: it only lists; the journal is the truth).
void save_read_model(self_ptr self) {
  auto& st = self->state;
  if (!st.svc->db || !st.machine.exists())
    return;
  auto& m = st.machine;
  persistence::pledge_campaign_row row{st.id,  m.creator,  m.title,      std::string{to_string(m.status)},
                                       m.goal, m.currency, m.end_at,     m.authorized,
                                       m.backers(), m.create_key, st.committed};
  auto id = st.id;
  persistence::save_pledge_campaign(*st.svc->db, std::move(row), [id](persistence::result<persistence::unit> r) {
    if (!r)
      spdlog::warn("pledge {}: listing not updated: {}", id.str(), r.error().message);
  });
}

void start_next(self_ptr self);
void make_calls(self_ptr self);
void check_release(self_ptr self);

void enqueue(self_ptr self, pledge_command cmd, caf::response_promise rp) {
  self->state.queued.push_back({std::move(cmd), std::move(rp)});
  self->state.last_active = self->clock().now();
  start_next(self);
}

std::string ack_json(const pledge_actor_state& st, int64_t seq, millis at, bool duplicate) {
  auto v = view_json(st);
  nlohmann::json out{{"campaign", st.id.str()}, {"seq", seq}, {"at", at}, {"duplicate", duplicate},
                     {"status", v["status"]}};
  return out.dump();
}

void on_appended(self_ptr self, append_done& done) {
  auto& st = self->state;
  if (!st.in_flight || done.batch != st.in_flight->batch)
    return;
  auto flight = std::move(*st.in_flight);
  st.in_flight.reset();
  if (!done.head) {
    auto code = done.head.error().code == persistence::errc::refused ? protocol::error_code::internal
                                                                      : from_persistence(done.head.error().code);
    spdlog::error("pledge {}: append failed ({}): {}; stopping to re-activate from storage", st.id.str(),
                  persistence::to_string(done.head.error().code), done.head.error().message);
    for (auto& a : flight.answers)
      answer(a.rp, refuse(code, "nothing was stored; retry with the same key"));
    for (auto& q : st.queued)
      answer(q.rp, refuse(code, "nothing was stored; retry with the same key"));
    st.queued.clear();
    st.machine = std::move(flight.before);
    self->quit(refuse(code, "journal append failed"));
    return;
  }
  st.committed = done.head.value();
  if (flight.ended)
    audit(*st.svc, audit_actor::system(), "pledge.end", st.id.str(), "ok",
          {{"status", std::string{to_string(st.machine.status)}}, {"total", st.machine.authorized}});
  if (flight.released)
    audit(*st.svc, audit_actor::system(), "pledge.release", st.id.str(), "ok",
          {{"to_creator", st.machine.released_to_creator}});
  for (auto& a : flight.answers) {
    if (a.refused)
      answer(a.rp, std::move(*a.refused));
    else
      answer(a.rp, ack_json(st, a.seq, a.at, a.duplicate));
  }
  if (flight.before.status != st.machine.status || flight.before.backers() != st.machine.backers()
      || flight.before.authorized != st.machine.authorized || !flight.before.exists())
    save_read_model(self); // at most one save per append; the row only moves forward (head)
  progress_changed(self);
  make_calls(self);
  check_release(self);
  start_next(self);
  if (st.retiring && !st.in_flight && st.queued.empty()) {
    ++st.svc->passivations;
    self->quit();
  }
}

/// Decides the queued commands one after the other against the state the previous ones left
/// (so a tier's places are counted exactly), journals all their events in ONE append with their
/// ledger transfers and the timer change, and answers every one of them after it commits. A burst
/// of pledges thus costs one commit per batch instead of one per pledge. Answers decided against
/// the batch (refusals such as sold_out, retries of a pledge in the same batch) wait for the
/// commit too: if it fails, they are told nothing was stored.
void start_next(self_ptr self) {
  auto& st = self->state;
  if (st.in_flight)
    return;
  auto now = st.svc->now();
  auto before = st.machine;
  std::vector<batched_answer> answers;
  std::vector<persistence::event_record> records;
  std::vector<persistence::ledger_op> ledger;
  bool ended = false;
  bool released = false;
  while (!st.queued.empty() && answers.size() < max_batch) {
    auto current = std::move(st.queued.front());
    st.queued.pop_front();
    auto d = std::visit([&](const auto& cmd) { return pledge::decide(st.machine, cmd, now, st.rules); },
                        current.cmd.cmd);
    bool batch_open = !records.empty(); // then every answer waits for the commit
    if (auto* r = std::get_if<pledge::refusal>(&d)) {
      if (batch_open)
        answers.push_back({std::move(current.rp), refuse(r->code, r->message)});
      else
        answer(current.rp, refuse(r->code, r->message));
      continue;
    }
    if (auto* dup = std::get_if<pledge::duplicate>(&d)) {
      if (dup->seq > st.committed)
        answers.push_back({std::move(current.rp), std::nullopt, dup->seq, dup->at, true});
      else
        answer(current.rp, ack_json(st, dup->seq, dup->at, true));
      continue;
    }
    if (auto* ign = std::get_if<pledge::ignored>(&d)) {
      spdlog::debug("pledge {}: ignored: {}", st.id.str(), ign->reason);
      if (batch_open)
        answers.push_back({std::move(current.rp), std::nullopt, st.committed, now, true});
      else
        answer(current.rp, ack_json(st, st.committed, now, true));
      continue;
    }
    auto& events = std::get<pledge::accepted>(d).events;
    int64_t first = st.machine.head + 1;
    for (auto& ev : events) {
      auto seq = st.machine.head + 1;
      for (auto& p : pledge::postings(st.machine, seq, ev))
        ledger.push_back(to_ledger_op(p));
      records.push_back({seq, std::string{protocol::pledge_event_type(ev)},
                         protocol::pledge_event_version(ev), protocol::encode_pledge_event(ev), now});
      ended = ended || std::holds_alternative<protocol::pledge_succeeded>(ev)
              || std::holds_alternative<protocol::pledge_failed>(ev);
      released = released || std::holds_alternative<protocol::pledge_released>(ev);
      pledge::apply(st.machine, seq, ev);
    }
    answers.push_back({std::move(current.rp), std::nullopt, first, now, false});
  }
  if (records.empty()) {
    for (auto& a : answers) // only duplicates of committed events can be here
      answer(a.rp, ack_json(st, a.seq, a.at, a.duplicate));
    return;
  }
  std::vector<persistence::timer_change> timers;
  if (auto want = st.machine.next_timer(); want != st.timer_due) {
    timers.push_back({std::string{pledge::timer_kind}, want, want == 0});
    st.timer_due = want;
  }
  if (auto wake = provider_calls_timer_change(!pledge::calls_due(before).empty(),
                                              !pledge::calls_due(st.machine).empty(), now,
                                              st.svc->cfg.timer_retry.count()))
    timers.push_back(std::move(*wake));
  auto batch = ++st.batch;
  auto handle = caf::actor_cast<caf::actor>(self);
  st.in_flight = pledge_in_flight{std::move(answers), std::move(before), batch, ended, released};
  persistence::append_request req{st.id, "pledge", st.committed, std::move(records),
                                  [handle, batch](persistence::result<int64_t> r) {
                                    caf::anon_send(handle, append_done{batch, std::move(r)});
                                  },
                                  std::move(timers)};
  req.ledger = std::move(ledger);
  st.svc->store.append(std::move(req));
}

// -- release (waits for the creator's verification) ----------------------------------------------

void check_release(self_ptr self) {
  auto& st = self->state;
  if (!st.machine.release_due() || st.kyc_reading || !st.svc->db)
    return;
  auto now = self->clock().now();
  if (st.last_kyc_check != caf::actor_clock::time_point{}
      && now - st.last_kyc_check < st.svc->cfg.pledge_kyc_recheck)
    return;
  st.last_kyc_check = now;
  st.kyc_reading = true;
  auto ticket = ++st.kyc_ticket;
  auto handle = caf::actor_cast<caf::actor>(self);
  st.svc->db->wallet_facts(st.machine.creator, st.machine.currency, 0,
                           [handle, ticket](persistence::result<persistence::wallet_facts> r) {
                             caf::anon_send(handle, pledge_kyc_loaded{ticket, std::move(r)});
                           });
}

void on_kyc(self_ptr self, pledge_kyc_loaded& k) {
  auto& st = self->state;
  if (k.ticket != st.kyc_ticket)
    return;
  st.kyc_reading = false;
  if (!k.facts) {
    spdlog::warn("pledge {}: creator's verification not read: {}", st.id.str(), k.facts.error().message);
    return;
  }
  bool verified = k.facts.value().kyc_status == "verified";
  if (!verified) {
    spdlog::info("pledge {}: release held until the creator is verified", st.id.str());
    return;
  }
  enqueue(self, pledge_command{pledge::release{true}}, {});
}

// -- provider calls -----------------------------------------------------------------------------

caf::timespan backoff(int attempt) {
  auto ms = std::chrono::milliseconds(500) * (1 << std::min(attempt, 7));
  return std::min<caf::timespan>(ms, max_call_backoff);
}

std::optional<pledge::provider_call> owed(const pledge::state& m, const std::string& key) {
  for (auto& c : pledge::calls_due(m))
    if (c.key == key)
      return c;
  return std::nullopt;
}

void call(self_ptr self, const std::string& key) {
  auto& st = self->state;
  auto due = owed(st.machine, key);
  if (!due) {
    st.calls.erase(key);
    return;
  }
  auto* provider = st.svc->provider.load();
  if (!provider) {
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
  using k = pledge::provider_call::kind;
  switch (due->what) {
    case k::authorize: {
      payments::intent_request req;
      req.key = key;
      req.amount = due->amount;
      req.currency = due->currency;
      req.payment_method = due->payment_method;
      req.capture = false;
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
  }
}

void make_calls(self_ptr self) {
  auto& st = self->state;
  std::set<std::string> due;
  for (auto& c : pledge::calls_due(st.machine))
    due.insert(c.key);
  for (auto i = st.calls.begin(); i != st.calls.end();)
    i = due.count(i->first) ? std::next(i) : st.calls.erase(i);
  for (auto& key : due)
    if (!st.calls.count(key))
      call(self, key);
}

void on_provider_answer(self_ptr self, provider_answer& a) {
  auto& st = self->state;
  auto cs = st.calls.find(a.key);
  if (cs == st.calls.end() || cs->second.attempts != a.attempt + 1)
    return;
  if (a.ok) {
    cs->second.accepted = true;
    return;
  }
  if (a.retryable) {
    spdlog::warn("pledge {}: provider call {} failed ({}: {}), retrying", st.id.str(), a.key, a.code, a.message);
    self->delayed_send(self, backoff(a.attempt), retry_call_atom_v, a.key);
    return;
  }
  auto due = owed(st.machine, a.key);
  st.calls.erase(cs);
  if (!due)
    return;
  using k = pledge::provider_call::kind;
  switch (due->what) {
    case k::authorize: // refused outright (e.g. not a usable card): the pledge is declined
      enqueue(self, pledge_command{pledge::authorization_result{a.key, false, a.code}}, {});
      return;
    case k::capture:
      enqueue(self,
              pledge_command{pledge::capture_result{
                a.key, false, a.message == "authorization_expired" ? std::string{"authorization_expired"} : a.code}},
              {});
      return;
    case k::cancel: // the authorization is gone already (failed, lapsed, canceled) or never made
      if (a.code == "invalid_state" || a.code == "not_found")
        enqueue(self, pledge_command{pledge::confirm_call{a.key}}, {});
      else
        spdlog::error("pledge {}: provider refused cancel {} ({}: {}); it needs an operator", st.id.str(),
                      a.key, a.code, a.message);
      return;
  }
}

// -- policy and queries -------------------------------------------------------------------------

policy::relation relation_of(const pledge::state& m, const uuid& user) {
  if (m.exists() && user == m.creator)
    return policy::relation::owner;
  if (m.active.count(user))
    return policy::relation::member;
  return policy::relation::stranger;
}

std::optional<caf::error> refused(const pledge::state& m, const pledge_command& c) {
  if (c.role.empty())
    return std::nullopt;
  auto act = std::visit(
    [](const auto& cmd) -> std::optional<std::pair<policy::action, uuid>> {
      using T = std::decay_t<decltype(cmd)>;
      if constexpr (std::is_same_v<T, pledge::launch>)
        return std::pair{policy::action::pledge_launch, cmd.by};
      else if constexpr (std::is_same_v<T, pledge::pledge_cmd>)
        return std::pair{policy::action::pledge_back, cmd.by};
      else if constexpr (std::is_same_v<T, pledge::withdraw>)
        return std::pair{policy::action::pledge_cancel, cmd.by};
      else
        return std::nullopt; // create: judged by the runtime (no target yet)
    },
    c.cmd);
  if (!act)
    return std::nullopt;
  if (auto no = policy::decide(act->first, policy::parse_role(c.role), relation_of(m, act->second)))
    return refuse(no->code, std::string{no->message});
  return std::nullopt;
}

/// A draft is its creator's alone: anyone else is told what a missing campaign tells.
bool hidden_from(const pledge::state& m, const uuid& user) {
  return !m.exists() || (m.status == pledge::campaign_status::draft && user != m.creator);
}

std::string backers_json(const pledge_actor_state& st) {
  const auto& m = st.in_flight ? st.in_flight->before : st.machine;
  nlohmann::json list = nlohmann::json::array();
  for (auto& [id, b] : m.pledges)
    list.push_back({{"pledge", id},
                    {"backer", b.backer.str()},
                    {"tier", b.tier},
                    {"amount", b.amount},
                    {"status", std::string{to_string(b.status)}},
                    {"at", b.at}});
  return nlohmann::json{{"campaign", st.id.str()}, {"backers", std::move(list)}}.dump();
}

void schedule_idle_check(self_ptr self) {
  auto idle = self->state.svc->cfg.passivate_after;
  if (idle.count() > 0)
    schedule_idle_check_after(self, idle);
  else if (!self->state.machine.exists())
    self->delayed_send(self, std::chrono::seconds(2), idle_check_atom_v);
}

caf::behavior running(self_ptr self) {
  auto& st0 = self->state;
  st0.last_active = self->clock().now();
  schedule_idle_check(self);
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& subs = self->state.subscribers;
    for (auto i = subs.begin(); i != subs.end();)
      i = i->address() == dm.source ? subs.erase(i) : std::next(i);
  });
  make_calls(self);
  check_release(self);
  if (auto due = st0.machine.next_timer(); due > 0 && due <= st0.svc->now())
    enqueue(self, pledge_command{pledge::timer_fired{}}, {});
  return {
    [=](pledge_atom, pledge_command& c) -> caf::result<std::string> {
      auto& st = self->state;
      if (auto no = refused(st.machine, c))
        return std::move(*no);
      auto rp = self->make_response_promise();
      enqueue(self, std::move(c), rp);
      return rp;
    },
    [=](pledge_atom, pledge_query& q) -> caf::result<std::string> {
      auto& st = self->state;
      st.last_active = self->clock().now();
      const auto& m = st.in_flight ? st.in_flight->before : st.machine;
      auto what = q.backers ? policy::action::pledge_backers : policy::action::pledge_get;
      auto rel = relation_of(m, q.user);
      if (auto no = policy::decide(what, policy::parse_role(q.role), rel))
        return refuse(no->code, std::string{no->message});
      if (hidden_from(m, q.user))
        return refuse(protocol::error_code::not_found, "no such pledge campaign");
      return q.backers ? backers_json(st) : view_json(st).dump();
    },
    [=](pledge_atom, pledge_subscribe& s) -> caf::result<std::string> {
      auto& st = self->state;
      const auto& m = st.in_flight ? st.in_flight->before : st.machine;
      if (s.unsubscribe) {
        st.subscribers.erase(s.subscriber);
        return nlohmann::json{{"campaign", st.id.str()}}.dump();
      }
      if (auto no = policy::decide(policy::action::pledge_subscribe, policy::parse_role(s.role), relation_of(m, s.user)))
        return refuse(no->code, std::string{no->message});
      if (hidden_from(m, s.user))
        return refuse(protocol::error_code::not_found, "no such pledge campaign");
      if (st.subscribers.insert(s.subscriber).second)
        self->monitor(s.subscriber);
      st.last_active = self->clock().now();
      return view_json(st).dump();
    },
    [=](progress_atom) {
      self->state.progress_scheduled = false;
      push_progress(self);
    },
    [=](timer_atom, const std::string& kind, millis) {
      if (kind == provider_calls_timer) {
        if (!self->state.in_flight) // the machine is ahead of the journal while one is: its calls
          make_calls(self);         // wait for the commit (on_appended makes them)
        return;
      }
      if (self->state.machine.release_due()) {
        check_release(self);
        return;
      }
      enqueue(self, pledge_command{pledge::timer_fired{}}, {});
    },
    [=](append_done& d) { on_appended(self, d); },
    [=](pledge_kyc_loaded& k) { on_kyc(self, k); },
    [=](provider_answer& a) { on_provider_answer(self, a); },
    [=](retry_call_atom, const std::string& key) { call(self, key); },
    [=](idle_check_atom) {
      auto& st = self->state;
      if (st.retiring)
        return;
      bool calls_settled = std::all_of(st.calls.begin(), st.calls.end(), [](const auto& c) { return c.second.accepted; });
      auto idle = st.machine.exists() ? st.svc->cfg.passivate_after : caf::timespan{std::chrono::seconds(2)};
      if (!st.in_flight && st.queued.empty() && calls_settled && st.subscribers.empty() && idle.count() > 0
          && self->clock().now() - st.last_active >= idle) {
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

void load_next(self_ptr self) {
  auto handle = caf::actor_cast<caf::actor>(self);
  self->state.svc->store.read_events(self->state.id, self->state.machine.head, 0, 1000, false,
                                     [handle](auto r) { caf::anon_send(handle, events_loaded{std::move(r)}); });
}

} // namespace

caf::actor spawn_pledge(caf::local_actor* parent, services* svc, uuid id) {
  auto init = [](self_ptr self, services* svc, uuid id) -> caf::behavior {
    auto& st = self->state;
    st.svc = svc;
    ++svc->activations;
    st.id = id;
    st.stream = protocol::pledge_stream(id);
    st.machine.id = id;
    st.rules = svc->cfg.pledge_rules;
    self->set_default_handler(caf::skip);
    load_next(self);
    return {
      [=](events_loaded& loaded) {
        auto& st = self->state;
        if (!loaded.events) {
          spdlog::warn("pledge {}: recovery failed: {}", st.id.str(), loaded.events.error().message);
          self->quit(refuse(from_persistence(loaded.events.error().code), "could not load the campaign"));
          return;
        }
        auto& rows = loaded.events.value();
        for (auto& rec : rows) {
          auto ev = protocol::decode_pledge_event(rec.type, rec.version, rec.payload);
          if (!ev || rec.seq != st.machine.head + 1) {
            spdlog::error("pledge {}: journal is unreadable at seq {}: {}", st.id.str(), rec.seq,
                          ev ? "sequence gap" : ev.error());
            self->quit(refuse(protocol::error_code::internal, "corrupt journal"));
            return;
          }
          pledge::apply(st.machine, rec.seq, ev.value());
        }
        if (rows.size() == 1000) {
          load_next(self);
          return;
        }
        st.committed = st.machine.head;
        st.timer_due = st.machine.next_timer();
        self->set_default_handler(caf::print_and_drop);
        self->become(running(self));
      },
    };
  };
  return parent->spawn(init, svc, id);
}

} // namespace pactum::actors
