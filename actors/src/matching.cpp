// The matching score (see matching.hpp). Pure: parses the profile's stored JSON parts once per
// creator, then scores each factor from plain numbers.

#include "pactum/actors/matching.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include <nlohmann/json.hpp>

namespace pactum::actors::matching {

namespace {

using json = nlohmann::json;
namespace pp = protocol::profiles;

// -- tunables (documented in docs/api.md, "Matching") ---------------------------------------------

/// An audience share at or above this counts as a full fit (a creator's audience is never all in
/// one country or age band).
constexpr double full_share = 0.6;
/// What an audience part the creator did not fill in scores (unknown: below most real fits).
constexpr double unknown_audience = 0.3;
/// Clicks per view assumed to estimate a CPC campaign's pay.
constexpr double assumed_click_rate = 0.01;
/// History prior: what a creator without contracts is assumed to do, worth this many contracts.
constexpr double prior_contracts = 3;
constexpr double prior_on_time = 0.8;
constexpr double prior_approval = 0.8;
constexpr double prior_revision_score = 0.7;

struct rate {
  std::string type;
  int64_t amount = 0;
  std::string currency;
};

/// What the score reads from a profile, parsed once.
struct features {
  const pp::creator_profile* profile = nullptr;
  int64_t followers = 0;
  double engagement = -1;   ///< follower-weighted engagement rate, percent; -1: no accounts
  int64_t views = 0;        ///< the largest average views per post over the accounts
  std::map<std::string, double> ages;    ///< band -> percent
  std::map<std::string, double> genders; ///< key -> percent
  std::map<std::string, double> countries; ///< top countries -> percent
  bool has_ages = false, has_genders = false, has_countries = false;
  std::vector<rate> rates;
};

json parse(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  return j.is_discarded() ? json{} : j;
}

double number(const json& j, const char* key) {
  auto i = j.find(key);
  return i != j.end() && i->is_number() ? i->get<double>() : 0.0;
}

features extract(const pp::creator_profile& p) {
  features f;
  f.profile = &p;
  f.followers = p.follower_total;
  auto accounts = parse(p.social_accounts);
  if (accounts.is_array() && !accounts.empty()) {
    double weighted = 0, total = 0, plain = 0;
    for (auto& a : accounts) {
      if (!a.is_object())
        continue;
      double followers = number(a, "followers");
      double er = number(a, "engagement_rate");
      weighted += followers * er;
      total += followers;
      plain += er;
      f.views = std::max(f.views, static_cast<int64_t>(number(a, "average_views")));
    }
    f.engagement = total > 0 ? weighted / total : plain / static_cast<double>(accounts.size());
  }
  auto audience = parse(p.audience);
  if (audience.is_object()) {
    if (auto i = audience.find("age_bands"); i != audience.end() && i->is_object() && !i->empty()) {
      f.has_ages = true;
      for (auto& [k, v] : i->items())
        if (v.is_number())
          f.ages[k] = v.get<double>();
    }
    if (auto i = audience.find("gender"); i != audience.end() && i->is_object() && !i->empty()) {
      f.has_genders = true;
      for (auto& [k, v] : i->items())
        if (v.is_number())
          f.genders[k] = v.get<double>();
    }
    if (auto i = audience.find("top_countries"); i != audience.end() && i->is_array() && !i->empty()) {
      f.has_countries = true;
      for (auto& c : *i)
        if (c.is_object() && c.contains("country") && c["country"].is_string())
          f.countries[c["country"].get<std::string>()] = number(c, "percent");
    }
  }
  auto rates = parse(p.rates);
  if (rates.is_array())
    for (auto& r : rates)
      if (r.is_object() && r.contains("type") && r["type"].is_string() && r.contains("currency")
          && r["currency"].is_string())
        f.rates.push_back({r["type"].get<std::string>(), static_cast<int64_t>(number(r, "amount")),
                           r["currency"].get<std::string>()});
  return f;
}

bool contains(const std::vector<std::string>& v, std::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

double clamp01(double x) {
  return std::isfinite(x) ? std::clamp(x, 0.0, 1.0) : 0.0;
}

std::string percent(double share) {
  return std::to_string(static_cast<int>(std::lround(clamp01(share) * 100))) + "%";
}

/// Minor units as "1,234.56 EUR" (two decimals; currencies without minor units read the same).
std::string money(double minor, const std::string& currency) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", std::max(0.0, minor) / 100.0);
  std::string s = buf;
  auto dot = s.find('.');
  for (auto i = static_cast<long>(dot) - 3; i > 0; i -= 3)
    s.insert(static_cast<size_t>(i), ",");
  return s + " " + currency;
}

struct factor_result {
  double score = 0;
  std::string text;
};

// -- the factors -----------------------------------------------------------------------------------

factor_result niche_fit(const protocol::campaign_details& c, const features& f, bool explain) {
  auto& want = c.audience.niches;
  auto& has = f.profile->niches;
  if (want.empty())
    return {1.0, "the campaign accepts any niche"};
  size_t matched = 0;
  for (auto& n : want)
    matched += contains(has, n) ? 1 : 0;
  if (matched == 0)
    return {0.0, explain ? "none of the " + std::to_string(want.size()) + " target niches" : ""};
  // Coverage of the targets and the creator's focus on them weigh the same: a creator covering
  // one of four targets with nothing else is a better fit than one listing it among five.
  double coverage = static_cast<double>(matched) / static_cast<double>(want.size());
  double focus = has.empty() ? 0.0 : static_cast<double>(matched) / static_cast<double>(has.size());
  if (!explain)
    return {clamp01(0.5 * coverage + 0.5 * focus), {}};
  return {clamp01(0.5 * coverage + 0.5 * focus),
          std::to_string(matched) + " of " + std::to_string(want.size()) + " target niches"
            + (matched < has.size() ? ", " + std::to_string(has.size() - matched) + " other" : "")};
}

factor_result audience_fit(const protocol::campaign_details& c, const features& f, bool explain) {
  auto& t = c.audience;
  double sum = 0;
  int parts = 0;
  std::string text;
  auto add = [&](double s, auto&& what) {
    sum += s;
    ++parts;
    if (explain)
      text += (text.empty() ? "" : ", ") + what();
  };
  if (!t.countries.empty()) {
    if (!f.has_countries) {
      add(unknown_audience, [] { return std::string{"audience countries unknown"}; });
    } else {
      double share = 0;
      for (auto& [country, pct] : f.countries)
        if (contains(t.countries, country))
          share += pct / 100.0;
      add(clamp01(share / full_share), [&] { return percent(share) + " of the audience in target countries"; });
    }
  }
  if (!t.age_bands.empty()) {
    if (!f.has_ages) {
      add(unknown_audience, [] { return std::string{"audience ages unknown"}; });
    } else {
      double share = 0;
      for (auto& [band, pct] : f.ages) {
        // The campaign's "55+" is the profile's "55-64" and "65+".
        bool in = contains(t.age_bands, band)
                  || ((band == "55-64" || band == "65+") && contains(t.age_bands, "55+"));
        if (in)
          share += pct / 100.0;
      }
      add(clamp01(share / full_share), [&] { return percent(share) + " in target ages"; });
    }
  }
  if (t.gender != "any") {
    if (!f.has_genders) {
      add(unknown_audience, [] { return std::string{"audience gender unknown"}; });
    } else {
      auto i = f.genders.find(t.gender);
      double share = i == f.genders.end() ? 0.0 : i->second / 100.0;
      add(clamp01(share / full_share), [&] { return percent(share) + " " + t.gender; });
    }
  }
  if (parts == 0)
    return {1.0, "the campaign targets any audience"};
  return {clamp01(sum / parts), text};
}

factor_result engagement_quality(const features& f, bool explain) {
  if (f.engagement < 0)
    return {0.2, "no social accounts listed"};
  double expected = expected_engagement(f.followers);
  double ratio = f.engagement / expected;
  double s;
  std::string_view verdict;
  if (ratio < 1) {
    s = ratio;
    verdict = "below the norm";
  } else if (ratio <= 3) {
    s = 1;
    verdict = "healthy";
  } else {
    // Far above what accounts of this size get: bought likes or a misreported figure.
    s = std::max(0.1, 1 - 0.8 * (ratio - 3) / 3);
    verdict = "implausibly high";
  }
  // Views far below followers point at inactive or bought followers.
  bool ghosts = f.followers > 0 && f.views > 0
                && static_cast<double>(f.views) < 0.01 * static_cast<double>(f.followers);
  if (ghosts)
    s *= 0.5;
  if (!explain)
    return {clamp01(s), {}};
  char buf[128];
  std::snprintf(buf, sizeof buf, "engagement %.1f%% (tier norm %.1f%%), %s%s", f.engagement, expected,
                std::string{verdict}.c_str(), ghosts ? "; views under 1% of followers" : "");
  return {clamp01(s), buf};
}

factor_result geography(const protocol::campaign_details& c, const features& f, bool explain) {
  auto& want = c.audience.countries;
  if (want.empty())
    return {1.0, "the campaign accepts any country"};
  bool home = contains(want, f.profile->country);
  if (!explain)
    return {home ? 1.0 : 0.0, {}};
  if (home)
    return {1.0, "lives in " + f.profile->country + ", a target country"};
  return {0.0, "lives in " + f.profile->country + ", outside the target countries"};
}

factor_result price_fit(const protocol::campaign_details& c, const features& f, bool explain) {
  std::vector<const rate*> mine;
  for (auto& r : f.rates)
    if (r.currency == c.currency && r.amount > 0)
      mine.push_back(&r);
  if (mine.empty())
    return {0.4, f.rates.empty() ? "no rates listed" : "no rates in " + c.currency};
  double mean = 0;
  for (auto* r : mine)
    mean += static_cast<double>(r->amount);
  mean /= static_cast<double>(mine.size());
  auto rate_for = [&](const std::string& type) -> std::optional<double> {
    for (auto* r : mine)
      if (r->type == type)
        return static_cast<double>(r->amount);
    return std::nullopt;
  };
  // What the creator asks for the campaign's work: the deliverables at the creator's rate for
  // their type (the creator's mean rate when it lists none for it); without deliverables, one
  // piece of the cheapest listed collaboration type.
  double ask = 0;
  double units = 0;
  for (auto& d : c.deliverables) {
    auto n = static_cast<double>(std::max<int64_t>(d.count, 1));
    ask += n * rate_for(d.type).value_or(mean);
    units += n;
  }
  if (units == 0) {
    std::optional<double> best;
    for (auto& type : c.collaboration_types)
      if (auto r = rate_for(type))
        best = best ? std::min(*best, *r) : *r;
    ask = best.value_or(mean);
    units = 1;
  }
  double pay = 0;
  auto rate = static_cast<double>(c.pricing.rate);
  auto& model = c.pricing.model;
  if (rate > 0) {
    if (model == "flat")
      pay = rate;
    else if (model == "per_post" || model == "per_call")
      pay = rate * units;
    else if (model == "cpv")
      pay = rate * static_cast<double>(f.views) / 1000.0 * units;
    else if (model == "cpc")
      pay = rate * static_cast<double>(f.views) * assumed_click_rate * units;
  }
  if (c.budget > 0)
    pay = pay > 0 ? std::min(pay, static_cast<double>(c.budget)) : static_cast<double>(c.budget);
  if (pay <= 0)
    return {0.5, "the campaign names no rate or budget"};
  double ratio = pay / ask;
  if (!explain)
    return {clamp01((ratio - 0.3) / 0.7), {}};
  std::string text = "asks " + money(ask, c.currency) + ", the campaign pays "
                     + (rate > 0 ? "" : "up to ") + money(pay, c.currency);
  return {clamp01((ratio - 0.3) / 0.7), text};
}

factor_result track_record(const history& h, bool explain) {
  auto shrink = [](double n, double rate, double prior) {
    return (n * clamp01(rate) + prior_contracts * prior) / (n + prior_contracts);
  };
  auto n = static_cast<double>(std::max<int64_t>(h.contracts, 0));
  auto reviewed = static_cast<double>(std::max<int64_t>(h.reviewed, 0));
  double on_time = shrink(n, h.on_time_rate, prior_on_time);
  double approval = shrink(reviewed, h.approval_rate, prior_approval);
  double revisions = shrink(reviewed, 1.0 / (1.0 + std::max(0.0, h.mean_revisions)), prior_revision_score);
  double s = 0.45 * on_time + 0.4 * approval + 0.15 * revisions;
  if (h.results)
    s = 0.75 * s + 0.25 * clamp01(*h.results);
  if (h.disputes > 0 && n > 0)
    s *= 1 - 0.5 * shrink(n, static_cast<double>(h.disputes) / n, 0.0);
  if (!explain)
    return {clamp01(s), {}};
  if (h.contracts <= 0 && !h.results)
    return {clamp01(s), "no contracts yet (neutral prior)"};
  char buf[160];
  std::snprintf(buf, sizeof buf, "%lld contract%s: %s on time, %s approved, %.1f revisions each",
                static_cast<long long>(h.contracts), h.contracts == 1 ? "" : "s",
                percent(h.on_time_rate).c_str(), percent(h.approval_rate).c_str(), h.mean_revisions);
  std::string text = buf;
  if (h.disputes > 0)
    text += ", " + std::to_string(h.disputes) + " disputed";
  if (h.results)
    text += ", results " + percent(*h.results);
  return {clamp01(s), text};
}

match score_features(const protocol::campaign_details& c, const features& f, const history& h,
                     bool explain = true) {
  match m;
  auto& a = c.audience;
  if (f.followers < a.min_followers)
    m.unmet.push_back("fewer than " + std::to_string(a.min_followers) + " followers");
  if (a.min_engagement_bps > 0) {
    if (f.engagement < 0)
      m.unmet.push_back("no engagement figures");
    else if (f.engagement * 100 < static_cast<double>(a.min_engagement_bps))
      m.unmet.push_back("engagement below the campaign's minimum");
  }
  m.eligible = m.unmet.empty();
  factor_result parts[] = {niche_fit(c, f, explain),   audience_fit(c, f, explain),
                           engagement_quality(f, explain), geography(c, f, explain),
                           price_fit(c, f, explain),   track_record(h, explain)};
  static_assert(std::size(parts) == std::size(weights));
  for (size_t i = 0; i < std::size(weights); ++i) {
    reason r;
    r.factor = std::string{weights[i].factor};
    r.weight = weights[i].weight;
    r.score = parts[i].score;
    r.contribution = r.weight * r.score;
    r.text = std::move(parts[i].text);
    m.score += r.contribution;
    m.reasons.push_back(std::move(r));
  }
  return m;
}

/// Ranks by score alone (no reason texts: most candidates never show them), then explains the
/// best `limit` (the same scores: the texts do not change them).
template <class Score>
std::vector<ranked> best(size_t n, size_t limit, Score&& score_of) {
  std::vector<ranked> all;
  all.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    auto m = score_of(i, false);
    if (m.eligible)
      all.push_back({i, std::move(m)});
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const ranked& x, const ranked& y) { return x.result.score > y.result.score; });
  if (all.size() > limit)
    all.resize(limit);
  for (auto& r : all)
    r.result = score_of(r.index, true);
  return all;
}

} // namespace

double expected_engagement(int64_t followers) noexcept {
  if (followers < 10'000)
    return 5.0;
  if (followers < 100'000)
    return 3.0;
  if (followers < 500'000)
    return 2.0;
  if (followers < 1'000'000)
    return 1.5;
  return 1.0;
}

match score(const protocol::campaign_details& campaign, const pp::creator_profile& creator,
            const history& record) {
  return score_features(campaign, extract(creator), record);
}

std::vector<ranked> rank_creators(const protocol::campaign_details& campaign,
                                  const std::vector<candidate>& candidates, size_t limit) {
  return best(candidates.size(), limit, [&](size_t i, bool explain) {
    return score_features(campaign, extract(candidates[i].profile), candidates[i].record, explain);
  });
}

std::vector<ranked> rank_campaigns(const pp::creator_profile& creator, const history& record,
                                   const std::vector<protocol::campaign_details>& campaigns,
                                   size_t limit) {
  auto f = extract(creator);
  return best(campaigns.size(), limit,
              [&](size_t i, bool explain) { return score_features(campaigns[i], f, record, explain); });
}

} // namespace pactum::actors::matching
