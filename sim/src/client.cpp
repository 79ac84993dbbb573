#include "pactum/sim/client.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <sodium.h>

namespace pactum::sim {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

json http_reply::json_body() const {
  auto j = json::parse(body, nullptr, false);
  return j.is_discarded() ? json(nullptr) : j;
}

http_reply http_call(const endpoint& ep, const std::string& method, const std::string& target,
                     const std::string& body, const std::string& bearer,
                     const std::string& content_type,
                     const std::vector<std::pair<std::string, std::string>>& headers) {
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  stream.expires_after(std::chrono::seconds(30));
  tcp::resolver resolver{ioc};
  stream.connect(resolver.resolve(ep.host, std::to_string(ep.port)));
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, ep.host);
  req.set(http::field::user_agent, "pactum-sim");
  if (!bearer.empty())
    req.set(http::field::authorization, "Bearer " + bearer);
  for (const auto& [name, value] : headers)
    req.set(name, value);
  if (!body.empty() || method == "POST" || method == "PUT") {
    req.set(http::field::content_type, content_type);
    req.body() = body;
    req.prepare_payload();
  }
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  http::read(stream, buffer, parser);
  auto& res = parser.get();
  http_reply out;
  out.status = res.result_int();
  out.body = res.body();
  out.content_type = std::string{res[http::field::content_type]};
  out.retry_after = std::string{res[http::field::retry_after]};
  out.www_authenticate = std::string{res[http::field::www_authenticate]};
  out.location = std::string{res[http::field::location]};
  out.cache_control = std::string{res[http::field::cache_control]};
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return out;
}

account make_account(const endpoint& ep, const std::string& role, const std::string& name) {
  static std::atomic<uint64_t> counter{0};
  unsigned char rnd[6];
  randombytes_buf(rnd, sizeof rnd);
  char hex[13];
  sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
  account a;
  a.role = role;
  a.email = name + "." + hex + "." + std::to_string(counter++) + "@example.test";
  a.password = std::string{"correct horse "} + hex;
  auto reg = http_call(ep, "POST", "/api/v1/users/register",
                       json{{"email", a.email},
                            {"password", a.password},
                            {"display_name", name},
                            {"role", role}}
                         .dump());
  if (reg.status != 201)
    throw std::runtime_error("register failed: " + std::to_string(reg.status) + " " + reg.body);
  a.id = reg.json_body()["user"]["id"].get<std::string>();
  auto login = http_call(ep, "POST", "/api/v1/users/login",
                         json{{"email", a.email}, {"password", a.password}}.dump());
  if (login.status != 200)
    throw std::runtime_error("login failed: " + std::to_string(login.status) + " " + login.body);
  a.token = login.json_body()["token"].get<std::string>();
  return a;
}

namespace {

/// Boost 1.74's websocket handshake does not hand back the response when the server declines, so
/// the status of a refused upgrade is learned by sending the same upgrade request over plain HTTP.
int refused_upgrade_status(const endpoint& ep, const std::string& token) {
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  stream.expires_after(std::chrono::seconds(10));
  tcp::resolver resolver{ioc};
  stream.connect(resolver.resolve(ep.host, std::to_string(ep.port)));
  http::request<http::empty_body> req{http::verb::get, "/ws", 11};
  req.set(http::field::host, ep.host);
  req.set(http::field::connection, "Upgrade");
  req.set(http::field::upgrade, "websocket");
  req.set(http::field::sec_websocket_version, "13");
  req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  if (!token.empty())
    req.set(http::field::authorization, "Bearer " + token);
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  return res.result_int();
}

} // namespace

struct ws_client::impl {
  net::io_context ioc;
  websocket::stream<beast::tcp_stream> ws{ioc};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::thread thread;
  mode m = mode::json;
  beast::flat_buffer in;

  std::deque<std::pair<std::string, bool>> out; // bytes, text
  bool writing = false;

  mutable std::mutex mtx;
  std::condition_variable cv;
  std::deque<json> events;
  std::deque<json> replies;
  json hello;
  bool closed = false;
  uint16_t code = 0;
  size_t batches = 0;
  int64_t next_id = 1;

  json decode(std::string_view bytes, bool text) {
    if (text)
      return json::parse(bytes, nullptr, false);
    return json::from_msgpack(bytes.begin(), bytes.end(), true, false);
  }

  void file(json frame) { // called with mtx held
    auto type = frame.value("type", "");
    if (type == "batch") {
      ++batches;
      for (auto& item : frame["items"])
        file(item);
    } else if (type == "ok" || type == "error") {
      replies.push_back(std::move(frame));
    } else if (type == "hello") {
      hello = std::move(frame);
    } else {
      events.push_back(std::move(frame));
    }
  }

  void read() {
    ws.async_read(in, [this](beast::error_code ec, size_t) {
      if (ec) {
        std::lock_guard<std::mutex> guard{mtx};
        closed = true;
        code = static_cast<uint16_t>(ws.reason().code);
        cv.notify_all();
        return;
      }
      auto data = in.data();
      auto frame = decode({static_cast<const char*>(data.data()), data.size()}, ws.got_text());
      in.consume(in.size());
      {
        std::lock_guard<std::mutex> guard{mtx};
        if (frame.is_discarded())
          events.push_back(json{{"type", "undecodable"}});
        else
          file(std::move(frame));
      }
      cv.notify_all();
      read();
    });
  }

