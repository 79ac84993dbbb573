#include "pactum/persistence/search_store.hpp"

#include <cmath>
#include <memory>

#include <pqxx/pqxx>
#include <spdlog/fmt/fmt.h>

#include "connection.hpp"

namespace pactum::persistence {

namespace {

// The profile columns and their reading repeat profile_store.cpp's (kept private there so the
// two files can change independently); the order must match `to_profile`.
#define PACTUM_MS(expr) "floor(extract(epoch from " expr ") * 1000)::bigint"

constexpr const char* profile_columns =
  "p.user_id::text, p.bio, p.niches, p.social_accounts::text, p.follower_total, p.audience::text,"
  " p.country, p.city, p.lat, p.lon, p.languages, p.rates::text, p.media_kit_url, u.display_name,"
  " p.version, " PACTUM_MS("p.updated_at");
constexpr int profile_column_count = 16;

std::vector<std::string> array_of(const pqxx::field& f) {
  std::vector<std::string> out;
  auto arr = f.as_array();
  for (auto e = arr.get_next(); e.first != pqxx::array_parser::done; e = arr.get_next())
    if (e.first == pqxx::array_parser::string_value)
      out.push_back(e.second);
  return out;
}

std::string array_literal(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0)
      out += ',';
    detail::append_array_element(out, items[i]);
  }
  return out + "}";
}

std::optional<double> optional_double(const pqxx::field& f) {
  if (f.is_null())
    return std::nullopt;
  return f.as<double>();
}

creator_profile_row to_profile(const pqxx::row& r) {
  creator_profile_row c;
  auto id = uuid::parse(r[0].c_str());
  if (!id)
    throw std::runtime_error(std::string{"malformed uuid from the database: "} + r[0].c_str());
  c.user = *id;
  c.bio = r[1].as<std::string>();
  c.niches = array_of(r[2]);
  c.social_accounts = r[3].as<std::string>();
  c.follower_total = r[4].as<int64_t>();
  c.audience = r[5].as<std::string>();
  c.country = r[6].as<std::string>();
  c.city = r[7].as<std::string>();
  c.lat = optional_double(r[8]);
  c.lon = optional_double(r[9]);
  c.languages = array_of(r[10]);
  c.rates = r[11].as<std::string>();
  c.media_kit_url = r[12].as<std::string>();
  c.display_name = r[13].as<std::string>();
  c.version = r[14].as<int64_t>();
  c.updated_at = r[15].as<int64_t>();
  return c;
}

/// Relevance sort: how many matches are ranked at most (see `build`, docs/api.md).
constexpr int relevance_candidates = 1000;

/// Mean Earth radius (IUGG), km.
constexpr double earth_km = 6371.0088;
constexpr double pi = 3.14159265358979323846;

/// Builds the statement: `$n` placeholders for the values in `params`, in order.
class statement {
public:
  /// Adds a parameter and answers its placeholder ("$3").
  std::string bind(std::string value) {
    params_.push_back(std::move(value));
    return "$" + std::to_string(params_.size());
  }
  void where(const std::string& condition) { where_ += " and " + condition; }
  /// A condition on a column the (country, ...) btrees do not include (the JSONB parts, the
  /// audience and rate keys): checked on the whole row in `build`'s two-step form.
  void where_row(const std::string& condition) { where_row_ += " and " + condition; }
  /// Every condition.
  std::string conditions() const { return where_ + where_row_; }
  /// The conditions on the columns the (country, ...) btrees include (migration 0029).
  const std::string& index_conditions() const noexcept { return where_; }
  const std::string& row_conditions() const noexcept { return where_row_; }
  const std::vector<std::string>& params() const noexcept { return params_; }

private:
  std::vector<std::string> params_;
  std::string where_;
  std::string where_row_;
};

std::string number(double d) {
  return fmt::format("{}", d);
}

struct built {
  std::string sql;
  std::vector<std::string> params;
  /// The two-step form (a country, see `build`): run without bitmap scans.
  bool two_step = false;
};

