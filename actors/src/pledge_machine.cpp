#include "pactum/actors/pledge_machine.hpp"

#include "pactum/common/overload.hpp"

namespace pactum::actors::pledge {

using protocol::error_code;

std::string_view to_string(campaign_status s) noexcept {
  switch (s) {
    case campaign_status::draft:
      return "draft";
    case campaign_status::live:
      return "live";
    case campaign_status::succeeded:
      return "succeeded";
    case campaign_status::failed:
      return "failed";
  }
  return "draft";
}

std::string_view to_string(pledge_status s) noexcept {
  switch (s) {
    case pledge_status::authorizing:
      return "authorizing";
    case pledge_status::authorized:
      return "authorized";
    case pledge_status::declined:
      return "declined";
    case pledge_status::withdrawn:
      return "withdrawn";
    case pledge_status::expired:
      return "expired";
    case pledge_status::voided:
      return "voided";
    case pledge_status::capturing:
      return "capturing";
    case pledge_status::captured:
      return "captured";
    case pledge_status::capture_failed:
      return "capture_failed";
  }
  return "authorizing";
}

int64_t commission(int64_t x, const rules& r) noexcept {
  if (x <= 0)
    return 0;
  // floor(x * bps / 10000) without overflow: split x into whole ten-thousands and the rest.
  auto c = (x / 10000) * r.commission_bps + (x % 10000) * r.commission_bps / 10000 + r.commission_fixed;
  return c > x ? x : c;
}

millis state::next_timer() const noexcept {
  if (status == campaign_status::live)
    return end_at;
  if (release_due())
    return end_at;
  return 0;
}

int64_t state::backers() const noexcept {
  int64_t n = 0;
  for (auto& [id, b] : pledges)
    if (b.status == pledge_status::authorizing || b.status == pledge_status::authorized
        || b.status == pledge_status::capturing || b.status == pledge_status::captured)
      ++n;
  return n;
}

std::string capture_key(std::string_view intent) {
  return std::string{intent} + ":capture";
}

std::string cancel_key(std::string_view intent) {
  return std::string{intent} + ":cancel";
}

std::string escrow_account(const uuid& campaign) {
  return "escrow:" + campaign.str();
}

namespace {

refusal refuse(error_code code, std::string msg) {
  return refusal{code, std::move(msg)};
}

/// FNV-1a over the parameters, each followed by a separator byte.
struct fingerprint {
  uint64_t h = 1469598103934665603ull;
  fingerprint& add(std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
    h ^= 0xff;
    h *= 1099511628211ull;
    return *this;
  }
  fingerprint& add(int64_t x) { return add(std::to_string(x)); }
};

/// The idempotency check of a member command: a duplicate, a mismatch, or nullopt (new key).
std::optional<decision> replayed(const state& s, const uuid& by, const std::string& key,
                                 uint64_t fp, const rules& r) {
  if (key.empty() || key.size() > r.max_key_bytes)
    return decision{refuse(error_code::bad_request, "key must be 1 to " + std::to_string(r.max_key_bytes) + " bytes")};
  auto i = s.keys.find({by, key});
  if (i == s.keys.end())
    return std::nullopt;
  if (i->second.fingerprint != fp)
    return decision{refuse(error_code::idempotency_mismatch,
                           "this key was used for another request; use a new key")};
  return decision{duplicate{i->second.seq, i->second.at}};
}

bool visible_to(const state& s, const uuid& user) {
  return s.exists() && (s.status != campaign_status::draft || user == s.creator);
}

refusal missing() {
  return refuse(error_code::not_found, "no such pledge campaign");
}

bool printable(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 && c != '\n' && c != '\t')
      return false;
  return true;
}

} // namespace

