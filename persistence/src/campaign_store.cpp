#include "pactum/persistence/campaign_store.hpp"

#include <algorithm>
#include <charconv>
#include <memory>

#include <pqxx/pqxx>

#include "store_support.hpp"

namespace pactum::persistence {

namespace {

using detail::submit;
using detail::array_literal;
using detail::array_of;
using detail::to_uuid;





#define PACTUM_MS(expr) "floor(extract(epoch from " expr ") * 1000)::bigint"
#define PACTUM_TS(param) "('epoch'::timestamptz + " param "::bigint * interval '1 millisecond')"

constexpr const char* campaign_columns =
  "c.id::text, c.brand_id::text, c.status, c.title, c.currency, c.budget, c.committed, c.spent,"
  " coalesce(" PACTUM_MS("c.starts_at") ", 0), coalesce(" PACTUM_MS("c.ends_at") ", 0),"
  " c.pricing_model, c.rate, c.niches, c.countries, c.min_followers, c.head_seq, "
  PACTUM_MS("c.created_at") ", " PACTUM_MS("c.updated_at");

campaign_row to_campaign(const pqxx::row& r) {
  campaign_row c;
  c.id = to_uuid(r[0]);
  c.brand = to_uuid(r[1]);
  c.status = r[2].as<std::string>();
  c.title = r[3].as<std::string>();
  c.currency = r[4].as<std::string>();
  c.budget = r[5].as<int64_t>();
  c.committed = r[6].as<int64_t>();
  c.spent = r[7].as<int64_t>();
  c.starts_at = r[8].as<int64_t>();
  c.ends_at = r[9].as<int64_t>();
  c.pricing_model = r[10].as<std::string>();
  c.rate = r[11].as<int64_t>();
  c.niches = array_of(r[12]);
  c.countries = array_of(r[13]);
  c.min_followers = r[14].as<int64_t>();
  c.head_seq = r[15].as<int64_t>();
  c.created_at = r[16].as<int64_t>();
  c.updated_at = r[17].as<int64_t>();
  return c;
}

/// The sort key of a row as the cursor spells it.
int64_t sort_key(const campaign_row& c, const std::string& sort) {
  if (sort == "budget")
    return c.budget;
  if (sort == "ending")
    return c.ends_at > 0 ? c.ends_at : INT64_MAX;
  return c.created_at;
}

/// "<key>_<id>" -> (key, id); nullopt when malformed.
std::optional<std::pair<int64_t, std::string>> parse_cursor(const std::string& cursor) {
  auto sep = cursor.find('_');
  if (sep == std::string::npos)
    return std::nullopt;
  int64_t key = 0;
  auto [end, ec] = std::from_chars(cursor.data(), cursor.data() + sep, key);
  auto id = uuid::parse(std::string_view{cursor}.substr(sep + 1));
  if (ec != std::errc{} || end != cursor.data() + sep || !id)
    return std::nullopt;
  return std::pair{key, id->str()};
}

// The eligibility rule (one place; `eligible_campaigns`, `eligible_campaign_details`): published;
// niches overlap when the campaign names any; the creator's country when it names any; at least
// its minimum followers. Reads `c` (campaigns) and `p` (the creator's profile).
constexpr const char* eligible_rule =
  " c.status = 'published'"
  " and (cardinality(c.niches) = 0 or c.niches && p.niches)"
  " and (cardinality(c.countries) = 0 or p.country = any(c.countries))"
  " and c.min_followers <= p.follower_total";

std::string make_cursor(int64_t key, const uuid& id) {
  return std::to_string(key) + "_" + id.str();
}

} // namespace

void upsert_campaign(database& db, campaign_row row, std::function<void(result<unit>)> done) {
  submit<unit>(db, "upsert_campaign", std::move(done), [row = std::move(row)](pqxx::connection& conn) -> result<unit> {
    pqxx::work tx{conn};
    tx.exec_params0(
      "insert into campaigns as c (id, brand_id, status, title, currency, budget, committed, spent,"
      " starts_at, ends_at, pricing_model, rate, niches, countries, min_followers, head_seq,"
      " created_at, updated_at, details) values ($1, $2, $3, $4, $5, $6, $7, $8,"
      " case when $9::bigint > 0 then " PACTUM_TS("$9") " end,"
      " case when $10::bigint > 0 then " PACTUM_TS("$10") " end,"
      " $11, $12, $13::text[], $14::text[], $15, $16, " PACTUM_TS("$17") ", " PACTUM_TS("$18") ","
      " nullif($19, '')::jsonb)"
      " on conflict (id) do update set status = excluded.status, title = excluded.title,"
      " currency = excluded.currency, budget = excluded.budget, committed = excluded.committed,"
      " spent = excluded.spent, starts_at = excluded.starts_at, ends_at = excluded.ends_at,"
      " pricing_model = excluded.pricing_model, rate = excluded.rate, niches = excluded.niches,"
      " countries = excluded.countries, min_followers = excluded.min_followers,"
      " head_seq = excluded.head_seq, updated_at = excluded.updated_at, details = excluded.details"
      " where c.head_seq < excluded.head_seq or (c.details is null and c.head_seq = excluded.head_seq)",
      row.id.str(), row.brand.str(), row.status, row.title, row.currency, row.budget, row.committed,
      row.spent, row.starts_at, row.ends_at, row.pricing_model, row.rate, array_literal(row.niches),
      array_literal(row.countries), row.min_followers, row.head_seq, row.created_at, row.updated_at,
      row.details);
    tx.commit();
    return unit{};
  });
}

void list_campaigns(database& db, campaign_filter f, std::function<void(result<campaign_page>)> done) {
  submit<campaign_page>(db, "list_campaigns", std::move(done), [f = std::move(f)](pqxx::connection& conn) -> result<campaign_page> {
    std::string key = f.sort == "budget"   ? "c.budget"
                      : f.sort == "ending" ? "coalesce(" PACTUM_MS("c.ends_at") ", 9223372036854775807)"
                                           : PACTUM_MS("c.created_at");
    const bool asc = f.sort == "ending";
    bool has_cursor = !f.after.empty();
    std::pair<int64_t, std::string> cursor{0, uuid{}.str()};
    if (has_cursor) {
      auto c = parse_cursor(f.after);
      if (!c)
        return failure{errc::refused, "malformed cursor"};
      cursor = *c;
    }
    std::string sql =
      std::string{"select "} + campaign_columns
      + " from campaigns c where ($1 = '' or c.status = $1)"
        " and ($2 = '' or c.brand_id = nullif($2, '')::uuid)"
        " and (cardinality($3::text[]) = 0 or c.niches && $3::text[])"
        " and ($4 = '' or cardinality(c.countries) = 0 or $4 = any(c.countries))"
        " and ($5 = '' or c.pricing_model = $5)"
        " and ($6 = '' or c.currency = $6)"
        " and ($7::bigint < 0 or c.budget >= $7::bigint)"
        " and ($8::bigint < 0 or c.budget <= $8::bigint)"
        " and ($9 = '' or to_tsvector('simple', c.title) @@ plainto_tsquery('simple', $9))"
        " and (not $10::boolean or (" + key + ", c.id) " + (asc ? ">" : "<") + " ($11::bigint, $12::uuid))"
        " order by " + key + (asc ? " asc" : " desc") + ", c.id" + (asc ? " asc" : " desc")
      + " limit $13";
    pqxx::read_transaction tx{conn};
    auto rows = tx.exec_params(sql, f.status.value_or(""), f.brand ? f.brand->str() : std::string{},
                               array_literal(f.niches), f.country, f.pricing_model, f.currency,
                               f.min_budget.value_or(-1), f.max_budget.value_or(-1), f.text,
                               has_cursor, cursor.first, cursor.second,
                               static_cast<int64_t>(f.limit) + 1);
    campaign_page page;
    for (const auto& r : rows)
      page.rows.push_back(to_campaign(r));
    if (page.rows.size() > f.limit) {
      page.rows.resize(f.limit);
      page.next = make_cursor(sort_key(page.rows.back(), f.sort), page.rows.back().id);
    }
    return page;
  });
}

void eligible_campaigns(database& db, uuid creator, std::string after, size_t limit,
                        std::function<void(result<campaign_page>)> done) {
  submit<campaign_page>(db, "eligible_campaigns", std::move(done),
                        [creator, after = std::move(after), limit](pqxx::connection& conn) -> result<campaign_page> {
    bool has_cursor = !after.empty();
    std::pair<int64_t, std::string> cursor{0, uuid{}.str()};
    if (has_cursor) {
      auto c = parse_cursor(after);
      if (!c)
        return failure{errc::refused, "malformed cursor"};
      cursor = *c;
    }
    pqxx::read_transaction tx{conn};
    auto profile = tx.exec_params("select 1 from creator_profiles where user_id = $1", creator.str());
    if (profile.empty())
      return failure{errc::not_found, "no creator profile"};
    // The eligibility rule (one place: `eligible_rule`).
    auto rows = tx.exec_params(
      std::string{"select "} + campaign_columns
        + " from campaigns c, creator_profiles p where p.user_id = $1 and" + eligible_rule
        + " and (not $2::boolean or (" PACTUM_MS("c.created_at") ", c.id) < ($3::bigint, $4::uuid))"
          " order by c.created_at desc, c.id desc limit $5",
      creator.str(), has_cursor, cursor.first, cursor.second, static_cast<int64_t>(limit) + 1);
    campaign_page page;
    for (const auto& r : rows)
      page.rows.push_back(to_campaign(r));
    if (page.rows.size() > limit) {
      page.rows.resize(limit);
      page.next = make_cursor(page.rows.back().created_at, page.rows.back().id);
    }
    return page;
  });
}

void eligible_campaign_details(database& db, uuid creator, size_t cap,
                               std::function<void(result<std::vector<campaign_row>>)> done) {
  using rows_t = std::vector<campaign_row>;
  submit<rows_t>(db, "eligible_campaign_details", std::move(done), [creator, cap](pqxx::connection& conn) -> result<rows_t> {
    pqxx::read_transaction tx{conn};
    auto profile = tx.exec_params("select 1 from creator_profiles where user_id = $1", creator.str());
    if (profile.empty())
      return failure{errc::not_found, "no creator profile"};
    auto rows = tx.exec_params(
      std::string{"select "} + campaign_columns
        + ", c.details::text from campaigns c, creator_profiles p where p.user_id = $1 and" + eligible_rule
        + " and c.details is not null order by c.created_at desc, c.id desc limit $2",
      creator.str(), static_cast<int64_t>(cap));
    rows_t out;
    out.reserve(rows.size());
    for (const auto& r : rows) {
      out.push_back(to_campaign(r));
      out.back().details = r[18].as<std::string>();
    }
    return out;
  });
}

void upsert_invitation(database& db, invitation_row row, std::function<void(result<unit>)> done) {
  submit<unit>(db, "upsert_invitation", std::move(done), [row = std::move(row)](pqxx::connection& conn) -> result<unit> {
    pqxx::work tx{conn};
    tx.exec_params0(
      "insert into campaign_invitations as i (campaign_id, invitation_id, brand_id, creator_id, brief,"
      " outcome, conversation_id, created_at, updated_at) values ($1, $2, $3, $4, $5, $6,"
      " nullif($7, '')::uuid, " PACTUM_TS("$8") ", " PACTUM_TS("$9") ")"
      " on conflict (campaign_id, invitation_id) do update set outcome = excluded.outcome,"
      " conversation_id = coalesce(excluded.conversation_id, i.conversation_id),"
      " updated_at = excluded.updated_at where i.outcome = 'pending'",
      row.campaign.str(), row.invitation, row.brand.str(), row.creator.str(), row.brief, row.outcome,
      row.conversation ? row.conversation->str() : std::string{}, row.created_at, row.updated_at);
    tx.commit();
    return unit{};
  });
}

void list_invitations(database& db, uuid creator, std::string after, size_t limit,
                      std::function<void(result<std::pair<std::vector<invitation_row>, std::string>>)> done) {
  using answer = std::pair<std::vector<invitation_row>, std::string>;
  submit<answer>(db, "list_invitations", std::move(done),
                 [creator, after = std::move(after), limit](pqxx::connection& conn) -> result<answer> {
    // Cursor: "<created ms>_<campaign id>_<invitation id>".
    bool has_cursor = !after.empty();
    int64_t at = 0, inv = 0;
    std::string campaign = uuid{}.str();
    if (has_cursor) {
      auto a = after.find('_'), b = after.rfind('_');
      auto id = a == std::string::npos || b <= a ? std::nullopt
                                                 : uuid::parse(std::string_view{after}.substr(a + 1, b - a - 1));
      auto r1 = std::from_chars(after.data(), after.data() + a, at);
      auto r2 = std::from_chars(after.data() + b + 1, after.data() + after.size(), inv);
      if (!id || r1.ec != std::errc{} || r2.ec != std::errc{} || r2.ptr != after.data() + after.size())
        return failure{errc::refused, "malformed cursor"};
      campaign = id->str();
    }
    pqxx::read_transaction tx{conn};
    auto rows = tx.exec_params(
      "select i.campaign_id::text, i.invitation_id, i.brand_id::text, i.creator_id::text, i.brief,"
      " i.outcome, coalesce(i.conversation_id::text, ''), c.title, " PACTUM_MS("i.created_at") ", "
      PACTUM_MS("i.updated_at")
      " from campaign_invitations i join campaigns c on c.id = i.campaign_id"
      " where i.creator_id = $1 and (not $2::boolean or (i.created_at, i.campaign_id, i.invitation_id)"
      " < (" PACTUM_TS("$3") ", $4::uuid, $5::bigint))"
      " order by i.created_at desc, i.campaign_id desc, i.invitation_id desc limit $6",
      creator.str(), has_cursor, at, campaign, inv, static_cast<int64_t>(limit) + 1);
    answer out;
    for (const auto& r : rows) {
      invitation_row i;
      i.campaign = to_uuid(r[0]);
      i.invitation = r[1].as<int64_t>();
      i.brand = to_uuid(r[2]);
      i.creator = to_uuid(r[3]);
      i.brief = r[4].as<std::string>();
      i.outcome = r[5].as<std::string>();
      if (auto conv = r[6].as<std::string>(); !conv.empty())
        i.conversation = uuid::parse(conv);
      i.campaign_title = r[7].as<std::string>();
      i.created_at = r[8].as<int64_t>();
      i.updated_at = r[9].as<int64_t>();
      out.first.push_back(std::move(i));
    }
    if (out.first.size() > limit) {
      out.first.resize(limit);
      auto& last = out.first.back();
      out.second = std::to_string(last.created_at) + "_" + last.campaign.str() + "_"
                   + std::to_string(last.invitation);
    }
    return out;
  });
}

void link_campaign_conversation(database& db, uuid campaign, uuid conversation,
                                std::function<void(result<unit>)> done) {
  submit<unit>(db, "link_campaign_conversation", std::move(done), [campaign, conversation](pqxx::connection& conn) -> result<unit> {
    pqxx::work tx{conn};
    tx.exec_params0("insert into campaign_conversations (campaign_id, conversation_id) values ($1, $2)"
                    " on conflict do nothing",
                    campaign.str(), conversation.str());
    tx.commit();
    return unit{};
  });
}

void conversation_campaigns(database& db, uuid conversation,
                            std::function<void(result<std::vector<uuid>>)> done) {
  submit<std::vector<uuid>>(db, "conversation_campaigns", std::move(done), [conversation](pqxx::connection& conn) -> result<std::vector<uuid>> {
    pqxx::read_transaction tx{conn};
    auto rows = tx.exec_params("select campaign_id::text from campaign_conversations"
                               " where conversation_id = $1 order by created_at, campaign_id",
                               conversation.str());
    std::vector<uuid> out;
    for (const auto& r : rows)
      out.push_back(to_uuid(r[0]));
    return out;
  });
}

void campaign_accepted_offers(database& db, uuid campaign, size_t limit,
                              std::function<void(result<std::vector<std::string>>)> done) {
  submit<std::vector<std::string>>(db, "campaign_accepted_offers", std::move(done), [campaign, limit](pqxx::connection& conn) -> result<std::vector<std::string>> {
    pqxx::read_transaction tx{conn};
    // A conversation serves its most recently linked campaign (report_campaign_budget's rule).
    auto rows = tx.exec_params(
      "select j.payload from campaign_conversations cc join journal j on j.entity_id = cc.conversation_id"
      " where cc.campaign_id = $1 and j.event_type = 'offer.accepted'"
      " and not exists (select 1 from campaign_conversations later"
      "   where later.conversation_id = cc.conversation_id"
      "   and (later.created_at, later.campaign_id) > (cc.created_at, cc.campaign_id))"
      " order by j.recorded_at, j.entity_id, j.seq limit $2",
      campaign.str(), static_cast<int64_t>(std::min<size_t>(limit, 100'000)));
    std::vector<std::string> out;
    for (const auto& row : rows)
      out.push_back(pqxx::binarystring{row[0]}.str());
    return out;
  });
}

void stale_campaigns(database& db, size_t limit, std::function<void(result<std::vector<uuid>>)> done) {
  submit<std::vector<uuid>>(db, "stale_campaigns", std::move(done), [limit](pqxx::connection& conn) -> result<std::vector<uuid>> {
    pqxx::read_transaction tx{conn};
    // Journals of campaigns with no projection, or a projection behind the journal's head.
    auto rows = tx.exec_params(
      "select j.entity_id::text from journal j left join campaigns c on c.id = j.entity_id"
      " where j.entity_type = 'campaign' group by j.entity_id, c.head_seq"
      " having max(j.seq) > coalesce(c.head_seq, 0) or bool_or(c.id is not null and c.details is null)"
      " limit $1",
      static_cast<int64_t>(limit));
    std::vector<uuid> out;
    for (const auto& r : rows)
      out.push_back(to_uuid(r[0]));
    return out;
  });
}

} // namespace pactum::persistence