/// The SQL of `q` and its parameters. Every value is a parameter; only the fixed fragments
/// below are spliced in.
built build(const creator_search& q) {
  statement st;
  std::string joins; // lateral joins on the JSONB parts of `p`, the text query
  std::string extra_columns;

  if (!q.niches.empty())
    st.where("p.niches && " + st.bind(array_literal(q.niches)) + "::text[]");
  if (!q.languages.empty())
    st.where("p.languages && " + st.bind(array_literal(q.languages)) + "::text[]");
  if (!q.country.empty())
    st.where("p.country = " + st.bind(q.country) + "::bpchar");

  // Accounts: with a platform, one account on it must satisfy both ranges (its figures are the
  // matched ones); without, the follower range is on the total and the engagement range on any
  // account. The GIN / btree column prefilters the rows before the JSONB walk.
  bool per_account = !q.platform.empty() || q.engagement_min || q.engagement_max;
  if (per_account) {
    std::string cond;
    if (!q.platform.empty()) {
      auto p = st.bind(q.platform);
      st.where("p.platforms @> array[" + p + "::text]");
      cond += " and a->>'platform' = " + p + "::text";
      if (q.followers_min) {
        // An account's followers are part of the total: the total's btree bounds the rows.
        auto lo = st.bind(std::to_string(*q.followers_min));
        st.where("p.follower_total >= " + lo + "::bigint");
        cond += " and (a->>'followers')::bigint >= " + lo + "::bigint";
      }
      if (q.followers_max)
        cond += " and (a->>'followers')::bigint <= " + st.bind(std::to_string(*q.followers_max)) + "::bigint";
    }
    if (q.engagement_min) {
      auto lo = st.bind(number(*q.engagement_min));
      st.where("p.max_engagement >= " + lo + "::real");
      cond += " and (a->>'engagement_rate')::real >= " + lo + "::real";
    }
    if (q.engagement_max)
      cond += " and (a->>'engagement_rate')::real <= " + st.bind(number(*q.engagement_max)) + "::real";
    joins += " join lateral (select (a->>'followers')::bigint as followers,"
            " (a->>'engagement_rate')::real as engagement from jsonb_array_elements(p.social_accounts) a"
            " where true" + cond + " order by 1 desc, 2 desc limit 1) acc on true";
  }
  if (q.platform.empty()) {
    if (q.followers_min)
      st.where("p.follower_total >= " + st.bind(std::to_string(*q.followers_min)) + "::bigint");
    if (q.followers_max)
      st.where("p.follower_total <= " + st.bind(std::to_string(*q.followers_max)) + "::bigint");
  }
  extra_columns += q.platform.empty() ? ", p.follower_total as f1" : ", acc.followers as f1";
  extra_columns += per_account ? ", acc.engagement::float8 as f2" : ", p.max_engagement::float8 as f2";

  if (!q.audience_country.empty()) {
    auto c = st.bind(q.audience_country);
    auto share = "(p.audience_country_shares->>" + c + "::text)::real";
    // The country's key at the highest share level not above the minimum (migration 0018).
    int level = 0;
    for (int l : {5, 10, 15, 20, 25, 30, 35, 40, 50, 60, 70, 80, 90})
      if (q.audience_min_share >= l)
        level = l;
    st.where_row("p.audience_countries @> array[" + c + "::text || ':" + std::to_string(level) + "']");
    st.where_row(share + " >= " + st.bind(number(q.audience_min_share)) + "::real");
    extra_columns += ", " + share + "::float8 as f3";
  } else {
    extra_columns += ", null::float8 as f3";
  }
  if (!q.audience_age_band.empty()) {
    auto b = st.bind(q.audience_age_band);
    auto share = "(p.audience->'age_bands'->>" + b + "::text)::real";
    // Not `audience_age_bands @> ...`: a band is never selective (see migration 0018), and the
    // share check alone lets the planner walk the sort order or another index instead.
    st.where_row(share + " >= " + st.bind(number(q.audience_min_share)) + "::real");
    extra_columns += ", " + share + "::float8 as f4";
  } else {
    extra_columns += ", null::float8 as f4";
  }

  if (!q.rate_currency.empty()) {
    auto cur = st.bind(q.rate_currency);
    std::string cond = " and r->>'currency' = " + cur + "::text";
    if (!q.rate_type.empty()) {
      auto t = st.bind(q.rate_type);
      st.where_row("p.rate_keys @> array[" + t + "::text || ':' || " + cur + "::text]");
      cond += " and r->>'type' = " + t + "::text";
    } else {
      st.where_row("p.rate_keys @> array[" + cur + "::text]");
    }
    if (q.rate_min)
      cond += " and (r->>'amount')::bigint >= " + st.bind(std::to_string(*q.rate_min)) + "::bigint";
    if (q.rate_max)
      cond += " and (r->>'amount')::bigint <= " + st.bind(std::to_string(*q.rate_max)) + "::bigint";
    joins += " join lateral (select (r->>'amount')::bigint as amount, r->>'type' as type"
            " from jsonb_array_elements(p.rates) r where true" + cond + " order by 1, 2 limit 1) rt on true";
    extra_columns += ", rt.amount as f5, rt.type as f6";
  } else {
    extra_columns += ", null::bigint as f5, null::text as f6";
  }

  if (q.radius_km) {
    // Bounding box first (GiST on point(geo_lon, geo_lat), which also holds the sort keys and
    // filter columns, so the box is an index-only scan), then the great-circle distance.
    double lat = *q.lat, lon = *q.lon, r = *q.radius_km;
    double dlat = r / earth_km * 180 / pi;
    auto south = number(std::max(-90.0, lat - dlat)), north = number(std::min(90.0, lat + dlat));
    auto box = [&](double west, double east) {
      return "point(p.geo_lon, p.geo_lat) <@ box(point(" + st.bind(number(west)) + "::float8, " + st.bind(south)
             + "::float8), point(" + st.bind(number(east)) + "::float8, " + st.bind(north) + "::float8))";
    };
    double top = std::abs(lat) + dlat;
    double dlon = top < 89.9 ? dlat / std::cos(top * pi / 180) : 180;
    double west = lon - dlon, east = lon + dlon;
    if (dlon >= 180)
      st.where(box(-180, 180)); // every longitude
    else if (west < -180)
      st.where("(" + box(west + 360, 180) + " or " + box(-180, east) + ")");
    else if (east > 180)
      st.where("(" + box(west, 180) + " or " + box(-180, east - 360) + ")");
    else
      st.where(box(west, east));
    auto la = st.bind(number(lat)), lo = st.bind(number(lon));
    auto rr = st.bind(number(r));
    st.where("2 * " + number(earth_km) + " * asin(least(1, sqrt(power(sin(radians(p.geo_lat - " + la
             + "::float8) / 2), 2) + cos(radians(" + la + "::float8)) * cos(radians(p.geo_lat))"
             " * power(sin(radians(p.geo_lon - " + lo + "::float8) / 2), 2)))) <= " + rr + "::float8");
  }

  std::string key;
  std::string key_cast;
  if (!q.text.empty()) {
    joins += " cross join websearch_to_tsquery('simple', " + st.bind(q.text) + "::text) tq";
    st.where("p.bio_tsv @@ tq");
  }
  switch (q.sort) {
    case creator_sort::relevance:
      key = "ts_rank(p.bio_tsv, tq)";
      key_cast = "::float8::real";
      break;
    case creator_sort::followers:
      key = "p.follower_total";
      key_cast = "::bigint";
      break;
    case creator_sort::engagement:
      key = "p.max_engagement";
      key_cast = "::float8::real";
      break;
  }
  std::string after;
  if (q.after_key && q.after_user) {
    auto k = q.sort == creator_sort::followers ? std::to_string(static_cast<int64_t>(*q.after_key))
                                               : number(*q.after_key);
    after = "(" + st.bind(k) + key_cast + ", " + st.bind(q.after_user->str()) + "::uuid)";
  }
  std::string from = " from creator_profiles p" + joins;
  std::string sql;
  bool two_step = false;
  if (q.sort == creator_sort::relevance) {
    // Approximate relevance (docs/api.md "Creator search"): only the first
    // `relevance_candidates` matches, in the order the index and table yield them, are ranked.
    // A common word is in a third or more of all bios; ranking every match read tens of
    // thousands of rows per page (a 400 ms sequential scan on 100,000 profiles). When fewer
    // creators match, every match is ranked and the order is exact.
    sql = "with cand as (select p.user_id" + extra_columns + ", (" + key + ")::float8 as sort_key" + from
          + " where p.searchable" + st.conditions() + " limit " + std::to_string(relevance_candidates)
          + "), hits as (select * from cand c"
          + (after.empty() ? std::string{} : " where (c.sort_key::real, c.user_id) < " + after)
          + " order by c.sort_key desc, c.user_id desc limit " + st.bind(std::to_string(q.limit + 1)) + "::bigint)";
  } else if (!q.country.empty() && q.text.empty() && !q.radius_km) {
    if (!after.empty())
      st.where("(" + key + ", p.user_id) < " + after);
    // A country: two steps. The country's (country, sort key, user_id) btree includes the array
    // filters and the other sort key (migration 0029), so the first step walks it in sort order
    // and rejects creators on index tuples alone (index-only); only the creators that pass are
    // read whole for the per-account, rate and audience-share checks on the JSONB parts. In one
    // step every creator the btree yields was read from the heap before the array filters
    // (EXPLAIN ANALYZE, combined filters with FR: 628 heap blocks for 111 hits). `offset 0`
    // keeps the first step a subquery (not flattened into the join), whose order the join keeps.
    // The first step is planned for all its rows (the page's limit is outside it), so the
    // planner may prefer a bitmap of the array GIN indexes, the heap and a sort over the walk;
    // the walk stops after a page's creators, so the statement runs without bitmap scans
    // (EXPLAIN ANALYZE, combined filters with DE: 812 buffers, 487 heap blocks with the bitmap,
    // 287 buffers and no heap block for a rejected creator without).
    two_step = true;
    sql = "with hits as (select p.user_id" + extra_columns + ", c.sort_key from (select p.user_id, " + key
          + " as k, (" + key + ")::float8 as sort_key from creator_profiles p where p.searchable"
          + st.index_conditions() + " order by " + key + " desc, p.user_id desc offset 0) c"
          " join creator_profiles p on p.user_id = c.user_id" + joins + " where true" + st.row_conditions()
          + " order by c.k desc, c.user_id desc limit " + st.bind(std::to_string(q.limit + 1)) + "::bigint)";
  } else {
    if (!after.empty())
      st.where("(" + key + ", p.user_id) < " + after);
    // Filter, sort and limit on creator_profiles alone with narrow rows; only the page's rows
    // are then read whole and joined to users (display name).
    sql = "with hits as (select p.user_id" + extra_columns + ", (" + key + ")::float8 as sort_key" + from
          + " where p.searchable" + st.conditions() + " order by " + key + " desc, p.user_id desc limit "
          + st.bind(std::to_string(q.limit + 1)) + "::bigint)";
  }
  sql += " select " + std::string{profile_columns}
         + ", h.f1, h.f2, h.f3, h.f4, h.f5, h.f6, h.sort_key from hits h"
           " join creator_profiles p on p.user_id = h.user_id join users u on u.id = p.user_id"
           " order by h.sort_key desc, h.user_id desc";
  return {std::move(sql), st.params(), two_step};
}

} // namespace

