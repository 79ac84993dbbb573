#pragma once

// A pledge campaign's rules (crowdfunding) as a pure state machine: no CAF, no I/O, no clock.
// The pledge actor (actors/src/pledge_actor.cpp) feeds it commands with the current time,
// journals what it decides and commits the ledger transfers `postings` derives from each event in
// the same transaction. Unit-tested alone (tests/actors/pledge_machine_test.cpp).
//
// States: draft -> live -> succeeded | failed. A creator drafts (create) and launches; backers
// pledge while it is live and before `end_at`; at `end_at` (the durable timer) the campaign
// succeeds when the AUTHORIZED pledges reach the goal, else it fails. There is no cancelled
// state: a draft that is never launched holds nothing, and a live campaign cannot be called off
// by its creator (backers relied on it; it ends by its date). succeeded is settled once
// pledge.released is journaled, failed at once.
//
// A pledge (id = the seq of its pledge.pledged event) takes one place of its tier at once (so
// places are never oversold: the single actor decides them in order and answers only after the
// journal append), then the backer's card is AUTHORIZED through the provider (create_intent,
// capture = false, key "pledge:<campaign>:<seq>"). Pledge states:
//   authorizing -> authorized (pending transfer clearing -> escrow) | declined (place freed)
//   authorizing | authorized -> withdrawn (the backer cancels before the end: void + cancel call)
//   authorizing at the end -> expired (does not count; its authorization is cancelled)
//   authorized at a failed end -> voided (void + cancel call)
//   authorized at a successful end -> capturing -> captured (post) | capture_failed (void)
// Once nothing is capturing any more, everything captured is released to the creator less the
// commission (escrow -> user, escrow -> revenue) — only when the creator is KYC-verified; until
// then it stays in escrow and the release is retried (`release_due`).
//
// One backer holds at most one live pledge per campaign (cancel it to pledge differently).
// Idempotency: every member command carries a key; the same user, key and parameters answer the
// first result, other parameters are refused (idempotency_mismatch).

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "pactum/common/time.hpp"
#include "pactum/common/uuid.hpp"
#include "pactum/protocol/errors.hpp"
#include "pactum/protocol/pledge_events.hpp"

namespace pactum::actors::pledge {

enum class campaign_status : uint8_t { draft, live, succeeded, failed };

enum class pledge_status : uint8_t {
  authorizing,
  authorized,
  declined,
  withdrawn,
  expired,
  voided,
  capturing,
  captured,
  capture_failed,
};

std::string_view to_string(campaign_status) noexcept;
std::string_view to_string(pledge_status) noexcept;

/// The timer kind of a campaign's single durable timer (due at `state::next_timer`).
inline constexpr std::string_view timer_kind = "pledge_end";

/// Tunables; limits are documented in docs/protocol.md with the requests.
struct rules {
  int64_t commission_bps = 1000;
  int64_t commission_fixed = 0;
  size_t max_tiers = 20;
  size_t max_pledges = 100'000; ///< pledges (of any state) one campaign accepts
  size_t max_title_bytes = 200;
  size_t max_description_bytes = 10'000;
  size_t max_key_bytes = 128;
  size_t max_payment_method_bytes = 256;
  int64_t max_amount = 1'000'000'000'000'000; ///< per pledge and goal, minor units
  millis max_duration = 366LL * 24 * 3600 * 1000; ///< from launch to end_at
};

/// min(x, x * bps / 10000 + fixed), rounded down; 0 for 0.
int64_t commission(int64_t x, const rules& r) noexcept;

struct backing {
  uuid backer;
  int64_t tier = 0;
  int64_t amount = 0;
  std::string intent; ///< the authorization's provider key
  std::string payment_method;
  pledge_status status = pledge_status::authorizing;
  std::string pending; ///< the ledger's pending transfer id once authorized
  millis at = 0;
  friend bool operator==(const backing&, const backing&) = default;
};

struct state {
  uuid id;
  uuid creator;
  std::string title;
  std::string description;
  int64_t goal = 0;
  std::string currency;
  millis end_at = 0;
  std::string create_key; ///< the creator's key of the create (the read model's claim)
  millis created_at = 0;
  millis launched_at = 0;
  std::vector<protocol::pledge_tier> tiers;
  std::vector<int64_t> taken; ///< places held per tier (authorizing, authorized, capturing, captured)
  campaign_status status = campaign_status::draft;
  int64_t head = 0;

  std::map<int64_t, backing> pledges;  ///< by pledge id (seq)
  std::map<std::string, int64_t> by_intent; ///< authorization key -> pledge
  std::map<uuid, int64_t> active;      ///< backer -> their live pledge
  std::set<std::string> cancels;       ///< cancel calls owed (key = intent + ":cancel")
  int64_t authorized = 0;  ///< sum of authorized (and, after success, capturing/captured) pledges
  int64_t authorizing = 0; ///< sum of pledges whose authorization is in flight
  int64_t captured = 0;    ///< posted into escrow
  int64_t capturing = 0;   ///< pledges whose capture is in flight (count)
  bool released = false;
  int64_t released_to_creator = 0;

