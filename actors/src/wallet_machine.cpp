#include "pactum/actors/wallet_machine.hpp"

#include <algorithm>
#include <cassert>

#include "pactum/common/overload.hpp"

namespace pactum::actors::wallet {

namespace {

refusal refuse(protocol::error_code code, std::string message) {
  return refusal{code, std::move(message)};
}

/// FNV-1a over the fields that make a withdrawal what it is (stable: never stored).
uint64_t fingerprint(const withdraw& cmd) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](std::string_view bytes) {
    for (unsigned char c : bytes) {
      h ^= c;
      h *= 1099511628211ull;
    }
    h ^= 0xff;
    h *= 1099511628211ull;
  };
  mix(std::to_string(cmd.amount));
  mix(cmd.currency);
  mix(cmd.destination);
  return h;
}

std::string transfer_id(const uuid& user, int64_t seq) {
  return user.str() + ":" + std::to_string(seq) + ":0";
}

} // namespace

std::string_view to_string(withdrawal_status s) noexcept {
  switch (s) {
    case withdrawal_status::pending:
      return "pending";
    case withdrawal_status::paid:
      return "paid";
    case withdrawal_status::failed:
      return "failed";
  }
  return "unknown";
}

size_t state::pending() const {
  size_t n = 0;
  for (auto& [payout, w] : withdrawals)
    n += w.status == withdrawal_status::pending;
  return n;
}

int64_t state::reserved(const std::string& currency) const {
  int64_t n = 0;
  for (auto& [payout, w] : withdrawals)
    if (w.status == withdrawal_status::pending && w.currency == currency)
      n += w.amount;
  return n;
}

decision decide(const state& s, const withdraw& cmd, millis now, const rules& r) {
  if (cmd.key.empty() || cmd.key.size() > 128)
    return refuse(protocol::error_code::bad_request, "key must be 1..128 bytes");
  if (auto k = s.keys.find(cmd.key); k != s.keys.end()) {
    if (k->second.second != fingerprint(cmd))
      return refuse(protocol::error_code::idempotency_mismatch,
                    "this key was used for another withdrawal; use a new key");
    return duplicate{k->second.first};
  }
  if (!cmd.verified)
    return refuse(protocol::error_code::forbidden,
                  "withdrawals need a verified identity (KYC); ask support to verify your account");
  if (cmd.currency.size() != 3
      || !std::all_of(cmd.currency.begin(), cmd.currency.end(), [](char c) { return c >= 'A' && c <= 'Z'; }))
    return refuse(protocol::error_code::bad_request, "currency must be an ISO 4217 code like USD");
  if (cmd.destination.empty() || cmd.destination.size() > 255)
    return refuse(protocol::error_code::bad_request, "destination must be 1..255 bytes");
  if (cmd.amount < r.min_withdrawal)
    return refuse(protocol::error_code::bad_request,
                  "the smallest withdrawal is " + std::to_string(r.min_withdrawal) + " minor units");
  if (s.pending() >= r.max_pending)
    return refuse(protocol::error_code::limit_reached,
                  "at most " + std::to_string(r.max_pending)
                    + " withdrawals may await payout at once; wait for one to finish");
  if (cmd.amount > cmd.withdrawable)
    return refuse(protocol::error_code::conflict,
                  "only " + std::to_string(std::max<int64_t>(cmd.withdrawable, 0))
                    + " minor units can be withdrawn now (money paid in the last "
                    + std::to_string(r.settlement_window / 3'600'000) + " hours is still settling)");
  auto seq = s.head + 1;
  return accepted{protocol::withdrawal_requested{cmd.key, s.user.str() + ":payout:" + std::to_string(seq),
                                                 cmd.amount, cmd.currency, cmd.destination, now}};
}

decision decide(const state& s, const payout_result& cmd, millis now, const rules&) {
  auto w = s.withdrawals.find(cmd.payout);
  if (w == s.withdrawals.end() || w->second.status != withdrawal_status::pending)
    return ignored{};
  if (cmd.paid)
    return accepted{protocol::withdrawal_paid{cmd.payout, now}};
  return accepted{protocol::withdrawal_failed{cmd.payout, cmd.code.empty() ? "payout_failed" : cmd.code, now}};
}

void apply(state& s, int64_t seq, const protocol::wallet_event& ev) {
  assert(seq == s.head + 1);
  std::visit(overload{
               [&](const protocol::withdrawal_requested& x) {
                 s.withdrawals[x.payout] = state::withdrawal{seq, x.amount, x.currency, x.destination,
                                                             withdrawal_status::pending, {}, x.at};
                 s.keys[x.key] = {seq, fingerprint(withdraw{x.key, x.amount, x.currency, x.destination})};
               },
               [&](const protocol::withdrawal_paid& x) {
                 s.withdrawals.at(x.payout).status = withdrawal_status::paid;
               },
               [&](const protocol::withdrawal_failed& x) {
                 auto& w = s.withdrawals.at(x.payout);
                 w.status = withdrawal_status::failed;
                 w.code = x.code;
               },
             },
             ev);
  s.head = seq;
}

std::vector<contract::posting> postings(const state& before, int64_t seq,
                                        const protocol::wallet_event& ev) {
  using k = contract::posting::kind;
  return std::visit(
    overload{
      [&](const protocol::withdrawal_requested& x) -> std::vector<contract::posting> {
        return {{k::pending, transfer_id(before.user, seq), contract::account::user(before.user, x.currency),
                 contract::account::clearing(x.currency), x.amount, x.currency}};
      },
      [&](const auto& x) -> std::vector<contract::posting> {
        const auto& w = before.withdrawals.at(x.payout);
        bool paid = std::is_same_v<std::decay_t<decltype(x)>, protocol::withdrawal_paid>;
        return {{paid ? k::post_pending : k::void_pending, {}, contract::account::user(before.user, w.currency),
                 contract::account::clearing(w.currency), w.amount, w.currency,
                 transfer_id(before.user, w.seq)}};
      },
    },
    ev);
}

std::vector<std::string> payouts_due(const state& s) {
  std::vector<std::string> out;
  for (auto& [payout, w] : s.withdrawals)
    if (w.status == withdrawal_status::pending)
      out.push_back(payout);
  return out;
}

} // namespace pactum::actors::wallet
