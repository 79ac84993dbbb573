// One WebSocket connection after an authenticated upgrade.
//
// Ownership: kept alive by its own pending async operations and by its session sink (which holds
// only a weak_ptr, so the actor side never keeps a dead socket alive). All state is touched only
// on the connection's strand: frames from CAF threads are posted onto it.
//
// Outbound flow control: frames wait in a bounded queue with one write outstanding. When several
// are queued they leave as one `batch` frame (one write system call instead of many). A client
// whose queue passes the limit is disconnected with 4001 (slow consumer) and resumes from its
// last seq on reconnect.

#include <deque>

#include <spdlog/spdlog.h>

#include "pactum/protocol/codec.hpp"
#include "shared.hpp"

namespace pactum::gateway {

class ws_session : public std::enable_shared_from_this<ws_session> {
public:
  ws_session(tcp::socket socket, actors::principal who, uint64_t id,
             std::shared_ptr<gateway_state> gw)
    : ws_(std::move(socket)), who_(std::move(who)), id_(id), gw_(std::move(gw)) {}

  ~ws_session() {
    gw_->release_socket(who_.user);
    --gw_->ws_connections;
  }

  void run(http::request<http::string_body> req);

  // Called from any thread.
  void post_send(std::string frame, protocol::encoding enc) {
    net::post(ws_.get_executor(), [self = shared_from_this(), frame = std::move(frame), enc]() mutable {
      self->enqueue(item{enc, std::move(frame), nullptr});
    });
  }
  void post_push(protocol::push_frame_ptr frame) {
    net::post(ws_.get_executor(), [self = shared_from_this(), frame = std::move(frame)]() mutable {
      self->enqueue(item{self->push_enc_, {}, std::move(frame)});
    });
  }
  void post_close(protocol::close_code code, std::string reason) {
    net::post(ws_.get_executor(), [self = shared_from_this(), code, reason = std::move(reason)] {
      self->close_after_writes(code, reason);
    });
  }

private:
  struct item {
    protocol::encoding enc;
    std::string owned;
    protocol::push_frame_ptr frame;
    const std::string& bytes() const { return frame ? frame->frame(enc) : owned; }
  };

  void on_accept(beast::error_code ec);
  void read();
  void on_read(beast::error_code ec, size_t bytes);
  void handle_frame(std::string_view data, protocol::encoding enc);
  void enqueue(item it);
  void write_next();
  void on_write(beast::error_code ec, size_t);
  void close_after_writes(protocol::close_code code, const std::string& reason);
  void do_close();
  void finish();

  websocket::stream<beast::tcp_stream> ws_;
  actors::principal who_;
  uint64_t id_;
  std::shared_ptr<gateway_state> gw_;
  std::unique_ptr<actors::session> session_;
  beast::flat_buffer in_;
  std::deque<item> queue_;
  std::string batch_; // the bytes of the write in progress when it is a batch
  size_t writing_count_ = 0;
  bool writing_ = false;
  bool closing_ = false;
  bool closed_ = false;
  std::optional<websocket::close_reason> close_reason_;
  protocol::encoding push_enc_ = protocol::encoding::json;
  size_t bad_frames_ = 0;
};

namespace {

/// The actors layer's view of the connection.
class sink final : public actors::session_sink {
public:
  explicit sink(std::weak_ptr<ws_session> ws) : ws_(std::move(ws)) {}
  void send(std::string frame, protocol::encoding enc) override {
    if (auto s = ws_.lock())
      s->post_send(std::move(frame), enc);
  }
  void push(protocol::push_frame_ptr frame) override {
    if (auto s = ws_.lock())
      s->post_push(std::move(frame));
  }
  void close(protocol::close_code code, std::string reason) override {
    if (auto s = ws_.lock())
      s->post_close(code, std::move(reason));
  }

private:
  std::weak_ptr<ws_session> ws_;
};

} // namespace

void ws_session::run(http::request<http::string_body> req) {
  ++gw_->ws_connections;
  {
    std::lock_guard<std::mutex> guard{gw_->sessions_mtx};
    gw_->sessions.insert(weak_from_this());
  }
  ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
  ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
    res.set(http::field::server, "pactumd");
  }));
  ws_.read_message_max(gw_->cfg.max_frame_bytes);
  ws_.auto_fragment(false);
  ws_.async_accept(req, beast::bind_front_handler(&ws_session::on_accept, shared_from_this()));
}

void ws_session::on_accept(beast::error_code ec) {
  if (ec) {
    spdlog::debug("conn={} websocket accept: {}", id_, ec.message());
    return finish();
  }
  session_ = gw_->rt.open_session(who_, std::make_shared<sink>(weak_from_this()));
  read();
}

void ws_session::read() {
  ws_.async_read(in_, beast::bind_front_handler(&ws_session::on_read, shared_from_this()));
}

