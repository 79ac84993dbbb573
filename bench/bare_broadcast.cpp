// The delivery ceiling of the chat benchmark (docs/benchmarks.md, "Side by side"): a bare Beast
// server that speaks the subset of the Pactum protocol `pactum-sim chat --encoding json` uses
// (register/login over REST, /ws with a bearer token and hello, conversation.open, campaign.room
// for rooms of N members, subscribe with after and replay, message.send with client_id dedup,
// message.posted to every subscriber) with
// everything in memory: no actors, no persistence, `ok` at once. One thread, one io_context.
//
//   pactum_bare_broadcast --listen 127.0.0.1:0 [--port-file F] [--write-mode per-frame|coalesced]
//                         [--max-batch N]
//
// --write-mode per-frame: one async_write (one WebSocket message, one send()) per frame.
// --write-mode coalesced: the frames queued for a socket while a write is in flight leave together
//   as one protocol `batch` frame (docs/protocol.md, Envelope), i.e. one write for many frames,
//   the same mechanism pactumd's gateway uses.
// Not product code: no limits, no expiry, nothing survives a restart. It has no campaigns: a room
// is keyed by the `campaign` id the client names and anyone may enter it (pactum-sim chat
// --room-setup none), so rooms cost it what they cost the broadcast itself.
#include <cstdint>
#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using json = nlohmann::json;

namespace {

using frame_ptr = std::shared_ptr<const std::string>;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

class ws_session;

struct user {
  std::string id, email, password, role, display_name;
};

struct stored {
  int64_t seq;
  int64_t at;
};

struct conversation {
  std::string id, brand, creator, stream;
  int64_t created_at = 0;
  std::vector<frame_ptr> events; // events[i] has seq i + 1
  std::unordered_map<std::string, stored> by_client_id;
  std::unordered_set<ws_session*> subscribers;
  std::unordered_set<std::string> members; // a room's members beside `brand` (campaign.room)
  int64_t head() const { return static_cast<int64_t>(events.size()); }
};

struct state {
  bool coalesced = false;
  std::size_t max_batch = 256;
  std::mt19937_64 rng{std::random_device{}()};
  std::unordered_map<std::string, user> users;           // id -> user
  std::unordered_map<std::string, std::string> by_email; // email -> id
  std::unordered_map<std::string, std::string> tokens;   // token -> user id
  std::unordered_map<std::string, conversation> convs;
  std::map<std::pair<std::string, std::string>, std::string> by_pair; // (brand, creator) -> id
  std::unordered_map<std::string, std::string> by_campaign;            // campaign -> room id

  std::string uuid() {
    auto a = rng(), b = rng();
    char s[37];
    std::snprintf(s, sizeof s, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                  static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                  static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                  static_cast<unsigned long long>(b & 0xffffffffffffULL));
    return s;
  }
  std::string token() {
    static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string t(43, 'A');
    for (auto& ch : t)
      ch = alphabet[rng() % 64];
    return t;
  }
};

json conversation_view(const conversation& c) {
  return {{"id", c.id}, {"brand", c.brand}, {"creator", c.creator}, {"created_at", c.created_at}, {"head", c.head()}};
}

class ws_session : public std::enable_shared_from_this<ws_session> {
public:
  ws_session(tcp::socket&& socket, state& st, const user& u) : ws_(std::move(socket)), st_(st), user_(u) {}

  void run(http::request<http::string_body> req) {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(64 * 1024);
    ws_.text(true);
    ws_.async_accept(req, [self = shared_from_this()](beast::error_code ec) {
      if (ec)
        return;
      self->open_ = true;
      self->send(std::make_shared<const std::string>(
        json{{"type", "hello"},
             {"user", {{"id", self->user_.id}, {"role", self->user_.role}, {"display_name", self->user_.display_name}}},
             {"server_time", now_ms()},
             {"limits", {{"max_frame_bytes", 65536}, {"max_text_chars", 4000}}}}
          .dump()));
      self->read();
    });
  }

