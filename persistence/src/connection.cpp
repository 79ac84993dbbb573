#include "connection.hpp"

#include <algorithm>
#include <cerrno>

#include <poll.h>

namespace pactum::persistence::detail {

namespace {

constexpr std::string_view default_connect_timeout_seconds = "5";

bool is_url(std::string_view url) {
  return url.starts_with("postgresql://") || url.starts_with("postgres://");
}

void add_option(std::string& out, bool url_form, std::string_view key, std::string_view value) {
  if (out.find(key) != std::string::npos)
    return; // the caller chose a value: respect it
  if (url_form) {
    out += out.find('?') == std::string::npos ? '?' : '&';
    out.append(key).append("=").append(value);
  } else {
    if (!out.empty())
      out += ' ';
    out.append(key).append("=").append(value);
  }
}

} // namespace

std::string with_connection_defaults(const std::string& url, std::string_view application_name) {
  std::string out = url;
  bool url_form = is_url(url);
  add_option(out, url_form, "connect_timeout", default_connect_timeout_seconds);
  add_option(out, url_form, "application_name", application_name);
  return out;
}

std::unique_ptr<pqxx::connection> open_connection(const std::string& url,
                                                  std::string_view application_name) {
  return std::make_unique<pqxx::connection>(with_connection_defaults(url, application_name));
}

bool connection_looks_alive(const pqxx::connection& conn) noexcept {
  if (!conn.is_open())
    return false;
  int fd = conn.sock();
  if (fd < 0)
    return false;
  pollfd pfd{fd, POLLIN, 0};
  int n = 0;
  do {
    n = ::poll(&pfd, 1, 0);
  } while (n < 0 && errno == EINTR);
  // n > 0: POLLIN, POLLHUP, POLLERR or POLLNVAL is set. n < 0: we cannot tell, so do not trust
  // the connection either; a reconnect is cheap.
  return n == 0;
}

bool is_connection_loss(const pqxx::sql_error& e) {
  const std::string& state = e.sqlstate();
  if (state.size() != 5)
    return false;
  return state.starts_with("08") || state == "57P01" || state == "57P02" || state == "57P03";
}

reconnect_gate::reconnect_gate(std::chrono::milliseconds max)
  : max_(std::max(max, std::chrono::milliseconds{1})) {}

bool reconnect_gate::may_attempt() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return clock::now() >= next_;
}

reconnect_gate::clock::time_point reconnect_gate::next_attempt() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return next_;
}

void reconnect_gate::failed() {
  std::lock_guard<std::mutex> guard{mtx_};
  delay_ = delay_.count() == 0 ? std::min(initial_delay_, max_) : std::min(delay_ * 2, max_);
  next_ = clock::now() + delay_;
}

void reconnect_gate::succeeded() {
  std::lock_guard<std::mutex> guard{mtx_};
  delay_ = std::chrono::milliseconds{0};
  next_ = clock::time_point{};
}

void append_array_element(std::string& out, std::string_view text) {
  out += '"';
  for (auto c : text) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  out += '"';
}

} // namespace pactum::persistence::detail