decision decide(const state& s, const create& c, millis now, const rules& r) {
  fingerprint fp;
  fp.add("create").add(c.title).add(c.description).add(c.goal).add(c.currency).add(c.end_at);
  for (auto& t : c.tiers)
    fp.add(t.title).add(t.price).add(t.quantity).add(t.delivery_at);
  if (s.exists()) {
    if (auto d = replayed(s, c.by, c.key, fp.h, r))
      return *d;
    return refuse(error_code::conflict, "this campaign exists already");
  }
  if (c.key.empty() || c.key.size() > r.max_key_bytes)
    return refuse(error_code::bad_request, "key must be 1 to " + std::to_string(r.max_key_bytes) + " bytes");
  if (c.title.empty() || c.title.size() > r.max_title_bytes || !printable(c.title))
    return refuse(error_code::bad_request, "title must be 1 to " + std::to_string(r.max_title_bytes) + " bytes");
  if (c.description.size() > r.max_description_bytes || !printable(c.description))
    return refuse(error_code::bad_request,
                  "description must be at most " + std::to_string(r.max_description_bytes) + " bytes");
  if (c.goal <= 0 || c.goal > r.max_amount)
    return refuse(error_code::bad_request, "goal must be a positive amount in minor units");
  if (c.currency.size() != 3 || c.currency[0] < 'A' || c.currency[0] > 'Z' || c.currency[1] < 'A'
      || c.currency[1] > 'Z' || c.currency[2] < 'A' || c.currency[2] > 'Z')
    return refuse(error_code::bad_request, "currency must be three upper-case letters (ISO 4217)");
  if (c.end_at <= now || c.end_at - now > r.max_duration)
    return refuse(error_code::bad_request, "end_at must be in the future, within a year");
  if (c.tiers.empty() || c.tiers.size() > r.max_tiers)
    return refuse(error_code::bad_request, "between 1 and " + std::to_string(r.max_tiers) + " reward tiers");
  for (auto& t : c.tiers) {
    if (t.title.empty() || t.title.size() > r.max_title_bytes || !printable(t.title))
      return refuse(error_code::bad_request, "every tier needs a title of 1 to " + std::to_string(r.max_title_bytes) + " bytes");
    if (t.price <= 0 || t.price > r.max_amount)
      return refuse(error_code::bad_request, "every tier needs a positive price");
    if (t.quantity < 0 || t.quantity > static_cast<int64_t>(r.max_pledges))
      return refuse(error_code::bad_request,
                    "a tier's quantity is 0 (unlimited) up to " + std::to_string(r.max_pledges));
    if (t.delivery_at < 0)
      return refuse(error_code::bad_request, "delivery_at must be a time (ms since the epoch)");
  }
  return accepted{{protocol::pledge_created{c.by, c.key, c.title, c.description, c.goal, c.currency,
                                            c.end_at, c.tiers, now}}};
}

decision decide(const state& s, const launch& c, millis now, const rules& r) {
  if (!s.exists() || c.by != s.creator)
    return missing();
  if (auto d = replayed(s, c.by, c.key, fingerprint{}.add("launch").h, r))
    return *d;
  if (s.status != campaign_status::draft)
    return refuse(error_code::conflict, "the campaign is " + std::string{to_string(s.status)});
  if (s.end_at <= now)
    return refuse(error_code::conflict, "the end date has passed; create a new campaign");
  return accepted{{protocol::pledge_launched{c.key, now}}};
}

