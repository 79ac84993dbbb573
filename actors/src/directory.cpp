// The directory and the registry.
//
// Directory: the one place that maps a conversation id to its live actor. It guarantees at most
// one actor per id (all activations go through this single actor), activates on demand, and
// forgets an actor when it goes down, so the next lookup re-activates it from storage.
//
// Passivation: an idle entity asks to retire; from then on lookups of its id wait here until it
// has stopped (it may still be finishing work), then get a fresh activation. So there is never a
// second live actor for an id, and no message is lost: senders holding the old handle get
// `request_receiver_down` and ask again.
//
// Registry: user id -> that user's live session actors, for pushes addressed to a user (the
// ephemeral `user:<id>` stream) rather than to an entity stream. It also keeps presence: a user is
// online while they have a session; when their last one ends, their last-seen time is kept (and
// stored, so it outlives a restart). Sessions watch the other members of the conversations they
// subscribe to; watchers get a `presence` notice at once and on every change. Last-seen times
// are stored in batches (one transaction per `last_seen_flush_interval`, and at shutdown): when a
// network path drops, thousands of users go offline at once, and one commit each would hold the
// database pool while those same users log back in. Until stored, the registry's memory answers.

#include <map>
#include <set>
#include <unordered_map>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "message_types.hpp"
#include "pactum/persistence/presence_store.hpp"
#include "server_metrics.hpp"
#include "services.hpp"

