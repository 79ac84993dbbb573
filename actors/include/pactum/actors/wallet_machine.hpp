#pragma once

// A user's wallet as a pure state machine: withdrawals of what the user was paid, through the
// payment provider. No CAF, no I/O, no clock: the wallet actor reads what may be withdrawn from
// the ledger (the balance less what is still settling) and the user's verification status, then
// asks `decide`. Unit-tested alone (tests/actors/wallet_machine_test.cpp).
//
// Money: a withdrawal reserves its amount at once (a pending ledger transfer from the user's
// account to the provider's clearing account, so it can neither be spent twice nor overdrawn);
// the provider's payout webhook posts it (paid) or voids it (failed: the money is back).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "pactum/actors/contract_machine.hpp"
#include "pactum/common/time.hpp"
#include "pactum/common/uuid.hpp"
#include "pactum/protocol/errors.hpp"
#include "pactum/protocol/wallet_events.hpp"

namespace pactum::actors::wallet {

struct rules {
  /// Money credited less than this long ago is still settling and cannot be withdrawn yet.
  millis settlement_window = 2 * 24 * 3600 * 1000LL;
  /// The smallest withdrawal, in minor units.
  int64_t min_withdrawal = 100;
  /// Withdrawals awaiting the provider at once.
  size_t max_pending = 5;
};

enum class withdrawal_status : uint8_t { pending, paid, failed };

std::string_view to_string(withdrawal_status) noexcept;

struct state {
  uuid user; ///< the wallet's owner (the journal's entity id)
  int64_t head = 0;

  struct withdrawal {
    int64_t seq = 0; ///< the request's event
    int64_t amount = 0;
    std::string currency;
    std::string destination;
    withdrawal_status status = withdrawal_status::pending;
    std::string code; ///< why it failed
    millis at = 0;
  };
  std::map<std::string, withdrawal> withdrawals; ///< by payout key

  /// Idempotency records: key -> (seq, fingerprint of amount, currency and destination).
  std::map<std::string, std::pair<int64_t, uint64_t>> keys;

  size_t pending() const;
  /// What the pending withdrawals of `currency` reserve.
  int64_t reserved(const std::string& currency) const;
};

/// The owner withdraws `amount` of `currency` to `destination`. `withdrawable` is what the ledger
/// says may leave now (available balance less what is settling), `verified` the owner's identity
/// verification (KYC) status; the actor reads both before deciding.
struct withdraw {
  std::string key;
  int64_t amount = 0;
  std::string currency;
  std::string destination;
  int64_t withdrawable = 0;
  bool verified = false;
};

/// The provider's outcome for payout `payout`.
struct payout_result {
  std::string payout;
  bool paid = false;
  std::string code = {};
};

struct refusal {
  protocol::error_code code;
  std::string message;
};

struct duplicate {
  int64_t seq = 0;
};

struct accepted {
  protocol::wallet_event event;
};

/// A stale or repeated provider outcome: nothing to journal.
struct ignored {};

using decision = std::variant<refusal, duplicate, accepted, ignored>;

decision decide(const state& s, const withdraw& cmd, millis now, const rules& r);
decision decide(const state& s, const payout_result& cmd, millis now, const rules& r);

void apply(state& s, int64_t seq, const protocol::wallet_event& ev);

/// The ledger transfers of an event (same vocabulary as the contract's): a request reserves
/// (pending user -> clearing), paid posts it, failed voids it.
std::vector<contract::posting> postings(const state& before, int64_t seq,
                                        const protocol::wallet_event& ev);

/// Payouts decided but not settled: the calls the actor (re)makes.
std::vector<std::string> payouts_due(const state& s);

} // namespace pactum::actors::wallet
