#pragma once

// Single-use promotion codes (docs/api.md, "Local promotions"): the signed token a QR code
// carries. Pure functions over libsodium (no CAF, no I/O), unit-tested alone
// (tests/actors/promo_token_test.cpp).
//
// Wire form: base64url without padding of `payload || signature`, where the payload is 61 bytes,
// big-endian integers:
//   version (1 byte, = 1) | key id (4) | promotion id (16) | promoter id (16) | nonce (16) |
//   expiry (8, ms since the epoch, signed)
// and the signature is Ed25519 (`crypto_sign_detached`, 64 bytes) over the payload with the
// signing key named by the key id.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "pactum/common/time.hpp"
#include "pactum/common/uuid.hpp"

namespace pactum::actors::promo {

inline constexpr uint8_t token_version = 1;
inline constexpr size_t payload_bytes = 61;
inline constexpr size_t signature_bytes = 64;
inline constexpr size_t token_bytes = payload_bytes + signature_bytes;

using nonce = std::array<uint8_t, 16>;
using public_key = std::array<uint8_t, 32>;
using secret_key = std::array<uint8_t, 64>;

/// What a token says.
struct claims {
  uint32_t key_id = 0;
  uuid promotion;
  uuid promoter;
  promo::nonce nonce{};
  millis expires_at = 0;
  friend bool operator==(const claims&, const claims&) = default;
};

/// A signing key pair with its id.
struct key_pair {
  uint32_t key_id = 0;
  public_key pk{};
  secret_key sk{};
};

/// A fresh random key pair; its id is derived from the public key (never 0).
key_pair generate_key();

/// The key pair of a 32-byte seed (a key file's content); the id as `generate_key`.
key_pair key_from_seed(const std::array<uint8_t, 32>& seed);

/// The id a public key gets: its first four BLAKE2b bytes, never 0.
uint32_t key_id_of(const public_key& pk);

/// A fresh random nonce.
promo::nonce random_nonce();

/// The signed token (base64url, no padding) for `c` (its key_id must be `key.key_id`).
std::string sign(const claims& c, const key_pair& key);

/// The claims of a well-formed token, before any signature check (nullopt: not decodable, wrong
/// length or version). Use only to find the key id, then `verify`.
std::optional<claims> peek(std::string_view token);

/// The claims when `token` is well formed and signed by `pk`; nullopt otherwise (forged,
/// altered or truncated: one answer for all).
std::optional<claims> verify(std::string_view token, const public_key& pk);

/// base64url without padding, and back (nullopt on any invalid character or length).
std::string base64url(const uint8_t* data, size_t size);
std::optional<std::string> from_base64url(std::string_view text);

/// The 32 hex characters of a nonce, and back.
std::string nonce_hex(const promo::nonce& n);
std::optional<promo::nonce> nonce_from_hex(std::string_view hex);

} // namespace pactum::actors::promo
