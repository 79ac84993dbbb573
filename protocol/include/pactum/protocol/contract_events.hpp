#pragma once

// Escrow contract events: what the contract entity decides, what its journal stores (msgpack
// payloads) and what subscribers receive. Like conversation events (events.hpp), an event is
// encoded once, when it is decided; `event_to_json` turns the bytes into JSON text.
//
// Money amounts are integers in minor units of the contract's currency. Provider idempotency keys
// ("intent", "refund", "call", "capture", "cancel", "charge") are strings the payment provider
// sees: `<contract>:<call>:<seq>` with call one of fund, refund, reauth, capture, charge and
// cancel, where seq is that of the event that starts the call.
//
// Versions. A payload's version is decided by its content (`contract_event_version`): an event
// that only uses fields that existed in version 1 is written as version 1, byte for byte as
// before, so escrow-mode journals look exactly as they always did (and an older build still reads
// them). The fields added for the `authorize_capture` funding mode exist only in version 2 of
// contract.opened (funding_mode), contract.funding_requested (capture), contract.funded
// (authorized, authorization_expires_at), contract.refunded, contract.cancelled and
// contract.resolved (cancel); an event that sets one of them is written as version 2, where they
// are required, so that an older build refuses it instead of misreading it. Version 1 payloads
// decode with those fields at their defaults (escrow). The event types added with that mode are
// version 1. Version 3 of contract.opened adds `performance` (a cpc/cpv performance contract,
// docs/contracts.md "Performance contracts"); it implies the version-2 field funding_mode.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "pactum/common/expected.hpp"
#include "pactum/common/time.hpp"
#include "pactum/common/uuid.hpp"
#include "pactum/protocol/events.hpp"

