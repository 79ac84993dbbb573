// Seeded simulation of the escrow contract machine (pure: no actors) against an in-memory
// double-entry ledger with two-phase transfers. Per seed, a few contracts live at once (finished
// ones are replaced, up to a cap; half of them in authorize_capture mode) while 10,000 random
// operations run in virtual time: funding with succeeding, failing, duplicated and stale provider
// results, deliveries, approvals, revisions, disputes and resolutions (by moderators and not),
// cancellations, timers (at random and whenever one is due), provider confirmations, and retries
// of earlier commands with the same key, with the same and with altered parameters. In
// authorize_capture mode also: capture results (success, authorization_expired and other
// failures, stale and duplicated ones), re-authorizations that succeed or fail (their results come
// like any provider result), lapses reported by the provider (live and stale), fallback charges
// and charges that fail into payment_due. Every accepted event's `postings` are booked in the
// ledger model.
//
// Due timers fire right after time advances (sometimes one advance late: a lagging sweeper, so
// that commands also meet deadlines that passed but are not settled yet).
//
// After every step: each currency's balances sum to zero (posted and pending); no account but
// clearing:* is below zero, counting pending debits; no transfer id is booked twice; each pending
// transfer is resolved at most once, by a resolution naming its own accounts and amount; a retry
// gets `duplicate` with the first seq (same parameters) or `idempotency_mismatch` (other
// parameters); a due timer always decides something; the contract's escrow (state and ledger) is
// the amount while funded in escrow mode, its live pending transfer is exactly the authorization
// the state holds (the amount, in authorize_capture mode, unless it fell back to charging), and a
// terminal contract holds nothing, posted or pending, and owes no create_intent or capture;
// `calls_due` lists well-formed calls, and a call that left it never comes back. At the end of each seed every contract's journal is
// replayed from scratch and must rebuild identical snapshot bytes; every fourth seed (and a seed run
// alone) replays through the journal encoding and round-trips every snapshot as well, which costs
// more than the 10,000 operations themselves.
//
// PACTUM_CONTRACT_SIM_SEEDS=<n> runs seeds 1..n (default 1000); PACTUM_CONTRACT_SIM_SEED=<s> runs
// only seed s; PACTUM_CONTRACT_SIM_OPS=<n> sets the operations per seed (default 10000). A
// failure names its seed.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <gtest/gtest.h>

#include "pactum/common/overload.hpp"
#include "pactum/actors/contract_machine.hpp"

using namespace pactum;
using namespace pactum::actors::contract;
using protocol::error_code;

