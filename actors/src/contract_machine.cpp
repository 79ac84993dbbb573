#include "pactum/actors/contract_machine.hpp"

#include <algorithm>
#include <array>
#include <cassert>

#include <nlohmann/json.hpp>

#include "pactum/common/overload.hpp"

namespace pactum::actors::contract {

namespace {


constexpr std::array<std::string_view, 9> status_names{{
  "awaiting_funding",
  "funded",
  "delivered",
  "revision_requested",
  "released",
  "refunded",
  "cancelled",
  "disputed",
  "resolved",
}};

} // namespace

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
      return delivery_due;
    case contract_status::delivered:
      return review_due;
    default:
      return 0;
  }
}

millis state::next_timer(const rules& r) const noexcept {
  const millis deadline = running_deadline();
  if (deadline == 0)
    return 0;
  if (reminded_for != deadline && r.reminder_before > 0)
    return deadline - r.reminder_before;
  return deadline;
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
        && cmd.brand == s.brand && cmd.creator == s.creator && cmd.terms == s.terms)
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
  return accepted{{protocol::contract_opened{cmd.conversation, cmd.offer, cmd.brand, cmd.creator,
                                             cmd.terms, now}}};
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
  if (s.status != contract_status::awaiting_funding)
    return wrong_status(s, "fund", "awaiting_funding");
  if (!s.intent.empty())
    return refuse(protocol::error_code::conflict,
                  "a funding attempt is in flight; wait for its result before trying again");
  if (auto no = check_capacity(s, 1, r))
    return *no;
  return accepted{{protocol::contract_funding_requested{
    cmd.by, cmd.key, provider_key(s, "fund", s.head + 1), cmd.payment_method, s.terms.amount,
    s.terms.currency, now}}};
}

decision decide(const state& s, const payment_result& cmd, millis now, const rules& r) {
  if (!s.exists())
    return ignored{"no such contract"};
  if (s.intent.empty() || cmd.intent != s.intent)
    return ignored{"not the funding attempt in flight (stale or repeated result)"};
  if (cmd.code.size() > max_provider_code_bytes)
    return refuse(protocol::error_code::bad_request, "the provider's code is too long");
  if (cmd.succeeded)
    return accepted{{protocol::contract_funded{s.intent, now + s.terms.delivery_days * r.day, now}}};
  return accepted{{protocol::contract_funding_failed{
    s.intent, cmd.code.empty() ? std::string{"processing_error"} : cmd.code, now}}};
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
  if (s.status != contract_status::delivered)
    return wrong_status(s, "approve", "delivered");
  if (auto no = check_capacity(s, 1, r))
    return *no;
  // Approving after the review window lapsed (before the timer fired) ends the same way.
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
  if (auto no = check_capacity(s, 1, r))
    return *no;
  const int64_t to_brand = s.terms.amount - cmd.to_creator;
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
    case contract_status::funded:
    case contract_status::revision_requested:
      if (s.cancel_requested_by == cmd.by)
        return refuse(protocol::error_code::conflict,
                      "you already asked to cancel; the other party must agree");
      if (auto no = check_capacity(s, 1, r))
        return *no;
      if (!s.cancel_requested_by)
        return accepted{{protocol::contract_cancel_requested{cmd.by, cmd.key, now}}};
      return accepted{{protocol::contract_cancelled{cmd.by, cmd.key, s.terms.amount,
                                                    provider_key(s, "refund", s.head + 1), now}}};
    default:
      return wrong_status(s, "cancel", "awaiting_funding, funded or revision_requested");
  }
}

decision decide(const state& s, const timer_fired&, millis now, const rules& r) {
  const millis deadline = s.running_deadline();
  if (deadline == 0)
    return ignored{"no clock is running"};
  const bool delivering = s.status != contract_status::delivered;
  if (now >= deadline) {
    if (delivering)
      return accepted{{protocol::contract_refunded{s.terms.amount, "delivery_deadline",
                                                   provider_key(s, "refund", s.head + 1), now}}};
    return accepted{{protocol::contract_released{s.terms.amount, commission(s.terms.amount, r),
                                                 true, now}}};
  }
  if (s.reminded_for != deadline && now >= deadline - r.reminder_before)
    return accepted{{protocol::contract_reminder{delivering ? "delivery" : "review", deadline, now}}};
  return ignored{"nothing due yet"};
}

decision decide(const state& s, const confirm_call& cmd, millis now, const rules&) {
  if (s.outstanding.count(cmd.call) == 0)
    return ignored{"no such outstanding call (unknown or already confirmed)"};
  return accepted{{protocol::contract_provider_confirmed{cmd.call, now}}};
}

// -- apply ----------------------------------------------------------------------------------------

namespace {

void remember(state& s, const uuid& by, const std::string& key, int64_t seq, millis at,
              uint64_t fingerprint) {
  s.keys.try_emplace({by, key}, state::key_use{seq, at, fingerprint});
}

} // namespace

