// The campaign entity actor: thin CAF glue around campaign_machine (issue 6).
//
// Lifecycle: spawned by the directory on the first message for its id. It replays its journal
// (holding every other message until done), then serves. A campaign's journal starts with
// `campaign.created`: an id with an empty journal serves only a `create` (the brand's first
// command) and otherwise answers what a missing campaign gets; unused, it stops after a short
// while. A failed append stops it (its state may be ahead of the database); the directory
// re-activates it from storage on the next message. Idle (no command, no subscriber, nothing in
// flight for `passivate_after`), it asks the directory to retire it.
//
// Commands are decided one at a time, in arrival order, and acknowledged after commit. An
// approval of an application or an acceptance of an invitation first opens (or finds) the
// brand and creator's conversation through the persistence layer (one per pair, race-safe),
// then journals the decision naming it, and records the link campaign -> conversation.
//
// Read model: after each commit the campaign's row (migration 0016) and, for invitation events,
// the invited creator's inbox row are written on the persistence pool, never on this thread; a
// projection carries the journal seq it reflects, so an older one never overwrites a newer one,
// and activation re-projects (a crash between commit and projection heals on the next start).
//
// Ownership and threading: one CAF actor; persistence callbacks only send it messages.

#include <deque>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "audit.hpp"
#include "entity_support.hpp"
#include "message_types.hpp"
#include "pactum/actors/policy.hpp"
#include "pactum/common/overload.hpp"
#include "pactum/persistence/campaign_store.hpp"
#include "services.hpp"
#include "notifications.hpp"
#include "views.hpp"

namespace pactum::actors {

/// A committed command's read-model rows (the campaign, an invitation, the campaign–conversation
/// link of an approval or accepted invitation) are written: it may be answered now, so that a
/// client acting on the answer (listing campaigns, creating an affiliate link for the campaign)
/// finds what it just did.
struct campaign_answer_ready {
  caf::response_promise rp;
  std::string ack;
};

} // namespace pactum::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pactum::actors::campaign_answer_ready)

namespace pactum::actors {

namespace {

using json = nlohmann::json;
namespace pr = protocol;

struct queued_command {
  campaign_command cmd;
  caf::response_promise rp; ///< not pending for commands without a requester
};

struct in_flight_command {
  queued_command command;
  int64_t seq = 0;
  std::shared_ptr<const std::string> payload;
  pr::campaign_event event;
  campaign::state before;
  uint64_t batch = 0;
};

struct waiting_feed {
  caf::response_promise rp;
  campaign_query query;
};

} // namespace

struct campaign_actor_state {
  static inline const char* name = "campaign";

  services* svc = nullptr;
  /// Answers waiting for their command's read-model rows to be written (the actor does not
  /// passivate before they are sent).
  int answers_pending = 0;
  uuid id;
  std::string stream;
  campaign::state machine;
  campaign::rules rules;
  int64_t committed = 0;
  std::deque<queued_command> queued;
  std::optional<in_flight_command> in_flight;
  /// Set while the conversation of an approval/acceptance is being opened (off the actor).
  std::optional<uint64_t> opening;
  uint64_t batch = 0;
  uint64_t next_ticket = 0;
  std::map<uint64_t, waiting_feed> feeds;
  /// Texts the machine does not keep, for the brand's application list.
  std::map<int64_t, std::string> proposals;
  /// What the machine does not keep about content: each submission's `content.submitted` event
  /// and its latest `content.reviewed` event, as the journal stores them (for the content list
  /// and for the delivery the release makes).
  std::map<int64_t, std::shared_ptr<const std::string>> contents;
  std::map<int64_t, std::shared_ptr<const std::string>> reviews;
  /// Sessions watching live (campaign.subscribe), monitored: who each is, for the feed's filter.
  std::map<caf::actor, std::pair<uuid, std::string>> subscribers;
  int64_t snapshot_seq = 0; ///< seq of the latest snapshot written or loaded
  caf::actor_clock::time_point last_active;
  bool retiring = false;

