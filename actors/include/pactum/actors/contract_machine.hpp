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
// cancelled and resolved are terminal, and then the escrow holds nothing. In authorize_capture
// mode (below) paying the creator goes through `releasing` (and, if the money cannot be
// collected, `payment_due`) before released or resolved.
//
// Money: `to_creator` (in contract.released and contract.resolved) is the creator's GROSS share;
// the commission is taken from it, so the creator receives `to_creator - commission`.
//
// Two funding modes (`open::mode`, journaled in contract.opened):
//
// escrow (the default, and every contract journaled before the second mode existed): `fund`
// charges the card (create_intent, capture = true); its success (contract.funded) posts
// clearing -> escrow, and releases, refunds and resolutions move posted escrow money.
//
// authorize_capture (regions where holding escrow is restricted): the card is only authorized,
// and the money is taken when the creator is paid. Decisions, each documented where it is made:
//
// - Funding. `fund` -> contract.funding_requested{capture = false}; success -> contract.funded
//   {authorized, authorization_expires_at} whose posting is a PENDING transfer clearing -> escrow
//   (`state::authorization` is its id, `state::authorized` its amount). The token the brand funded
//   with is kept (`state::funding_method`) until the contract ends: re-authorizations and the
//   fallback charge need it. An authorization is trusted for `rules::authorization_validity`
//   counted from the REQUEST (the provider cannot have authorized earlier), not from the webhook.
// - Paying the creator (approve, a lapsed review, a moderator's split with to_creator > 0) first
//   collects the money: contract.capture_requested, status `releasing` (no clock runs; member
//   commands other than retries are refused). The capture's success (`capture_result`) journals
//   contract.released / contract.resolved with post_pending(authorization) and the usual legs; a
//   split captures the whole authorization (the provider captures whole amounts only) and refunds
//   the brand's share with a refund call on the captured intent.
// - A failed capture (any code; "authorization_expired" is the expected one) voids the
//   authorization (contract.capture_failed, which also cancels it at the provider unless it
//   lapsed) and charges the card instead (create_intent, capture = true) for exactly what is
//   needed: the whole amount for a release, the creator's gross share for a split. The charge's
//   success journals contract.charged (clearing -> escrow, posted) and the final event in one
//   append; its failure, contract.charge_failed: status `payment_due`, nothing is held, and the
//   creator is paid only once the brand pays with `fund` (capture = true, same split). Collecting
//   from a brand that never pays is outside the machine.
// - Giving the money back (delivery deadline, cancel after funding, a split with to_creator = 0)
//   voids the pending transfer and cancels the authorization at the provider (call `cancel`, no
//   refund); when the contract holds nothing any more (fallback) nothing moves and nothing is
//   called, and the amount given back is 0.
// - Re-authorization. While an authorization is held in funded, revision_requested, delivered or
//   disputed, and the contract could still need to capture after `authorization_expires_at -
//   authorization_margin` (funded/revision_requested: delivery_due + review_window; delivered:
//   review_due; disputed: always), that time is part of `next_timer`; when it fires,
//   contract.reauthorization_requested starts a new authorization. Success: contract.reauthorized
//   (void the old pending transfer, a new pending one; the old authorization is cancelled at the
//   provider). Failure (or the provider reporting the live authorization lapsed):
//   contract.fallback_charge_on_approval (void; the contract stays funded in terms but holds
//   nothing, and paying the creator charges the card instead of capturing).
// - While a re-authorization is in flight no money may move: approve, cancel-after-funding and
//   resolve are refused (conflict, "try again in a moment") and no clock fires (`next_timer` is 0);
//   provider answers take seconds, and the deadlines fire as soon as the outcome is journaled.
//
// Ledger invariants kept on every path (checked by the simulation): per-currency sums are zero,
// no floored account goes below zero (pending debits count), every pending transfer is resolved
// exactly once with its own accounts and amount, and a terminal contract holds nothing, posted or
// pending. Non-terminal: escrow mode holds `escrow == amount` once funded; authorize_capture holds
// `authorized == amount` (escrow 0) while it has an authorization and 0/0 in the fallback, and
// `escrow` only ever holds money between contract.charged and the release in the same append.
//
// Performance contracts (cpc/cpv campaigns; docs/contracts.md, "Performance contracts"): a
// contract opened with `performance` terms holds its amount as the creator's CAP in escrow and is
// paid per unit by the system command `bill` (event contract.performance_billed: escrow -> creator
// net of commission, escrow -> revenue), never as a whole: approve and dispute are refused, a
// lapsing review window releases nothing. Bills are idempotent by a watermark (`billed_through`,
// the last billed row id); gross is capped at what the escrow holds, and a bill that empties it
// ends the contract as released. The remainder goes back to the brand (contract.refunded) at the
// delivery deadline without a delivery, at the campaign's end (reason "campaign_ended"), or on a
// mutual cancel (also allowed while delivered). Escrow mode only.
//
// Provider calls: `calls_due` lists every call the journal says is owed, for the actor to make
// after commit and again on activation; a call leaves the list when its outcome is journaled.

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
  /// authorize_capture: the money for a release or resolution is being collected (a capture of
  /// the authorization, or a charge in its place); no clock runs.
  releasing,
  /// authorize_capture: collecting that money failed; nothing is held and the brand must pay
  /// (`fund`) before the creator is paid. No clock runs.
  payment_due,
};