decision decide(const state& s, const pledge_cmd& c, millis now, const rules& r) {
  if (!visible_to(s, c.by))
    return missing();
  // The fingerprint is of the pledge as made: amount 0 stands for the tier's price.
  auto as_made = c.amount;
  if (c.amount == 0 && c.tier >= 0 && c.tier < static_cast<int64_t>(s.tiers.size()))
    as_made = s.tiers[static_cast<size_t>(c.tier)].price;
  if (auto d = replayed(s, c.by, c.key,
                        fingerprint{}.add("pledge").add(c.tier).add(as_made).add(c.payment_method).h, r))
    return *d;
  if (c.by == s.creator)
    return refuse(error_code::forbidden, "creators cannot back their own campaign");
  if (s.status != campaign_status::live || now >= s.end_at)
    return refuse(error_code::conflict, "the campaign is not taking pledges");
  if (c.tier < 0 || c.tier >= static_cast<int64_t>(s.tiers.size()))
    return refuse(error_code::bad_request, "no such tier");
  auto& tier = s.tiers[static_cast<size_t>(c.tier)];
  auto amount = c.amount == 0 ? tier.price : c.amount;
  if (amount < tier.price || amount > r.max_amount)
    return refuse(error_code::bad_request, "amount must be at least the tier's price (" + std::to_string(tier.price) + ")");
  if (c.payment_method.empty() || c.payment_method.size() > r.max_payment_method_bytes)
    return refuse(error_code::bad_request, "payment_method is required");
  if (s.active.count(c.by))
    return refuse(error_code::conflict, "you back this campaign already; cancel that pledge first");
  if (tier.quantity > 0 && s.taken[static_cast<size_t>(c.tier)] >= tier.quantity)
    return refuse(error_code::sold_out, "this reward tier is sold out");
  if (s.pledges.size() >= r.max_pledges)
    return refuse(error_code::limit_reached, "this campaign takes no more pledges");
  auto seq = s.head + 1;
  auto intent = "pledge:" + s.id.str() + ":" + std::to_string(seq);
  return accepted{{protocol::pledge_pledged{c.by, c.key, c.tier, amount, intent, c.payment_method, now}}};
}

decision decide(const state& s, const withdraw& c, millis now, const rules& r) {
  if (!visible_to(s, c.by))
    return missing();
  if (auto d = replayed(s, c.by, c.key, fingerprint{}.add("withdraw").h, r))
    return *d;
  auto a = s.active.find(c.by);
  if (a == s.active.end())
    return refuse(error_code::not_found, "you have no live pledge on this campaign");
  if (s.status != campaign_status::live || now >= s.end_at)
    return refuse(error_code::conflict, "the campaign has ended; pledges can no longer be cancelled");
  return accepted{{protocol::pledge_withdrawn{a->second, c.key, now}}};
}

decision decide(const state& s, const authorization_result& c, millis now, const rules&) {
  auto i = s.by_intent.find(c.intent);
  if (i == s.by_intent.end())
    return ignored{"unknown authorization"};
  auto& b = s.pledges.at(i->second);
  if (b.status != pledge_status::authorizing)
    return ignored{"authorization no longer awaited"};
  if (c.succeeded)
    return accepted{{protocol::pledge_authorized{i->second, now}}};
  return accepted{{protocol::pledge_declined{i->second, c.code.empty() ? "processing_error" : c.code, now}}};
}

decision decide(const state& s, const capture_result& c, millis now, const rules&) {
  for (auto& [id, b] : s.pledges)
    if (b.status == pledge_status::capturing && capture_key(b.intent) == c.call) {
      if (c.succeeded)
        return accepted{{protocol::pledge_captured{id, now}}};
      return accepted{{protocol::pledge_capture_failed{id, c.code.empty() ? "processing_error" : c.code, now}}};
    }
  return ignored{"capture no longer awaited"};
}

decision decide(const state& s, const authorization_lapsed& c, millis now, const rules&) {
  auto i = s.by_intent.find(c.intent);
  if (i == s.by_intent.end())
    return ignored{"unknown authorization"};
  auto& b = s.pledges.at(i->second);
  if (b.status == pledge_status::authorized)
    return accepted{{protocol::pledge_declined{i->second, "authorization_expired", now}}};
  if (b.status == pledge_status::capturing)
    return accepted{{protocol::pledge_capture_failed{i->second, "authorization_expired", now}}};
  return ignored{"lapse of an authorization that no longer matters"};
}

decision decide(const state& s, const confirm_call& c, millis now, const rules&) {
  if (!s.cancels.count(c.call))
    return ignored{"no such cancel owed"};
  return accepted{{protocol::pledge_call_confirmed{c.call, now}}};
}

decision decide(const state& s, const timer_fired&, millis now, const rules&) {
  if (s.status != campaign_status::live || now < s.end_at)
    return ignored{"nothing due"};
  if (s.authorized >= s.goal)
    return accepted{{protocol::pledge_succeeded{s.authorized, now}}};
  return accepted{{protocol::pledge_failed{s.authorized, now}}};
}

