#include "async_common.hpp"

#include <algorithm>
#include <deque>
#include <fstream>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include <sys/resource.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace pactum::sim::detail {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch()).count();
}

clock_type::time_point at_ns(int64_t ns) {
  return clock_type::time_point{std::chrono::duration_cast<clock_type::duration>(std::chrono::nanoseconds(ns))};
}

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec)
         + static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

bool retryable(const std::string& code) {
  return code == "unavailable" || code == "overloaded" || code == "timeout" || code == "rate_limited";
}

int backoff_ms(int failures, std::mt19937& rng, int max_ms) {
  auto delay = std::min(max_ms, 50 << std::min(std::max(failures, 0), 6));
  return delay + std::uniform_int_distribution<int>(0, std::max(1, delay / 2))(rng);
}

int64_t rss_kib(int pid) {
  if (pid <= 0)
    return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) {
      try {
        return std::stoll(line.substr(6));
      } catch (const std::logic_error&) {
        return -1;
      }
    }
  return -1;
}

endpoint parse_url(const std::string& u) {
  auto p = u.find("://");
  auto hostport = p == std::string::npos ? u : u.substr(p + 3);
  hostport = hostport.substr(0, hostport.find('/'));
  auto colon = hostport.rfind(':');
  if (colon == std::string::npos)
    throw std::invalid_argument("no port in " + u);
  endpoint ep;
  ep.host = hostport.substr(0, colon);
  ep.port = static_cast<uint16_t>(std::stoi(hostport.substr(colon + 1)));
  return ep;
}

// ---- HTTP ----------------------------------------------------------------------------------

namespace {

struct http_op : std::enable_shared_from_this<http_op> {
  explicit http_op(net::io_context& ioc) : stream(ioc) {}
  beast::tcp_stream stream;
  http::request<http::string_body> req;
  http::response<http::string_body> res;
  beast::flat_buffer buf;
  std::function<void(int, nlohmann::json, std::string)> done;

  void fail(const std::string& what) {
    auto d = std::move(done);
    if (d)
      d(0, nullptr, what);
  }
};

} // namespace

void http_async(net::io_context& ioc, const endpoint& ep, const std::string& method, const std::string& target,
                std::string body, const std::string& bearer,
                std::function<void(int, nlohmann::json, std::string)> done) {
  auto op = std::make_shared<http_op>(ioc);
  op->done = std::move(done);
  op->req = http::request<http::string_body>{http::string_to_verb(method), target, 11};
  op->req.set(http::field::host, ep.host);
  op->req.set(http::field::user_agent, "pactum-sim");
  if (!bearer.empty())
    op->req.set(http::field::authorization, "Bearer " + bearer);
  if (!body.empty() || method == "POST" || method == "PUT") {
    op->req.set(http::field::content_type, "application/json");
    op->req.body() = std::move(body);
    op->req.prepare_payload();
  }
  op->stream.expires_after(std::chrono::seconds(30));
  beast::error_code ec;
  auto addr = net::ip::make_address(ep.host, ec);
  if (ec)
    return net::post(ioc, [op] { op->fail("connect: bad address"); });
  op->stream.async_connect(tcp::endpoint{addr, ep.port}, [op](beast::error_code ec1) {
    if (ec1)
      return op->fail("connect: " + ec1.message());
    http::async_write(op->stream, op->req, [op](beast::error_code ec2, std::size_t) {
      if (ec2)
        return op->fail("http: " + ec2.message());
      http::async_read(op->stream, op->buf, op->res, [op](beast::error_code ec3, std::size_t) {
        if (ec3)
          return op->fail("http: " + ec3.message());
        beast::error_code ignored;
        op->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        auto j = nlohmann::json::parse(op->res.body(), nullptr, false);
        auto d = std::move(op->done);
        d(op->res.result_int(), j.is_discarded() ? nlohmann::json(nullptr) : std::move(j), "");
      });
    });
  });
}

// ---- WebSocket -----------------------------------------------------------------------------

struct ws_session::impl {
  impl(net::io_context& c, endpoint e, std::string t) : ioc(c), ws(c), ep(std::move(e)), token(std::move(t)) {}
  net::io_context& ioc;
  websocket::stream<beast::tcp_stream> ws;
  endpoint ep;
  std::string token;
  beast::flat_buffer in;
  std::deque<std::string> out;
  bool writing = false;
  bool open = false;
  bool ended = false;
  int64_t next_id = 1;
  std::unordered_map<int64_t, frame_fn> pending;
  frame_fn on_event;
  std::function<void(const std::string&)> on_closed;
};

std::shared_ptr<ws_session> ws_session::make(net::io_context& ioc, endpoint ep, std::string token) {
  std::shared_ptr<ws_session> s{new ws_session()};
  s->impl_ = std::make_unique<impl>(ioc, std::move(ep), std::move(token));
  return s;
}

ws_session::~ws_session() = default;

bool ws_session::is_open() const noexcept { return impl_->open; }
size_t ws_session::inflight() const noexcept { return impl_->pending.size(); }
void ws_session::on_event(frame_fn fn) { impl_->on_event = std::move(fn); }
void ws_session::on_closed(std::function<void(const std::string&)> fn) { impl_->on_closed = std::move(fn); }

