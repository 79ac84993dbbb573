// One WebSocket connection after an authenticated upgrade, over plain TCP or TLS (a template over
// the stream type; both instantiations are in this file).
//
// Ownership: kept alive by its own pending async operations and by its session sink (which holds
// only a weak_ptr, so the actor side never keeps a dead socket alive). All state is touched only
// on the connection's strand: frames from CAF threads are posted onto it.
//
// Inbound limits: a message larger than max_frame_bytes is refused by Beast from the frame header,
// before its payload is read or buffered (close 1009); a token bucket per connection refuses frames
// beyond ws_frame_rate_per_s/ws_frame_burst with `rate_limited` (unexecuted), and closes with 4029
// a connection that collects ws_rate_strikes refusals within ws_rate_window; Beast pings a client
// that has sent nothing for ws_ping_interval and drops one that then stays silent as long again.
//
// Outbound flow control: frames wait in a bounded queue with one write outstanding. When several
// are queued they leave as one `batch` frame (one write system call instead of many). A client
// whose queue passes the limit is disconnected with 4001 (slow consumer) and resumes from its
// last seq on reconnect.

#include <cmath>

#include <spdlog/spdlog.h>

#include "pactum/common/fifo.hpp"
#include "pactum/protocol/codec.hpp"
#include "rest_metrics.hpp"
#include "tls.hpp"

namespace pactum::gateway {

namespace {

/// The per-connection token bucket on inbound frames, and the count of refusals that decides
/// when a client is not merely bursty but flooding. Owned by one ws_session (its strand).
class frame_limiter {
public:
  using clock = std::chrono::steady_clock;

  explicit frame_limiter(const server_config& cfg)
    : rate_(cfg.ws_frame_rate_per_s), burst_(std::max(cfg.ws_frame_burst, 1.0)),
      strikes_(cfg.ws_rate_strikes), window_(cfg.ws_rate_window), tokens_(burst_),
      at_(clock::now()) {}

  /// Takes a token: 0 when the frame may run, else the milliseconds until one is available.
  int64_t take(clock::time_point now) {
    if (rate_ <= 0)
      return 0;
    auto elapsed = std::chrono::duration<double>(now - at_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
    at_ = now;
    if (tokens_ >= 1) {
      tokens_ -= 1;
      return 0;
    }
    return std::max<int64_t>(1, static_cast<int64_t>(std::ceil((1 - tokens_) / rate_ * 1000)));
  }

  /// Counts a refusal; true when the connection has now been refused `strikes` times within the
  /// window and should be closed.
  bool strike(clock::time_point now) {
    if (strikes_ == 0)
      return false;
    if (refusals_ == 0 || now - window_start_ > window_) {
      window_start_ = now;
      refusals_ = 0;
    }
    return ++refusals_ >= strikes_;
  }

private:
  double rate_;
  double burst_;
  size_t strikes_;
  clock::duration window_;
  double tokens_;
  clock::time_point at_;
  clock::time_point window_start_{};
  size_t refusals_ = 0;
};

template <class Stream>
class ws_session : public ws_connection, public std::enable_shared_from_this<ws_session<Stream>> {
public:
  ws_session(Stream stream, actors::principal who, uint64_t id, std::shared_ptr<gateway_state> gw)
    : ws_(std::move(stream)), who_(std::move(who)), id_(id), gw_(std::move(gw)),
      limiter_(gw_->cfg) {}

  ~ws_session() override {
    gw_->release_socket(who_.user);
    --gw_->ws_connections;
    metrics_.ws_open.dec();
  }

  void run(http::request<http::string_body> req, bool answer_v1);

