#pragma once

// The message catalogue of the WebSocket protocol (see docs/protocol.md). Plain structs: the codec
// turns frames into these and these into frames.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "pactum/common/time.hpp"
#include "pactum/common/uuid.hpp"
#include "pactum/protocol/contract_events.hpp"
#include "pactum/protocol/events.hpp"

namespace pactum::protocol {

/// How a connection's frames are encoded: JSON in text frames, msgpack in binary frames. A client
/// picks per frame; the server answers each request in the encoding it arrived in and pushes in
/// the encoding of the client's most recent frame (JSON until the first frame).
enum class encoding : uint8_t { json, msgpack };

/// The client-chosen request id, echoed as `re` in the reply: a string (1..64 bytes) or an integer.
struct request_id {
  std::variant<int64_t, std::string> value;
};

// -- requests ---------------------------------------------------------------------------------

struct ping_req {};

/// A brand opens (or finds) its conversation with a creator.
struct conversation_open_req {
  uuid with;
};

/// A moderator joins a conversation whose deal is disputed, to mediate.
struct conversation_join_req {
  uuid conversation;
};

struct conversation_list_req {
  uint32_t limit = 50;
};

struct message_send_req {
  uuid conversation;
  std::string client_id;
  std::string text;
  int64_t reply_to = 0; ///< seq of the message answered; 0: none
  std::vector<attachment> attachments = {};
};

/// The author replaces the text of their message `seq` (within the edit window).
struct message_edit_req {
  uuid conversation;
  int64_t seq = 0;
  std::string text;
};

/// The author deletes their message `seq` (within the edit window).
struct message_delete_req {
  uuid conversation;
  int64_t seq = 0;
};

/// The caller has read everything up to `seq` (persisted; only moves forward).
struct read_req {
  uuid conversation;
  int64_t seq = 0;
};

/// The caller's device has received everything up to `seq` (ephemeral: kept in memory while the
/// conversation is active, never journaled).
struct delivered_req {
  uuid conversation;
  int64_t seq = 0;
};

/// "I am typing": pushed to the other members' sessions, never stored, throttled.
struct typing_req {
  uuid conversation;
};

/// Subscribe to stream "conversation:<id>", receiving every event with seq > after, then live.
struct subscribe_req {
  uuid conversation;
  int64_t after = 0;
};

struct unsubscribe_req {
  uuid conversation;
};

/// A page of history: events with after < seq < before (0: unbounded). Without `after`, the newest
/// `limit` events below `before`, returned oldest first.
struct history_req {
  uuid conversation;
  int64_t before = 0;
  int64_t after = 0;
  uint32_t limit = 50;
};

/// Propose terms, or (with `counter_to`) counter the other member's pending offer.
struct offer_make_req {
  uuid conversation;
  std::string client_id;
  offer_terms terms;
  int64_t counter_to = 0;   ///< seq of the offer countered; 0: a fresh offer
  int64_t expires_in_s = 0; ///< seconds until the offer lapses; 0: the server's default
};

enum class offer_action : uint8_t { accept, decline, withdraw };

/// Accept or decline the other member's pending offer, or withdraw one's own.
struct offer_answer_req {
  uuid conversation;
  int64_t offer = 0; ///< the offer's seq
  offer_action action = offer_action::accept;
  std::string reason = {}; ///< decline only; may be empty
};

/// What a party (or a moderator) does to an escrow contract; see docs/protocol.md, "Contracts".
enum class contract_action : uint8_t {
  fund,             ///< brand: pay the escrow with `payment_method`
  deliver,          ///< creator: hand in `items` (and a `note`)
  approve,          ///< brand: release the escrow to the creator
  request_revision, ///< brand: ask for changes (`reason`), within the revision rounds
  dispute,          ///< either party: stop the clocks, ask a moderator (`reason`)
  resolve,          ///< moderator: split a disputed escrow, `to_creator` to the creator
  cancel,           ///< either party: alone before funding, both once funded
};

/// The wire name, e.g. "request_revision" (request type "contract.request_revision").
std::string_view to_string(contract_action) noexcept;
std::optional<contract_action> contract_action_from_string(std::string_view) noexcept;

/// A contract command. `key` is the caller's idempotency key: a retry with the same key and
/// fields returns the first answer; the same key with other fields is `idempotency_mismatch`.
struct contract_command_req {
  uuid contract;
  contract_action action = contract_action::fund;
  std::string key;
  std::string payment_method = {};       ///< fund
  std::vector<delivery_item> items = {}; ///< deliver
  std::string note = {};                 ///< deliver
  std::string reason = {};               ///< request_revision, dispute
  int64_t to_creator = 0;                ///< resolve: the creator's gross share
};

/// The contract, and its events with seq > after (its timeline).
struct contract_get_req {
  uuid contract;
  int64_t after = 0;
};

/// Subscribe to (or, `unsubscribe`, stop) a pledge campaign's live progress: `pledge.subscribe`
/// / `pledge.unsubscribe` with `campaign` (docs/protocol.md, "Pledge campaigns").
struct pledge_subscribe_req {
  uuid campaign;
  bool unsubscribe = false;
};

/// Subscribe to (or, `unsubscribe`, stop) a brand campaign's live events: `campaign.subscribe` /
/// `campaign.unsubscribe` with `campaign` (docs/protocol.md, "Brand campaigns").
struct campaign_subscribe_req {
  uuid campaign;
  bool unsubscribe = false;
};

/// Open (the campaign's brand, on first use) or enter a campaign's room, the group chat of its
/// brand and creators: `campaign.room` with `campaign` (docs/protocol.md, "Campaign rooms").
struct campaign_room_req {
  uuid campaign;
};

/// Subscribe to (or, `unsubscribe`, stop) a locality's live promoter leaderboard:
/// `leaderboard.subscribe` / `leaderboard.unsubscribe` with `locality` ("CC:City";
/// docs/protocol.md, "Promotion leaderboards").
struct leaderboard_subscribe_req {
  std::string locality;
  bool unsubscribe = false;
};

/// Subscribe to (or, `unsubscribe`, stop) a campaign's live analytics figures:
/// `analytics.subscribe` / `analytics.unsubscribe` with `campaign` (docs/protocol.md, "Analytics").
struct analytics_subscribe_req {
  uuid campaign;
  bool unsubscribe = false;
};

/// The notification requests (docs/protocol.md "Notifications"): `notifications.list` (`before`,
/// `unread_only`, `limit`), `notifications.read` (`ids` and/or `up_to`),
/// `notifications.prefs.get` and `notifications.prefs.set` (`muted`).
struct notifications_req {
  enum class op : uint8_t { list, read, prefs_get, prefs_set };
  op what = op::list;
  int64_t before = 0;
  bool unread_only = false;
  uint32_t limit = 50;
  std::vector<int64_t> ids = {};
  int64_t up_to = 0;
  std::vector<std::string> muted = {};
};

using request_body =
  std::variant<ping_req, conversation_open_req, conversation_list_req, message_send_req,
               subscribe_req, unsubscribe_req, history_req, message_edit_req, message_delete_req,
               typing_req, read_req, offer_make_req, offer_answer_req, delivered_req,
               contract_command_req, contract_get_req, conversation_join_req,
               pledge_subscribe_req, campaign_subscribe_req,
               leaderboard_subscribe_req,
               analytics_subscribe_req,
               notifications_req,
               campaign_room_req>;

struct request {
  request_id id;
  request_body body;
};

// -- replies ----------------------------------------------------------------------------------

struct conversation_info {
  uuid id;
  uuid brand;
  uuid creator;
  millis created_at = 0;
  int64_t head = 0; ///< last seq at the time of the reply
};

struct pong_reply {
  millis time = 0;
};

struct conversation_open_reply {
  conversation_info conversation;
  bool created = false;
};

struct conversation_list_reply {
  std::vector<conversation_info> conversations;
};

struct message_ack_reply {
  uuid conversation;
  int64_t seq = 0;
  millis at = 0;
  bool duplicate = false; ///< a retry: this is the first send's result, nothing new was stored
  uuid contract = {};     ///< offer.accept only: the contract the deal created
};

struct subscribe_reply {
  uuid conversation;
  int64_t head = 0;
  std::vector<std::pair<uuid, int64_t>> read_marks = {}; ///< each member's read mark
  int64_t unread = 0; ///< messages from others after the caller's read mark
  std::vector<std::pair<uuid, int64_t>> delivered_marks = {}; ///< max(delivered, read) per member
};

struct unsubscribe_reply {
  uuid conversation;
};

struct history_item {
  int64_t seq = 0;
  std::string event; ///< encoded event (msgpack), see events.hpp
};

struct history_reply {
  uuid conversation;
  std::vector<history_item> events;
  bool more = false; ///< more events exist beyond this page in the direction asked
};

struct typing_reply {
  bool sent = false; ///< false when throttled (the last indicator is still fresh)
};

struct delivered_reply {
  bool moved = false; ///< false when the mark was already there (nothing pushed)
};

/// A contract command's result: the first event it produced (or, for a retry, the first
/// answer's), and the contract's status after it.
struct contract_ack_reply {
  uuid contract;
  int64_t seq = 0;
  millis at = 0;
  bool duplicate = false;
  std::string status;
};

/// A contract as its parties see it: `view` is a msgpack map (docs/protocol.md, "Contracts"),
/// `events` its timeline after the `after` asked for.
struct contract_reply {
  std::string view;
  std::vector<history_item> events;
};

/// A pledge campaign's view (a JSON object's text), the answer to pledge.subscribe.
struct pledge_reply {
  std::string view_json;
};

/// A brand campaign's view (a JSON object's text), the answer to campaign.subscribe.
struct campaign_reply {
  std::string view_json;
};

/// A locality's leaderboard (a JSON object's text), the answer to leaderboard.subscribe.
struct leaderboard_reply {
  std::string view_json;
};

/// A campaign's live analytics figures (a JSON object's text), the answer to analytics.subscribe.
struct analytics_reply {
  std::string view_json;
};

/// The answer to a notifications request: a JSON object's text whose members are the reply's.
struct notifications_reply {
  std::string json;
};

/// The answer to campaign.room: the room's conversation id, its head after the call, and whether
/// this call opened the room or added the caller (false: already a member).
struct campaign_room_reply {
  uuid conversation;
  uuid campaign;
  int64_t seq = 0;
  bool joined = false;
};

using reply_body = std::variant<pong_reply, conversation_open_reply, conversation_list_reply,
                                message_ack_reply, subscribe_reply, unsubscribe_reply,
                                history_reply, typing_reply, delivered_reply, contract_ack_reply,
                                contract_reply, pledge_reply, campaign_reply,
                                leaderboard_reply,
                                analytics_reply,
                                notifications_reply,
                                campaign_room_reply>;

// -- server-initiated ---------------------------------------------------------------------------

struct hello {
  uuid user;
  std::string role;
  std::string display_name;
  millis server_time = 0;
  uint32_t max_frame_bytes = 0;
  uint32_t max_text_chars = 0;
};

/// One event pushed to subscribers of a stream, encoded at most once per encoding however many
/// sessions receive it. Thread-safe: sessions on any thread call `frame`.
class push_frame {
public:
  /// `seq` 0 marks an ephemeral push (no sequence number, e.g. on a `user:` stream).
  push_frame(std::string stream, int64_t seq, std::shared_ptr<const std::string> event_msgpack);

  const std::string& stream() const noexcept { return stream_; }
  int64_t seq() const noexcept { return seq_; }
  const std::string& event_msgpack() const noexcept { return *event_; }

  /// The whole `{"type":"event",...}` frame in the given encoding (computed once, then cached).
  const std::string& frame(encoding enc) const;

private:
  std::string stream_;
  int64_t seq_;
  std::shared_ptr<const std::string> event_;
  mutable std::once_flag json_once_;
  mutable std::once_flag msgpack_once_;
  mutable std::string json_;
  mutable std::string msgpack_;
};

using push_frame_ptr = std::shared_ptr<const push_frame>;

/// Returns "conversation:<id>".
std::string conversation_stream(const uuid& id);

/// Returns "contract:<id>".
std::string contract_stream(const uuid& id);

} // namespace pactum::protocol
