#pragma once

// The persistence layer's whole public surface. No libpqxx type appears here: callers (the actors
// layer) see typed operations and callbacks, so pqxx stays out of every other translation unit.
//
// Threading: every operation is asynchronous. Blocking libpqxx calls run only on this layer's own
// threads (a pool of readers/short transactions, plus one journal writer thread). Callbacks run on
// those threads, except that a request refused up front (queue full, stopping) has its callback
// invoked synchronously on the caller's thread. Callbacks must be quick and must not block: the
// actors layer only turns them into CAF messages.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pactum/common/expected.hpp"
#include "pactum/common/time.hpp"
#include "pactum/common/uuid.hpp"

namespace pactum::persistence {

/// Stable error codes of the persistence layer.
enum class errc : uint8_t {
  conflict = 1, ///< expected sequence did not match the journal (another writer) / unique clash
  unavailable,  ///< PostgreSQL is unreachable or the connection broke; nothing was applied
  overloaded,   ///< a bounded queue is full; nothing was applied
  not_found,    ///< the row asked for does not exist
  duplicate,    ///< a unique value (e.g. email) is already taken
  refused,      ///< the request breaks a rule of the store (a ledger floor, a transfer resolved
                ///< twice, a currency mismatch); nothing was applied
  internal,     ///< anything else (a bug or an unexpected database error); logged with detail
};

const char* to_string(errc) noexcept;

struct failure {
  errc code;
  std::string message;
};

template <class T>
using result = expected<T, failure>;

struct unit {};

struct config {
  std::string url;                       ///< libpq connection string or postgresql:// URL
  size_t pool_threads = 4;               ///< connections/threads for reads and short transactions
  size_t pool_queue_limit = 10'000;      ///< queued pool jobs before `overloaded`
  size_t journal_queue_limit = 100'000;  ///< queued appends before `overloaded`
  size_t journal_batch_max = 1'000;      ///< appends folded into one transaction at most
  std::chrono::microseconds journal_batch_wait{0}; ///< extra wait to fill a batch (0: none)
  /// Journal writer lanes: threads, each with its own connection, queue and transactions. An
  /// entity's appends always use the same lane, so they commit in queue order; appends to
  /// different entities may commit in different transactions.
  size_t journal_writers = 1;
  /// Entities whose journal head the writer remembers, so their appends skip an index probe
  /// (0: probe every entity of every batch). About 100 bytes each.
  size_t journal_head_cache = 100'000;
  std::chrono::milliseconds reconnect_backoff_max{2'000};
  /// Audit records waiting for the audit writer; beyond it new records are dropped (counted in
  /// `audit_dropped`, logged), never blocking the caller (docs/security.md, "Audit log").
  size_t audit_queue_limit = 10'000;
  size_t audit_batch_max = 500; ///< audit records written in one INSERT at most
};

/// One security-relevant action (table audit_log, append-only). No secrets, no personal data
/// beyond ids: `detail` holds ids, codes and hashes only.
struct audit_record {
  millis at = 0;              ///< when it happened (ms since the epoch)
  std::optional<uuid> actor;  ///< the user who acted; nullopt: anonymous, system or operator
  std::string actor_role;     ///< brand, creator, moderator, admin, anonymous, system, operator
  std::string address;        ///< the client's IP address ("" when none)
  std::string action;         ///< the policy's action name (e.g. "contract.fund")
  std::string target;         ///< what it acted on (an id), "" when nothing
  std::string outcome;        ///< "ok" or the refusal's stable error code
  std::string detail = "{}";  ///< a JSON object
};

/// An audit record as stored.
struct audit_row {
  int64_t id = 0;
  audit_record record;
};

/// Which audit rows to read: newest first, ids below `before` (0: from the newest).
struct audit_filter {
  std::optional<uuid> actor;
  std::string action; ///< "" for every action
  int64_t before = 0;
  size_t limit = 100;
};

/// One stored journal event.
struct event_record {
  int64_t seq = 0;        ///< 1-based, gap-free per entity
  std::string type;       ///< e.g. "message.posted"
  int16_t version = 1;    ///< payload format version of that type
  std::string payload;    ///< msgpack bytes
  millis recorded_at = 0; ///< set by the writer (ms since epoch) when read back
};

/// Sets (or, with `clear`, removes) the entity's durable timer of this kind, in the same
/// transaction as the append that carries it.
struct timer_change {
  std::string kind;  ///< e.g. "delivery_deadline"; one timer per (entity, kind)
  millis due_at = 0; ///< ms since epoch (ignored with `clear`)
  bool clear = false;
};

/// A timer whose due time has come.
struct due_timer {
  uuid entity;
  std::string entity_type;
  std::string kind;
  millis due_at = 0;
};

/// One movement of money in the double-entry ledger (table ledger_transfers), committed in the
/// same transaction as the journal events of the append that carries it. Accounts are created on
/// first use; an account id fixes its currency, and only "clearing:*" accounts (the payment
/// provider's side) may go below zero.
struct ledger_op {
  enum class kind : uint8_t {
    post,         ///< a transfer, posted at once
    pending,      ///< a two-phase transfer: reserved now (counts against the debit's floor)
    post_pending, ///< posts the pending transfer `pending_id` (exactly once)
    void_pending, ///< voids the pending transfer `pending_id` (exactly once)
  };
  kind what = kind::post;
  std::string id;     ///< unique transfer id (post, pending); the idempotency key
  std::string debit;  ///< account ids; for post_pending/void_pending those of the pending transfer
  std::string credit;
  int64_t amount = 0; ///< minor units, > 0; for post_pending/void_pending the pending amount
  std::string currency;
  std::string pending_id = {};
};

/// A new entity whose journal starts in the same transaction as another entity's append (e.g. the
/// contract an accepted offer creates), so neither can exist without the other. Its journal must
/// be empty; `events[i].seq` must be 1 + i.
struct new_entity {
  uuid id;
  std::string entity_type;
  std::vector<event_record> events;
};

/// Appends `events` to `entity`'s journal if and only if its current last sequence number is
/// `expected_seq` (0 for an empty journal). `events[i].seq` must be `expected_seq + 1 + i`.
struct append_request {
  uuid entity;
  std::string entity_type; ///< "conversation", "campaign", ...
  int64_t expected_seq = 0;
  std::vector<event_record> events;
  /// On success: the new last sequence number. On failure: conflict, unavailable, overloaded or
  /// internal. Called exactly once.
  std::function<void(result<int64_t>)> done;
  /// Timer changes committed atomically with the events (applied in queue order per entity).
  std::vector<timer_change> timers = {};
  /// Ledger transfers committed atomically with the events, recorded as made by the append's
  /// first event. A transfer that breaks a ledger rule fails the append with `refused`.
  std::vector<ledger_op> ledger = {};
  /// Entities created atomically with the events.
  std::vector<new_entity> creates = {};
};

/// What `ledger_check` found: each entry one broken invariant, in words (empty: all hold).
struct ledger_report {
  int64_t accounts = 0;
  int64_t transfers = 0;
  int64_t pending = 0; ///< two-phase transfers not yet resolved
  std::vector<std::string> violations;
};

/// One account's balance.
struct ledger_balance {
  std::string account;
  std::string currency;
  int64_t posted = 0;    ///< credits_posted - debits_posted
  int64_t available = 0; ///< posted - debits_pending
  int64_t pending_in = 0; ///< credits_pending
};

/// What a withdrawal of one currency is decided on.
struct wallet_facts {
  int64_t available = 0; ///< the user's balance less what pending withdrawals reserve
  int64_t settling = 0;  ///< credited within the settlement window (not withdrawable yet)
  std::string kyc_status; ///< "unverified", "pending", "verified" or "rejected"
};

/// A ledger transfer as stored.
struct ledger_transfer_row {
  std::string id;
  std::string debit;
  std::string credit;
  int64_t amount = 0;
  std::string currency;
  std::string state; ///< "pending", "posted" or "voided"
  uuid entity;
  int64_t entity_seq = 0;
  int64_t resolved_seq = 0;
};

/// The latest snapshot of an entity: its state as of `seq`, encoded by the entity's own code.
struct snapshot_record {
  int64_t seq = 0;
  int16_t version = 1;
  std::string payload;
};

struct user_row {
  uuid id;
  std::string email; ///< normalised (lower-case, trimmed)
  std::string password_hash;
  std::string display_name;
  std::string role;
  millis created_at = 0;
};

/// A finding of the anti-bypass guard (table guard_hits).
struct guard_hit_row {
  int64_t id = 0;          ///< set by the database
  uuid conversation;
  uuid sender;
  int64_t seq = 0;         ///< the stored event; 0 when blocked
  std::string action;      ///< "blocked", "masked" or "flagged"
  std::vector<std::string> categories;
  std::string original;    ///< the text as written
  millis created_at = 0;   ///< set by the database
  int64_t strikes = 0;     ///< read only: the sender's findings in total (confirmed or unreviewed)
};

/// One login: the family of tokens issued by one successful login (and its refreshes).
struct login_row {
  uuid id;                       ///< the login (token family) id
  uuid user;
  millis created_at = 0;         ///< when the login happened (set by the database)
  millis last_used_at = 0;       ///< last refresh, or access-token use (updated at most once a minute)
  std::string user_agent;        ///< as sent at login, truncated; may be empty
  millis refresh_expires_at = 0; ///< when its current refresh token expires
};

/// A token to store. Only its hash is ever stored.
struct token_grant {
  std::string hash;
  std::string kind;     ///< "access", "refresh" or "ticket"
  millis expires_at = 0;
};

/// The user a token belongs to, and its login (nullopt for tokens issued before logins existed).
struct token_owner {
  user_row user;
  std::optional<uuid> login;
  millis expires_at = 0; ///< the access token's expiry (find_access_token only; else 0)
};

/// What presenting a refresh token did.
enum class refresh_outcome : uint8_t {
  rotated, ///< valid and unused: now used, the new tokens are stored
  reused,  ///< already used once: treated as theft, the whole login was revoked
  invalid, ///< unknown, expired, or its login is revoked: nothing changed
};

struct refresh_result {
  refresh_outcome outcome = refresh_outcome::invalid;
  std::optional<token_owner> owner; ///< set for rotated and reused
};

struct conversation_row {
  uuid id;
  uuid brand_id;
  uuid creator_id;
  millis created_at = 0;
  int64_t head_seq = 0; ///< last journal sequence number at the time of reading
};

/// The database: connection pool, migrations, journal writer (group commit) and the small stores
/// the foundation needs. Owned by `pactumd`'s main; shared with the actors layer by reference.
///
/// Lifecycle: construct, `migrate()` (blocking, main thread, before serving), `start()`, use,
/// `stop()` (drains queued appends and jobs, then joins; also run by the destructor).
class database {
public:
  explicit database(config cfg);
  ~database();

