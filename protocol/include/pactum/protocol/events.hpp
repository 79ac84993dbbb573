#pragma once

// Domain events: what entity actors decide, what the journal stores (as msgpack payloads) and what
// subscribers receive (inside `{"type":"event", ...}` pushes). One encoding serves all three, so an
// event is encoded once when it is decided and never again.

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "pactum/common/expected.hpp"
#include "pactum/common/time.hpp"
#include "pactum/common/uuid.hpp"

namespace pactum::protocol {

/// Seq 1 of every conversation journal.
struct conversation_opened {
  uuid brand;
  uuid creator;
  millis at = 0;
};

/// A media reference attached to a message (the media itself lives elsewhere).
struct attachment {
  std::string url;  ///< http(s) URL
  std::string type; ///< MIME type, e.g. "image/jpeg"
  int64_t size = 0; ///< bytes
  int64_t width = 0;  ///< pixels; 0 when unknown or not visual
  int64_t height = 0; ///< pixels; 0 when unknown or not visual
  friend bool operator==(const attachment&, const attachment&) = default;
};

/// A chat message. `client_id` is the sender's idempotency key. Version 1 had neither `reply_to`
/// nor `attachments`; version 2 adds both (absent means none).
struct message_posted {
  uuid author;
  std::string client_id;
  std::string text;
  millis at = 0;
  int64_t reply_to = 0; ///< seq of the message this answers; 0: none
  std::vector<attachment> attachments = {};
};

/// The author changed the text of message `target`.
struct message_edited {
  int64_t target = 0;
  uuid by;
  std::string text;
  millis at = 0;
};

/// The author withdrew message `target`; clients show it as deleted.
struct message_deleted {
  int64_t target = 0;
  uuid by;
  millis at = 0;
};

/// `member` has read everything up to and including `seq`. Read marks only move forward.
struct read_marked {
  uuid member;
  int64_t seq = 0;
  millis at = 0;
};

/// One deliverable of an offer: what the creator publishes, where, and how many.
struct deliverable {
  std::string platform; ///< "tiktok", "instagram", "youtube" or "other"
  std::string type;     ///< collaboration type, e.g. "tiktok_duet" (see collaboration_types)
  int64_t count = 1;
  std::string brief; ///< free text; may be empty
  friend bool operator==(const deliverable&, const deliverable&) = default;
};

/// The terms of an offer; an accepted offer's terms become the contract's.
struct offer_terms {
  int64_t amount = 0;    ///< in minor units of `currency` (cents), > 0
  std::string currency;  ///< ISO 4217 code, e.g. "USD"
  std::vector<deliverable> deliverables;
  int64_t delivery_days = 7;         ///< the delivery deadline, in days after funding
  int64_t revision_rounds = 1;       ///< how many revisions the brand may ask for
  std::string usage_rights = "none"; ///< "none", "organic", "paid_ads" or "full"
  int64_t usage_days = 0;            ///< how long the usage rights last; 0 with "none"
  friend bool operator==(const offer_terms&, const offer_terms&) = default;
};

/// The collaboration types a deliverable may name, with the platform each belongs to ("custom"
/// belongs to any platform).
struct collaboration_type {
  std::string_view name;
  std::string_view platform;
};
inline constexpr collaboration_type collaboration_types[] = {
  {"tiktok_native_ad", "tiktok"}, {"tiktok_duet", "tiktok"},         {"tiktok_stitch", "tiktok"},
  {"tiktok_sound", "tiktok"},     {"instagram_post", "instagram"},   {"instagram_reel", "instagram"},
  {"instagram_story", "instagram"}, {"youtube_video", "youtube"},    {"custom", ""},
};

/// A member proposes terms. The event's seq is the offer's id. With `counter_to`, it answers
/// (and supersedes) the other member's pending offer with that id.
struct offer_made {
  uuid by;
  std::string client_id; ///< the proposer's idempotency key (shared with messages)
  offer_terms terms;
  int64_t counter_to = 0;
  millis expires_at = 0; ///< the offer lapses at this time unless answered
  millis at = 0;
};

/// The proposer takes back their pending offer.
struct offer_withdrawn {
  int64_t offer = 0;
  uuid by;
  millis at = 0;
};

/// The other member turns down a pending offer.
struct offer_declined {
  int64_t offer = 0;
  uuid by;
  std::string reason; ///< may be empty
  millis at = 0;
};

/// The other member accepts a pending offer: the deal is struck, `contract` is its escrow
/// contract, and every other pending offer of the conversation is closed (superseded).
struct offer_accepted {
  int64_t offer = 0;
  uuid by;
  uuid contract;
  millis at = 0;
};

/// A pending offer reached its expiry time unanswered (fired by a durable timer).
struct offer_expired {
  int64_t offer = 0;
  millis at = 0;
};

/// The deal's contract `contract` is disputed (`open`) or its dispute was resolved: while a
/// dispute is open, moderators may join the conversation ("dispute.opened" / "dispute.closed").
struct dispute_changed {
  uuid contract;
  bool open = true;
  millis at = 0;
};

/// A moderator joined to mediate a dispute: from now on they read and write like the members
/// (but make and answer no offers).
struct moderator_joined {
  uuid moderator;
  millis at = 0;
};

/// Seq 1 of a campaign room's journal (instead of `conversation.opened`): the group chat of a
/// campaign's brand and the creators working on it (docs/protocol.md, "Campaign rooms").
struct room_opened {
  uuid campaign;
  uuid brand;
  millis at = 0;
};

/// A creator of the room's campaign (approved application or accepted invitation) joined the
/// room: from now on they read and write like the brand (rooms have no offers).
struct member_joined {
  uuid member;
  millis at = 0;
};

using conversation_event =
  std::variant<conversation_opened, message_posted, message_edited, message_deleted, read_marked,
               offer_made, offer_withdrawn, offer_declined, offer_accepted, offer_expired,
               dispute_changed, moderator_joined,
               room_opened,
               member_joined>;

/// The journal/event type name, e.g. "message.posted".
std::string_view event_type(const conversation_event&) noexcept;

/// The payload version written by this build for that event's type.
int16_t event_version(const conversation_event&) noexcept;

/// Encodes as a msgpack map that includes `"type"`: the exact bytes stored in the journal and
/// embedded in pushes.
std::string encode_event(const conversation_event&);

/// Decodes a journal payload. Accepts every version this build has ever written.
expected<conversation_event, std::string> decode_event(std::string_view type, int16_t version,
                                                       std::string_view msgpack);

/// Encodes offer terms alone (msgpack map, the shape of an offer's `terms` field), for entities
/// that keep terms in their snapshots.
std::string encode_terms(const offer_terms&);

/// Decodes and validates terms written by `encode_terms`.
expected<offer_terms, std::string> decode_terms(std::string_view msgpack);

/// Converts an encoded event (msgpack) to its JSON text, for text-frame connections.
std::string event_to_json(std::string_view msgpack);

} // namespace pactum::protocol

namespace pactum::protocol {

struct conversation_info;

/// The ephemeral notice pushed on a member's `user:<id>` stream when a conversation is opened
/// with them: `{"type":"conversation.opened","conversation":{...}}` as msgpack.
std::string encode_conversation_notice(const conversation_info& info);

} // namespace pactum::protocol