namespace pactum::actors {

struct directory_entry {
  caf::actor actor;
  entity_kind kind = entity_kind::conversation;
  bool retiring = false;
  std::vector<caf::typed_response_promise<caf::actor>> waiting; ///< lookups held while it retires
};

struct directory_state {
  static inline const char* name = "directory";
  std::unordered_map<uuid, directory_entry> live;
  std::map<caf::actor_addr, uuid> ids;
  size_t passivations = 0;
};

namespace {

caf::actor activate(caf::stateful_actor<directory_state>* self, services* svc, const uuid& id,
                    entity_kind kind) {
  auto a = kind == entity_kind::contract   ? spawn_contract(self, svc, id)
           : kind == entity_kind::wallet   ? spawn_wallet(self, svc, id)
           : kind == entity_kind::campaign ? spawn_campaign(self, svc, id)
           : kind == entity_kind::pledge   ? spawn_pledge(self, svc, id)
                                           : spawn_conversation(self, svc, id);
  self->monitor(a);
  self->state.ids.emplace(a.address(), id);
  server_metrics::entity_activated(kind);
  return a;
}

} // namespace

struct registry_state {
  static inline const char* name = "registry";
  std::unordered_map<uuid, std::vector<caf::actor>> sessions;
  std::map<caf::actor_addr, uuid> users;
  /// watched user -> watcher session -> how many of its subscriptions watch them
  std::unordered_map<uuid, std::map<caf::actor_addr, std::pair<caf::actor, int>>> watchers;
  std::map<caf::actor_addr, std::set<uuid>> watching; ///< watcher session -> watched users
  std::unordered_map<uuid, millis> last_seen;         ///< offline users seen since start (or loaded)
  std::set<uuid> loading;                             ///< last-seen reads in flight
  std::unordered_map<uuid, millis> unsaved_seen;      ///< last-seen times not yet stored
  bool flush_armed = false;                           ///< a flush_atom is on its way
};

namespace {

using registry_ptr = caf::stateful_actor<registry_state>*;

constexpr std::chrono::milliseconds last_seen_flush_interval{250};

/// Stores the last-seen times gathered since the last flush, in one transaction.
void flush_last_seen(registry_ptr self, services* svc) {
  auto& st = self->state;
  st.flush_armed = false;
  if (st.unsaved_seen.empty() || !svc->db)
    return;
  std::vector<std::pair<uuid, millis>> batch(st.unsaved_seen.begin(), st.unsaved_seen.end());
  st.unsaved_seen.clear();
  auto n = batch.size();
  persistence::touch_last_seen_many(*svc->db, std::move(batch), [n](persistence::result<size_t> r) {
    if (!r)
      spdlog::warn("presence: last seen of {} users not stored: {}", n, r.error().message);
  });
}

/// The `presence` notice about `user` for `watcher`'s user stream.
protocol::push_frame_ptr presence_frame(registry_ptr self, const uuid& watcher_user, const uuid& user) {
  auto& st = self->state;
  bool online = st.sessions.count(user) > 0;
  nlohmann::json ev{{"type", "presence"}, {"user", user.str()}, {"online", online}};
  auto seen = st.last_seen.find(user);
  if (!online && seen != st.last_seen.end() && seen->second > 0)
    ev["last_seen"] = seen->second;
  else
    ev["last_seen"] = nullptr;
  auto bytes = nlohmann::json::to_msgpack(ev);
  return std::make_shared<protocol::push_frame>(
    "user:" + watcher_user.str(), 0, std::make_shared<const std::string>(bytes.begin(), bytes.end()));
}

void tell_watchers(registry_ptr self, const uuid& user) {
  auto& st = self->state;
  auto w = st.watchers.find(user);
  if (w == st.watchers.end())
    return;
  for (auto& [addr, entry] : w->second) {
    auto u = st.users.find(addr);
    if (u != st.users.end())
      self->send(entry.first, notify_atom_v, presence_frame(self, u->second, user));
  }
}

void unwatch(registry_ptr self, const uuid& user, const caf::actor_addr& watcher, bool all) {
  auto& st = self->state;
  auto w = st.watchers.find(user);
  if (w == st.watchers.end())
    return;
  auto e = w->second.find(watcher);
  if (e == w->second.end())
    return;
  if (all || --e->second.second <= 0) {
    w->second.erase(e);
    if (auto i = st.watching.find(watcher); i != st.watching.end() && !all)
      i->second.erase(user);
  }
  if (w->second.empty())
    st.watchers.erase(w);
}

} // namespace

caf::actor spawn_directory(caf::actor_system& sys, services* svc) {
  server_metrics::register_all();
  auto init = [](caf::stateful_actor<directory_state>* self, services* svc) -> caf::behavior {
    // The runtime ends the directory on shutdown; it takes every conversation with it, so the
    // actor system has nothing left to wait for.
    self->set_exit_handler([=](caf::exit_msg& msg) {
      for (auto& [id, entry] : self->state.live) {
        self->send_exit(entry.actor, msg.reason);
        server_metrics::entity_stopped(entry.kind);
      }
      self->quit(msg.reason);
    });
    self->set_down_handler([=](caf::down_msg& dm) {
      auto& st = self->state;
      auto i = st.ids.find(dm.source);
      if (i == st.ids.end())
        return;
      auto id = i->second;
      st.ids.erase(i);
      auto e = st.live.find(id);
      if (e == st.live.end())
        return;
      server_metrics::entity_stopped(e->second.kind);
      auto waiting = std::move(e->second.waiting);
      if (waiting.empty()) {
        st.live.erase(e);
        return;
      }
      e->second = directory_entry{activate(self, svc, id, e->second.kind), e->second.kind, false, {}};
      for (auto& rp : waiting)
        rp.deliver(e->second.actor);
    });
    return {
      [=](lookup_atom, const uuid& id, entity_kind kind) -> caf::result<caf::actor> {
        auto& st = self->state;
        auto i = st.live.find(id);
        if (i == st.live.end())
          i = st.live.emplace(id, directory_entry{activate(self, svc, id, kind), kind, false, {}}).first;
        else if (i->second.kind != kind)
          return caf::error{protocol::error_code::forbidden, "no such entity"};
        if (!i->second.retiring)
          return i->second.actor;
        auto rp = self->make_response_promise<caf::actor>();
        i->second.waiting.push_back(rp);
        return rp;
      },
      [=](passivate_atom, const uuid& id) {
        auto& st = self->state;
        auto i = st.live.find(id);
        auto sender = caf::actor_cast<caf::actor>(self->current_sender());
        if (i == st.live.end() || i->second.actor != sender || i->second.retiring)
          return;
        i->second.retiring = true;
        ++st.passivations;
        server_metrics::entity_passivated(i->second.kind);
        self->send(sender, passivate_atom_v);
      },
      [=](forget_atom, const uuid& id) {
        // An erasure: the live actor's memory may hold the erased user's decrypted data. Stop it
        // at once, without a snapshot; lookups wait (as for a retiring actor) and then get a
        // fresh activation from the sealed journal, which shows that data as erased.
        auto& st = self->state;
        auto i = st.live.find(id);
        if (i == st.live.end() || i->second.retiring)
          return;
        i->second.retiring = true;
        self->send_exit(i->second.actor, caf::exit_reason::kill);
      },
      [=](caf::get_atom) -> std::pair<size_t, size_t> {
        return {self->state.live.size(), self->state.passivations};
      },
    };
  };
  return sys.spawn(init, svc);
}

caf::actor spawn_registry(caf::actor_system& sys, services* svc) {
  auto init = [](caf::stateful_actor<registry_state>* self, services* svc) -> caf::behavior {
    // On shutdown, end every session still registered (normally the gateway has closed them).
    self->set_exit_handler([=](caf::exit_msg& msg) {
      for (auto& [user, list] : self->state.sessions)
        for (auto& s : list)
          self->send_exit(s, msg.reason);
      flush_last_seen(self, svc); // the database pool drains what is queued before it stops
      self->quit(msg.reason);
    });
    self->set_down_handler([=](caf::down_msg& dm) {
      auto& st = self->state;
      auto i = st.users.find(dm.source);
      if (i == st.users.end())
        return;
      auto user = i->second;
      if (auto w = st.watching.find(dm.source); w != st.watching.end()) {
        for (auto& watched : w->second)
          unwatch(self, watched, dm.source, true);
        st.watching.erase(w);
      }
      auto& list = st.sessions[user];
      list.erase(std::remove_if(list.begin(), list.end(),
                                [&](const caf::actor& a) { return a.address() == dm.source; }),
                 list.end());
      st.users.erase(i);
      if (list.empty()) { // the user's last session ended: offline from now
        st.sessions.erase(user);
        auto now = svc->now();
        st.last_seen[user] = now;
        if (svc->db) {
          st.unsaved_seen[user] = now;
          if (!st.flush_armed) {
            st.flush_armed = true;
            self->delayed_send(self, last_seen_flush_interval, caf::flush_atom_v);
          }
        }
        tell_watchers(self, user);
      }
    });
    return {
      [=](caf::flush_atom) { flush_last_seen(self, svc); },
      [=](caf::join_atom, const uuid& user, const caf::actor& session) {
        self->monitor(session);
        auto& list = self->state.sessions[user];
        list.push_back(session);
        self->state.users.emplace(session.address(), user);
        if (list.size() == 1)
          tell_watchers(self, user); // came online
      },
      [=](watch_atom, const uuid& user, const caf::actor& watcher) {
        auto& st = self->state;
        auto& entry = st.watchers[user][watcher.address()];
        entry.first = watcher;
        ++entry.second;
        st.watching[watcher.address()].insert(user);
        auto u = st.users.find(watcher.address());
        if (u == st.users.end())
          return;
        if (st.sessions.count(user) || st.last_seen.count(user) || !svc->db) {
          self->send(watcher, notify_atom_v, presence_frame(self, u->second, user));
          return;
        }
        // Offline and not seen since start: the stored last-seen time answers, when it comes.
        if (st.loading.insert(user).second) {
          auto handle = caf::actor_cast<caf::actor>(self);
          svc->db->last_seen(user, [handle, user](persistence::result<millis> r) {
            caf::anon_send(handle, last_seen_loaded{user, r ? r.value() : 0});
          });
        }
      },
      [=](last_seen_loaded& loaded) {
        auto& st = self->state;
        st.loading.erase(loaded.user);
        if (!st.last_seen.count(loaded.user))
          st.last_seen[loaded.user] = loaded.at;
        tell_watchers(self, loaded.user);
      },
      [=](unwatch_atom, const uuid& user, const caf::actor& watcher) {
        unwatch(self, user, watcher.address(), false);
      },
      [=](kick_atom, const uuid& user, const std::string& session_id, protocol::close_code code,
          const std::string& reason) {
        auto i = self->state.sessions.find(user);
        if (i == self->state.sessions.end())
          return;
        for (auto& s : i->second)
          self->send(s, kick_atom_v, session_id, code, reason);
      },
      [=](notify_atom, const uuid& user, const protocol::push_frame_ptr& frame) {
        auto i = self->state.sessions.find(user);
        if (i == self->state.sessions.end())
          return;
        for (auto& s : i->second)
          self->send(s, notify_atom_v, frame);
      },
    };
  };
  return sys.spawn(init, svc);
}

} // namespace pactum::actors