  void send(frame_ptr f) {
    if (!open_)
      return;
    queue_.push_back(std::move(f));
    if (!writing_)
      write_next();
  }

private:
  void read() {
    ws_.async_read(in_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec)
        return self->close();
      auto data = self->in_.data();
      auto* p = static_cast<const char*>(data.data());
      json f = json::parse(p, p + data.size(), nullptr, false);
      self->in_.consume(self->in_.size());
      self->handle(f);
      self->read();
    });
  }

  void close() {
    if (!open_)
      return;
    open_ = false;
    for (auto* c : subs_)
      c->subscribers.erase(this);
    subs_.clear();
    queue_.clear();
  }

  void write_next() {
    if (queue_.empty() || !open_) {
      writing_ = false;
      return;
    }
    writing_ = true;
    if (!st_.coalesced || queue_.size() == 1) {
      current_ = std::move(queue_.front());
      queue_.pop_front();
    } else {
      auto n = std::min(queue_.size(), st_.max_batch);
      std::size_t bytes = 32;
      for (std::size_t i = 0; i < n; ++i)
        bytes += queue_[i]->size() + 1;
      std::string batch;
      batch.reserve(bytes);
      batch += R"({"type":"batch","items":[)";
      for (std::size_t i = 0; i < n; ++i) {
        if (i > 0)
          batch += ',';
        batch += *queue_.front();
        queue_.pop_front();
      }
      batch += "]}";
      current_ = std::make_shared<const std::string>(std::move(batch));
    }
    ws_.async_write(net::buffer(*current_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->current_.reset();
      if (ec) {
        self->writing_ = false;
        return self->close();
      }
      self->write_next();
    });
  }

  void reply(const json& re, json fields) {
    fields["type"] = "ok";
    fields["re"] = re;
    send(std::make_shared<const std::string>(fields.dump()));
  }
  void fail(const json& re, const char* code, const std::string& message) {
    send(std::make_shared<const std::string>(
      json{{"type", "error"}, {"re", re}, {"code", code}, {"message", message}}.dump()));
  }

  conversation* member(const json& f) {
    auto it = f.find("conversation");
    if (it == f.end() || !it->is_string())
      return nullptr;
    auto c = st_.convs.find(it->get<std::string>());
    if (c == st_.convs.end()
        || (c->second.brand != user_.id && c->second.creator != user_.id && !c->second.members.count(user_.id)))
      return nullptr;
    return &c->second;
  }

  void handle(const json& f) {
    if (!f.is_object() || !f.contains("id") || !(f["id"].is_string() || f["id"].is_number_integer()))
      return fail(nullptr, "bad_request", "a request is a JSON object with an id");
    const auto& id = f["id"];
    auto type = f.value("type", "");
    if (type == "ping")
      return reply(id, {{"time", now_ms()}});
    if (type == "conversation.open") {
      if (user_.role != "brand")
        return fail(id, "forbidden", "only brands open conversations");
      auto with = f.value("with", "");
      auto u = st_.users.find(with);
      if (u == st_.users.end() || u->second.role != "creator")
        return fail(id, "not_found", "no such creator");
      auto key = std::make_pair(user_.id, with);
      auto existing = st_.by_pair.find(key);
      bool created = existing == st_.by_pair.end();
      if (created) {
        conversation c;
        c.id = st_.uuid();
        c.brand = user_.id;
        c.creator = with;
        c.stream = "conversation:" + c.id;
        c.created_at = now_ms();
        c.events.push_back(std::make_shared<const std::string>(
          json{{"type", "event"},
               {"stream", c.stream},
               {"seq", 1},
               {"event", {{"type", "conversation.opened"}, {"brand", c.brand}, {"creator", c.creator}, {"at", c.created_at}}}}
            .dump()));
        existing = st_.by_pair.emplace(key, c.id).first;
        st_.convs.emplace(c.id, std::move(c));
      }
      return reply(id, {{"created", created}, {"conversation", conversation_view(st_.convs.at(existing->second))}});
    }
    if (type == "campaign.room") {
      auto campaign = f.value("campaign", "");
      if (campaign.empty())
        return fail(id, "bad_request", "campaign is required");
      auto existing = st_.by_campaign.find(campaign);
      if (existing == st_.by_campaign.end()) {
        conversation c;
        c.id = st_.uuid();
        c.brand = user_.id; // whoever comes first stands for the brand
        c.stream = "conversation:" + c.id;
        c.created_at = now_ms();
        c.events.push_back(std::make_shared<const std::string>(
          json{{"type", "event"},
               {"stream", c.stream},
               {"seq", 1},
               {"event", {{"type", "room.opened"}, {"campaign", campaign}, {"brand", c.brand}, {"at", c.created_at}}}}
            .dump()));
        existing = st_.by_campaign.emplace(campaign, c.id).first;
        auto room_id = c.id;
        st_.convs.emplace(room_id, std::move(c));
        return reply(id, {{"conversation", room_id}, {"campaign", campaign}, {"seq", 1}, {"joined", true}});
      }
      auto& c = st_.convs.at(existing->second);
      bool joined = c.brand != user_.id && c.members.insert(user_.id).second;
      if (joined)
        c.events.push_back(std::make_shared<const std::string>(
          json{{"type", "event"},
               {"stream", c.stream},
               {"seq", c.head() + 1},
               {"event", {{"type", "member.joined"}, {"member", user_.id}, {"at", now_ms()}}}}
            .dump()));
      return reply(id, {{"conversation", c.id}, {"campaign", campaign}, {"seq", c.head()}, {"joined", joined}});
    }
    if (type == "subscribe") {
      auto* c = member(f);
      if (c == nullptr)
        return fail(id, "not_found", "no such conversation");
      auto after = f.value("after", int64_t{0});
      if (after < 0 || c->head() - after > 10000)
        return fail(id, "bad_request", "after out of range");
      reply(id, {{"stream", c->stream}, {"head", c->head()}, {"read", json::object()}, {"unread", 0},
                 {"delivered", json::object()}});
      for (auto seq = after; seq < c->head(); ++seq)
        send(c->events[static_cast<std::size_t>(seq)]);
      c->subscribers.insert(this);
      subs_.insert(c);
      return;
    }
    if (type == "unsubscribe") {
      auto* c = member(f);
      if (c == nullptr)
        return fail(id, "not_found", "no such conversation");
      c->subscribers.erase(this);
      subs_.erase(c);
      return reply(id, {{"stream", c->stream}});
    }
    if (type == "message.send") {
      auto* c = member(f);
      if (c == nullptr)
        return fail(id, "not_found", "no such conversation");
      auto client_id = f.value("client_id", "");
      auto text = f.value("text", "");
      if (client_id.empty() || client_id.size() > 64 || text.empty())
        return fail(id, "bad_request", "client_id and text are required");
      auto dup = c->by_client_id.find(client_id);
      if (dup != c->by_client_id.end())
        return reply(id, {{"conversation", c->id}, {"seq", dup->second.seq}, {"at", dup->second.at}, {"duplicate", true}});
      auto seq = c->head() + 1;
      auto at = now_ms();
      c->by_client_id.emplace(client_id, stored{seq, at});
      auto ev = std::make_shared<const std::string>(
        json{{"type", "event"},
             {"stream", c->stream},
             {"seq", seq},
             {"event", {{"type", "message.posted"}, {"author", user_.id}, {"client_id", client_id}, {"text", text}, {"at", at}}}}
          .dump());
      c->events.push_back(ev);
      reply(id, {{"conversation", c->id}, {"seq", seq}, {"at", at}, {"duplicate", false}});
      for (auto* s : c->subscribers)
        s->send(ev);
      return;
    }
    fail(id, "bad_request", "unknown request type");
  }

  websocket::stream<beast::tcp_stream> ws_;
  state& st_;
  user user_;
  beast::flat_buffer in_;
  std::deque<frame_ptr> queue_;
  frame_ptr current_;
  bool writing_ = false;
  bool open_ = false;
  std::unordered_set<conversation*> subs_;
};

