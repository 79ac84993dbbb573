#include "pactum/sim/chat_load.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include "async_common.hpp"
#include "pactum/sim/histogram.hpp"
#include "pactum/sim/server_stats.hpp"

// How the engine is organised.
//
// Every WebSocket client (`client`) belongs to one engine thread (`worker`), which owns an
// io_context and runs it on its own std::thread; everything a client holds is touched only by
// handlers on that io_context, so there are no locks on the hot path. The main thread drives the
// phases (connect, open conversations, subscribe, load steps, drain, close) by posting work to
// the workers and waiting on a few atomic counters. Each worker records into its own histograms,
// error counts and violation lists; the main thread reads them only after every worker thread
// has been joined.
//
// Each client has at most `max_inflight_per_socket` requests on the wire; further requests wait
// in its backlog (still timed from their intended send time). When its connection drops, the
// requests on the wire have an unknown outcome: they go back to the front of the backlog (sends
// keep their client_id, so a retry of a stored message is answered as a duplicate), and after
// reconnecting the client first re-subscribes every conversation with the last seq it processed.

namespace pactum::sim {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

using detail::at_ns;
using detail::cpu_seconds;
using detail::now_ns;
using detail::retryable;

struct message {
  int conv = 0;
  int step = 0;
  int64_t intended = 0; ///< ns, steady clock
  std::string client_id;
  int64_t seq = 0;
  bool acked = false;
  bool failed = false; ///< refused with a code that is not retryable
};

enum class req_kind : uint8_t { open, subscribe, send };

struct request {
  req_kind kind;
  int index; ///< open, subscribe: the conversation; send: the message (in the client's msgs)
};

/// A message.posted event as one client processed it: the sender and its message index.
struct posted {
  int64_t seq;
  int32_t sender;
  int32_t n;
};

struct subscription {
  int conv = 0;
  int64_t last = 0;           ///< last seq processed (events at or below it are dropped)
  bool ever_subscribed = false;
  std::vector<posted> seen;
};

struct conversation_info {
  std::string id;
  int brand = 0;   ///< client index
  int creator = 0; ///< client index (pairs layout)
  std::vector<int> members; ///< client indexes, the brand first (both layouts)
  std::string campaign;     ///< rooms layout: the room's campaign
};

struct worker;
class engine;

/// One connection of a client: a fresh one after every reconnect, so that handlers of the old
/// one (which may still complete, with an error) never touch the new one's buffers.
struct connection {
  explicit connection(net::io_context& ioc) : ws(ioc) {}
  websocket::stream<beast::tcp_stream> ws;
  beast::flat_buffer in;
  std::deque<std::pair<std::string, bool>> out; // bytes, text
  bool writing = false;
};

struct client {
  int index = 0;
  worker* home = nullptr;
  account user;
  std::vector<subscription> subs;
  std::unordered_map<int, size_t> slot_of; // conversation → index in subs
  std::vector<message> msgs;

  std::unique_ptr<connection> conn;
  std::vector<std::unique_ptr<connection>> graveyard; // dropped connections, kept until the end
  uint64_t epoch = 0;
  bool open = false;
  bool ever_connected = false;
  int failures = 0;
  // The reconnect storm: dropped at the storm, not yet resubscribed everywhere / not caught up.
  bool storm_pending = false;
  bool storm_reconnected = false;
  bool storm_caught = false;
  size_t storm_resubs = 0;
  int64_t next_id = 1;
  std::unordered_map<int64_t, request> inflight;
  std::deque<request> backlog;
};

struct worker {
  explicit worker(engine& e) : eng(e) {}
  engine& eng;
  net::io_context ioc{1};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::thread thread;
  std::vector<client*> clients;
  std::deque<client*> connect_queue;
  int connecting = 0;
  bool closing = false;
  std::mt19937 rng{std::random_device{}()};

  // Load generation: message j of the current step is due at start + j / rate and goes to lane
  // j mod lanes.size(); a lane is (client, conversation) with the client on this worker.
  std::vector<std::pair<client*, int>> lanes;
  std::optional<net::steady_timer> tick;
  bool generating = false;
  int step = -1;
  double rate = 0;
  int64_t step_start = 0;
  int64_t step_end = 0;
  int64_t next_j = 0;

  // Results, read by the main thread after join.
  std::vector<log_histogram> ack_latency;      // per step
  std::vector<log_histogram> delivery_latency; // per step
  std::vector<int64_t> sent, acked;            // per step
  std::map<std::string, int64_t> errors;
  std::vector<std::string> violations;
  int64_t reconnects = 0;
  int64_t duplicates_dropped = 0;
  int64_t duplicate_acks = 0;
  int64_t retries = 0;
  int64_t storm_dropped = 0;
  log_histogram storm_resume;  // storm start → every subscription re-subscribed, per client
  log_histogram storm_catchup; // storm start → every subscription past the storm's head

  void violation(std::string v) {
    if (violations.size() < 100)
      violations.push_back(std::move(v));
    else if (violations.size() == 100)
      violations.push_back("... more violations not listed");
  }
};

class engine {
public:
  explicit engine(const chat_load_config& cfg) : cfg_(cfg) {
    text_ = std::string("a simulated chat message from the pactum load generator ");
    while (static_cast<int>(text_.size()) < cfg_.text_bytes)
      text_ += text_;
    text_.resize(static_cast<size_t>(std::max(cfg_.text_bytes, 1)));
  }

  nlohmann::json run();

  // Used by the workers' handlers.
  void start_connect(client& c);
  void try_connects(worker& w);
  void on_connected(client& c);
  void drop(client& c, uint64_t epoch, const std::string& why);
  void read_loop(client& c);
  void write(client& c, std::string bytes, bool text);
  void write_next(client& c);
  void pump(client& c);
  void on_frame(client& c, const nlohmann::json& f);
  void on_reply(client& c, const nlohmann::json& f);
  void on_event(client& c, const nlohmann::json& f);
  void requeue_later(client& c, request r);
  void tick(worker& w);

private:
  void say(const std::string& line) {
    if (cfg_.progress)
      *cfg_.progress << line << std::endl;
  }
  void post_all(const std::function<void(worker&)>& fn);
  void wait_for(const char* what, const std::function<bool()>& done, double seconds);
  void create_accounts();
  void create_rooms();
  void build_layout();
  int64_t pending_deliveries();