  void write_next() {
    if (out.empty()) {
      writing = false;
      return;
    }
    writing = true;
    ws.text(out.front().second);
    ws.async_write(net::buffer(out.front().first), [this](beast::error_code ec, size_t) {
      out.pop_front();
      if (ec) {
        out.clear();
        writing = false;
        return;
      }
      write_next();
    });
  }

  void post_write(std::string bytes, bool text) {
    net::post(ioc, [this, bytes = std::move(bytes), text]() mutable {
      out.emplace_back(std::move(bytes), text);
      if (!writing)
        write_next();
    });
  }
};

ws_client::ws_client(const endpoint& ep, const std::string& token, mode m)
  : impl_(std::make_shared<impl>()) {
  auto& d = *impl_;
  d.m = m;
  tcp::resolver resolver{d.ioc};
  beast::get_lowest_layer(d.ws).expires_after(std::chrono::seconds(10));
  beast::get_lowest_layer(d.ws).connect(resolver.resolve(ep.host, std::to_string(ep.port)));
  d.ws.set_option(websocket::stream_base::decorator([token](websocket::request_type& req) {
    req.set(http::field::user_agent, "pactum-sim");
    if (!token.empty())
      req.set(http::field::authorization, "Bearer " + token);
  }));
  d.ws.read_message_max(64 * 1024 * 1024);
  websocket::response_type res;
  beast::error_code ec;
  d.ws.handshake(res, ep.host + ":" + std::to_string(ep.port), "/ws", ec);
  if (ec) {
    auto status = ec == websocket::error::upgrade_declined ? refused_upgrade_status(ep, token)
                                                           : res.result_int();
    throw upgrade_refused(status, "upgrade refused with HTTP " + std::to_string(status) + ": "
                                    + ec.message());
  }
  beast::get_lowest_layer(d.ws).expires_never();
  d.work.emplace(d.ioc.get_executor());
  d.read();
  d.thread = std::thread([&d] { d.ioc.run(); });
  std::unique_lock<std::mutex> guard{d.mtx};
  if (!d.cv.wait_for(guard, std::chrono::seconds(10), [&] { return !d.hello.is_null() || d.closed; })
      || d.hello.is_null())
    throw std::runtime_error("no hello from the server");
}

ws_client::~ws_client() {
  auto& d = *impl_;
  if (!closed()) {
    net::post(d.ioc, [&d] {
      d.ws.async_close(websocket::close_code::normal, [](beast::error_code) {});
    });
    wait_closed(std::chrono::seconds(2));
  }
  d.work.reset();
  d.ioc.stop();
  if (d.thread.joinable())
    d.thread.join();
}

const json& ws_client::hello() const {
  return impl_->hello;
}

void ws_client::send(const json& msg) {
  if (impl_->m == mode::json) {
    impl_->post_write(msg.dump(), true);
  } else {
    auto bytes = json::to_msgpack(msg);
    impl_->post_write(std::string{bytes.begin(), bytes.end()}, false);
  }
}

void ws_client::send_raw(const std::string& bytes, bool text) {
  impl_->post_write(bytes, text);
}

json ws_client::request(json msg, std::chrono::milliseconds timeout) {
  int64_t id;
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    id = impl_->next_id++;
  }
  msg["id"] = id;
  send(msg);
  auto reply = wait_reply(id, timeout);
  if (!reply)
    throw std::runtime_error("no reply to " + msg.value("type", "?") + " in time");
  return *reply;
}

std::optional<json> ws_client::wait_reply(const json& id, std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  std::unique_lock<std::mutex> guard{d.mtx};
  std::optional<json> found;
  d.cv.wait_for(guard, timeout, [&] {
    for (auto i = d.replies.begin(); i != d.replies.end(); ++i) {
      if ((*i)["re"] == id) {
        found = std::move(*i);
        d.replies.erase(i);
        return true;
      }
    }
    return d.closed;
  });
  return found;
}

std::optional<json> ws_client::next_event(std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  std::unique_lock<std::mutex> guard{d.mtx};
  if (!d.cv.wait_for(guard, timeout, [&] { return !d.events.empty() || d.closed; })
      || d.events.empty())
    return std::nullopt;
  auto ev = std::move(d.events.front());
  d.events.pop_front();
  return ev;
}

bool ws_client::closed() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->closed;
}

uint16_t ws_client::close_code() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->code;
}

bool ws_client::wait_closed(std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  std::unique_lock<std::mutex> guard{d.mtx};
  return d.cv.wait_for(guard, timeout, [&] { return d.closed; });
}

void ws_client::close() {
  auto& d = *impl_;
  net::post(d.ioc, [&d] { d.ws.async_close(websocket::close_code::normal, [](beast::error_code) {}); });
  wait_closed(std::chrono::seconds(5));
}

size_t ws_client::batches_received() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->batches;
}

} // namespace pactum::sim
