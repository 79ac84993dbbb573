#pragma once

// The conversation's rules as a pure state machine: no CAF, no I/O, no clock. The actor feeds it
// commands with the current time and journals what it decides. Unit-tested alone
// (tests/actors/conversation_machine_test.cpp).

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <vector>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>

#include "pactum/common/expected.hpp"
#include "pactum/common/time.hpp"
#include "pactum/common/uuid.hpp"
#include "pactum/protocol/errors.hpp"
#include "pactum/protocol/events.hpp"

namespace pactum::actors::conversation {

/// What the anti-bypass guard does with contact details or off-platform payment found in text
/// written before the conversation has a deal (see docs/contact-guard.md).
enum class guard_policy : uint8_t {
  off,   ///< nothing is scanned
  flag,  ///< stored as written; the hit goes to the moderator queue
  mask,  ///< stored with each finding replaced by "[hidden]"; the hit goes to the queue
  block, ///< refused (content_blocked); the attempt goes to the queue
};

std::string_view to_string(guard_policy) noexcept;
std::optional<guard_policy> guard_policy_from_string(std::string_view) noexcept;

struct rules {
  /// How many recent client ids per conversation are remembered for idempotent retries. A retry
  /// of a message older than this many messages is stored again. Also bounds how many recent
  /// messages are remembered for edits and deletes.
  size_t dedup_window = 4096;
  /// How long after posting its author may edit or delete a message.
  millis edit_window = 15 * 60 * 1000;
  /// Offers awaiting an answer at once, per conversation (both members together).
  size_t max_pending_offers = 10;
  /// Members at once: the brand, the creator and the moderators who joined (at least 2).
  size_t max_members = 8;
  guard_policy guard = guard_policy::mask;
  /// Members of a campaign room at once: its brand and the creators who entered (at least 2).
  size_t max_room_members = 200;
};

enum class offer_status : uint8_t { pending, withdrawn, declined, accepted, expired, superseded };

std::string_view to_string(offer_status) noexcept;

struct state {
  uuid id;
  uuid brand;
  uuid creator;
  int64_t head = 0; ///< last applied seq; 0 before `conversation.opened`

  struct sent {
    int64_t seq;
    millis at;
  };
  /// (author, client id) of recent messages, for dedup; oldest first in `recent_order_`.
  std::unordered_map<std::string, sent> recent;
  std::deque<std::string> recent_order;

  /// What edits and deletes need to know of a recent message (bounded like `recent`).
  struct message_meta {
    uuid author;
    millis at = 0;
    uint64_t text_hash = 0;
    bool deleted = false;
    int64_t last_change = 0; ///< seq of the event that last changed it
  };
  std::map<int64_t, message_meta> messages;

  /// Each member's read mark and the event that set it (for idempotent retries).
  struct read_mark {
    int64_t upto = 0;
    int64_t event_seq = 0;
    millis at = 0;
  };
  std::map<uuid, read_mark> reads;

  /// Every offer made in this conversation, by seq (its id). Offers are few next to messages,
  /// and a contract may be traced back to its offer however old, so none is forgotten.
  struct offer_meta {
    uuid by;
    millis expires_at = 0;
    offer_status status = offer_status::pending;
    int64_t closed_by = 0; ///< seq of the event that ended it (0 while pending)
    millis closed_at = 0;
    uuid contract;         ///< set when accepted
    /// The offer's terms while it is pending (an accept turns them into a contract); dropped
    /// when it ends, since the journal keeps them.
    std::optional<protocol::offer_terms> terms = std::nullopt;
  };
  std::map<int64_t, offer_meta> offers;

  /// Contracts of this conversation with an open dispute, and the moderators who joined.
  std::set<uuid> disputes;
  std::set<uuid> moderators;

  /// A campaign room (opened by `room.opened`): its campaign, and the creators who entered it
  /// (the brand is `brand`; `creator` stays nil). Both empty for a brand–creator conversation.
  uuid campaign;
  std::set<uuid> room_members;
  bool is_room() const noexcept { return !campaign.is_nil(); }

  size_t pending_offers() const;
  /// True once an offer has been accepted: a contract exists and the guard stands down.
  bool has_deal() const;
  /// When the earliest pending offer lapses: the due time of the conversation's durable timer
  /// (0: no pending offer, no timer).
  millis next_offer_expiry() const;

  /// Messages from others after `member`'s read mark, counted over the recent-message index.
  int64_t unread(const uuid& member) const;

