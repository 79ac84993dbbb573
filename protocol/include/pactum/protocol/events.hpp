#pragma once

// Domain events: what entity actors decide, what the journal stores (as msgpack payloads) and what
// subscribers receive (inside `{"type":"event", ...}` pushes). One encoding serves all three, so an
// event is encoded once when it is decided and never again.

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

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

/// A chat message. `client_id` is the sender's idempotency key.
struct message_posted {
  uuid author;
  std::string client_id;
  std::string text;
  millis at = 0;
};

using conversation_event = std::variant<conversation_opened, message_posted>;

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