/// Returns the wire name, e.g. "awaiting_funding".
std::string_view to_string(contract_status) noexcept;

/// Parses a wire name; nullopt for anything else.
std::optional<contract_status> contract_status_from_string(std::string_view) noexcept;

/// Returns true for released, refunded, cancelled and resolved.
bool is_terminal(contract_status) noexcept;

/// How the contract holds the brand's money (wire names "escrow", "authorize_capture").
using protocol::funding_mode;

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
  /// authorize_capture: how long an authorization is trusted, counted from its request (the
  /// provider's own validity or less).
  millis authorization_validity = 6 * 24 * 3600 * 1000LL;
  /// authorize_capture: how long before an authorization stops being trusted it is renewed.
  /// Clamped to [0, authorization_validity / 2] so that a renewal never falls due at once.
  millis authorization_margin = 24 * 3600 * 1000LL;
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

/// One outgoing payment-provider call the journal says is owed (see `calls_due`). The actor makes
/// exactly these, with these keys (the provider's idempotency makes repeats harmless).
struct provider_call {
  enum class kind : uint8_t {
    create_intent, ///< provider create_intent({key, amount, currency, payment_method, capture})
    capture,       ///< provider capture(key, intent): the whole authorization
    cancel,        ///< provider cancel(key, intent): void an authorization
    refund,        ///< provider refund(key, intent, amount)
  };
  kind what = kind::create_intent;
  std::string key;    ///< the call's idempotency key
  std::string intent; ///< create_intent: the new intent's key (== key); else the intent acted on
  int64_t amount = 0; ///< create_intent, refund: the amount; capture, cancel: the authorization's
  std::string currency;
  bool capture = true;             ///< create_intent only: false = authorize only
  std::string payment_method = {}; ///< create_intent only: the token to charge or authorize
  friend bool operator==(const provider_call&, const provider_call&) = default;
};