namespace pactum::protocol {

/// How a contract holds the brand's money until it is released or given back.
enum class funding_mode : uint8_t {
  /// The brand's card is charged at funding and the money sits in the contract's escrow account.
  escrow,
  /// For regions where holding escrow is restricted: the card is only authorized at funding (a
  /// pending ledger transfer into escrow), captured when the creator is paid, and the
  /// authorization is cancelled when the brand gets its money back. Authorizations lapse, so the
  /// contract renews them (re-authorization) while it runs.
  authorize_capture,
};

/// Returns the wire name: "escrow" or "authorize_capture".
std::string_view to_string(funding_mode) noexcept;

/// Parses a wire name; nullopt for anything else.
std::optional<funding_mode> funding_mode_from_string(std::string_view) noexcept;

/// What makes a contract a performance contract (docs/contracts.md, "Performance contracts"): the
/// campaign it bills (the conversation's most recently linked campaign when the offer was
/// accepted), its pricing model ("cpc": `rate` per valid click; "cpv": `rate` per 1,000 views) and
/// the campaign's end as then (0: none). The contract's amount is the creator's cap.
struct performance_terms {
  uuid campaign;
  std::string model; ///< "cpc" or "cpv"
  int64_t rate = 0;  ///< minor units per click (cpc) or per 1,000 views (cpv), > 0
  millis ends_at = 0;
  friend bool operator==(const performance_terms&, const performance_terms&) = default;
};

/// Seq 1 of every contract journal: the accepted offer `offer` (its seq in `conversation`) with
/// its terms. The contract's id is the journal's entity id (the `contract` of offer.accepted).
struct contract_opened {
  uuid conversation;
  int64_t offer = 0;
  uuid brand;
  uuid creator;
  offer_terms terms;
  millis at = 0;
  /// Wire "funding_mode" (version 2 only); absent in version 1, which means escrow.
  funding_mode mode = funding_mode::escrow;
  /// Wire "performance" (version 3 only); absent: an ordinary contract.
  std::optional<performance_terms> performance = std::nullopt;
  friend bool operator==(const contract_opened&, const contract_opened&) = default;
};

/// The brand asked to fund the escrow: a charge of `amount` with `payment_method` is started at
/// the provider under the idempotency key `intent` (create_intent; with `capture = false` only an
/// authorization). The outcome arrives as funded or funding_failed. In authorize_capture mode the
/// same event (with capture = true) is the brand paying a release or resolution whose money could
/// not be collected (status payment_due); its success is then contract.charged.
struct contract_funding_requested {
  uuid by;
  std::string key;            ///< the brand's idempotency key
  std::string intent;         ///< provider idempotency key, "<contract>:fund:<seq>"
  std::string payment_method; ///< the provider's payment-method token
  int64_t amount = 0;
  std::string currency;
  millis at = 0;
  /// false: authorize only (authorize_capture mode; wire "capture", version 2 only). Absent in
  /// version 1, which means true.
  bool capture = true;
  friend bool operator==(const contract_funding_requested&,
                         const contract_funding_requested&) = default;
};

/// The provider declined the charge `intent`; the brand may try again with a new key.
struct contract_funding_failed {
  std::string intent;
  std::string code; ///< "card_declined", "insufficient_funds", "processing_error", ...
  millis at = 0;
  friend bool operator==(const contract_funding_failed&, const contract_funding_failed&) = default;
};

/// The charge `intent` succeeded: the amount is in escrow and the delivery clock runs. With
/// `authorized`, the intent was only authorized: the amount is promised to the escrow (a pending
/// transfer), not in it.
struct contract_funded {
  std::string intent;
  millis delivery_due = 0; ///< `at` + terms.delivery_days days
  millis at = 0;
  bool authorized = false; ///< authorize_capture mode (version 2 only; absent: false)
  /// With `authorized`: when the machine stops trusting the authorization (request time +
  /// rules::authorization_validity); 0 otherwise.
  millis authorization_expires_at = 0;
  friend bool operator==(const contract_funded&, const contract_funded&) = default;
};

/// One delivered piece of work: where it is published (or can be reviewed) and a note.
struct delivery_item {
  std::string url;  ///< http(s) URL
  std::string note; ///< may be empty
  friend bool operator==(const delivery_item&, const delivery_item&) = default;
};

/// The creator delivered; the brand reviews until `review_due`, after which the escrow is
/// released automatically.
struct contract_delivered {
  uuid by;
  std::string key;
  std::vector<delivery_item> items;
  std::string note;
  int64_t round = 0; ///< 0 for the first delivery, n after the n-th revision
  millis review_due = 0;
  millis at = 0;
  friend bool operator==(const contract_delivered&, const contract_delivered&) = default;
};

/// The brand asked for revision number `round` (1-based, this one included).
struct contract_revision_requested {
  uuid by;
  std::string key;
  std::string reason;
  int64_t round = 0;
  millis delivery_due = 0; ///< the new delivery deadline
  millis at = 0;
  friend bool operator==(const contract_revision_requested&,
                         const contract_revision_requested&) = default;
};

/// The escrow went to the creator. `to_creator` is the gross share (the whole amount); the
/// creator receives `to_creator - commission`, the platform `commission`.
struct contract_released {
  int64_t to_creator = 0;
  int64_t commission = 0;
  bool automatic = false; ///< true when the review window lapsed
  millis at = 0;
  uuid by = {};           ///< the approving brand; nil when automatic
  std::string key = {};   ///< the brand's idempotency key; empty when automatic
  friend bool operator==(const contract_released&, const contract_released&) = default;
};

/// The escrow went back to the brand (through the provider call `refund`). In authorize_capture
/// mode nothing was captured: the authorization is cancelled (provider call `cancel`, `refund`
/// empty), or, when the contract held no authorization any more (fallback), nothing is called and
/// `amount` is 0.
struct contract_refunded {
  int64_t amount = 0; ///< what goes back to the brand: money refunded or an authorization released
  std::string reason; ///< "delivery_deadline" (the only one decided today) or "cancelled"
  std::string refund; ///< provider idempotency key, "<contract>:refund:<seq>"; may be empty
  millis at = 0;
  /// authorize_capture: the cancel call's key, "<contract>:cancel:<seq>" (version 2 only).
  std::string cancel = {};
  friend bool operator==(const contract_refunded&, const contract_refunded&) = default;
};

/// One side asked to cancel a funded contract; the other side's cancel completes it.
struct contract_cancel_requested {
  uuid by;
  std::string key;
  millis at = 0;
  friend bool operator==(const contract_cancel_requested&,
                         const contract_cancel_requested&) = default;
};

/// The contract was cancelled (by one side before funding, by both after); when it was funded the
/// escrow is refunded to the brand through the provider call `refund` (authorize_capture: the
/// authorization is cancelled through the call `cancel` instead, as in contract.refunded).
struct contract_cancelled {
  uuid by;
  std::string key;
  int64_t refunded = 0; ///< 0 when it was not funded (or held nothing any more)
  std::string refund;   ///< provider idempotency key; empty when nothing is refunded
  millis at = 0;
  /// authorize_capture: the cancel call's key, "<contract>:cancel:<seq>" (version 2 only).
  std::string cancel = {};
  friend bool operator==(const contract_cancelled&, const contract_cancelled&) = default;
};

/// A party disputed; every clock stops until a moderator resolves.
struct contract_disputed {
  uuid by;
  std::string key;
  std::string reason;
  std::string paused_status; ///< the status it was in: "funded", "delivered", ...
  millis remaining = 0;      ///< time that was left on the running deadline; 0 if none
  millis at = 0;
  friend bool operator==(const contract_disputed&, const contract_disputed&) = default;
};

/// A moderator split the escrow: `to_creator` (gross; the creator receives `to_creator -
/// commission`) and `to_brand` (refunded through the provider call `refund`), summing to the
/// amount. In authorize_capture mode a split with to_creator > 0 is decided as
/// contract.capture_requested and this event follows the capture (or the charge); to_creator = 0
/// cancels the authorization (`cancel`) instead. When the brand's share was never taken (the
/// fallback charged only the creator's share) `refund` is empty although to_brand > 0.
struct contract_resolved {
  uuid by; ///< the moderator
  std::string key;
  int64_t to_creator = 0;
  int64_t to_brand = 0;
  int64_t commission = 0;
  std::string refund; ///< provider idempotency key when to_brand is given back by a refund
  millis at = 0;
  /// authorize_capture, to_creator = 0: the cancel call's key (version 2 only).
  std::string cancel = {};
  friend bool operator==(const contract_resolved&, const contract_resolved&) = default;
};

/// A running deadline is near (journaled so that it is sent once per deadline).
struct contract_reminder {
  std::string deadline; ///< "delivery" or "review"
  millis due = 0;
  millis at = 0;
  friend bool operator==(const contract_reminder&, const contract_reminder&) = default;
};

/// The provider confirmed that the outgoing call `call` (a refund or cancel key) completed.
struct contract_provider_confirmed {
  std::string call;
  millis at = 0;
  friend bool operator==(const contract_provider_confirmed&,
                         const contract_provider_confirmed&) = default;
};

// -- authorize_capture mode ------------------------------------------------------------------------

/// The authorization held by the contract is about to lapse: a new one of `amount` is requested
/// (create_intent with capture = false, idempotency key `intent` = "<contract>:reauth:<seq>",
/// the payment method the contract was funded with). The outcome arrives as contract.reauthorized
/// or contract.fallback_charge_on_approval.
struct contract_reauthorization_requested {
  std::string intent;
  int64_t amount = 0;
  std::string currency;
  millis at = 0;
  friend bool operator==(const contract_reauthorization_requested&,
                         const contract_reauthorization_requested&) = default;
};

/// The re-authorization `intent` succeeded: it replaces the authorization `previous` (in the
/// ledger: the old pending transfer is voided and a new one made), and `previous` is cancelled at
/// the provider through the call `cancel` ("<contract>:cancel:<seq>").
struct contract_reauthorized {
  std::string intent;
  std::string previous;
  std::string cancel;
  millis authorization_expires_at = 0; ///< request time + rules::authorization_validity
  millis at = 0;
  friend bool operator==(const contract_reauthorized&, const contract_reauthorized&) = default;
};

/// The contract lost its authorization: a re-authorization `intent` failed (`code` from the
/// provider), or the authorization `intent` lapsed ("authorization_expired"). The pending
/// transfer is voided; the contract stays funded in terms but holds nothing, and a release or
/// resolution charges the card (with capture) instead. `cancel`: the cancel call for the old
/// authorization when it may still be alive, else empty.
struct contract_fallback_charge_on_approval {
  std::string intent;
  std::string code;
  std::string cancel;
  millis at = 0;
  friend bool operator==(const contract_fallback_charge_on_approval&,
                         const contract_fallback_charge_on_approval&) = default;
};

/// A release (approval, lapsed review) or a moderator's split needs the money, which the contract
/// holds only as an authorization (or, with `charge`, not at all): the provider call `capture`
/// collects `amount` from `intent` (capture of the authorization, key "<contract>:capture:<seq>";
/// with `charge`: a create_intent with capture = true, key = intent = "<contract>:charge:<seq>").
/// The contract is `releasing` until contract.released / contract.resolved (success) or
/// contract.capture_failed / contract.charge_failed. The split (`to_creator`, gross, and
/// `commission`) is decided here and copied into the final event.
struct contract_capture_requested {
  std::string capture;
  std::string intent;
  bool charge = false;
  int64_t amount = 0;
  std::string reason; ///< "approved", "review_lapsed" or "resolved"
  int64_t to_creator = 0;
  int64_t commission = 0;
  millis at = 0;
  uuid by = {};         ///< the approving brand or the moderator; absent when review_lapsed
  std::string key = {}; ///< their idempotency key; absent when review_lapsed
  friend bool operator==(const contract_capture_requested&,
                         const contract_capture_requested&) = default;
};

/// The capture `capture` failed (`code`, e.g. "authorization_expired"): the authorization is
/// voided in the ledger (and cancelled through the call `cancel` unless it lapsed, then empty),
/// and the money is charged instead: create_intent with capture = true, key = intent = `charge`
/// ("<contract>:charge:<seq>"), of `amount`.
struct contract_capture_failed {
  std::string capture;
  std::string code;
  std::string cancel;
  std::string charge;
  int64_t amount = 0;
  millis at = 0;
  friend bool operator==(const contract_capture_failed&, const contract_capture_failed&) = default;
};

/// A charge with capture (`intent`) for a release or resolution succeeded: `amount` is in escrow.
/// Always followed, in the same append, by the contract.released or contract.resolved it pays.
struct contract_charged {
  std::string intent;
  int64_t amount = 0;
  millis at = 0;
  friend bool operator==(const contract_charged&, const contract_charged&) = default;
};

/// The charge `intent` for a release or resolution failed: nothing is held, the creator cannot be
/// paid until the brand pays with another payment method (status payment_due, `fund`).
struct contract_charge_failed {
  std::string intent;
  std::string code;
  millis at = 0;
  friend bool operator==(const contract_charge_failed&, const contract_charge_failed&) = default;
};

/// A performance contract paid the creator for `units` valid clicks (cpc) or views (cpv) counted
/// up to the row id `through` (link_clicks.id or content_view_deltas.id; the contract's billing
/// watermark). `gross` (capped at what the escrow holds) leaves the escrow: `gross - commission`
/// to the creator, `commission` to the platform. `ended`: the escrow is exhausted, the contract is
/// released (terminal).
struct contract_performance_billed {
  int64_t units = 0;
  int64_t gross = 0;
  int64_t commission = 0;
  int64_t through = 0;
  bool ended = false;
  millis at = 0;
  friend bool operator==(const contract_performance_billed&,
                         const contract_performance_billed&) = default;
};

/// Every contract event; new alternatives are only ever appended.
using contract_event =
  std::variant<contract_opened, contract_funding_requested, contract_funding_failed,
               contract_funded, contract_delivered, contract_revision_requested, contract_released,
               contract_refunded, contract_cancel_requested, contract_cancelled, contract_disputed,
               contract_resolved, contract_reminder, contract_provider_confirmed,
               contract_reauthorization_requested, contract_reauthorized,
               contract_fallback_charge_on_approval, contract_capture_requested,
               contract_capture_failed, contract_charged, contract_charge_failed,
               contract_performance_billed>;

/// Returns the journal/event type name, e.g. "contract.funded".
std::string_view contract_event_type(const contract_event&) noexcept;

/// Returns true when `type` names a contract event (one `decode_contract_event` knows).
bool is_contract_event_type(std::string_view type) noexcept;

/// Returns the payload version this build writes for that event: 3 for a contract.opened with
/// `performance`, 2 when it sets a field added in version 2 (see the top of this header), else 1.
int16_t contract_event_version(const contract_event&) noexcept;

/// Encodes as a msgpack map that includes `"type"`: the exact bytes stored in the journal and
/// embedded in pushes. Uuids are strings.
std::string encode_contract_event(const contract_event&);

/// Decodes a journal payload. Accepts every version this build has ever written (1 for every
/// type, 2 for the types that have one); a missing field or one of the wrong type is an error.
expected<contract_event, std::string> decode_contract_event(std::string_view type,
                                                            int16_t version,
                                                            std::string_view msgpack);

/// Returns why `terms` cannot be a contract's, or nullopt when they can: the rules offers are
/// decoded with (docs/protocol.md, "Offers"), and the terms must be in the canonical form decoding
/// yields (e.g. every deliverable names its platform), so that a journaled contract.opened decodes
/// to exactly what was decided.
std::optional<std::string> validate_contract_terms(const offer_terms& terms);

} // namespace pactum::protocol