  campaign_actor_state() {}
};

namespace {

using self_ptr = caf::stateful_actor<campaign_actor_state>*;

bool staff(const std::string& role) {
  return role == "moderator" || role == "admin";
}

policy::relation relation_of(const campaign::state& m, const uuid& user) {
  return m.exists() && m.brand == user ? policy::relation::owner : policy::relation::stranger;
}

std::optional<caf::error> policy_refusal(policy::action what, const std::string& role,
                                         policy::relation rel) {
  if (auto no = policy::decide(what, policy::parse_role(role), rel))
    return refuse(no->code, std::string{no->message});
  return std::nullopt;
}

/// How `user` stands to the campaign's content: its brand the owner, a creator holding one of
/// its contracts a member, anyone else a stranger.
policy::relation content_relation(const campaign::state& m, const uuid& user) {
  if (!m.exists())
    return policy::relation::stranger;
  if (m.brand == user)
    return policy::relation::owner;
  for (auto& [id, c] : m.contracts)
    if (c.creator == user)
      return policy::relation::member;
  return policy::relation::stranger;
}

/// The policy's verdict on a principal's command (nullopt: allowed, or a contract's report).
std::optional<caf::error> refused(const campaign::state& m, const campaign_command& c) {
  if (c.role.empty())
    return std::nullopt;
  using policy::action;
  using policy::relation;
  return std::visit(
    overload{
      [&](const campaign::create&) { return policy_refusal(action::campaign_create, c.role, relation::owner); },
      [&](const campaign::update& x) { return policy_refusal(action::campaign_update, c.role, relation_of(m, x.by)); },
      [&](const campaign::change_status& x) {
        return policy_refusal(action::campaign_status, c.role, relation_of(m, x.by));
      },
      [&](const campaign::apply&) -> std::optional<caf::error> {
        if (auto no = policy_refusal(action::application_create, c.role, relation::owner))
          return no;
        if (!m.exists() || m.st == campaign::status::draft || m.st == campaign::status::cancelled)
          return refuse(pr::error_code::not_found, "no such campaign");
        return std::nullopt;
      },
      [&](const campaign::decide_application& x) -> std::optional<caf::error> {
        if (x.outcome == "withdrawn") {
          auto i = m.applications.find(x.application);
          auto rel = i != m.applications.end() && i->second.creator == x.by ? relation::owner
                                                                              : relation::stranger;
          return policy_refusal(action::application_withdraw, c.role, rel);
        }
        return policy_refusal(action::application_decide, c.role, relation_of(m, x.by));
      },
      [&](const campaign::invite& x) {
        return policy_refusal(action::invitation_create, c.role, relation_of(m, x.by));
      },
      [&](const campaign::answer_invitation& x) -> std::optional<caf::error> {
        if (x.outcome == "withdrawn")
          return policy_refusal(action::invitation_create, c.role, relation_of(m, x.by));
        auto i = m.invitations.find(x.invitation);
        auto rel = i != m.invitations.end() && i->second.creator == x.by ? relation::owner
                                                                           : relation::stranger;
        return policy_refusal(action::invitation_answer, c.role, rel);
      },
      [&](const campaign::submit_content& x) {
        return policy_refusal(action::content_submit, c.role, content_relation(m, x.by));
      },
      [&](const campaign::review_content& x) {
        return policy_refusal(action::content_review, c.role, content_relation(m, x.by.user));
      },
      [&](const auto&) -> std::optional<caf::error> { return std::nullopt; },
    },
    c.cmd);
}

/// How `user` stands to the campaign's room: its brand the owner, a creator with an approved
/// application or an accepted invitation a member, anyone else a stranger.
policy::relation room_relation(const campaign::state& m, const uuid& user) {
  if (!m.exists())
    return policy::relation::stranger;
  if (m.brand == user)
    return policy::relation::owner;
  for (auto& [id, a] : m.applications)
    if (a.creator == user && a.outcome == "approved")
      return policy::relation::member;
  for (auto& [id, i] : m.invitations)
    if (i.creator == user && i.outcome == "accepted")
      return policy::relation::member;
  return policy::relation::stranger;
}

/// Whether `user` (with `role`) may see the campaign at all: its brand and staff always, others
/// once it was published (a draft or a campaign cancelled as a draft does not exist for them).
bool visible_to(const campaign::state& m, const uuid& user, const std::string& role) {
  if (!m.exists())
    return false;
  if (m.brand == user || staff(role))
    return true;
  return m.st == campaign::status::published || m.st == campaign::status::paused
         || m.st == campaign::status::completed;
}

json view_json(const campaign_actor_state& st, const campaign::state& m, bool full) {
  auto details = json::parse(pr::campaign_details_to_json(m.details), nullptr, false);
  json v{{"id", st.id.str()},
         {"brand", m.brand.str()},
         {"status", std::string{campaign::to_string(m.st)}},
         {"details", details.is_discarded() ? json::object() : details},
         {"budget", m.details.budget},
         {"committed", m.committed},
         {"spent", m.spent},
         {"remaining", m.remaining()},
         {"currency", m.details.currency},
         {"created_at", m.created_at},
         {"head", m.head}};
  if (full) {
    size_t pending = 0;
    for (auto& [id, a] : m.applications)
      pending += a.outcome == "pending" ? 1 : 0;
    v["applications"] = m.applications.size();
    v["pending_applications"] = pending;
    v["invitations"] = m.invitations.size();
    v["contracts"] = m.contracts.size();
  }
  return v;
}

/// The committed state (the machine runs ahead while an append is in flight).
const campaign::state& committed_state(const campaign_actor_state& st) {
  return st.in_flight ? st.in_flight->before : st.machine;
}

std::string view_of(const campaign_actor_state& st, const uuid& user, const std::string& role) {
  const auto& m = committed_state(st);
  return view_json(st, m, m.brand == user || staff(role)).dump();
}

/// The creator a journaled event concerns (nil: the campaign as a whole).
uuid concerned_creator(const campaign::state& m, const pr::campaign_event& ev) {
  return std::visit(
    overload{
      [](const pr::application_submitted& x) { return x.creator; },
      [&](const pr::application_decided& x) {
        auto i = m.applications.find(x.application);
        return i == m.applications.end() ? uuid{} : i->second.creator;
      },
      [](const pr::invitation_sent& x) { return x.creator; },
      [&](const pr::invitation_answered& x) {
        auto i = m.invitations.find(x.invitation);
        return i == m.invitations.end() ? uuid{} : i->second.creator;
      },
      [](const pr::budget_committed& x) { return x.creator; },
      [&](const pr::budget_settled& x) {
        auto i = m.contracts.find(x.contract);
        return i == m.contracts.end() ? uuid{} : i->second.creator;
      },
      [](const pr::content_submitted& x) { return x.by; },
      [&](const pr::content_reviewed& x) {
        auto s = m.submissions.find(x.submission);
        if (s == m.submissions.end())
          return uuid{};
        auto c = m.contracts.find(s->second.contract);
        return c == m.contracts.end() ? uuid{} : c->second.creator;
      },
      [](const auto&) { return uuid{}; },
    },
    ev);
}

/// Whether `user` sees event `ev`: the brand and staff see every event; everyone else sees the
/// campaign-wide ones (details, status) and those about themselves (their own application,
/// invitation, contract budget and content), never another creator's.
bool event_visible(const campaign::state& m, const pr::campaign_event& ev, const uuid& user,
                   const std::string& role) {
  if (m.brand == user || staff(role))
    return true;
  if (std::holds_alternative<pr::campaign_created>(ev) || std::holds_alternative<pr::campaign_updated>(ev)
      || std::holds_alternative<pr::campaign_status_changed>(ev))
    return true;
  return concerned_creator(m, ev) == user;
}

json event_json(int64_t seq, const std::string& payload) {
  auto ev = json::from_msgpack(payload, true, false);
  if (ev.is_object())
    ev.erase("key"); // the sender's idempotency key is nobody else's business
  return json{{"seq", seq}, {"event", ev.is_discarded() ? json::object() : ev}};
}

/// Keeps what the content list and the release need of a content event (see the state).
void remember_content(campaign_actor_state& st, int64_t seq, const pr::campaign_event& ev,
                      std::shared_ptr<const std::string> payload) {
  if (std::holds_alternative<pr::content_submitted>(ev))
    st.contents[seq] = std::move(payload);
  else if (auto* r = std::get_if<pr::content_reviewed>(&ev))
    st.reviews[r->submission] = std::move(payload);
}

// -- snapshots ----------------------------------------------------------------------------------

/// The snapshot format this build writes (msgpack of the JSON below).
constexpr int16_t campaign_snapshot_version = 1;

using content_map = std::map<int64_t, std::shared_ptr<const std::string>>;

std::string encode_snapshot(const campaign::state& m, const std::map<int64_t, std::string>& proposals,
                            const content_map& contents, const content_map& reviews) {
  json apps = json::array(), invs = json::array(), contracts = json::array(), subs = json::array(),
       keys = json::array(), props = json::array();
  for (auto& [id, a] : m.applications)
    apps.push_back({id, a.creator.str(), a.outcome, a.conversation.str(), a.amount, a.at});
  for (auto& [id, i] : m.invitations)
    invs.push_back({id, i.creator.str(), i.outcome, i.conversation.str(), i.at});
  for (auto& [id, c] : m.contracts) {
    json d = json::array();
    for (auto& [sub, verdict] : c.deliverables)
      d.push_back({sub, verdict});
    contracts.push_back({id.str(), c.creator.str(), c.amount, c.revision_rounds, c.revisions_used,
                         c.platforms, d, c.settled, c.release_requested});
  }
  for (auto& [id, sb] : m.submissions)
    subs.push_back({id, sb.contract.str(), sb.deliverable, sb.verdict});
  for (auto& [k, v] : m.keys)
    keys.push_back({k, v.first, v.second});
  for (auto& [id, text] : proposals)
    props.push_back({id, text});
  json cont = json::array(), revs = json::array();
  for (auto& [id, payload] : contents)
    cont.push_back({id, json::binary(std::vector<uint8_t>(payload->begin(), payload->end()))});
  for (auto& [id, payload] : reviews)
    revs.push_back({id, json::binary(std::vector<uint8_t>(payload->begin(), payload->end()))});
  json j{{"id", m.id.str()},       {"brand", m.brand.str()},   {"head", m.head},
         {"status", static_cast<int>(m.st)},
         // The details as the journal stores them (an exact round trip, tested with the events).
         {"details", pr::encode_campaign_event(pr::campaign_updated{{}, {}, m.details, 0})},
         {"created_at", m.created_at}, {"committed", m.committed}, {"spent", m.spent},
         {"applications", apps}, {"invitations", invs}, {"contracts", contracts},
         {"submissions", subs},  {"keys", keys},          {"proposals", props},
         {"contents", cont},     {"reviews", revs}};
  auto bytes = json::to_msgpack(j);
  return std::string{bytes.begin(), bytes.end()};
}

uuid uuid_of(const json& j) {
  auto id = uuid::parse(j.get<std::string>());
  return id ? *id : uuid{};
}

/// The state a snapshot holds, or an error naming what is wrong (the journal then replays).
expected<std::pair<campaign::state, std::map<int64_t, std::string>>, std::string>
decode_snapshot(int16_t version, const std::string& bytes, content_map& contents, content_map& reviews) {
  if (version != campaign_snapshot_version)
    return std::string{"unknown campaign snapshot version "} + std::to_string(version);
  try {
    auto j = json::from_msgpack(bytes);
    campaign::state m;
    m.id = uuid_of(j.at("id"));
    m.brand = uuid_of(j.at("brand"));
    m.head = j.at("head").get<int64_t>();
    m.st = static_cast<campaign::status>(j.at("status").get<int>());
    auto details = pr::decode_campaign_event("campaign.updated", pr::campaign_event_version,
                                             j.at("details").get<std::string>());
    if (!details || !std::holds_alternative<pr::campaign_updated>(details.value()))
      return std::string{"campaign snapshot: unreadable details"};
    m.details = std::get<pr::campaign_updated>(details.value()).details;
    m.created_at = j.at("created_at").get<int64_t>();
    m.committed = j.at("committed").get<int64_t>();
    m.spent = j.at("spent").get<int64_t>();
    for (auto& a : j.at("applications"))
      m.applications[a[0].get<int64_t>()] = campaign::state::application{
        uuid_of(a[1]), a[2].get<std::string>(), uuid_of(a[3]), a[4].get<int64_t>(), a[5].get<int64_t>()};
    for (auto& i : j.at("invitations"))
      m.invitations[i[0].get<int64_t>()] = campaign::state::invitation{
        uuid_of(i[1]), i[2].get<std::string>(), uuid_of(i[3]), i[4].get<int64_t>()};
    for (auto& c : j.at("contracts")) {
      campaign::state::contract k;
      k.creator = uuid_of(c[1]);
      k.amount = c[2].get<int64_t>();
      k.revision_rounds = c[3].get<int64_t>();
      k.revisions_used = c[4].get<int64_t>();
      k.platforms = c[5].get<std::vector<std::string>>();
      for (auto& d : c[6])
        k.deliverables.emplace_back(d[0].get<int64_t>(), d[1].get<std::string>());
      k.settled = c[7].get<bool>();
      k.release_requested = c[8].get<bool>();
      m.contracts[uuid_of(c[0])] = std::move(k);
    }
    for (auto& sb : j.at("submissions"))
      m.submissions[sb[0].get<int64_t>()] =
        campaign::state::submission{uuid_of(sb[1]), sb[2].get<int64_t>(), sb[3].get<std::string>()};
    for (auto& k : j.at("keys"))
      m.keys[k[0].get<std::string>()] = {k[1].get<int64_t>(), k[2].get<uint64_t>()};
    std::map<int64_t, std::string> proposals;
    for (auto& p : j.at("proposals"))
      proposals[p[0].get<int64_t>()] = p[1].get<std::string>();
    // Snapshots written before content was kept lack these: replay when that loses anything.
    if (!j.contains("contents") && !m.submissions.empty())
      return std::string{"campaign snapshot: written before submissions were kept"};
    auto read_payloads = [&](const char* name, content_map& out) {
      if (!j.contains(name))
        return;
      for (auto& c : j.at(name)) {
        auto& bin = c[1].get_binary();
        out[c[0].get<int64_t>()] = std::make_shared<const std::string>(bin.begin(), bin.end());
      }
    };
    read_payloads("contents", contents);
    read_payloads("reviews", reviews);
    return std::pair{std::move(m), std::move(proposals)};
  } catch (const std::exception& e) {
    return std::string{"campaign snapshot: "} + e.what();
  }
}

/// Stores the committed state as the latest snapshot (an optimisation: recovery replays more
/// events without it).
void take_snapshot(self_ptr self) {
  auto& st = self->state;
  if (st.in_flight || st.committed <= st.snapshot_seq || !st.machine.exists())
    return;
  st.snapshot_seq = st.committed;
  persistence::snapshot_record snap{st.committed, campaign_snapshot_version,
                                    encode_snapshot(st.machine, st.proposals, st.contents, st.reviews)};
  auto id = st.id;
  st.svc->store.save_snapshot(id, "campaign", std::move(snap), [id](persistence::result<persistence::unit> r) {
    if (!r)
      spdlog::warn("campaign {}: snapshot not saved: {}", id.str(), r.error().message);
  });
}

// -- read model ---------------------------------------------------------------------------------

/// Writes the campaign's read-model rows for `ev` (null: the whole campaign, as on activation) and
/// the campaign–conversation link `conv` (nil: none), then calls `then` (from a pool thread, once,
/// also when a write failed: the read model heals on the next activation).
void project(self_ptr self, const pr::campaign_event* ev, int64_t seq, uuid conv = {},
             std::function<void()> then = [] {}) {
  auto& st = self->state;
  if (!st.svc->db || !st.machine.exists())
    return then();
  const auto& m = st.machine;
  persistence::campaign_row row;
  row.id = st.id;
  row.brand = m.brand;
  row.status = std::string{campaign::to_string(m.st)};
  row.title = m.details.title;
  row.currency = m.details.currency;
  row.budget = m.details.budget;
  row.committed = m.committed;
  row.spent = m.spent;
  row.starts_at = m.details.starts_at;
  row.ends_at = m.details.ends_at;
  row.pricing_model = m.details.pricing.model;
  row.rate = m.details.pricing.rate;
  row.niches = m.details.audience.niches;
  row.countries = m.details.audience.countries;
  row.min_followers = m.details.audience.min_followers;
  row.details = pr::campaign_details_to_json(m.details);
  row.head_seq = m.head;
  row.created_at = m.created_at;
  row.updated_at = st.svc->now();
  auto id = st.id;
  // The invitation row references the campaign row: written after it, from its callback.
  std::optional<persistence::invitation_row> inv;
  if (ev) {
    if (auto* x = std::get_if<pr::invitation_sent>(ev)) {
      inv = persistence::invitation_row{id, seq, m.brand, x->creator, x->brief, "pending", std::nullopt,
                                        {}, x->at, x->at};
    } else if (auto* x = std::get_if<pr::invitation_answered>(ev)) {
      auto& i = m.invitations.at(x->invitation);
      inv = persistence::invitation_row{id, x->invitation, m.brand, i.creator, {}, x->outcome,
                                        x->conversation.is_nil() ? std::nullopt
                                                                 : std::optional<uuid>{x->conversation},
                                        {}, i.at, x->at};
    }
  }
  auto* db = st.svc->db;
  auto link = [db, id, conv, then]() {
    if (conv.is_nil())
      return then();
    persistence::link_campaign_conversation(*db, id, conv, [id, then](persistence::result<persistence::unit> r) {
      if (!r)
        spdlog::warn("campaign {}: conversation link not stored: {}", id.str(), r.error().message);
      then();
    });
  };
  persistence::upsert_campaign(*db, std::move(row), [db, id, inv, link](persistence::result<persistence::unit> r) {
    if (!r) {
      spdlog::warn("campaign {}: read model not updated: {}", id.str(), r.error().message);
      return link();
    }
    if (!inv)
      return link();
    persistence::upsert_invitation(*db, *inv, [id, link](persistence::result<persistence::unit> r2) {
      if (!r2)
        spdlog::warn("campaign {}: invitation not projected: {}", id.str(), r2.error().message);
      link();
    });
  });
}

/// Approved content's posts become tracked for view polling (actors/src/views.cpp): `ev` the
/// approval just committed, or null for every approved submission (on activation: heals a write
/// lost to a crash; a post already tracked stays as it is).
void track_views(self_ptr self, const pr::campaign_event* ev) {
  auto& st = self->state;
  if (!st.svc->db || !st.machine.exists())
    return;
  std::vector<approved_submission> approved;
  auto add = [&](int64_t sub) {
    auto c = st.contents.find(sub);
    auto r = st.reviews.find(sub);
    approved.push_back({sub, c == st.contents.end() ? nullptr : c->second,
                        r == st.reviews.end() ? nullptr : r->second});
  };
  if (ev) {
    auto* x = std::get_if<pr::content_reviewed>(ev);
    if (!x || x->verdict != "approved")
      return;
    add(x->submission);
  } else {
    for (auto& [sub, s] : st.machine.submissions)
      if (s.verdict == "approved")
        add(sub);
  }
  track_approved_content(*st.svc, st.id, std::move(approved));
}

// -- commands -----------------------------------------------------------------------------------

void start_next(self_ptr self);

std::string ack_json(const campaign_actor_state& st, const campaign_command& c, int64_t seq,
                     bool duplicate) {
  const auto& m = committed_state(st);
  json out{{"seq", seq}, {"duplicate", duplicate}, {"campaign", view_json(st, m, true)}};
  std::visit(overload{
               [&](const campaign::apply&) { out["application"] = seq; },
               [&](const campaign::invite&) { out["invitation"] = seq; },
               [&](const campaign::submit_content&) {
                 out["submission"] = seq;
                 if (auto i = st.contents.find(seq); i != st.contents.end())
                   out["content"] = event_json(seq, *i->second)["event"];
               },
               [&](const campaign::review_content& x) {
                 out["submission"] = x.submission;
                 if (auto i = m.submissions.find(x.submission); i != m.submissions.end())
                   out["verdict"] = i->second.verdict;
                 if (auto i = st.reviews.find(x.submission); i != st.reviews.end())
                   out["review"] = event_json(seq, *i->second)["event"];
               },
               [&](const campaign::decide_application& x) {
                 out["application"] = x.application;
                 if (auto i = m.applications.find(x.application); i != m.applications.end()) {
                   out["outcome"] = i->second.outcome;
                   if (!i->second.conversation.is_nil())
                     out["conversation"] = i->second.conversation.str();
                 }
               },
               [&](const campaign::answer_invitation& x) {
                 out["invitation"] = x.invitation;
                 if (auto i = m.invitations.find(x.invitation); i != m.invitations.end()) {
                   out["outcome"] = i->second.outcome;
                   if (!i->second.conversation.is_nil())
                     out["conversation"] = i->second.conversation.str();
                 }
               },
               [](const auto&) {},
             },
             c.cmd);
  return out.dump();
}

/// Asks contract `contract` to pay its creator after the campaign approved its last deliverable,
/// through the contract actor's own commands: first `deliver` in the creator's name (one item per
/// deliverable: the approved submission's first media URL; refused harmlessly when the creator
/// delivered already), then `approve` in the campaign brand's name. Both are system commands (no
/// role: the campaign decided them, not a principal) with keys derived from the campaign and
/// contract ids, so a repeat (after a crash, on every activation until the contract reports
/// settled) is answered as a duplicate and the ledger moves exactly once.
void request_release(self_ptr self, const uuid& contract_id) {
  auto& st = self->state;
  auto c = st.machine.contracts.find(contract_id);
  if (c == st.machine.contracts.end() || c->second.settled || !c->second.release_requested)
    return;
  std::vector<pr::delivery_item> items;
  for (auto& [sub, verdict] : c->second.deliverables) {
    auto i = st.contents.find(sub);
    if (i == st.contents.end())
      continue;
    auto ev = pr::decode_campaign_event("content.submitted", pr::campaign_event_version, *i->second);
    if (!ev || !std::holds_alternative<pr::content_submitted>(ev.value()))
      continue;
    auto& content = std::get<pr::content_submitted>(ev.value()).content;
    if (!content.media.empty())
      items.push_back({content.media.front().url, "campaign " + st.id.str() + ", submission " + std::to_string(sub)});
  }
  auto base = "campaign-release:" + st.id.str() + ":" + contract_id.str();
  contract_command deliver{contract::deliver{c->second.creator, base + ":deliver", std::move(items),
                                             "content approved in the campaign"}};
  contract_command approve{contract::approve{st.machine.brand, base}};
  auto* svc = st.svc;
  auto timeout = svc->cfg.request_timeout;
  auto campaign_id = st.id;
  self->request(svc->directory, timeout, lookup_atom_v, contract_id, entity_kind::contract)
    .then(
      [=](caf::actor& entity) {
        auto send_approve = [=] {
          self->request(entity, timeout, contract_atom_v, approve)
            .then(
              [=](pr::contract_ack_reply& ack) {
                audit(*svc, audit_actor::system(), "campaign.release", contract_id.str(), "ok",
                      {{"campaign", campaign_id.str()}, {"status", ack.status}, {"duplicate", ack.duplicate}});
              },
              [=](caf::error& err) {
                // Also when it was released before (wrong status): the contract's settle report
                // ends the retries.
                spdlog::info("campaign {}: contract {} release not taken: {}", campaign_id.str(),
                             contract_id.str(), error_text(err));
              });
        };
        self->request(entity, timeout, contract_atom_v, deliver)
          .then([=](pr::contract_ack_reply&) { send_approve(); },
                [=](caf::error& err) {
                  spdlog::debug("campaign {}: contract {} delivery not taken ({}); approving", campaign_id.str(),
                                contract_id.str(), error_text(err));
                  send_approve();
                });
      },
      [=](caf::error& err) {
        spdlog::warn("campaign {}: contract {} not reached for its release: {}", campaign_id.str(),
                     contract_id.str(), caf::to_string(err));
      });
}

void on_appended(self_ptr self, append_done& done) {
  auto& st = self->state;
  if (!st.in_flight || done.batch != st.in_flight->batch)
    return;
  auto flight = std::move(*st.in_flight);
  st.in_flight.reset();
  if (!done.head) {
    auto code = from_persistence(done.head.error().code);
    spdlog::warn("campaign {}: append failed ({}): {}; stopping to re-activate from storage",
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
  const pr::campaign_event& e = flight.event;
  track_views(self, &e);
  // Live: the brand's sessions get every event, the creator it concerns theirs (stream
  // `campaign:<id>`, the stored bytes, encoded once).
  auto frame = std::make_shared<pr::push_frame>(st.stream, flight.seq, flight.payload);
  self->send(st.svc->registry, notify_atom_v, st.machine.brand, pr::push_frame_ptr{frame});
  auto creator = concerned_creator(st.machine, e);
  if (!creator.is_nil() && creator != st.machine.brand)
    self->send(st.svc->registry, notify_atom_v, creator, pr::push_frame_ptr{frame});
  notify_campaign_event(*st.svc, st.id, st.machine.brand, creator, flight.seq, *flight.payload);
  // Subscribers see what the /updates feed shows them (without the sender's key); the brand and
  // the creator concerned have it from the registry already.
  pr::push_frame_ptr public_frame;
  for (auto& [session, who] : st.subscribers) {
    if (who.first == st.machine.brand || who.first == creator
        || !event_visible(st.machine, e, who.first, who.second))
      continue;
    if (!public_frame) {
      auto j = json::from_msgpack(*flight.payload, true, false);
      if (j.is_object())
        j.erase("key");
      auto bytes = json::to_msgpack(j);
      public_frame = std::make_shared<pr::push_frame>(
        st.stream, flight.seq, std::make_shared<const std::string>(bytes.begin(), bytes.end()));
    }
    self->send(session, notify_atom_v, public_frame);
  }
  uuid conv;
  if (auto* x = std::get_if<pr::application_decided>(&e))
    conv = x->conversation;
  else if (auto* x = std::get_if<pr::invitation_answered>(&e))
    conv = x->conversation;
  // The answer waits for the read model: a client acting on it must find what it just did.
  auto handle = caf::actor_cast<caf::actor>(self);
  ++st.answers_pending;
  project(self, &e, flight.seq, conv,
          [handle, rp = flight.command.rp, ack = ack_json(st, flight.command.cmd, flight.seq, false)]() mutable {
            caf::anon_send(handle, campaign_answer_ready{std::move(rp), std::move(ack)});
          });
  if (auto* r = std::get_if<pr::content_reviewed>(&e); r && r->release)
    if (auto sub = st.machine.submissions.find(r->submission); sub != st.machine.submissions.end())
      request_release(self, sub->second.contract);
  start_next(self);
  if (st.svc->cfg.snapshot_every > 0
      && static_cast<size_t>(st.committed - st.snapshot_seq) >= st.svc->cfg.snapshot_every)
    take_snapshot(self);
  if (st.retiring && !st.in_flight && !st.opening && st.queued.empty() && st.feeds.empty() && st.answers_pending == 0) {
    take_snapshot(self);
    ++st.svc->passivations;
    self->quit();
  }
}

/// The creator whose conversation an approval or acceptance opens (nil: the command opens none).
uuid opens_conversation_with(const campaign::state& m, const campaign_command& c) {
  if (auto* x = std::get_if<campaign::decide_application>(&c.cmd); x && x->outcome == "approved"
                                                                   && x->conversation.is_nil()) {
    auto i = m.applications.find(x->application);
    return i == m.applications.end() ? uuid{} : i->second.creator;
  }
  if (auto* x = std::get_if<campaign::answer_invitation>(&c.cmd); x && x->outcome == "accepted"
                                                                  && x->conversation.is_nil()) {
    auto i = m.invitations.find(x->invitation);
    return i == m.invitations.end() ? uuid{} : i->second.creator;
  }
  return {};
}

void set_conversation(campaign_command& c, const uuid& conv) {
  if (auto* x = std::get_if<campaign::decide_application>(&c.cmd))
    x->conversation = conv;
  else if (auto* x = std::get_if<campaign::answer_invitation>(&c.cmd))
    x->conversation = conv;
}

/// Opens (or finds) the pair's conversation off the actor; the answer comes back as a message.
void open_conversation_for(self_ptr self, const uuid& creator) {
  auto& st = self->state;
  auto ticket = ++st.next_ticket;
  st.opening = ticket;
  auto handle = caf::actor_cast<caf::actor>(self);
  if (!st.svc->db) {
    caf::anon_send(handle, conversation_opened_for{ticket, uuid::v7()});
    return;
  }
  auto now = st.svc->now();
  pr::conversation_event ev = pr::conversation_opened{st.machine.brand, creator, now};
  persistence::event_record first{1, std::string{pr::event_type(ev)}, pr::event_version(ev),
                                  pr::encode_event(ev), now};
  st.svc->db->open_conversation(
    st.machine.brand, creator, uuid::v7(), std::move(first),
    [handle, ticket](persistence::result<std::pair<persistence::conversation_row, bool>> r) {
      if (!r)
        return caf::anon_send(handle, conversation_opened_for{ticket, r.error()});
      caf::anon_send(handle, conversation_opened_for{ticket, r.value().first.id});
    });
}

void start_next(self_ptr self) {
  auto& st = self->state;
  while (!st.in_flight && !st.opening && !st.queued.empty()) {
    auto& front = st.queued.front();
    auto now = st.svc->now();
    if (auto creator = opens_conversation_with(st.machine, front.cmd); !creator.is_nil()) {
      // Decide with a stand-in first: a refusal or a retry needs no conversation.
      auto probe = front.cmd;
      set_conversation(probe, uuid::v7());
      auto d = std::visit([&](const auto& cmd) { return campaign::decide(st.machine, cmd, now, st.rules); },
                          probe.cmd);
      if (std::holds_alternative<campaign::accepted>(d)) {
        open_conversation_for(self, creator);
        return;
      }
    }
    auto current = std::move(st.queued.front());
    st.queued.pop_front();
    auto d = std::visit([&](const auto& cmd) { return campaign::decide(st.machine, cmd, now, st.rules); },
                        current.cmd.cmd);
    if (auto* r = std::get_if<campaign::refusal>(&d)) {
      answer(current.rp, refuse(r->code, r->message));
      continue;
    }
    if (auto* dup = std::get_if<campaign::duplicate>(&d)) {
      answer(current.rp, ack_json(st, current.cmd, dup->seq, true));
      continue;
    }
    auto& ev = std::get<campaign::accepted>(d).event;
    auto before = st.machine;
    auto seq = st.machine.head + 1;
    auto payload = std::make_shared<const std::string>(pr::encode_campaign_event(ev));
    std::vector<persistence::event_record> records;
    records.push_back({seq, std::string{pr::campaign_event_type(ev)}, pr::campaign_event_version,
                       *payload, now});
    if (auto* a = std::get_if<pr::application_submitted>(&ev))
      st.proposals[seq] = a->proposal;
    remember_content(st, seq, ev, payload);
    campaign::apply_event(st.machine, seq, ev);
    auto batch = ++st.batch;
    auto handle = caf::actor_cast<caf::actor>(self);
    st.in_flight = in_flight_command{std::move(current), seq, payload, ev, std::move(before), batch};
    persistence::append_request req{st.id, "campaign", st.committed, std::move(records),
                                    [handle, batch](persistence::result<int64_t> r) {
                                      caf::anon_send(handle, append_done{batch, std::move(r)});
                                    }};
    st.svc->store.append(std::move(req));
    return;
  }
}

void on_conversation(self_ptr self, conversation_opened_for& c) {
  auto& st = self->state;
  if (!st.opening || *st.opening != c.ticket)
    return;
  st.opening.reset();
  if (!c.conversation) {
    auto front = std::move(st.queued.front());
    st.queued.pop_front();
    spdlog::warn("campaign {}: conversation not opened: {}", st.id.str(), c.conversation.error().message);
    answer(front.rp, refuse(from_persistence(c.conversation.error().code),
                            "the conversation could not be opened; retry with the same key"));
  } else {
    set_conversation(st.queued.front().cmd, c.conversation.value());
  }
  start_next(self);
}

void enqueue(self_ptr self, campaign_command cmd, caf::response_promise rp) {
  self->state.queued.push_back({std::move(cmd), std::move(rp)});
  self->state.last_active = self->clock().now();
  start_next(self);
}

// -- reads --------------------------------------------------------------------------------------

caf::result<std::string> on_query(self_ptr self, campaign_query& q) {
  auto& st = self->state;
  st.last_active = self->clock().now();
  const auto& m = committed_state(st);
  auto rel = relation_of(m, q.user);
  auto hidden = [&] { return refuse(pr::error_code::not_found, "no such campaign"); };
  if (q.what == "view") {
    if (auto no = policy_refusal(policy::action::campaign_get, q.role, rel))
      return std::move(*no);
    if (!visible_to(m, q.user, q.role))
      return hidden();
    return view_of(st, q.user, q.role);
  }
  if (q.what == "room") { // campaign.room: who may enter the room, and its brand (rooms.hpp)
    if (auto no = policy_refusal(policy::action::campaign_room, q.role, room_relation(m, q.user)))
      return std::move(*no);
    return m.brand.str(); // not JSON: the session only needs the brand's id
  }
  if (q.what == "applications") {
    if (auto no = policy_refusal(policy::action::application_list, q.role, rel))
      return std::move(*no);
    if (!m.exists())
      return hidden();
    json list = json::array();
    // Newest first, paginated by id (`after` here is "before": ids below it).
    for (auto i = m.applications.rbegin(); i != m.applications.rend() && list.size() < q.limit; ++i) {
      if (q.after > 0 && i->first >= q.after)
        continue;
      auto p = st.proposals.find(i->first);
      json a{{"id", i->first},
             {"creator", i->second.creator.str()},
             {"outcome", i->second.outcome},
             {"amount", i->second.amount},
             {"proposal", p == st.proposals.end() ? std::string{} : p->second},
             {"at", i->second.at}};
      a["conversation"] = i->second.conversation.is_nil() ? json(nullptr) : json(i->second.conversation.str());
      list.push_back(std::move(a));
    }
    json body{{"applications", list}};
    body["next_before"] = list.size() == q.limit && !list.empty() && list.back()["id"].get<int64_t>() > m.applications.begin()->first
                            ? json(list.back()["id"])
                            : json(nullptr);
    return body.dump();
  }
  if (q.what == "updates") {
    if (auto no = policy_refusal(policy::action::campaign_updates, q.role, rel))
      return std::move(*no);
    if (!visible_to(m, q.user, q.role))
      return hidden();
    auto ticket = ++st.next_ticket;
    auto rp = self->make_response_promise();
    st.feeds.emplace(ticket, waiting_feed{rp, q});
    auto handle = caf::actor_cast<caf::actor>(self);
    st.svc->store.read_events(st.id, std::max<int64_t>(q.after, 0), st.committed + 1, q.limit, false,
                              [handle, ticket](auto r) {
                                caf::anon_send(handle, feed_loaded{ticket, std::move(r)});
                              });
    return rp;
  }
  if (q.what == "content") {
    auto crel = content_relation(m, q.user);
    if (auto no = policy_refusal(policy::action::content_list, q.role, crel))
      return std::move(*no);
    bool all = crel == policy::relation::owner || staff(q.role);
    json list = json::array();
    int64_t last = 0;
    // Oldest first, paginated by submission id (`after`).
    for (auto i = st.contents.upper_bound(std::max<int64_t>(q.after, 0));
         i != st.contents.end() && list.size() < q.limit; ++i) {
      if (i->first > m.head)
        break; // not committed yet
      auto item = event_json(i->first, *i->second)["event"];
      if (!all && item.value("by", std::string{}) != q.user.str())
        continue;
      last = i->first;
      json entry{{"id", i->first}};
      auto sub = m.submissions.find(i->first);
      entry["verdict"] = sub == m.submissions.end() ? std::string{"pending"} : sub->second.verdict;
      for (auto& [k, v] : item.items())
        entry[k] = v;
      auto r = st.reviews.find(i->first);
      entry["review"] = r == st.reviews.end() ? json(nullptr) : event_json(i->first, *r->second)["event"];
      list.push_back(std::move(entry));
    }
    json body{{"content", list}};
    body["next_after"] = list.size() == q.limit ? json(last) : json(nullptr);
    return body.dump();
  }
  return refuse(pr::error_code::bad_request, "unknown campaign read");
}

void on_feed(self_ptr self, feed_loaded& f) {
  auto& st = self->state;
  auto w = st.feeds.find(f.ticket);
  if (w == st.feeds.end())
    return;
  auto rp = w->second.rp;
  auto q = std::move(w->second.query);
  st.feeds.erase(w);
  if (!f.events) {
    rp.deliver(refuse(from_persistence(f.events.error().code), "could not read the campaign's updates"));
    return;
  }
  const auto& m = committed_state(st);
  json list = json::array();
  int64_t last = q.after;
  for (auto& rec : f.events.value()) {
    last = rec.seq;
    auto ev = pr::decode_campaign_event(rec.type, rec.version, rec.payload);
    if (!ev || !event_visible(m, ev.value(), q.user, q.role))
      continue;
    auto item = event_json(rec.seq, rec.payload);
    item["type"] = rec.type;
    item["at"] = rec.recorded_at;
    list.push_back(std::move(item));
  }
  json body{{"events", list}, {"head", st.committed}};
  body["next_after"] = f.events.value().size() == q.limit ? json(last) : json(nullptr);
  rp.deliver(body.dump());
  if (st.retiring && !st.in_flight && !st.opening && st.queued.empty() && st.feeds.empty() && st.answers_pending == 0) {
    ++st.svc->passivations;
    self->quit();
  }
}

void schedule_idle_check(self_ptr self) {
  auto idle = self->state.svc->cfg.passivate_after;
  if (!self->state.machine.exists())
    idle = std::chrono::seconds(4); // an id nobody created: do not linger
  schedule_idle_check_after(self, idle);
}

/// Activates a committed, unsettled contract: an activated contract reports its budget again
/// (commit while it runs, settle once it ended), so a settle report lost to a crash between the
/// contract's commit and this campaign's is made again.
void wake_contract(self_ptr self, uuid contract_id) {
  auto campaign_id = self->state.id;
  self->request(self->state.svc->directory, self->state.svc->cfg.request_timeout, lookup_atom_v, contract_id,
                entity_kind::contract)
    .then([](caf::actor&) {},
          [=](caf::error& err) {
            spdlog::info("campaign {}: contract {} not reached: {}", campaign_id.str(), contract_id.str(),
                         error_text(err));
          });
}

caf::behavior running(self_ptr self) {
  self->state.last_active = self->clock().now();
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& subs = self->state.subscribers;
    for (auto i = subs.begin(); i != subs.end();)
      i = i->first.address() == dm.source ? subs.erase(i) : std::next(i);
  });
  schedule_idle_check(self);
  project(self, nullptr, 0); // heals a projection lost to a crash
  track_views(self, nullptr);
  // Releases asked for but not yet reported settled by their contracts: ask again.
  for (auto& [contract_id, c] : self->state.machine.contracts)
    if (c.release_requested && !c.settled)
      request_release(self, contract_id);
    else if (!c.settled)
      wake_contract(self, contract_id);
  return {
    [=](campaign_atom, campaign_command& c) -> caf::result<std::string> {
      if (auto no = refused(self->state.machine, c))
        return std::move(*no);
      auto rp = self->make_response_promise();
      enqueue(self, std::move(c), rp);
      return rp;
    },
    [=](campaign_atom, campaign_query& q) -> caf::result<std::string> { return on_query(self, q); },
    [=](campaign_atom, campaign_subscribe& s) -> caf::result<std::string> {
      auto& st = self->state;
      const auto& m = committed_state(st);
      if (s.unsubscribe) {
        st.subscribers.erase(s.subscriber);
        return json{{"id", st.id.str()}, {"subscribed", false}}.dump();
      }
      if (auto no = policy_refusal(policy::action::campaign_subscribe, s.role, relation_of(m, s.user)))
        return std::move(*no);
      if (!visible_to(m, s.user, s.role))
        return refuse(pr::error_code::not_found, "no such campaign");
      if (!st.subscribers.count(s.subscriber)) {
        if (st.subscribers.size() >= st.svc->cfg.campaign_max_subscribers)
          return refuse(pr::error_code::limit_reached, "this campaign has too many live subscribers");
        self->monitor(s.subscriber);
      }
      st.subscribers[s.subscriber] = {s.user, s.role};
      st.last_active = self->clock().now();
      return view_of(st, s.user, s.role);
    },
    [=](append_done& d) { on_appended(self, d); },
    [=](conversation_opened_for& c) { on_conversation(self, c); },
    [=](feed_loaded& f) { on_feed(self, f); },
    [=](campaign_answer_ready& l) {
      auto& st = self->state;
      --st.answers_pending;
      answer(l.rp, std::move(l.ack));
      if (st.retiring && !st.in_flight && !st.opening && st.queued.empty() && st.feeds.empty()
          && st.answers_pending == 0) {
        take_snapshot(self);
        ++st.svc->passivations;
        self->quit();
      }
    },
    [=](idle_check_atom) {
      auto& st = self->state;
      if (st.retiring)
        return;
      auto idle = st.machine.exists() ? caf::timespan{st.svc->cfg.passivate_after}
                                      : caf::timespan{std::chrono::seconds(4)};
      if (!st.in_flight && !st.opening && st.queued.empty() && st.feeds.empty() && st.answers_pending == 0 && st.subscribers.empty()
          && self->clock().now() - st.last_active >= idle) {
        self->send(st.svc->directory, passivate_atom_v, st.id);
        return;
      }
      schedule_idle_check(self);
    },
    [=](passivate_atom) {
      auto& st = self->state;
      st.retiring = true;
      if (!st.in_flight && !st.opening && st.queued.empty() && st.feeds.empty() && st.answers_pending == 0) {
        take_snapshot(self);
        ++st.svc->passivations;
        self->quit();
      }
    },
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

caf::actor spawn_campaign(caf::local_actor* parent, services* svc, uuid id) {
  auto init = [](self_ptr self, services* svc, uuid id) -> caf::behavior {
    auto& st = self->state;
    st.svc = svc;
    ++svc->activations;
    st.id = id;
    st.stream = "campaign:" + id.str();
    st.machine.id = id;
    st.rules = svc->cfg.campaign_rules;
    self->set_default_handler(caf::skip); // hold commands until the journal is replayed
    auto handle = caf::actor_cast<caf::actor>(self);
    svc->store.load_snapshot(id, [handle](auto r) { caf::anon_send(handle, snapshot_loaded{std::move(r)}); });
    return {
      [=](snapshot_loaded& loaded) {
        auto& st = self->state;
        if (!loaded.snapshot) {
          spdlog::warn("campaign {}: recovery failed: {}", st.id.str(), loaded.snapshot.error().message);
          self->quit(refuse(from_persistence(loaded.snapshot.error().code), "could not load the campaign"));
          return;
        }
        if (auto& snap = loaded.snapshot.value()) {
          content_map contents, reviews;
          auto decoded = decode_snapshot(snap->version, snap->payload, contents, reviews);
          if (decoded && decoded->first.head == snap->seq && decoded->first.id == st.id) {
            st.machine = std::move(decoded->first);
            st.proposals = std::move(decoded->second);
            st.contents = std::move(contents);
            st.reviews = std::move(reviews);
            st.snapshot_seq = snap->seq;
          } else { // the journal is the truth: replay it all
            spdlog::warn("campaign {}: ignoring snapshot at seq {}: {}", st.id.str(), snap->seq,
                         decoded ? "head mismatch" : decoded.error());
          }
        }
        load_next(self);
      },
      [=](events_loaded& loaded) {
        auto& st = self->state;
        if (!loaded.events) {
          spdlog::warn("campaign {}: recovery failed: {}", st.id.str(), loaded.events.error().message);
          self->quit(refuse(from_persistence(loaded.events.error().code), "could not load the campaign"));
          return;
        }
        auto& rows = loaded.events.value();
        for (auto& rec : rows) {
          auto ev = pr::decode_campaign_event(rec.type, rec.version, rec.payload);
          if (!ev || rec.seq != st.machine.head + 1) {
            spdlog::error("campaign {}: journal is unreadable at seq {}: {}", st.id.str(), rec.seq,
                          ev ? "sequence gap" : ev.error());
            self->quit(refuse(pr::error_code::internal, "corrupt journal"));
            return;
          }
          if (auto* a = std::get_if<pr::application_submitted>(&ev.value()))
            st.proposals[rec.seq] = a->proposal;
          remember_content(st, rec.seq, ev.value(), std::make_shared<const std::string>(rec.payload));
          campaign::apply_event(st.machine, rec.seq, ev.value());
        }
        if (rows.size() == 1000) {
          load_next(self);
          return;
        }
        st.committed = st.machine.head;
        spdlog::debug("campaign {}: active at seq {} (snapshot {})", st.id.str(), st.committed, st.snapshot_seq);
        self->set_default_handler(caf::print_and_drop);
        self->become(running(self));
      },
    };
  };
  return parent->spawn(init, svc, id);
}

} // namespace pactum::actors