  database(const database&) = delete;
  database& operator=(const database&) = delete;

  /// Applies pending migrations (embedded in the binary) in order, each in its own transaction,
  /// under a PostgreSQL advisory lock so concurrent starters serialise. Blocking; throws
  /// std::runtime_error with the reason on failure. Safe on every start.
  void migrate();

  /// Starts the pool threads and the journal writer.
  void start();

  /// Stops taking work, lets queued appends commit and queued jobs run, joins threads.
  void stop();

  // -- journal --------------------------------------------------------------------------------

  /// Queues an append for the group-commit writer. Per entity, appends commit in the order they
  /// were queued. The callback fires after COMMIT returned (or the outcome was resolved).
  void append(append_request req);

  /// Reads events of `entity` with after_seq < seq < before_seq (before_seq 0: no upper bound),
  /// at most `limit`, oldest first; or, with `newest_first`, the newest `limit` of that range,
  /// newest first.
  void read_events(uuid entity, int64_t after_seq, int64_t before_seq, size_t limit,
                   bool newest_first,
                   std::function<void(result<std::vector<event_record>>)> done);

  /// Stores `snap` as `entity`'s latest snapshot unless a newer one (higher seq) is stored.
  void save_snapshot(uuid entity, std::string entity_type, snapshot_record snap,
                     std::function<void(result<unit>)> done);

