#pragma once

// Escrow contract events: what the contract entity decides, what its journal stores (msgpack
// payloads) and what subscribers receive. Like conversation events (events.hpp), an event is
// encoded once, when it is decided; `event_to_json` turns the bytes into JSON text.
//
// Money amounts are integers in minor units of the contract's currency. Provider idempotency keys
// ("intent", "refund", "call") are strings the payment provider sees: `<contract>:fund:<seq>` and
// `<contract>:refund:<seq>`, where seq is that of the event that starts the call.

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

/// Seq 1 of every contract journal: the accepted offer `offer` (its seq in `conversation`) with
/// its terms. The contract's id is the journal's entity id (the `contract` of offer.accepted).
struct contract_opened {
  uuid conversation;
  int64_t offer = 0;
  uuid brand;
  uuid creator;
  offer_terms terms;
  millis at = 0;
  friend bool operator==(const contract_opened&, const contract_opened&) = default;
};

/// The brand asked to fund the escrow: a charge of `amount` with `payment_method` is started at
/// the provider under the idempotency key `intent`. The outcome arrives as funded or
/// funding_failed.
struct contract_funding_requested {
  uuid by;
  std::string key;            ///< the brand's idempotency key
  std::string intent;         ///< provider idempotency key, "<contract>:fund:<seq>"
  std::string payment_method; ///< the provider's payment-method token
  int64_t amount = 0;
  std::string currency;
  millis at = 0;
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

/// The charge `intent` succeeded: the amount is in escrow and the delivery clock runs.
struct contract_funded {
  std::string intent;
  millis delivery_due = 0; ///< `at` + terms.delivery_days days
  millis at = 0;
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

/// The escrow went back to the brand (through the provider call `refund`).
struct contract_refunded {
  int64_t amount = 0;
  std::string reason; ///< "delivery_deadline" (the only one decided today) or "cancelled"
  std::string refund; ///< provider idempotency key, "<contract>:refund:<seq>"
  millis at = 0;
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
/// escrow is refunded to the brand through the provider call `refund`.
struct contract_cancelled {
  uuid by;
  std::string key;
  int64_t refunded = 0; ///< 0 when it was not funded
  std::string refund;   ///< provider idempotency key; empty when nothing is refunded
  millis at = 0;
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
/// amount.
struct contract_resolved {
  uuid by; ///< the moderator
  std::string key;
  int64_t to_creator = 0;
  int64_t to_brand = 0;
  int64_t commission = 0;
  std::string refund; ///< provider idempotency key when to_brand > 0, else empty
  millis at = 0;
  friend bool operator==(const contract_resolved&, const contract_resolved&) = default;
};

/// A running deadline is near (journaled so that it is sent once per deadline).
struct contract_reminder {
  std::string deadline; ///< "delivery" or "review"
  millis due = 0;
  millis at = 0;
  friend bool operator==(const contract_reminder&, const contract_reminder&) = default;
};

/// The provider confirmed that the outgoing call `call` (a refund key) completed.
struct contract_provider_confirmed {
  std::string call;
  millis at = 0;
  friend bool operator==(const contract_provider_confirmed&,
                         const contract_provider_confirmed&) = default;
};

using contract_event =
  std::variant<contract_opened, contract_funding_requested, contract_funding_failed,
               contract_funded, contract_delivered, contract_revision_requested, contract_released,
               contract_refunded, contract_cancel_requested, contract_cancelled, contract_disputed,
               contract_resolved, contract_reminder, contract_provider_confirmed>;

/// Returns the journal/event type name, e.g. "contract.funded".
std::string_view contract_event_type(const contract_event&) noexcept;

/// Returns true when `type` names a contract event (one `decode_contract_event` knows).
bool is_contract_event_type(std::string_view type) noexcept;

/// Returns the payload version written by this build for that event's type (1 for all today).
int16_t contract_event_version(const contract_event&) noexcept;

/// Encodes as a msgpack map that includes `"type"`: the exact bytes stored in the journal and
/// embedded in pushes. Uuids are strings.
std::string encode_contract_event(const contract_event&);

/// Decodes a journal payload. Accepts every version this build has ever written; a missing field
/// or one of the wrong type is an error.
expected<contract_event, std::string> decode_contract_event(std::string_view type,
                                                            int16_t version,
                                                            std::string_view msgpack);

/// Returns why `terms` cannot be a contract's, or nullopt when they can: the rules offers are
/// decoded with (docs/protocol.md, "Offers"), and the terms must be in the canonical form decoding
/// yields (e.g. every deliverable names its platform), so that a journaled contract.opened decodes
/// to exactly what was decided.
std::optional<std::string> validate_contract_terms(const offer_terms& terms);

} // namespace pactum::protocol
