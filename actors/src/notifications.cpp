// Notifications: the notifier hub, one notifier actor per user, the helpers entity actors call
// after a commit, delivery on connect, and the users' requests (see notifications.hpp).
//
// Lifecycle: the hub lives as long as the runtime; it spawns a user's notifier on the first fact
// for them and monitors it. A notifier handles one fact at a time (so its pushes keep the order
// of the facts and coalescing sees its own previous update), waiting for the store's answer in
// a message, never blocking its scheduler thread. Idle for `passivate_after`, it asks the hub to
// retire; the hub forgets it and answers, and the notifier stops once the facts already in its
// mailbox are handled (the hub forwards nothing to it after forgetting it).

#include "notifications.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <unordered_map>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "entity_support.hpp"
#include "msgpack_peek.hpp"
#include "message_types.hpp"
#include "pactum/actors/policy.hpp"
#include "pactum/persistence/notification_store.hpp"
#include "services.hpp"

namespace pactum::actors {

using json = nlohmann::json;

const std::vector<std::string>& notification_types() {
  static const std::vector<std::string> types{
    "application.received", "application.decided", "invitation.received", "invitation.answered",
    "offer.made",           "offer.accepted",      "offer.declined",      "message.received",
    "content.submitted",    "content.reviewed",    "contract.funded",     "contract.released",
    "contract.refunded",    "contract.disputed",   "contract.resolved",   "deadline.reminder",
    "payout.completed",     "contract.performance_billed"};
  return types;
}

namespace {

json row_json(const persistence::notification_row& r) {
  auto data = json::parse(r.payload, nullptr, false);
  json out{{"id", r.id},
           {"type", r.type},
           {"data", data.is_discarded() ? json::object() : std::move(data)},
           {"created_at", r.created_at},
           {"updated_at", r.updated_at},
           {"read", r.read_at.has_value()}};
  out["read_at"] = r.read_at ? json(*r.read_at) : json(nullptr);
  return out;
}

protocol::push_frame_ptr user_frame(const uuid& user, const json& ev) {
  auto bytes = json::to_msgpack(ev);
  return std::make_shared<protocol::push_frame>(
    "user:" + user.str(), 0, std::make_shared<const std::string>(bytes.begin(), bytes.end()));
}

json decode(const std::string& msgpack) {
  auto obj = json::from_msgpack(msgpack, true, false);
  return obj.is_object() ? obj : json::object();
}

// -- the per-user notifier -------------------------------------------------------------------

struct notifier_state {
  static inline const char* name = "notifier";
  services* svc = nullptr;
  uuid user;
  std::deque<notification_fact> queue;
  bool storing = false;
  bool retiring = false;
  caf::actor_clock::time_point last_active;
};

using notifier_ptr = caf::stateful_actor<notifier_state>*;

void next_fact(notifier_ptr self) {
  auto& st = self->state;
  if (st.storing)
    return;
  if (st.queue.empty()) {
    if (st.retiring)
      self->quit();
    return;
  }
  auto fact = std::move(st.queue.front());
  st.queue.pop_front();
  st.storing = true;
  st.last_active = self->clock().now();
  auto handle = caf::actor_cast<caf::actor>(self);
  auto registry = st.svc->registry;
  auto user = st.user;
  auto type = fact.type;
  persistence::notification_insert ins{fact.user, std::move(fact.type), std::move(fact.source),
                                       std::move(fact.coalesce_key), std::move(fact.payload),
                                       static_cast<int64_t>(st.svc->cfg.notifications_per_user)};
  persistence::store_notification(
    *st.svc->db, std::move(ins),
    [handle, registry, user, type](persistence::result<persistence::notification_saved> r) {
      if (!r) {
        spdlog::warn("notifier {}: {} not stored: {}", user.str(), type, r.error().message);
      } else if (r->outcome == persistence::notification_outcome::stored
                 || r->outcome == persistence::notification_outcome::updated) {
        json ev{{"type", "notification"}, {"notification", row_json(r->row)}, {"unread", r->unread}};
        caf::anon_send(registry, notify_atom_v, user, user_frame(user, ev));
      }
      caf::anon_send(handle, delivered_atom_v, uint64_t{0});
    });
}

caf::behavior notifier(notifier_ptr self, services* svc, uuid user, caf::actor hub) {
  auto& st = self->state;
  st.svc = svc;
  st.user = user;
  st.last_active = self->clock().now();
  auto idle = svc->cfg.passivate_after;
  if (idle.count() > 0)
    self->delayed_send(self, idle, idle_check_atom_v);
  return {
    [=](notify_atom, notification_fact& fact) {
      self->state.queue.push_back(std::move(fact));
      next_fact(self);
    },
    [=](delivered_atom, uint64_t) {
      self->state.storing = false;
      next_fact(self);
    },
    [=](idle_check_atom) {
      auto& st = self->state;
      if (st.retiring)
        return;
      auto quiet = self->clock().now() - st.last_active;
      if (!st.storing && st.queue.empty() && quiet >= idle)
        self->send(hub, passivate_atom_v, st.user);
      else
        self->delayed_send(self, idle, idle_check_atom_v);
    },
    [=](passivate_atom) {
      // The hub forgot us: finish what is queued, then stop.
      self->state.retiring = true;
      ++self->state.svc->passivations;
      next_fact(self);
    },
  };
}

struct hub_state {
  static inline const char* name = "notifier-hub";
  std::unordered_map<uuid, caf::actor> live;
  std::map<caf::actor_addr, uuid> ids;
};

} // namespace

caf::actor spawn_notifier_hub(caf::actor_system& sys, services* svc) {
  auto init = [](caf::stateful_actor<hub_state>* self, services* svc) -> caf::behavior {
    self->set_exit_handler([=](caf::exit_msg& msg) {
      for (auto& [id, a] : self->state.live)
        self->send_exit(a, msg.reason);
      self->quit(msg.reason);
    });
    self->set_down_handler([=](caf::down_msg& dm) {
      auto& st = self->state;
      auto i = st.ids.find(dm.source);
      if (i == st.ids.end())
        return;
      auto l = st.live.find(i->second);
      if (l != st.live.end() && l->second.address() == dm.source)
        st.live.erase(l);
      st.ids.erase(i);
    });
    return {
      [=](notify_atom, notification_fact& fact) {
        auto& st = self->state;
        if (!svc->db)
          return;
        auto i = st.live.find(fact.user);
        if (i == st.live.end()) {
          auto a = self->spawn(notifier, svc, fact.user, caf::actor_cast<caf::actor>(self));
          ++svc->activations;
          self->monitor(a);
          st.ids.emplace(a.address(), fact.user);
          i = st.live.emplace(fact.user, a).first;
        }
        self->send(i->second, notify_atom_v, std::move(fact));
      },
      [=](passivate_atom, const uuid& user) {
        auto& st = self->state;
        auto sender = caf::actor_cast<caf::actor>(self->current_sender());
        auto i = st.live.find(user);
        if (i == st.live.end() || i->second != sender)
          return;
        st.live.erase(i);
        self->send(sender, passivate_atom_v);
      },
    };
  };
  return sys.spawn(init, svc);
}

// -- facts ---------------------------------------------------------------------------------------

namespace {

notification_fact fact_for(const uuid& user, std::string type, std::string source, const json& data,
                           std::string coalesce_key = {}) {
  return notification_fact{user, std::move(type), std::move(source), std::move(coalesce_key), data.dump()};
}

void tell_all(services& svc, std::vector<notification_fact> facts) {
  if (!svc.notifier)
    return;
  for (auto& f : facts)
    if (!f.user.is_nil())
      caf::anon_send(svc.notifier, notify_atom_v, std::move(f));
}

} // namespace

std::vector<notification_fact> conversation_facts(const uuid& conv, const uuid& brand, const uuid& creator,
                                                  int64_t seq, const std::string& msgpack,
                                                  const std::set<uuid>& viewing) {
  std::vector<notification_fact> out;
  // Fast path, without a JSON DOM (this runs for every committed event): most events notify no
  // one (a message to a member who is watching, typing marks, read marks, edits). When the
  // msgpack cannot be peeked the full decode below decides, with the same answers.
  if (auto peeked = msgpack_peek_str(msgpack, "type")) {
    if (*peeked == "message.posted") {
      if (auto author = msgpack_peek_str(msgpack, "author")) {
        auto by = uuid::parse(*author);
        auto to = !by ? uuid{} : *by == brand ? creator : *by == creator ? brand : uuid{};
        if (to.is_nil() || viewing.count(to))
          return out;
      }
    } else if (*peeked != "offer.made" && *peeked != "offer.accepted" && *peeked != "offer.declined") {
      return out;
    }
  }
  auto ev = decode(msgpack);
  auto type = ev.value("type", std::string{});
  auto source = "conversation:" + conv.str() + ":" + std::to_string(seq);
  auto other_than = [&](const char* field) {
    auto by = uuid::parse(ev.value(field, std::string{}));
    if (!by)
      return uuid{};
    return *by == brand ? creator : *by == creator ? brand : uuid{};
  };
  if (type == "message.posted") {
    auto to = other_than("author");
    if (to.is_nil() || viewing.count(to))
      return out;
    // No text: message text is personal data, sealed at rest in the journal (sealer.cpp), and a
    // notification row is stored in the clear. The client reads the message with `history`.
    json data{{"conversation", conv.str()}, {"seq", seq}, {"from", ev.value("author", std::string{})},
              {"count", 1}, {"at", ev.value("at", int64_t{0})}};
    out.push_back(fact_for(to, "message.received", source, data, "conversation:" + conv.str()));
  } else if (type == "offer.made" || type == "offer.accepted" || type == "offer.declined") {
    auto to = other_than("by");
    if (to.is_nil())
      return out;
    ev.erase("type");
    ev.erase("client_id");
    ev.erase("terms");  // personal data, sealed in the journal (sealer.cpp): read the offer
    ev.erase("reason"); // with `history`, not from a row stored in the clear
    json data{{"conversation", conv.str()}, {"seq", seq}};
    for (auto& [k, v] : ev.items())
      data[k] = v;
    out.push_back(fact_for(to, type, source, data));
  }
  return out;
}

std::vector<notification_fact> contract_facts(const uuid& contract, const uuid& brand, const uuid& creator,
                                              int64_t seq, const std::string& msgpack) {
  static const std::map<std::string, std::string> types{
    {"contract.funded", "contract.funded"},       {"contract.released", "contract.released"},
    {"contract.refunded", "contract.refunded"},   {"contract.disputed", "contract.disputed"},
    {"contract.resolved", "contract.resolved"},   {"contract.reminder", "deadline.reminder"},
    {"contract.performance_billed", "contract.performance_billed"}};
  std::vector<notification_fact> out;
  auto ev = decode(msgpack);
  auto t = types.find(ev.value("type", std::string{}));
  if (t == types.end())
    return out;
  // A bill of 0 only moves a cpv contract's watermark (a fraction of a minor unit): nothing paid.
  if (t->first == "contract.performance_billed" && ev.value("gross", int64_t{0}) <= 0)
    return out;
  ev.erase("type");
  ev.erase("key");
  if (t->first == "contract.disputed")
    ev.erase("reason"); // sealed in the journal (sealer.cpp): read it with contract.get
  json data{{"contract", contract.str()}, {"seq", seq}};
  for (auto& [k, v] : ev.items())
    data[k] = v;
  auto source = "contract:" + contract.str() + ":" + std::to_string(seq);
  for (auto& user : {brand, creator})
    out.push_back(fact_for(user, t->second, source, data));
  return out;
}

std::vector<notification_fact> campaign_facts(const uuid& campaign, const uuid& brand, const uuid& creator,
                                              int64_t seq, const std::string& msgpack) {
  std::vector<notification_fact> out;
  auto ev = decode(msgpack);
  auto type = ev.value("type", std::string{});
  std::string what;
  uuid to;
  if (type == "application.submitted")
    what = "application.received", to = brand;
  else if (type == "application.decided")
    what = "application.decided", to = creator;
  else if (type == "invitation.sent")
    what = "invitation.received", to = creator;
  else if (type == "invitation.answered")
    what = "invitation.answered", to = brand;
  else if (type == "content.submitted")
    what = "content.submitted", to = brand;
  else if (type == "content.reviewed")
    what = "content.reviewed", to = creator;
  else
    return out;
  ev.erase("type");
  ev.erase("key");
  json data{{"campaign", campaign.str()}, {"seq", seq}};
  for (auto& [k, v] : ev.items())
    data[k] = v;
  out.push_back(fact_for(to, what, "campaign:" + campaign.str() + ":" + std::to_string(seq), data));
  return out;
}

void notify_conversation_events(services& svc, const uuid& conv, const uuid& brand, const uuid& creator,
                                const std::vector<protocol::push_frame_ptr>& frames,
                                const std::set<uuid>& viewing) {
  for (auto& frame : frames)
    if (frame)
      tell_all(svc, conversation_facts(conv, brand, creator, frame->seq(), frame->event_msgpack(), viewing));
}

void notify_contract_events(services& svc, const uuid& contract, const uuid& brand, const uuid& creator,
                            const std::vector<std::pair<int64_t, std::shared_ptr<const std::string>>>& fresh) {
  for (auto& [seq, payload] : fresh)
    if (payload)
      tell_all(svc, contract_facts(contract, brand, creator, seq, *payload));
}

void notify_campaign_event(services& svc, const uuid& campaign, const uuid& brand, const uuid& creator,
                           int64_t seq, const std::string& payload) {
  tell_all(svc, campaign_facts(campaign, brand, creator, seq, payload));
}

void notify_payout(services& svc, const uuid& user, int64_t seq, const withdrawal_info& paid) {
  json data{{"payout", paid.payout}, {"amount", paid.amount}, {"currency", paid.currency},
            {"seq", seq}, {"at", paid.at}};
  tell_all(svc, {fact_for(user, "payout.completed", "wallet:" + user.str() + ":" + std::to_string(seq), data)});
}

// -- delivery on connect and requests ----------------------------------------------------------

void push_missed_notifications(services& svc, const caf::actor& session, const uuid& user) {
  if (!svc.db || svc.cfg.notifications_missed_max == 0)
    return;
  persistence::list_notifications(
    *svc.db, user, 0, true, svc.cfg.notifications_missed_max,
    [session, user](persistence::result<persistence::notification_page> r) {
      if (!r) {
        spdlog::warn("notifications: missed ones of {} not read: {}", user.str(), r.error().message);
        return;
      }
      if (r->unread == 0)
        return;
      auto list = json::array();
      for (auto& row : r->items)
        list.push_back(row_json(row));
      json ev{{"type", "notifications.missed"}, {"unread", r->unread}, {"notifications", std::move(list)}};
      caf::anon_send(session, notify_atom_v, user_frame(user, ev));
    });
}

void notifications_request(services& svc, const principal& who, protocol::notifications_req req,
                           std::function<void(expected<std::string, api_error>)> done) {
  using op = protocol::notifications_req::op;
  auto action = req.what == op::list        ? policy::action::notification_list
                : req.what == op::read      ? policy::action::notification_read
                : req.what == op::prefs_get ? policy::action::notification_prefs_get
                                            : policy::action::notification_prefs_set;
  if (auto no = policy::decide(action, policy::parse_role(who.role), policy::relation::owner))
    return done(api_error{no->status, no->code, std::string{no->message}, {}});
  if (!svc.db)
    return done(api_error{503, protocol::error_code::unavailable, "storage is unavailable", {}});
  auto unavailable = [](const persistence::failure& f) {
    return api_error{503, from_persistence(f.code), "storage is unavailable; retry shortly", {}};
  };
  switch (req.what) {
    case op::list:
      return persistence::list_notifications(
        *svc.db, who.user, req.before, req.unread_only, req.limit,
        [done, unavailable, limit = req.limit](persistence::result<persistence::notification_page> r) {
          if (!r)
            return done(unavailable(r.error()));
          auto list = json::array();
          for (auto& row : r->items)
            list.push_back(row_json(row));
          json out{{"notifications", std::move(list)}, {"unread", r->unread}};
          // The next page starts below the last id, when this page was full.
          out["next_before"] = r->items.size() == limit && limit > 0 ? json(r->items.back().id) : json(nullptr);
          done(out.dump());
        });
    case op::read:
      return persistence::mark_notifications_read(
        *svc.db, who.user, std::move(req.ids), req.up_to,
        [done, unavailable](persistence::result<std::pair<int64_t, int64_t>> r) {
          if (!r)
            return done(unavailable(r.error()));
          done(json{{"marked", r->first}, {"unread", r->second}}.dump());
        });
    case op::prefs_get:
      return persistence::notification_prefs(
        *svc.db, who.user, [done, unavailable](persistence::result<std::vector<std::string>> r) {
          if (!r)
            return done(unavailable(r.error()));
          done(json{{"muted", r.value()}, {"types", notification_types()}}.dump());
        });
    case op::prefs_set: {
      auto& known = notification_types();
      std::vector<std::string> muted;
      for (auto& t : req.muted) {
        if (std::find(known.begin(), known.end(), t) == known.end())
          return done(api_error{400, protocol::error_code::bad_request, "unknown notification type: " + t,
                                {{"muted", "unknown type " + t}}});
        if (std::find(muted.begin(), muted.end(), t) == muted.end())
          muted.push_back(t);
      }
      std::sort(muted.begin(), muted.end());
      return persistence::set_notification_prefs(
        *svc.db, who.user, muted, [done, unavailable, muted](persistence::result<persistence::unit> r) {
          if (!r)
            return done(unavailable(r.error()));
          done(json{{"muted", muted}, {"types", notification_types()}}.dump());
        });
    }
  }
}

// -- REST (runtime.hpp) ------------------------------------------------------------------------

void runtime::notifications(principal who, protocol::notifications_req req,
                            std::function<void(expected<std::string, api_error>)> done) {
  notifications_request(services_(), who, std::move(req), std::move(done));
}

} // namespace pactum::actors
