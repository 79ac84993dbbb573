#include "pactum/persistence/analytics_store.hpp"

#include <set>

#include <pqxx/pqxx>

#include "store_support.hpp"

namespace pactum::persistence {

namespace {

using detail::submit;
using detail::to_uuid;

#define PACTUM_MS(expr) "floor(extract(epoch from " expr ") * 1000)::bigint"
#define PACTUM_TS(param) "('epoch'::timestamptz + " param "::bigint * interval '1 millisecond')"

std::string id_array(const std::vector<int64_t>& ids) {
  std::string out = "{";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0)
      out += ',';
    out += std::to_string(ids[i]);
  }
  return out + "}";
}

millis server_now(pqxx::transaction_base& tx) {
  return tx.exec("select " PACTUM_MS("now()"))[0][0].as<int64_t>();
}

tracked_click to_click(const pqxx::row& r) {
  tracked_click c;
  c.id = r[0].as<int64_t>();
  c.campaign = to_uuid(r[1]);
  c.creator = to_uuid(r[2]);
  c.code = r[3].as<std::string>();
  c.at = r[4].as<int64_t>();
  c.client_hash = r[5].as<std::string>();
  c.user_agent = r[6].as<std::string>();
  return c;
}

constexpr const char* click_columns =
  "id, campaign_id::text, creator_id::text, code, " PACTUM_MS("at") ", encode(client_hash, 'hex'), user_agent";

} // namespace

void classify_pending_clicks(database& db, size_t limit, click_classifier classify,
                             std::function<void(result<analytics_batch>)> done) {
  submit<analytics_batch>(
    db, "classify_pending_clicks", std::move(done),
    [limit, classify = std::move(classify)](pqxx::connection& conn) -> result<analytics_batch> {
      pqxx::work tx{conn};
      analytics_batch out;
      out.read_at = server_now(tx);
      auto rows = tx.exec_params(std::string{"select "} + click_columns
                                   + " from link_clicks where verdict = 'pending' order by id limit $1 for update",
                                 static_cast<int64_t>(limit));
      if (rows.empty())
        return out;
      std::vector<tracked_click> clicks;
      clicks.reserve(rows.size());
      for (const auto& r : rows)
        clicks.push_back(to_click(r));
      auto reasons = classify(clicks);
      if (reasons.size() != clicks.size())
        return failure{errc::internal, "the classifier returned the wrong number of verdicts"};
      std::vector<int64_t> ids;
      ids.reserve(clicks.size());
      for (size_t i = 0; i < clicks.size(); ++i) {
        ids.push_back(clicks[i].id);
        out.invalid += !reasons[i].empty();
      }
      auto id_list = id_array(ids);
      tx.exec_params0("update link_clicks l set verdict = case when v.reason = '' then 'valid' else 'invalid' end,"
                      " reason = nullif(v.reason, '')"
                      " from unnest($1::bigint[], $2::text[]) as v(id, reason)"
                      " where l.id = v.id and l.verdict = 'pending'",
                      id_list, detail::array_literal(reasons));
      // Unique: the client's first valid click on this creator's links of the campaign that UTC
      // day (earlier clicks of this batch are already 'valid' in this transaction).
      auto unique = tx.exec_params(
        "select c.id from link_clicks c where c.id = any($1::bigint[]) and c.verdict = 'valid'"
        " and not exists (select 1 from link_clicks p where p.campaign_id = c.campaign_id"
        " and p.client_hash = c.client_hash and p.creator_id = c.creator_id and p.verdict = 'valid'"
        " and p.id < c.id and p.at >= date_trunc('day', c.at, 'UTC'))",
        id_list);
      std::vector<int64_t> unique_ids;
      for (const auto& r : unique)
        unique_ids.push_back(r[0].as<int64_t>());
      auto changed = tx.exec_params(
        "insert into analytics_rollups (campaign_id, creator_id, bucket, clicks, unique_clicks, invalid_clicks, spend)"
        " select l.campaign_id, l.creator_id, date_trunc('minute', l.at),"
        " count(*) filter (where l.verdict = 'valid'),"
        " count(*) filter (where l.id = any($2::bigint[])),"
        " count(*) filter (where l.verdict = 'invalid'),"
        " coalesce(sum(c.rate) filter (where l.verdict = 'valid' and c.pricing_model = 'cpc'), 0)"
        " from link_clicks l left join campaigns c on c.id = l.campaign_id"
        " where l.id = any($1::bigint[]) group by 1, 2, 3"
        " on conflict (campaign_id, bucket, creator_id) do update set"
        " clicks = analytics_rollups.clicks + excluded.clicks,"
        " unique_clicks = analytics_rollups.unique_clicks + excluded.unique_clicks,"
        " invalid_clicks = analytics_rollups.invalid_clicks + excluded.invalid_clicks,"
        " spend = analytics_rollups.spend + excluded.spend"
        " returning campaign_id::text",
        id_list, id_array(unique_ids));
      std::set<std::string> campaigns;
      for (const auto& r : changed)
        campaigns.insert(r[0].as<std::string>());
      tx.commit();
      out.processed = clicks.size();
      for (const auto& c : campaigns)
        if (auto id = uuid::parse(c))
          out.campaigns.push_back(*id);
      return out;
    });
}

