#pragma once

// The escrow contract's rules as a pure state machine: no CAF, no I/O, no clock. The contract
// actor feeds it commands with the current time, journals what it decides, and commits the
// ledger transfers `postings` derives from each event in the same transaction. Unit-tested alone
// (tests/actors/contract_machine_test.cpp) and under a seeded simulation against a double-entry
// ledger model (tests/actors/contract_sim_test.cpp).
//
// Lifecycle: awaiting_funding -> funded -> delivered <-> revision_requested -> released; a
// funded contract whose delivery deadline passes is refunded; both parties together may cancel;
// either may dispute, which stops every clock until a moderator resolves. released, refunded,
// cancelled and resolved are terminal, and then the escrow holds nothing.
//
// Money: `to_creator` (in contract.released and contract.resolved) is the creator's GROSS share;
// the commission is taken from it, so the creator receives `to_creator - commission`.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "pactum/common/expected.hpp"
#include "pactum/common/time.hpp"
#include "pactum/common/uuid.hpp"
#include "pactum/protocol/contract_events.hpp"
#include "pactum/protocol/errors.hpp"
#include "pactum/protocol/events.hpp"

namespace pactum::actors::contract {

/// Where a contract stands. The wire names (`to_string`) appear in refusals and in
/// contract.disputed's `paused_status`.
enum class contract_status : uint8_t {
  awaiting_funding,
  funded,
  delivered,
  revision_requested,
  released,   ///< terminal: the creator was paid
  refunded,   ///< terminal: the brand got the escrow back (delivery deadline)
  cancelled,  ///< terminal: cancelled, refunded if it was funded
  disputed,   ///< clocks stopped until a moderator resolves
  resolved,   ///< terminal: a moderator split the escrow
};

/// Returns the wire name, e.g. "awaiting_funding".
std::string_view to_string(contract_status) noexcept;

/// Parses a wire name; nullopt for anything else.
std::optional<contract_status> contract_status_from_string(std::string_view) noexcept;

/// Returns true for released, refunded, cancelled and resolved.
bool is_terminal(contract_status) noexcept;

/// The timer kind under which a contract's single durable timer is stored (due at
/// `state::next_timer`).
inline constexpr std::string_view timer_kind = "contract_deadline";

/// Tunables of every contract. Changing them affects decisions from then on, never events already
/// journaled (deadlines are stored in the events).
struct rules {
  /// How long the brand has to review a delivery before the escrow is released automatically.
  millis review_window = 3 * 24 * 3600 * 1000LL;
  /// The length of one day of `terms.delivery_days`. Shorter only in sandboxes and tests, where
  /// a deadline of "one day" should pass in seconds.
  millis day = 24 * 3600 * 1000LL;
  /// The least time the creator gets to deliver after a revision request.
  millis revision_window = 3 * 24 * 3600 * 1000LL;
  /// How long before a running deadline the parties are reminded.
  millis reminder_before = 24 * 3600 * 1000LL;
  /// The platform's commission on what the creator receives: basis points (1000 = 10%) ...
  int64_t commission_bps = 1000;
  /// ... plus a fixed part in minor units; never more than the share itself.
  int64_t commission_fixed = 0;
  /// The most events one contract may hold; member commands beyond it are refused
  /// (limit_reached). Events the system decides (provider results, timers) are never refused.
  size_t max_commands = 1000;
};

/// Returns the commission on a gross share `x` (>= 0): min(x, x * bps / 10000 + fixed), rounded
/// down, 0 for 0. Exact for every x up to `max_amount` (no overflow).
int64_t commission(int64_t x, const rules& r) noexcept;

/// The largest contract amount the machine accepts, in minor units.
inline constexpr int64_t max_amount = 1'000'000'000'000'000; // 10^15

/// Limits of command fields, in bytes (documented in docs/protocol.md with the requests).
inline constexpr size_t max_key_bytes = 128;
inline constexpr size_t max_items = 20;
inline constexpr size_t max_url_bytes = 2048;
inline constexpr size_t max_item_note_bytes = 2000;
inline constexpr size_t max_note_bytes = 4000;
inline constexpr size_t max_reason_bytes = 2000;
inline constexpr size_t max_payment_method_bytes = 256;
inline constexpr size_t max_provider_code_bytes = 128;

/// Everything `decide` needs to know of one contract, derived from its journal by `apply` (or
/// restored from a snapshot). Owned by the contract actor; a plain value.
struct state {
  uuid id; ///< the contract id (the journal's entity id): set by the owner before seq 1
  uuid conversation;
  int64_t offer = 0; ///< seq of the accepted offer in `conversation`
  uuid brand;
  uuid creator;
  protocol::offer_terms terms;
  millis opened_at = 0;
  contract_status status = contract_status::awaiting_funding;
  int64_t head = 0; ///< last applied seq; 0 before contract.opened

