#include "pactum/actors/contract_machine.hpp"

#include <algorithm>
#include <array>
#include <cassert>

#include <nlohmann/json.hpp>

#include "pactum/common/overload.hpp"

namespace pactum::actors::contract {

namespace {

constexpr std::array<std::string_view, 11> status_names{{
  "awaiting_funding",
  "funded",
  "delivered",
  "revision_requested",
  "released",
  "refunded",
  "cancelled",
  "disputed",
  "resolved",
  "releasing",
  "payment_due",
}};

constexpr std::array<std::string_view, 4> call_names{{"create_intent", "capture", "cancel", "refund"}};

/// The id of ledger transfer `leg` of event `seq`: "<contract>:<seq>:<leg>" (postings and apply
/// must agree on the id of a pending transfer).
std::string transfer_id(const uuid& contract, int64_t seq, size_t leg) {
  return contract.str() + ":" + std::to_string(seq) + ":" + std::to_string(leg);
}

} // namespace

std::string_view to_string(provider_call::kind x) noexcept {
  auto i = static_cast<size_t>(x);
  return i < call_names.size() ? call_names[i] : std::string_view{"unknown"};
}

std::string_view to_string(contract_status x) noexcept {
  auto i = static_cast<size_t>(x);
  return i < status_names.size() ? status_names[i] : std::string_view{"unknown"};
}

std::optional<contract_status> contract_status_from_string(std::string_view x) noexcept {
  for (size_t i = 0; i < status_names.size(); ++i)
    if (status_names[i] == x)
      return static_cast<contract_status>(i);
  return std::nullopt;
}

bool is_terminal(contract_status x) noexcept {
  return x == contract_status::released || x == contract_status::refunded
         || x == contract_status::cancelled || x == contract_status::resolved;
}

int64_t commission(int64_t x, const rules& r) noexcept {
  if (x <= 0)
    return 0;
  // x * bps / 10000 without a 128-bit product: with x = 10000 q + rem,
  // floor(x * bps / 10000) = q * bps + floor(rem * bps / 10000), each term small.
  const int64_t bps = std::clamp<int64_t>(r.commission_bps, 0, 10'000);
  const int64_t fixed = std::clamp<int64_t>(r.commission_fixed, 0, max_amount);
  const int64_t q = x / 10'000;
  const int64_t rem = x % 10'000;
  const int64_t pct = q * bps + rem * bps / 10'000;
  return std::min(x, pct + fixed);
}

millis state::running_deadline() const noexcept {
  switch (status) {
    case contract_status::funded:
    case contract_status::revision_requested:
      // A performance contract also ends when its campaign does, delivered or not.
      if (performance && performance->ends_at > 0)
        return std::min(delivery_due, performance->ends_at);
      return delivery_due;
    case contract_status::delivered:
      // Paid per unit until the campaign ends (0: no end; exhausted or cancelled only).
      if (performance)
        return performance->ends_at;
      return review_due;
    default:
      return 0;
  }
}

bool state::reauthorizing() const noexcept {
  if (intent.empty())
    return false;
  switch (status) {
    case contract_status::funded:
    case contract_status::revision_requested:
    case contract_status::delivered:
    case contract_status::disputed:
      return true; // funding is in flight only while awaiting_funding, charges while releasing
    default:
      return false;
  }
}

bool state::charge_on_approval() const noexcept {
  if (mode != funding_mode::authorize_capture || !authorization.empty())
    return false;
  switch (status) {
    case contract_status::funded:
    case contract_status::revision_requested:
    case contract_status::delivered:
    case contract_status::disputed:
      return true;
    default:
      return false;
  }
}

millis state::reauthorize_at(const rules& r) const noexcept {
  if (authorization.empty() || !intent.empty() || !capture.empty())
    return 0;
  const millis validity = std::max<millis>(r.authorization_validity, 1);
  const millis margin = std::clamp<millis>(r.authorization_margin, 0, validity / 2);
  const millis at = std::max<millis>(authorization_expires_at - margin, 1);
  // The latest time the contract may still capture, as things stand: a delivery just before the
  // deadline and then a review that lapses; a running review; a moderator who takes his time.
  millis horizon = 0;
  switch (status) {
    case contract_status::funded:
    case contract_status::revision_requested:
      horizon = delivery_due + r.review_window;
      break;
    case contract_status::delivered:
      horizon = review_due;
      break;
    case contract_status::disputed:
      return at;
    default:
      return 0;
  }
  return horizon > at ? at : 0;
}

millis state::next_timer(const rules& r) const noexcept {
  if (reauthorizing())
    return 0; // no money may move until the renewal's outcome is journaled
  millis due = 0;
  const millis deadline = running_deadline();
  if (deadline != 0)
    due = reminded_for != deadline && r.reminder_before > 0 ? deadline - r.reminder_before
                                                            : deadline;
  if (const millis renew = reauthorize_at(r); renew != 0)
    due = due == 0 ? renew : std::min(due, renew);
  return due;
}

// -- account ids ----------------------------------------------------------------------------------

namespace account {

std::string clearing(std::string_view currency) {
  return "clearing:" + std::string{currency};
}

std::string escrow(const uuid& contract) {
  return "escrow:" + contract.str();
}

std::string user(const uuid& user, std::string_view currency) {
  return "user:" + user.str() + ":" + std::string{currency};
}

std::string revenue(std::string_view currency) {
  return "revenue:" + std::string{currency};
}

} // namespace account

// -- decisions ------------------------------------------------------------------------------------

namespace {

/// FNV-1a over a length-prefixed encoding of a command's parameters. Stable across builds and
/// platforms: it is stored in snapshots.
struct hasher {
  uint64_t h = 14695981039346656037ULL;

  hasher& byte(uint8_t c) {
    h ^= c;
    h *= 1099511628211ULL;
    return *this;
  }
  hasher& num(int64_t x) {
    auto u = static_cast<uint64_t>(x);
    for (int i = 0; i < 8; ++i)
      byte(static_cast<uint8_t>(u >> (8 * i)));
    return *this;
  }
  hasher& text(std::string_view s) {
    num(static_cast<int64_t>(s.size()));
    for (unsigned char c : s)
      byte(c);
    return *this;
  }
  hasher& id(const uuid& u) {
    for (auto c : u.bytes)
      byte(c);
    return *this;
  }
};

// One fingerprint per keyed command; the leading tag keeps a key reused for another command a
// mismatch even when the parameters happen to hash alike. Each is computed from the command in
// `decide` and from its event in `apply`, so both must read the same fields.

uint64_t fingerprint_fund(const uuid& by, std::string_view payment_method) {
  return hasher{}.byte('F').id(by).text(payment_method).h;
}

uint64_t fingerprint_deliver(const uuid& by, const std::vector<protocol::delivery_item>& items,
                             std::string_view note) {
  hasher x;
  x.byte('D').id(by).num(static_cast<int64_t>(items.size()));
  for (auto& item : items)
    x.text(item.url).text(item.note);
  return x.text(note).h;
}

uint64_t fingerprint_approve(const uuid& by) {
  return hasher{}.byte('A').id(by).h;
}

uint64_t fingerprint_revision(const uuid& by, std::string_view reason) {
  return hasher{}.byte('R').id(by).text(reason).h;
}

uint64_t fingerprint_dispute(const uuid& by, std::string_view reason) {
  return hasher{}.byte('X').id(by).text(reason).h;
}

uint64_t fingerprint_resolve(const uuid& by, int64_t to_creator) {
  return hasher{}.byte('S').id(by).num(to_creator).h;
}

uint64_t fingerprint_cancel(const uuid& by) {
  return hasher{}.byte('C').id(by).h;
}

refusal refuse(protocol::error_code code, std::string message) {
  return refusal{code, std::move(message)};
}

std::optional<decision> check_member(const state& s, const uuid& by) {
  if (!s.is_member(by))
    return refuse(protocol::error_code::forbidden, "not a party to this contract");
  return std::nullopt;
}

/// A retry (same user, key and parameters) is a duplicate of the first; the same key with other
/// parameters is refused.
std::optional<decision> check_key(const state& s, const uuid& by, const std::string& key,
                                  uint64_t fingerprint) {
  if (key.empty() || key.size() > max_key_bytes)
    return refuse(protocol::error_code::bad_request,
                  "key must be 1 to " + std::to_string(max_key_bytes) + " bytes");
  auto i = s.keys.find({by, key});
  if (i == s.keys.end())
    return std::nullopt;
  if (i->second.fingerprint == fingerprint)
    return duplicate{i->second.seq, i->second.at};
  return refuse(protocol::error_code::idempotency_mismatch,
                "this key was already used (seq " + std::to_string(i->second.seq)
                  + ") for a request with other parameters; use a new key for a new request");
}

std::optional<decision> check_capacity(const state& s, size_t events, const rules& r) {
  if (static_cast<size_t>(s.head) + events > r.max_commands)
    return refuse(protocol::error_code::limit_reached,
                  "this contract has reached its limit of " + std::to_string(r.max_commands)
                    + " events");
  return std::nullopt;
}

/// A conflict naming the status, e.g. "cannot approve: the contract is funded (this needs
/// delivered)".
refusal wrong_status(const state& s, std::string_view what, std::string_view needs) {
  return refuse(protocol::error_code::conflict,
                "cannot " + std::string{what} + ": the contract is " + std::string{to_string(s.status)}
                  + " (this needs " + std::string{needs} + ")");
}

std::string provider_key(const state& s, std::string_view call, int64_t seq) {
  return s.id.str() + ":" + std::string{call} + ":" + std::to_string(seq);
}

/// What a release or resolution in authorize_capture mode waits for while a re-authorization is
/// in flight.
refusal renewing() {
  return refuse(protocol::error_code::conflict,
                "the card authorization is being renewed; try again in a moment");
}

/// authorize_capture: collect the money for paying the creator: capture the held authorization
/// (whole), or, when none is held, charge the creator's gross share.
protocol::contract_capture_requested capture_request(const state& s, std::string reason,
                                                     int64_t to_creator, int64_t commission,
                                                     millis now, uuid by = {},
                                                     std::string key = {}) {
  const int64_t seq = s.head + 1;
  if (!s.authorization.empty())
    return {provider_key(s, "capture", seq), s.funded_intent, false, s.authorized,
            std::move(reason), to_creator, commission, now, by, std::move(key)};
  auto charge = provider_key(s, "charge", seq);
  return {charge, charge, true, to_creator, std::move(reason), to_creator, commission, now,
          by, std::move(key)};
}

/// authorize_capture: the release or resolution `s.settling` once its money is collected, as
/// event `seq`. `captured`: the whole authorization was captured (a split refunds the brand's
/// share); otherwise exactly the creator's share was charged and nothing goes back.
protocol::contract_event settle(const state& s, int64_t seq, millis now, bool captured) {
  const auto& st = *s.settling;
  if (st.reason == "resolved") {
    const int64_t to_brand = s.terms.amount - st.to_creator;
    return protocol::contract_resolved{
      st.by, st.key, st.to_creator, to_brand, st.commission,
      captured && to_brand > 0 ? provider_key(s, "refund", seq) : std::string{}, now};
  }
  return protocol::contract_released{st.to_creator, st.commission, st.reason == "review_lapsed",
                                     now, st.by, st.key};
}

/// The delivery deadline passed (or a performance contract's campaign ended): the brand gets back
/// what the contract holds (a performance contract: what its bills left of the cap).
protocol::contract_refunded refund_on_deadline(const state& s, millis now,
                                               std::string reason = "delivery_deadline") {
  const int64_t seq = s.head + 1;
  if (s.mode == funding_mode::escrow)
    return {s.escrow, std::move(reason),
            s.escrow > 0 || !s.performance ? provider_key(s, "refund", seq) : std::string{}, now};
  if (!s.authorization.empty()) // void the authorization: nothing was taken
    return {s.authorized, "delivery_deadline", {}, now, provider_key(s, "cancel", seq)};
  return {0, "delivery_deadline", {}, now}; // fallback: nothing held, nothing to call
}

bool is_http_url(std::string_view url) {
  auto rest = [&](std::string_view prefix) {
    return url.size() > prefix.size() && url.substr(0, prefix.size()) == prefix;
  };
  return rest("https://") || rest("http://");
}

} // namespace

decision decide(const state& s, const open& cmd, millis now, const rules&) {
  if (s.exists()) {
    // The conversation re-sends open until it hears back: the same open is a retry.
    if (cmd.id == s.id && cmd.conversation == s.conversation && cmd.offer == s.offer
        && cmd.brand == s.brand && cmd.creator == s.creator && cmd.terms == s.terms
        && cmd.mode == s.mode && cmd.performance == s.performance)
      return duplicate{1, s.opened_at};
    return refuse(protocol::error_code::conflict, "this contract already exists with other terms");
  }
  if (s.id.is_nil() || cmd.id != s.id)
    return refuse(protocol::error_code::internal, "open names another contract than this one");
  if (cmd.conversation.is_nil() || cmd.offer <= 0)
    return refuse(protocol::error_code::bad_request, "a contract needs its conversation and offer");
  if (cmd.brand.is_nil() || cmd.creator.is_nil() || cmd.brand == cmd.creator)
    return refuse(protocol::error_code::bad_request, "a contract needs a brand and another creator");
  if (auto bad = protocol::validate_contract_terms(cmd.terms))
    return refuse(protocol::error_code::bad_request, *bad);
  if (cmd.terms.amount > max_amount)
    return refuse(protocol::error_code::bad_request, "terms.amount is too large");
  if (!protocol::funding_mode_from_string(protocol::to_string(cmd.mode)))
    return refuse(protocol::error_code::bad_request, "unknown funding mode");
  if (cmd.performance) {
    const auto& p = *cmd.performance;
    if (cmd.mode != funding_mode::escrow)
      return refuse(protocol::error_code::bad_request,
                    "a performance contract holds its cap in escrow (escrow mode only)");
    if ((p.model != "cpc" && p.model != "cpv") || p.rate <= 0 || p.rate > max_amount
        || p.ends_at < 0 || p.campaign.is_nil())
      return refuse(protocol::error_code::bad_request,
                    "performance terms need a campaign, model cpc or cpv and a positive rate");
  }
  return accepted{{protocol::contract_opened{cmd.conversation, cmd.offer, cmd.brand, cmd.creator,
                                             cmd.terms, now, cmd.mode, cmd.performance}}};
}

decision decide(const state& s, const fund& cmd, millis now, const rules& r) {
  if (auto no = check_member(s, cmd.by))
    return *no;
  if (auto no = check_key(s, cmd.by, cmd.key, fingerprint_fund(cmd.by, cmd.payment_method)))
    return *no;
  if (cmd.by != s.brand)
    return refuse(protocol::error_code::forbidden, "only the brand funds the escrow");
  if (cmd.payment_method.empty() || cmd.payment_method.size() > max_payment_method_bytes)
    return refuse(protocol::error_code::bad_request,
                  "payment_method must be 1 to " + std::to_string(max_payment_method_bytes)
                    + " bytes");
  const bool paying = s.status == contract_status::payment_due;
  if (s.status != contract_status::awaiting_funding && !paying)
    return wrong_status(s, "fund",
                        s.mode == funding_mode::escrow ? "awaiting_funding"
                                                       : "awaiting_funding or payment_due");
  if (!s.intent.empty())
    return refuse(protocol::error_code::conflict,
                  "a funding attempt is in flight; wait for its result before trying again");
  if (auto no = check_capacity(s, 1, r))
    return *no;
  // payment_due: the brand pays (capture) what the release or resolution waits for. Otherwise
  // authorize_capture only authorizes.
  return accepted{{protocol::contract_funding_requested{
    cmd.by, cmd.key, provider_key(s, "fund", s.head + 1), cmd.payment_method,
    paying ? s.settling->to_creator : s.terms.amount, s.terms.currency, now,
    paying || s.mode == funding_mode::escrow}}};
}

decision decide(const state& s, const payment_result& cmd, millis now, const rules& r) {
  if (!s.exists())
    return ignored{"no such contract"};
  if (s.intent.empty() || cmd.intent != s.intent)
    return ignored{"not the funding attempt in flight (stale or repeated result)"};
  if (cmd.code.size() > max_provider_code_bytes)
    return refuse(protocol::error_code::bad_request, "the provider's code is too long");
  const std::string code = cmd.code.empty() ? std::string{"processing_error"} : cmd.code;
  const millis validity = std::max<millis>(r.authorization_validity, 1);
  switch (s.status) {
    case contract_status::awaiting_funding: {
      if (!cmd.succeeded)
        return accepted{{protocol::contract_funding_failed{s.intent, code, now}}};
      protocol::contract_funded funded{s.intent, now + s.terms.delivery_days * r.day, now};
      if (!s.intent_capture) { // an authorization, trusted from its request on
        funded.authorized = true;
        funded.authorization_expires_at = s.authorization_requested_at + validity;
      }
      return accepted{{std::move(funded)}};
    }
    case contract_status::releasing:
    case contract_status::payment_due:
      // A charge for a release or resolution: the money is in, and the creator is paid in the
      // same append.
      if (cmd.succeeded)
        return accepted{{protocol::contract_charged{s.intent, s.intent_amount, now},
                         settle(s, s.head + 2, now, false)}};
      if (s.status == contract_status::payment_due) // the brand's own attempt: it may try again
        return accepted{{protocol::contract_funding_failed{s.intent, code, now}}};
      return accepted{{protocol::contract_charge_failed{s.intent, code, now}}};
    default: // a re-authorization
      if (cmd.succeeded)
        return accepted{{protocol::contract_reauthorized{
          s.intent, s.funded_intent, provider_key(s, "cancel", s.head + 1),
          s.authorization_requested_at + validity, now}}};
      return accepted{{protocol::contract_fallback_charge_on_approval{
        s.intent, code, provider_key(s, "cancel", s.head + 1), now}}};
  }
}

decision decide(const state& s, const deliver& cmd, millis now, const rules& r) {
  if (auto no = check_member(s, cmd.by))
    return *no;
  if (auto no = check_key(s, cmd.by, cmd.key, fingerprint_deliver(cmd.by, cmd.items, cmd.note)))
    return *no;
  if (cmd.by != s.creator)
    return refuse(protocol::error_code::forbidden, "only the creator delivers");
  if (cmd.items.empty() || cmd.items.size() > max_items)
    return refuse(protocol::error_code::bad_request,
                  "a delivery has 1 to " + std::to_string(max_items) + " items");
  for (size_t k = 0; k < cmd.items.size(); ++k) {
    auto& item = cmd.items[k];
    auto name = "items[" + std::to_string(k) + "]";
    if (!is_http_url(item.url))
      return refuse(protocol::error_code::bad_request, name + ".url must be an http(s) URL");
    if (item.url.size() > max_url_bytes)
      return refuse(protocol::error_code::too_large,
                    name + ".url is longer than " + std::to_string(max_url_bytes) + " bytes");
    if (item.note.size() > max_item_note_bytes)
      return refuse(protocol::error_code::too_large,
                    name + ".note is longer than " + std::to_string(max_item_note_bytes) + " bytes");
  }
  if (cmd.note.size() > max_note_bytes)
    return refuse(protocol::error_code::too_large,
                  "note is longer than " + std::to_string(max_note_bytes) + " bytes");
  if (s.status != contract_status::funded && s.status != contract_status::revision_requested)
    return wrong_status(s, "deliver", "funded or revision_requested");
  if (now >= s.delivery_due)
    return refuse(protocol::error_code::conflict,
                  "the delivery deadline passed (at " + std::to_string(s.delivery_due)
                    + "); the escrow goes back to the brand");
  if (auto no = check_capacity(s, 1, r))
    return *no;
  return accepted{{protocol::contract_delivered{cmd.by, cmd.key, cmd.items, cmd.note,
                                                s.revisions_used, now + r.review_window, now}}};
}

decision decide(const state& s, const approve& cmd, millis now, const rules& r) {
  if (auto no = check_member(s, cmd.by))
    return *no;
  if (auto no = check_key(s, cmd.by, cmd.key, fingerprint_approve(cmd.by)))
    return *no;
  if (cmd.by != s.brand)
    return refuse(protocol::error_code::forbidden, "only the brand approves a delivery");
  if (s.performance)
    return refuse(protocol::error_code::conflict,
                  "a performance contract is paid per valid " + std::string{s.performance->model == "cpc" ? "click" : "view"}
                    + " by the settlement, not released on approval");
  if (s.status != contract_status::delivered)
    return wrong_status(s, "approve", "delivered");
  if (s.reauthorizing())
    return renewing();
  if (auto no = check_capacity(s, 1, r))
    return *no;
  // Approving after the review window lapsed (before the timer fired) ends the same way.
  if (s.mode == funding_mode::authorize_capture)
    return accepted{{capture_request(s, "approved", s.terms.amount, commission(s.terms.amount, r),
                                     now, cmd.by, cmd.key)}};
  return accepted{{protocol::contract_released{s.terms.amount, commission(s.terms.amount, r),
                                               false, now, cmd.by, cmd.key}}};
}

decision decide(const state& s, const request_revision& cmd, millis now, const rules& r) {
  if (auto no = check_member(s, cmd.by))
    return *no;
  if (auto no = check_key(s, cmd.by, cmd.key, fingerprint_revision(cmd.by, cmd.reason)))
    return *no;
  if (cmd.by != s.brand)
    return refuse(protocol::error_code::forbidden, "only the brand asks for a revision");
  if (cmd.reason.size() > max_reason_bytes)
    return refuse(protocol::error_code::too_large,
                  "reason is longer than " + std::to_string(max_reason_bytes) + " bytes");
  if (s.status != contract_status::delivered)
    return wrong_status(s, "request a revision", "delivered");
  if (now >= s.review_due)
    return refuse(protocol::error_code::conflict,
                  "the review window ended (at " + std::to_string(s.review_due)
                    + "); the escrow is being released");
  if (s.revisions_used >= s.terms.revision_rounds)
    return refuse(protocol::error_code::limit_reached,
                  "all " + std::to_string(s.terms.revision_rounds)
                    + " revision rounds of the terms are used");
  if (auto no = check_capacity(s, 1, r))
    return *no;
  return accepted{{protocol::contract_revision_requested{
    cmd.by, cmd.key, cmd.reason, s.revisions_used + 1,
    std::max(s.delivery_due, now + r.revision_window), now}}};
}

decision decide(const state& s, const dispute& cmd, millis now, const rules& r) {
  if (auto no = check_member(s, cmd.by))
    return *no;
  if (auto no = check_key(s, cmd.by, cmd.key, fingerprint_dispute(cmd.by, cmd.reason)))
    return *no;
  if (cmd.reason.empty())
    return refuse(protocol::error_code::bad_request, "a dispute needs a reason");
  if (s.performance)
    return refuse(protocol::error_code::conflict,
                  "a performance contract is paid per unit and cannot be disputed; cancel it "
                  "together (the rest of the cap goes back to the brand)");
  if (cmd.reason.size() > max_reason_bytes)
    return refuse(protocol::error_code::too_large,
                  "reason is longer than " + std::to_string(max_reason_bytes) + " bytes");
  if (s.status != contract_status::funded && s.status != contract_status::delivered
      && s.status != contract_status::revision_requested)
    return wrong_status(s, "dispute", "funded, delivered or revision_requested");
  // A deadline that has passed is being settled (its timer is due): it cannot be disputed away.
  const millis deadline = s.running_deadline();
  if (now >= deadline)
    return refuse(protocol::error_code::conflict,
                  std::string{s.status == contract_status::delivered ? "the review window"
                                                                     : "the delivery deadline"}
                    + " ended (at " + std::to_string(deadline)
                    + "); the contract is being settled");
  if (auto no = check_capacity(s, 1, r))
    return *no;
  return accepted{{protocol::contract_disputed{cmd.by, cmd.key, cmd.reason,
                                               std::string{to_string(s.status)},
                                               std::max<millis>(0, deadline - now), now}}};
}

decision decide(const state& s, const resolve& cmd, millis now, const rules& r) {
  if (!cmd.by_moderator)
    return refuse(protocol::error_code::forbidden, "only a moderator resolves a dispute");
  if (!s.exists())
    return refuse(protocol::error_code::not_found, "no such contract");
  if (auto no = check_key(s, cmd.by, cmd.key, fingerprint_resolve(cmd.by, cmd.to_creator)))
    return *no;
  if (s.status != contract_status::disputed)
    return wrong_status(s, "resolve", "disputed");
  if (cmd.to_creator < 0 || cmd.to_creator > s.terms.amount)
    return refuse(protocol::error_code::bad_request,
                  "to_creator must be between 0 and the amount, " + std::to_string(s.terms.amount));
  if (s.reauthorizing())
    return renewing();
  if (auto no = check_capacity(s, 1, r))
    return *no;
  const int64_t to_brand = s.terms.amount - cmd.to_creator;
  if (s.mode == funding_mode::authorize_capture) {
    if (cmd.to_creator > 0) // the creator's share must be collected first
      return accepted{{capture_request(s, "resolved", cmd.to_creator,
                                       commission(cmd.to_creator, r), now, cmd.by, cmd.key)}};
    // All back to the brand: cancel the authorization (if one is still held); nothing moves.
    return accepted{{protocol::contract_resolved{
      cmd.by, cmd.key, 0, to_brand, 0, {}, now,
      s.authorization.empty() ? std::string{} : provider_key(s, "cancel", s.head + 1)}}};
  }
  return accepted{{protocol::contract_resolved{
    cmd.by, cmd.key, cmd.to_creator, to_brand, commission(cmd.to_creator, r),
    to_brand > 0 ? provider_key(s, "refund", s.head + 1) : std::string{}, now}}};
}

decision decide(const state& s, const cancel& cmd, millis now, const rules& r) {
  if (auto no = check_member(s, cmd.by))
    return *no;
  if (auto no = check_key(s, cmd.by, cmd.key, fingerprint_cancel(cmd.by)))
    return *no;
  switch (s.status) {
    case contract_status::awaiting_funding:
      if (!s.intent.empty())
        return refuse(protocol::error_code::conflict,
                      "a funding attempt is in flight; cancel once its result is in");
      if (auto no = check_capacity(s, 1, r))
        return *no;
      return accepted{{protocol::contract_cancelled{cmd.by, cmd.key, 0, {}, now}}};
    case contract_status::delivered:
      if (!s.performance)
        return wrong_status(s, "cancel", "awaiting_funding, funded or revision_requested");
      [[fallthrough]]; // a performance contract runs while delivered: it may be cancelled then
    case contract_status::funded:
    case contract_status::revision_requested:
      if (s.cancel_requested_by == cmd.by)
        return refuse(protocol::error_code::conflict,
                      "you already asked to cancel; the other party must agree");
      if (auto no = check_capacity(s, 1, r))
        return *no;
      if (!s.cancel_requested_by)
        return accepted{{protocol::contract_cancel_requested{cmd.by, cmd.key, now}}};
      if (s.reauthorizing())
        return renewing();
      if (s.mode == funding_mode::escrow) // what the escrow holds: the amount, or a cap's rest
        return accepted{{protocol::contract_cancelled{
          cmd.by, cmd.key, s.escrow,
          s.escrow > 0 || !s.performance ? provider_key(s, "refund", s.head + 1) : std::string{},
          now}}};
      if (!s.authorization.empty()) // void the authorization: nothing was taken
        return accepted{{protocol::contract_cancelled{cmd.by, cmd.key, s.authorized, {}, now,
                                                      provider_key(s, "cancel", s.head + 1)}}};
      return accepted{{protocol::contract_cancelled{cmd.by, cmd.key, 0, {}, now}}};
    default:
      return wrong_status(s, "cancel", "awaiting_funding, funded or revision_requested");
  }
}

decision decide(const state& s, const timer_fired&, millis now, const rules& r) {
  if (s.reauthorizing())
    return ignored{"a re-authorization is in flight; the clocks wait for its outcome"};
  const millis deadline = s.running_deadline();
  const bool delivering = s.status != contract_status::delivered;
  if (deadline != 0 && now >= deadline) {
    if (s.performance) // paid per unit: the rest of the cap goes back, delivered or not
      return accepted{{refund_on_deadline(
        s, now,
        s.performance->ends_at != 0 && deadline == s.performance->ends_at ? "campaign_ended"
                                                                           : "delivery_deadline")}};
    if (delivering)
      return accepted{{refund_on_deadline(s, now)}};
    if (s.mode == funding_mode::authorize_capture)
      return accepted{{capture_request(s, "review_lapsed", s.terms.amount,
                                       commission(s.terms.amount, r), now)}};
    return accepted{{protocol::contract_released{s.terms.amount, commission(s.terms.amount, r),
                                                 true, now}}};
  }
  if (const millis renew = s.reauthorize_at(r); renew != 0 && now >= renew)
    return accepted{{protocol::contract_reauthorization_requested{
      provider_key(s, "reauth", s.head + 1), s.terms.amount, s.terms.currency, now}}};
  if (deadline == 0)
    return ignored{"no clock is running"};
  if (s.reminded_for != deadline && now >= deadline - r.reminder_before)
    return accepted{{protocol::contract_reminder{
      !delivering && s.performance ? "campaign_end" : delivering ? "delivery" : "review", deadline, now}}};
  return ignored{"nothing due yet"};
}

decision decide(const state& s, const confirm_call& cmd, millis now, const rules&) {
  if (s.outstanding.count(cmd.call) == 0 && s.cancels.count(cmd.call) == 0)
    return ignored{"no such outstanding call (unknown or already confirmed)"};
  return accepted{{protocol::contract_provider_confirmed{cmd.call, now}}};
}

decision decide(const state& s, const capture_result& cmd, millis now, const rules&) {
  if (!s.exists())
    return ignored{"no such contract"};
  if (s.capture.empty() || cmd.call != s.capture)
    return ignored{"not the capture in flight (stale or repeated result)"};
  if (cmd.code.size() > max_provider_code_bytes)
    return refuse(protocol::error_code::bad_request, "the provider's code is too long");
  if (cmd.succeeded)
    return accepted{{settle(s, s.head + 1, now, true)}};
  const std::string code = cmd.code.empty() ? std::string{"processing_error"} : cmd.code;
  const int64_t seq = s.head + 1;
  // The authorization is gone (or unusable): void it, cancel it unless it lapsed, and charge
  // exactly the creator's gross share instead.
  return accepted{{protocol::contract_capture_failed{
    s.capture, code, code == "authorization_expired" ? std::string{} : provider_key(s, "cancel", seq),
    provider_key(s, "charge", seq), s.settling->to_creator, now}}};
}

decision decide(const state& s, const authorization_lapsed& cmd, millis now, const rules&) {
  if (!s.exists())
    return ignored{"no such contract"};
  if (s.authorization.empty() || cmd.intent != s.funded_intent)
    return ignored{"not the authorization the contract holds"};
  if (!s.capture.empty())
    return ignored{"a capture is in flight; its result decides"};
  if (!s.intent.empty())
    return ignored{"a re-authorization is in flight; its result decides"};
  return accepted{{protocol::contract_fallback_charge_on_approval{
    cmd.intent, "authorization_expired", {}, now}}};
}

std::vector<provider_call> calls_due(const state& s) {
  using k = provider_call::kind;
  std::vector<provider_call> out;
  const auto& cur = s.terms.currency;
  if (!s.intent.empty())
    out.push_back(provider_call{k::create_intent, s.intent, s.intent, s.intent_amount, cur,
                                s.intent_capture, s.payment_method});
  if (!s.capture.empty())
    out.push_back(provider_call{k::capture, s.capture, s.funded_intent, s.authorized, cur});
  for (const auto& [key, intent] : s.cancels)
    out.push_back(provider_call{k::cancel, key, intent, s.terms.amount, cur});
  for (const auto& [key, amount] : s.outstanding)
    out.push_back(provider_call{k::refund, key, s.funded_intent, amount, cur});
  return out;
}

// -- apply ----------------------------------------------------------------------------------------

int64_t performance_gross(const protocol::performance_terms& p, int64_t billed_units,
                          int64_t units) noexcept {
  if (units <= 0 || p.rate <= 0)
    return 0;
  if (p.model == "cpc") {
    if (units > max_amount / p.rate)
      return max_amount;
    return units * p.rate;
  }
  // floor(n * rate / 1000) without overflow: n = 1000 q + rem.
  auto cost = [&](int64_t n) -> int64_t {
    const int64_t q = n / 1000;
    const int64_t rem = n % 1000;
    if (q > max_amount / p.rate)
      return max_amount;
    return std::min(max_amount, q * p.rate + rem * std::min(p.rate, max_amount) / 1000);
  };
  if (units > max_amount - billed_units)
    return max_amount;
  return std::max<int64_t>(0, cost(billed_units + units) - cost(billed_units));
}

decision decide(const state& s, const bill& cmd, millis now, const rules& r) {
  if (!s.exists() || !s.performance)
    return refuse(protocol::error_code::conflict, "not a performance contract");
  if (cmd.through <= s.billed_through)
    return ignored{"already billed through " + std::to_string(s.billed_through)};
  if (cmd.after != s.billed_through)
    return ignored{"stale count (from " + std::to_string(cmd.after) + ", watermark "
                   + std::to_string(s.billed_through) + ")"};
  if (cmd.units <= 0 || cmd.after < 0)
    return refuse(protocol::error_code::bad_request, "a bill needs units > 0");
  if (s.mode != funding_mode::escrow)
    return refuse(protocol::error_code::conflict, "a performance contract holds escrow");
  if (s.status != contract_status::funded && s.status != contract_status::delivered
      && s.status != contract_status::revision_requested)
    return wrong_status(s, "bill", "funded, delivered or revision_requested");
  const int64_t gross = std::min(performance_gross(*s.performance, s.billed_units, cmd.units), s.escrow);
  return accepted{{protocol::contract_performance_billed{
    cmd.units, gross, commission(gross, r), cmd.through, gross == s.escrow, now}}};
}

decision decide(const state&, const bill_due&, millis, const rules&) {
  return ignored{"bill_due is counted by the contract actor"};
}

namespace {

void remember(state& s, const uuid& by, const std::string& key, int64_t seq, millis at,
              uint64_t fingerprint) {
  s.keys.try_emplace({by, key}, state::key_use{seq, at, fingerprint});
}

} // namespace

void apply(state& s, int64_t seq, const protocol::contract_event& ev, const rules&) {
  assert(seq == s.head + 1);
  auto start_intent = [&](const std::string& key, const std::string& method, bool capture,
                          int64_t amount, millis at) {
    s.intent = key;
    s.payment_method = method;
    s.intent_capture = capture;
    s.intent_amount = amount;
    s.authorization_requested_at = capture ? 0 : at;
  };
  auto clear_intent = [&] { start_intent({}, {}, true, 0, 0); };
  auto drop_authorization = [&] {
    s.authorization.clear();
    s.authorized = 0;
    s.authorization_expires_at = 0;
  };
  // A terminal event resolves the live authorization: posted when the capture in flight
  // succeeded (the money enters escrow), voided otherwise.
  auto resolve_authorization = [&] {
    if (!s.capture.empty())
      s.escrow += s.authorized;
    drop_authorization();
  };
  auto finish = [&] { // nothing is needed any more to collect or renew money
    s.funding_method.clear();
    s.settling.reset();
    s.capture.clear();
  };
  std::visit(overload{
               [&](const protocol::contract_opened& x) {
                 s.conversation = x.conversation;
                 s.offer = x.offer;
                 s.brand = x.brand;
                 s.creator = x.creator;
                 s.terms = x.terms;
                 s.opened_at = x.at;
                 s.mode = x.mode;
                 s.performance = x.performance;
                 s.status = contract_status::awaiting_funding;
               },
               [&](const protocol::contract_funding_requested& x) {
                 start_intent(x.intent, x.payment_method, x.capture, x.amount, x.at);
                 remember(s, x.by, x.key, seq, x.at, fingerprint_fund(x.by, x.payment_method));
               },
               [&](const protocol::contract_funding_failed&) { clear_intent(); },
               [&](const protocol::contract_funded& x) {
                 s.funded_intent = x.intent;
                 if (x.authorized) {
                   s.funding_method = s.payment_method;
                   s.authorization = transfer_id(s.id, seq, 0);
                   s.authorized = s.terms.amount;
                   s.authorization_expires_at = x.authorization_expires_at;
                 } else {
                   s.escrow += s.terms.amount;
                 }
                 clear_intent();
                 s.status = contract_status::funded;
                 s.funded_at = x.at;
                 s.delivery_due = x.delivery_due;
               },
               [&](const protocol::contract_delivered& x) {
                 s.status = contract_status::delivered;
                 s.review_due = x.review_due;
                 ++s.deliveries;
                 s.cancel_requested_by.reset(); // the work is in: a pending cancel lapses
                 remember(s, x.by, x.key, seq, x.at, fingerprint_deliver(x.by, x.items, x.note));
               },
               [&](const protocol::contract_revision_requested& x) {
                 s.status = contract_status::revision_requested;
                 s.revisions_used = x.round;
                 s.delivery_due = x.delivery_due;
                 remember(s, x.by, x.key, seq, x.at, fingerprint_revision(x.by, x.reason));
               },
               [&](const protocol::contract_released& x) {
                 if (!s.authorization.empty())
                   resolve_authorization();
                 s.status = contract_status::released;
                 s.escrow -= x.to_creator;
                 finish();
                 if (!x.automatic)
                   remember(s, x.by, x.key, seq, x.at, fingerprint_approve(x.by));
               },
               [&](const protocol::contract_refunded& x) {
                 if (!s.authorization.empty())
                   resolve_authorization();
                 else
                   s.escrow -= x.amount;
                 s.status = contract_status::refunded;
                 if (!x.refund.empty())
                   s.outstanding[x.refund] = x.amount;
                 if (!x.cancel.empty())
                   s.cancels[x.cancel] = s.funded_intent;
                 finish();
               },
               [&](const protocol::contract_cancel_requested& x) {
                 s.cancel_requested_by = x.by;
                 remember(s, x.by, x.key, seq, x.at, fingerprint_cancel(x.by));
               },
               [&](const protocol::contract_cancelled& x) {
                 if (!s.authorization.empty())
                   resolve_authorization();
                 else
                   s.escrow -= x.refunded;
                 s.status = contract_status::cancelled;
                 if (!x.refund.empty())
                   s.outstanding[x.refund] = x.refunded;
                 if (!x.cancel.empty())
                   s.cancels[x.cancel] = s.funded_intent;
                 finish();
                 remember(s, x.by, x.key, seq, x.at, fingerprint_cancel(x.by));
               },
               [&](const protocol::contract_disputed& x) {
                 s.paused_status =
                   contract_status_from_string(x.paused_status).value_or(contract_status::funded);
                 s.remaining = x.remaining;
                 s.status = contract_status::disputed;
                 s.cancel_requested_by.reset();
                 remember(s, x.by, x.key, seq, x.at, fingerprint_dispute(x.by, x.reason));
               },
               [&](const protocol::contract_resolved& x) {
                 if (!s.authorization.empty())
                   resolve_authorization();
                 s.status = contract_status::resolved;
                 // The brand's share leaves the escrow only when it was taken (then it is
                 // refunded); a fallback charge took only the creator's share.
                 s.escrow -= x.to_creator + (x.refund.empty() ? 0 : x.to_brand);
                 if (!x.refund.empty())
                   s.outstanding[x.refund] = x.to_brand;
                 if (!x.cancel.empty())
                   s.cancels[x.cancel] = s.funded_intent;
                 finish();
                 remember(s, x.by, x.key, seq, x.at, fingerprint_resolve(x.by, x.to_creator));
               },
               [&](const protocol::contract_reminder& x) { s.reminded_for = x.due; },
               [&](const protocol::contract_provider_confirmed& x) {
                 s.outstanding.erase(x.call);
                 s.cancels.erase(x.call);
               },
               [&](const protocol::contract_reauthorization_requested& x) {
                 start_intent(x.intent, s.funding_method, false, x.amount, x.at);
               },
               [&](const protocol::contract_reauthorized& x) {
                 s.cancels[x.cancel] = x.previous;
                 s.funded_intent = x.intent;
                 // postings: leg 0 voids the old authorization, leg 1 is the new one
                 s.authorization = transfer_id(s.id, seq, s.authorization.empty() ? 0 : 1);
                 s.authorized = s.terms.amount;
                 s.authorization_expires_at = x.authorization_expires_at;
                 clear_intent();
               },
               [&](const protocol::contract_fallback_charge_on_approval& x) {
                 if (!x.cancel.empty())
                   s.cancels[x.cancel] = s.funded_intent;
                 drop_authorization();
                 clear_intent();
               },
               [&](const protocol::contract_capture_requested& x) {
                 s.settling = state::settlement{x.reason, x.to_creator, x.commission, x.by, x.key};
                 s.status = contract_status::releasing;
                 s.cancel_requested_by.reset();
                 if (x.charge)
                   start_intent(x.capture, s.funding_method, true, x.amount, x.at);
                 else
                   s.capture = x.capture;
                 if (x.reason == "resolved")
                   remember(s, x.by, x.key, seq, x.at, fingerprint_resolve(x.by, x.to_creator));
                 else if (x.reason == "approved")
                   remember(s, x.by, x.key, seq, x.at, fingerprint_approve(x.by));
               },
               [&](const protocol::contract_capture_failed& x) {
                 s.capture.clear();
                 if (!x.cancel.empty())
                   s.cancels[x.cancel] = s.funded_intent;
                 drop_authorization();
                 start_intent(x.charge, s.funding_method, true, x.amount, x.at);
               },
               [&](const protocol::contract_charged& x) {
                 s.escrow += x.amount;
                 s.funded_intent = x.intent;
                 clear_intent();
               },
               [&](const protocol::contract_charge_failed&) {
                 clear_intent();
                 s.status = contract_status::payment_due;
               },
               [&](const protocol::contract_performance_billed& x) {
                 s.billed_through = x.through;
                 s.billed_units += x.units;
                 s.billed_gross += x.gross;
                 s.escrow -= x.gross;
                 if (x.ended) { // the cap is paid out: nothing is left to bill or give back
                   s.status = contract_status::released;
                   s.cancel_requested_by.reset();
                   finish();
                 }
               },
             },
             ev);
  s.head = seq;
}

// -- postings -------------------------------------------------------------------------------------

std::vector<posting> postings(const state& before, int64_t seq, const protocol::contract_event& ev) {
  std::vector<posting> out;
  const auto& cur = before.terms.currency;
  const auto escrow = account::escrow(before.id);
  const auto clearing = account::clearing(cur);
  auto add = [&](posting::kind what, std::string debit, std::string credit, int64_t amount,
                 std::string pending_id = {}) {
    if (amount <= 0)
      return;
    out.push_back(posting{what, transfer_id(before.id, seq, out.size()), std::move(debit),
                          std::move(credit), amount, cur, std::move(pending_id)});
  };
  auto leg = [&](std::string debit, std::string credit, int64_t amount) {
    add(posting::kind::post, std::move(debit), std::move(credit), amount);
  };
  // The authorization is always clearing -> escrow of `authorized`; its resolution names the same.
  auto resolve_held = [&](posting::kind what) {
    if (!before.authorization.empty())
      add(what, clearing, escrow, before.authorized, before.authorization);
  };
  // A terminal event resolves the held authorization: captured (posted) if a capture was in
  // flight, given back (voided) otherwise.
  auto settle_held = [&] {
    resolve_held(before.capture.empty() ? posting::kind::void_pending
                                        : posting::kind::post_pending);
  };
  std::visit(overload{
               [&](const protocol::contract_funded& x) {
                 add(x.authorized ? posting::kind::pending : posting::kind::post, clearing, escrow,
                     before.terms.amount);
               },
               [&](const protocol::contract_released& x) {
                 settle_held();
                 leg(escrow, account::user(before.creator, cur), x.to_creator - x.commission);
                 leg(escrow, account::revenue(cur), x.commission);
               },
               [&](const protocol::contract_refunded& x) {
                 if (!before.authorization.empty())
                   settle_held();
                 else
                   leg(escrow, clearing, x.amount);
               },
               [&](const protocol::contract_cancelled& x) {
                 if (!before.authorization.empty())
                   settle_held();
                 else
                   leg(escrow, clearing, x.refunded);
               },
               [&](const protocol::contract_resolved& x) {
                 settle_held();
                 leg(escrow, account::user(before.creator, cur), x.to_creator - x.commission);
                 leg(escrow, account::revenue(cur), x.commission);
                 if (!x.refund.empty())
                   leg(escrow, clearing, x.to_brand);
               },
               [&](const protocol::contract_reauthorized&) {
                 resolve_held(posting::kind::void_pending);
                 add(posting::kind::pending, clearing, escrow, before.terms.amount);
               },
               [&](const protocol::contract_fallback_charge_on_approval&) {
                 resolve_held(posting::kind::void_pending);
               },
               [&](const protocol::contract_capture_failed&) {
                 resolve_held(posting::kind::void_pending);
               },
               [&](const protocol::contract_charged& x) { leg(clearing, escrow, x.amount); },
               [&](const protocol::contract_performance_billed& x) {
                 leg(escrow, account::user(before.creator, cur), x.gross - x.commission);
                 leg(escrow, account::revenue(cur), x.commission);
               },
               [](const auto&) {},
             },
             ev);
  return out;
}

// -- snapshots ------------------------------------------------------------------------------------

using json = nlohmann::json;

std::string encode_snapshot(const state& s) {
  json obj{{"id", s.id.str()},
           {"head", s.head},
           {"status", static_cast<int>(s.status)},
           {"funded_at", s.funded_at},
           {"delivery_due", s.delivery_due},
           {"review_due", s.review_due},
           {"revisions_used", s.revisions_used},
           {"deliveries", s.deliveries},
           {"intent", s.intent},
           {"payment_method", s.payment_method},
           {"funded_intent", s.funded_intent},
           {"paused_status", static_cast<int>(s.paused_status)},
           {"remaining", s.remaining},
           {"reminded_for", s.reminded_for},
           {"escrow", s.escrow},
           // version 2: authorize_capture
           {"intent_capture", s.intent_capture},
           {"intent_amount", s.intent_amount},
           {"authorization_requested_at", s.authorization_requested_at},
           {"funding_method", s.funding_method},
           {"authorization", s.authorization},
           {"authorized", s.authorized},
           {"authorization_expires_at", s.authorization_expires_at},
           {"capture", s.capture}};
  if (s.exists()) { // the opening, in its journal encoding: one definition of valid terms
    protocol::contract_event opened = protocol::contract_opened{
      s.conversation, s.offer, s.brand, s.creator, s.terms, s.opened_at, s.mode, s.performance};
    auto bytes = protocol::encode_contract_event(opened);
    obj["opened"] = json::binary(std::vector<uint8_t>(bytes.begin(), bytes.end()));
    obj["opened_version"] = protocol::contract_event_version(opened);
  }
  if (s.settling) {
    auto& st = *s.settling;
    obj["settling"] = json::array({st.reason, st.to_creator, st.commission, st.by.str(), st.key});
  }
  auto cancels = json::array();
  for (auto& [call, intent] : s.cancels)
    cancels.push_back(json::array({call, intent}));
  obj["cancels"] = std::move(cancels);
  if (s.cancel_requested_by)
    obj["cancel_requested_by"] = s.cancel_requested_by->str();
  auto outstanding = json::array();
  for (auto& [call, amount] : s.outstanding)
    outstanding.push_back(json::array({call, amount}));
  obj["outstanding"] = std::move(outstanding);
  auto keys = json::array();
  for (auto& [k, use] : s.keys)
    keys.push_back(json::array({k.first.str(), k.second, use.seq, use.at, use.fingerprint}));
  obj["keys"] = std::move(keys);
  if (s.performance) { // the terms ride in "opened" (its version 3)
    obj["billed_through"] = s.billed_through;
    obj["billed_units"] = s.billed_units;
    obj["billed_gross"] = s.billed_gross;
  }
  auto bytes = json::to_msgpack(obj);
  return std::string{bytes.begin(), bytes.end()};
}

expected<state, std::string> decode_snapshot(int16_t version, std::string_view bytes,
                                             const rules&) {
  if (version != 1 && version != 2)
    return std::string{"unknown contract snapshot version "} + std::to_string(version);
  auto obj = json::from_msgpack(bytes.begin(), bytes.end(), true, false);
  if (obj.is_discarded() || !obj.is_object())
    return std::string{"snapshot is not a msgpack map"};
  const auto last_status = version == 1 ? contract_status::resolved : contract_status::payment_due;
  auto status_of = [&](int x) -> std::optional<contract_status> {
    if (x < 0 || x > static_cast<int>(last_status))
      return std::nullopt;
    return static_cast<contract_status>(x);
  };
  try {
    state s;
    auto id = uuid::parse(obj.at("id").get<std::string>());
    if (!id)
      return std::string{"snapshot has a malformed id"};
    s.id = *id;
    s.head = obj.at("head").get<int64_t>();
    if (auto i = obj.find("opened"); i != obj.end()) {
      auto& bin = i->get_binary();
      const auto opened_version =
        version == 1 ? int16_t{1} : obj.at("opened_version").get<int16_t>();
      auto ev = protocol::decode_contract_event(
        "contract.opened", opened_version,
        std::string_view{reinterpret_cast<const char*>(bin.data()), bin.size()});
      if (!ev)
        return "snapshot: " + ev.error();
      auto& o = std::get<protocol::contract_opened>(ev.value());
      s.conversation = o.conversation;
      s.offer = o.offer;
      s.brand = o.brand;
      s.creator = o.creator;
      s.terms = o.terms;
      s.opened_at = o.at;
      s.mode = o.mode;
      s.performance = o.performance;
    } else if (s.head > 0) {
      return std::string{"snapshot of an open contract without its opening"};
    }
    auto status = status_of(obj.at("status").get<int>());
    auto paused = status_of(obj.at("paused_status").get<int>());
    if (!status || !paused)
      return std::string{"snapshot has a malformed status"};
    s.status = *status;
    s.paused_status = *paused;
    s.funded_at = obj.at("funded_at").get<int64_t>();
    s.delivery_due = obj.at("delivery_due").get<int64_t>();
    s.review_due = obj.at("review_due").get<int64_t>();
    s.revisions_used = obj.at("revisions_used").get<int64_t>();
    s.deliveries = obj.at("deliveries").get<int64_t>();
    s.intent = obj.at("intent").get<std::string>();
    s.payment_method = obj.at("payment_method").get<std::string>();
    s.funded_intent = obj.at("funded_intent").get<std::string>();
    s.remaining = obj.at("remaining").get<int64_t>();
    s.reminded_for = obj.at("reminded_for").get<int64_t>();
    s.escrow = obj.at("escrow").get<int64_t>();
    if (auto i = obj.find("cancel_requested_by"); i != obj.end()) {
      auto by = uuid::parse(i->get<std::string>());
      if (!by)
        return std::string{"snapshot has a malformed cancel_requested_by"};
      s.cancel_requested_by = *by;
    }
    for (auto& entry : obj.at("outstanding"))
      s.outstanding[entry.at(0).get<std::string>()] = entry.at(1).get<int64_t>();
    for (auto& entry : obj.at("keys")) {
      auto by = uuid::parse(entry.at(0).get<std::string>());
      if (!by)
        return std::string{"snapshot has a malformed key owner"};
      s.keys[{*by, entry.at(1).get<std::string>()}] = state::key_use{
        entry.at(2).get<int64_t>(), entry.at(3).get<int64_t>(), entry.at(4).get<uint64_t>()};
    }
    if (version == 1) {
      // Before authorize_capture: an escrow-mode state. The only intent in flight was the funding
      // charge of the whole amount (as replaying its contract.funding_requested would record).
      s.intent_amount = s.intent.empty() ? 0 : s.terms.amount;
      return s;
    }
    s.intent_capture = obj.at("intent_capture").get<bool>();
    s.intent_amount = obj.at("intent_amount").get<int64_t>();
    s.authorization_requested_at = obj.at("authorization_requested_at").get<int64_t>();
    s.funding_method = obj.at("funding_method").get<std::string>();
    s.authorization = obj.at("authorization").get<std::string>();
    s.authorized = obj.at("authorized").get<int64_t>();
    s.authorization_expires_at = obj.at("authorization_expires_at").get<int64_t>();
    s.capture = obj.at("capture").get<std::string>();
    if (auto i = obj.find("settling"); i != obj.end()) {
      auto& st = *i;
      auto by = uuid::parse(st.at(3).get<std::string>());
      if (!by)
        return std::string{"snapshot has a malformed settling.by"};
      s.settling = state::settlement{st.at(0).get<std::string>(), st.at(1).get<int64_t>(),
                                     st.at(2).get<int64_t>(), *by, st.at(4).get<std::string>()};
    }
    for (auto& entry : obj.at("cancels"))
      s.cancels[entry.at(0).get<std::string>()] = entry.at(1).get<std::string>();
    if (s.performance) {
      s.billed_through = obj.value("billed_through", int64_t{0});
      s.billed_units = obj.value("billed_units", int64_t{0});
      s.billed_gross = obj.value("billed_gross", int64_t{0});
    }
    return s;
  } catch (const json::exception& ex) {
    return std::string{"malformed snapshot: "} + ex.what();
  }
}

} // namespace pactum::actors::contract