  // Called from any thread.
  void post_send(std::string frame, protocol::encoding enc) {
    net::post(ws_.get_executor(), [self = this->shared_from_this(), frame = std::move(frame), enc]() mutable {
      self->enqueue(item{enc, std::move(frame), nullptr});
    });
  }
  void post_push(protocol::push_frame_ptr frame) {
    net::post(ws_.get_executor(), [self = this->shared_from_this(), frame = std::move(frame)]() mutable {
      self->enqueue(item{self->push_enc_, {}, std::move(frame)});
    });
  }
  void post_close(protocol::close_code code, std::string reason) override {
    net::post(ws_.get_executor(), [self = this->shared_from_this(), code, reason = std::move(reason)] {
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
  void refuse_rate_limited(std::string_view data, protocol::encoding enc, int64_t retry_after_ms);
  void enqueue(item it);
  void write_next();
  void on_write(beast::error_code ec, size_t);
  void close_after_writes(protocol::close_code code, const std::string& reason);
  void do_close();
  void finish();

  websocket::stream<Stream> ws_;
  actors::principal who_;
  uint64_t id_;
  std::shared_ptr<gateway_state> gw_;
  std::unique_ptr<actors::session> session_;
  beast::flat_buffer in_;
  pactum::fifo<item> queue_; // allocates nothing until the first frame (an idle session)
  std::string batch_; // the bytes of the write in progress when it is a batch
  size_t writing_count_ = 0;
  bool writing_ = false;
  bool closing_ = false;
  bool closed_ = false;
  std::optional<websocket::close_reason> close_reason_;
  protocol::encoding push_enc_ = protocol::encoding::json;
  size_t bad_frames_ = 0;
  frame_limiter limiter_;
  gateway_metrics& metrics_ = gateway_metrics::get();
};

/// The actors layer's view of the connection.
template <class Stream>
class sink final : public actors::session_sink {
public:
  explicit sink(std::weak_ptr<ws_session<Stream>> ws) : ws_(std::move(ws)) {}
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
  std::weak_ptr<ws_session<Stream>> ws_;
};

template <class Stream>
void ws_session<Stream>::run(http::request<http::string_body> req, bool answer_v1) {
  ++gw_->ws_connections;
  metrics_.ws_open.inc();
  metrics_.ws_opened.inc();
  {
    std::lock_guard<std::mutex> guard{gw_->sessions_mtx};
    gw_->sessions.insert(this->weak_from_this());
  }
  auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
  if (gw_->cfg.ws_ping_interval.count() > 0) {
    // Beast pings after half the idle timeout without inbound data, and closes the connection
    // when the other half also passes without any (a pong counts).
    timeouts.idle_timeout = 2 * gw_->cfg.ws_ping_interval;
    timeouts.keep_alive_pings = true;
  } else {
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
  }
  ws_.set_option(timeouts);
  websocket::permessage_deflate deflate;
  deflate.server_enable = gw_->cfg.ws_deflate;
  deflate.client_enable = false;
  ws_.set_option(deflate);
  ws_.set_option(websocket::stream_base::decorator([answer_v1](websocket::response_type& res) {
    res.set(http::field::server, "pactumd");
    if (answer_v1) // never the credential the client offered beside it
      res.set(http::field::sec_websocket_protocol, subprotocol_v1);
  }));
  ws_.read_message_max(gw_->cfg.max_frame_bytes);
  ws_.auto_fragment(false);
  ws_.async_accept(req, beast::bind_front_handler(&ws_session::on_accept, this->shared_from_this()));
}

template <class Stream>
void ws_session<Stream>::on_accept(beast::error_code ec) {
  if (ec) {
    spdlog::debug("conn={} websocket accept: {}", id_, ec.message());
    return finish();
  }
  session_ = gw_->rt.open_session(who_, std::make_shared<sink<Stream>>(this->weak_from_this()));
  read();
}

template <class Stream>
void ws_session<Stream>::read() {
  // A message is read in pieces into `in_`. The first piece asks for one byte: Beast prepares a
  // read's whole size hint (1.5 KiB) in the buffer before any data arrives, which an idle
  // connection would hold for as long as it stays idle (docs/benchmarks.md, "Idle sessions");
  // the rest of the message then comes from Beast's own buffer without another socket read.
  const size_t limit = in_.size() == 0 ? 1 : std::max<size_t>(gw_->cfg.max_frame_bytes, 1);
  ws_.async_read_some(in_, limit, beast::bind_front_handler(&ws_session::on_read, this->shared_from_this()));
}

template <class Stream>
void ws_session<Stream>::on_read(beast::error_code ec, size_t) {
  if (ec) {
    if (ec == websocket::error::message_too_big)
      spdlog::info("conn={} closed: frame over {} bytes (1009)", id_, gw_->cfg.max_frame_bytes);
    else if (ec == beast::error::timeout)
      spdlog::info("conn={} closed: no answer to ping within {} s", id_,
                   gw_->cfg.ws_ping_interval.count());
    else if (ec != websocket::error::closed && ec != net::error::operation_aborted)
      spdlog::debug("conn={} read: {}", id_, ec.message());
    return finish();
  }
  if (!ws_.is_message_done())
    return read(); // the rest of the message (Beast enforces read_message_max over all of it)
  metrics_.frames_in.inc();
  auto enc = ws_.got_text() ? protocol::encoding::json : protocol::encoding::msgpack;
  auto data = in_.data();
  handle_frame(std::string_view{static_cast<const char*>(data.data()), data.size()}, enc);
  in_.consume(in_.size());
  in_.shrink_to_fit(); // an idle connection holds no read buffer between messages
  if (!closed_)
    read();
}

template <class Stream>
void ws_session<Stream>::handle_frame(std::string_view data, protocol::encoding enc) {
  push_enc_ = enc;
  if (closing_)
    return;
  if (auto wait = limiter_.take(frame_limiter::clock::now()); wait > 0)
    return refuse_rate_limited(data, enc, wait);
  auto req = protocol::decode_request(data, enc, gw_->rt.config().limits);
  if (!req) {
    auto& err = req.error();
    metrics_.error_answered(err.code, false);
    enqueue(item{enc, protocol::encode_error(err.id ? &*err.id : nullptr, err.code, err.message, enc), nullptr});
    if (err.code == protocol::error_code::bad_frame && ++bad_frames_ > gw_->cfg.max_bad_frames)
      close_after_writes(protocol::close_code::policy_violation, "too many malformed frames");
    return;
  }
  if (gw_->draining) {
    metrics_.error_answered(protocol::error_code::unavailable, false);
    enqueue(item{enc,
                 protocol::encode_error(&req->id, protocol::error_code::unavailable,
                                        "server shutting down; reconnect and retry", enc),
                 nullptr});
    return;
  }
  if (session_)
    session_->handle(std::move(req.value()), enc);
}

template <class Stream>
void ws_session<Stream>::refuse_rate_limited(std::string_view data, protocol::encoding enc,
                                             int64_t retry_after_ms) {
  // Decoded only to find the id the reply must carry; nothing is executed.
  auto req = protocol::decode_request(data, enc, gw_->rt.config().limits);
  const protocol::request_id* re = req ? &req->id : (req.error().id ? &*req.error().id : nullptr);
  metrics_.error_answered(protocol::error_code::rate_limited, false);
  enqueue(item{enc,
               protocol::encode_rate_limited(re, retry_after_ms,
                                             "too many frames on this connection; retry in "
                                               + std::to_string(retry_after_ms) + " ms",
                                             enc),
               nullptr});
  if (limiter_.strike(frame_limiter::clock::now())) {
    spdlog::info("conn={} closed: {} frames refused for rate within {} s (4029)", id_,
                 gw_->cfg.ws_rate_strikes,
                 std::chrono::duration_cast<std::chrono::seconds>(gw_->cfg.ws_rate_window).count());
    close_after_writes(protocol::close_code::frame_flood, "too many frames");
  }
}

template <class Stream>
void ws_session<Stream>::enqueue(item it) {
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

template <class Stream>
void ws_session<Stream>::write_next() {
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
    ws_.async_write(net::buffer(bytes), beast::bind_front_handler(&ws_session::on_write, this->shared_from_this()));
    return;
  }
  std::vector<std::string_view> frames;
  frames.reserve(n);
  for (size_t i = 0; i < n; ++i)
    frames.emplace_back(queue_[i].bytes());
  batch_ = protocol::encode_batch(frames, enc);
  ws_.async_write(net::buffer(batch_), beast::bind_front_handler(&ws_session::on_write, this->shared_from_this()));
}

template <class Stream>
void ws_session<Stream>::on_write(beast::error_code ec, size_t) {
  writing_ = false;
  if (ec) {
    spdlog::debug("conn={} write: {}", id_, ec.message());
    queue_.clear();
    return finish();
  }
  metrics_.ws_writes.inc();
  metrics_.frames_out.inc(writing_count_);
  for (size_t i = 0; i < writing_count_ && !queue_.empty(); ++i)
    queue_.pop_front();
  writing_count_ = 0;
  batch_.clear();
  write_next();
}

template <class Stream>
void ws_session<Stream>::close_after_writes(protocol::close_code code, const std::string& reason) {
  if (closing_ || closed_)
    return;
  closing_ = true;
  close_reason_.emplace(static_cast<websocket::close_code>(code), reason);
  if (!writing_)
    write_next();
}

template <class Stream>
void ws_session<Stream>::do_close() {
  if (closed_)
    return;
  closed_ = true;
  ws_.async_close(*close_reason_, [self = this->shared_from_this()](beast::error_code) { self->finish(); });
}

template <class Stream>
void ws_session<Stream>::finish() {
  closed_ = true;
  session_.reset(); // ends the session actor
  std::lock_guard<std::mutex> guard{gw_->sessions_mtx};
  gw_->sessions.erase(this->weak_from_this());
}

} // namespace

void run_ws_session(beast::tcp_stream stream, http::request<http::string_body> req,
                    actors::principal who, bool answer_v1, uint64_t conn_id,
                    std::shared_ptr<gateway_state> gw) {
  std::make_shared<ws_session<beast::tcp_stream>>(std::move(stream), std::move(who), conn_id, std::move(gw))
    ->run(std::move(req), answer_v1);
}

void run_ws_session(tls_stream stream, http::request<http::string_body> req, actors::principal who,
                    bool answer_v1, uint64_t conn_id, std::shared_ptr<gateway_state> gw) {
  std::make_shared<ws_session<tls_stream>>(std::move(stream), std::move(who), conn_id, std::move(gw))
    ->run(std::move(req), answer_v1);
}

void close_all_sessions(gateway_state& gw) {
  std::vector<std::shared_ptr<ws_connection>> live;
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