  /// The latest snapshot, or nullopt when the entity has none.
  void load_snapshot(uuid entity,
                     std::function<void(result<std::optional<snapshot_record>>)> done);

  /// Timers due at or before `now`, oldest first, at most `limit`, each with the due time it
  /// had. Rows locked by another sweeper are skipped (`for update skip locked`), so several nodes
  /// never take the same one. With `retry` > 0 each row handed out is moved to `now + retry` in
  /// the same statement: delivery stays at least once (an entity that neither clears nor moves its
  /// timer gets it again after `retry`), and such rows go behind those due meanwhile instead of
  /// being read at every sweep.
  void due_timers(millis now, size_t limit, millis retry,
                  std::function<void(result<std::vector<due_timer>>)> done);

  // -- accounts -------------------------------------------------------------------------------

  /// Inserts a user. `duplicate` when the email is taken.
  void create_user(user_row user, std::function<void(result<unit>)> done);

  /// `not_found` when no user has this (normalised) email.
  void find_user_by_email(std::string email, std::function<void(result<user_row>)> done);

  /// `not_found` when there is no such user.
  void find_user(uuid id, std::function<void(result<user_row>)> done);

  /// Stores a session token by its hash (never the token itself).
  void insert_token(std::string token_hash, uuid user, millis expires_at,
                    std::function<void(result<unit>)> done);