/// Returns the wire-ish name of a call kind: "create_intent", "capture", "cancel", "refund".
std::string_view to_string(provider_call::kind) noexcept;

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
  /// The intent that holds the money: the charge that funded the escrow, or (authorize_capture)
  /// the live authorization, or the charge that replaced it. Captures and refunds refer to it.
  std::string funded_intent;
  std::optional<uuid> cancel_requested_by; ///< the side that asked to cancel, until both agree

  funding_mode mode = funding_mode::escrow; ///< from contract.opened
  /// The intent in flight (`intent`): true for a charge, false for an authorization (funding in
  /// authorize_capture mode, or a re-authorization).
  bool intent_capture = true;
  int64_t intent_amount = 0; ///< the intent in flight: its amount; 0 when none
  /// An authorization in flight: when it was requested (its validity counts from then); 0 else.
  millis authorization_requested_at = 0;
  /// authorize_capture: the payment-method token the contract was funded with, kept until the
  /// contract ends (re-authorizations, the fallback charge); empty in escrow mode.
  std::string funding_method;
  /// authorize_capture: the ledger id of the live pending transfer clearing -> escrow (the
  /// authorization held for `funded_intent`); empty when none is held.
  std::string authorization;
  int64_t authorized = 0; ///< its amount (the escrow's pending credit); 0 when none
  millis authorization_expires_at = 0; ///< when the held authorization stops being trusted
  /// The capture call in flight (its key; it captures `funded_intent`); empty when none.
  std::string capture;
  /// A release or resolution waiting for its money (status releasing or payment_due).
  struct settlement {
    std::string reason; ///< "approved", "review_lapsed" or "resolved"
    int64_t to_creator = 0; ///< gross
    int64_t commission = 0;
    uuid by = {};         ///< nil when review_lapsed
    std::string key = {}; ///< empty when review_lapsed
    friend bool operator==(const settlement&, const settlement&) = default;
  };
  std::optional<settlement> settling;
  /// Cancel calls (authorizations to void at the provider) decided but not yet confirmed: call
  /// key -> the intent to cancel.
  std::map<std::string, std::string> cancels;

  contract_status paused_status = contract_status::awaiting_funding; ///< while disputed
  millis remaining = 0; ///< while disputed: what was left on the paused deadline
  millis reminded_for = 0; ///< the deadline last reminded of (reminders go once per deadline)

  /// What the ledger's escrow account of this contract holds, POSTED (derived from events, not
  /// from postings, so that the two can be checked against each other). A pending authorization
  /// is not in it (see `authorized`).
  int64_t escrow = 0;

  /// Performance contracts only (from contract.opened); nullopt for an ordinary contract.
  std::optional<protocol::performance_terms> performance;
  int64_t billed_through = 0; ///< the billing watermark: the last row id billed (0: none)
  int64_t billed_units = 0;   ///< clicks or views billed so far (the cpv remainder carries over)
  int64_t billed_gross = 0;   ///< gross paid out of the escrow by bills so far

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
  /// Returns true while a re-authorization is in flight (then no money may move).
  bool reauthorizing() const noexcept;
  /// Returns true for an authorize_capture contract that is funded in terms but holds nothing
  /// (after a failed re-authorization or a lapse): paying the creator charges the card.
  bool charge_on_approval() const noexcept;
  /// Returns when the held authorization must be renewed (authorization_expires_at minus the
  /// margin) if the contract could still need it after then; 0 when no renewal is due.
  millis reauthorize_at(const rules& r) const noexcept;

  /// Field-wise equality (tests compare replayed and restored states with it).
  friend bool operator==(const state&, const state&) = default;

  /// Returns the deadline whose clock is running: delivery_due while funded or
  /// revision_requested, review_due while delivered, 0 otherwise (awaiting funding, disputed,
  /// terminal).
  millis running_deadline() const noexcept;

  /// Returns when the contract's durable timer is due: the earliest of the reminder time (if that
  /// deadline was not reminded of yet), the running deadline and `reauthorize_at`; 0: no timer
  /// (also while a re-authorization is in flight). The time may be in the past: the timer then
  /// fires at once.
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
  funding_mode mode = funding_mode::escrow; ///< how the money will be held
  /// A performance contract's terms (escrow mode only); nullopt: an ordinary contract.
  std::optional<protocol::performance_terms> performance = std::nullopt;
};

/// The brand pays into escrow with a payment-method token (authorize_capture: authorizes it; in
/// status payment_due: pays the release or resolution waiting for its money).
struct fund {
  uuid by;
  std::string key;
  std::string payment_method;
};

/// The provider's answer to the create_intent call `intent`: the funding charge or authorization,
/// a re-authorization, or a charge for a release (webhooks payment_intent.succeeded /
/// .authorized = succeeded, payment_intent.failed = failed with its failure_code; a call the
/// provider refused outright = failed with the refusal's code).
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

/// The provider confirmed the outgoing call `call` (a refund or cancel key) completed: webhook
/// refund.succeeded, or payment_intent.canceled with reason "requested"; a cancel the provider
/// refuses because the authorization is gone already (invalid_state) counts as completed too.
struct confirm_call {
  std::string call;
};

