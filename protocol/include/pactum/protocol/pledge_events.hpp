#pragma once

// Pledge campaigns (crowdfunding): the events of one campaign's journal (entity type "pledge",
// keyed by the campaign id). Rules in actors/include/pactum/actors/pledge_machine.hpp; what each
// event moves in the ledger in docs/contracts.md ("Pledge campaigns"). Events are encoded once as
// msgpack maps with "type", journaled, and pushed as the campaign's timeline.

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "pactum/common/expected.hpp"
#include "pactum/common/time.hpp"
#include "pactum/common/uuid.hpp"

namespace pactum::protocol {

/// One reward tier: `quantity` 0 means unlimited.
struct pledge_tier {
  std::string title;
  int64_t price = 0; ///< minor units, > 0: the least a backer of this tier pledges
  int64_t quantity = 0;
  millis delivery_at = 0; ///< estimated delivery (ms since the epoch)
  friend bool operator==(const pledge_tier&, const pledge_tier&) = default;
};

/// Seq 1: a creator drafted the campaign.
struct pledge_created {
  uuid creator;
  std::string key;
  std::string title;
  std::string description;
  int64_t goal = 0;
  std::string currency;
  millis end_at = 0;
  std::vector<pledge_tier> tiers;
  millis at = 0;
  friend bool operator==(const pledge_created&, const pledge_created&) = default;
};

/// The creator opened the campaign to backers.
struct pledge_launched {
  std::string key;
  millis at = 0;
  friend bool operator==(const pledge_launched&, const pledge_launched&) = default;
};

/// A backer took a place in `tier` for `amount`; the card is being authorized under `intent`.
/// The pledge's id is this event's seq.
struct pledge_pledged {
  uuid backer;
  std::string key;
  int64_t tier = 0;
  int64_t amount = 0;
  std::string intent;
  std::string payment_method;
  millis at = 0;
  friend bool operator==(const pledge_pledged&, const pledge_pledged&) = default;
};

/// The provider authorized pledge `pledge`: a pending transfer clearing -> escrow.
struct pledge_authorized {
  int64_t pledge = 0;
  millis at = 0;
  friend bool operator==(const pledge_authorized&, const pledge_authorized&) = default;
};

/// The authorization of pledge `pledge` failed (`code`): its place is free again.
struct pledge_declined {
  int64_t pledge = 0;
  std::string code;
  millis at = 0;
  friend bool operator==(const pledge_declined&, const pledge_declined&) = default;
};

/// The backer cancelled pledge `pledge` before the end: voided, the authorization cancelled.
struct pledge_withdrawn {
  int64_t pledge = 0;
  std::string key;
  millis at = 0;
  friend bool operator==(const pledge_withdrawn&, const pledge_withdrawn&) = default;
};

/// The end date passed with `total` authorized >= the goal: every authorized pledge is captured.
struct pledge_succeeded {
  int64_t total = 0;
  millis at = 0;
  friend bool operator==(const pledge_succeeded&, const pledge_succeeded&) = default;
};

/// The end date passed below the goal: every pledge is voided and its authorization cancelled.
struct pledge_failed {
  int64_t total = 0;
  millis at = 0;
  friend bool operator==(const pledge_failed&, const pledge_failed&) = default;
};

/// The provider captured pledge `pledge`: its pending transfer is posted.
struct pledge_captured {
  int64_t pledge = 0;
  millis at = 0;
  friend bool operator==(const pledge_captured&, const pledge_captured&) = default;
};

/// Capturing pledge `pledge` failed (e.g. the authorization lapsed): its pending transfer is
/// voided and it does not count.
struct pledge_capture_failed {
  int64_t pledge = 0;
  std::string code;
  millis at = 0;
  friend bool operator==(const pledge_capture_failed&, const pledge_capture_failed&) = default;
};

/// Everything captured was paid out: escrow -> creator (`to_creator` net) and -> revenue
/// (`commission`). Only once the creator is verified.
struct pledge_released {
  int64_t to_creator = 0;
  int64_t commission = 0;
  millis at = 0;
  friend bool operator==(const pledge_released&, const pledge_released&) = default;
};

/// The provider confirmed the cancel call `call` (or refused it because the authorization was
/// gone already).
struct pledge_call_confirmed {
  std::string call;
  millis at = 0;
  friend bool operator==(const pledge_call_confirmed&, const pledge_call_confirmed&) = default;
};

using pledge_event =
  std::variant<pledge_created, pledge_launched, pledge_pledged, pledge_authorized, pledge_declined,
               pledge_withdrawn, pledge_succeeded, pledge_failed, pledge_captured,
               pledge_capture_failed, pledge_released, pledge_call_confirmed>;

/// "pledge.created", "pledge.launched", "pledge.pledged", "pledge.authorized", "pledge.declined",
/// "pledge.withdrawn", "pledge.succeeded", "pledge.failed", "pledge.captured",
/// "pledge.capture_failed", "pledge.released", "pledge.call_confirmed".
std::string_view pledge_event_type(const pledge_event&) noexcept;

/// The payload version this build writes (1).
int16_t pledge_event_version(const pledge_event&) noexcept;

/// Encodes as a msgpack map with "type".
std::string encode_pledge_event(const pledge_event&);

/// Decodes a journal payload; a missing or mistyped field is an error naming it.
expected<pledge_event, std::string> decode_pledge_event(std::string_view type, int16_t version,
                                                        std::string_view msgpack);

/// The push stream of one campaign's live progress: "pledge:<id>".
std::string pledge_stream(const uuid& campaign);

} // namespace pactum::protocol