  const chat_load_config& cfg_;
  std::string text_;
  int brands_ = 0;
  int creators_ = 0;
  std::vector<conversation_info> convs_;
  std::unordered_map<std::string, int> conv_by_stream_;

public:
  // Declared before clients_ so that clients (and their sockets) are destroyed first.
  std::vector<std::unique_ptr<worker>> workers_;
  std::vector<std::unique_ptr<client>> clients_;
  std::unique_ptr<std::atomic<int64_t>[]> max_acked_;
  std::atomic<int64_t> connected_{0}, opened_{0}, subscribed_{0}, open_failures_{0};
  std::atomic<int64_t> sent_total_{0}, acked_total_{0}, unresolved_{0};
  std::atomic<int64_t> storm_resumed_{0}, storm_caught_{0};
  int64_t storm_start_ = 0;
  std::vector<int64_t> storm_target_; // per conversation: the highest acked seq at the storm
  void storm_drop(client& c);
  void storm_check_caught(client& c);
  int steps_ = 0;
  const std::vector<conversation_info>& convs() const { return convs_; }
  const std::unordered_map<std::string, int>& conv_by_stream() const { return conv_by_stream_; }
  const std::string& text() const { return text_; }
  const chat_load_config& cfg() const { return cfg_; }
};

void engine::post_all(const std::function<void(worker&)>& fn) {
  for (auto& w : workers_)
    net::post(w->ioc, [fn, wp = w.get()] { fn(*wp); });
}

void engine::wait_for(const char* what, const std::function<bool()>& done, double seconds) {
  auto deadline = clock_type::now() + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds));
  while (!done()) {
    if (clock_type::now() > deadline)
      throw std::runtime_error(std::string{"setup: "} + what + " did not finish in time");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void engine::build_layout() {
  if (cfg_.room_size > 0) {
    if (cfg_.room_size < 2 || cfg_.rooms < 1)
      throw std::runtime_error("--room-size must be at least 2 and --rooms at least 1");
    brands_ = cfg_.rooms;
    creators_ = cfg_.rooms * (cfg_.room_size - 1);
    convs_.resize(static_cast<size_t>(cfg_.rooms));
    for (int j = 0; j < cfg_.rooms; ++j) {
      auto& conv = convs_[static_cast<size_t>(j)];
      conv.brand = j;
      conv.members.push_back(j);
      for (int i = 0; i < cfg_.room_size - 1; ++i)
        conv.members.push_back(brands_ + j * (cfg_.room_size - 1) + i);
    }
    return;
  }
  int n = cfg_.conversations;
  int k = cfg_.conversations_per_user;
  if (n < 1 || k < 1 || n % k != 0 || k * k > n)
    throw std::runtime_error("--conversations must be a multiple of --conversations-per-user K, and at least K*K");
  brands_ = n / k;
  creators_ = n / k;
  convs_.resize(static_cast<size_t>(n));
  // Brand b talks to creators b, b+1, ..., b+K-1 (mod the creator count): each creator is also in
  // exactly K conversations, and no pair repeats.
  for (int j = 0; j < n; ++j) {
    int b = j / k;
    int c = (b + j % k) % creators_;
    convs_[static_cast<size_t>(j)].brand = b;
    convs_[static_cast<size_t>(j)].creator = brands_ + c;
    convs_[static_cast<size_t>(j)].members = {b, brands_ + c};
  }
}

void engine::create_rooms() {
  // Per room: the brand creates and publishes a campaign, each creator applies and the brand
  // approves (docs/api.md "Campaigns"); the rooms themselves are opened over the WebSocket.
  std::atomic<int> next{0};
  std::mutex mtx;
  std::string failure;
  auto call = [this](const account& who, const std::string& method, const std::string& target,
                     const nlohmann::json& body) {
    for (int attempt = 0;; ++attempt) {
      auto r = http_call(cfg_.ep, method, target, body.dump(), who.token);
      if (r.status >= 200 && r.status < 300)
        return r.json_body();
      if (attempt >= 5 || (r.status != 503 && r.status != 429))
        throw std::runtime_error(method + " " + target + ": " + std::to_string(r.status) + " " + r.body);
      std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
    }
  };
  if (!cfg_.room_rest_setup) {
    std::mt19937_64 rng{std::random_device{}()};
    for (auto& conv : convs_) {
      char id[37];
      auto a = rng(), b = rng();
      std::snprintf(id, sizeof id, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                    static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                    static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                    static_cast<unsigned long long>(b & 0xffffffffffffULL));
      conv.campaign = id;
    }
    return;
  }
  auto body = [&] {
    for (int j = next++; j < static_cast<int>(convs_.size()); j = next++) {
      try {
        auto& conv = convs_[static_cast<size_t>(j)];
        auto& brand = clients_[static_cast<size_t>(conv.brand)]->user;
        auto i = std::to_string(j);
        nlohmann::json details{{"title", "Sim room " + i},
                               {"description", "A campaign of the pactum-sim rooms layout"},
                               {"goals", {"awareness"}},
                               {"budget", 1'000'000},
                               {"currency", "USD"},
                               {"deliverables", nlohmann::json::array({{{"type", "tiktok_duet"}, {"count", 1}}})},
                               {"collaboration_types", {"tiktok_duet"}},
                               {"pricing", {{"model", "flat"}, {"rate", 0}}},
                               {"brief", "Show the product"},
                               {"key", "sim-room-c-" + i}};
        conv.campaign = call(brand, "POST", "/api/v1/brands/campaigns", details).at("campaign").at("id").get<std::string>();
        auto base = "/api/v1/brands/campaigns/" + conv.campaign;
        call(brand, "POST", base + "/status", {{"to", "publish"}, {"key", "sim-room-p-" + i}});
        for (size_t m = 1; m < conv.members.size(); ++m) {
          auto& creator = clients_[static_cast<size_t>(conv.members[m])]->user;
          auto key = i + "-" + std::to_string(m);
          auto app = call(creator, "POST", "/api/v1/influencers/campaigns/" + conv.campaign + "/apply",
                          {{"proposal", "One duet"}, {"amount", 100}, {"key", "sim-room-a-" + key}})
                       .at("application").get<int64_t>();
          call(brand, "PUT", base + "/applications/" + std::to_string(app),
               {{"outcome", "approved"}, {"key", "sim-room-d-" + key}});
        }
      } catch (const std::exception& ex) {
        std::lock_guard<std::mutex> g{mtx};
        failure = ex.what();
        return;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < std::max(1, cfg_.setup_threads); ++t)
    threads.emplace_back(body);
  for (auto& t : threads)
    t.join();
  if (!failure.empty())
    throw std::runtime_error("setup: campaign rooms: " + failure);
}

void engine::create_accounts() {
  int total = brands_ + creators_;
  clients_.reserve(static_cast<size_t>(total));
  for (int i = 0; i < total; ++i) {
    auto c = std::make_unique<client>();
    c->index = i;
    clients_.push_back(std::move(c));
  }
  std::atomic<int> next{0};
  std::mutex mtx;
  std::string failure;
  auto body = [&] {
    for (int i = next++; i < total; i = next++) {
      bool brand = i < brands_;
      for (int attempt = 0;; ++attempt) {
        try {
          clients_[static_cast<size_t>(i)]->user =
            make_account(cfg_.ep, brand ? "brand" : "creator", (brand ? "load-brand-" : "load-creator-") + std::to_string(i));
          break;
        } catch (const std::exception& ex) {
          if (attempt < 5) {
            std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
            continue;
          }
          std::lock_guard<std::mutex> g{mtx};
          failure = ex.what();
          return;
        }
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < std::max(1, std::min(cfg_.setup_threads, total)); ++t)
    pool.emplace_back(body);
  for (auto& t : pool)
    t.join();
  if (!failure.empty())
    throw std::runtime_error("setup: creating accounts failed: " + failure);
}

// ---- connections -------------------------------------------------------------------------

void engine::try_connects(worker& w) {
  while (!w.closing && w.connecting < std::max(1, cfg_.connect_parallelism) && !w.connect_queue.empty()) {
    auto* c = w.connect_queue.front();
    w.connect_queue.pop_front();
    ++w.connecting;
    start_connect(*c);
  }
}

void engine::start_connect(client& c) {
  auto& w = *c.home;
  if (c.conn)
    c.graveyard.push_back(std::move(c.conn));
  c.conn = std::make_unique<connection>(w.ioc);
  auto ep = ++c.epoch;
  auto* conn = c.conn.get();
  auto target = tcp::endpoint{net::ip::make_address(cfg_.ep.host), cfg_.ep.port};
  beast::get_lowest_layer(conn->ws).expires_after(std::chrono::seconds(10));
  auto fail = [this, &c, &w, ep](const std::string& what) {
    --w.connecting;
    ++w.errors[what];
    if (c.epoch != ep || w.closing) {
      try_connects(w);
      return;
    }
    ++c.failures;
    auto delay = detail::backoff_ms(c.failures, w.rng);
    auto t = std::make_shared<net::steady_timer>(w.ioc, std::chrono::milliseconds(delay));
    t->async_wait([this, t, &c, &w](beast::error_code) {
      w.connect_queue.push_back(&c);
      try_connects(w);
    });
    try_connects(w);
  };
  beast::get_lowest_layer(conn->ws).async_connect(target, [this, &c, conn, fail, ep](beast::error_code ec) {
    if (ec)
      return fail("connect: " + ec.message());
    beast::get_lowest_layer(conn->ws).expires_never();
    conn->ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    conn->ws.set_option(websocket::stream_base::decorator([token = c.user.token](websocket::request_type& req) {
      req.set(beast::http::field::authorization, "Bearer " + token);
      req.set(beast::http::field::user_agent, "pactum-sim");
    }));
    conn->ws.read_message_max(16 * 1024 * 1024);
    auto host = cfg_.ep.host + ":" + std::to_string(cfg_.ep.port);
    conn->ws.async_handshake(host, "/ws", [this, &c, fail, ep](beast::error_code ec2) {
      if (ec2)
        return fail("handshake: " + ec2.message());
      --c.home->connecting;
      if (c.epoch != ep || c.home->closing) {
        try_connects(*c.home);
        return;
      }
      on_connected(c);
      try_connects(*c.home);
    });
  });
}

void engine::on_connected(client& c) {
  c.open = true;
  c.failures = 0;
  if (!c.ever_connected) {
    c.ever_connected = true;
    ++connected_;
  } else {
    ++c.home->reconnects;
  }
  if (c.storm_pending) {
    c.storm_reconnected = true;
    c.storm_resubs = 0;
  }
  read_loop(c);
  // Resume: re-subscribe first (from the last seq processed), then whatever was waiting or had an
  // unknown outcome, in the order it was first sent.
  std::deque<request> next;
  for (auto& s : c.subs)
    if (s.ever_subscribed)
      next.push_back(request{req_kind::subscribe, s.conv});
  std::vector<std::pair<int64_t, request>> unknown(c.inflight.begin(), c.inflight.end());
  std::sort(unknown.begin(), unknown.end(), [](auto& a, auto& b) { return a.first < b.first; });
  c.inflight.clear();
  auto keep = [&](const request& r) {
    if (r.kind == req_kind::subscribe && c.subs[c.slot_of.at(r.index)].ever_subscribed)
      return; // already queued above
    next.push_back(r);
  };
  for (auto& [id, r] : unknown)
    keep(r);
  for (auto& r : c.backlog)
    keep(r);
  c.backlog = std::move(next);
  pump(c);
}

void engine::drop(client& c, uint64_t ep, const std::string& why) {
  if (c.epoch != ep || !c.open)
    return;
  c.open = false;
  ++c.epoch; // handlers of this connection are stale from now on
  if (c.home->closing)
    return;
  ++c.home->errors["disconnected: " + why];
  beast::error_code ignored;
  beast::get_lowest_layer(c.conn->ws).socket().close(ignored);
  if (c.storm_pending && cfg_.storm_jitter_ms > 0) { // a server restart: spread the reconnects
    auto& w = *c.home;
    auto delay = std::uniform_int_distribution<int>(0, cfg_.storm_jitter_ms)(w.rng);
    auto t = std::make_shared<net::steady_timer>(w.ioc, std::chrono::milliseconds(delay));
    t->async_wait([this, t, &c, &w](beast::error_code) {
      if (w.closing)
        return;
      w.connect_queue.push_back(&c);
      try_connects(w);
    });
    return;
  }
  c.home->connect_queue.push_back(&c);
  try_connects(*c.home);
}

void engine::read_loop(client& c) {
  auto* conn = c.conn.get();
  auto ep = c.epoch;
  conn->ws.async_read(conn->in, [this, &c, conn, ep](beast::error_code ec, std::size_t) {
    if (c.epoch != ep)
      return;
    if (ec) {
      std::string why = ec == websocket::error::closed
                          ? "close " + std::to_string(conn->ws.reason().code)
                          : ec.message();
      return drop(c, ep, why);
    }
    bool text = conn->ws.got_text();
    auto data = conn->in.data();
    auto* p = static_cast<const uint8_t*>(data.data());
    nlohmann::json f;
    try {
      f = text ? nlohmann::json::parse(p, p + data.size())
               : nlohmann::json::from_msgpack(p, p + data.size());
    } catch (const std::exception& ex) {
      c.home->violation(std::string{"undecodable frame from the server: "} + ex.what());
    }
    conn->in.consume(conn->in.size());
    if (f.is_object()) {
      if (f.value("type", "") == "batch" && f.contains("items")) {
        for (auto& item : f.at("items"))
          on_frame(c, item);
      } else {
        on_frame(c, f);
      }
    }
    if (c.epoch == ep)
      read_loop(c);
  });
}

void engine::write(client& c, std::string bytes, bool text) {
  c.conn->out.emplace_back(std::move(bytes), text);
  if (!c.conn->writing)
    write_next(c);
}

void engine::write_next(client& c) {
  auto* conn = c.conn.get();
  if (conn->out.empty()) {
    conn->writing = false;
    return;
  }
  conn->writing = true;
  auto& [bytes, text] = conn->out.front();
  conn->ws.text(text);
  auto ep = c.epoch;
  conn->ws.async_write(net::buffer(bytes), [this, &c, conn, ep](beast::error_code ec, std::size_t) {
    if (c.epoch != ep)
      return;
    if (ec)
      return drop(c, ep, "write: " + ec.message());
    conn->out.pop_front();
    write_next(c);
  });
}

// ---- requests ----------------------------------------------------------------------------

void engine::pump(client& c) {
  while (c.open && !c.backlog.empty()
         && static_cast<int>(c.inflight.size()) < std::max(1, cfg_.max_inflight_per_socket)) {
    auto r = c.backlog.front();
    c.backlog.pop_front();
    auto id = c.next_id++;
    nlohmann::json f;
    auto& conv = convs_[static_cast<size_t>(r.kind == req_kind::send ? c.msgs[static_cast<size_t>(r.index)].conv : r.index)];
    switch (r.kind) {
    case req_kind::open:
      if (cfg_.room_size > 0)
        f = {{"type", "campaign.room"}, {"id", id}, {"campaign", conv.campaign}};
      else
        f = {{"type", "conversation.open"}, {"id", id}, {"with", clients_[static_cast<size_t>(conv.creator)]->user.id}};
      break;
    case req_kind::subscribe:
      f = {{"type", "subscribe"}, {"id", id}, {"conversation", conv.id},
           {"after", c.subs[c.slot_of.at(r.index)].last}};
      break;
    case req_kind::send: {
      auto& m = c.msgs[static_cast<size_t>(r.index)];
      f = {{"type", "message.send"}, {"id", id}, {"conversation", conv.id}, {"client_id", m.client_id},
           {"text", text_}};
      break;
    }
    }
    c.inflight.emplace(id, r);
    if (cfg_.enc == chat_load_config::encoding::json) {
      write(c, f.dump(), true);
    } else {
      auto bytes = nlohmann::json::to_msgpack(f);
      write(c, std::string(bytes.begin(), bytes.end()), false);
    }
  }
}

void engine::requeue_later(client& c, request r) {
  auto& w = *c.home;
  ++w.retries;
  auto delay = std::uniform_int_distribution<int>(50, 200)(w.rng);
  auto t = std::make_shared<net::steady_timer>(w.ioc, std::chrono::milliseconds(delay));
  t->async_wait([this, t, &c, r](beast::error_code) {
    if (c.home->closing)
      return;
    c.backlog.push_front(r);
    pump(c);
  });
}

void engine::on_frame(client& c, const nlohmann::json& f) {
  auto type = f.value("type", "");
  if (type == "ok" || type == "error")
    on_reply(c, f);
  else if (type == "event")
    on_event(c, f);
}

void engine::on_reply(client& c, const nlohmann::json& f) {
  auto& w = *c.home;
  if (!f.contains("re") || !f.at("re").is_number_integer()) {
    if (f.value("type", "") != "error")
      return;
    ++w.errors[f.value("code", "error")];
    // "subscription to conversation:<id> was lost; subscribe again with your last seq"
    auto text = f.value("message", "");
    auto from = text.find("conversation:");
    if (from != std::string::npos) {
      auto stream = text.substr(from, text.find(' ', from) - from);
      auto conv = conv_by_stream_.find(stream);
      if (conv != conv_by_stream_.end() && c.slot_of.count(conv->second)) {
        c.backlog.push_front(request{req_kind::subscribe, conv->second});
        pump(c);
      }
    }
    return;
  }
  auto it = c.inflight.find(f.at("re").get<int64_t>());
  if (it == c.inflight.end())
    return;
  auto r = it->second;
  c.inflight.erase(it);
  bool ok = f.at("type") == "ok";
  std::string code = ok ? "" : f.value("code", "error");
  if (!ok)
    ++w.errors[code];
  switch (r.kind) {
  case req_kind::open:
    if (ok) {
      // campaign.room answers the room's id alone; every member of a room gets the same one, and
      // only the brand's worker writes it (members live on other threads).
      auto& conv = f.at("conversation");
      auto& info = convs_[static_cast<size_t>(r.index)];
      if (c.index == info.brand)
        info.id = conv.is_string() ? conv.get<std::string>() : conv.at("id").get<std::string>();
      ++opened_;
    } else if (retryable(code)) {
      requeue_later(c, r);
    } else {
      ++open_failures_;
      w.violation("conversation.open refused: " + f.dump());
    }
    break;
  case req_kind::subscribe: {
    auto& s = c.subs[c.slot_of.at(r.index)];
    if (ok) {
      if (!s.ever_subscribed) {
        s.ever_subscribed = true;
        ++subscribed_;
      }
      if (c.storm_pending && c.storm_reconnected && ++c.storm_resubs == c.subs.size()) {
        c.storm_pending = false;
        ++storm_resumed_;
        w.storm_resume.record(now_ns() - storm_start_);
        storm_check_caught(c);
      }
    } else if (retryable(code)) {
      requeue_later(c, r);
    } else {
      w.violation("subscribe refused: " + f.dump());
    }
    break;
  }
  case req_kind::send: {
    auto& m = c.msgs[static_cast<size_t>(r.index)];
    if (ok) {
      if (!m.acked) {
        m.acked = true;
        m.seq = f.at("seq").get<int64_t>();
        w.ack_latency[static_cast<size_t>(m.step)].record(now_ns() - m.intended);
        ++w.acked[static_cast<size_t>(m.step)];
        ++acked_total_;
        --unresolved_;
        auto& top = max_acked_[static_cast<size_t>(m.conv)];
        auto cur = top.load();
        while (cur < m.seq && !top.compare_exchange_weak(cur, m.seq)) {
        }
        if (f.value("duplicate", false))
          ++w.duplicate_acks;
      }
    } else if (retryable(code)) {
      requeue_later(c, r);
    } else {
      m.failed = true;
      --unresolved_;
    }
    break;
  }
  }
  pump(c);
}

void engine::on_event(client& c, const nlohmann::json& f) {
  if (!f.contains("seq") || !f.at("seq").is_number_integer())
    return; // ephemeral (typing, delivered, presence, user notices)
  auto stream = f.value("stream", "");
  auto it = conv_by_stream_.find(stream);
  if (it == conv_by_stream_.end())
    return;
  auto slot = c.slot_of.find(it->second);
  if (slot == c.slot_of.end())
    return;
  auto& w = *c.home;
  auto& s = c.subs[slot->second];
  auto seq = f.at("seq").get<int64_t>();
  if (seq <= s.last) {
    ++w.duplicates_dropped;
    return;
  }
  if (seq != s.last + 1)
    w.violation("client " + std::to_string(c.index) + ", " + stream + ": after seq " + std::to_string(s.last)
                + " came " + std::to_string(seq) + " (a gap)");
  s.last = seq;
  if (c.storm_reconnected && !c.storm_pending && !c.storm_caught)
    storm_check_caught(c);
  if (!f.contains("event") || !f.at("event").is_object())
    return;
  auto& ev = f.at("event");
  if (ev.value("type", "") != "message.posted")
    return;
  // client_id: s<sender>-<n>-<step>-<intended ns>
  auto cid = ev.value("client_id", "");
  long long sender = 0, n = 0, step = 0, intended = 0;
  if (std::sscanf(cid.c_str(), "s%lld-%lld-%lld-%lld", &sender, &n, &step, &intended) != 4)
    return;
  s.seen.push_back(posted{seq, static_cast<int32_t>(sender), static_cast<int32_t>(n)});
  if (sender != c.index && step >= 0 && step < steps_)
    w.delivery_latency[static_cast<size_t>(step)].record(now_ns() - intended);
}

// ---- the reconnect storm ----------------------------------------------------------------

void engine::storm_drop(client& c) {
  auto& w = *c.home;
  c.storm_pending = true;
  c.storm_reconnected = false;
  c.storm_caught = false;
  if (!c.open)
    return; // connecting: it resumes when that connect completes
  c.open = false;
  ++c.epoch;
  ++w.storm_dropped;
  beast::error_code ignored;
  beast::get_lowest_layer(c.conn->ws).socket().close(ignored);
  // Everyone reconnects at once, spread by jitter; failures back off as usual.
  auto delay = std::uniform_int_distribution<int>(0, std::max(0, cfg_.storm_jitter_ms))(w.rng);
  auto t = std::make_shared<net::steady_timer>(w.ioc, std::chrono::milliseconds(delay));
  t->async_wait([this, t, &c, &w](beast::error_code) {
    if (w.closing)
      return;
    w.connect_queue.push_back(&c);
    try_connects(w);
  });
}

void engine::storm_check_caught(client& c) {
  for (auto& s : c.subs)
    if (s.last < storm_target_[static_cast<size_t>(s.conv)])
      return;
  c.storm_caught = true;
  ++storm_caught_;
  c.home->storm_catchup.record(now_ns() - storm_start_);
}

// ---- load --------------------------------------------------------------------------------

void engine::tick(worker& w) {
  if (!w.generating || w.closing)
    return;
  auto now = now_ns();
  int64_t due = 0;
  for (;;) {
    due = w.step_start + static_cast<int64_t>(static_cast<double>(w.next_j) * 1e9 / w.rate);
    if (due >= w.step_end) {
      w.generating = false;
      return;
    }
    if (due > now)
      break;
    auto [c, conv] = w.lanes[static_cast<size_t>(w.next_j % static_cast<int64_t>(w.lanes.size()))];
    message m;
    m.conv = conv;
    m.step = w.step;
    m.intended = due;
    m.client_id = "s" + std::to_string(c->index) + "-" + std::to_string(c->msgs.size()) + "-"
                  + std::to_string(w.step) + "-" + std::to_string(due);
    c->msgs.push_back(std::move(m));
    ++w.sent[static_cast<size_t>(w.step)];
    ++sent_total_;
    ++unresolved_;
    c->backlog.push_back(request{req_kind::send, static_cast<int>(c->msgs.size() - 1)});
    pump(*c);
    ++w.next_j;
  }
  w.tick->expires_at(at_ns(due));
  w.tick->async_wait([this, &w](beast::error_code ec) {
    if (!ec)
      tick(w);
  });
}

int64_t engine::pending_deliveries() {
  std::atomic<int64_t> pending{0};
  std::atomic<int> answered{0};
  post_all([&](worker& w) {
    int64_t p = 0;
    for (auto* c : w.clients)
      for (auto& s : c->subs)
        if (max_acked_[static_cast<size_t>(s.conv)].load() > s.last)
          ++p;
    pending += p;
    ++answered;
  });
  while (answered.load() < static_cast<int>(workers_.size()))
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  return pending.load();
}

nlohmann::json engine::run() {
  auto t0 = clock_type::now();
  auto since = [](clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); };
  steps_ = static_cast<int>(cfg_.rates.size());
  if (steps_ < 1)
    throw std::runtime_error("no rate given");
  build_layout();
  say("setup: " + std::to_string(brands_ + creators_) + " accounts (" + std::to_string(brands_) + " brands, "
      + std::to_string(creators_) + " creators), " + std::to_string(convs_.size()) + " conversations");
  create_accounts();
  auto accounts_s = since(t0);
  say("setup: accounts created in " + std::to_string(accounts_s) + " s");
  bool rooms = cfg_.room_size > 0;
  int64_t member_slots = 0; // (member, conversation) pairs: subscriptions and send lanes
  for (auto& conv : convs_)
    member_slots += static_cast<int64_t>(conv.members.size());
  if (rooms) {
    auto t5 = clock_type::now();
    create_rooms();
    say("setup: " + std::to_string(convs_.size())
        + (cfg_.room_rest_setup ? " campaigns with approved creators in " : " random campaign ids (no REST setup) in ")
        + std::to_string(since(t5)) + " s");
  }

  max_acked_ = std::make_unique<std::atomic<int64_t>[]>(convs_.size());
  for (size_t i = 0; i < convs_.size(); ++i)
    max_acked_[i] = 0;
  int nthreads = std::max(1, cfg_.threads);
  for (int t = 0; t < nthreads; ++t) {
    auto w = std::make_unique<worker>(*this);
    w->work.emplace(net::make_work_guard(w->ioc));
    w->tick.emplace(w->ioc);
    w->ack_latency.resize(static_cast<size_t>(steps_));
    w->delivery_latency.resize(static_cast<size_t>(steps_));
    w->sent.assign(static_cast<size_t>(steps_), 0);
    w->acked.assign(static_cast<size_t>(steps_), 0);
    workers_.push_back(std::move(w));
  }
  for (auto& c : clients_) {
    c->home = workers_[static_cast<size_t>(c->index % nthreads)].get();
    c->home->clients.push_back(c.get());
  }
  for (size_t j = 0; j < convs_.size(); ++j) {
    for (int who : convs_[j].members) {
      auto& c = *clients_[static_cast<size_t>(who)];
      c.slot_of[static_cast<int>(j)] = c.subs.size();
      subscription s;
      s.conv = static_cast<int>(j);
      c.subs.push_back(std::move(s));
    }
  }
  for (auto& w : workers_)
    w->thread = std::thread([wp = w.get()] {
      for (;;) {
        try {
          wp->ioc.run();
          return;
        } catch (const std::exception& ex) { // a reply of an unexpected shape: noted, and go on
          wp->violation(std::string{"unexpected frame: "} + ex.what());
        }
      }
    });

  auto shutdown = [&] {
    post_all([](worker& w) {
      w.closing = true;
      w.generating = false;
      w.tick->cancel();
      for (auto* c : w.clients)
        if (c->open && c->conn) {
          c->open = false;
          c->conn->ws.async_close(websocket::close_code::normal, [](beast::error_code) {});
        }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    for (auto& w : workers_) {
      w->work.reset();
      w->ioc.stop();
    }
    for (auto& w : workers_)
      if (w->thread.joinable())
        w->thread.join();
  };

  nlohmann::json steps = nlohmann::json::array();
  double load_cpu0 = 0;
  bool storm = cfg_.storm_at_seconds >= 0;
  bool storm_done = false;
  int storm_cmd_status = 0;
  double setup_s = 0;
  server_stats_sampler server{server_stats_config{cfg_.ep, cfg_.server_metrics, cfg_.server_pid,
                                                  cfg_.metrics_token, std::chrono::milliseconds(1000)}};
  try {
    auto t1 = clock_type::now();
    post_all([this](worker& w) {
      for (auto* c : w.clients)
        w.connect_queue.push_back(c);
      try_connects(w);
    });
    auto total = static_cast<int64_t>(clients_.size());
    wait_for("connecting", [&] { return connected_.load() == total; }, 120 + static_cast<double>(total) / 100);
    say("setup: " + std::to_string(total) + " sockets connected in " + std::to_string(since(t1)) + " s");

    t1 = clock_type::now();
    post_all([this, rooms](worker& w) {
      for (auto* c : w.clients)
        if (c->index < brands_ || rooms) { // in a room every member enters it
          for (auto& s : c->subs)
            c->backlog.push_back(request{req_kind::open, s.conv});
          pump(*c);
        }
    });
    auto n = static_cast<int64_t>(convs_.size());
    auto opens = rooms ? member_slots : n;
    wait_for("conversation.open", [&] { return opened_.load() == opens || open_failures_.load() > 0; },
             120 + static_cast<double>(opens) / 50);
    if (open_failures_.load() > 0)
      throw std::runtime_error("setup: conversation.open was refused (see violations)");
    for (size_t j = 0; j < convs_.size(); ++j)
      conv_by_stream_["conversation:" + convs_[j].id] = static_cast<int>(j);
    say("setup: " + std::to_string(n) + " conversations opened in " + std::to_string(since(t1)) + " s");

    t1 = clock_type::now();
    post_all([this](worker& w) {
      for (auto* c : w.clients) {
        for (auto& s : c->subs)
          c->backlog.push_back(request{req_kind::subscribe, s.conv});
        pump(*c);
      }
    });
    wait_for("subscribe", [&] { return subscribed_.load() == member_slots; }, 120 + static_cast<double>(n) / 50);
    say("setup: " + std::to_string(member_slots) + " subscriptions in " + std::to_string(since(t1)) + " s");
    setup_s = since(t0);

    // Lanes: every (client, conversation) of the worker, interleaved so that consecutive messages
    // go to different sockets.
    for (auto& w : workers_) {
      size_t most = 0;
      for (auto* c : w->clients)
        most = std::max(most, c->subs.size());
      for (size_t slot = 0; slot < most; ++slot)
        for (auto* c : w->clients)
          if (slot < c->subs.size())
            w->lanes.emplace_back(c, c->subs[slot].conv);
    }
    auto all_lanes = static_cast<double>(member_slots);

    load_cpu0 = cpu_seconds();
    if (!server.start())
      say("load: server CPU/RSS not sampled: " + server.finish().value("reason", std::string{}));
    for (int step = 0; step < steps_; ++step) {
      auto rate = cfg_.rates[static_cast<size_t>(step)];
      auto start = now_ns() + 20'000'000; // 20 ms: every worker starts on the same schedule
      auto end = start + static_cast<int64_t>(cfg_.step_seconds * 1e9);
      auto cpu0 = cpu_seconds();
      auto server0 = server.sample_now();
      int64_t sent0 = sent_total_.load(), acked0 = acked_total_.load();
      post_all([this, step, rate, start, end, all_lanes](worker& w) {
        if (w.lanes.empty())
          return;
        w.step = step;
        w.rate = rate * static_cast<double>(w.lanes.size()) / all_lanes;
        w.step_start = start;
        w.step_end = end;
        w.next_j = 0;
        w.generating = w.rate > 0;
        tick(w);
      });
      say("load: step " + std::to_string(step + 1) + "/" + std::to_string(steps_) + " started at "
          + std::to_string(rate) + " msgs/s for " + std::to_string(cfg_.step_seconds) + " s");
      while (now_ns() < end) {
        if (storm && !storm_done && now_ns() >= start + static_cast<int64_t>(cfg_.storm_at_seconds * 1e9)) {
          storm_done = true;
          storm_target_.resize(convs_.size());
          for (size_t j = 0; j < convs_.size(); ++j)
            storm_target_[j] = max_acked_[j].load();
          storm_start_ = now_ns();
          bool client_side = cfg_.storm_restart_cmd.empty();
          std::atomic<int> marked{0};
          post_all([this, client_side, &marked](worker& w) {
            for (auto* c : w.clients) {
              if (client_side) {
                storm_drop(*c);
              } else {
                c->storm_pending = true;
                c->storm_reconnected = false;
                c->storm_caught = false;
              }
            }
            ++marked;
          });
          while (marked.load() < static_cast<int>(workers_.size()))
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          say(client_side ? "storm: every socket dropped by the client" : "storm: running " + cfg_.storm_restart_cmd);
          if (!client_side) {
            storm_cmd_status = std::system(cfg_.storm_restart_cmd.c_str());
            say("storm: restart command exited with " + std::to_string(storm_cmd_status));
          }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(1000, std::max<int64_t>(1, (end - now_ns()) / 1'000'000))));
        say("load:   sent " + std::to_string(sent_total_.load()) + ", acked " + std::to_string(acked_total_.load())
            + ", unresolved " + std::to_string(unresolved_.load()));
      }
      auto secs = static_cast<double>(end - start) / 1e9;
      auto cpu = cpu_seconds() - cpu0;
      auto server1 = server.sample_now();
      auto acked_window = acked_total_.load() - acked0;
      // Before the next step, let this one's backlog drain, so that each step's latencies are its
      // own (a step the server could not sustain would otherwise hand its queue to the next).
      auto t3 = clock_type::now();
      if (step + 1 < steps_) {
        while (unresolved_.load() > 0 && since(t3) < cfg_.drain_seconds)
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        say("load: step " + std::to_string(step + 1) + " drained in " + std::to_string(since(t3)) + " s");
      }
      steps.push_back(nlohmann::json{{"target_rate", rate},
                                     {"drain_seconds", since(t3)},
                                     {"seconds", secs},
                                     {"sent_in_window", sent_total_.load() - sent0},
                                     {"acked_in_window", acked_window},
                                     {"ack_rate", static_cast<double>(acked_window) / secs},
                                     {"generator_cpu_seconds", cpu},
                                     {"generator_cpu_share", cpu / secs}});
      if (server0 && server1)
        steps.back()["server"] = server_stats_sampler::between(*server0, *server1);
    }

    // Drain: every message answered, then every acknowledged message at every subscriber.
    auto t2 = clock_type::now();
    auto drain = std::chrono::duration<double>(cfg_.drain_seconds);
    while (unresolved_.load() > 0 && clock_type::now() - t2 < drain)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    while (pending_deliveries() > 0 && clock_type::now() - t2 < drain)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    say("load: drained in " + std::to_string(since(t2)) + " s");
    if (storm) {
      auto t4 = clock_type::now();
      while (storm_caught_.load() < static_cast<int64_t>(clients_.size()) && since(t4) < cfg_.drain_seconds)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      say("storm: " + std::to_string(storm_caught_.load()) + " of " + std::to_string(clients_.size())
          + " clients resumed and caught up");
    }
  } catch (...) {
    shutdown();
    throw;
  }
  auto load_cpu = cpu_seconds() - load_cpu0;
  auto server_report = server.finish();
  shutdown();

  // ---- the end check, single-threaded now ----
  std::map<std::string, int64_t> errors;
  std::vector<std::string> violations;
  int64_t sent = 0, acked = 0, failed = 0, unresolved = 0, reconnects = 0, dups_dropped = 0,
          dup_acks = 0, retries = 0;
  std::vector<log_histogram> ack_h(static_cast<size_t>(steps_)), del_h(static_cast<size_t>(steps_));
  log_histogram ack_all, del_all;
  for (auto& w : workers_) {
    for (auto& [k, v] : w->errors)
      errors[k] += v;
    for (auto& v : w->violations)
      if (violations.size() < 100)
        violations.push_back(v);
    for (size_t s = 0; s < static_cast<size_t>(steps_); ++s) {
      ack_h[s].merge(w->ack_latency[s]);
      del_h[s].merge(w->delivery_latency[s]);
    }
    reconnects += w->reconnects;
    dups_dropped += w->duplicates_dropped;
    dup_acks += w->duplicate_acks;
    retries += w->retries;
  }
  for (size_t s = 0; s < static_cast<size_t>(steps_); ++s) {
    ack_all.merge(ack_h[s]);
    del_all.merge(del_h[s]);
    int64_t step_sent = 0, step_acked = 0;
    for (auto& w : workers_) {
      step_sent += w->sent[s];
      step_acked += w->acked[s];
    }
    steps[s]["sent"] = step_sent;
    steps[s]["acked"] = step_acked;
    steps[s]["ack_latency"] = ack_h[s].summary_ms();
    steps[s]["delivery_latency"] = del_h[s].summary_ms();
  }
  // Acknowledged seqs per conversation, to count what each subscriber must have.
  std::vector<std::vector<int64_t>> acked_seqs(convs_.size());
  for (auto& c : clients_)
    for (auto& m : c->msgs) {
      ++sent;
      if (m.acked) {
        ++acked;
        acked_seqs[static_cast<size_t>(m.conv)].push_back(m.seq);
      } else if (m.failed) {
        ++failed;
      } else {
        ++unresolved;
      }
    }
  int64_t stored_twice = 0;
  for (size_t j = 0; j < acked_seqs.size(); ++j) {
    auto& v = acked_seqs[j];
    std::sort(v.begin(), v.end());
    if (std::adjacent_find(v.begin(), v.end()) != v.end()) {
      ++stored_twice;
      if (violations.size() < 100)
        violations.push_back("conversation " + convs_[j].id + ": two messages acknowledged with the same seq");
    }
  }
  int64_t delivered = 0, lost = 0, mismatched = 0;
  for (auto& c : clients_) {
    for (auto& s : c->subs) {
      auto& v = acked_seqs[static_cast<size_t>(s.conv)];
      auto missing = static_cast<int64_t>(v.end() - std::upper_bound(v.begin(), v.end(), s.last));
      lost += missing;
      delivered += static_cast<int64_t>(v.size()) - missing;
      if (missing > 0 && violations.size() < 100)
        violations.push_back("client " + std::to_string(c->index) + ", conversation:" + convs_[static_cast<size_t>(s.conv)].id
                             + ": " + std::to_string(missing) + " acknowledged messages never arrived (last seq "
                             + std::to_string(s.last) + ")");
      // Each posted event is the message whose ack named that seq: a message stored twice (at two
      // seqs) or a refused one that was stored shows up here.
      for (auto& p : s.seen) {
        if (p.sender < 0 || p.sender >= static_cast<int32_t>(clients_.size()))
          continue;
        auto& msgs = clients_[static_cast<size_t>(p.sender)]->msgs;
        if (p.n < 0 || p.n >= static_cast<int32_t>(msgs.size()))
          continue;
        auto& m = msgs[static_cast<size_t>(p.n)];
        if ((m.acked && m.seq != p.seq) || m.failed) {
          ++mismatched;
          if (violations.size() < 100)
            violations.push_back("client " + std::to_string(c->index) + ": " + m.client_id + " arrived at seq "
                                 + std::to_string(p.seq) + (m.failed ? " although it was refused" : " but was acknowledged as seq " + std::to_string(m.seq)));
        }
      }
    }
  }
  int64_t refused = 0;
  for (auto& [code, count] : errors)
    if (code.rfind("connect:", 0) != 0 && code.rfind("handshake:", 0) != 0
        && code.rfind("disconnected:", 0) != 0 && !retryable(code))
      refused += count;
  auto load_s = cfg_.step_seconds * steps_;
  nlohmann::json report{
    {"scenario", "chat"},
    {"engine", "async"},
    {"conversations", convs_.size()},
    {"conversations_per_user", cfg_.conversations_per_user},
    {"layout", cfg_.room_size > 0 ? "rooms" : "pairs"},
    {"room_size", cfg_.room_size > 0 ? cfg_.room_size : 2},
    {"users", clients_.size()},
    {"sockets", clients_.size()},
    {"threads", workers_.size()},
    {"encoding", cfg_.enc == chat_load_config::encoding::json ? "json" : "msgpack"},
    {"max_inflight_per_socket", cfg_.max_inflight_per_socket},
    {"text_bytes", text_.size()},
    {"setup_seconds", setup_s},
    {"accounts_seconds", accounts_s},
    {"steps", steps},
    {"sent", sent},
    {"acked", acked},
    {"refused", failed},
    {"unresolved", unresolved},
    {"delivered", delivered},
    {"lost", lost},
    {"stored_twice", stored_twice + mismatched},
    {"duplicates_dropped", dups_dropped},
    {"duplicate_acks", dup_acks},
    {"retries", retries},
    {"reconnects", reconnects},
    {"non_retryable_errors", refused},
    {"errors", errors},
    {"ack_latency", ack_all.summary_ms()},
    {"delivery_latency", del_all.summary_ms()},
    {"generator_cpu_seconds", load_cpu},
    {"generator_cpu_share", load_s > 0 ? load_cpu / load_s : 0.0},
    {"violations", violations},
    {"server", server_report},
  };
  if (storm) {
    log_histogram resume, catchup;
    int64_t dropped = 0;
    for (auto& w : workers_) {
      resume.merge(w->storm_resume);
      catchup.merge(w->storm_catchup);
      dropped += w->storm_dropped;
    }
    report["scenario"] = "storm";
    report["storm"] = nlohmann::json{
      {"clients", clients_.size()},
      {"mode", cfg_.storm_restart_cmd.empty() ? "client_close" : "restart_cmd"},
      {"at_seconds", cfg_.storm_at_seconds},
      {"jitter_ms", cfg_.storm_jitter_ms},
      {"dropped_by_client", dropped},
      {"restart_cmd_status", storm_cmd_status},
      {"resumed", storm_resumed_.load()},
      {"caught_up", storm_caught_.load()},
      {"resume_seconds", static_cast<double>(resume.max()) / 1e9},
      {"caught_up_seconds", static_cast<double>(catchup.max()) / 1e9},
      {"resume_latency", resume.summary_ms()},
      {"caught_up_latency", catchup.summary_ms()},
    };
  }
  report["passed"] = chat_load_passed(report);
  return report;
}

} // namespace

nlohmann::json run_chat_load(const chat_load_config& cfg) {
  engine e{cfg};
  return e.run();
}

bool chat_load_passed(const nlohmann::json& r) {
  return r.value("violations", nlohmann::json::array()).empty() && r.value("lost", 1) == 0
         && r.value("stored_twice", 1) == 0 && r.value("unresolved", 1) == 0 && r.value("refused", 1) == 0
         && r.value("non_retryable_errors", 1) == 0 && r.value("acked", -1) == r.value("sent", -2)
         && (!r.contains("storm")
             || (r["storm"].value("caught_up", -1) == r["storm"].value("clients", -2)
                 && r["storm"].value("restart_cmd_status", 1) == 0));
}

void print_chat_load_summary(const nlohmann::json& r, std::ostream& out) {
  auto lat = [](const nlohmann::json& h) {
    char buf[200];
    std::snprintf(buf, sizeof buf, "p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f ms (n=%lld)",
                  h.value("p50_ms", 0.0), h.value("p90_ms", 0.0), h.value("p99_ms", 0.0), h.value("p99_9_ms", 0.0),
                  h.value("max_ms", 0.0), static_cast<long long>(h.value("count", 0)));
    return std::string{buf};
  };
  out << "pactum-sim " << r.value("scenario", "chat") << ": " << r["conversations"] << " conversations, " << r["sockets"] << " sockets ("
      << r["conversations_per_user"] << " conversations per user socket), " << r["threads"] << " thread(s), "
      << r["encoding"].get<std::string>() << "\n";
  if (r.value("layout", "pairs") == "rooms")
    out << "  layout: campaign rooms of " << r["room_size"] << " members (deliveries = acked x members)\n";
  out << "  setup " << r["setup_seconds"].get<double>() << " s\n";
  int i = 0;
  for (auto& s : r["steps"]) {
    char buf[200];
    std::snprintf(buf, sizeof buf, "  step %d: target %.0f msgs/s for %.1f s: sent %lld, acked %.0f/s; generator CPU %.0f %%\n",
                  ++i, s.value("target_rate", 0.0), s.value("seconds", 0.0), static_cast<long long>(s.value("sent", 0)),
                  s.value("ack_rate", 0.0), 100 * s.value("generator_cpu_share", 0.0));
    out << buf;
    if (s.contains("server")) {
      std::snprintf(buf, sizeof buf, "    server CPU %.2f s (%.0f %% of a core), RSS %.1f MiB at the end\n",
                    s["server"].value("cpu_seconds", 0.0), 100 * s["server"].value("cpu_share", 0.0),
                    static_cast<double>(s["server"].value("rss_bytes", uint64_t{0})) / (1 << 20));
      out << buf;
    }
    out << "    ack      " << lat(s["ack_latency"]) << "\n";
    out << "    delivery " << lat(s["delivery_latency"]) << "\n";
  }
  out << "  sent " << r["sent"] << ", acked " << r["acked"] << ", refused " << r["refused"] << ", unresolved "
      << r["unresolved"] << "\n";
  out << "  delivered " << r["delivered"] << " (message x subscriber), lost " << r["lost"] << ", stored twice "
      << r["stored_twice"] << ", duplicates dropped " << r["duplicates_dropped"] << ", reconnects " << r["reconnects"]
      << ", retries " << r["retries"] << "\n";
  if (r.contains("storm")) {
    auto& st = r["storm"];
    char buf[300];
    std::snprintf(buf, sizeof buf,
                  "  storm (%s at %.1f s): %lld clients, %lld resumed in %.3f s, %lld caught up in %.3f s\n",
                  st.value("mode", "").c_str(), st.value("at_seconds", 0.0), static_cast<long long>(st.value("clients", 0)),
                  static_cast<long long>(st.value("resumed", 0)), st.value("resume_seconds", 0.0),
                  static_cast<long long>(st.value("caught_up", 0)), st.value("caught_up_seconds", 0.0));
    out << buf;
    out << "    resume    " << lat(st["resume_latency"]) << "\n";
    out << "    caught up " << lat(st["caught_up_latency"]) << "\n";
  }
  static const nlohmann::json no_server = nlohmann::json::object();
  const auto& srv = r.contains("server") ? r["server"] : no_server;
  if (srv.value("source", "none") != "none") {
    auto mib = [&](const char* k) { return static_cast<double>(srv["rss_bytes"].value(k, uint64_t{0})) / (1 << 20); };
    char buf[300];
    std::snprintf(buf, sizeof buf,
                  "  server (%s): CPU %.2f s over %.1f s (%.0f %% of a core); RSS start %.1f, peak %.1f, "
                  "end %.1f MiB\n",
                  srv.value("source", "").c_str(), srv.value("cpu_seconds", 0.0), srv.value("seconds", 0.0),
                  100 * srv.value("cpu_share", 0.0), mib("start"), mib("peak"), mib("end"));
    out << buf;
  } else if (r.contains("server")) {
    out << "  server CPU/RSS not sampled: " << srv.value("reason", "") << "\n";
  }
  for (auto& [code, n] : r["errors"].items())
    out << "  error " << code << ": " << n << "\n";
  for (auto& v : r["violations"])
    out << "  VIOLATION " << v.get<std::string>() << "\n";
  out << (chat_load_passed(r) ? "  all checks passed\n" : "  CHECKS FAILED\n");
}

} // namespace pactum::sim