void attribute_pending_conversions(database& db, size_t limit, millis received_before,
                                   millis attribution_window,
                                   std::function<void(result<analytics_batch>)> done) {
  submit<analytics_batch>(
    db, "attribute_pending_conversions", std::move(done),
    [limit, received_before, attribution_window](pqxx::connection& conn) -> result<analytics_batch> {
      pqxx::work tx{conn};
      analytics_batch out;
      out.read_at = server_now(tx);
      auto rows = tx.exec_params(
        "select id, coalesce(code, ''), coalesce(encode(client_hash, 'hex'), ''), " PACTUM_MS("at")
        ", amount, campaign_id::text, creator_id::text from conversions"
        " where verdict = 'pending' and received_at < " PACTUM_TS("$2") " order by id limit $1 for update",
        static_cast<int64_t>(limit), received_before);
      std::set<std::string> campaigns;
      for (const auto& r : rows) {
        auto id = r[0].as<int64_t>();
        auto code = r[1].as<std::string>();
        auto client = r[2].as<std::string>();
        auto at = r[3].as<int64_t>();
        auto amount = r[4].as<int64_t>();
        pqxx::result click;
        if (!code.empty() && !client.empty())
          click = tx.exec_params(
            "select l.id, l.campaign_id::text, l.creator_id::text from affiliate_links a"
            " join link_clicks l on l.campaign_id = a.campaign_id and l.client_hash = decode($2, 'hex')"
            " where a.code = $1 and l.code = $1 and l.verdict = 'valid'"
            " and l.at <= " PACTUM_TS("$3") " and l.at >= " PACTUM_TS("$4")
            " order by l.at desc, l.id desc limit 1",
            code, client, at, at - attribution_window);
        if (click.empty()) {
          tx.exec_params0("update conversions set verdict = 'invalid', reason = 'conversion_without_click'"
                          " where id = $1",
                          id);
          if (!r[5].is_null() && !r[6].is_null()) {
            tx.exec_params0("insert into analytics_rollups (campaign_id, creator_id, bucket, invalid_conversions)"
                            " values ($1, $2, date_trunc('minute', " PACTUM_TS("$3") "), 1)"
                            " on conflict (campaign_id, bucket, creator_id) do update set"
                            " invalid_conversions = analytics_rollups.invalid_conversions + 1",
                            r[5].as<std::string>(), r[6].as<std::string>(), at);
            campaigns.insert(r[5].as<std::string>());
          }
          ++out.invalid;
          continue;
        }
        auto campaign = click[0][1].as<std::string>();
        tx.exec_params0("update conversions set verdict = 'valid', reason = null, click_id = $2 where id = $1", id,
                        click[0][0].as<int64_t>());
        tx.exec_params0("insert into analytics_rollups (campaign_id, creator_id, bucket, conversions, revenue)"
                        " values ($1, $2, date_trunc('minute', " PACTUM_TS("$3") "), 1, $4)"
                        " on conflict (campaign_id, bucket, creator_id) do update set"
                        " conversions = analytics_rollups.conversions + 1,"
                        " revenue = analytics_rollups.revenue + excluded.revenue",
                        campaign, click[0][2].as<std::string>(), at, amount);
        campaigns.insert(campaign);
      }
      tx.commit();
      out.processed = rows.size();
      for (const auto& c : campaigns)
        if (auto id = uuid::parse(c))
          out.campaigns.push_back(*id);
      return out;
    });
}

void recent_classified_clicks(database& db, millis since, size_t limit,
                              std::function<void(result<std::vector<tracked_click>>)> done) {
  submit<std::vector<tracked_click>>(
    db, "recent_classified_clicks", std::move(done),
    [since, limit](pqxx::connection& conn) -> result<std::vector<tracked_click>> {
      pqxx::read_transaction tx{conn};
      auto rows = tx.exec_params(
        std::string{"select * from (select "} + click_columns
          + ", coalesce(reason, '') from link_clicks where verdict <> 'pending' and at >= " PACTUM_TS("$1")
            " order by id desc limit $2) t order by id",
        since, static_cast<int64_t>(limit));
      std::vector<tracked_click> out;
      out.reserve(rows.size());
      for (const auto& r : rows) {
        out.push_back(to_click(r));
        out.back().reason = r[7].as<std::string>();
      }
      return out;
    });
}