decision decide(const state& s, const release& c, millis now, const rules& r) {
  if (!s.release_due())
    return ignored{"no release due"};
  if (!c.creator_verified)
    return refuse(error_code::conflict, "the creator is not verified yet; the money stays in escrow");
  auto fee = commission(s.captured, r);
  return accepted{{protocol::pledge_released{s.captured - fee, fee, now}}};
}

void apply(state& s, int64_t seq, const protocol::pledge_event& ev) {
  s.head = seq;
  auto free_place = [&](int64_t pledge) {
    auto& b = s.pledges.at(pledge);
    if (b.tier >= 0 && static_cast<size_t>(b.tier) < s.taken.size())
      --s.taken[static_cast<size_t>(b.tier)];
    auto a = s.active.find(b.backer);
    if (a != s.active.end() && a->second == pledge)
      s.active.erase(a);
  };
  auto remember = [&](const uuid& by, const std::string& key, uint64_t fp, millis at) {
    s.keys.emplace(std::pair{by, key}, state::key_use{seq, at, fp});
  };
  std::visit(
    overload{
      [&](const protocol::pledge_created& e) {
        s.creator = e.creator;
        s.title = e.title;
        s.description = e.description;
        s.goal = e.goal;
        s.currency = e.currency;
        s.end_at = e.end_at;
        s.create_key = e.key;
        s.tiers = e.tiers;
        s.taken.assign(e.tiers.size(), 0);
        s.created_at = e.at;
        fingerprint fp;
        fp.add("create").add(e.title).add(e.description).add(e.goal).add(e.currency).add(e.end_at);
        for (auto& t : e.tiers)
          fp.add(t.title).add(t.price).add(t.quantity).add(t.delivery_at);
        remember(e.creator, e.key, fp.h, e.at);
      },
      [&](const protocol::pledge_launched& e) {
        s.status = campaign_status::live;
        s.launched_at = e.at;
        remember(s.creator, e.key, fingerprint{}.add("launch").h, e.at);
      },
      [&](const protocol::pledge_pledged& e) {
        backing b{e.backer, e.tier, e.amount, e.intent, e.payment_method, pledge_status::authorizing, {}, e.at};
        s.pledges.emplace(seq, std::move(b));
        s.by_intent.emplace(e.intent, seq);
        s.active[e.backer] = seq;
        if (e.tier >= 0 && static_cast<size_t>(e.tier) < s.taken.size())
          ++s.taken[static_cast<size_t>(e.tier)];
        s.authorizing += e.amount;
        remember(e.backer, e.key,
                 fingerprint{}.add("pledge").add(e.tier).add(e.amount).add(e.payment_method).h, e.at);
      },
      [&](const protocol::pledge_authorized& e) {
        auto& b = s.pledges.at(e.pledge);
        b.status = pledge_status::authorized;
        b.pending = s.id.str() + ":" + std::to_string(seq) + ":0";
        s.authorizing -= b.amount;
        s.authorized += b.amount;
      },
      [&](const protocol::pledge_declined& e) {
        auto& b = s.pledges.at(e.pledge);
        if (b.status == pledge_status::authorizing)
          s.authorizing -= b.amount;
        else
          s.authorized -= b.amount;
        b.status = pledge_status::declined;
        free_place(e.pledge);
      },
      [&](const protocol::pledge_withdrawn& e) {
        auto& b = s.pledges.at(e.pledge);
        if (b.status == pledge_status::authorizing)
          s.authorizing -= b.amount;
        else
          s.authorized -= b.amount;
        b.status = pledge_status::withdrawn;
        s.cancels.insert(cancel_key(b.intent));
        remember(b.backer, e.key, fingerprint{}.add("withdraw").h, e.at);
        free_place(e.pledge);
      },
      [&](const protocol::pledge_succeeded&) {
        s.status = campaign_status::succeeded;
        for (auto& [id, b] : s.pledges) {
          if (b.status == pledge_status::authorized) {
            b.status = pledge_status::capturing;
            ++s.capturing;
          } else if (b.status == pledge_status::authorizing) {
            b.status = pledge_status::expired;
            s.authorizing -= b.amount;
            s.cancels.insert(cancel_key(b.intent));
            free_place(id);
          }
        }
      },
      [&](const protocol::pledge_failed&) {
        s.status = campaign_status::failed;
        for (auto& [id, b] : s.pledges) {
          if (b.status == pledge_status::authorized) {
            b.status = pledge_status::voided;
            s.authorized -= b.amount;
            s.cancels.insert(cancel_key(b.intent));
          } else if (b.status == pledge_status::authorizing) {
            b.status = pledge_status::expired;
            s.authorizing -= b.amount;
            s.cancels.insert(cancel_key(b.intent));
          }
        }
      },
      [&](const protocol::pledge_captured& e) {
        auto& b = s.pledges.at(e.pledge);
        b.status = pledge_status::captured;
        --s.capturing;
        s.captured += b.amount;
      },
      [&](const protocol::pledge_capture_failed& e) {
        auto& b = s.pledges.at(e.pledge);
        b.status = pledge_status::capture_failed;
        --s.capturing;
        s.authorized -= b.amount;
      },
      [&](const protocol::pledge_released& e) {
        s.released = true;
        s.released_to_creator = e.to_creator;
      },
      [&](const protocol::pledge_call_confirmed& e) { s.cancels.erase(e.call); },
    },
    ev);
}

