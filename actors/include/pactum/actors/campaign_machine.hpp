#pragma once

// The campaign's rules as a pure state machine: no CAF, no I/O, no clock. The campaign actor feeds
// it commands with the current time and journals what it decides. Unit-tested alone
// (tests/actors/campaign_machine_test.cpp).
//
// Lifecycle: draft -> published <-> paused -> completed | cancelled (a draft may be cancelled too).
// Budget: `budget` = committed (held by funded contracts not yet settled) + spent (paid out by
// settled contracts) + remaining. The budget can never drop below committed + spent; completing or
// cancelling gives back what no contract holds (`released`), and is refused while a contract still
// holds money (settle or cancel those first).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "pactum/common/time.hpp"
#include "pactum/common/uuid.hpp"
#include "pactum/protocol/campaign_events.hpp"
#include "pactum/protocol/errors.hpp"

namespace pactum::actors::campaign {

struct rules {
  size_t max_applications = 10'000; ///< applications ever made to one campaign
  size_t max_invitations = 10'000;  ///< invitations ever sent by one campaign
  size_t max_submissions = 10'000;  ///< content submissions in one campaign
  size_t max_proposal_chars = 2'000;
  size_t max_reason_chars = 500;
  size_t max_media = 20;            ///< media references per submission
};

enum class status : uint8_t { draft, published, paused, completed, cancelled };

std::string_view to_string(status) noexcept;

struct state {
  uuid id;
  uuid brand;
  int64_t head = 0; ///< last applied seq; 0 before campaign.created
  status st = status::draft;
  protocol::campaign_details details;
  millis created_at = 0;

  int64_t committed = 0; ///< held by funded contracts not yet settled
  int64_t spent = 0;     ///< paid out by settled contracts

  struct application {
    uuid creator;
    std::string outcome = "pending"; ///< "pending", "approved", "rejected", "withdrawn"
    uuid conversation;
    int64_t amount = 0;
    millis at = 0;
  };
  std::map<int64_t, application> applications; ///< by id (seq)

  struct invitation {
    uuid creator;
    std::string outcome = "pending"; ///< "pending", "accepted", "denied", "withdrawn"
    uuid conversation;
    millis at = 0;
  };
  std::map<int64_t, invitation> invitations; ///< by id (seq)

  /// A funded contract of this campaign, and the review state of its deliverables.
  struct contract {
    uuid creator;
    int64_t amount = 0;
    int64_t revision_rounds = 0;
    int64_t revisions_used = 0;
    std::vector<std::string> platforms; ///< one per deliverable
    /// Per deliverable: the latest submission's id (0: none yet) and its verdict ("pending" while
    /// awaiting review, "approved", "rejected", "revision_requested").
    std::vector<std::pair<int64_t, std::string>> deliverables;
    bool settled = false;
    bool release_requested = false;
  };
  std::map<uuid, contract> contracts;

  struct submission {
    uuid contract;
    int64_t deliverable = 0;
    std::string verdict = "pending";
  };
  std::map<int64_t, submission> submissions; ///< by id (seq)

  /// Idempotency: (user, key) -> the seq of the event it made and a fingerprint of the command.
  std::map<std::string, std::pair<int64_t, uint64_t>> keys;

  bool exists() const noexcept { return head > 0; }
  int64_t remaining() const noexcept { return details.budget - committed - spent; }
  /// The creator's application or invitation that opened a conversation, if any.
  bool has_collaboration(const uuid& creator) const;
  /// An application of `creator` that is pending or approved (0: none).
  int64_t open_application(const uuid& creator) const;
  /// An invitation to `creator` that is pending or accepted (0: none).
  int64_t open_invitation(const uuid& creator) const;
  /// Contracts still holding budget.
  size_t open_contracts() const;
};

/// Who asks, as the campaign needs to know: the user and whether they moderate.
struct actor_ref {
  uuid user;
  bool moderator = false;
};

struct create {
  uuid brand;
  std::string key;
  protocol::campaign_details details;
};

struct update {
  uuid by;
  std::string key;
  protocol::campaign_details details;
};

/// "publish" (also resumes a paused campaign), "pause", "complete" or "cancel".
struct change_status {
  uuid by;
  std::string key;
  std::string to;
};

struct apply {
  uuid creator;
  std::string key;
  std::string proposal;
  int64_t amount = 0;
};

/// The brand approves or rejects, or the creator withdraws, application `application`.
/// `conversation` is the id the pair's conversation gets if an approval opens one.
struct decide_application {
  uuid by;
  std::string key;
  int64_t application = 0;
  std::string outcome; ///< "approved", "rejected", "withdrawn"
  std::string reason;
  uuid conversation;
};

struct invite {
  uuid by;
  std::string key;
  uuid creator;
  std::string brief;
};

/// The creator accepts or denies, or the brand withdraws, invitation `invitation`.
struct answer_invitation {
  uuid by;
  std::string key;
  int64_t invitation = 0;
  std::string outcome; ///< "accepted", "denied", "withdrawn"
  std::string reason;
  uuid conversation;
};

/// A contract of this campaign was funded (reported by the contract; idempotent per contract).
struct commit_budget {
  uuid contract;
  uuid creator;
  int64_t amount = 0;
  int64_t revision_rounds = 0;
  std::vector<std::string> platforms; ///< the platform of each piece of content
};

/// A committed contract ended (idempotent per contract).
struct settle_budget {
  uuid contract;
  int64_t spent = 0;
  int64_t returned = 0;
};

struct submit_content {
  uuid by;
  std::string key;
  uuid contract;
  int64_t deliverable = 0;
  protocol::content_item content;
};

struct review_content {
  actor_ref by;
  std::string key;
  int64_t submission = 0;
  std::string verdict; ///< "approved", "rejected", "revision_requested"
  std::string reason;
};

/// The command was refused; nothing is journaled.
struct refusal {
  protocol::error_code code;
  std::string message;
};

/// A retry of an earlier command (same user and key, same parameters): answer with its event.
struct duplicate {
  int64_t seq;
};

/// One new event to journal (its seq is state.head + 1).
struct accepted {
  protocol::campaign_event event;
};

using decision = std::variant<refusal, duplicate, accepted>;

decision decide(const state& s, const create& cmd, millis now, const rules& r);
decision decide(const state& s, const update& cmd, millis now, const rules& r);
decision decide(const state& s, const change_status& cmd, millis now, const rules& r);
decision decide(const state& s, const apply& cmd, millis now, const rules& r);
decision decide(const state& s, const decide_application& cmd, millis now, const rules& r);
decision decide(const state& s, const invite& cmd, millis now, const rules& r);
decision decide(const state& s, const answer_invitation& cmd, millis now, const rules& r);
decision decide(const state& s, const commit_budget& cmd, millis now, const rules& r);
decision decide(const state& s, const settle_budget& cmd, millis now, const rules& r);
decision decide(const state& s, const submit_content& cmd, millis now, const rules& r);
decision decide(const state& s, const review_content& cmd, millis now, const rules& r);

/// Applies the event with sequence number `seq` (must be s.head + 1); also used for replay.
void apply_event(state& s, int64_t seq, const protocol::campaign_event& ev);

/// What a publish needs that the details lack, as field errors (empty: publishable).
std::vector<protocol::field_error> publish_problems(const protocol::campaign_details& d,
                                                    millis now);

} // namespace pactum::actors::campaign