void ws_session::on_read(beast::error_code ec, size_t) {
  if (ec) {
    if (ec == websocket::error::message_too_big)
      spdlog::info("conn={} closed: frame over {} bytes (1009)", id_, gw_->cfg.max_frame_bytes);
    else if (ec != websocket::error::closed && ec != net::error::operation_aborted)
      spdlog::debug("conn={} read: {}", id_, ec.message());
    return finish();
  }
  auto enc = ws_.got_text() ? protocol::encoding::json : protocol::encoding::msgpack;
  auto data = in_.data();
  handle_frame(std::string_view{static_cast<const char*>(data.data()), data.size()}, enc);
  in_.consume(in_.size());
  if (!closed_)
    read();
}

void ws_session::handle_frame(std::string_view data, protocol::encoding enc) {
  push_enc_ = enc;
  auto req = protocol::decode_request(data, enc, gw_->rt.config().limits);
  if (!req) {
    auto& err = req.error();
    enqueue(item{enc, protocol::encode_error(err.id ? &*err.id : nullptr, err.code, err.message, enc), nullptr});
    if (err.code == protocol::error_code::bad_frame && ++bad_frames_ > gw_->cfg.max_bad_frames)
      close_after_writes(protocol::close_code::policy_violation, "too many malformed frames");
    return;
  }
  if (gw_->draining) {
    enqueue(item{enc,
                 protocol::encode_error(&req->id, protocol::error_code::unavailable,
                                        "server shutting down; reconnect and retry", enc),
                 nullptr});
    return;
  }
  if (session_)
    session_->handle(std::move(req.value()), enc);
}

void ws_session::enqueue(item it) {
  if (closing_ || closed_)
    return;
  if (queue_.size() >= gw_->cfg.outbound_queue_limit) {
    spdlog::info("conn={} closed: slow consumer ({} frames queued)", id_, queue_.size());
    queue_.clear(); // what it missed it gets again by resuming
    return close_after_writes(protocol::close_code::slow_consumer, "slow consumer");
  }
  queue_.push_back(std::move(it));
  if (!writing_)
    write_next();
}

void ws_session::write_next() {
  if (queue_.empty()) {
    if (closing_)
      do_close();
    return;
  }
  writing_ = true;
  auto enc = queue_.front().enc;
  size_t n = 1;
  while (n < queue_.size() && n < gw_->cfg.max_batch_frames && queue_[n].enc == enc)
    ++n;
  writing_count_ = n;
  ws_.text(enc == protocol::encoding::json);
  if (n == 1) {
    auto& bytes = queue_.front().bytes();
    ws_.async_write(net::buffer(bytes), beast::bind_front_handler(&ws_session::on_write, shared_from_this()));
    return;
  }
  std::vector<std::string_view> frames;
  frames.reserve(n);
  for (size_t i = 0; i < n; ++i)
    frames.emplace_back(queue_[i].bytes());
  batch_ = protocol::encode_batch(frames, enc);
  ws_.async_write(net::buffer(batch_), beast::bind_front_handler(&ws_session::on_write, shared_from_this()));
}

void ws_session::on_write(beast::error_code ec, size_t) {
  writing_ = false;
  if (ec) {
    spdlog::debug("conn={} write: {}", id_, ec.message());
    queue_.clear();
    return finish();
  }
  for (size_t i = 0; i < writing_count_ && !queue_.empty(); ++i)
    queue_.pop_front();
  writing_count_ = 0;
  batch_.clear();
  write_next();
}

void ws_session::close_after_writes(protocol::close_code code, const std::string& reason) {
  if (closing_ || closed_)
    return;
  closing_ = true;
  close_reason_.emplace(static_cast<websocket::close_code>(code), reason);
  if (!writing_)
    write_next();
}

void ws_session::do_close() {
  if (closed_)
    return;
  closed_ = true;
  ws_.async_close(*close_reason_, [self = shared_from_this()](beast::error_code) { self->finish(); });
}

void ws_session::finish() {
  closed_ = true;
  session_.reset(); // ends the session actor
  std::lock_guard<std::mutex> guard{gw_->sessions_mtx};
  gw_->sessions.erase(weak_from_this());
}

void run_ws_session(tcp::socket socket, http::request<http::string_body> req,
                    actors::principal who, uint64_t conn_id, std::shared_ptr<gateway_state> gw) {
  std::make_shared<ws_session>(std::move(socket), std::move(who), conn_id, std::move(gw))
    ->run(std::move(req));
}

void close_all_sessions(gateway_state& gw) {
  std::vector<std::shared_ptr<ws_session>> live;
  {
    std::lock_guard<std::mutex> guard{gw.sessions_mtx};
    for (auto& w : gw.sessions)
      if (auto s = w.lock())
        live.push_back(std::move(s));
  }
  for (auto& s : live)
    s->post_close(protocol::close_code::going_away, "server shutting down");
}

} // namespace pactum::gateway
