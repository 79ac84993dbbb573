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

using conversation_event =
  std::variant<conversation_opened, message_posted, message_edited, message_deleted, read_marked>;

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

/// Converts an encoded event (msgpack) to its JSON text, for text-frame connections.
std::string event_to_json(std::string_view msgpack);

} // namespace pactum::protocol

namespace pactum::protocol {

struct conversation_info;

/// The ephemeral notice pushed on a member's `user:<id>` stream when a conversation is opened
/// with them: `{"type":"conversation.opened","conversation":{...}}` as msgpack.
std::string encode_conversation_notice(const conversation_info& info);

} // namespace pactum::protocol
