#pragma once

// Durable state of the embedded SANDBOX payment provider (payments/, docs/payments.md): its
// idempotent calls, its payment intents and payouts, and its webhook outbox (migration 0008).
//
// The store knows nothing of cards or webhook formats: the provider's rules arrive as a
// `sandbox_decider` that runs inside the store's transaction, sees the call's earlier attempts and
// the locked object, and returns what to write and what to answer. The store makes that atomic
// and idempotent: a key's final answer is stored with the writes it caused, and replayed verbatim.
//
// Lifecycle: the constructor starts `lanes` threads, each with one connection (opened lazily,
// reopened after a loss, throttled by a backoff gate); `stop()` (or the destructor) runs the
// queued jobs, then joins. Threading: every operation may be called from any thread; it is queued
// and runs on one lane's thread (calls and updates on the lane of their object, so one object's
// operations run in the order submitted; polls and marks on the first lane), where `done` is
// called exactly once. An operation refused up front (queue full
// or stopped) returns false and never calls `done`: the caller answers for itself, on its own
// thread. No libpqxx type appears here.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pactum/common/time.hpp"
#include "pactum/persistence/database.hpp"

namespace pactum::persistence {

/// One sandbox payment intent or payout (table sandbox_intents).
struct sandbox_object {
  std::string key;          ///< the idempotency key of the call that created it
  std::string kind;         ///< "payment" or "payout"
  std::string status;       ///< requires_capture|succeeded|failed|canceled|refunded|paid
  int64_t amount = 0;       ///< minor units
  std::string currency;     ///< ISO 4217
  std::string method;       ///< test card number, or payout destination
  std::string reference;    ///< the caller's opaque reference
  int64_t captured = 0;     ///< minor units captured (0..amount)
  int64_t refunded = 0;     ///< minor units refunded (0..captured)
  std::string failure_code; ///< why it failed; empty unless failed
  std::string cancel_reason; ///< "requested" or "expired"; empty unless canceled
  millis created_at = 0;
  millis expires_at = 0;    ///< when an authorization lapses; 0: never
};

/// A webhook to put into the outbox. Events of one object are delivered in enqueue order.
struct sandbox_event {
  std::string id;         ///< "evt_<uuid>", unique
  std::string object_key; ///< ordering group: the intent or payout key
  std::string type;       ///< e.g. "payment_intent.succeeded" (for operators; the body has it too)
  std::string body;       ///< the exact bytes to POST
  millis due_at = 0;      ///< not delivered before this time
};

/// What a decider sees, inside the transaction.
struct sandbox_call_state {
  int attempts = 0;                     ///< earlier non-final attempts with this key
  std::optional<sandbox_object> object; ///< the object named by the call, row-locked; nullopt: none
};

/// What a decider returns: everything is applied in the same transaction as the call record.
struct sandbox_decision {
  std::string result;                  ///< the answer, opaque to the store (the provider's JSON)
  bool final = true;                   ///< false: count the attempt, store no answer (retryable)
  std::optional<sandbox_object> write = std::nullopt; ///< insert or update this object
  std::vector<sandbox_event> events = {};             ///< webhooks to enqueue
};

/// Runs on the store's thread inside the transaction; must be quick and must not block. An
/// exception rolls the transaction back and answers `internal`.
using sandbox_decider = std::function<sandbox_decision(const sandbox_call_state&)>;

/// How a call ended.
enum class sandbox_call_kind : uint8_t {
  fresh,    ///< decided now (and committed)
  replayed, ///< the key had a final answer already: `result` is that answer, nothing was written
  mismatch, ///< the key was first used with another fingerprint: nothing was written
};

struct sandbox_call_outcome {
  sandbox_call_kind kind = sandbox_call_kind::fresh;
  std::string result; ///< the decision's (or the stored) answer; empty for a mismatch
};

/// An outbox row due for delivery.
struct sandbox_delivery {
  int64_t seq = 0;    ///< outbox position
  std::string id;     ///< event id
  std::string body;
  int attempts = 0;   ///< failed deliveries so far
};

/// The deliverer's view of the outbox and of lapsing authorizations at one instant.
struct sandbox_poll {
  /// Due rows, each the oldest undelivered row of its object (so per-object order holds), oldest
  /// due first.
  std::vector<sandbox_delivery> deliveries;
  /// Keys of authorizations (status requires_capture) whose `expires_at` has passed.
  std::vector<std::string> expired;
  /// The earliest later time at which a row falls due or an authorization lapses; 0: none known.
  millis next_wake = 0;
};

struct sandbox_store_config {
  std::string url;                                  ///< libpq connection string or URL
  size_t queue_limit = 10'000;                      ///< queued jobs before refusing
  /// Connections (each with its own thread): one object's calls always use the same one.
  size_t lanes = 4;
  std::chrono::milliseconds reconnect_backoff_max{2'000};
};

class sandbox_store {
public:
  explicit sandbox_store(sandbox_store_config cfg);
  ~sandbox_store();

  sandbox_store(const sandbox_store&) = delete;
  sandbox_store& operator=(const sandbox_store&) = delete;

  /// Runs the idempotent call `key` in one transaction: records the key with `fingerprint` (the
  /// canonical form of the call's parameters) on first use; answers `mismatch` when it was first
  /// used with another fingerprint, `replayed` with the stored answer when it has one, and
  /// otherwise locks the object `object_key` (when not empty), runs `decide` and applies its
  /// decision. Failures: unavailable (connection), internal (anything else). Returns false when
  /// refused (queue full, stopped); `done` is then never called.
  bool call(std::string key, std::string fingerprint, std::string object_key,
            sandbox_decider decide, std::function<void(result<sandbox_call_outcome>)> done);

  /// Locks the object `object_key`, runs `decide` (attempts 0) and applies its decision, with no
  /// call record: for changes the provider makes by itself (an authorization lapsing). Answers
  /// the decision's `result`. Returns false when refused.
  bool update(std::string object_key, sandbox_decider decide,
              std::function<void(result<std::string>)> done);

  /// Reads what is due at `now`: at most `limit` deliveries, at most `limit` lapsed
  /// authorizations, and the next time worth waking up at. Returns false when refused.
  bool poll(millis now, size_t limit, std::function<void(result<sandbox_poll>)> done);

  /// Records a successful delivery of outbox row `seq`. Returns false when refused.
  bool mark_delivered(int64_t seq, std::function<void(result<unit>)> done);

  /// Records a failed delivery attempt of row `seq` and when to try again. Returns false when
  /// refused.
  bool mark_failed(int64_t seq, millis retry_at, std::string error,
                   std::function<void(result<unit>)> done);

  /// Stops taking jobs, runs the queued ones, joins the thread, closes the connection.
  /// Idempotent.
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace pactum::persistence
