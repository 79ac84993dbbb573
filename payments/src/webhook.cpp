#include "pactum/payments/webhook.hpp"

#include <array>
#include <charconv>
#include <cstdlib>
#include <stdexcept>
#include <vector>

#include <sodium.h>

namespace pactum::payments {

namespace {

using mac = std::array<unsigned char, crypto_auth_hmacsha256_BYTES>;

void ensure_sodium() {
  static const bool ready = sodium_init() >= 0;
  if (!ready)
    throw std::runtime_error("libsodium failed to initialise");
}

/// HMAC-SHA256(secret, "<timestamp_s>.<body>"), with a key of any length.
mac compute_mac(std::string_view secret, std::string_view timestamp, std::string_view body) {
  ensure_sodium();
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(timestamp.data()),
                                timestamp.size());
  const unsigned char dot = '.';
  crypto_auth_hmacsha256_update(&st, &dot, 1);
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(body.data()),
                                body.size());
  mac out{};
  crypto_auth_hmacsha256_final(&st, out.data());
  sodium_memzero(&st, sizeof st);
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/// Decodes exactly 64 hex digits; nullopt-like false on anything else.
bool decode_mac(std::string_view hex, mac& out) {
  if (hex.size() != 2 * out.size())
    return false;
  for (char c : hex)
    if (!is_hex(c))
      return false;
  size_t len = 0;
  return sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &len, nullptr)
           == 0
         && len == out.size();
}

} // namespace

std::string sign_webhook(std::string_view secret, int64_t timestamp_s, std::string_view body) {
  auto t = std::to_string(timestamp_s);
  auto m = compute_mac(secret, t, body);
  std::array<char, 2 * crypto_auth_hmacsha256_BYTES + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), m.data(), m.size());
  std::string out = "t=";
  out += t;
  out += ",v1=";
  out += hex.data();
  return out;
}

const char* to_string(webhook_check c) noexcept {
  switch (c) {
    case webhook_check::ok:
      return "ok";
    case webhook_check::malformed:
      return "malformed";
    case webhook_check::expired:
      return "expired";
    case webhook_check::bad_signature:
      return "bad_signature";
  }
  return "unknown";
}

webhook_check verify_webhook(std::string_view secret, std::string_view header,
                             std::string_view body, int64_t now_s, int64_t tolerance_s) {
  std::string_view timestamp;
  bool have_timestamp = false;
  std::vector<mac> candidates;
  while (!header.empty()) {
    auto comma = header.find(',');
    auto item = trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    auto eq = item.find('=');
    if (eq == std::string_view::npos)
      continue; // not a scheme=value item: ignored like an unknown scheme
    auto scheme = item.substr(0, eq);
    auto value = item.substr(eq + 1);
    if (scheme == "t") {
      if (have_timestamp)
        return webhook_check::malformed; // two timestamps: which one was signed?
      have_timestamp = true;
      timestamp = value;
    } else if (scheme == "v1") {
      mac m{};
      if (!decode_mac(value, m))
        return webhook_check::malformed;
      candidates.push_back(m);
    }
  }
  if (!have_timestamp || candidates.empty() || timestamp.empty() || timestamp.size() > 18)
    return webhook_check::malformed;
  int64_t t = 0;
  for (char c : timestamp)
    if (c < '0' || c > '9')
      return webhook_check::malformed;
  auto [end, ec] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), t);
  if (ec != std::errc{} || end != timestamp.data() + timestamp.size())
    return webhook_check::malformed;
  // Both directions: a timestamp from the future is as suspect as a stale one. `t` has at most
  // 18 digits, so the difference cannot overflow for any real clock.
  auto skew = t >= now_s ? t - now_s : now_s - t;
  if (skew > tolerance_s)
    return webhook_check::expired;
  auto expected = compute_mac(secret, timestamp, body);
  bool match = false;
  for (const auto& candidate : candidates)
    match |= sodium_memcmp(candidate.data(), expected.data(), expected.size()) == 0;
  return match ? webhook_check::ok : webhook_check::bad_signature;
}

} // namespace pactum::payments
