#pragma once

// The embedded SANDBOX payment provider: behaves like an external provider (idempotent calls,
// asynchronous outcomes as signed webhooks, retries with backoff, authorizations that lapse) but
// keeps its state in its own PostgreSQL tables (migration 0008) and talks to nothing beyond the
// loopback interface. Only the public test card numbers below are accepted, so real card data
// can never reach it. See docs/payments.md.
//
// Lifecycle: `make_sandbox` starts a store thread (one connection) and a delivery thread; the
// schema must already be migrated (persistence::database::migrate). `stop()` joins both; pending
// webhooks stay in the outbox and a later sandbox on the same database delivers them.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "pactum/payments/provider.hpp"

namespace pactum::payments {

/// Test payment methods (public test card numbers).
namespace test_cards {
/// Succeeds: payment_intent.succeeded (capture) or payment_intent.authorized.
inline constexpr std::string_view success = "4242424242424242";
/// payment_intent.failed, failure_code card_declined.
inline constexpr std::string_view declined = "4000000000000002";
/// payment_intent.failed, failure_code insufficient_funds.
inline constexpr std::string_view insufficient_funds = "4000000000009995";
/// The first two create_intent calls with a key fail with network_error; later ones succeed.
inline constexpr std::string_view network_error = "4000000000000119";
/// Succeeds, but the webhook is due only after `late_webhook_delay`.
inline constexpr std::string_view late_webhook = "4000000000003220";
/// Succeeds; an authorization lapses after `short_authorization_validity`.
inline constexpr std::string_view short_authorization = "4000000000000341";
} // namespace test_cards

/// A payout destination whose payout fails (payout.failed, failure_code account_closed); any
/// other non-empty destination is paid.
inline constexpr std::string_view failing_payout_destination = "acct_closed";

struct sandbox_config {
  std::string database_url; ///< PostgreSQL holding the sandbox tables (pactumd's own database)
  /// Where webhooks are POSTed: http:// on a loopback host only (127.x.x.x, localhost, [::1]).
  std::string webhook_url = "http://127.0.0.1:8080/api/v1/webhooks/payments";
  std::string webhook_secret; ///< HMAC key for Pactum-Signature; must not be empty
  std::chrono::milliseconds outcome_delay{50};      ///< call → its outcome webhook falls due
  std::chrono::milliseconds late_webhook_delay{30'000}; ///< the same, for the late test card
  std::chrono::milliseconds authorization_validity{6 * 24 * 3600 * 1000LL}; ///< 6 days
  std::chrono::milliseconds short_authorization_validity{10'000}; ///< for the short-expiry card
  std::chrono::milliseconds retry_backoff_start{500}; ///< first delay after a failed delivery
  std::chrono::milliseconds retry_backoff_max{30'000}; ///< the delay doubles up to this
  std::chrono::milliseconds delivery_timeout{5'000};   ///< connect + send + receive, per POST
  /// Webhooks of different objects POSTed at the same time (one object's stay in order).
  size_t delivery_concurrency = 32;
};

/// Starts a sandbox provider. Throws std::invalid_argument for an empty secret or a webhook URL
/// that is not http:// on a loopback host.
std::unique_ptr<provider> make_sandbox(sandbox_config cfg);

} // namespace pactum::payments