namespace {

constexpr millis minute = 60 * 1000LL;
constexpr millis hour = 60 * minute;
constexpr millis day = 24 * hour;

uint64_t env_or(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

/// The ledger model: balances per account (credits - debits), every transfer by id.
class ledger {
public:
  /// Books one transfer; returns an error message, or an empty string when it is fine.
  std::string book(const posting& p) {
    if (p.amount <= 0)
      return "transfer " + p.id + " has amount " + std::to_string(p.amount);
    if (p.debit == p.credit)
      return "transfer " + p.id + " moves money from an account to itself";
    if (auto no = check_currency(p.debit, p.currency); !no.empty())
      return no;
    if (auto no = check_currency(p.credit, p.currency); !no.empty())
      return no;
    auto [it, fresh] = transfers_.try_emplace(p.id, entry{p, state::posted});
    if (!fresh)
      return "transfer " + p.id + " booked twice";
    switch (p.what) {
      case posting::kind::post:
        move(p.debit, p.credit, p.amount, p.currency);
        break;
      case posting::kind::pending:
        it->second.st = state::pending; // reserved, not moved, until posted or voided
        pending_debits_[p.debit] += p.amount;
        live_pending_[p.credit].push_back(p.id);
        break;
      case posting::kind::post_pending:
      case posting::kind::void_pending: {
        auto pending = transfers_.find(p.pending_id);
        if (pending == transfers_.end() || pending->second.p.what != posting::kind::pending)
          return "transfer " + p.id + " resolves " + p.pending_id + ", which is not pending";
        if (pending->second.st != state::pending)
          return "pending transfer " + p.pending_id + " resolved twice";
        const auto& held = pending->second.p;
        if (held.debit != p.debit || held.credit != p.credit || held.amount != p.amount
            || held.currency != p.currency)
          return "transfer " + p.id + " resolves " + p.pending_id
                 + " with other accounts or another amount";
        pending->second.st = state::resolved;
        pending_debits_[held.debit] -= held.amount;
        std::erase(live_pending_[held.credit], p.pending_id);
        if (p.what == posting::kind::post_pending)
          move(held.debit, held.credit, held.amount, held.currency);
        break;
      }
    }
    for (auto* account : {&p.debit, &p.credit})
      if (available(*account) < 0 && account->rfind("clearing:", 0) != 0)
        return "account " + *account + " is below zero: " + std::to_string(available(*account));
    return {};
  }

  /// The balance less what pending transfers promise out of the account (the ledger's floor).
  int64_t available(const std::string& account) const {
    auto i = pending_debits_.find(account);
    return balance(account) - (i == pending_debits_.end() ? 0 : i->second);
  }

  /// The live pending transfers into `account`: (id, amount).
  std::vector<std::pair<std::string, int64_t>> pending_into(const std::string& account) const {
    std::vector<std::pair<std::string, int64_t>> out;
    if (auto i = live_pending_.find(account); i != live_pending_.end())
      for (auto& id : i->second)
        out.emplace_back(id, transfers_.at(id).p.amount);
    return out;
  }

  int64_t balance(const std::string& account) const {
    auto i = balances_.find(account);
    return i == balances_.end() ? 0 : i->second;
  }

  /// The sum of all balances of each currency, as maintained with every move.
  const std::map<std::string, int64_t>& totals() const noexcept { return totals_; }

  /// Recounts from the balances themselves: each currency's sum, and any account below zero
  /// other than clearing ones. Returns an error message or an empty string.
  std::string audit() const {
    std::map<std::string, int64_t> sums;
    for (auto& [account, b] : balances_) {
      sums[currency_.at(account)] += b;
      if (b < 0 && account.rfind("clearing:", 0) != 0)
        return "account " + account + " is below zero";
    }
    for (auto& [cur, sum] : sums)
      if (sum != 0 || totals_.at(cur) != 0)
        return "balances of " + cur + " sum to " + std::to_string(sum);
    // Pending: every live pending transfer is counted once on each side, and nothing else is.
    std::unordered_map<std::string, int64_t> debits;
    for (auto& [id, e] : transfers_)
      if (e.st == state::pending)
        debits[e.p.debit] += e.p.amount;
    for (auto& [account, d] : pending_debits_)
      if (d != (debits.count(account) ? debits.at(account) : 0))
        return "pending debits of " + account + " are " + std::to_string(d);
    return {};
  }

  size_t transfers() const noexcept { return transfers_.size(); }

private:
  enum class state : uint8_t { posted, pending, resolved };
  struct entry {
    posting p;
    state st;
  };

  std::string check_currency(const std::string& account, const std::string& cur) {
    auto [it, fresh] = currency_.try_emplace(account, cur);
    if (!fresh && it->second != cur)
      return "account " + account + " holds " + it->second + ", not " + cur;
    return {};
  }

  void move(const std::string& debit, const std::string& credit, int64_t amount,
            const std::string& cur) {
    // Each balance change is mirrored in its currency's running sum of all balances, so that
    // `totals` is that sum without a scan of every account (audit() recounts it).
    auto& total = totals_[cur];
    balances_[debit] -= amount;
    total -= amount;
    balances_[credit] += amount;
    total += amount;
  }

  std::unordered_map<std::string, int64_t> balances_;
  std::unordered_map<std::string, std::string> currency_;
  std::map<std::string, int64_t> totals_;
  std::unordered_map<std::string, entry> transfers_;
  std::unordered_map<std::string, int64_t> pending_debits_;
  std::unordered_map<std::string, std::vector<std::string>> live_pending_; ///< by credit account
};

using member_command =
  std::variant<fund, deliver, approve, request_revision, dispute, resolve, cancel>;

/// An accepted keyed command: what a retry must get back.
struct accepted_command {
  size_t contract = 0;
  member_command cmd;
  int64_t seq = 0;
  millis at = 0;
};

struct sim_contract {
  state s;
  std::vector<protocol::contract_event> journal;
  std::vector<std::string> intents; ///< every intent it ever created (funding, reauth, charges)
  std::string last_intent_result;   ///< the last settled intent (for duplicated webhooks)
  bool last_succeeded = false;
  std::vector<std::string> confirmed; ///< calls already confirmed
  std::vector<std::string> captures;  ///< every capture call it ever had
  std::string last_capture_result;    ///< the last settled capture (for duplicated webhooks)
  std::vector<std::string> owed;      ///< the keys calls_due listed after the last commit
  std::unordered_set<std::string> settled_calls; ///< keys that left calls_due
};

/// Outcomes, summed over all seeds for the summary line.
struct tally {
  uint64_t contracts = 0, released = 0, auto_released = 0, refunded = 0, cancelled = 0,
           cancelled_funded = 0, resolved = 0, open = 0, events = 0, transfers = 0, retries = 0,
           mismatches = 0, ops = 0;
  // authorize_capture
  uint64_t auth_contracts = 0, captured = 0, capture_failures = 0, charged = 0,
           charge_failures = 0, reauthorized = 0, fallbacks = 0, payment_due = 0;
};

class simulation {
public:
  /// `deep`: replay through the journal encoding and round-trip every snapshot too (slower).
  simulation(uint64_t seed, uint64_t ops, bool deep)
    : seed_(seed), ops_(ops), deep_(deep), rng_(seed) {
    rules_.commission_bps = pick(0, 2000);
    rules_.commission_fixed = chance(0.3) ? pick(0, 500) : 0;
    rules_.review_window = pick(1, 4) * day;
    rules_.revision_window = pick(1, 4) * day;
    rules_.reminder_before = chance(0.1) ? 0 : day;
    // Short authorizations, so that contracts renew them (and fail to) often.
    rules_.authorization_validity = pick(2, 7) * day;
    rules_.authorization_margin = pick(0, 36) * hour; // the machine clamps it to validity / 2
    live_target_ = static_cast<size_t>(pick(1, 4));
    now_ = 1'700'000'000'000 + static_cast<millis>(seed) * day;
    moderators_ = {uuid::v7(), uuid::v7()};
  }

  /// Runs the seed; returns an empty string or the first failure.
  std::string run(tally& t) {
    for (uint64_t op = 0; op < ops_ && error_.empty(); ++op) {
      step_ = op;
      while (live_.size() < live_target_ && contracts_.size() < max_contracts)
        open_one();
      if (!error_.empty())
        break;
      step();
      if (error_.empty())
        check_totals();
    }
    if (error_.empty())
      finish(t);
    return error_;
  }

private:
  static constexpr size_t max_contracts = 200;

  int64_t pick(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>{lo, hi}(rng_); }
  bool chance(double p) { return std::bernoulli_distribution{p}(rng_); }
  template <class T>
  const T& any_of(const std::vector<T>& v) {
    return v[static_cast<size_t>(pick(0, static_cast<int64_t>(v.size()) - 1))];
  }

  void fail(const std::string& what) {
    if (!error_.empty())
      return;
    std::ostringstream out;
    out << "seed " << seed_ << " (PACTUM_CONTRACT_SIM_SEED=" << seed_ << "), step " << step_
        << ", now " << now_ << ": " << what;
    error_ = out.str();
  }

  std::string fresh_key() { return "k" + std::to_string(++keys_); }

  // -- the parties ------------------------------------------------------------------------------

  /// Mostly the party that may act, sometimes the other one or a stranger.
  uuid actor(const sim_contract& c, const uuid& right) {
    double x = std::uniform_real_distribution<double>{0, 1}(rng_);
    if (x < 0.85)
      return right;
    if (x < 0.95)
      return right == c.s.brand ? c.s.creator : c.s.brand;
    return stranger_;
  }

  uuid either(const sim_contract& c) {
    return chance(0.97) ? (chance(0.5) ? c.s.brand : c.s.creator) : stranger_;
  }

  // -- applying decisions -----------------------------------------------------------------------

  /// Books and applies an accepted decision's events; checks the contract afterwards.
  void commit(sim_contract& c, const decision& d) {
    auto* a = std::get_if<accepted>(&d);
    if (!a)
      return;
    if (a->events.empty())
      return fail("accepted without events");
    for (auto& ev : a->events) {
      const int64_t seq = c.s.head + 1;
      check_event(c.s, ev);
      if (!error_.empty())
        return;
      for (auto& p : postings(c.s, seq, ev)) {
        if (p.id.rfind(c.s.id.str() + ":" + std::to_string(seq) + ":", 0) != 0)
          return fail("transfer id " + p.id + " does not follow <contract>:<seq>:<n>");
        if (auto no = book_.book(p); !no.empty())
          return fail(no);
      }
      apply(c.s, seq, ev, rules_);
      c.journal.push_back(ev);
      count(ev);
    }
    if (!c.s.intent.empty() && (c.intents.empty() || c.intents.back() != c.s.intent))
      c.intents.push_back(c.s.intent);
    if (!c.s.capture.empty() && (c.captures.empty() || c.captures.back() != c.s.capture))
      c.captures.push_back(c.s.capture);
    check_contract(c);
    check_calls(c);
  }

  void count(const protocol::contract_event& ev) {
    std::visit(overload{
                 [&](const protocol::contract_capture_failed&) { ++scratch_.capture_failures; },
                 [&](const protocol::contract_charged&) { ++scratch_.charged; },
                 [&](const protocol::contract_charge_failed&) { ++scratch_.charge_failures; },
                 [&](const protocol::contract_reauthorized&) { ++scratch_.reauthorized; },
                 [&](const protocol::contract_fallback_charge_on_approval&) { ++scratch_.fallbacks; },
                 [](const auto&) {},
               },
               ev);
  }

  /// calls_due: well-formed, and a call that was settled is never owed again.
  void check_calls(sim_contract& c) {
    const auto& s = c.s;
    std::vector<std::string> keys;
    for (auto& call : calls_due(s)) {
      if (call.key.empty() || call.intent.empty() || call.amount <= 0
          || call.currency != s.terms.currency)
        return fail("a malformed " + std::string{to_string(call.what)} + " call " + call.key);
      switch (call.what) {
        case provider_call::kind::create_intent:
          if (call.intent != call.key || call.payment_method.empty() || s.terminal())
            return fail("a malformed or late create_intent " + call.key);
          if (!call.capture && s.mode != funding_mode::authorize_capture)
            return fail("an authorization in escrow mode");
          break;
        case provider_call::kind::capture:
          if (s.status != contract_status::releasing || call.intent != s.funded_intent)
            return fail("a capture outside releasing, or of another intent");
          break;
        case provider_call::kind::cancel:
          if (!s.authorization.empty() && call.intent == s.funded_intent)
            return fail("cancelling the authorization the contract still holds");
          break;
        case provider_call::kind::refund:
          break;
      }
      if (c.settled_calls.count(call.key))
        return fail("the settled call " + call.key + " is owed again");
      if (std::find(keys.begin(), keys.end(), call.key) != keys.end())
        return fail("the call " + call.key + " is owed twice");
      keys.push_back(call.key);
    }
    for (auto& old : c.owed)
      if (std::find(keys.begin(), keys.end(), old) == keys.end())
        c.settled_calls.insert(old);
    c.owed = std::move(keys);
  }

  /// What each event must satisfy given the state it was decided in: a small reference model of
  /// the rules, independent of the machine's own bookkeeping.
  void check_event(const state& s, const protocol::contract_event& ev) {
    const auto status = s.status;
    const bool delivering = status == contract_status::funded
                            || status == contract_status::revision_requested;
    const bool auth = s.mode == funding_mode::authorize_capture;
    const bool held = !s.authorization.empty();
    const int64_t amount = s.terms.amount;
    // The money of a release or resolution is collected while releasing or, once the brand pays,
    // in payment_due.
    const bool collecting =
      status == contract_status::releasing || status == contract_status::payment_due;
    std::visit(
      overload{
        [&](const protocol::contract_funding_requested& x) {
          const bool paying = status == contract_status::payment_due;
          if ((status != contract_status::awaiting_funding && !paying) || !s.intent.empty())
            fail("a funding request in the wrong status or while one is in flight");
          if (x.capture != (paying || !auth)
              || x.amount != (paying ? s.settling->to_creator : amount))
            fail("a funding request of the wrong kind or amount");
        },
        [&](const protocol::contract_funded& x) {
          if (status != contract_status::awaiting_funding || x.intent != s.intent)
            fail("funded without the intent in flight");
          if (x.authorized != auth
              || (auth && x.authorization_expires_at
                            != s.authorization_requested_at + rules_.authorization_validity))
            fail("funded in the wrong way for its mode");
        },
        [&](const protocol::contract_delivered& x) {
          if (!delivering || x.by != s.creator || now_ >= s.delivery_due)
            fail("delivered by someone else, in the wrong status or after the deadline");
        },
        [&](const protocol::contract_revision_requested& x) {
          if (status != contract_status::delivered || x.by != s.brand || now_ >= s.review_due
              || x.round > s.terms.revision_rounds || x.delivery_due < s.delivery_due)
            fail("a revision that should have been refused");
        },
        [&](const protocol::contract_released& x) {
          if (x.to_creator != amount || x.commission != commission(amount, rules_))
            fail("released with the wrong amounts");
          if (!auth) {
            if (status != contract_status::delivered)
              fail("released from the wrong status");
            if (x.automatic ? now_ < s.review_due : x.by != s.brand)
              fail("released early, or approved by someone else than the brand");
          } else if (!collecting || !s.settling
                     || s.settling->reason == "resolved"
                     || x.automatic != (s.settling->reason == "review_lapsed")) {
            fail("released without its money collected");
          }
        },
        [&](const protocol::contract_refunded& x) {
          if (!delivering || now_ < s.delivery_due)
            fail("refunded before the delivery deadline");
          const int64_t back = !auth ? amount : held ? amount : 0;
          if (x.amount != back || x.refund.empty() == !auth || x.cancel.empty() == (auth && held))
            fail("refunded the wrong amount or through the wrong call");
        },
        [&](const protocol::contract_cancelled& x) {
          const bool funded = status != contract_status::awaiting_funding;
          if (funded && (!s.cancel_requested_by || *s.cancel_requested_by == x.by))
            fail("a funded contract cancelled without both parties");
          if (funded && s.reauthorizing())
            fail("cancelled while renewing the authorization");
          if (x.refunded != (!funded ? 0 : !auth ? amount : held ? amount : 0))
            fail("cancelled with the wrong refund");
        },
        [&](const protocol::contract_disputed& x) {
          if ((!delivering && status != contract_status::delivered) || x.remaining <= 0)
            fail("disputed from the wrong status or after the deadline");
        },
        [&](const protocol::contract_resolved& x) {
          if (x.to_creator + x.to_brand != amount
              || x.commission != commission(x.to_creator, rules_) || x.to_creator < 0
              || x.to_brand < 0)
            fail("resolved with amounts that do not add up");
          const bool direct = status == contract_status::disputed;
          if (!direct
              && (!auth || !collecting || !s.settling
                  || s.settling->reason != "resolved" || s.settling->to_creator != x.to_creator))
            fail("resolved from the wrong status");
          if (direct && auth && (x.to_creator != 0 || s.reauthorizing()))
            fail("an authorize_capture split resolved without collecting the money");
        },
        [&](const protocol::contract_capture_requested& x) {
          if (!auth || s.reauthorizing() || x.charge != !held
              || x.amount != (x.charge ? x.to_creator : amount))
            fail("a capture request in the wrong mode or of the wrong kind");
          if (x.reason == "resolved") {
            if (status != contract_status::disputed || x.to_creator <= 0)
              fail("a resolution's capture from the wrong status");
          } else if (status != contract_status::delivered || x.to_creator != amount
                     || (x.reason == "review_lapsed" ? now_ < s.review_due : x.by != s.brand)) {
            fail("a release's capture early, from the wrong status or by someone else");
          }
        },
        [&](const protocol::contract_capture_failed& x) {
          if (s.capture.empty() || x.capture != s.capture || x.amount != s.settling->to_creator)
            fail("a capture failed that was not in flight");
        },
        [&](const protocol::contract_charged& x) {
          if ((status != contract_status::releasing && status != contract_status::payment_due)
              || x.intent != s.intent || x.amount != s.settling->to_creator)
            fail("charged without a charge in flight");
        },
        [&](const protocol::contract_charge_failed& x) {
          if (status != contract_status::releasing || x.intent != s.intent)
            fail("a charge failed that was not in flight");
        },
        [&](const protocol::contract_reauthorization_requested&) {
          const millis at = s.reauthorize_at(rules_);
          if (!auth || !held || at == 0 || now_ < at)
            fail("a re-authorization that was not due");
        },
        [&](const protocol::contract_reauthorized& x) {
          if (!s.reauthorizing() || x.intent != s.intent || x.previous != s.funded_intent)
            fail("reauthorized without a renewal in flight");
        },
        [&](const protocol::contract_fallback_charge_on_approval& x) {
          const bool renewal = s.reauthorizing() && x.intent == s.intent;
          const bool lapse = held && s.intent.empty() && s.capture.empty()
                             && x.intent == s.funded_intent;
          if (!renewal && !lapse)
            fail("a fallback without a failed renewal or a lapse");
        },
        [&](const protocol::contract_reminder& x) {
          if (x.due != s.running_deadline() || s.reminded_for == x.due || now_ >= x.due)
            fail("a reminder for no running deadline, or twice");
        },
        [&](const protocol::contract_provider_confirmed& x) {
          if (s.outstanding.count(x.call) == 0 && s.cancels.count(x.call) == 0)
            fail("confirmed a call that was not outstanding");
        },
        [](const auto&) {},
      },
      ev);
  }

  void check_contract(const sim_contract& c) {
    const auto& s = c.s;
    const auto account = account::escrow(s.id);
    const auto escrow = book_.balance(account);
    const bool auth = s.mode == funding_mode::authorize_capture;
    if (s.escrow != escrow)
      return fail("state escrow " + std::to_string(s.escrow) + " != ledger escrow "
                  + std::to_string(escrow) + " (" + std::string{to_string(s.status)} + ")");
    // The ledger's live pending transfer into the escrow is exactly the authorization held.
    const auto pending = book_.pending_into(account);
    if (s.authorization.empty() ? !pending.empty()
                                : pending.size() != 1 || pending[0].first != s.authorization
                                    || pending[0].second != s.authorized)
      return fail("the ledger's pending transfers into the escrow (" + std::to_string(pending.size())
                  + ") are not the authorization the state holds (" + s.authorization + ")");
    if (!s.authorization.empty() && (!auth || s.authorized != s.terms.amount))
      return fail("an authorization in escrow mode or of another amount");
    const int64_t held = escrow + s.authorized;
    switch (s.status) {
      case contract_status::awaiting_funding:
        if (held != 0)
          return fail("escrow holds money before funding");
        break;
      case contract_status::funded:
      case contract_status::delivered:
      case contract_status::revision_requested:
      case contract_status::disputed:
        // escrow: the amount, posted. authorize_capture: the amount, pending, or (fallback)
        // nothing at all.
        if (!auth ? escrow != s.terms.amount
                  : escrow != 0 || (s.authorized != s.terms.amount && !s.charge_on_approval()))
          return fail("a funded contract holds " + std::to_string(escrow) + " + "
                      + std::to_string(s.authorized) + " pending, not " + std::to_string(s.terms.amount));
        break;
      case contract_status::releasing:
        if (!auth || escrow != 0
            || (s.capture.empty() ? s.authorized != 0 || s.intent.empty()
                                  : s.authorized != s.terms.amount || !s.intent.empty()))
          return fail("releasing without exactly one way to collect the money");
        break;
      case contract_status::payment_due:
        if (!auth || held != 0 || !s.capture.empty() || !s.settling)
          return fail("payment_due while holding something");
        break;
      default: // terminal
        if (held != 0 || !pending.empty())
          return fail("a terminal contract holds " + std::to_string(escrow) + " + "
                      + std::to_string(pending.size()) + " pending");
        if (s.next_timer(rules_) != 0)
          return fail("a terminal contract has a timer");
    }
    if (s.status == contract_status::disputed && s.next_timer(rules_) != s.reauthorize_at(rules_))
      return fail("a clock other than the renewal runs while disputed");
    if (!auth && s.reauthorize_at(rules_) != 0)
      return fail("an escrow contract renews an authorization");
    // An authorization the contract may still need past its trusted validity is renewed in time:
    // the timer is due no later than the expiry (unless a renewal is in flight already).
    if (!s.authorization.empty() && !s.reauthorizing()) {
      constexpr millis forever = std::numeric_limits<millis>::max();
      millis horizon = 0;
      if (s.status == contract_status::funded || s.status == contract_status::revision_requested)
        horizon = s.delivery_due + rules_.review_window;
      else if (s.status == contract_status::delivered)
        horizon = s.review_due;
      else if (s.status == contract_status::disputed)
        horizon = forever;
      const millis margin = std::min(rules_.authorization_margin, rules_.authorization_validity / 2);
      const millis timer = s.next_timer(rules_);
      if (horizon > s.authorization_expires_at - margin
          && (timer == 0 || timer > s.authorization_expires_at))
        return fail("an authorization needed until " + std::to_string(horizon)
                    + " lapses at " + std::to_string(s.authorization_expires_at)
                    + " with no renewal due before (timer " + std::to_string(timer) + ")");
    }
  }

  void check_totals() {
    for (auto& [cur, total] : book_.totals())
      if (total != 0)
        return fail("balances of " + cur + " sum to " + std::to_string(total));
  }

  /// Runs a keyed command with a fresh key; remembers it when accepted.
  template <class Cmd>
  void keyed(size_t index, Cmd cmd) {
    auto& c = contracts_[index];
    auto d = decide(c.s, cmd, now_, rules_);
    if (std::holds_alternative<duplicate>(d) || std::holds_alternative<ignored>(d))
      return fail("a fresh key was answered as a retry or ignored");
    if (auto* no = std::get_if<refusal>(&d)) {
      if (no->code == error_code::idempotency_mismatch)
        return fail("a fresh key was a mismatch");
      if (no->message.empty())
        return fail("a refusal without a message");
      if (!c.s.is_member(cmd.by) && no->code != error_code::forbidden) {
        if constexpr (!std::is_same_v<Cmd, resolve>)
          return fail("a stranger was not refused as forbidden");
      }
      return;
    }
    if constexpr (std::is_same_v<Cmd, resolve>) {
      if (!cmd.by_moderator)
        return fail("a non-moderator resolved");
    }
    const int64_t seq = c.s.head + 1;
    commit(c, d);
    history_.push_back(accepted_command{index, std::move(cmd), seq, now_});
  }

  // -- operations -------------------------------------------------------------------------------

  void open_one() {
    sim_contract c;
    c.s.id = uuid::v7();
    protocol::offer_terms t;
    // Now and then the largest amount an offer may have (terms.hpp), else up to 50,000.00.
    t.amount = chance(0.05) ? 100'000'000'000 : pick(1, 5'000'000);
    t.currency = chance(0.7) ? "USD" : "EUR";
    t.deliverables = {{"tiktok", "tiktok_duet", pick(1, 3), "duet"}};
    t.delivery_days = pick(1, 14);
    t.revision_rounds = pick(0, 3);
    t.usage_rights = "none";
    t.usage_days = 0;
    const auto mode = chance(0.5) ? funding_mode::authorize_capture : funding_mode::escrow;
    auto d = decide(c.s, open{c.s.id, uuid::v7(), pick(2, 99), uuid::v7(), uuid::v7(), t, mode},
                    now_, rules_);
    if (!std::holds_alternative<accepted>(d))
      return fail("open refused: " + std::get<refusal>(d).message);
    commit(c, d);
    live_.push_back(contracts_.size());
    contracts_.push_back(std::move(c));
  }

  void advance_time() {
    double x = std::uniform_real_distribution<double>{0, 1}(rng_);
    if (x < 0.6)
      now_ += pick(0, 30 * minute);
    else if (x < 0.9)
      now_ += pick(30 * minute, 12 * hour);
    else
      now_ += pick(1, 5) * day + pick(0, day);
    // Mostly the sweeper fires what is due at once; sometimes it lags, and commands meet a
    // deadline that has passed but not been settled yet.
    if (chance(0.8))
      fire_due_timers();
  }

  /// What the actor's durable timer does: fire whenever the contract's timer is due.
  void fire_due_timers() {
    for (size_t index : live_) {
      auto& c = contracts_[index];
      for (int guard = 0; error_.empty(); ++guard) {
        const millis due = c.s.next_timer(rules_);
        if (due == 0 || due > now_)
          break;
        if (guard > 3)
          return fail("a timer keeps firing");
        // Fire at the due time or late, like a sweeper that was busy.
        auto d = decide(c.s, timer_fired{}, now_, rules_);
        if (!std::holds_alternative<accepted>(d))
          return fail("a due timer (at " + std::to_string(due) + ") decided nothing in "
                      + std::string{to_string(c.s.status)});
        commit(c, d);
      }
    }
    retire_finished();
  }

  void retire_finished() {
    std::erase_if(live_, [&](size_t i) { return contracts_[i].s.terminal(); });
  }

  size_t pick_contract() {
    if (!live_.empty() && chance(0.9))
      return any_of(live_);
    return static_cast<size_t>(pick(0, static_cast<int64_t>(contracts_.size()) - 1));
  }

  void do_fund(size_t i) {
    auto& c = contracts_[i];
    static const std::vector<std::string> cards{"4242424242424242", "4000000000000002",
                                                "4000000000009995"};
    std::string method = chance(0.02) ? std::string{} : any_of(cards);
    keyed(i, fund{actor(c, c.s.brand), fresh_key(), method});
  }

  void do_payment_result(size_t i) {
    auto& c = contracts_[i];
    double x = std::uniform_real_distribution<double>{0, 1}(rng_);
    if (x < 0.6 && !c.s.intent.empty()) {
      static const std::vector<std::string> codes{"card_declined", "insufficient_funds",
                                                  "processing_error", ""};
      // Re-authorizations and charges for a release succeed more often than first fundings fail.
      payment_result r{c.s.intent, chance(c.s.status == contract_status::awaiting_funding ? 0.7 : 0.8),
                       {}};
      if (!r.succeeded)
        r.code = any_of(codes);
      auto d = decide(c.s, r, now_, rules_);
      if (!std::holds_alternative<accepted>(d))
        return fail("the provider's result for the intent in flight was not accepted");
      c.last_intent_result = r.intent;
      c.last_succeeded = r.succeeded;
      return commit(c, d);
    }
    // A duplicated, stale or unknown result: never changes anything.
    std::string intent = !c.last_intent_result.empty() && x < 0.8 ? c.last_intent_result
                         : !c.intents.empty() && x < 0.95         ? any_of(c.intents)
                                                                  : c.s.id.str() + ":fund:999999";
    if (intent == c.s.intent)
      return; // that is the one in flight after all
    auto d = decide(c.s, payment_result{intent, chance(0.5) ? true : c.last_succeeded}, now_, rules_);
    if (!std::holds_alternative<ignored>(d))
      fail("a stale provider result was not ignored");
  }

  /// authorize_capture: the capture in flight succeeds or fails; or a duplicated, stale or
  /// unknown capture result, which changes nothing.
  void do_capture_result(size_t i) {
    auto& c = contracts_[i];
    double x = std::uniform_real_distribution<double>{0, 1}(rng_);
    if (x < 0.7 && !c.s.capture.empty()) {
      static const std::vector<std::string> codes{"authorization_expired", "authorization_expired",
                                                  "processing_error", ""};
      capture_result r{c.s.capture, chance(0.7), {}};
      if (!r.succeeded)
        r.code = any_of(codes);
      auto d = decide(c.s, r, now_, rules_);
      if (!std::holds_alternative<accepted>(d))
        return fail("the result of the capture in flight was not accepted");
      c.last_capture_result = r.call;
      if (r.succeeded)
        ++scratch_.captured;
      return commit(c, d);
    }
    std::string call = !c.last_capture_result.empty() && x < 0.85 ? c.last_capture_result
                       : !c.captures.empty() && x < 0.95         ? any_of(c.captures)
                                                                 : c.s.id.str() + ":capture:999999";
    if (call == c.s.capture)
      return;
    if (!std::holds_alternative<ignored>(decide(c.s, capture_result{call, chance(0.5)}, now_, rules_)))
      fail("a stale capture result was not ignored");
  }

  /// The provider reports an authorization lapsed: the live one (a fallback unless a capture or
  /// renewal is in flight) or an old one (ignored).
  void do_lapse(size_t i) {
    auto& c = contracts_[i];
    const bool live = !c.s.authorization.empty() && chance(0.6);
    std::string intent = live ? c.s.funded_intent
                         : !c.intents.empty() ? any_of(c.intents)
                                              : c.s.id.str() + ":fund:999999";
    auto d = decide(c.s, authorization_lapsed{intent}, now_, rules_);
    const bool decides = !c.s.authorization.empty() && intent == c.s.funded_intent
                         && c.s.capture.empty() && c.s.intent.empty();
    if (decides != std::holds_alternative<accepted>(d))
      return fail("a lapse was " + std::string{decides ? "ignored" : "not ignored"});
    commit(c, d);
  }

  void do_deliver(size_t i) {
    auto& c = contracts_[i];
    std::vector<protocol::delivery_item> items;
    const int64_t n = chance(0.03) ? 0 : pick(1, 3);
    for (int64_t k = 0; k < n; ++k)
      items.push_back({(chance(0.02) ? "ftp://cdn.test/" : "https://cdn.test/")
                         + std::to_string(pick(0, 1'000'000)),
                       chance(0.5) ? "" : "take " + std::to_string(k)});
    keyed(i, deliver{actor(c, c.s.creator), fresh_key(), std::move(items),
                     chance(0.5) ? "" : "here it is"});
  }

  void do_resolve(size_t i) {
    auto& c = contracts_[i];
    const int64_t amount = c.s.terms.amount;
    double x = std::uniform_real_distribution<double>{0, 1}(rng_);
    int64_t to_creator = x < 0.3 ? 0 : x < 0.6 ? amount : x < 0.97 ? pick(0, amount) : amount + 1;
    bool by_moderator = chance(0.9);
    uuid by = by_moderator ? any_of(moderators_) : either(c);
    keyed(i, resolve{by, fresh_key(), to_creator, by_moderator});
  }

  void do_confirm(size_t i) {
    auto& c = contracts_[i];
    const size_t owed = c.s.outstanding.size() + c.s.cancels.size();
    if (owed > 0 && chance(0.7)) {
      auto n = static_cast<size_t>(pick(0, static_cast<int64_t>(owed) - 1));
      std::string call;
      if (n < c.s.outstanding.size())
        call = std::next(c.s.outstanding.begin(), static_cast<std::ptrdiff_t>(n))->first;
      else
        call = std::next(c.s.cancels.begin(),
                         static_cast<std::ptrdiff_t>(n - c.s.outstanding.size()))->first;
      auto d = decide(c.s, confirm_call{call}, now_, rules_);
      if (!std::holds_alternative<accepted>(d))
        return fail("an outstanding call's confirmation was not accepted");
      commit(c, d);
      c.confirmed.push_back(std::move(call));
      return;
    }
    std::string call = !c.confirmed.empty() && chance(0.7) ? any_of(c.confirmed)
                                                           : c.s.id.str() + ":refund:999999";
    if (!std::holds_alternative<ignored>(decide(c.s, confirm_call{call}, now_, rules_)))
      fail("a repeated or unknown confirmation was not ignored");
  }

  /// Replays an accepted command's key: the same parameters get the first result, other ones a
  /// mismatch, whatever happened since.
  void do_retry(tally& t) {
    if (history_.empty())
      return;
    const auto& rec = any_of(history_);
    auto& c = contracts_[rec.contract];
    const bool same = chance(0.5);
    member_command cmd = rec.cmd;
    if (!same) {
      cmd = std::visit(
        [](auto x) -> member_command {
          using T = decltype(x);
          if constexpr (std::is_same_v<T, fund>)
            x.payment_method += "0";
          else if constexpr (std::is_same_v<T, deliver>)
            x.note += ".";
          else if constexpr (std::is_same_v<T, request_revision> || std::is_same_v<T, dispute>)
            x.reason += "!";
          else if constexpr (std::is_same_v<T, resolve>)
            x.to_creator = x.to_creator > 0 ? x.to_creator - 1 : 1;
          else if constexpr (std::is_same_v<T, approve>)
            return cancel{x.by, x.key}; // the key reused for another command
          else if constexpr (std::is_same_v<T, cancel>)
            return approve{x.by, x.key};
          return x;
        },
        cmd);
    }
    auto d = std::visit([&](const auto& x) { return decide(c.s, x, now_, rules_); }, cmd);
    ++t.retries;
    if (same) {
      auto* dup = std::get_if<duplicate>(&d);
      if (!dup)
        return fail("a retry with the same key and parameters was not a duplicate");
      if (dup->seq != rec.seq || dup->at != rec.at)
        return fail("a retry got seq " + std::to_string(dup->seq) + ", not the first one's "
                    + std::to_string(rec.seq));
    } else {
      auto* no = std::get_if<refusal>(&d);
      if (!no || no->code != error_code::idempotency_mismatch)
        return fail("a reused key with other parameters was not an idempotency_mismatch");
      ++t.mismatches;
    }
  }

  void step() {
    tally& t = scratch_;
    const size_t i = pick_contract();
    auto& c = contracts_[i];
    // Weights favour what moves the contract along from where it is.
    const int64_t x = pick(0, 99);
    if (x < 14)
      advance_time();
    else if (x < 22)
      do_fund(i);
    else if (x < 32)
      do_payment_result(i);
    else if (x < 42)
      do_deliver(i);
    else if (x < 50)
      keyed(i, approve{actor(c, c.s.brand), fresh_key()});
    else if (x < 57)
      keyed(i, request_revision{actor(c, c.s.brand), fresh_key(),
                                chance(0.01) ? std::string(2001, 'r') : "please change it"});
    else if (x < 59)
      keyed(i, dispute{either(c), fresh_key(), chance(0.03) ? "" : "not as agreed"});
    else if (x < 64)
      do_resolve(i);
    else if (x < 69) {
      // Cancelling alone before funding is easy; keep it from ending most deals early.
      if (c.s.status != contract_status::awaiting_funding || chance(0.15))
        keyed(i, cancel{either(c), fresh_key()});
    } else if (x < 75) {
      auto d = decide(c.s, timer_fired{}, now_, rules_);
      if (std::holds_alternative<refusal>(d) || std::holds_alternative<duplicate>(d))
        return fail("a timer was refused");
      commit(c, d);
    } else if (x < 82)
      do_confirm(i);
    else if (x < 87)
      do_capture_result(i);
    else if (x < 89)
      do_lapse(i);
    else
      do_retry(t);
    retire_finished();
  }

  void finish(tally& t) {
    if (auto no = book_.audit(); !no.empty())
      return fail(no);
    for (auto& c : contracts_) {
      state replayed;
      replayed.id = c.s.id;
      for (size_t k = 0; k < c.journal.size(); ++k) {
        auto& ev = c.journal[k];
        if (!deep_) {
          apply(replayed, static_cast<int64_t>(k + 1), ev, rules_);
          continue;
        }
        auto bytes = protocol::encode_contract_event(ev);
        auto back = protocol::decode_contract_event(protocol::contract_event_type(ev),
                                                    protocol::contract_event_version(ev), bytes);
        if (!back)
          return fail("a journaled event does not decode: " + back.error());
        apply(replayed, static_cast<int64_t>(k + 1), back.value(), rules_);
      }
      const auto bytes = encode_snapshot(c.s);
      if (!(replayed == c.s) || encode_snapshot(replayed) != bytes)
        return fail("replaying contract " + c.s.id.str() + " built another state");
      if (deep_) {
        auto restored = decode_snapshot(snapshot_version, bytes, rules_);
        if (!restored || !(restored.value() == c.s) || encode_snapshot(restored.value()) != bytes)
          return fail("contract " + c.s.id.str() + " does not survive its snapshot");
      }
      check_contract(c);

      ++t.contracts;
      t.auth_contracts += c.s.mode == funding_mode::authorize_capture ? 1 : 0;
      t.payment_due += c.s.status == contract_status::payment_due ? 1 : 0;
      t.events += c.journal.size();
      switch (c.s.status) {
        case contract_status::released: {
          ++t.released;
          // Not always the last event: cancels of old authorizations may be confirmed after it.
          for (auto e = c.journal.rbegin(); e != c.journal.rend(); ++e)
            if (auto* last = std::get_if<protocol::contract_released>(&*e)) {
              t.auto_released += last->automatic ? 1 : 0;
              break;
            }
          break;
        }
        case contract_status::refunded:
          ++t.refunded;
          break;
        case contract_status::cancelled:
          ++t.cancelled;
          t.cancelled_funded += c.s.funded_at > 0 ? 1 : 0;
          break;
        case contract_status::resolved:
          ++t.resolved;
          break;
        default:
          ++t.open;
      }
    }
    t.transfers += book_.transfers();
    t.retries += scratch_.retries;
    t.mismatches += scratch_.mismatches;
    t.captured += scratch_.captured;
    t.capture_failures += scratch_.capture_failures;
    t.charged += scratch_.charged;
    t.charge_failures += scratch_.charge_failures;
    t.reauthorized += scratch_.reauthorized;
    t.fallbacks += scratch_.fallbacks;
    t.ops += ops_;
  }

  uint64_t seed_;
  uint64_t ops_;
  bool deep_;
  uint64_t step_ = 0;
  std::mt19937_64 rng_;
  rules rules_;
  millis now_ = 0;
  ledger book_;
  std::vector<sim_contract> contracts_;
  std::vector<size_t> live_;
  size_t live_target_ = 1;
  std::vector<accepted_command> history_;
  std::vector<uuid> moderators_;
  uuid stranger_ = uuid::v7();
  uint64_t keys_ = 0;
  tally scratch_;
  std::string error_;
};

} // namespace

TEST(ContractSimTest, RandomDealsKeepTheLedgerBalancedAndReplayExactly) {
  const uint64_t ops = env_or("PACTUM_CONTRACT_SIM_OPS", 10'000);
  uint64_t first = 1;
  uint64_t last = env_or("PACTUM_CONTRACT_SIM_SEEDS", 1000);
  if (const char* one = std::getenv("PACTUM_CONTRACT_SIM_SEED"); one && *one)
    first = last = std::strtoull(one, nullptr, 10);
  tally t;
  int failures = 0;
  const auto started = std::chrono::steady_clock::now();
  for (uint64_t seed = first; seed <= last && failures < 5; ++seed) {
    simulation sim{seed, ops, first == last || seed % 4 == 1};
    auto error = sim.run(t);
    if (!error.empty()) {
      ADD_FAILURE() << error;
      ++failures;
    }
  }
  const double secs =
    std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("contract sim: seeds %llu..%llu x %llu ops in %.2f s: %llu contracts, released %llu "
              "(automatic %llu), refunded %llu, cancelled %llu (after funding %llu), resolved "
              "%llu, still open %llu; %llu events, %llu transfers, %llu retries (%llu "
              "mismatches)\n",
              static_cast<unsigned long long>(first), static_cast<unsigned long long>(last),
              static_cast<unsigned long long>(ops), secs,
              static_cast<unsigned long long>(t.contracts),
              static_cast<unsigned long long>(t.released),
              static_cast<unsigned long long>(t.auto_released),
              static_cast<unsigned long long>(t.refunded),
              static_cast<unsigned long long>(t.cancelled),
              static_cast<unsigned long long>(t.cancelled_funded),
              static_cast<unsigned long long>(t.resolved), static_cast<unsigned long long>(t.open),
              static_cast<unsigned long long>(t.events),
              static_cast<unsigned long long>(t.transfers),
              static_cast<unsigned long long>(t.retries),
              static_cast<unsigned long long>(t.mismatches));
  std::printf("contract sim, authorize_capture: %llu contracts (%llu left payment_due); %llu "
              "captures, %llu failed; %llu charges, %llu failed; %llu re-authorizations, %llu "
              "fallbacks\n",
              static_cast<unsigned long long>(t.auth_contracts),
              static_cast<unsigned long long>(t.payment_due),
              static_cast<unsigned long long>(t.captured),
              static_cast<unsigned long long>(t.capture_failures),
              static_cast<unsigned long long>(t.charged),
              static_cast<unsigned long long>(t.charge_failures),
              static_cast<unsigned long long>(t.reauthorized),
              static_cast<unsigned long long>(t.fallbacks));
}