/// authorize_capture: the provider's answer to the capture call `call` (webhook
/// payment_intent.captured = succeeded; a capture refused outright = failed, code
/// "authorization_expired" when the authorization lapsed, else the refusal's code).
struct capture_result {
  std::string call;
  bool succeeded = false;
  std::string code = {}; ///< why it failed; empty means "processing_error"
};

/// authorize_capture: the provider reports that the authorization `intent` lapsed on its own
/// (webhook payment_intent.canceled with reason "expired"). Only the live authorization matters,
/// and only when no capture or re-authorization is in flight (their outcomes decide then).
struct authorization_lapsed {
  std::string intent;
};

/// System command (the settlement job, through the contract actor): pay `units` valid clicks or
/// views counted on rows (`after`, `through`] (ids). `after` must equal `state::billed_through`
/// (the count was made from the current watermark; otherwise it is stale and ignored); a
/// `through` at or below the watermark is a repeat and ignored.
struct bill {
  int64_t after = 0;
  int64_t through = 0;
  int64_t units = 0;
};

/// The settlement job's nudge: the contract actor counts its unbilled units itself and then
/// decides a `bill`. The machine ignores it (the actor handles it before deciding).
struct bill_due {};

/// Returns what `units` more units cost after `billed_units` were billed: cpc `units * rate`,
/// cpv `floor((billed_units + units) * rate / 1000) - floor(billed_units * rate / 1000)` (the
/// remainder below one minor unit carries to the next bill, never rounded away), capped at
/// `max_amount` (no overflow).
int64_t performance_gross(const protocol::performance_terms& p, int64_t billed_units, int64_t units) noexcept;

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
decision decide(const state& s, const capture_result& cmd, millis now, const rules& r);
decision decide(const state& s, const authorization_lapsed& cmd, millis now, const rules& r);
decision decide(const state& s, const bill& cmd, millis now, const rules& r);
decision decide(const state& s, const bill_due& cmd, millis now, const rules& r);

/// Returns the provider calls the journal says are owed, in this order: the create_intent in
/// flight (funding, re-authorization or a charge for a release), the capture in flight, the
/// cancels and the refunds not yet confirmed. Pure. A call leaves the list when the event that
/// records its outcome is applied (funded / funding_failed / reauthorized / fallback / charged /
/// charge_failed; released / resolved / capture_failed; provider_confirmed).
std::vector<provider_call> calls_due(const state& s);

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

/// One ledger transfer implied by an event. The escrow mode uses `post` only; authorize_capture
/// holds its authorization as a `pending` transfer clearing -> escrow, resolved exactly once by
/// `post_pending` (captured) or `void_pending` (given back, renewed or lost), which name the
/// pending transfer's own accounts and amount.
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
/// it is applied. Pure; zero legs are left out. Ids are "<contract>:<seq>:<n>" in order.
///
/// escrow mode: funded: clearing -> escrow; released and resolved: escrow -> creator (net of
/// commission), escrow -> revenue (commission), and for resolved escrow -> clearing (the brand's
/// share); refunded and cancelled-after-funding: escrow -> clearing.
///
/// authorize_capture: funded: pending clearing -> escrow; reauthorized: void(old), pending(new);
/// fallback_charge_on_approval and capture_failed: void; released / resolved after a capture:
/// post_pending, then the legs above (resolved's brand leg only when it has a refund call);
/// charged: clearing -> escrow (posted), then released / resolved take the legs from escrow;
/// refunded, cancelled and resolved with to_creator = 0 while an authorization is held: void.
/// Every other event moves nothing.
std::vector<posting> postings(const state& before, int64_t seq, const protocol::contract_event& ev);

/// The snapshot format this build writes. Older versions stay decodable (decode_snapshot):
/// version 1 (before authorize_capture) decodes as an escrow-mode state. Version 2 adds the
/// authorize_capture fields, among them `funding_method` (a provider token, never card data).
inline constexpr int16_t snapshot_version = 2;

/// Encodes the whole state (msgpack) as of `s.head`. Equal states encode to equal bytes.
std::string encode_snapshot(const state& s);

/// Decodes a snapshot of any version this build has ever written.
expected<state, std::string> decode_snapshot(int16_t version, std::string_view bytes,
                                             const rules& r);

} // namespace pactum::actors::contract