void apply(state& s, int64_t seq, const protocol::contract_event& ev, const rules&) {
  assert(seq == s.head + 1);
  std::visit(overload{
               [&](const protocol::contract_opened& x) {
                 s.conversation = x.conversation;
                 s.offer = x.offer;
                 s.brand = x.brand;
                 s.creator = x.creator;
                 s.terms = x.terms;
                 s.opened_at = x.at;
                 s.status = contract_status::awaiting_funding;
               },
               [&](const protocol::contract_funding_requested& x) {
                 s.intent = x.intent;
                 s.payment_method = x.payment_method;
                 remember(s, x.by, x.key, seq, x.at, fingerprint_fund(x.by, x.payment_method));
               },
               [&](const protocol::contract_funding_failed&) {
                 s.intent.clear();
                 s.payment_method.clear();
               },
               [&](const protocol::contract_funded& x) {
                 s.funded_intent = x.intent;
                 s.intent.clear();
                 s.payment_method.clear();
                 s.status = contract_status::funded;
                 s.funded_at = x.at;
                 s.delivery_due = x.delivery_due;
                 s.escrow += s.terms.amount;
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
                 s.status = contract_status::released;
                 s.escrow -= x.to_creator;
                 if (!x.automatic)
                   remember(s, x.by, x.key, seq, x.at, fingerprint_approve(x.by));
               },
               [&](const protocol::contract_refunded& x) {
                 s.status = contract_status::refunded;
                 s.escrow -= x.amount;
                 s.outstanding[x.refund] = x.amount;
               },
               [&](const protocol::contract_cancel_requested& x) {
                 s.cancel_requested_by = x.by;
                 remember(s, x.by, x.key, seq, x.at, fingerprint_cancel(x.by));
               },
               [&](const protocol::contract_cancelled& x) {
                 s.status = contract_status::cancelled;
                 s.escrow -= x.refunded;
                 if (!x.refund.empty())
                   s.outstanding[x.refund] = x.refunded;
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
                 s.status = contract_status::resolved;
                 s.escrow -= x.to_creator + x.to_brand;
                 if (!x.refund.empty())
                   s.outstanding[x.refund] = x.to_brand;
                 remember(s, x.by, x.key, seq, x.at, fingerprint_resolve(x.by, x.to_creator));
               },
               [&](const protocol::contract_reminder& x) { s.reminded_for = x.due; },
               [&](const protocol::contract_provider_confirmed& x) { s.outstanding.erase(x.call); },
             },
             ev);
  s.head = seq;
}

// -- postings -------------------------------------------------------------------------------------

std::vector<posting> postings(const state& before, int64_t seq, const protocol::contract_event& ev) {
  std::vector<posting> out;
  const auto& cur = before.terms.currency;
  const auto escrow = account::escrow(before.id);
  auto leg = [&](std::string debit, std::string credit, int64_t amount) {
    if (amount <= 0)
      return;
    auto id = before.id.str() + ":" + std::to_string(seq) + ":" + std::to_string(out.size());
    out.push_back(posting{posting::kind::post, std::move(id), std::move(debit), std::move(credit),
                          amount, cur});
  };
  std::visit(overload{
               [&](const protocol::contract_funded&) {
                 leg(account::clearing(cur), escrow, before.terms.amount);
               },
               [&](const protocol::contract_released& x) {
                 leg(escrow, account::user(before.creator, cur), x.to_creator - x.commission);
                 leg(escrow, account::revenue(cur), x.commission);
               },
               [&](const protocol::contract_refunded& x) {
                 leg(escrow, account::clearing(cur), x.amount);
               },
               [&](const protocol::contract_cancelled& x) {
                 leg(escrow, account::clearing(cur), x.refunded);
               },
               [&](const protocol::contract_resolved& x) {
                 leg(escrow, account::user(before.creator, cur), x.to_creator - x.commission);
                 leg(escrow, account::revenue(cur), x.commission);
                 leg(escrow, account::clearing(cur), x.to_brand);
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
           {"escrow", s.escrow}};
  if (s.exists()) { // the opening, in its journal encoding: one definition of valid terms
    auto opened = protocol::encode_contract_event(protocol::contract_opened{
      s.conversation, s.offer, s.brand, s.creator, s.terms, s.opened_at});
    obj["opened"] = json::binary(std::vector<uint8_t>(opened.begin(), opened.end()));
  }
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
  auto bytes = json::to_msgpack(obj);
  return std::string{bytes.begin(), bytes.end()};
}

expected<state, std::string> decode_snapshot(int16_t version, std::string_view bytes,
                                             const rules&) {
  if (version != 1)
    return std::string{"unknown contract snapshot version "} + std::to_string(version);
  auto obj = json::from_msgpack(bytes.begin(), bytes.end(), true, false);
  if (obj.is_discarded() || !obj.is_object())
    return std::string{"snapshot is not a msgpack map"};
  auto status_of = [](int x) -> std::optional<contract_status> {
    if (x < 0 || x > static_cast<int>(contract_status::resolved))
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
      auto ev = protocol::decode_contract_event(
        "contract.opened", 1, std::string_view{reinterpret_cast<const char*>(bin.data()), bin.size()});
      if (!ev)
        return "snapshot: " + ev.error();
      auto& o = std::get<protocol::contract_opened>(ev.value());
      s.conversation = o.conversation;
      s.offer = o.offer;
      s.brand = o.brand;
      s.creator = o.creator;
      s.terms = o.terms;
      s.opened_at = o.at;
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
    return s;
  } catch (const json::exception& ex) {
    return std::string{"malformed snapshot: "} + ex.what();
  }
}

} // namespace pactum::actors::contract