  millis funded_at = 0;
  millis delivery_due = 0; ///< while funded or revision_requested: the delivery deadline
  millis review_due = 0;   ///< while delivered: when the escrow is released automatically
  int64_t revisions_used = 0;
  int64_t deliveries = 0;
  std::string intent; ///< the funding charge in flight (provider key); empty: none
  /// The in-flight charge's payment-method token, so that the call can be re-issued (same key)
  /// after a restart; empty when no charge is in flight.
  std::string payment_method;
  std::string funded_intent; ///< the charge that funded the escrow (refunds refer to it)
  std::optional<uuid> cancel_requested_by; ///< the side that asked to cancel, until both agree

  contract_status paused_status = contract_status::awaiting_funding; ///< while disputed
  millis remaining = 0; ///< while disputed: what was left on the paused deadline
  millis reminded_for = 0; ///< the deadline last reminded of (reminders go once per deadline)

  /// What the ledger's escrow account of this contract holds (derived from events, not from
  /// postings, so that the two can be checked against each other).
  int64_t escrow = 0;

  /// Provider calls (refund keys) decided but not yet confirmed, with their amounts.
  std::map<std::string, int64_t> outstanding;

  /// A member command's idempotency record: the first event it produced and its parameters'
  /// fingerprint.
  struct key_use {
    int64_t seq = 0;          ///< the first event the command produced
    millis at = 0;            ///< that event's time
    uint64_t fingerprint = 0; ///< 64-bit hash of the command's parameters (incl. `by`)
    friend bool operator==(const key_use&, const key_use&) = default;
  };
  /// Every idempotency key ever used, per user: (user, key). Contracts see few commands, so none
  /// is forgotten.
  std::map<std::pair<uuid, std::string>, key_use> keys;

  /// Returns true once contract.opened is applied.
  bool exists() const noexcept { return head > 0; }
  /// Returns true for the contract's brand and creator (the parties).
  bool is_member(const uuid& user) const noexcept {
    return exists() && (user == brand || user == creator);
  }
  /// Returns true when the contract has ended (released, refunded, cancelled, resolved).
  bool terminal() const noexcept { return is_terminal(status); }

  /// Field-wise equality (tests compare replayed and restored states with it).
  friend bool operator==(const state&, const state&) = default;

  /// Returns the deadline whose clock is running: delivery_due while funded or
  /// revision_requested, review_due while delivered, 0 otherwise (awaiting funding, disputed,
  /// terminal).
  millis running_deadline() const noexcept;