void load_analytics_campaign(database& db, uuid campaign,
                             std::function<void(result<std::optional<analytics_campaign>>)> done) {
  submit<std::optional<analytics_campaign>>(
    db, "load_analytics_campaign", std::move(done),
    [campaign](pqxx::connection& conn) -> result<std::optional<analytics_campaign>> {
      pqxx::read_transaction tx{conn};
      auto rows = tx.exec_params("select brand_id::text, pricing_model, rate, currency from campaigns where id = $1",
                                 campaign.str());
      if (rows.empty())
        return std::optional<analytics_campaign>{};
      analytics_campaign c;
      c.brand = to_uuid(rows[0][0]);
      c.pricing_model = rows[0][1].as<std::string>();
      c.rate = rows[0][2].as<int64_t>();
      c.currency = rows[0][3].as<std::string>();
      return std::optional<analytics_campaign>{std::move(c)};
    });
}

void load_rollups(database& db, uuid campaign, millis from, millis to, std::string unit,
                  std::function<void(result<std::vector<rollup_row>>)> done) {
  submit<std::vector<rollup_row>>(
    db, "load_rollups", std::move(done),
    [campaign, from, to, unit = std::move(unit)](pqxx::connection& conn) -> result<std::vector<rollup_row>> {
      pqxx::read_transaction tx{conn};
      auto rows = tx.exec_params(
        "select r.creator_id::text, coalesce(max(u.display_name), ''),"
        " " PACTUM_MS("date_trunc($4::text, r.bucket, 'UTC')") " as b,"
        " sum(r.clicks)::bigint, sum(r.unique_clicks)::bigint, sum(r.views)::bigint, sum(r.conversions)::bigint,"
        " sum(r.revenue)::bigint, sum(r.spend)::bigint, sum(r.invalid_clicks)::bigint,"
        " sum(r.invalid_conversions)::bigint"
        " from analytics_rollups r left join users u on u.id = r.creator_id"
        " where r.campaign_id = $1 and r.bucket >= " PACTUM_TS("$2") " and r.bucket < " PACTUM_TS("$3")
        " group by r.creator_id, b order by b, r.creator_id",
        campaign.str(), from, to, unit);
      std::vector<rollup_row> out;
      out.reserve(rows.size());
      for (const auto& r : rows) {
        rollup_row x;
        x.creator = to_uuid(r[0]);
        x.display_name = r[1].as<std::string>();
        x.bucket = r[2].as<int64_t>();
        x.clicks = r[3].as<int64_t>();
        x.unique_clicks = r[4].as<int64_t>();
        x.views = r[5].as<int64_t>();
        x.conversions = r[6].as<int64_t>();
        x.revenue = r[7].as<int64_t>();
        x.spend = r[8].as<int64_t>();
        x.invalid_clicks = r[9].as<int64_t>();
        x.invalid_conversions = r[10].as<int64_t>();
        out.push_back(std::move(x));
      }
      return out;
    });
}

void load_invalid_events(database& db, uuid campaign, std::string kind, int64_t before, size_t limit,
                         std::function<void(result<std::vector<invalid_event_row>>)> done) {
  submit<std::vector<invalid_event_row>>(
    db, "load_invalid_events", std::move(done),
    [campaign, kind = std::move(kind), before, limit](pqxx::connection& conn) -> result<std::vector<invalid_event_row>> {
      pqxx::read_transaction tx{conn};
      std::vector<invalid_event_row> out;
      if (kind == "conversion") {
        auto rows = tx.exec_params(
          "select id, " PACTUM_MS("at") ", coalesce(creator_id::text, ''), coalesce(code, ''), coalesce(reason, ''),"
          " order_id, amount, currency from conversions"
          " where campaign_id = $1 and verdict = 'invalid' and ($2::bigint = 0 or id < $2::bigint)"
          " order by id desc limit $3",
          campaign.str(), before, static_cast<int64_t>(limit));
        for (const auto& r : rows) {
          invalid_event_row e;
          e.id = r[0].as<int64_t>();
          e.kind = "conversion";
          e.at = r[1].as<int64_t>();
          if (auto c = uuid::parse(r[2].as<std::string>()))
            e.creator = *c;
          e.code = r[3].as<std::string>();
          e.reason = r[4].as<std::string>();
          e.order_id = r[5].as<std::string>();
          e.amount = r[6].as<int64_t>();
          e.currency = r[7].as<std::string>();
          out.push_back(std::move(e));
        }
        return out;
      }
      auto rows = tx.exec_params(
        "select id, " PACTUM_MS("at") ", creator_id::text, code, coalesce(reason, ''), user_agent, referrer"
        " from link_clicks where campaign_id = $1 and verdict = 'invalid' and ($2::bigint = 0 or id < $2::bigint)"
        " order by id desc limit $3",
        campaign.str(), before, static_cast<int64_t>(limit));
      for (const auto& r : rows) {
        invalid_event_row e;
        e.id = r[0].as<int64_t>();
        e.kind = "click";
        e.at = r[1].as<int64_t>();
        e.creator = to_uuid(r[2]);
        e.code = r[3].as<std::string>();
        e.reason = r[4].as<std::string>();
        e.user_agent = r[5].as<std::string>();
        e.referrer = r[6].as<std::string>();
        out.push_back(std::move(e));
      }
      return out;
    });
}

} // namespace pactum::persistence