std::vector<provider_call> calls_due(const state& s) {
  std::vector<provider_call> out;
  for (auto& [id, b] : s.pledges) {
    if (b.status == pledge_status::authorizing)
      out.push_back({provider_call::kind::authorize, b.intent, b.intent, b.amount, s.currency, b.payment_method});
    else if (b.status == pledge_status::capturing)
      out.push_back({provider_call::kind::capture, capture_key(b.intent), b.intent, b.amount, s.currency});
    if (s.cancels.count(cancel_key(b.intent)))
      out.push_back({provider_call::kind::cancel, cancel_key(b.intent), b.intent, b.amount, s.currency});
  }
  return out;
}

std::vector<posting> postings(const state& before, int64_t seq, const protocol::pledge_event& ev) {
  std::vector<posting> out;
  auto clearing = "clearing:" + before.currency;
  auto escrow = escrow_account(before.id);
  auto id = [&](size_t n) { return before.id.str() + ":" + std::to_string(seq) + ":" + std::to_string(n); };
  auto void_of = [&](const backing& b) {
    out.push_back({posting::kind::void_pending, id(out.size()), clearing, escrow, b.amount, before.currency, b.pending});
  };
  std::visit(overload{
               [&](const protocol::pledge_authorized& e) {
                 auto& b = before.pledges.at(e.pledge);
                 out.push_back({posting::kind::pending, id(0), clearing, escrow, b.amount, before.currency});
               },
               [&](const protocol::pledge_declined& e) {
                 auto& b = before.pledges.at(e.pledge);
                 if (b.status == pledge_status::authorized)
                   void_of(b);
               },
               [&](const protocol::pledge_withdrawn& e) {
                 auto& b = before.pledges.at(e.pledge);
                 if (b.status == pledge_status::authorized)
                   void_of(b);
               },
               [&](const protocol::pledge_failed&) {
                 for (auto& [pid, b] : before.pledges)
                   if (b.status == pledge_status::authorized)
                     void_of(b);
               },
               [&](const protocol::pledge_captured& e) {
                 auto& b = before.pledges.at(e.pledge);
                 out.push_back({posting::kind::post_pending, id(0), clearing, escrow, b.amount, before.currency, b.pending});
               },
               [&](const protocol::pledge_capture_failed& e) { void_of(before.pledges.at(e.pledge)); },
               [&](const protocol::pledge_released& e) {
                 if (e.to_creator > 0)
                   out.push_back({posting::kind::post, id(out.size()), escrow,
                                  "user:" + before.creator.str() + ":" + before.currency, e.to_creator,
                                  before.currency});
                 if (e.commission > 0)
                   out.push_back({posting::kind::post, id(out.size()), escrow, "revenue:" + before.currency,
                                  e.commission, before.currency});
               },
               [](const auto&) {},
             },
             ev);
  return out;
}

} // namespace pactum::actors::pledge
