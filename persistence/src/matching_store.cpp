#include "pactum/persistence/matching_store.hpp"

#include <memory>
#include <unordered_map>

#include <pqxx/pqxx>

#include "store_support.hpp"

namespace pactum::persistence {

namespace {

using detail::submit;
using detail::array_literal;
using detail::array_of;
using detail::to_uuid;





// The same columns and order as profile_store's creator rows.
constexpr const char* creator_columns =
  "p.user_id::text, p.bio, p.niches, p.social_accounts::text, p.follower_total, p.audience::text,"
  " p.country, p.city, p.lat, p.lon, p.languages, p.rates::text, p.media_kit_url, u.display_name,"
  " p.version, floor(extract(epoch from p.updated_at) * 1000)::bigint";

creator_profile_row to_creator(const pqxx::row& r) {
  creator_profile_row c;
  c.user = to_uuid(r[0]);
  c.bio = r[1].as<std::string>();
  c.niches = array_of(r[2]);
  c.social_accounts = r[3].as<std::string>();
  c.follower_total = r[4].as<int64_t>();
  c.audience = r[5].as<std::string>();
  c.country = r[6].as<std::string>();
  c.city = r[7].as<std::string>();
  if (!r[8].is_null() && !r[9].is_null()) {
    c.lat = r[8].as<double>();
    c.lon = r[9].as<double>();
  }
  c.languages = array_of(r[10]);
  c.rates = r[11].as<std::string>();
  c.media_kit_url = r[12].as<std::string>();
  c.display_name = r[13].as<std::string>();
  c.version = r[14].as<int64_t>();
  c.updated_at = r[15].as<int64_t>();
  return c;
}

/// Per creator, from the journals of their contracts (found through the expression index of
/// migration 0019): each contract's events reduced to flags, then counted. Event types only; no
/// payload beyond contract.opened's creator is read.
constexpr const char* history_sql = R"sql(
with mine as (
  select pactum_contract_creator(j.payload) as creator, j.entity_id as contract
  from journal j
  where j.event_type = 'contract.opened' and pactum_contract_creator(j.payload) = any($1::uuid[])
), per_contract as (
  select m.creator,
         bool_or(e.event_type = 'contract.funded') as funded,
         bool_or(e.event_type = 'contract.delivered') as delivered,
         bool_or(e.event_type = 'contract.refunded') as missed,
         bool_or(e.event_type = 'contract.released') as released,
         bool_or(e.event_type in ('contract.released', 'contract.resolved', 'contract.refunded',
                                  'contract.cancelled')) as ended,
         bool_or(e.event_type = 'contract.disputed') as disputed,
         count(*) filter (where e.event_type = 'contract.revision_requested') as revisions
  from mine m join journal e on e.entity_id = m.contract
  group by m.creator, m.contract
)
select creator::text,
       count(*) filter (where funded and (delivered or missed)),
       count(*) filter (where delivered and not missed),
       count(*) filter (where released),
       count(*) filter (where delivered and ended),
       count(*) filter (where delivered),
       coalesce(sum(revisions) filter (where delivered), 0)::bigint,
       count(*) filter (where disputed)
from per_contract
group by creator
)sql";

std::vector<creator_history_row> histories(pqxx::transaction_base& tx, const std::vector<uuid>& ids) {
  std::vector<std::string> texts;
  texts.reserve(ids.size());
  for (auto& id : ids)
    texts.push_back(id.str());
  std::unordered_map<uuid, creator_history_row> found;
  if (!ids.empty()) {
    for (const auto& r : tx.exec_params(history_sql, array_literal(texts))) {
      creator_history_row h;
      h.creator = to_uuid(r[0]);
      h.contracts = r[1].as<int64_t>();
      h.on_time = r[2].as<int64_t>();
      h.completed = r[3].as<int64_t>();
      h.reviewed = r[4].as<int64_t>();
      h.delivered = r[5].as<int64_t>();
      h.revisions = r[6].as<int64_t>();
      h.disputes = r[7].as<int64_t>();
      found[h.creator] = h;
    }
  }
  std::vector<creator_history_row> out;
  out.reserve(ids.size());
  for (auto& id : ids) {
    auto i = found.find(id);
    if (i != found.end()) {
      out.push_back(i->second);
    } else {
      creator_history_row none;
      none.creator = id;
      out.push_back(none);
    }
  }
  return out;
}

} // namespace

void load_match_candidates(database& db, match_candidate_query q,
                           std::function<void(result<std::vector<match_candidate_row>>)> done) {
  submit<std::vector<match_candidate_row>>(
    db, "load_match_candidates", std::move(done),
    [q = std::move(q)](pqxx::connection& conn) -> result<std::vector<match_candidate_row>> {
      // Only the conditions that apply, so the planner sees plain indexable predicates (the GIN
      // index on niches, the follower index) rather than "no list or ...".
      std::string sql = std::string{"select "} + creator_columns
                        + " from creator_profiles p join users u on u.id = p.user_id"
                          " where u.role = 'creator' and p.follower_total >= $3";
      if (!q.niches.empty())
        sql += " and p.niches && $1::text[]";
      if (!q.countries.empty())
        sql += " and (p.country = any($2::text[]) or exists (select 1 from jsonb_array_elements("
               "case when jsonb_typeof(p.audience->'top_countries') = 'array'"
               " then p.audience->'top_countries' else '[]'::jsonb end) t"
               " where t->>'country' = any($2::text[])))";
      sql += " order by (select count(*) from unnest(p.niches) n where n = any($1::text[])) desc,"
             " coalesce(p.country = any($2::text[]), false) desc, p.user_id limit $4";
      pqxx::read_transaction tx{conn};
      auto rows = tx.exec_params(sql, array_literal(q.niches), array_literal(q.countries),
                                 q.min_followers, static_cast<int64_t>(q.cap));
      std::vector<match_candidate_row> out;
      out.reserve(rows.size());
      std::vector<uuid> ids;
      ids.reserve(rows.size());
      for (const auto& r : rows) {
        match_candidate_row c;
        c.profile = to_creator(r);
        ids.push_back(c.profile.user);
        out.push_back(std::move(c));
      }
      auto h = histories(tx, ids);
      for (size_t i = 0; i < out.size(); ++i)
        out[i].history = std::move(h[i]);
      return out;
    });
}

void load_creator_history(database& db, std::vector<uuid> creators,
                          std::function<void(result<std::vector<creator_history_row>>)> done) {
  if (creators.size() > 10'000)
    return done(failure{errc::refused, "at most 10,000 creators at once"});
  submit<std::vector<creator_history_row>>(
    db, "load_creator_history", std::move(done),
    [creators = std::move(creators)](pqxx::connection& conn) -> result<std::vector<creator_history_row>> {
      pqxx::read_transaction tx{conn};
      return histories(tx, creators);
    });
}

} // namespace pactum::persistence
