#pragma once

// The actors layer as the gateway sees it: no CAF type in this header, so the gateway's
// translation units never include CAF. Behind it: the CAF actor system, the entity directory,
// session actors, and the account service.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pactum/common/expected.hpp"
#include "pactum/common/uuid.hpp"
#include "pactum/protocol/codec.hpp"
#include "pactum/protocol/errors.hpp"
#include "pactum/protocol/messages.hpp"

namespace pactum::persistence {
class database;
}

namespace pactum::actors {

struct runtime_config {
  size_t scheduler_threads = 2;     ///< CAF worker threads (about one per core)
  size_t cpu_threads = 2;           ///< threads for password hashing
  size_t cpu_queue_limit = 1'000;   ///< queued hashing jobs before `overloaded`
  protocol::limits limits;          ///< frame validation limits
  uint32_t max_frame_bytes = 64 * 1024; ///< told to clients in `hello` (the gateway enforces it)
  std::chrono::hours token_ttl{24}; ///< lifetime of a login token
  std::chrono::seconds request_timeout{10};
  size_t max_gap = 10'000;          ///< most events a subscribe replays at once
  size_t tail_cache = 512;          ///< recent events an active conversation keeps in memory
  size_t dedup_window = 4'096;      ///< recent client ids remembered per conversation
  size_t max_in_flight_per_session = 256; ///< unanswered commands per connection
  size_t snapshot_every = 100;      ///< events between snapshots of an entity (0: never)
  /// An entity with no subscriber and no command for this long is snapshotted and stopped; the
  /// next command re-activates it (0: never).
  std::chrono::milliseconds passivate_after{std::chrono::minutes(5)};
  /// argon2id cost. Defaults: libsodium's MODERATE-ish ops with 64 MiB (OWASP: at least 19 MiB, t=2).
  unsigned long long pwhash_opslimit = 3;
  size_t pwhash_memlimit = 64ull << 20;
};

/// Who a session or REST call acts as.
struct principal {
  uuid user;
  std::string role; ///< "brand", "creator", "moderator", "admin"
  std::string display_name;
};

/// A refusal from the REST-facing operations: HTTP status, stable code, message, and per-field
/// messages a form can show inline.
struct api_error {
  int status = 500;
  protocol::error_code code = protocol::error_code::internal;
  std::string message;
  std::vector<std::pair<std::string, std::string>> fields;
};

struct registration {
  std::string email;
  std::string password;
  std::string display_name;
  std::string role;
};

struct login_result {
  principal who;
  std::string token;  ///< opaque bearer token (shown once; only its hash is stored)
  int64_t expires_at; ///< ms since epoch
};

/// Where one connection's outbound frames go. Implemented by the gateway; called from CAF threads,
/// so implementations hand the work to their own I/O strand and never block.
class session_sink {
public:
  virtual ~session_sink() = default;

  /// A reply frame, already encoded in `enc` (the encoding of the request it answers).
  virtual void send(std::string frame, protocol::encoding enc) = 0;

  /// An event frame; the sink picks the connection's encoding (`push_frame::frame`).
  virtual void push(protocol::push_frame_ptr frame) = 0;

  /// Closes the connection (e.g. slow consumer, revoked session).
  virtual void close(protocol::close_code code, std::string reason) = 0;
};

/// The gateway's handle on one live session actor. Destroying it ends the session actor.
class session {
public:
  virtual ~session() = default;

  /// Hands a decoded client request to the session actor. Never blocks.
  virtual void handle(protocol::request req, protocol::encoding enc) = 0;
};

/// Owns the actor system and services. Lifecycle: construct after the database has started,
/// serve, then `drain` and destroy before the database stops. Thread-safe.
class runtime {
public:
  runtime(runtime_config cfg, persistence::database& db);
  ~runtime();

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  const runtime_config& config() const noexcept;

  // -- accounts (REST). Callbacks run on a runtime thread and must not block. --

  void register_user(registration input, std::function<void(expected<principal, api_error>)> done);
  void login(std::string email, std::string password,
             std::function<void(expected<login_result, api_error>)> done);
  void authenticate(std::string bearer_token,
                    std::function<void(expected<principal, api_error>)> done);

  /// Checks that the database answers.
  void check_health(std::function<void(bool ok, std::string detail)> done);

  // -- live sessions --

  std::unique_ptr<session> open_session(principal who, std::shared_ptr<session_sink> sink);

  /// Commands accepted from clients and not answered yet, across all sessions.
  size_t in_flight() const noexcept;

  /// Waits (blocking; call from main) until no command is in flight and the journal has no
  /// pending appends, or until `timeout`. Returns true when drained.
  bool drain(std::chrono::milliseconds timeout);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace pactum::actors