  /// Returns when the contract's durable timer is due: the earliest of the reminder time (if that
  /// deadline was not reminded of yet) and the running deadline; 0: no timer. The time may be in
  /// the past: the timer then fires at once.
  millis next_timer(const rules& r) const noexcept;
};

/// Seq 1: the accepted offer becomes a contract. Sent by the conversation (actor) that accepted.
struct open {
  uuid id; ///< must equal state.id
  uuid conversation;
  int64_t offer = 0;
  uuid brand;
  uuid creator;
  protocol::offer_terms terms;
};

/// The brand pays into escrow with a payment-method token.
struct fund {
  uuid by;
  std::string key;
  std::string payment_method;
};

/// The provider's answer (webhook) to the funding charge `intent`.
struct payment_result {
  std::string intent;
  bool succeeded = false;
  std::string code = {}; ///< why it failed; empty means "processing_error"
};

/// The creator hands in the work.
struct deliver {
  uuid by;
  std::string key;
  std::vector<protocol::delivery_item> items;
  std::string note = {};
};

/// The brand accepts the delivery: the escrow is released to the creator.
struct approve {
  uuid by;
  std::string key;
};

/// The brand asks for changes to the delivery.
struct request_revision {
  uuid by;
  std::string key;
  std::string reason = {};
};

/// A party stops the clocks and asks a moderator to decide.
struct dispute {
  uuid by;
  std::string key;
  std::string reason;
};

/// A moderator splits a disputed escrow: `to_creator` (gross) to the creator, the rest back to
/// the brand. The machine cannot know roles: the actor sets `by_moderator` from the session.
struct resolve {
  uuid by;
  std::string key;
  int64_t to_creator = 0;
  bool by_moderator = false;
};

/// A party cancels: alone before funding, together (one after the other) once funded.
struct cancel {
  uuid by;
  std::string key;
};

/// The contract's durable timer fired: whatever is due at `now` happens (a deadline or a
/// reminder); nothing due is ignored, so a stale or repeated timer is harmless.
struct timer_fired {};

/// The provider confirmed the outgoing call `call` (a refund key) completed.
struct confirm_call {
  std::string call;
};

/// The command was refused; nothing is journaled.
struct refusal {
  protocol::error_code code;
  std::string message; ///< for the user: what was wrong and, where it helps, what to do
};

/// The command was a retry of an earlier one (same user, key and parameters): answer with the
/// earlier result (seq and time of the first event it produced).
struct duplicate {
  int64_t seq = 0;
  millis at = 0;
};

/// New events to journal, in order (seq numbers follow `state.head`).
struct accepted {
  std::vector<protocol::contract_event> events;
};

/// A system input that changes nothing: a stale or repeated provider result or confirmation, a
/// timer with nothing due. Nothing is journaled; the input is acknowledged. `reason` is for logs.
struct ignored {
  std::string reason;
};

/// What `decide` answers: refused, a retry, events to journal, or nothing to do.
using decision = std::variant<refusal, duplicate, accepted, ignored>;

/// Decides what a command does to `s` at time `now`. Pure.
decision decide(const state& s, const open& cmd, millis now, const rules& r);
decision decide(const state& s, const fund& cmd, millis now, const rules& r);
decision decide(const state& s, const payment_result& cmd, millis now, const rules& r);
decision decide(const state& s, const deliver& cmd, millis now, const rules& r);
decision decide(const state& s, const approve& cmd, millis now, const rules& r);
decision decide(const state& s, const request_revision& cmd, millis now, const rules& r);
decision decide(const state& s, const dispute& cmd, millis now, const rules& r);
decision decide(const state& s, const resolve& cmd, millis now, const rules& r);
decision decide(const state& s, const cancel& cmd, millis now, const rules& r);
decision decide(const state& s, const timer_fired& cmd, millis now, const rules& r);
decision decide(const state& s, const confirm_call& cmd, millis now, const rules& r);

/// Applies the event with sequence number `seq` (must be s.head + 1). Used both for fresh events
/// and for replaying the journal.
void apply(state& s, int64_t seq, const protocol::contract_event& ev, const rules& r);

/// Ledger account ids. Balance = credits - debits; only clearing accounts go below zero.
namespace account {

/// The payment provider's clearing account, e.g. "clearing:USD": money in transit from or to the
/// outside world.
std::string clearing(std::string_view currency);

/// The escrow account of one contract, "escrow:<uuid>" (in the contract's currency).
std::string escrow(const uuid& contract);

/// A user's balance, "user:<uuid>:USD".
std::string user(const uuid& user, std::string_view currency);

/// The platform's commission, "revenue:USD".
std::string revenue(std::string_view currency);

} // namespace account

/// One ledger transfer implied by an event. The escrow mode uses `post` only; the other kinds
/// are part of the ledger's vocabulary (two-phase transfers).
struct posting {
  enum class kind : uint8_t { post, pending, post_pending, void_pending };
  kind what = kind::post;
  std::string id;     ///< unique transfer id: "<contract>:<seq>:<n>", n = 0, 1, 2 within the event
  std::string debit;  ///< the account `amount` leaves
  std::string credit; ///< the account `amount` enters
  int64_t amount = 0; ///< > 0
  std::string currency;
  std::string pending_id = {}; ///< post_pending/void_pending: the pending transfer it resolves
  friend bool operator==(const posting&, const posting&) = default;
};

/// Returns the transfers event `ev` (with sequence number `seq`) implies, given the state before
/// it is applied. Pure; zero legs are left out. funded: clearing -> escrow; released and resolved:
/// escrow -> creator (net of commission), escrow -> revenue (commission), and for resolved escrow
/// -> clearing (the brand's share); refunded and cancelled-after-funding: escrow -> clearing.
/// Every other event moves nothing.
std::vector<posting> postings(const state& before, int64_t seq, const protocol::contract_event& ev);

/// The snapshot format this build writes. Older versions stay decodable (decode_snapshot).
inline constexpr int16_t snapshot_version = 1;

/// Encodes the whole state (msgpack) as of `s.head`. Equal states encode to equal bytes.
std::string encode_snapshot(const state& s);

/// Decodes a snapshot of any version this build has ever written.
expected<state, std::string> decode_snapshot(int16_t version, std::string_view bytes,
                                             const rules& r);

} // namespace pactum::actors::contract