class http_session : public std::enable_shared_from_this<http_session> {
public:
  http_session(tcp::socket&& socket, state& st) : stream_(std::move(socket)), st_(st) {}

  void read() {
    req_ = {};
    http::async_read(stream_, buf_, req_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec)
        return;
      self->handle();
    });
  }

private:
  void respond(http::status status, const json& body) {
    auto res = std::make_shared<http::response<http::string_body>>(status, req_.version());
    res->set(http::field::content_type, "application/json");
    res->keep_alive(req_.keep_alive());
    res->body() = body.dump();
    res->prepare_payload();
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
      if (ec || !res->keep_alive())
        return;
      self->read();
    });
  }
  json error(const char* code, const char* message) { return {{"error", {{"code", code}, {"message", message}}}}; }

  void handle() {
    if (websocket::is_upgrade(req_)) {
      auto auth = std::string{req_[http::field::authorization]};
      auto t = auth.rfind("Bearer ", 0) == 0 ? st_.tokens.find(auth.substr(7)) : st_.tokens.end();
      if (req_.target() != "/ws" || t == st_.tokens.end()) {
        req_.keep_alive(false);
        return respond(http::status::unauthorized, error("unauthorized", "a valid bearer token is required"));
      }
      auto s = std::make_shared<ws_session>(stream_.release_socket(), st_, st_.users.at(t->second));
      s->run(std::move(req_));
      return;
    }
    auto body = json::parse(req_.body(), nullptr, false);
    if (req_.method() != http::verb::post || !body.is_object())
      return respond(http::status::not_found, error("not_found", "no such route"));
    if (req_.target() == "/api/v1/users/register") {
      auto email = body.value("email", ""), password = body.value("password", ""), role = body.value("role", "");
      if (email.find('@') == std::string::npos || password.size() < 10 || (role != "brand" && role != "creator"))
        return respond(http::status::bad_request, error("bad_request", "invalid fields"));
      if (st_.by_email.count(email) != 0)
        return respond(http::status::conflict, error("conflict", "email already registered"));
      user u{st_.uuid(), email, password, role, body.value("display_name", "")};
      st_.by_email.emplace(email, u.id);
      json out{{"user", {{"id", u.id}, {"role", u.role}, {"display_name", u.display_name}}}};
      st_.users.emplace(u.id, std::move(u));
      return respond(http::status::created, out);
    }
    if (req_.target() == "/api/v1/users/login") {
      auto e = st_.by_email.find(body.value("email", ""));
      if (e == st_.by_email.end() || st_.users.at(e->second).password != body.value("password", ""))
        return respond(http::status::unauthorized, error("unauthorized", "wrong email or password"));
      auto& u = st_.users.at(e->second);
      auto token = st_.token();
      st_.tokens.emplace(token, u.id);
      auto expires = now_ms() + 15 * 60 * 1000;
      return respond(http::status::ok, {{"token", token}, {"token_type", "Bearer"}, {"expires_at", expires},
                                        {"access_expires_at", expires},
                                        {"user", {{"id", u.id}, {"role", u.role}, {"display_name", u.display_name}}}});
    }
    respond(http::status::not_found, error("not_found", "no such route"));
  }

  beast::tcp_stream stream_;
  state& st_;
  beast::flat_buffer buf_;
  http::request<http::string_body> req_;
};