  /// Returns the user owning an unexpired access token with this hash whose login (if any) is
  /// live; `not_found` otherwise.
  void find_user_by_token(std::string token_hash, std::function<void(result<user_row>)> done);

  /// Stores a new login of `login.user` and its first tokens, in one transaction. With
  /// `verified_password_hash` (a password login) the login is only stored while the user's
  /// password is still that one: a login that verified a password changed meanwhile is refused
  /// with `conflict`, so a password change can never miss it.
  void create_login(login_row login, std::vector<token_grant> tokens,
                    std::function<void(result<unit>)> done,
                    std::optional<std::string> verified_password_hash = std::nullopt);

  /// The owner of an unexpired access token of a live login (or a pre-login token);
  /// `not_found` otherwise. Touches the login's `last_used_at` (at most once a minute).
  void find_access_token(std::string token_hash, std::function<void(result<token_owner>)> done);

  /// Presents a refresh token: if valid and unused, marks it used, stores `new_tokens` in its
  /// login and moves the login's refresh expiry to `refresh_expires_at`; if it was already used,
  /// revokes the whole login (theft). Serialised per login (row locks).
  void rotate_refresh(std::string token_hash, std::vector<token_grant> new_tokens,
                      millis refresh_expires_at, std::function<void(result<refresh_result>)> done);

  /// Revokes the login `login` of `user` and deletes its access tokens and tickets (refresh
  /// tokens stay, so a replay is still recognised). True when it was live.
  void revoke_login(uuid user, uuid login, std::function<void(result<bool>)> done);

  /// Revokes every live login of `user` except `keep` (none when nullopt), deletes their access
  /// tokens and tickets and the user's tokens from before logins existed, in one transaction with
  /// the user's row locked against concurrent logins. With `password` the hash is replaced in
  /// the same transaction, but only while it is still `password->expected_hash` (the one the
  /// caller verified) and, with `keep`, while that login is still live: `conflict` otherwise, and
  /// nothing is changed. Answers the revoked logins; `not_found` when there is no such user.
  struct password_swap {
    std::string expected_hash;
    std::string new_hash;
  };
  void revoke_logins(uuid user, std::optional<uuid> keep, std::optional<password_swap> password,
                     std::function<void(result<std::vector<uuid>>)> done);

  /// The user's live logins (not revoked, refresh not expired), newest first, at most 100.
  void list_logins(uuid user, std::function<void(result<std::vector<login_row>>)> done);

  /// Adds a token (e.g. a WebSocket ticket) to a live login of `user`; `not_found` otherwise.
  void add_login_token(uuid user, uuid login, token_grant token,
                       std::function<void(result<unit>)> done);

  /// Consumes a ticket: deletes it whatever its state (single use) and returns its owner when it
  /// was unexpired and its login live; `not_found` otherwise.
  void consume_ticket(std::string token_hash, std::function<void(result<token_owner>)> done);

  // -- conversations --------------------------------------------------------------------------

  /// Returns the conversation between this brand and creator, creating it when there is none:
  /// in one transaction, insert the conversations row and append `first_event` (seq 1) to its
  /// journal. The second of the pair tells whether this call created it. Safe under races (one
  /// row per pair, the loser gets the winner's id).
  void open_conversation(uuid brand, uuid creator, uuid new_id, event_record first_event,
                         std::function<void(result<std::pair<conversation_row, bool>>)> done);

  /// Conversations the user belongs to, newest first, at most `limit`.
  void list_conversations(uuid user, size_t limit,
                          std::function<void(result<std::vector<conversation_row>>)> done);

  // -- health ---------------------------------------------------------------------------------

  /// Runs `SELECT 1` on a pool connection.
  void ping(std::function<void(result<unit>)> done);

  // -- moderation -----------------------------------------------------------------------------

  /// Records a guard finding.
  void record_guard_hit(guard_hit_row hit, std::function<void(result<unit>)> done);