  bool exists() const noexcept { return head > 0; }
  bool is_member(const uuid& user) const noexcept {
    return exists() && (user == brand || user == creator || room_members.count(user) > 0);
  }
  /// A member, or a moderator who joined: may read and write (only members make offers).
  bool is_participant(const uuid& user) const noexcept {
    return is_member(user) || moderators.count(user) > 0;
  }
};

struct post_message {
  uuid author;
  std::string client_id;
  std::string text;
  int64_t reply_to = 0;
  std::vector<protocol::attachment> attachments = {};
};

struct edit_message {
  uuid by;
  int64_t target = 0;
  std::string text;
};

struct delete_message {
  uuid by;
  int64_t target = 0;
};

struct mark_read {
  uuid member;
  int64_t upto = 0;
};

/// A member proposes terms, or counters the other member's pending offer `counter_to`.
struct make_offer {
  uuid by;
  std::string client_id;
  protocol::offer_terms terms;
  int64_t counter_to = 0;
  millis ttl = 0; ///< lifetime (> 0): the offer expires `ttl` after it is decided (stored)
};

enum class answer : uint8_t { accept, decline, withdraw };

/// Accept or decline the other member's pending offer, or withdraw one's own.
struct answer_offer {
  uuid by;
  int64_t offer = 0;
  answer what = answer::accept;
  std::string reason = {}; ///< decline only
  uuid contract = {};      ///< accept only: the id the new contract gets if this accept wins
};

/// The conversation's contract reports a dispute opened or resolved (idempotent).
struct note_dispute {
  uuid contract;
  bool open = true;
};

/// A moderator asks to join (allowed while a dispute is open). `moderator` comes from the role.
struct join {
  uuid user;
  bool moderator = false;
};

/// Enter campaign `campaign`'s room as `user`, whom the campaign actor vouched for (the brand, or
/// a creator with an approved application or accepted invitation). The brand's entry into a room
/// that does not exist yet opens it; a member's entry is a duplicate (nothing changes).
struct enter_room {
  uuid user;
  uuid campaign;
  uuid brand;
};

/// The durable timer fired: lapse offer `offer` if it is still pending and due.
struct expire_offer {
  int64_t offer = 0;
};

/// The timer kind under which a conversation's offer expiry is stored.
inline constexpr std::string_view offer_timer_kind = "offer_expiry";

/// What the guard found in a command's text: the categories (wire names), the action taken
/// ("blocked", "masked", "flagged") and the text as written, for the moderator queue.
struct guard_finding {
  uuid sender;
  std::vector<std::string> categories;
  std::string action;
  std::string original;
};

/// The command was refused; nothing is journaled.
struct refusal {
  protocol::error_code code;
  std::string message;
  std::optional<guard_finding> guard = std::nullopt; ///< set when the guard blocked it
};

/// The command was a retry of an earlier one: answer with the earlier result.
struct duplicate {
  int64_t seq;
  millis at;
  uuid contract = {}; ///< a repeated accept: the contract the first one created
};

/// New events to journal (seq numbers follow `state.head`).
struct accepted {
  protocol::conversation_event event;
  std::optional<guard_finding> guard = std::nullopt; ///< set when the guard masked or flagged it
};

using decision = std::variant<refusal, duplicate, accepted>;

/// Decides what `cmd` does to `s` at time `now`. Pure.
decision decide(const state& s, const post_message& cmd, millis now, const rules& r);
decision decide(const state& s, const edit_message& cmd, millis now, const rules& r);
decision decide(const state& s, const delete_message& cmd, millis now, const rules& r);
decision decide(const state& s, const mark_read& cmd, millis now, const rules& r);
decision decide(const state& s, const make_offer& cmd, millis now, const rules& r);
decision decide(const state& s, const answer_offer& cmd, millis now, const rules& r);
decision decide(const state& s, const expire_offer& cmd, millis now, const rules& r);
decision decide(const state& s, const note_dispute& cmd, millis now, const rules& r);
decision decide(const state& s, const join& cmd, millis now, const rules& r);
decision decide(const state& s, const enter_room& cmd, millis now, const rules& r);

/// Applies the event with sequence number `seq` (must be s.head + 1). Used both for fresh events
/// and for replaying the journal.
void apply(state& s, int64_t seq, const protocol::conversation_event& ev, const rules& r);

/// The dedup key of a message.
std::string dedup_key(const uuid& author, const std::string& client_id);

/// The snapshot format this build writes. Older versions stay decodable (decode_snapshot).
inline constexpr int16_t snapshot_version = 6;

/// Encodes the whole state (msgpack) as of `s.head`.
std::string encode_snapshot(const state& s);

/// Decodes a snapshot of any version this build has ever written; the dedup window is trimmed to
/// `r.dedup_window`. A version-3 snapshot with a pending offer is refused (it lacks the offer's
/// terms): the caller replays the journal instead.
expected<state, std::string> decode_snapshot(int16_t version, std::string_view bytes,
                                             const rules& r);

} // namespace pactum::actors::conversation
