// The conversation entity actor: thin CAF glue around conversation_machine.
//
// Lifecycle: spawned by the directory on the first message for its id. It first replays its
// journal (skipping every other message until done), then serves. A conversation whose journal is
// empty does not exist: it answers `forbidden` for a short while and stops. A failed journal
// append stops it (its state may be ahead of the database); the directory re-activates it from the
// database on the next message.
//
// Ownership and threading: one CAF actor, so its state is only touched by whichever scheduler
// thread runs it. Persistence callbacks run on persistence threads and only send it messages.
//
// Recovery is the latest snapshot plus the journal after it. A snapshot is written every
// `snapshot_every` events and when the actor passivates. Passivation: with no subscriber and no
// command for `passivate_after`, it asks the directory to retire it; the directory stops routing
// to it (holding new lookups) and tells it to go; it finishes what is in flight, snapshots, stops,
// and the directory re-activates the id on the next message.
//
// Commands are batched: while one append is in flight, new commands queue; when it commits, all
// queued commands are decided together and journaled in one append. That keeps per-entity order,
// acknowledges only after commit, and lets group commit fold many entities into one transaction.

#include <deque>
#include <map>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "entity_support.hpp"
#include "message_types.hpp"
#include "pactum/actors/policy.hpp"
#include "pactum/persistence/profile_store.hpp"
#include "pactum/persistence/settlement_store.hpp"
#include "services.hpp"
#include "notifications.hpp"

namespace pactum::actors {

namespace {

struct cached_event {
  int64_t seq;
  protocol::push_frame_ptr frame;
};

struct pending_post {
  post_command cmd;
  caf::response_promise rp;
};

struct unacked {
  caf::response_promise rp; ///< not pending for the actor's own commands (timer expiries)
  int64_t seq;
  millis at;
  bool duplicate;
  uuid contract = {};
};


struct waiting_read {
  caf::response_promise rp;
  history_query query; // for history reads
  int64_t head = 0;    // for gap reads
};

} // namespace

struct conversation_state {
  static inline const char* name = "conversation";

