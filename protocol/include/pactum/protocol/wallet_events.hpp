#pragma once

// A user's wallet: withdrawals of what they have been paid (the ledger account user:<id>:<CUR>)
// through the payment provider. The wallet's journal is keyed by the user's id (entity type
// "wallet"); its events are encoded once, journaled and returned by the withdrawals listing.

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "pactum/common/expected.hpp"
#include "pactum/common/time.hpp"

namespace pactum::protocol {

/// The user asked to withdraw `amount`: it is reserved (a pending ledger transfer) and paid out
/// to `destination` through the provider under the key `payout` ("<user>:payout:<seq>").
struct withdrawal_requested {
  std::string key; ///< the user's idempotency key
  std::string payout;
  int64_t amount = 0;
  std::string currency;
  std::string destination; ///< the provider's payee account (opaque)
  millis at = 0;
  friend bool operator==(const withdrawal_requested&, const withdrawal_requested&) = default;
};

/// The provider paid the withdrawal out: the reservation is posted.
struct withdrawal_paid {
  std::string payout;
  millis at = 0;
  friend bool operator==(const withdrawal_paid&, const withdrawal_paid&) = default;
};

/// The payout failed (e.g. "account_closed"): the reservation is voided, the money is back.
struct withdrawal_failed {
  std::string payout;
  std::string code;
  millis at = 0;
  friend bool operator==(const withdrawal_failed&, const withdrawal_failed&) = default;
};

using wallet_event = std::variant<withdrawal_requested, withdrawal_paid, withdrawal_failed>;

/// "wallet.withdrawal_requested", "wallet.withdrawal_paid" or "wallet.withdrawal_failed".
std::string_view wallet_event_type(const wallet_event&) noexcept;

/// The payload version this build writes (1).
int16_t wallet_event_version(const wallet_event&) noexcept;

/// Encodes as a msgpack map with `"type"`.
std::string encode_wallet_event(const wallet_event&);

/// Decodes a journal payload; a missing or mistyped field is an error naming it.
expected<wallet_event, std::string> decode_wallet_event(std::string_view type, int16_t version,
                                                        std::string_view msgpack);

} // namespace pactum::protocol
