#pragma once

// The access-token cache: verified access tokens (by their hash, never the token itself) and the
// principal they stand for, so that a client that reconnects (a reconnect storm: every client of
// a dropped network path at once) or sends REST requests in a row is authenticated from memory
// instead of by a database round trip each time.
//
// Revocation semantics (docs/security.md "Token cache"):
// - An entry lives at most `ttl` after it was read from the database, and never past the token's
//   own expiry: a token that expires is refused from then on, cache or not.
// - Everything that revokes or changes what a token stands for through this process drops the
//   affected entries before it answers: logout, session revocation and a password change
//   (`drop_login`, per revoked login), refresh token reuse (`drop_login`), a role change, an
//   erasure, log out everywhere and a password reset (`drop_user`).
// - A database read that was in flight while such a drop happened is not cached (a generation
//   counter), so a revocation can never be undone by a late answer.
// - Changes made outside this process (another pactumd on the same database, SQL by hand) are
//   seen within `ttl`. ttl 0 turns the cache off.
//
// Thread-safe (one mutex; called from the Asio threads and from persistence callbacks).

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "pactum/actors/runtime.hpp"

namespace pactum::actors {

class auth_cache {
public:
  using clock = std::chrono::steady_clock;

  auth_cache(std::chrono::milliseconds ttl, size_t max_entries) : ttl_(ttl), max_(max_entries) {}

  bool enabled() const noexcept { return ttl_.count() > 0 && max_ > 0; }

  /// The principal of a cached, still valid token hash (`now_ms`: wall clock, ms since the
  /// epoch, compared with the token's expiry).
  std::optional<principal> find(const std::string& token_hash, int64_t now_ms);

  /// The generation to pass to `put` for a database read that starts now.
  uint64_t generation() const;

  /// Caches what the database said about `token_hash` (valid until `expires_at_ms`), unless a
  /// drop happened since `gen` was taken or the cache is full.
  void put(const std::string& token_hash, const principal& who, int64_t expires_at_ms, uint64_t gen);

  /// Drops every token of one login (logout, revocation, refresh reuse).
  void drop_login(const uuid& user, const std::string& login);

  /// Drops every token of a user (role change, erasure, all logins closed).
  void drop_user(const uuid& user);

  size_t size() const;

private:
  struct entry {
    principal who;
    int64_t expires_at_ms = 0;
    clock::time_point until;
  };
  void erase_locked(const std::string& token_hash);
  void drop_expired_locked(clock::time_point now);

  std::chrono::milliseconds ttl_;
  size_t max_;
  mutable std::mutex mu_;
  uint64_t gen_ = 0;
  std::unordered_map<std::string, entry> by_hash_;
  std::unordered_map<uuid, std::vector<std::string>> by_user_;
};

} // namespace pactum::actors
