#pragma once

// The payment-provider interface the escrow contracts talk to. An implementation is a client of
// an external provider (or the embedded sandbox, sandbox.hpp) and owns its own threads: no call
// blocks its caller, every callback runs exactly once on one of the provider's threads.
//
// Every call is idempotent by its `key`: repeating a key with the same parameters returns the
// first final answer and does nothing again (no double charge, however often a crashed caller
// retries); repeating it with other parameters is refused with `idempotency_mismatch`. Keys share
// one namespace across all operations. A retryable failure (`network_error`, `unavailable`) is not
// a final answer: nothing happened, and the same key may be retried.
//
// A successful answer means the provider accepted the request; what became of it (succeeded,
// declined, captured, refunded, paid) arrives later as exactly one signed webhook (webhook.hpp,
// docs/payments.md) whose `data.key` is the call's key.

#include <cstdint>
#include <functional>
#include <string>

namespace pactum::payments {

/// The answer to one call.
struct call_result {
  bool ok = false;        ///< accepted; the outcome follows as a webhook
  bool retryable = false; ///< failed without effect; retry with the same key
  /// On failure: "invalid_request", "invalid_payment_method", "idempotency_mismatch",
  /// "not_found", "invalid_state", "network_error" (retryable) or "unavailable" (retryable).
  std::string code;
  std::string message; ///< human-readable detail (for invalid_state, e.g. "authorization_expired")
  /// On success: "pending" (the outcome is in the webhook). On invalid_state: the object's
  /// current status (requires_capture, succeeded, failed, canceled, refunded). Otherwise empty.
  std::string status;
};

/// Charge (or, with `capture = false`, authorize) a payment method.
struct intent_request {
  std::string key;            ///< idempotency key; also names the intent in later calls
  int64_t amount = 0;         ///< minor units, > 0
  std::string currency;       ///< ISO 4217, three upper-case letters
  std::string payment_method; ///< provider token (the sandbox: a public test card number)
  bool capture = true;        ///< false: authorize only; capture() or cancel() later
  std::string reference;      ///< the caller's opaque reference, echoed in webhooks
};

/// Pay money out to a payee.
struct payout_request {
  std::string key;         ///< idempotency key; also names the payout in webhooks
  int64_t amount = 0;      ///< minor units, > 0
  std::string currency;    ///< ISO 4217, three upper-case letters
  std::string destination; ///< provider account of the payee (opaque, non-empty)
  std::string reference;   ///< the caller's opaque reference, echoed in webhooks
};

/// A payment provider client.
///
/// Lifecycle: constructed running (by a factory such as make_sandbox); `stop()` joins its
/// threads, after which calls are refused with `unavailable`. Threading: all calls from any
/// thread; callbacks run on the provider's threads (after `stop()`, refusals are answered on the
/// caller's thread, there being no other), must be quick and must not block.
class provider {
public:
  virtual ~provider() = default;

  /// Creates the payment intent `req.key` and charges (or authorizes) it. Webhooks:
  /// payment_intent.succeeded | payment_intent.authorized | payment_intent.failed.
  virtual void create_intent(intent_request req, std::function<void(call_result)> done) = 0;

  /// Captures the whole amount of the authorized intent `intent_key`. Webhook:
  /// payment_intent.captured. Fails with invalid_state (message "authorization_expired") when the
  /// authorization lapsed.
  virtual void capture(std::string key, std::string intent_key,
                       std::function<void(call_result)> done) = 0;

  /// Voids the authorization of intent `intent_key`. Webhook: payment_intent.canceled with
  /// reason "requested".
  virtual void cancel(std::string key, std::string intent_key,
                      std::function<void(call_result)> done) = 0;

  /// Refunds `amount` (at most what was captured and not yet refunded) of intent `intent_key`.
  /// Webhook: refund.succeeded.
  virtual void refund(std::string key, std::string intent_key, int64_t amount,
                      std::function<void(call_result)> done) = 0;

  /// Pays `req.amount` out to `req.destination`. Webhook: payout.paid | payout.failed.
  virtual void payout(payout_request req, std::function<void(call_result)> done) = 0;

  /// Stops the provider's threads; work not yet done (undelivered webhooks) stays with the
  /// provider and resumes when a new client starts. Idempotent.
  virtual void stop() = 0;
};

} // namespace pactum::payments