  services* svc = nullptr;
  uuid id;
  std::string stream;
  conversation::state machine;
  conversation::rules rules;
  int64_t committed = 0;
  std::deque<cached_event> tail;
  std::map<caf::actor_addr, caf::actor> subscribers;
  std::map<caf::actor_addr, uuid> subscriber_users; ///< whose session each subscriber is (notifications)
  std::vector<pending_post> queued;
  std::vector<unacked> in_flight;
  std::vector<protocol::push_frame_ptr> in_flight_frames;
  /// `contract.opened` (seq 1 of `contract:<id>`) of the contracts the in-flight batch creates:
  /// pushed to both parties once it is committed, as the contract actor pushes its later events.
  std::vector<protocol::push_frame_ptr> in_flight_contract_frames;
  std::vector<std::pair<int64_t, conversation::guard_finding>> in_flight_findings;
  bool appending = false; ///< an append (or the brand-country lookup before one) is in flight
  uint64_t batch = 0;
  /// The brand's country for the batch about to start, looked up fresh before every batch that
  /// accepts an offer (acceptances are rare; a country changed a minute ago must count).
  std::optional<std::string> brand_country;
  /// Read with the country: the terms of the conversation's cpc/cpv campaign, if it serves one
  /// (an accepted offer then opens a performance contract; docs/contracts.md).
  std::optional<protocol::performance_terms> performance;
  std::string performance_currency;
  bool country_ready = false;
  bool country_failed = false;
  uint64_t next_ticket = 0;
  std::map<uint64_t, waiting_read> reads;
  std::map<uuid, caf::actor_clock::time_point> last_typing; ///< per member, for the throttle
  std::map<uuid, int64_t> delivered; ///< per member, ephemeral (lost on passivation or restart)
  int64_t snapshot_seq = 0;           ///< seq of the latest snapshot written or loaded
  millis timer_due = 0; ///< the offer-expiry timer as stored with the last append (0: none)
  caf::actor_clock::time_point last_active;
  bool retiring = false;              ///< the directory told us to passivate
};

namespace {

using self_ptr = caf::stateful_actor<conversation_state>*;



void remember(self_ptr self, int64_t seq, protocol::push_frame_ptr frame) {
  auto& st = self->state;
  st.tail.push_back({seq, std::move(frame)});
  while (st.tail.size() > st.svc->cfg.tail_cache)
    st.tail.pop_front();
}

/// Puts a guard finding in the moderators' queue (and the sender's strike record). Off the actor:
/// the pool does the write; a failure is logged (the stored event itself shows what was masked).
void record_finding(self_ptr self, int64_t seq, conversation::guard_finding f) {
  auto& st = self->state;
  spdlog::info("conversation {}: guard {} {} from {} ({})", st.id.str(), f.action,
               seq > 0 ? "seq " + std::to_string(seq) : std::string{"attempt"}, f.sender.str(),
               f.categories.empty() ? "" : f.categories.front());
  if (!st.svc->db)
    return;
  persistence::guard_hit_row row;
  row.conversation = st.id;
  row.sender = f.sender;
  row.seq = seq;
  row.action = std::move(f.action);
  row.categories = std::move(f.categories);
  row.original = std::move(f.original);
  auto id = st.id;
  st.svc->db->record_guard_hit(std::move(row), [id](persistence::result<persistence::unit> r) {
    if (!r)
      spdlog::error("conversation {}: guard finding not recorded: {}", id.str(), r.error().message);
  });
}

void take_snapshot(self_ptr self) {
  auto& st = self->state;
  if (st.committed <= st.snapshot_seq || st.appending)
    return; // nothing new, or state is ahead of storage
  st.snapshot_seq = st.committed;
  persistence::snapshot_record snap{st.committed, conversation::snapshot_version,
                                    conversation::encode_snapshot(st.machine)};
  auto id = st.id;
  st.svc->store.save_snapshot(id, "conversation", std::move(snap),
                              [id](persistence::result<persistence::unit> r) {
                                if (!r) // an optimisation only: recovery replays more events
                                  spdlog::warn("conversation {}: snapshot not saved: {}", id.str(),
                                               r.error().message);
                              });
}

bool busy(const conversation_state& st) {
  return st.appending || !st.queued.empty() || !st.reads.empty();
}

/// Stops once nothing is in flight, after the directory asked us to passivate.
void try_retire(self_ptr self) {
  if (!self->state.retiring || busy(self->state))
    return;
  take_snapshot(self);
  ++self->state.svc->passivations;
  spdlog::debug("conversation {}: passivated at seq {}", self->state.id.str(), self->state.committed);
  self->quit();
}

void touch(self_ptr self) {
  self->state.last_active = self->clock().now();
}

protocol::push_frame_ptr make_frame(const std::string& stream, int64_t seq, std::string payload) {
  return std::make_shared<protocol::push_frame>(
    stream, seq, std::make_shared<const std::string>(std::move(payload)));
}

/// Everyone who reads and writes as a member: the brand and the creator of a pair, or the brand
/// and the creators who entered a campaign room.
std::vector<uuid> members_of(const conversation::state& s) {
  std::vector<uuid> out{s.brand};
  if (!s.creator.is_nil())
    out.push_back(s.creator);
  out.insert(out.end(), s.room_members.begin(), s.room_members.end());
  return out;
}

/// How `user` stands to the conversation as a whole.
policy::relation relation_of(const conversation::state& s, const uuid& user) {
  if (s.is_member(user))
    return policy::relation::member;
  if (s.is_participant(user))
    return policy::relation::moderator;
  return policy::relation::stranger;
}

/// How `user` stands to one message or offer of it: its author (owner), another participant
/// (counterparty), or a stranger to the conversation. A target that is not known counts as the
/// caller's own, so that the machine answers it is not found.
policy::relation relation_to_target(const conversation::state& s, const uuid& user,
                                    std::optional<uuid> author, bool offer) {
  auto rel = relation_of(s, user);
  if (rel == policy::relation::stranger || (offer && rel == policy::relation::moderator))
    return rel;
  if (!author)
    return policy::relation::owner;
  return *author == user ? policy::relation::owner : policy::relation::counterparty;
}

/// The policy's verdict on a queued command, decided against the state the command meets (a
/// moderator who joined earlier in the batch is a participant). nullopt: allowed, or a system
/// command (offer expiry, dispute notes).
std::optional<caf::error> refused(const conversation::state& s, const post_command& p) {
  if (p.role.empty())
    return std::nullopt;
  auto message_author = [&](int64_t seq) -> std::optional<uuid> {
    if (auto i = s.messages.find(seq); i != s.messages.end())
      return i->second.author;
    return std::nullopt;
  };
  auto offer_author = [&](int64_t seq) -> std::optional<uuid> {
    if (auto i = s.offers.find(seq); i != s.offers.end())
      return i->second.by;
    return std::nullopt;
  };
  auto judged = std::visit(
    [&](const auto& cmd) -> std::optional<std::pair<policy::action, policy::relation>> {
      using T = std::decay_t<decltype(cmd)>;
      using policy::action;
      if constexpr (std::is_same_v<T, conversation::post_message>)
        return std::pair{action::message_send, relation_of(s, cmd.author)};
      else if constexpr (std::is_same_v<T, conversation::edit_message>)
        return std::pair{action::message_edit,
                         relation_to_target(s, cmd.by, message_author(cmd.target), false)};
      else if constexpr (std::is_same_v<T, conversation::delete_message>)
        return std::pair{action::message_delete,
                         relation_to_target(s, cmd.by, message_author(cmd.target), false)};
      else if constexpr (std::is_same_v<T, conversation::mark_read>)
        return std::pair{action::read, relation_of(s, cmd.member)};
      else if constexpr (std::is_same_v<T, conversation::make_offer>)
        return std::pair{action::offer_make, relation_of(s, cmd.by)};
      else if constexpr (std::is_same_v<T, conversation::answer_offer>) {
        auto what = cmd.what == conversation::answer::accept    ? action::offer_accept
                    : cmd.what == conversation::answer::decline ? action::offer_decline
                                                                : action::offer_withdraw;
        return std::pair{what, relation_to_target(s, cmd.by, offer_author(cmd.offer), true)};
      } else if constexpr (std::is_same_v<T, conversation::join>)
        return std::pair{action::conversation_join, relation_of(s, cmd.user)};
      else
        return std::nullopt;
    },
    p.cmd);
  if (!judged)
    return std::nullopt;
  if (auto no = policy::decide(judged->first, policy::parse_role(p.role), judged->second))
    return refuse(no->code, std::string{no->message});
  return std::nullopt;
}

/// The policy's verdict on a read-side request (subscribe, history, typing, delivered).
std::optional<caf::error> refused(const conversation::state& s, policy::action what, const uuid& user,
                                  const std::string& role) {
  if (auto no = policy::decide(what, policy::parse_role(role), relation_of(s, user)))
    return refuse(no->code, std::string{no->message});
  return std::nullopt;
}

/// Whether a queued command accepts an offer (it opens a contract, whose funding mode follows the
/// brand's country).
bool accepts_offer(const conversation_state& st) {
  for (auto& p : st.queued)
    if (auto* a = std::get_if<conversation::answer_offer>(&p.cmd.cmd);
        a && a->what == conversation::answer::accept)
      return true;
  return false;
}

/// Looks the brand's country up off the CAF threads; start_batch runs again when it arrives.
/// Holds `appending` meanwhile so nothing else starts a batch and the actor does not passivate.
void look_up_brand_country(self_ptr self) {
  auto& st = self->state;
  st.appending = true;
  auto handle = caf::actor_cast<caf::actor>(self);
  auto* db = st.svc->db;
  auto conversation = st.id;
  persistence::load_brand_profile(
    *db, st.machine.brand, [handle, db, conversation](persistence::result<persistence::brand_profile_row> r) {
      brand_country_loaded out;
      if (r)
        out.country = r.value().country;
      else if (r.error().code != persistence::errc::not_found)
        out.failed = true;
      // Then the campaign's pricing: a cpc/cpv campaign makes the contract a performance one.
      persistence::performance_pricing(
        *db, conversation,
        [handle, out = std::move(out)](persistence::result<std::optional<persistence::campaign_pricing>> p) mutable {
          if (!p)
            out.failed = true;
          else if (p.value()) {
            auto& c = *p.value();
            out.performance = protocol::performance_terms{c.campaign, c.model, c.rate, c.ends_at};
            out.performance_currency = c.currency;
          }
          caf::anon_send(handle, std::move(out));
        });
    });
}

void start_batch(self_ptr self) {
  auto& st = self->state;
  if (st.svc->db && !st.country_ready && accepts_offer(st)) {
    look_up_brand_country(self);
    return;
  }
  auto now = st.svc->now();
  std::vector<persistence::event_record> records;
  std::vector<persistence::new_entity> creates;
  for (auto& p : st.queued) {
    if (auto no = refused(st.machine, p.cmd)) {
      answer(p.rp, std::move(*no));
      continue;
    }
    if (auto* a = std::get_if<conversation::answer_offer>(&p.cmd.cmd);
        a && a->what == conversation::answer::accept && st.country_failed) {
      // Without the brand's country the contract's funding mode is unknown: opening it in the
      // default mode could hold escrow where that is restricted. Nothing is stored; retry.
      answer(p.rp, refuse(protocol::error_code::unavailable,
                          "the brand's profile could not be read; retry (with the same client_id)"));
      continue;
    }
    auto d = std::visit(
      [&](const auto& cmd) { return conversation::decide(st.machine, cmd, now, st.rules); },
      p.cmd.cmd);
    if (auto* r = std::get_if<conversation::refusal>(&d)) {
      if (r->guard)
        record_finding(self, 0, std::move(*r->guard));
      answer(p.rp, refuse(r->code, r->message));
    } else if (auto* dup = std::get_if<conversation::duplicate>(&d)) {
      if (dup->seq <= st.committed)
        answer(p.rp, protocol::message_ack_reply{st.id, dup->seq, dup->at, true, dup->contract});
      else // a retry of a command in this very batch: answer after commit
        st.in_flight.push_back({p.rp, dup->seq, dup->at, true, dup->contract});
    } else {
      auto& ev = std::get<conversation::accepted>(d).event;
      auto seq = st.machine.head + 1;
      if (auto& finding = std::get<conversation::accepted>(d).guard)
        st.in_flight_findings.emplace_back(seq, std::move(*finding));
      auto payload = protocol::encode_event(ev);
      records.push_back({seq, std::string{protocol::event_type(ev)}, protocol::event_version(ev),
                         payload, now});
      if (auto* acc = std::get_if<protocol::offer_accepted>(&ev)) {
        // The deal's contract starts in the same transaction as the acceptance: neither can
        // exist without the other. Its terms are the offer's (kept while it was pending).
        const auto& offer = st.machine.offers.at(acc->offer);
        // The funding mode follows the brand's country (brand_profiles.country, read just
        // before this batch); a brand without a profile gets the configured default mode.
        std::optional<std::string_view> brand_country;
        if (st.brand_country)
          brand_country = *st.brand_country;
        auto mode = choose_funding_mode(st.svc->cfg.funding, brand_country);
        // A cpc/cpv campaign's deal is a performance contract: its amount is the creator's cap,
        // paid per valid click or view (docs/contracts.md). Escrow mode and the campaign's
        // currency only; otherwise it stays an ordinary contract.
        std::optional<protocol::performance_terms> performance;
        if (st.performance && mode == protocol::funding_mode::escrow
            && st.performance_currency == offer.terms.value().currency)
          performance = st.performance;
        protocol::contract_event opened = protocol::contract_opened{
          st.id, acc->offer, st.machine.brand, st.machine.creator, offer.terms.value(), now,
          mode, std::move(performance)};
        auto opened_payload = protocol::encode_contract_event(opened);
        st.in_flight_contract_frames.push_back(
          make_frame(protocol::contract_stream(acc->contract), 1, opened_payload));
        creates.push_back({acc->contract, "contract",
                           {{1, std::string{protocol::contract_event_type(opened)},
                             protocol::contract_event_version(opened), std::move(opened_payload), now}}});
      }
      conversation::apply(st.machine, seq, ev, st.rules);
      st.in_flight_frames.push_back(make_frame(st.stream, seq, std::move(payload)));
      uuid contract;
      if (auto* acc = std::get_if<protocol::offer_accepted>(&ev))
        contract = acc->contract;
      st.in_flight.push_back({p.rp, seq, now, false, contract});
    }
  }
  st.queued.clear();
  st.country_ready = false; // the next acceptance reads the country afresh
  st.country_failed = false;
  if (records.empty())
    return;
  // The offer-expiry timer follows the state: stored in the same transaction as the events that
  // move it, so it can neither fire for an offer already answered nor be lost in a crash.
  std::vector<persistence::timer_change> timers;
  if (auto want = st.machine.next_offer_expiry(); want != st.timer_due) {
    timers.push_back({std::string{conversation::offer_timer_kind}, want, want == 0});
    st.timer_due = want;
    spdlog::debug("conversation {}: offer timer now due at {}", st.id.str(), want);
  }
  st.appending = true;
  auto batch = ++st.batch;
  auto handle = caf::actor_cast<caf::actor>(self);
  persistence::append_request req{st.id, "conversation", st.committed, std::move(records),
                                  [handle, batch](persistence::result<int64_t> r) {
                                    caf::anon_send(handle, append_done{batch, std::move(r)});
                                  },
                                  std::move(timers)};
  req.creates = std::move(creates);
  st.svc->store.append(std::move(req));
}

/// The users with a live session subscribed here (they see messages as they come).
std::set<uuid> viewing_users(const conversation_state& st) {
  std::set<uuid> out;
  for (auto& [addr, sub] : st.subscribers)
    if (auto u = st.subscriber_users.find(addr); u != st.subscriber_users.end())
      out.insert(u->second);
  return out;
}

void on_appended(self_ptr self, append_done& done) {
  auto& st = self->state;
  if (done.batch != st.batch || !st.appending)
    return;
  st.appending = false;
  if (!done.head) {
    auto code = from_persistence(done.head.error().code);
    spdlog::warn("conversation {}: append failed ({}): {}; stopping to re-activate from storage",
                 st.id.str(), persistence::to_string(done.head.error().code),
                 done.head.error().message);
    for (auto& u : st.in_flight)
      answer(u.rp, refuse(code, "nothing was stored; retry (with the same client_id)"));
    for (auto& p : st.queued)
      answer(p.rp, refuse(code, "nothing was stored; retry (with the same client_id)"));
    st.in_flight.clear();
    st.queued.clear();
    st.in_flight_contract_frames.clear();
    st.in_flight_findings.clear(); // not stored, so nothing was shown; a retry is screened again
    self->quit(refuse(code, "journal append failed"));
    return;
  }
  st.committed = done.head.value();
  for (auto& frame : st.in_flight_frames) {
    remember(self, frame->seq(), frame);
    for (auto& [addr, sub] : st.subscribers)
      self->send(sub, push_atom_v, st.id, frame);
  }
  for (auto& frame : st.in_flight_contract_frames)
    for (const auto& user : {st.machine.brand, st.machine.creator})
      self->send(st.svc->registry, notify_atom_v, user, frame);
  st.in_flight_contract_frames.clear();
  notify_conversation_events(*st.svc, st.id, st.machine.brand, st.machine.creator, st.in_flight_frames,
                             viewing_users(st));
  for (auto& u : st.in_flight)
    answer(u.rp, protocol::message_ack_reply{st.id, u.seq, u.at, u.duplicate, u.contract});
  st.in_flight.clear();
  st.in_flight_frames.clear();
  for (auto& [seq, finding] : st.in_flight_findings)
    record_finding(self, seq, std::move(finding));
  st.in_flight_findings.clear();
  if (!st.queued.empty())
    start_batch(self);
  if (st.svc->cfg.snapshot_every > 0
      && static_cast<size_t>(st.committed - st.snapshot_seq) >= st.svc->cfg.snapshot_every)
    take_snapshot(self);
  try_retire(self);
}

/// Events in (after, upper) from the in-memory tail, or nullopt if the tail does not reach back.
std::optional<std::vector<const cached_event*>> from_tail(const conversation_state& st,
                                                          int64_t first, int64_t last) {
  std::vector<const cached_event*> out;
  if (first > last)
    return out;
  if (st.tail.empty() || st.tail.front().seq > first)
    return std::nullopt;
  for (auto& ev : st.tail)
    if (ev.seq >= first && ev.seq <= last)
      out.push_back(&ev);
  return out;
}

/// The subscribe reply: head, every member's read mark, the subscriber's unread count.
protocol::subscribe_reply reply_for(const conversation_state& st, const uuid& user, int64_t head) {
  protocol::subscribe_reply reply{st.id, head, {}, st.machine.unread(user)};
  for (auto& [member, mark] : st.machine.reads)
    reply.read_marks.emplace_back(member, mark.upto);
  for (auto member : members_of(st.machine)) {
    int64_t mark = 0;
    if (auto i = st.machine.reads.find(member); i != st.machine.reads.end())
      mark = i->second.upto;
    if (auto i = st.delivered.find(member); i != st.delivered.end())
      mark = std::max(mark, i->second);
    if (mark > 0)
      reply.delivered_marks.emplace_back(member, mark);
  }
  return reply;
}

caf::result<subscribe_result> on_subscribe(self_ptr self, subscribe_query& q) {
  auto& st = self->state;
  if (auto no = refused(st.machine, policy::action::subscribe, q.user, q.role))
    return std::move(*no);
  auto after = std::min(q.after, st.committed);
  if (static_cast<size_t>(st.committed - after) > st.svc->cfg.max_gap)
    return refuse(protocol::error_code::bad_request,
                  "more than " + std::to_string(st.svc->cfg.max_gap)
                    + " events to replay: page with 'history' first, then subscribe closer to "
                      "the head");
  if (!st.subscribers.count(q.subscriber.address())) {
    self->monitor(q.subscriber);
    st.subscribers.emplace(q.subscriber.address(), q.subscriber);
    st.subscriber_users[q.subscriber.address()] = q.user;
  }
  subscribe_result result{caf::actor_cast<caf::actor>(self), reply_for(st, q.user, st.committed), {},
                          members_of(st.machine)};
  if (auto cached = from_tail(st, after + 1, st.committed)) {
    for (auto* ev : *cached)
      result.gap.push_back(ev->frame);
    return result;
  }
  auto rp = self->make_response_promise();
  auto ticket = ++st.next_ticket;
  st.reads.emplace(ticket, waiting_read{rp, history_query{{}, q.user, q.role}, st.committed});
  auto handle = caf::actor_cast<caf::actor>(self);
  st.svc->store.read_events(st.id, after, st.committed + 1, st.committed - after, false,
                         [handle, ticket](auto r) {
                           caf::anon_send(handle, gap_loaded{ticket, std::move(r)});
                         });
  return rp;
}

void on_gap_loaded(self_ptr self, gap_loaded& g) {
  auto& st = self->state;
  auto i = st.reads.find(g.ticket);
  if (i == st.reads.end())
    return;
  auto w = std::move(i->second);
  st.reads.erase(i);
  if (!g.events) {
    w.rp.deliver(refuse(from_persistence(g.events.error().code), g.events.error().message));
    return;
  }
  subscribe_result result{caf::actor_cast<caf::actor>(self), reply_for(st, w.query.user, w.head), {},
                          members_of(st.machine)};
  for (auto& rec : g.events.value())
    result.gap.push_back(make_frame(st.stream, rec.seq, std::move(rec.payload)));
  w.rp.deliver(std::move(result));
  try_retire(self);
}

caf::result<protocol::history_reply> on_history(self_ptr self, history_query& q) {
  auto& st = self->state;
  if (auto no = refused(st.machine, policy::action::history, q.user, q.role))
    return std::move(*no);
  auto upper = q.req.before == 0 ? st.committed + 1 : std::min(q.req.before, st.committed + 1);
  int64_t limit = q.req.limit;
  bool forward = q.req.after > 0;
  int64_t first = forward ? q.req.after + 1 : std::max<int64_t>(upper - limit, 1);
  int64_t last = forward ? std::min(q.req.after + limit, upper - 1) : upper - 1;
  if (auto cached = from_tail(st, first, last)) {
    protocol::history_reply reply{st.id, {}, forward ? last < upper - 1 : first > 1};
    for (auto* ev : *cached)
      reply.events.push_back({ev->seq, ev->frame->event_msgpack()});
    return reply;
  }
  auto rp = self->make_response_promise();
  auto ticket = ++st.next_ticket;
  st.reads.emplace(ticket, waiting_read{rp, q, 0});
  auto handle = caf::actor_cast<caf::actor>(self);
  st.svc->store.read_events(st.id, forward ? q.req.after : 0, upper, static_cast<size_t>(limit) + 1,
                         !forward, [handle, ticket](auto r) {
                           caf::anon_send(handle, history_loaded{ticket, std::move(r)});
                         });
  return rp;
}

void on_history_loaded(self_ptr self, history_loaded& h) {
  auto& st = self->state;
  auto i = st.reads.find(h.ticket);
  if (i == st.reads.end())
    return;
  auto w = std::move(i->second);
  st.reads.erase(i);
  if (!h.events) {
    w.rp.deliver(refuse(from_persistence(h.events.error().code), h.events.error().message));
    return;
  }
  auto& rows = h.events.value();
  protocol::history_reply reply{st.id, {}, rows.size() > w.query.req.limit};
  if (reply.more)
    rows.pop_back(); // the extra row only told us there is more
  if (w.query.req.after == 0)
    std::reverse(rows.begin(), rows.end()); // newest-first from storage; pages read oldest first
  for (auto& rec : rows)
    reply.events.push_back({rec.seq, std::move(rec.payload)});
  w.rp.deliver(std::move(reply));
  try_retire(self);
}

void schedule_idle_check(self_ptr self) {
  schedule_idle_check_after(self, self->state.svc->cfg.passivate_after);
}

/// Queues an entry into a campaign room (vouched for by the campaign actor). Into a room not
/// opened yet, the brand's entry goes first and opens it, in the same batch, so a creator who
/// comes before the brand still finds a room.
caf::result<protocol::message_ack_reply> enter_room(self_ptr self, post_command& c) {
  auto& st = self->state;
  touch(self);
  auto e = std::get<conversation::enter_room>(c.cmd);
  if (!st.machine.exists() && e.user != e.brand)
    st.queued.push_back({post_command{conversation::enter_room{e.brand, e.campaign, e.brand}}, {}});
  auto rp = self->make_response_promise();
  st.queued.push_back({std::move(c), rp});
  if (!st.appending)
    start_batch(self);
  return rp;
}

caf::behavior running(self_ptr self) {
  touch(self);
  schedule_idle_check(self);
  return {
    [=](post_atom, post_command& c) -> caf::result<protocol::message_ack_reply> {
      if (std::holds_alternative<conversation::enter_room>(c.cmd))
        return enter_room(self, c);
      touch(self);
      auto rp = self->make_response_promise();
      self->state.queued.push_back({std::move(c), rp});
      if (!self->state.appending)
        start_batch(self);
      return rp;
    },
    [=](append_done& d) { on_appended(self, d); },
    [=](brand_country_loaded& c) {
      auto& st = self->state;
      st.appending = false;
      st.brand_country = std::move(c.country);
      st.performance = std::move(c.performance);
      st.performance_currency = std::move(c.performance_currency);
      st.country_failed = c.failed;
      st.country_ready = true;
      start_batch(self);
      try_retire(self);
    },
    [=](caf::subscribe_atom, subscribe_query& q) {
      touch(self);
      return on_subscribe(self, q);
    },
    [=](caf::leave_atom, const caf::actor& subscriber) {
      self->state.subscriber_users.erase(subscriber.address());
      if (self->state.subscribers.erase(subscriber.address()) > 0)
        self->demonitor(subscriber);
    },
    [=](gap_loaded& g) { on_gap_loaded(self, g); },
    [=](history_atom, history_query& q) {
      touch(self);
      return on_history(self, q);
    },
    [=](history_loaded& h) { on_history_loaded(self, h); },
    [=](typing_atom, const uuid& user, const std::string& role) -> caf::result<protocol::typing_reply> {
      // Ephemeral: pushed to subscribers without a seq, never journaled, at most one per member
      // every two seconds (clients send it on every keystroke).
      auto& st = self->state;
      if (auto no = refused(st.machine, policy::action::typing, user, role))
        return std::move(*no);
      touch(self);
      auto now = self->clock().now();
      auto& last = st.last_typing[user];
      if (last != caf::actor_clock::time_point{} && now - last < std::chrono::seconds(2))
        return protocol::typing_reply{false};
      last = now;
      nlohmann::json ev{{"type", "typing"}, {"user", user.str()}, {"at", st.svc->now()}};
      auto bytes = nlohmann::json::to_msgpack(ev);
      auto frame = make_frame(st.stream, 0, std::string{bytes.begin(), bytes.end()});
      for (auto& [addr, sub] : st.subscribers)
        self->send(sub, push_atom_v, st.id, frame);
      return protocol::typing_reply{true};
    },
    [=](timer_atom, const std::string& kind, millis due) {
      // From the sweeper (at least once per due timer): queue an expiry for every pending offer
      // that is due. The machine refuses one already answered or expired, so a repeated or stale
      // timer changes nothing, and an expiry is journaled exactly once.
      auto& st = self->state;
      auto now = st.svc->now();
      size_t due_offers = 0;
      for (auto& [seq, o] : st.machine.offers)
        if (o.status == conversation::offer_status::pending && o.expires_at <= now) {
          st.queued.push_back({post_command{conversation::expire_offer{seq}}, {}});
          ++due_offers;
        }
      spdlog::debug("conversation {}: timer {} due at {}: {} offer(s) to expire", st.id.str(), kind,
                    due, due_offers);
      if (due_offers > 0 && !st.appending)
        start_batch(self);
    },
    [=](delivered_atom, const uuid& user, int64_t seq,
        const std::string& role) -> caf::result<protocol::delivered_reply> {
      // Ephemeral like typing: pushed without a seq, never journaled; marks only move forward.
      auto& st = self->state;
      if (auto no = refused(st.machine, policy::action::delivered, user, role))
        return std::move(*no);
      if (seq > st.committed)
        return refuse(protocol::error_code::bad_request, "seq is beyond the conversation's head");
      touch(self);
      auto& mark = st.delivered[user];
      int64_t read = 0;
      if (auto i = st.machine.reads.find(user); i != st.machine.reads.end())
        read = i->second.upto;
      if (seq <= std::max(mark, read))
        return protocol::delivered_reply{false};
      mark = seq;
      nlohmann::json ev{{"type", "delivered"}, {"member", user.str()}, {"seq", seq}, {"at", st.svc->now()}};
      auto bytes = nlohmann::json::to_msgpack(ev);
      auto frame = make_frame(st.stream, 0, std::string{bytes.begin(), bytes.end()});
      for (auto& [addr, sub] : st.subscribers)
        self->send(sub, push_atom_v, st.id, frame);
      return protocol::delivered_reply{true};
    },
    [=](idle_check_atom) {
      auto& st = self->state;
      if (st.retiring)
        return;
      if (st.subscribers.empty() && !busy(st)
          && self->clock().now() - st.last_active >= st.svc->cfg.passivate_after) {
        self->send(st.svc->directory, passivate_atom_v, st.id); // ask; it answers passivate
        return;
      }
      schedule_idle_check(self);
    },
    [=](passivate_atom) {
      self->state.retiring = true;
      try_retire(self);
    },
    [=](expire_atom) {}, // the `absent` behaviour's timer, after a room opened
  };
}

/// A conversation with an empty journal: refuse everything briefly, then stop.
caf::behavior absent(self_ptr self) {
  // Everyone is a stranger to a conversation that does not exist: the policy's stranger answer.
  auto no = [] {
    auto& r = policy::rule_of(policy::action::message_send).denied_stranger;
    return refuse(r.code, std::string{r.message});
  };
  self->delayed_send(self, std::chrono::seconds(2), expire_atom_v);
  return {
    [=](post_atom, post_command& c) -> caf::result<protocol::message_ack_reply> {
      if (!std::holds_alternative<conversation::enter_room>(c.cmd))
        return no();
      self->become(running(self)); // a campaign room's first entry opens it
      return enter_room(self, c);
    },
    [=](caf::subscribe_atom, subscribe_query&) -> caf::result<subscribe_result> { return no(); },
    [=](history_atom, history_query&) -> caf::result<protocol::history_reply> { return no(); },
    [=](typing_atom, const uuid&, const std::string&) -> caf::result<protocol::typing_reply> {
      return no();
    },
    [=](delivered_atom, const uuid&, int64_t,
        const std::string&) -> caf::result<protocol::delivered_reply> { return no(); },
    [=](caf::leave_atom, const caf::actor&) {},
    [=](timer_atom, const std::string&, millis) {},
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

caf::actor spawn_conversation(caf::local_actor* parent, services* svc, uuid id) {
  auto init = [](caf::stateful_actor<conversation_state>* self, services* svc,
                 uuid id) -> caf::behavior {
    auto& st = self->state;
    st.svc = svc;
    ++svc->activations;
    st.id = id;
    st.stream = protocol::conversation_stream(id);
    st.machine.id = id;
    st.rules.dedup_window = svc->cfg.dedup_window;
    st.rules.edit_window = std::chrono::duration_cast<std::chrono::milliseconds>(svc->cfg.edit_window).count();
    st.rules.max_pending_offers = svc->cfg.max_pending_offers;
    st.rules.max_members = svc->cfg.max_members;
    st.rules.max_room_members = svc->cfg.max_room_members;
    st.rules.guard = svc->cfg.guard_policy;
    self->set_down_handler([=](caf::down_msg& dm) {
      self->state.subscribers.erase(dm.source);
      self->state.subscriber_users.erase(dm.source);
    });
    self->set_default_handler(caf::skip); // hold commands until the journal is replayed
    auto handle = caf::actor_cast<caf::actor>(self);
    svc->store.load_snapshot(id, [handle](auto r) {
      caf::anon_send(handle, snapshot_loaded{std::move(r)});
    });
    return {
      [=](snapshot_loaded& loaded) {
        auto& st = self->state;
        if (!loaded.snapshot) {
          spdlog::warn("conversation {}: recovery failed: {}", st.id.str(),
                       loaded.snapshot.error().message);
          self->quit(refuse(from_persistence(loaded.snapshot.error().code),
                            "could not load the conversation"));
          return;
        }
        if (auto& snap = loaded.snapshot.value()) {
          auto decoded = conversation::decode_snapshot(snap->version, snap->payload, st.rules);
          if (decoded && decoded->head == snap->seq) {
            st.machine = std::move(decoded.value());
            st.snapshot_seq = snap->seq;
          } else { // the journal is the truth: replay it all
            spdlog::warn("conversation {}: ignoring snapshot at seq {}: {}", st.id.str(), snap->seq,
                         decoded ? "head mismatch" : decoded.error());
          }
        }
        load_next(self);
      },
      [=](events_loaded& loaded) {
        auto& st = self->state;
        if (!loaded.events) {
          spdlog::warn("conversation {}: recovery failed: {}", st.id.str(),
                       loaded.events.error().message);
          self->quit(refuse(from_persistence(loaded.events.error().code),
                            "could not load the conversation"));
          return;
        }
        auto& rows = loaded.events.value();
        for (auto& rec : rows) {
          auto ev = protocol::decode_event(rec.type, rec.version, rec.payload);
          if (!ev || rec.seq != st.machine.head + 1) {
            spdlog::error("conversation {}: journal is unreadable at seq {}: {}", st.id.str(),
                          rec.seq, ev ? "sequence gap" : ev.error());
            self->quit(refuse(protocol::error_code::internal, "corrupt journal"));
            return;
          }
          conversation::apply(st.machine, rec.seq, ev.value(), st.rules);
          remember(self, rec.seq, make_frame(st.stream, rec.seq, std::move(rec.payload)));
        }
        if (rows.size() == 1000) {
          load_next(self);
          return;
        }
        st.committed = st.machine.head;
        st.timer_due = st.machine.next_offer_expiry(); // what the last append stored
        spdlog::debug("conversation {}: active at seq {} (snapshot {})", st.id.str(), st.committed,
                      st.snapshot_seq);
        self->set_default_handler(caf::print_and_drop);
        self->become(st.machine.exists() ? running(self) : absent(self));
      },
    };
  };
  return parent->spawn(init, svc, id);
}

} // namespace pactum::actors
