// The session actor: one per authenticated WebSocket connection.
//
// Lifecycle: spawned by runtime::open_session when the gateway has accepted an upgrade; sends the
// `hello` frame, joins the registry, then turns client requests into entity commands and entity
// events into frames. It ends when the gateway drops its handle (connection closed), which also
// removes it from every conversation's subscribers (they monitor it).
//
// Ordering: per subscribed stream it forwards events strictly in sequence order. Events that
// arrive ahead of a gap still being replayed are held, duplicates are dropped, so a client sees
// after+1, after+2, ... with no holes even while the replay is read from storage.
//
// Threading: a CAF actor; it touches the connection only through session_sink, which hands frames
// to the connection's I/O strand.

#include <functional>
#include <map>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "pactum/common/fifo.hpp"
#include "ask_entity.hpp"
#include "audit.hpp"
#include "message_types.hpp"
#include "pactum/actors/policy.hpp"
#include "server_metrics.hpp"
#include "services.hpp"
#include "notifications.hpp"
#include "rooms.hpp"

namespace pactum::actors {

namespace {

struct stream_state {
  int64_t next = 1;   ///< next seq the client should see
  bool ready = false; ///< the replay was delivered; live events flow
  std::map<int64_t, protocol::push_frame_ptr> ahead;
  caf::actor conv;   ///< the actor serving this subscription (monitored)
  uint64_t gen = 0;  ///< bumped by every subscribe attempt; answers to older ones are stale
  int retries = 0;
  std::vector<uuid> watched; ///< members whose presence this subscription asked the registry for
};

constexpr size_t max_ahead = 100'000; // events held behind a replay before giving up

} // namespace

struct session_state {
  static inline const char* name = "session";
  services* svc = nullptr;
  principal who;
  std::shared_ptr<session_sink> sink;
  std::unordered_map<uuid, stream_state> streams;
  std::unordered_map<uuid, caf::actor> convs;
  std::map<caf::actor_addr, uuid> conv_ids;
  /// Requests of this session not answered yet; shared with the exit hook, which gives them back
  /// to the runtime-wide count when the session ends with requests outstanding.
  std::shared_ptr<std::atomic<size_t>> in_flight = std::make_shared<std::atomic<size_t>>(0);
  /// The unanswered requests' ids, types and arrival, for the latency histogram (at most
  /// max_in_flight_per_session + 1 entries: a request beyond is answered at once).
  struct timing {
    protocol::request_id id;
    size_t type;
    std::chrono::steady_clock::time_point received;
  };
  std::vector<timing> timings;
  /// Deadlines of the requests this session has sent to conversation actors, in the order sent
  /// (one timeout for all, so also in deadline order). They replace CAF's per-request timeouts:
  /// each of those is two events through CAF's clock thread (set and cancel: a thread wake-up
  /// and allocations per chat message); here one delayed `expire` per timeout period sweeps them.
  struct deadline {
    uint64_t token;
    caf::actor_clock::time_point due;
    std::function<void()> expire; ///< empty once answered
  };
  pactum::fifo<deadline> deadlines; // allocates nothing while no request is in flight
  uint64_t next_token = 0;
  bool sweep_armed = false;
};

namespace {

using self_ptr = caf::stateful_actor<session_state>*;
using protocol::error_code;

/// Records the answered command's latency. Called before its reply is sent: a client that reads
/// /metrics after the reply must find it counted.
void observe(self_ptr self, const protocol::request_id& id) {
  auto& t = self->state.timings;
  for (size_t i = 0; i < t.size(); ++i)
    if (t[i].id.value == id.value) {
      server_metrics::command_answered(t[i].type, t[i].received);
      t[i] = std::move(t.back());
      t.pop_back();
      break;
    }
}

/// The request is no longer in flight. Called after its reply is queued: a drain that sees no
/// request in flight must find every reply queued before it closes the sockets.
void finish(self_ptr self) {
  --*self->state.in_flight;
  --self->state.svc->in_flight;
}

void reply_ok(self_ptr self, const protocol::request_id& id, protocol::encoding enc,
              const protocol::reply_body& body) {
  observe(self, id);
  self->state.sink->send(protocol::encode_ok(id, body, enc), enc);
  finish(self);
}

void reply_error(self_ptr self, const protocol::request_id& id, protocol::encoding enc,
                 error_code code, std::string_view message) {
  observe(self, id);
  server_metrics::error_answered(code, "ws");
  self->state.sink->send(protocol::encode_error(&id, code, message, enc), enc);
  finish(self);
}

void reply_caf_error(self_ptr self, const protocol::request_id& id, protocol::encoding enc,
                     const caf::error& err) {
  reply_error(self, id, enc, to_protocol_code(err), error_text(err));
}

/// Runs `k` with the live actor of conversation `id` (asking the directory when not cached).
template <class K, class E>
void with_conversation(self_ptr self, const uuid& id, K k, E on_error) {
  auto& st = self->state;
  if (auto i = st.convs.find(id); i != st.convs.end()) {
    k(i->second);
    return;
  }
  self->request(st.svc->directory, st.svc->cfg.request_timeout, lookup_atom_v, id, entity_kind::conversation)
    .then(
      [=](caf::actor& conv) {
        auto& st = self->state;
        if (st.convs.emplace(id, conv).second) {
          self->monitor(conv);
          st.conv_ids.emplace(conv.address(), id);
        }
        k(conv);
      },
      [=](caf::error& err) { on_error(err); });
}

void forget_conversation(self_ptr self, const caf::actor_addr& addr);

/// Sends `msg` to entity `id` of `kind` (activated through the directory) and hands the typed
/// reply to `on_ok`. With `retry`, asks once more if the actor it reached had just stopped (for
/// commands that are safe to repeat, e.g. contract commands: they carry idempotency keys).
template <class Reply, class OnOk, class OnError>
void ask_entity(self_ptr self, entity_kind kind, const uuid& id, caf::message msg, OnOk on_ok, OnError on_error,
                bool retry) {
  auto timeout = self->state.svc->cfg.request_timeout;
  self->request(self->state.svc->directory, timeout, lookup_atom_v, id, kind)
    .then(
      [=](caf::actor& entity) {
        self->request(entity, timeout, msg)
          .then([=](Reply& r) { on_ok(r); },
                [=](caf::error& err) {
                  if (err == caf::sec::request_receiver_down && retry)
                    return ask_entity<Reply>(self, kind, id, msg, on_ok, on_error, false);
                  on_error(err);
                });
      },
      [=](caf::error& err) { on_error(err); });
}

/// Sends `msg` to conversation `id` and hands the typed reply to `on_ok`. If the actor it reached
/// had just stopped (passivated, or failed an append), asks the directory again and retries once:
/// every conversation command is safe to repeat (messages are deduplicated by client id).
/// Starts the deadline of a request; `expire` runs if it is not settled within the request timeout.
uint64_t watch_request(self_ptr self, std::function<void()> expire) {
  auto& st = self->state;
  auto token = ++st.next_token;
  st.deadlines.push_back({token, self->clock().now() + st.svc->cfg.request_timeout, std::move(expire)});
  if (!st.sweep_armed) {
    st.sweep_armed = true;
    self->delayed_send(self, st.svc->cfg.request_timeout, expire_atom_v);
  }
  return token;
}

/// Marks the request answered; false when its deadline already passed (its answer is dropped, as
/// CAF drops a response after its timeout).
bool settle(self_ptr self, uint64_t token) {
  auto& d = self->state.deadlines;
  auto i = std::lower_bound(d.begin(), d.end(), token,
                            [](const session_state::deadline& x, uint64_t t) { return x.token < t; });
  if (i == d.end() || i->token != token || !i->expire)
    return false;
  i->expire = nullptr;
  while (!d.empty() && !d.front().expire)
    d.pop_front();
  return true;
}

/// The `expire` timer: fails the requests whose deadline passed, re-arms for the next one.
void sweep_deadlines(self_ptr self) {
  auto& st = self->state;
  auto now = self->clock().now();
  while (!st.deadlines.empty()) {
    auto& front = st.deadlines.front();
    if (front.expire && front.due > now)
      break;
    auto expire = std::move(front.expire);
    st.deadlines.pop_front();
    if (expire)
      expire();
  }
  st.sweep_armed = !st.deadlines.empty();
  if (st.sweep_armed)
    self->delayed_send(self, st.deadlines.front().due - now, expire_atom_v);
}

template <class Reply, class OnOk, class OnError>
void ask(self_ptr self, const uuid& id, caf::message msg, OnOk on_ok, OnError on_error,
         bool retried = false) {
  with_conversation(
    self, id,
    [=](caf::actor conv) {
      auto token = watch_request(self, [on_error] {
        caf::error err = caf::sec::request_timeout;
        on_error(err);
      });
      self->request(conv, caf::infinite, msg)
        .then([=](Reply& r) {
                if (settle(self, token))
                  on_ok(r);
              },
              [=](caf::error& err) {
                if (!settle(self, token))
                  return;
                if (err == caf::sec::request_receiver_down) {
                  forget_conversation(self, conv.address());
                  if (!retried)
                    return ask<Reply>(self, id, msg, on_ok, on_error, true);
                }
                on_error(err);
              });
    },
    on_error);
}

void forget_conversation(self_ptr self, const caf::actor_addr& addr) {
  auto& st = self->state;
  if (auto i = st.conv_ids.find(addr); i != st.conv_ids.end()) {
    st.convs.erase(i->second);
    st.conv_ids.erase(i);
  }
}

void deliver(self_ptr self, stream_state& s, const protocol::push_frame_ptr& frame) {
  if (frame->seq() == 0) { // ephemeral (typing): live only, outside the sequence
    if (s.ready)
      self->state.sink->push(frame);
    return;
  }
  if (frame->seq() < s.next)
    return; // already delivered
  if (!s.ready || frame->seq() > s.next) {
    if (s.ahead.size() >= max_ahead) {
      self->state.sink->close(protocol::close_code::slow_consumer, "too far behind");
      return;
    }
    s.ahead.emplace(frame->seq(), frame);
    return;
  }
  self->state.sink->push(frame);
  ++s.next;
  while (!s.ahead.empty() && s.ahead.begin()->first <= s.next) {
    if (s.ahead.begin()->first == s.next) {
      self->state.sink->push(s.ahead.begin()->second);
      ++s.next;
    }
    s.ahead.erase(s.ahead.begin());
  }
}

/// Asks the conversation for events after `s.next - 1` and live events from then on. `reply`
/// answers the client's request when this is one (not for an automatic re-subscribe).
/// Forgets a stream, and the presence watches it holds.
void drop_stream(self_ptr self, std::unordered_map<uuid, stream_state>::iterator i) {
  for (auto& m : i->second.watched)
    self->send(self->state.svc->registry, unwatch_atom_v, m, caf::actor_cast<caf::actor>(self));
  self->state.streams.erase(i);
}

void subscribe(self_ptr self, const uuid& conv_id,
               std::function<void(expected<subscribe_result, caf::error>)> reply) {
  auto i = self->state.streams.find(conv_id);
  if (i == self->state.streams.end())
    return reply(caf::error{error_code::bad_request, std::string{"unsubscribed meanwhile"}});
  auto gen = ++i->second.gen;
  i->second.ready = false;
  auto me = caf::actor_cast<caf::actor>(self);
  // The stream as this attempt knows it, or null when a later attempt (or unsubscribe) won.
  auto current = [=]() -> stream_state* {
    auto j = self->state.streams.find(conv_id);
    return j != self->state.streams.end() && j->second.gen == gen ? &j->second : nullptr;
  };
  ask<subscribe_result>(
    self, conv_id,
    caf::make_message(caf::subscribe_atom_v,
                      subscribe_query{self->state.who.user, i->second.next - 1, me, self->state.who.role}),
    [=](subscribe_result& r) {
      auto* s = current();
      if (!s)
        return reply(r); // superseded: answer the request, leave the stream to the newer attempt
      spdlog::debug("session {}: subscribed to {} head {} next {}", self->id(), conv_id.str(),
                    r.reply.head, s->next);
      if (s->conv != r.conversation) {
        s->conv = r.conversation;
        self->monitor(s->conv); // if it ends, we re-subscribe (see the down handler)
      }
      if (r.reply.head < s->next - 1)
        s->next = r.reply.head + 1; // the client claimed more than exists
      s->retries = 0;
      if (s->watched.empty()) { // presence of the other members, pushed on the user stream
        for (auto& m : r.members)
          if (m != self->state.who.user && !m.is_nil()) {
            s->watched.push_back(m);
            self->send(self->state.svc->registry, watch_atom_v, m, me);
          }
      }
      reply(r); // the ok goes out before the replayed events
      s->ready = true;
      for (auto& frame : r.gap)
        deliver(self, *s, frame);
      if (!s->ahead.empty() && s->ahead.begin()->first == s->next) {
        auto first = s->ahead.begin()->second;
        s->ahead.erase(s->ahead.begin());
        deliver(self, *s, first);
      }
    },
    [=](caf::error& err) {
      spdlog::debug("session {}: subscribe to {} failed: {}", self->id(), conv_id.str(),
                    to_string(err));
      reply(err); // the caller decides: drop the stream, or retry
    });
}

/// Subscribes again where the client left off, after the serving actor ended. Retries a few
/// times (the directory may not have noticed the end yet); if it cannot, tells the client.
void resubscribe(self_ptr self, const uuid& conv_id) {
  auto i = self->state.streams.find(conv_id);
  if (i == self->state.streams.end())
    return;
  spdlog::debug("session {}: re-subscribing to {} after {}", self->id(), conv_id.str(),
                i->second.next - 1);
  auto gen = i->second.gen + 1; // the attempt subscribe() is about to make
  subscribe(self, conv_id, [=](expected<subscribe_result, caf::error> r) {
    auto j = self->state.streams.find(conv_id);
    if (r || j == self->state.streams.end() || j->second.gen != gen)
      return; // done, unsubscribed, or superseded by a newer subscribe
    auto code = to_protocol_code(r.error());
    if ((code == error_code::unavailable || code == error_code::timeout)
        && ++j->second.retries <= 5) {
      self->delayed_send(self, std::chrono::milliseconds(100 * j->second.retries), resub_atom_v,
                         conv_id);
      return;
    }
    drop_stream(self, j);
    auto msg = "subscription to " + protocol::conversation_stream(conv_id)
               + " was lost; subscribe again with your last seq";
    self->state.sink->send(protocol::encode_error(nullptr, code, msg, protocol::encoding::json),
                           protocol::encoding::json);
  });
}

void open_conversation(self_ptr self, const protocol::request_id& id, protocol::encoding enc,
                       const protocol::conversation_open_req& req) {
  auto& st = self->state;
  if (auto no = policy::decide(policy::action::conversation_open, policy::parse_role(st.who.role),
                               policy::relation::none))
    return reply_error(self, id, enc, no->code, no->message);
  auto me = caf::actor_cast<caf::actor>(self);
  auto* svc = st.svc;
  auto brand = st.who.user;
  auto fail = [me, id, enc](error_code code, std::string msg) {
    caf::anon_send(me, open_done{id, enc, std::make_pair(code, std::move(msg))});
  };
  svc->db->find_user(req.with, [=](persistence::result<persistence::user_row> user) {
    if (!user) {
      if (user.error().code == persistence::errc::not_found)
        return fail(error_code::not_found, "no creator with this id");
      return fail(error_code::unavailable, "could not look up the creator; retry");
    }
    if (user->role != "creator")
      return fail(error_code::not_found, "no creator with this id");
    auto now = now_millis();
    protocol::conversation_event ev = protocol::conversation_opened{brand, user->id, now};
    persistence::event_record first{1, std::string{protocol::event_type(ev)},
                                    protocol::event_version(ev), protocol::encode_event(ev), now};
    svc->db->open_conversation(
      brand, user->id, uuid::v7(), std::move(first),
      [=](persistence::result<std::pair<persistence::conversation_row, bool>> r) {
        if (!r)
          return fail(error_code::unavailable, "could not open the conversation; retry");
        auto& row = r->first;
        protocol::conversation_open_reply reply{
          {row.id, row.brand_id, row.creator_id, row.created_at, row.head_seq}, r->second};
        caf::anon_send(me, open_done{id, enc, std::move(reply)});
      });
  });
}

void list_conversations(self_ptr self, const protocol::request_id& id, protocol::encoding enc,
                        const protocol::conversation_list_req& req) {
  auto me = caf::actor_cast<caf::actor>(self);
  self->state.svc->db->list_conversations(
    self->state.who.user, req.limit,
    [me, id, enc](persistence::result<std::vector<persistence::conversation_row>> r) {
      if (!r) {
        caf::anon_send(me, list_done{id, enc,
                                     std::make_pair(error_code::unavailable,
                                                    std::string{"could not list; retry"})});
        return;
      }
      protocol::conversation_list_reply reply;
      for (auto& row : r.value())
        reply.conversations.push_back(
          {row.id, row.brand_id, row.creator_id, row.created_at, row.head_seq});
      caf::anon_send(me, list_done{id, enc, std::move(reply)});
    });
}

/// Requests that count against the per-user message rate: whatever writes to a conversation and
/// lands on the other member's screen.
bool is_rate_limited(const protocol::request_body& body) {
  return std::holds_alternative<protocol::message_send_req>(body)
         || std::holds_alternative<protocol::message_edit_req>(body)
         || std::holds_alternative<protocol::offer_make_req>(body);
}

std::string format_rate(double x) {
  auto s = std::to_string(x);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.')
    s.pop_back();
  return s;
}

void handle_command(self_ptr self, client_command& c) {
  auto& st = self->state;
  auto id = c.req.id;
  auto enc = c.enc;
  ++*st.in_flight;
  ++st.svc->in_flight;
  st.timings.push_back({id, c.req.body.index(), c.received});
  if (*st.in_flight > st.svc->cfg.max_in_flight_per_session)
    return reply_error(self, id, enc, error_code::rate_limited,
                       "too many unanswered requests on this connection (at most "
                         + std::to_string(st.svc->cfg.max_in_flight_per_session) + ")");
  auto on_caf_error = [=](caf::error& err) { reply_caf_error(self, id, enc, err); };
  if (is_rate_limited(c.req.body) && st.svc->message_rate) {
    if (auto wait = st.svc->message_rate->take(st.who.user, st.svc->now()); wait > 0)
      return reply_error(self, id, enc, error_code::rate_limited,
                         "too many messages: at most " + format_rate(st.svc->cfg.message_rate_per_s)
                           + " per second (bursts of " + format_rate(st.svc->cfg.message_burst)
                           + "); retry in " + std::to_string(wait) + " ms");
  }
  std::visit(
    [&](auto& body) {
      using T = std::decay_t<decltype(body)>;
      // Requests without a target are judged here; the others where their relation is known
      // (conversation and contract actors).
      auto untargeted = [&](policy::action what) {
        auto no = policy::decide(what, policy::parse_role(st.who.role), policy::relation::none);
        if (no)
          reply_error(self, id, enc, no->code, no->message);
        return !no;
      };
      (void)untargeted; // not every request type uses it
      if constexpr (std::is_same_v<T, protocol::ping_req>) {
        if (untargeted(policy::action::ping))
          reply_ok(self, id, enc, protocol::pong_reply{now_millis()});
      } else if constexpr (std::is_same_v<T, protocol::conversation_open_req>) {
        open_conversation(self, id, enc, body);
      } else if constexpr (std::is_same_v<T, protocol::conversation_list_req>) {
        if (untargeted(policy::action::conversation_list))
          list_conversations(self, id, enc, body);
      } else if constexpr (std::is_same_v<T, protocol::message_send_req>) {
        post_command cmd{conversation::post_message{st.who.user, std::move(body.client_id),
                                                    std::move(body.text), body.reply_to,
                                                    std::move(body.attachments)},
                         st.who.role};
        ask<protocol::message_ack_reply>(
          self, body.conversation, caf::make_message(post_atom_v, std::move(cmd)),
          [=](protocol::message_ack_reply& ack) { reply_ok(self, id, enc, ack); }, on_caf_error);
      } else if constexpr (std::is_same_v<T, protocol::message_edit_req>
                           || std::is_same_v<T, protocol::message_delete_req>) {
        post_command cmd;
        cmd.role = st.who.role;
        if constexpr (std::is_same_v<T, protocol::message_edit_req>)
          cmd.cmd = conversation::edit_message{st.who.user, body.seq, std::move(body.text)};
        else
          cmd.cmd = conversation::delete_message{st.who.user, body.seq};
        ask<protocol::message_ack_reply>(
          self, body.conversation, caf::make_message(post_atom_v, std::move(cmd)),
          [=](protocol::message_ack_reply& ack) { reply_ok(self, id, enc, ack); }, on_caf_error);
      } else if constexpr (std::is_same_v<T, protocol::read_req>) {
        ask<protocol::message_ack_reply>(
          self, body.conversation,
          caf::make_message(post_atom_v, post_command{conversation::mark_read{st.who.user, body.seq}, st.who.role}),
          [=](protocol::message_ack_reply& ack) { reply_ok(self, id, enc, ack); }, on_caf_error);
      } else if constexpr (std::is_same_v<T, protocol::offer_make_req>) {
        auto ttl_s = body.expires_in_s > 0 ? body.expires_in_s
                                           : static_cast<int64_t>(st.svc->cfg.offer_ttl.count());
        post_command cmd{conversation::make_offer{st.who.user, std::move(body.client_id),
                                                  std::move(body.terms), body.counter_to,
                                                  ttl_s * 1000},
                         st.who.role};
        ask<protocol::message_ack_reply>(
          self, body.conversation, caf::make_message(post_atom_v, std::move(cmd)),
          [=](protocol::message_ack_reply& ack) { reply_ok(self, id, enc, ack); }, on_caf_error);
      } else if constexpr (std::is_same_v<T, protocol::offer_answer_req>) {
        conversation::answer_offer cmd{st.who.user, body.offer, conversation::answer::accept,
                                       std::move(body.reason), {}};
        switch (body.action) {
          case protocol::offer_action::accept:
            cmd.contract = uuid::v7(); // used only if this accept is the one that wins
            break;
          case protocol::offer_action::decline:
            cmd.what = conversation::answer::decline;
            break;
          case protocol::offer_action::withdraw:
            cmd.what = conversation::answer::withdraw;
            break;
        }
        ask<protocol::message_ack_reply>(
          self, body.conversation, caf::make_message(post_atom_v, post_command{std::move(cmd), st.who.role}),
          [=](protocol::message_ack_reply& ack) { reply_ok(self, id, enc, ack); }, on_caf_error);
      } else if constexpr (std::is_same_v<T, protocol::delivered_req>) {
        ask<protocol::delivered_reply>(
          self, body.conversation, caf::make_message(delivered_atom_v, st.who.user, body.seq, st.who.role),
          [=](protocol::delivered_reply& r) { reply_ok(self, id, enc, r); }, on_caf_error);
      } else if constexpr (std::is_same_v<T, protocol::typing_req>) {
        ask<protocol::typing_reply>(
          self, body.conversation, caf::make_message(typing_atom_v, st.who.user, st.who.role),
          [=](protocol::typing_reply& r) { reply_ok(self, id, enc, r); }, on_caf_error);
      } else if constexpr (std::is_same_v<T, protocol::subscribe_req>) {
        auto conv_id = body.conversation;
        auto& s = st.streams[conv_id];
        auto previous_gen = s.gen;
        auto watched = std::move(s.watched);
        s = stream_state{};
        s.gen = previous_gen; // answers to earlier attempts stay stale
        s.watched = std::move(watched); // the registry still counts these watches
        s.next = body.after + 1;
        auto gen = s.gen + 1; // the attempt subscribe() is about to make
        subscribe(self, conv_id, [=](expected<subscribe_result, caf::error> r) {
          if (r)
            return reply_ok(self, id, enc, r->reply);
          auto j = self->state.streams.find(conv_id);
          if (j != self->state.streams.end() && j->second.gen == gen)
            drop_stream(self, j);
          reply_caf_error(self, id, enc, r.error());
        });
      } else if constexpr (std::is_same_v<T, protocol::unsubscribe_req>) {
        if (!untargeted(policy::action::unsubscribe))
          return;
        if (auto i = st.streams.find(body.conversation); i != st.streams.end()) {
          if (i->second.conv)
            self->send(i->second.conv, caf::leave_atom_v, caf::actor_cast<caf::actor>(self));
          drop_stream(self, i);
        }
        reply_ok(self, id, enc, protocol::unsubscribe_reply{body.conversation});
      } else if constexpr (std::is_same_v<T, protocol::conversation_join_req>) {
        // The machine's moderator flag is the policy's: may this role join as a stranger?
        post_command cmd{conversation::join{st.who.user,
                                            policy::allowed(policy::action::conversation_join,
                                                            policy::parse_role(st.who.role),
                                                            policy::relation::stranger)},
                         st.who.role};
        ask<protocol::message_ack_reply>(
          self, body.conversation, caf::make_message(post_atom_v, std::move(cmd)),
          [=](protocol::message_ack_reply& ack) { reply_ok(self, id, enc, ack); }, on_caf_error);
      } else if constexpr (std::is_same_v<T, protocol::contract_command_req>) {
        auto contract_id = body.contract;
        // Every money action is audited with its outcome, as over REST.
        auto name = contract_action_name(body.action);
        auto by = audit_actor::of(st.who);
        auto* svc = st.svc;
        ask_entity<protocol::contract_ack_reply>(
          self, entity_kind::contract, contract_id,
          caf::make_message(contract_atom_v, make_contract_command(st.who, std::move(body))),
          [=](protocol::contract_ack_reply& ack) {
            audit(*svc, by, name, contract_id.str(), "ok");
            reply_ok(self, id, enc, ack);
          },
          [=](caf::error& err) {
            audit(*svc, by, name, contract_id.str(), std::string{protocol::to_string(to_protocol_code(err))});
            reply_caf_error(self, id, enc, err);
          },
          true);
      } else if constexpr (std::is_same_v<T, protocol::contract_get_req>) {
        ask_entity<protocol::contract_reply>(
          self, entity_kind::contract, body.contract,
          caf::make_message(contract_atom_v, contract_query{st.who.user, st.who.role, body.after}),
          [=](protocol::contract_reply& r) { reply_ok(self, id, enc, r); }, on_caf_error, true);
      } else if constexpr (std::is_same_v<T, protocol::pledge_subscribe_req>) {
        // Progress pushes come as `notify` (stream pledge:<id>); the campaign monitors us.
        pledge_subscribe sub{st.who.user, st.who.role, caf::actor_cast<caf::actor>(self), body.unsubscribe};
        ask_entity<std::string>(
          self, entity_kind::pledge, body.campaign, caf::make_message(pledge_atom_v, std::move(sub)),
          [=](std::string& view) { reply_ok(self, id, enc, protocol::pledge_reply{std::move(view)}); }, on_caf_error,
          false);
      } else if constexpr (std::is_same_v<T, protocol::campaign_subscribe_req>) {
        // Live events come as `notify` (stream campaign:<id>); the campaign monitors us.
        campaign_subscribe sub{st.who.user, st.who.role, caf::actor_cast<caf::actor>(self), body.unsubscribe};
        ask_entity<std::string>(
          self, entity_kind::campaign, body.campaign, caf::make_message(campaign_atom_v, std::move(sub)),
          [=](std::string& view) { reply_ok(self, id, enc, protocol::campaign_reply{std::move(view)}); }, on_caf_error,
          false);
      } else if constexpr (std::is_same_v<T, protocol::leaderboard_subscribe_req>) {
        // Pushes come as `notify` (stream leaderboard:<CC:city>); the hub (promotions.cpp)
        // monitors us and coalesces them to one per interval.
        if (!untargeted(policy::action::leaderboard_subscribe))
          return;
        auto hub = self->home_system().registry().get<caf::actor>(caf::atom("promohub"));
        if (!hub)
          return reply_error(self, id, enc, error_code::unavailable, "leaderboards are not running");
        auto me = caf::actor_cast<caf::actor>(self);
        auto reply = [=](std::string& view) { reply_ok(self, id, enc, protocol::leaderboard_reply{std::move(view)}); };
        if (body.unsubscribe)
          self->request(hub, st.svc->cfg.request_timeout, caf::leave_atom_v, body.locality, me).then(reply, on_caf_error);
        else
          self->request(hub, st.svc->cfg.request_timeout, caf::join_atom_v, body.locality, me).then(reply, on_caf_error);
      } else if constexpr (std::is_same_v<T, protocol::analytics_subscribe_req>) {
        // Figures come as `notify` (stream analytics:<id>); the hub monitors us.
        if (!st.svc->analytics)
          return reply_error(self, id, enc, error_code::unavailable, "live analytics are not running");
        analytics_subscribe sub{body.campaign, st.who.user, st.who.role, caf::actor_cast<caf::actor>(self),
                                body.unsubscribe};
        self->request(st.svc->analytics, st.svc->cfg.request_timeout, analytics_atom_v, std::move(sub))
          .then([=](std::string& view) { reply_ok(self, id, enc, protocol::analytics_reply{std::move(view)}); },
                on_caf_error);
      } else if constexpr (std::is_same_v<T, protocol::notifications_req>) {
        auto me = caf::actor_cast<caf::actor>(self);
        notifications_request(*st.svc, st.who, body, [me, id, enc](expected<std::string, api_error> r) {
          if (r)
            caf::anon_send(me, notifications_done{id, enc, protocol::notifications_reply{std::move(r.value())}});
          else
            caf::anon_send(me, notifications_done{id, enc, std::make_pair(r.error().code, r.error().message)});
        });
      } else if constexpr (std::is_same_v<T, protocol::campaign_room_req>) {
        // The campaign vouches for the caller (its brand, or a creator it approved or who
        // accepted its invitation), then the room records the entry (rooms.hpp).
        auto campaign = body.campaign;
        auto user = st.who.user;
        ask_entity<std::string>(
          self, entity_kind::campaign, campaign, caf::make_message(campaign_atom_v, campaign_query{user, st.who.role, "room"}),
          [=](std::string& brand_id) {
            auto brand = uuid::parse(brand_id);
            if (!brand)
              return reply_error(self, id, enc, error_code::internal, "the campaign has no brand");
            auto room = room_id_for(campaign);
            post_command cmd{conversation::enter_room{user, campaign, *brand}};
            ask<protocol::message_ack_reply>(
              self, room, caf::make_message(post_atom_v, std::move(cmd)),
              [=](protocol::message_ack_reply& ack) {
                reply_ok(self, id, enc, protocol::campaign_room_reply{room, campaign, ack.seq, !ack.duplicate});
              },
              on_caf_error);
          },
          on_caf_error, false);
      } else if constexpr (std::is_same_v<T, protocol::history_req>) {
        ask<protocol::history_reply>(
          self, body.conversation, caf::make_message(history_atom_v, history_query{body, st.who.user, st.who.role}),
          [=](protocol::history_reply& page) { reply_ok(self, id, enc, page); }, on_caf_error);
      }
    },
    c.req.body);
}

template <class Done>
void on_done(self_ptr self, Done& d) {
  if (d.result)
    reply_ok(self, d.id, d.enc, d.result.value());
  else
    reply_error(self, d.id, d.enc, d.result.error().first, d.result.error().second);
}

} // namespace

caf::actor spawn_session(caf::actor_system& sys, services* svc, principal who,
                         std::shared_ptr<session_sink> sink) {
  auto init = [](caf::stateful_actor<session_state>* self, services* svc, principal who,
                 std::shared_ptr<session_sink> sink) -> caf::behavior {
    auto& st = self->state;
    st.svc = svc;
    st.who = std::move(who);
    st.sink = std::move(sink);
    self->set_down_handler([=](caf::down_msg& dm) {
      // A conversation actor ended (e.g. a failed append, or passivation): forget it, and
      // re-subscribe every stream it served where the client left off; the directory
      // re-activates it from storage.
      forget_conversation(self, dm.source);
      std::vector<uuid> lost;
      for (auto& [conv_id, s] : self->state.streams)
        if (s.conv && s.conv.address() == dm.source) {
          s.conv = nullptr;
          lost.push_back(conv_id);
        }
      for (auto& conv_id : lost)
        resubscribe(self, conv_id);
    });
    server_metrics::session_started();
    self->attach_functor([svc, pending = st.in_flight](const caf::error&) {
      // Requests still unanswered when the connection went away are no longer in flight.
      svc->in_flight -= pending->load();
      server_metrics::session_stopped();
    });
    self->send(svc->registry, caf::join_atom_v, st.who.user, caf::actor_cast<caf::actor>(self));
    protocol::hello h{st.who.user,   st.who.role,         st.who.display_name,
                      now_millis(),  svc->cfg.max_frame_bytes, svc->cfg.limits.max_text_chars};
    st.sink->send(protocol::encode_hello(h, protocol::encoding::json), protocol::encoding::json);
    push_missed_notifications(*svc, caf::actor_cast<caf::actor>(self), st.who.user);
    return {
      [=](client_command& c) { handle_command(self, c); },
      [=](push_atom, const uuid& conv, const protocol::push_frame_ptr& frame) {
        auto i = self->state.streams.find(conv);
        if (i != self->state.streams.end())
          deliver(self, i->second, frame);
      },
      [=](notify_atom, const protocol::push_frame_ptr& frame) { self->state.sink->push(frame); },
      [=](resub_atom, const uuid& conv) { resubscribe(self, conv); },
      [=](expire_atom) { sweep_deadlines(self); },
      [=](kick_atom, const std::string& session_id, protocol::close_code code,
          const std::string& reason) {
        // Credentials were revoked (logout, revocation, role change): close now.
        if (session_id.empty() || session_id == self->state.who.session_id)
          self->state.sink->close(code, reason);
      },
      [=](open_done& d) {
        if (d.result && d.result->created) {
          auto& info = d.result->conversation;
          auto notice = std::make_shared<const std::string>(protocol::encode_conversation_notice(info));
          for (auto& user : {info.brand, info.creator}) {
            auto frame = std::make_shared<protocol::push_frame>("user:" + user.str(), 0, notice);
            self->send(self->state.svc->registry, notify_atom_v, user,
                       protocol::push_frame_ptr{frame});
          }
        }
        on_done(self, d);
      },
      [=](list_done& d) { on_done(self, d); },
      [=](notifications_done& d) { on_done(self, d); },
    };
  };
  foreign_spawn_guard guard; // called on gateway threads (ask_entity.hpp)
  return sys.spawn(init, svc, std::move(who), std::move(sink));
}

} // namespace pactum::actors
