#include "http_post.hpp"

#include <charconv>
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

/// Threading: `ioc` runs only inside `post`, on the owner's thread; `abort` only stops it, which
/// io_context allows from any thread.
struct http_poster::impl {
  asio::io_context ioc;
  std::atomic<bool> aborted{false};
};

http_poster::http_poster() : impl_(std::make_unique<impl>()) {}

http_poster::~http_poster() = default;

void http_poster::abort() {
  impl_->aborted.store(true);
  impl_->ioc.stop();
}

post_outcome http_poster::post(const loopback_url& url, const std::string& body,
                               std::string_view signature, std::chrono::milliseconds timeout) {
  post_outcome out;
  impl_->ioc.restart();
  // Checked after restart(): an abort() racing with it has either stopped the context (run()
  // returns at once) or set the flag before this check.
  if (impl_->aborted.load()) {
    out.error = "aborted";
    return out;
  }
  beast::tcp_stream stream{impl_->ioc};
  http::request<http::string_body> req{http::verb::post, url.target, 11};
  req.set(http::field::host, url.host_header);
  req.set(http::field::user_agent, "pactum-sandbox/1");
  req.set(http::field::content_type, "application/json");
  req.set(signature_header, signature);
  req.keep_alive(false);
  req.body() = body;
  req.prepare_payload();
  beast::flat_buffer buffer;
  http::response_parser<http::empty_body> parser;

  // One deadline for the whole exchange: tcp_stream applies it to every operation started
  // before it is changed.
  stream.expires_after(timeout);
  tcp::endpoint endpoint{asio::ip::make_address(url.address), url.port};
  // Each step starts the next; run() returns when the chain ends (or the context is stopped).
  stream.async_connect(endpoint, [&](beast::error_code ec) {
    if (ec) {
      out.error = "connect: " + ec.message();
      return;
    }
    http::async_write(stream, req, [&](beast::error_code ec, size_t) {
      if (ec) {
        out.error = "write: " + ec.message();
        return;
      }
      // Only the status matters, and the connection is closed afterwards: the body (however
      // large) is never read.
      http::async_read_header(stream, buffer, parser, [&](beast::error_code ec, size_t) {
        if (ec) {
          out.error = "read: " + ec.message();
          return;
        }
        out.status = static_cast<int>(parser.get().result_int());
      });
    });
  });
  impl_->ioc.run();
  if (out.status == 0 && out.error.empty())
    out.error = "aborted";
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream.socket().close(ignored);
  // Handlers of operations cut short by stop() still hold references into this frame: run them
  // (they only record an error) before the frame goes away.
  impl_->ioc.restart();
  impl_->ioc.poll();
  return out;
}

} // namespace pactum::payments::detail