void search_creators(database& db, creator_search q,
                     std::function<void(result<std::vector<creator_hit>>)> done) {
  auto out = std::make_shared<std::vector<creator_hit>>();
  auto [sql, params, two_step] = build(q);
  db.run_pooled(
    "search_creators",
    [out, sql = std::move(sql), params = std::move(params), two_step = two_step](void* c) -> result<unit> {
      auto& conn = *static_cast<pqxx::connection*>(c);
      pqxx::read_transaction tx{conn};
      // A page is a few ms of work: parallel workers only add start-up cost and contend for
      // the cores the other queries need.
      tx.exec0("set local max_parallel_workers_per_gather = 0");
      // No JIT: a search is a short query, and when a plan's cost crossed jit_above_cost (a
      // common-word text search did), compiling took longer than running it.
      tx.exec0("set local jit = off");
      // The relevance candidates are "the first N matches": a sequential scan must start at the
      // table's first block, not where a concurrent scan happens to be, so that the same search
      // (and its next page) sees the same candidates.
      tx.exec0("set local synchronize_seqscans = off");
      if (two_step)
        tx.exec0("set local enable_bitmapscan = off");
      auto rows = tx.exec_params(sql, pqxx::prepare::make_dynamic_params(params));
      out->reserve(rows.size());
      for (const auto& r : rows) {
        creator_hit h;
        h.profile = to_profile(r);
        int at = profile_column_count;
        h.followers = r[at].as<int64_t>();
        h.engagement_rate = r[at + 1].as<double>();
        h.audience_country_share = optional_double(r[at + 2]);
        h.audience_age_share = optional_double(r[at + 3]);
        if (!r[at + 4].is_null()) {
          h.rate_amount = r[at + 4].as<int64_t>();
          h.rate_type = r[at + 5].as<std::string>();
        }
        h.sort_key = r[at + 6].as<double>();
        out->push_back(std::move(h));
      }
      return unit{};
    },
    [out, done = std::move(done)](result<unit> r) {
      if (!r)
        return done(r.error());
      done(std::move(*out));
    });
}

} // namespace pactum::persistence