void accept(tcp::acceptor& acceptor, state& st) {
  acceptor.async_accept([&acceptor, &st](beast::error_code ec, tcp::socket socket) {
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<http_session>(std::move(socket), st)->read();
    }
    accept(acceptor, st);
  });
}

int usage() {
  std::cerr << "usage: pactum_bare_broadcast --listen HOST:PORT [--port-file FILE]"
               " [--write-mode per-frame|coalesced] [--max-batch N]\n";
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0", port_file, mode = "per-frame";
  state st;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc)
      return usage();
    std::string v = argv[++i];
    if (a == "--listen")
      listen = v;
    else if (a == "--port-file")
      port_file = v;
    else if (a == "--write-mode")
      mode = v;
    else if (a == "--max-batch")
      st.max_batch = static_cast<std::size_t>(std::max(1, std::stoi(v)));
    else
      return usage();
  }
  if (mode != "per-frame" && mode != "coalesced")
    return usage();
  st.coalesced = mode == "coalesced";
  auto colon = listen.rfind(':');
  if (colon == std::string::npos)
    return usage();
  try {
    net::io_context ioc{1};
    tcp::endpoint ep{net::ip::make_address(listen.substr(0, colon)),
                     static_cast<unsigned short>(std::stoi(listen.substr(colon + 1)))};
    tcp::acceptor acceptor{ioc, ep};
    acceptor.listen(net::socket_base::max_listen_connections);
    auto port = acceptor.local_endpoint().port();
    if (!port_file.empty())
      std::ofstream{port_file} << port;
    std::cout << "bare broadcast server (" << mode << ") on " << listen.substr(0, colon) << ":" << port << std::endl;
    net::signal_set signals{ioc, SIGINT, SIGTERM};
    signals.async_wait([&ioc](beast::error_code, int) { ioc.stop(); });
    accept(acceptor, st);
    ioc.run();
  } catch (const std::exception& ex) {
    std::cerr << "pactum_bare_broadcast: " << ex.what() << "\n";
    return 1;
  }
  return 0;
}