  struct key_use {
    int64_t seq = 0;
    millis at = 0;
    uint64_t fingerprint = 0;
    friend bool operator==(const key_use&, const key_use&) = default;
  };
  std::map<std::pair<uuid, std::string>, key_use> keys;

  bool exists() const noexcept { return head > 0; }
  /// Settled: failed, or succeeded and released. Then the escrow holds nothing.
  bool settled() const noexcept {
    return status == campaign_status::failed || (status == campaign_status::succeeded && released);
  }
  /// Succeeded, nothing capturing any more, not yet released: the actor asks for the creator's
  /// KYC status and sends `release`.
  bool release_due() const noexcept {
    return status == campaign_status::succeeded && capturing == 0 && !released;
  }
  /// When the durable timer is due: end_at while live; end_at (i.e. at once, again and again)
  /// while a release waits for the creator's verification; 0 otherwise.
  millis next_timer() const noexcept;
  /// Backers with a pledge that holds a place (authorizing, authorized, capturing, captured).
  int64_t backers() const noexcept;

  friend bool operator==(const state&, const state&) = default;
};

// -- commands -----------------------------------------------------------------------------------

struct create {
  uuid by;
  std::string key;
  std::string title;
  std::string description;
  int64_t goal = 0;
  std::string currency;
  millis end_at = 0;
  std::vector<protocol::pledge_tier> tiers;
};
struct launch {
  uuid by;
  std::string key;
};
/// `amount` 0 means the tier's price.
struct pledge_cmd {
  uuid by;
  std::string key;
  int64_t tier = 0;
  int64_t amount = 0;
  std::string payment_method;
};
/// The backer cancels their live pledge.
struct withdraw {
  uuid by;
  std::string key;
};
struct authorization_result {
  std::string intent;
  bool succeeded = false;
  std::string code = {};
};
struct capture_result {
  std::string call;
  bool succeeded = false;
  std::string code = {};
};
struct authorization_lapsed {
  std::string intent;
};
struct confirm_call {
  std::string call;
};
struct timer_fired {};
/// The actor read the creator's KYC status for a due release.
struct release {
  bool creator_verified = false;
};

struct refusal {
  protocol::error_code code;
  std::string message;
};
struct duplicate {
  int64_t seq = 0;
  millis at = 0;
};
struct accepted {
  std::vector<protocol::pledge_event> events;
};
struct ignored {
  std::string reason;
};
using decision = std::variant<refusal, duplicate, accepted, ignored>;

decision decide(const state& s, const create& c, millis now, const rules& r);
decision decide(const state& s, const launch& c, millis now, const rules& r);
decision decide(const state& s, const pledge_cmd& c, millis now, const rules& r);
decision decide(const state& s, const withdraw& c, millis now, const rules& r);
decision decide(const state& s, const authorization_result& c, millis now, const rules& r);
decision decide(const state& s, const capture_result& c, millis now, const rules& r);
decision decide(const state& s, const authorization_lapsed& c, millis now, const rules& r);
decision decide(const state& s, const confirm_call& c, millis now, const rules& r);
decision decide(const state& s, const timer_fired& c, millis now, const rules& r);
decision decide(const state& s, const release& c, millis now, const rules& r);

/// Applies event `seq` (== s.head + 1).
void apply(state& s, int64_t seq, const protocol::pledge_event& ev);

/// An outgoing provider call the journal says is owed.
struct provider_call {
  enum class kind : uint8_t { authorize, capture, cancel };
  kind what = kind::authorize;
  std::string key;
  std::string intent;
  int64_t amount = 0;
  std::string currency;
  std::string payment_method = {};
  friend bool operator==(const provider_call&, const provider_call&) = default;
};

/// Authorizations in flight (while live), captures in flight, cancels not yet confirmed.
std::vector<provider_call> calls_due(const state& s);

/// The capture / cancel call keys of an authorization.
std::string capture_key(std::string_view intent);
std::string cancel_key(std::string_view intent);

struct posting {
  enum class kind : uint8_t { post, pending, post_pending, void_pending };
  kind what = kind::post;
  std::string id;
  std::string debit;
  std::string credit;
  int64_t amount = 0;
  std::string currency;
  std::string pending_id = {};
  friend bool operator==(const posting&, const posting&) = default;
};

/// The transfers event `ev` (seq `seq`) implies, given the state before it. Ids
/// "<campaign>:<seq>:<n>". authorized: pending clearing -> escrow; declined/withdrawn of an
/// authorized pledge, failed (each authorized one), capture_failed: void; captured: post the
/// pending one; released: escrow -> user:<creator> (net), escrow -> revenue (commission).
std::vector<posting> postings(const state& before, int64_t seq, const protocol::pledge_event& ev);

/// "escrow:<campaign>" (the same namespace as contracts: ids are unique UUIDv7s).
std::string escrow_account(const uuid& campaign);

} // namespace pactum::actors::pledge
