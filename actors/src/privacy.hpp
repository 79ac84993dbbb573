#pragma once

// Privacy inside the actors layer (docs/security.md, "Privacy"): the per-user data keys, the
// sealing store every entity journal goes through, and the operations behind
// `GET /api/v1/users/me/export`, `DELETE /api/v1/users/me` and the consents.

#include <functional>
#include <memory>
#include <unordered_map>

#include "pactum/actors/entity_store.hpp"
#include "pactum/actors/runtime.hpp"
#include "pactum/actors/sealer.hpp"
#include "pactum/persistence/privacy_store.hpp"

namespace pactum {
class executor;
}

namespace pactum::actors {

struct services;

/// Per-user data keys: the keyring (a bounded cache of unwrapped keys) in front of the
/// `user_keys` table. Thread-safe; callbacks run on the caller's thread when every key is cached,
/// otherwise on a persistence thread.
class key_service {
public:
  /// A user's key, or nullopt when the user was erased.
  using key_map = std::unordered_map<uuid, std::optional<privacy::data_key>>;

  key_service(persistence::privacy_store& store, privacy::master_key master, size_t cache)
    : store_(store), master_(master), ring_(cache) {}

  /// The keys of `users`. With `create`, a user without a key who was never erased gets one (so
  /// only erased users come back null); without, a missing key means the user was erased.
  void get(std::vector<uuid> users, bool create,
           std::function<void(persistence::result<key_map>)> done);

  /// Forgets `user`'s key in memory (after the erasure destroyed it in storage).
  void forget(const uuid& user) { ring_.erase(user); }

private:
  persistence::privacy_store& store_;
  privacy::master_key master_;
  privacy::keyring ring_;
};

/// The entity store every entity actor uses in production: seals personal fields of the events
/// it appends under their owners' keys and opens them again on every read. Snapshots pass
/// through (see erase: they are deleted with the key).
std::unique_ptr<entity_store> make_sealing_store(std::unique_ptr<entity_store> inner,
                                                 key_service& keys);

/// Export, erasure and consents. Owned by runtime::impl; callbacks on runtime threads.
class privacy_service {
public:
  privacy_service(services& svc, persistence::privacy_store& store, key_service& keys,
                  executor& cpu)
    : svc_(svc), store_(store), keys_(keys), cpu_(cpu) {}

  void export_user(principal who, std::function<void(expected<std::string, api_error>)> done);
  void erase_user(principal who, std::string password,
                  std::function<void(expected<std::string, api_error>)> done);
  void consents(principal who,
                std::function<void(expected<std::vector<consent_change>, api_error>)> done);
  void set_consents(principal who, std::vector<consent_change> changes,
                    std::function<void(expected<std::vector<consent_change>, api_error>)> done);

  /// Checks consents a client sent (kinds, versions, counts); the message when they are invalid.
  static std::optional<std::string> invalid_consents(const std::vector<consent_change>& changes);

private:
  /// The erasure after the password was checked.
  void erase_checked(uuid user, std::function<void(expected<std::string, api_error>)> done);

  services& svc_;
  persistence::privacy_store& store_;
  key_service& keys_;
  executor& cpu_;
};

} // namespace pactum::actors
