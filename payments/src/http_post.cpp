#include "http_post.hpp"

#include <charconv>
#include <optional>
#include <stdexcept>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "pactum/payments/webhook.hpp"

namespace pactum::payments::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

/// The most of a response body read to keep a connection; a longer one closes it.
constexpr uint64_t max_response_body = 64 * 1024;

[[noreturn]] void reject(std::string_view url, std::string_view why) {
  throw std::invalid_argument("webhook URL '" + std::string{url} + "': " + std::string{why});
}

} // namespace

loopback_url parse_loopback_url(std::string_view url) {
  constexpr std::string_view scheme = "http://";
  if (!url.starts_with(scheme))
    reject(url, "only http:// is supported");
  auto rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  loopback_url out;
  out.target = slash == std::string_view::npos ? std::string{"/"} : std::string{rest.substr(slash)};
  out.host_header = std::string{authority};
  if (authority.find('@') != std::string_view::npos)
    reject(url, "credentials in the URL are not supported");
  std::string_view host;
  std::string_view port;
  if (authority.starts_with("[")) {
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      reject(url, "unterminated IPv6 address");
    host = authority.substr(1, close - 1);
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':')
        reject(url, "garbage after the IPv6 address");
      port = after.substr(1);
    }
  } else {
    auto colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos)
      port = authority.substr(colon + 1);
  }
  if (!port.empty() || authority.ends_with(":")) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value == 0
        || value > 65535)
      reject(url, "bad port");
    out.port = static_cast<uint16_t>(value);
  }
  if (host == "localhost") {
    out.address = "127.0.0.1";
    return out;
  }
  boost::system::error_code ec;
  auto address = asio::ip::make_address(std::string{host}, ec);
  if (ec)
    reject(url, "the host must be localhost or a loopback IP address (no name is resolved)");
  if (!address.is_loopback())
    reject(url, "the sandbox delivers webhooks to loopback addresses only");
  out.address = address.to_string();
  return out;
}

/// Threading: `ioc` and `stream` are used only inside `post`, on the owner's thread; `abort`
/// only stops the context, which io_context allows from any thread.
struct http_poster::impl {
  asio::io_context ioc;
  std::atomic<bool> aborted{false};
  /// The connection kept open after a response that allowed it (nullopt: none).
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  void drop() {
    if (!stream)
      return;
    beast::error_code ignored;
    stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream->socket().close(ignored);
    stream.reset();
    buffer.clear();
  }

  /// One exchange on `stream` (connecting first when there is none). `reused` tells whether the
  /// connection was open before this call.
  post_outcome exchange(const loopback_url& url, const http::request<http::string_body>& req,
                        std::chrono::milliseconds timeout, bool& reused) {
    post_outcome out;
    ioc.restart();
    // Checked after restart(): an abort() racing with it has either stopped the context (run()
    // returns at once) or set the flag before this check.
    if (aborted.load()) {
      out.error = "aborted";
      return out;
    }
    reused = stream.has_value();
    if (!stream)
      stream.emplace(ioc);
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_response_body);
    bool keep = false;
    // One deadline for the whole exchange: tcp_stream applies it to every operation started
    // before it is changed.
    stream->expires_after(timeout);
    auto send = [&] {
      http::async_write(*stream, req, [&](beast::error_code ec, size_t) {
        if (ec) {
          out.error = "write: " + ec.message();
          return;
        }
        http::async_read(*stream, buffer, parser, [&](beast::error_code ec, size_t) {
          if (ec) {
            out.error = "read: " + ec.message();
            // A response whose head arrived still tells the outcome (a body over the limit).
            if (parser.is_header_done())
              out.status = static_cast<int>(parser.get().result_int());
            return;
          }
          out.status = static_cast<int>(parser.get().result_int());
          keep = parser.get().keep_alive();
        });
      });
    };
    if (reused) {
      send();
    } else {
      tcp::endpoint endpoint{asio::ip::make_address(url.address), url.port};
      stream->async_connect(endpoint, [&](beast::error_code ec) {
        if (ec) {
          out.error = "connect: " + ec.message();
          return;
        }
        send();
      });
    }
    ioc.run();
    if (out.status == 0 && out.error.empty())
      out.error = "aborted";
    bool reuse = keep && out.error.empty();
    beast::error_code ignored;
    if (!reuse) { // closed, not destroyed yet: a handler still queued may start an operation on it
      stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream->socket().close(ignored);
    }
    // Handlers of operations cut short by stop() still hold references into this frame (and to
    // the stream): run them before the frame goes away. On the closed socket any operation they
    // start fails at once, and poll() runs that handler too.
    ioc.restart();
    ioc.poll();
    if (reuse)
      stream->expires_never();
    else
      drop();
    return out;
  }
};

http_poster::http_poster() : impl_(std::make_unique<impl>()) {}

http_poster::~http_poster() {
  impl_->drop();
}

void http_poster::abort() {
  impl_->aborted.store(true);
  impl_->ioc.stop();
}

post_outcome http_poster::post(const loopback_url& url, const std::string& body,
                               std::string_view signature, std::chrono::milliseconds timeout) {
  http::request<http::string_body> req{http::verb::post, url.target, 11};
  req.set(http::field::host, url.host_header);
  req.set(http::field::user_agent, "pactum-sandbox/1");
  req.set(http::field::content_type, "application/json");
  req.set(signature_header, signature);
  req.keep_alive(true);
  req.body() = body;
  req.prepare_payload();
  bool reused = false;
  auto out = impl_->exchange(url, req, timeout, reused);
  // A kept connection the receiver closed while idle fails at once: send again on a new one. If
  // the first request did arrive, the receiver sees it twice, which webhooks allow (at least
  // once, deduplicated by event id).
  if (reused && out.status == 0 && !impl_->aborted.load())
    out = impl_->exchange(url, req, timeout, reused);
  return out;
}

} // namespace pactum::payments::detail
