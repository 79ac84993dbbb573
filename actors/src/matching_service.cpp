// runtime: matching (docs/api.md, "Matching"). Like the profile operations these run outside
// CAF: validation inline (protocol/campaign_events), the candidate query on the persistence pool
// (persistence/matching_store), and the scoring (matching.cpp, pure) in that query's callback, on
// the same pool thread. Nothing here blocks a CAF or Asio thread.

#include <algorithm>

#include <nlohmann/json.hpp>

#include "campaign_matching.hpp"
#include "pactum/actors/matching.hpp"
#include "pactum/actors/policy.hpp"
#include "pactum/actors/runtime.hpp"
#include "pactum/persistence/database.hpp"
#include "pactum/persistence/matching_store.hpp"
#include "pactum/protocol/profiles.hpp"

namespace pactum::actors {

namespace {

using json = nlohmann::json;
using protocol::error_code;
namespace pp = protocol::profiles;

api_error make_error(int status, error_code code, std::string msg) {
  return api_error{status, code, std::move(msg), {}};
}

api_error storage_error(const persistence::failure& f) {
  switch (f.code) {
    case persistence::errc::overloaded:
      return make_error(503, error_code::overloaded, "the server is busy; retry shortly");
    case persistence::errc::unavailable:
      return make_error(503, error_code::unavailable, "storage is unavailable; retry shortly");
    default:
      return make_error(500, error_code::internal, "internal error");
  }
}

} // namespace

pp::creator_profile to_profile(const persistence::creator_profile_row& r) {
  pp::creator_profile p;
  p.bio = r.bio;
  p.niches = r.niches;
  p.social_accounts = r.social_accounts;
  p.follower_total = r.follower_total;
  p.audience = r.audience;
  p.country = r.country;
  p.city = r.city;
  p.lat = r.lat;
  p.lon = r.lon;
  p.languages = r.languages;
  p.rates = r.rates;
  p.media_kit_url = r.media_kit_url;
  return p;
}

matching::history to_history(const persistence::creator_history_row& h) {
  matching::history out;
  auto ratio = [](int64_t part, int64_t whole) {
    return whole > 0 ? std::min(1.0, static_cast<double>(part) / static_cast<double>(whole)) : 0.0;
  };
  out.contracts = h.contracts;
  out.completed = h.completed;
  out.on_time_rate = ratio(h.on_time, h.contracts);
  out.reviewed = h.reviewed;
  out.approval_rate = ratio(h.completed, h.reviewed);
  out.mean_revisions =
    h.delivered > 0 ? static_cast<double>(h.revisions) / static_cast<double>(h.delivered) : 0.0;
  out.disputes = h.disputes;
  return out;
}

json reasons_json(const matching::match& m) {
  json out = json::array();
  for (auto& r : m.reasons)
    out.push_back(json{{"factor", r.factor},
                       {"weight", r.weight},
                       {"score", r.score},
                       {"contribution", r.contribution},
                       {"text", r.text}});
  return out;
}

void runtime::match_creators(const protocol::campaign_details& campaign, size_t limit,
                             std::function<void(expected<match_results, api_error>)> done) {
  auto& cfg = config();
  limit = std::min(limit, cfg.match_limit_max);
  persistence::match_candidate_query q;
  q.niches = campaign.audience.niches;
  q.countries = campaign.audience.countries;
  q.min_followers = campaign.audience.min_followers;
  q.cap = cfg.match_candidates;
  persistence::load_match_candidates(
    database_(), std::move(q),
    [campaign, limit, done](persistence::result<std::vector<persistence::match_candidate_row>> rows) {
      if (!rows)
        return done(storage_error(rows.error()));
      // On the pool thread that ran the query: the scoring is pure and bounded by the cap.
      std::vector<matching::candidate> pool;
      pool.reserve(rows->size());
      for (auto& r : *rows)
        pool.push_back({to_profile(r.profile), to_history(r.history)});
      auto ranked = matching::rank_creators(campaign, pool, pool.size());
      match_results out;
      out.considered = pool.size();
      out.eligible = ranked.size();
      for (size_t i = 0; i < ranked.size() && i < limit; ++i) {
        auto& row = (*rows)[ranked[i].index].profile;
        pp::profile_meta meta{row.user, row.display_name, row.version, row.updated_at};
        out.matches.push_back(creator_match{row.user,
                                            pp::creator_profile_json(meta, pool[ranked[i].index].profile, false),
                                            std::move(ranked[i].result)});
      }
      done(std::move(out));
    });
}

void runtime::preview_matches(principal who, std::string body, size_t limit,
                              std::function<void(expected<std::string, api_error>)> done) {
  auto role = policy::parse_role(who.role);
  if (auto no = policy::decide(policy::action::match_preview, role, policy::relation::none))
    return done(make_error(no->status, no->code, std::string{no->message}));
  limit = std::min(limit, config().match_limit_max);
  auto details = protocol::campaign_details_from_json(body);
  if (!details) {
    auto e = make_error(400, error_code::bad_request, "some fields are invalid");
    for (auto& f : details.error()) {
      if (f.field.empty())
        e.message = f.message;
      else
        e.fields.emplace_back(f.field, f.message);
    }
    return done(std::move(e));
  }
  match_creators(*details, limit, [limit, done](expected<match_results, api_error> r) {
    if (!r)
      return done(std::move(r.error()));
    json weights = json::array();
    for (auto& w : matching::weights)
      weights.push_back(json{{"factor", w.factor}, {"weight", w.weight}, {"measures", w.measures}});
    json list = json::array();
    size_t rank = 0;
    for (auto& m : r->matches)
      list.push_back(json{{"rank", ++rank},
                          {"creator", json::parse(m.profile_json)},
                          {"score", m.result.score},
                          {"reasons", reasons_json(m.result)}});
    json out{{"matches", std::move(list)},
             {"considered", r->considered},
             {"eligible", r->eligible},
             {"limit", limit},
             {"weights", std::move(weights)}};
    done(out.dump(-1, ' ', false, json::error_handler_t::replace));
  });
}

} // namespace pactum::actors