  /// Unreviewed findings, oldest first, each with its sender's strike count.
  void guard_queue(size_t limit, std::function<void(result<std::vector<guard_hit_row>>)> done);

  /// Marks a finding reviewed with verdict "confirmed" or "dismissed" (dismissed ones no longer
  /// count as strikes). `not_found` when there is no such unreviewed finding.
  void review_guard_hit(int64_t id, uuid moderator, std::string verdict,
                        std::function<void(result<unit>)> done);

  /// Stores when `user` was last online (their last session ended at `at`).
  void touch_last_seen(uuid user, millis at, std::function<void(result<unit>)> done);

  /// When `user` was last online; 0 when never recorded (or no such user).
  void last_seen(uuid user, std::function<void(result<millis>)> done);

  /// Sets a user's role (operators: `pactumd set-role`). `not_found` for an unknown email.
  void set_user_role(std::string email, std::string role, std::function<void(result<unit>)> done);

  // -- ledger ---------------------------------------------------------------------------------

  /// Checks the ledger's invariants (docs/ledger.md): every currency's balances sum to zero
  /// (posted and pending), no floored account below zero, every account's balance equals the sum
  /// of its transfers, every transfer was made by an event that is in the journal, and the escrow
  /// of every contract whose journal ends in a terminal event is empty.
  void ledger_check(std::function<void(result<ledger_report>)> done);

  /// Balances of the given accounts (unknown ones are absent from the answer). An entry ending in
  /// '*' matches every account id starting with what precedes it (e.g. "user:<uuid>:*").
  void ledger_balances(std::vector<std::string> accounts,
                       std::function<void(result<std::vector<ledger_balance>>)> done);

  /// The transfers made by events of `entity`, oldest first.
  void ledger_transfers(uuid entity,
                        std::function<void(result<std::vector<ledger_transfer_row>>)> done);

  /// The facts a withdrawal of `currency` by `user` is decided on (balance, what is settling
  /// since `settling_since`, identity verification).
  void wallet_facts(uuid user, std::string currency, millis settling_since,
                    std::function<void(result<persistence::wallet_facts>)> done);

  /// Sets a user's identity verification (KYC) status (operators: `pactumd --set-kyc`).
  /// `not_found` for an unknown email.
  void set_user_kyc(std::string email, std::string status, std::function<void(result<unit>)> done);

  /// Contracts whose journal holds a dispute and no resolution, with when they were disputed,
  /// oldest first.
  void open_disputes(size_t limit, std::function<void(result<std::vector<std::pair<uuid, millis>>>)> done);

  /// Records a payment-provider webhook event id; true when it is new, false when it was
  /// already processed (a replay).
  void record_webhook(std::string event_id, std::string event_type, std::string reference,
                      std::function<void(result<bool>)> done);

  /// Forgets a webhook event id, so the provider's retry is processed again (used when handling
  /// it failed after it was recorded).
  void forget_webhook(std::string event_id, std::function<void(result<unit>)> done);

  /// Appends queued or in flight right now (for graceful shutdown and metrics).
  size_t pending_appends() const;

  /// For this layer's other stores (profile_store.cpp): runs `job` on a pool thread with a pool
  /// connection, behind the exception boundary of every operation above, and hands its result to
  /// `done`. `conn` is the `pqxx::connection&` (void here so libpqxx stays out of this header).
  void run_pooled(const char* what, std::function<result<unit>(void* conn)> job,
                  std::function<void(result<unit>)> done);
  // -- audit log (persistence/src/audit_log.cpp) ---------------------------------------------

  /// Queues an audit record for the audit writer, which inserts queued records in batches on its
  /// own thread and connection. Never blocks: when the queue is full (or the database is not
  /// running) the record is dropped and counted. Records queued before `stop()` are written.
  void audit(audit_record record);

  /// Reads audit rows (on the audit writer's thread).
  void audit_query(audit_filter filter, std::function<void(result<std::vector<audit_row>>)> done);

  /// Audit records dropped so far because the queue was full or the database stopped.
  uint64_t audit_dropped() const;
  /// A job of another store of this layer (e.g. privacy_store.cpp) run on the pool like the
  /// operations above; defined in persistence/src/pool_job.hpp, not usable outside this folder.
  struct pool_job;
  void run_pool_job(const char* what, std::shared_ptr<pool_job> job);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace pactum::persistence
