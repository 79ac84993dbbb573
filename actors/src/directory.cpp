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
// ephemeral `user:<id>` stream) rather than to an entity stream.

#include <map>
#include <unordered_map>

#include "message_types.hpp"
#include "services.hpp"

namespace pactum::actors {

struct directory_entry {
  caf::actor actor;
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

caf::actor activate(caf::stateful_actor<directory_state>* self, services* svc, const uuid& id) {
  auto a = spawn_conversation(self, svc, id);
  self->monitor(a);
  self->state.ids.emplace(a.address(), id);
  return a;
}

} // namespace

struct registry_state {
  static inline const char* name = "registry";
  std::unordered_map<uuid, std::vector<caf::actor>> sessions;
  std::map<caf::actor_addr, uuid> users;
};

caf::actor spawn_directory(caf::actor_system& sys, services* svc) {
  auto init = [](caf::stateful_actor<directory_state>* self, services* svc) -> caf::behavior {
    // The runtime ends the directory on shutdown; it takes every conversation with it, so the
    // actor system has nothing left to wait for.
    self->set_exit_handler([=](caf::exit_msg& msg) {
      for (auto& [id, entry] : self->state.live)
        self->send_exit(entry.actor, msg.reason);
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
      auto waiting = std::move(e->second.waiting);
      if (waiting.empty()) {
        st.live.erase(e);
        return;
      }
      e->second = directory_entry{activate(self, svc, id), false, {}};
      for (auto& rp : waiting)
        rp.deliver(e->second.actor);
    });
    return {
      [=](lookup_atom, const uuid& id) -> caf::result<caf::actor> {
        auto& st = self->state;
        auto i = st.live.find(id);
        if (i == st.live.end())
          i = st.live.emplace(id, directory_entry{activate(self, svc, id), false, {}}).first;
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
        self->send(sender, passivate_atom_v);
      },
      [=](caf::get_atom) -> std::pair<size_t, size_t> {
        return {self->state.live.size(), self->state.passivations};
      },
    };
  };
  return sys.spawn(init, svc);
}

caf::actor spawn_registry(caf::actor_system& sys) {
  auto init = [](caf::stateful_actor<registry_state>* self) -> caf::behavior {
    // On shutdown, end every session still registered (normally the gateway has closed them).
    self->set_exit_handler([=](caf::exit_msg& msg) {
      for (auto& [user, list] : self->state.sessions)
        for (auto& s : list)
          self->send_exit(s, msg.reason);
      self->quit(msg.reason);
    });
    self->set_down_handler([=](caf::down_msg& dm) {
      auto& st = self->state;
      auto i = st.users.find(dm.source);
      if (i == st.users.end())
        return;
      auto& list = st.sessions[i->second];
      list.erase(std::remove_if(list.begin(), list.end(),
                                [&](const caf::actor& a) { return a.address() == dm.source; }),
                 list.end());
      if (list.empty())
        st.sessions.erase(i->second);
      st.users.erase(i);
    });
    return {
      [=](caf::join_atom, const uuid& user, const caf::actor& session) {
        self->monitor(session);
        self->state.sessions[user].push_back(session);
        self->state.users.emplace(session.address(), user);
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
  return sys.spawn(init);
}

} // namespace pactum::actors
