#pragma once

// A deliberately dumb WebSocket client on a plain POSIX socket, for tests that must do what a
// well-behaved library would not: hand-crafted upgrade headers, frame headers that lie about their
// length, never answering a ping. Blocking calls with timeouts; loopback only.

#include <chrono>
#include <cstdint>
#include <cctype>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace pactum::test_support {

class raw_ws {
public:
  struct frame {
    int opcode = 0; ///< 1 text, 2 binary, 8 close, 9 ping, 10 pong
    std::string payload;
    /// For a close frame: the code it carries (0 if none).
    uint16_t close_code() const {
      return payload.size() >= 2 ? static_cast<uint16_t>((static_cast<unsigned char>(payload[0]) << 8)
                                                         | static_cast<unsigned char>(payload[1]))
                                 : 0;
    }
  };

  explicit raw_ws(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0)
      throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("connect failed");
    port_ = port;
  }
  ~raw_ws() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  raw_ws(const raw_ws&) = delete;
  raw_ws& operator=(const raw_ws&) = delete;

  /// Sends an upgrade for `target` with `extra_headers` ("Name: value\r\n" lines) and reads the
  /// response head. Returns the status (101 = open); `head()` has the whole head.
  int upgrade(const std::string& extra_headers, const std::string& target = "/ws") {
    send_all("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_)
             + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             + extra_headers + "\r\n");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    size_t end;
    while ((end = in_.find("\r\n\r\n")) == std::string::npos)
      if (!fill(deadline))
        throw std::runtime_error("no upgrade response; got '" + in_ + "'");
    head_ = in_.substr(0, end + 4);
    in_.erase(0, end + 4);
    if (head_.size() < 12)
      throw std::runtime_error("short response head");
    return std::stoi(head_.substr(9, 3));
  }

  const std::string& head() const { return head_; }

  /// The value of response header `name` (case-insensitive), or nullopt.
  std::optional<std::string> header(const std::string& name) const {
    auto lower = [](std::string s) {
      for (auto& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return s;
    };
    auto h = lower(head_);
    auto key = "\r\n" + lower(name) + ":";
    auto at = h.find(key);
    if (at == std::string::npos)
      return std::nullopt;
    auto start = at + key.size();
    auto stop = head_.find("\r\n", start);
    auto v = head_.substr(start, stop - start);
    v.erase(0, v.find_first_not_of(' '));
    return v;
  }

  void send_all(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      auto n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0)
        throw std::runtime_error("send failed");
      off += static_cast<size_t>(n);
    }
  }

  /// A masked client frame header for a payload of `length` bytes (the payload is not sent).
  static std::string frame_header(int opcode, uint64_t length, bool fin = true) {
    std::string h;
    h.push_back(static_cast<char>((fin ? 0x80 : 0) | opcode));
    if (length < 126) {
      h.push_back(static_cast<char>(0x80 | length));
    } else if (length <= 0xffff) {
      h.push_back(static_cast<char>(0x80 | 126));
      h.push_back(static_cast<char>(length >> 8));
      h.push_back(static_cast<char>(length & 0xff));
    } else {
      h.push_back(static_cast<char>(0x80 | 127));
      for (int i = 7; i >= 0; --i)
        h.push_back(static_cast<char>((length >> (8 * i)) & 0xff));
    }
    h.append("\x11\x22\x33\x44", 4); // the masking key
    return h;
  }

  /// Sends one masked frame with this payload.
  void send_frame(int opcode, const std::string& payload) {
    auto bytes = frame_header(opcode, payload.size());
    const char mask[4] = {0x11, 0x22, 0x33, 0x44};
    for (size_t i = 0; i < payload.size(); ++i)
      bytes.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
    send_all(bytes);
  }

  /// The next frame from the server, or nullopt on timeout or when the connection ended
  /// (`ended()` tells which).
  std::optional<frame> read_frame(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (in_.size() >= 2) {
        auto b1 = static_cast<unsigned char>(in_[1]);
        size_t len = b1 & 0x7f, hdr = 2;
        if (len == 126 && in_.size() >= 4) {
          len = (static_cast<unsigned char>(in_[2]) << 8) | static_cast<unsigned char>(in_[3]);
          hdr = 4;
        } else if (len == 127 && in_.size() >= 10) {
          len = 0;
          for (int i = 0; i < 8; ++i)
            len = (len << 8) | static_cast<unsigned char>(in_[2 + i]);
          hdr = 10;
        }
        if ((b1 & 0x7f) < 126 || hdr > 2) {
          if (in_.size() >= hdr + len) {
            frame f{static_cast<unsigned char>(in_[0]) & 0x0f, in_.substr(hdr, len)};
            in_.erase(0, hdr + len);
            return f;
          }
        }
      }
      if (!fill(deadline))
        return std::nullopt;
    }
  }

  /// Reads (and drops) everything until the server ends the connection; false on timeout.
  bool wait_ended(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!ended_)
      if (!fill(deadline) && !ended_)
        return false;
    return true;
  }

  bool ended() const { return ended_; }

private:
  /// Reads what is available before `deadline`; false on timeout or end of connection.
  bool fill(std::chrono::steady_clock::time_point deadline) {
    if (ended_)
      return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      return false;
    char buf[16384];
    auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      ended_ = true;
      return false;
    }
    in_.append(buf, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::string in_;
  std::string head_;
  bool ended_ = false;
};

} // namespace pactum::test_support
