// runtime: campaign matching (docs/api.md, "Campaigns" and "Matching").
//
// The creator's campaign list ranked by the matching scorer: the creator's profile, their
// contract history and their eligible campaigns (the read model's one eligibility rule, with the
// full details of migration 0024) are loaded on the persistence pool, one query after the other,
// and the ranking runs in the last query's callback, on that pool thread (pure, bounded by
// `match_candidates`). The brand's matches for a stored campaign read it through its actor (the
// same visibility as every campaign read), then ask `match_creators`. Nothing here blocks a CAF
// or Asio thread.

#include <algorithm>
#include <charconv>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "campaign_matching.hpp"
#include "pactum/actors/campaigns.hpp"
#include "pactum/actors/matching.hpp"
#include "pactum/actors/policy.hpp"
#include "pactum/actors/runtime.hpp"
#include "pactum/persistence/campaign_store.hpp"
#include "pactum/persistence/database.hpp"
#include "pactum/persistence/matching_store.hpp"
#include "pactum/persistence/profile_store.hpp"
#include "pactum/protocol/campaign_events.hpp"

namespace pactum::actors {

namespace {

using json = nlohmann::json;
using protocol::error_code;
using answer = std::function<void(expected<std::string, api_error>)>;

api_error make_error(int status, error_code code, std::string msg) {
  return api_error{status, code, std::move(msg), {}};
}

api_error bad_param(std::string field, std::string msg) {
  auto e = make_error(400, error_code::bad_request, "some query parameters are invalid");
  e.fields.emplace_back(std::move(field), std::move(msg));
  return e;
}

api_error storage_error(const persistence::failure& f) {
  switch (f.code) {
    case persistence::errc::not_found:
      // The creator's profile: the same answer as the newest-first list.
      return make_error(409, error_code::conflict,
                        "create your creator profile first: eligibility follows from it");
    case persistence::errc::overloaded:
      return make_error(503, error_code::overloaded, "the server is busy; retry shortly");
    case persistence::errc::unavailable:
      return make_error(503, error_code::unavailable, "storage is unavailable; retry shortly");
    case persistence::errc::refused:
      return make_error(400, error_code::bad_request, f.message);
    default:
      return make_error(500, error_code::internal, "internal error");
  }
}

/// The ranked list's cursor: "m<offset into the ranking>". nullopt when malformed.
std::optional<size_t> parse_cursor(const std::string& cursor) {
  if (cursor.empty())
    return 0;
  if (cursor.size() < 2 || cursor[0] != 'm')
    return std::nullopt;
  size_t offset = 0;
  auto [end, ec] = std::from_chars(cursor.data() + 1, cursor.data() + cursor.size(), offset);
  if (ec != std::errc{} || end != cursor.data() + cursor.size())
    return std::nullopt;
  return offset;
}

json match_json(const matching::match& m) {
  return json{{"score", m.score}, {"reasons", reasons_json(m)}};
}

/// Ranks `rows` (the creator's eligible campaigns) and renders the page at `offset`.
std::string ranked_page(const protocol::profiles::creator_profile& creator, const matching::history& record,
                        const std::vector<persistence::campaign_row>& rows, size_t offset, size_t limit) {
  std::vector<protocol::campaign_details> details;
  std::vector<size_t> row_of; // details index -> rows index
  details.reserve(rows.size());
  row_of.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    auto d = protocol::campaign_details_from_json(rows[i].details);
    if (!d) {
      // Stored by the projection from validated details: only a newer validation rule gets here.
      spdlog::warn("campaign {}: stored details no longer parse; left out of the ranking",
                   rows[i].id.str());
      continue;
    }
    details.push_back(std::move(d.value()));
    row_of.push_back(i);
  }
  auto ranked = matching::rank_campaigns(creator, record, details, details.size());
  json list = json::array();
  for (size_t i = offset; i < ranked.size() && i < offset + limit; ++i) {
    auto item = campaign_row_json(rows[row_of[ranked[i].index]]);
    item["rank"] = i + 1;
    item["match"] = match_json(ranked[i].result);
    list.push_back(std::move(item));
  }
  json body{{"campaigns", std::move(list)},
            {"sort", "match"},
            {"considered", rows.size()},
            {"eligible", ranked.size()}};
  body["next_before"] = offset + limit < ranked.size() ? json("m" + std::to_string(offset + limit)) : json(nullptr);
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace

void runtime::ranked_campaigns(principal who, std::string sort, std::string before, size_t limit,
                               answer done) {
  if (!sort.empty() && sort != "match" && sort != "newest")
    return done(bad_param("sort", "match or newest"));
  if (sort == "newest")
    return campaigns().eligible(std::move(who), std::move(before), limit, std::move(done));
  if (auto no = policy::decide(policy::action::campaign_matches, policy::parse_role(who.role),
                               policy::relation::owner))
    return done(make_error(no->status, no->code, std::string{no->message}));
  if (limit < 1 || limit > 100)
    return done(bad_param("limit", "from 1 to 100"));
  auto offset = parse_cursor(before);
  if (!offset)
    return done(bad_param("before", "a cursor from next_before of the same sort"));
  auto* db = &database_();
  auto cap = config().match_candidates;
  auto user = who.user;
  persistence::load_creator_profile(
    *db, user, [db, cap, user, offset = *offset, limit, done](persistence::result<persistence::creator_profile_row> p) {
      if (!p)
        return done(storage_error(p.error()));
      persistence::load_creator_history(
        *db, {user},
        [db, cap, user, offset, limit, done, profile = to_profile(*p)](
          persistence::result<std::vector<persistence::creator_history_row>> h) {
          if (!h)
            return done(storage_error(h.error()));
          auto record = h->empty() ? matching::history{} : to_history(h->front());
          persistence::eligible_campaign_details(
            *db, user, cap,
            [offset, limit, done, profile, record](persistence::result<std::vector<persistence::campaign_row>> rows) {
              if (!rows)
                return done(storage_error(rows.error()));
              // On the pool thread that ran the query: pure, bounded by `match_candidates`.
              done(ranked_page(profile, record, *rows, offset, limit));
            });
        });
    });
}

void runtime::campaign_creator_matches(principal who, uuid campaign, size_t limit, answer done) {
  if (limit < 1)
    return done(bad_param("limit", "a whole number from 1"));
  limit = std::min(limit, config().match_limit_max);
  // The campaign's own read (its actor; drafts exist only for their brand and staff), then the
  // relation: a campaign someone else's answers exactly like a missing one.
  auto role = policy::parse_role(who.role);
  auto user = who.user;
  campaigns().get(std::move(who), campaign, [this, role, user, campaign, limit, done](expected<std::string, api_error> r) {
    if (!r)
      return done(std::move(r.error()));
    auto view = json::parse(r.value(), nullptr, false);
    auto brand = view.is_object() && view.contains("brand") && view["brand"].is_string()
                   ? uuid::parse(view["brand"].get<std::string>())
                   : std::nullopt;
    auto rel = brand && *brand == user ? policy::relation::owner : policy::relation::stranger;
    if (auto no = policy::decide(policy::action::campaign_match_creators, role, rel))
      return done(make_error(no->status, no->code, std::string{no->message}));
    auto details = view.is_object() && view.contains("details")
                     ? protocol::campaign_details_from_json(view["details"].dump())
                     : protocol::campaign_details_from_json("null");
    if (!details) {
      spdlog::warn("campaign {}: its details do not parse for matching", campaign.str());
      return done(make_error(500, error_code::internal, "internal error"));
    }
    match_creators(*details, limit, [campaign, limit, done](expected<match_results, api_error> m) {
      if (!m)
        return done(std::move(m.error()));
      json list = json::array();
      size_t rank = 0;
      for (auto& c : m->matches)
        list.push_back(json{{"rank", ++rank},
                            {"creator", json::parse(c.profile_json)},
                            {"score", c.result.score},
                            {"reasons", reasons_json(c.result)}});
      json out{{"campaign", campaign.str()},
               {"matches", std::move(list)},
               {"considered", m->considered},
               {"eligible", m->eligible},
               {"limit", limit}};
      done(out.dump(-1, ' ', false, json::error_handler_t::replace));
    });
  });
}

} // namespace pactum::actors
