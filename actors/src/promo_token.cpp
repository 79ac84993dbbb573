#include "pactum/actors/promo_token.hpp"

#include <cstring>
#include <stdexcept>

#include <sodium.h>

namespace pactum::actors::promo {

namespace {

void init_sodium() {
  if (sodium_init() < 0)
    throw std::runtime_error("libsodium failed to initialise");
}

void put_u32(uint8_t* out, uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8)
    out[i] = static_cast<uint8_t>(v & 0xff);
}

uint32_t get_u32(const uint8_t* in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v = (v << 8) | in[i];
  return v;
}

void put_i64(uint8_t* out, int64_t v) {
  auto u = static_cast<uint64_t>(v);
  for (int i = 7; i >= 0; --i, u >>= 8)
    out[i] = static_cast<uint8_t>(u & 0xff);
}

int64_t get_i64(const uint8_t* in) {
  uint64_t u = 0;
  for (int i = 0; i < 8; ++i)
    u = (u << 8) | in[i];
  return static_cast<int64_t>(u);
}

std::array<uint8_t, payload_bytes> payload_of(const claims& c) {
  std::array<uint8_t, payload_bytes> p{};
  p[0] = token_version;
  put_u32(&p[1], c.key_id);
  std::memcpy(&p[5], c.promotion.bytes.data(), 16);
  std::memcpy(&p[21], c.promoter.bytes.data(), 16);
  std::memcpy(&p[37], c.nonce.data(), 16);
  put_i64(&p[53], c.expires_at);
  return p;
}

std::optional<claims> claims_of(const std::string& raw) {
  if (raw.size() != token_bytes)
    return std::nullopt;
  auto* p = reinterpret_cast<const uint8_t*>(raw.data());
  if (p[0] != token_version)
    return std::nullopt;
  claims c;
  c.key_id = get_u32(&p[1]);
  std::memcpy(c.promotion.bytes.data(), &p[5], 16);
  std::memcpy(c.promoter.bytes.data(), &p[21], 16);
  std::memcpy(c.nonce.data(), &p[37], 16);
  c.expires_at = get_i64(&p[53]);
  return c;
}

constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int decode_char(char ch) {
  if (ch >= 'A' && ch <= 'Z')
    return ch - 'A';
  if (ch >= 'a' && ch <= 'z')
    return ch - 'a' + 26;
  if (ch >= '0' && ch <= '9')
    return ch - '0' + 52;
  if (ch == '-')
    return 62;
  if (ch == '_')
    return 63;
  return -1;
}

} // namespace

uint32_t key_id_of(const public_key& pk) {
  init_sodium();
  std::array<uint8_t, 16> h{};
  crypto_generichash(h.data(), h.size(), pk.data(), pk.size(), nullptr, 0);
  auto id = get_u32(h.data());
  return id == 0 ? 1 : id;
}

key_pair generate_key() {
  init_sodium();
  key_pair k;
  crypto_sign_keypair(k.pk.data(), k.sk.data());
  k.key_id = key_id_of(k.pk);
  return k;
}

key_pair key_from_seed(const std::array<uint8_t, 32>& seed) {
  init_sodium();
  key_pair k;
  crypto_sign_seed_keypair(k.pk.data(), k.sk.data(), seed.data());
  k.key_id = key_id_of(k.pk);
  return k;
}

promo::nonce random_nonce() {
  init_sodium();
  promo::nonce n{};
  randombytes_buf(n.data(), n.size());
  return n;
}

std::string sign(const claims& c, const key_pair& key) {
  init_sodium();
  auto p = payload_of(c);
  std::array<uint8_t, token_bytes> out{};
  std::memcpy(out.data(), p.data(), p.size());
  crypto_sign_detached(out.data() + payload_bytes, nullptr, p.data(), p.size(), key.sk.data());
  return base64url(out.data(), out.size());
}

std::optional<claims> peek(std::string_view token) {
  auto raw = from_base64url(token);
  if (!raw)
    return std::nullopt;
  return claims_of(*raw);
}

std::optional<claims> verify(std::string_view token, const public_key& pk) {
  init_sodium();
  auto raw = from_base64url(token);
  if (!raw)
    return std::nullopt;
  auto c = claims_of(*raw);
  if (!c)
    return std::nullopt;
  auto* p = reinterpret_cast<const uint8_t*>(raw->data());
  if (crypto_sign_verify_detached(p + payload_bytes, p, payload_bytes, pk.data()) != 0)
    return std::nullopt;
  return c;
}

std::string base64url(const uint8_t* data, size_t size) {
  std::string out;
  out.reserve((size * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= size; i += 3) {
    uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (size - i == 1) {
    uint32_t v = uint32_t{data[i]} << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
  } else if (size - i == 2) {
    uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> from_base64url(std::string_view text) {
  if (text.size() % 4 == 1)
    return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char ch : text) {
    int v = decode_char(ch);
    if (v < 0)
      return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // Canonical form only: the unused low bits of the last character must be zero, so that one
  // token has exactly one spelling.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
    return std::nullopt;
  return out;
}

std::string nonce_hex(const promo::nonce& n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(32);
  for (auto b : n) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

std::optional<promo::nonce> nonce_from_hex(std::string_view hex) {
  if (hex.size() != 32)
    return std::nullopt;
  promo::nonce n{};
  auto val = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < 16; ++i) {
    int hi = val(hex[2 * i]), lo = val(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    n[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return n;
}

} // namespace pactum::actors::promo
