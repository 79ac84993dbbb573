#pragma once

// Crypto-shredding of personal data inside journal events (docs/security.md, "Privacy").
//
// Journals are append-only, so personal data inside an event (a message's text, an offer's
// briefs, a withdrawal's destination, ...) is stored encrypted under a key of the user it belongs
// to; erasing the user destroys the key, and what was encrypted becomes unreadable everywhere at
// once (journal rows, backups, replicas) without rewriting a single row.
//
// Everything here is pure: no CAF, no database, no I/O. The keys come from a `keyring` (a bounded
// in-memory cache the actors layer fills from the database); the sealing store
// (actors/src/sealing_store.cpp) is the one place that calls `seal_payload` on every journal
// write and `open_payload` on every journal read.
//
// Sealed payload format (a msgpack map, as every event payload): the event's personal fields keep
// their names but hold scrubbed values (strings emptied, except a few structural ones such as a
// deliverable's platform), and one extra field `"sealed": {"k": ["<owner uuid>", ...], "c": <bin>}`
// holds XChaCha20-Poly1305-IETF(nonce || ciphertext) of a msgpack map of the original values
// (sealed again under the next owner's key when there are two). The associated data binds each
// layer to its owner and the event type. A payload without `sealed`
// is a plaintext payload written before sealing existed and loads as it is.

#include <array>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pactum/common/expected.hpp"
#include "pactum/common/uuid.hpp"

namespace pactum::actors::privacy {

/// Why a payload could not be sealed or opened.
struct seal_error {
  std::string what;
};

/// A 256-bit XChaCha20-Poly1305 key.
using data_key = std::array<unsigned char, 32>;

/// A fresh random key (libsodium `crypto_aead_xchacha20poly1305_ietf_keygen`).
data_key random_key();

/// nonce (24 bytes, random) || ciphertext || tag (16 bytes).
std::string seal(const data_key& key, std::string_view plaintext, std::string_view ad);

/// The plaintext, or nullopt when `sealed` was not made with this key and associated data (or
/// was altered).
std::optional<std::string> open(const data_key& key, std::string_view sealed, std::string_view ad);

/// Reads a key file: exactly 32 raw bytes, or 64 hexadecimal digits (optionally followed by a
/// newline). Refuses a file that group or others may read.
expected<data_key, seal_error> read_key_file(const std::string& path);

/// The server's master key, which wraps every per-user key at rest (table `user_keys`), so a copy
/// of the database alone does not yield them.
class master_key {
public:
  explicit master_key(const data_key& k) : key_(k) {}

  /// `key` encrypted for storage, bound to `user`.
  std::string wrap(const uuid& user, const data_key& key) const;

  /// The key stored by `wrap` for `user`; nullopt when it does not open (wrong master key).
  std::optional<data_key> unwrap(const uuid& user, std::string_view wrapped) const;

  /// A server secret (a signing key) encrypted for storage, bound to `purpose` (e.g.
  /// "promo-signing-key:7"), so that a sealed secret cannot be moved to another row or use.
  std::string seal_secret(std::string_view purpose, std::string_view secret) const;

  /// The secret stored by `seal_secret` for `purpose`; nullopt when it does not open (another
  /// master key, another purpose, or altered).
  std::optional<std::string> open_secret(std::string_view purpose, std::string_view sealed) const;

  /// What `seal_secret` adds to a secret's length (nonce and tag): 40 bytes.
  static constexpr size_t sealed_overhead = 40;

  /// Reads the 32-byte master key from a runtime configuration's raw bytes; nullopt when it does
  /// not hold exactly 32.
  static std::optional<master_key> from_bytes(std::string_view raw);

private:
  data_key key_;
};

/// Per-user keys in memory: a bounded least-recently-used cache. An entry is either a key or the
/// fact that the user was erased (no key will ever exist again). Thread-safe (one mutex, O(1)
/// operations); shared by every entity actor and the privacy service.
class keyring {
public:
  explicit keyring(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  /// nullopt: not cached. Otherwise the key, or a null key for an erased user.
  std::optional<std::optional<data_key>> find(const uuid& user);

  void put(const uuid& user, std::optional<data_key> key);

  /// Marks `user` erased (their key is gone from memory too).
  void erase(const uuid& user) { put(user, std::nullopt); }

  size_t size() const;

private:
  struct entry {
    uuid user;
    std::optional<data_key> key;
  };
  size_t capacity_;
  mutable std::mutex mtx_;
  std::list<entry> lru_; // most recently used first
  std::unordered_map<uuid, std::list<entry>::iterator> index_;
};

/// The users whose keys seal a payload, in sealing order (one for most events; a contract's
/// terms belong to both parties, brand then creator). Empty when the event type carries no
/// personal data (or an owner field is missing). `entity` is the journal's entity (a wallet's
/// journal belongs to its user).
std::vector<uuid> payload_owners(std::string_view event_type, std::string_view payload,
                                 const uuid& entity);

/// The owners a sealed payload names, in sealing order; empty for a plaintext one.
std::vector<uuid> sealed_owners(std::string_view payload);

/// Each owner with their key; a null key: the owner was erased.
using owner_keys = std::vector<std::pair<uuid, const data_key*>>;

/// Seals the personal fields of `payload` (event `event_type`) under the owners' keys (in the
/// order `payload_owners` gives), or, when any key is null (an owner was erased), drops them and
/// marks the payload `"erased": true`. Payloads of types without personal data come back
/// unchanged. An unparsable payload is an error (it would be stored as it is otherwise).
expected<std::string, seal_error> seal_payload(std::string_view event_type,
                                               std::string_view payload, const owner_keys& keys);

/// The payload with its personal fields restored (`keys` in the order `sealed_owners` gives).
/// With any null key (an owner was erased) the scrubbed values stay and `"erased": true` is
/// added: the event still decodes, its text is "". A plaintext payload comes back unchanged. A
/// payload that fails to open is an error.
expected<std::string, seal_error> open_payload(std::string_view event_type,
                                               std::string_view payload, const owner_keys& keys);

} // namespace pactum::actors::privacy