namespace {

void end_session(const std::shared_ptr<ws_session>& self, ws_session::impl& m, const std::string& why) {
  if (m.ended)
    return;
  m.ended = true;
  m.open = false;
  beast::error_code ignored;
  beast::get_lowest_layer(m.ws).socket().close(ignored);
  auto pending = std::move(m.pending);
  m.pending.clear();
  nlohmann::json gone{{"type", "error"}, {"code", "disconnected"}, {"message", why}};
  for (auto& [id, fn] : pending)
    if (fn)
      fn(gone);
  if (m.on_closed)
    m.on_closed(why);
  (void)self;
}

void dispatch(ws_session::impl& m, const nlohmann::json& f) {
  auto type = f.value("type", "");
  if ((type == "ok" || type == "error") && f.contains("re") && f.at("re").is_number_integer()) {
    auto it = m.pending.find(f.at("re").get<int64_t>());
    if (it == m.pending.end())
      return;
    auto fn = std::move(it->second);
    m.pending.erase(it);
    if (fn)
      fn(f);
    return;
  }
  if (type == "batch" && f.contains("items")) {
    for (auto& item : f.at("items"))
      dispatch(m, item);
    return;
  }
  if (m.on_event)
    m.on_event(f);
}

void read_loop(const std::shared_ptr<ws_session>& self, ws_session::impl& m) {
  m.ws.async_read(m.in, [self, &m](beast::error_code ec, std::size_t) {
    if (m.ended)
      return;
    if (ec) {
      auto why = ec == websocket::error::closed ? "close " + std::to_string(m.ws.reason().code) : ec.message();
      return end_session(self, m, why);
    }
    auto data = m.in.data();
    auto* p = static_cast<const char*>(data.data());
    auto f = nlohmann::json::parse(p, p + data.size(), nullptr, false);
    m.in.consume(m.in.size());
    if (f.is_object())
      dispatch(m, f);
    if (!m.ended)
      read_loop(self, m);
  });
}

void write_next(const std::shared_ptr<ws_session>& self, ws_session::impl& m) {
  if (m.out.empty() || m.ended) {
    m.writing = false;
    return;
  }
  m.writing = true;
  m.ws.text(true);
  m.ws.async_write(net::buffer(m.out.front()), [self, &m](beast::error_code ec, std::size_t) {
    if (m.ended)
      return;
    if (ec)
      return end_session(self, m, "write: " + ec.message());
    m.out.pop_front();
    write_next(self, m);
  });
}

} // namespace

void ws_session::connect(std::function<void(const std::string&)> done) {
  auto self = shared_from_this();
  auto& m = *impl_;
  beast::error_code ec;
  auto addr = net::ip::make_address(m.ep.host, ec);
  if (ec)
    return net::post(m.ioc, [done] { done("connect: bad address"); });
  beast::get_lowest_layer(m.ws).expires_after(std::chrono::seconds(10));
  beast::get_lowest_layer(m.ws).async_connect(tcp::endpoint{addr, m.ep.port}, [self, &m, done](beast::error_code ec1) {
    if (ec1)
      return done("connect: " + ec1.message());
    beast::get_lowest_layer(m.ws).expires_never();
    m.ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    m.ws.set_option(websocket::stream_base::decorator([token = m.token](websocket::request_type& req) {
      req.set(beast::http::field::authorization, "Bearer " + token);
      req.set(beast::http::field::user_agent, "pactum-sim");
    }));
    m.ws.read_message_max(16 * 1024 * 1024);
    auto host = m.ep.host + ":" + std::to_string(m.ep.port);
    m.ws.async_handshake(host, "/ws", [self, &m, done](beast::error_code ec2) {
      if (ec2)
        return done("handshake: " + ec2.message());
      m.ws.async_read(m.in, [self, &m, done](beast::error_code ec3, std::size_t) {
        if (ec3)
          return done("hello: " + ec3.message());
        auto data = m.in.data();
        auto* p = static_cast<const char*>(data.data());
        auto hello = nlohmann::json::parse(p, p + data.size(), nullptr, false);
        m.in.consume(m.in.size());
        if (!hello.is_object() || hello.value("type", "") != "hello")
          return done("hello: unexpected first frame");
        m.open = true;
        read_loop(self, m);
        done("");
      });
    });
  });
}

void ws_session::request(nlohmann::json msg, frame_fn on_reply) {
  auto& m = *impl_;
  if (!m.open) {
    nlohmann::json gone{{"type", "error"}, {"code", "disconnected"}, {"message", "not connected"}};
    net::post(m.ioc, [on_reply = std::move(on_reply), gone] {
      if (on_reply)
        on_reply(gone);
    });
    return;
  }
  auto id = m.next_id++;
  msg["id"] = id;
  m.pending.emplace(id, std::move(on_reply));
  m.out.push_back(msg.dump());
  if (!m.writing)
    write_next(shared_from_this(), m);
}

void ws_session::close(bool graceful) {
  auto& m = *impl_;
  if (!m.open || m.ended)
    return;
  if (!graceful || m.writing) // Beast allows no close while a write is in flight
    return end_session(shared_from_this(), m, "dropped by the client");
  m.open = false;
  auto self = shared_from_this();
  m.ws.async_close(websocket::close_code::normal, [self](beast::error_code) {});
}

} // namespace pactum::sim::detail
