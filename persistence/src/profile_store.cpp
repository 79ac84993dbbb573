#include "pactum/persistence/profile_store.hpp"

#include <memory>

#include <pqxx/pqxx>
#include <spdlog/fmt/fmt.h>

#include "store_support.hpp"

namespace pactum::persistence {

namespace {

using detail::submit;
using detail::array_literal;
using detail::array_of;
using detail::to_uuid;




/// A double as text that reads back to the same value ("" for none).
std::string number_text(const std::optional<double>& d) {
  return d ? fmt::format("{}", *d) : std::string{};
}

std::optional<double> optional_double(const pqxx::field& f) {
  if (f.is_null())
    return std::nullopt;
  return f.as<double>();
}


#define PACTUM_MS(expr) "floor(extract(epoch from " expr ") * 1000)::bigint"

constexpr const char* brand_columns =
  "p.user_id::text, p.company_name, p.industry, p.website, p.budget_min, p.budget_max,"
  " coalesce(p.budget_currency, ''), p.contact::text, p.country, u.display_name, p.version, "
  PACTUM_MS("p.updated_at");

constexpr const char* creator_columns =
  "p.user_id::text, p.bio, p.niches, p.social_accounts::text, p.follower_total, p.audience::text,"
  " p.country, p.city, p.lat, p.lon, p.languages, p.rates::text, p.media_kit_url, u.display_name,"
  " p.version, " PACTUM_MS("p.updated_at") ", " PACTUM_MS("p.stats_verified_at");

brand_profile_row to_brand(const pqxx::row& r) {
  brand_profile_row b;
  b.user = to_uuid(r[0]);
  b.company_name = r[1].as<std::string>();
  b.industry = r[2].as<std::string>();
  b.website = r[3].as<std::string>();
  if (!r[4].is_null()) {
    b.budget_min = r[4].as<int64_t>();
    b.budget_max = r[5].as<int64_t>();
  }
  b.budget_currency = r[6].as<std::string>();
  b.contact = r[7].as<std::string>();
  b.country = r[8].as<std::string>();
  b.display_name = r[9].as<std::string>();
  b.version = r[10].as<int64_t>();
  b.updated_at = r[11].as<int64_t>();
  return b;
}

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
  c.lat = optional_double(r[8]);
  c.lon = optional_double(r[9]);
  c.languages = array_of(r[10]);
  c.rates = r[11].as<std::string>();
  c.media_kit_url = r[12].as<std::string>();
  c.display_name = r[13].as<std::string>();
  c.version = r[14].as<int64_t>();
  c.updated_at = r[15].as<int64_t>();
  if (!r[16].is_null())
    c.stats_verified_at = r[16].as<int64_t>();
  return c;
}

user_row to_user(const pqxx::row& r, int at) {
  user_row u;
  u.id = to_uuid(r[at]);
  u.email = r[at + 1].as<std::string>();
  u.password_hash = r[at + 2].as<std::string>();
  u.display_name = r[at + 3].as<std::string>();
  u.role = r[at + 4].as<std::string>();
  u.created_at = r[at + 5].as<int64_t>();
  return u;
}

constexpr const char* user_columns =
  "u.id::text, u.email, u.password_hash, u.display_name, u.role, " PACTUM_MS("u.created_at");

/// The upsert's `where` keeps a stale writer from replacing a newer version: with an expected
/// version the update happens only when it matches; no row back means a conflict.
const std::string save_brand_sql =
  "with saved as (insert into brand_profiles as p (user_id, company_name, industry, website,"
  " budget_min, budget_max, budget_currency, contact, country)"
  " values ($1, $2, $3, $4, nullif($5, '')::bigint, nullif($6, '')::bigint, nullif($7, ''),"
  " $8::jsonb, $9)"
  " on conflict (user_id) do update set company_name = excluded.company_name,"
  " industry = excluded.industry, website = excluded.website, budget_min = excluded.budget_min,"
  " budget_max = excluded.budget_max, budget_currency = excluded.budget_currency,"
  " contact = excluded.contact, country = excluded.country, version = p.version + 1,"
  " updated_at = now() where $10::bigint = 0 or p.version = $10::bigint returning *)"
  " select " + std::string{brand_columns} + " from saved p join users u on u.id = p.user_id";

const std::string save_creator_sql =
  "with saved as (insert into creator_profiles as p (user_id, bio, niches, social_accounts,"
  " follower_total, audience, country, city, lat, lon, languages, rates, media_kit_url)"
  " values ($1, $2, $3::text[], $4::jsonb, $5, $6::jsonb, $7, $8, nullif($9, '')::float8,"
  " nullif($10, '')::float8, $11::text[], $12::jsonb, $13)"
  " on conflict (user_id) do update set bio = excluded.bio, niches = excluded.niches,"
  " social_accounts = excluded.social_accounts, follower_total = excluded.follower_total,"
  " audience = excluded.audience, country = excluded.country, city = excluded.city,"
  " lat = excluded.lat, lon = excluded.lon, languages = excluded.languages,"
  " rates = excluded.rates, media_kit_url = excluded.media_kit_url, version = p.version + 1,"
  " updated_at = now() where $14::bigint = 0 or p.version = $14::bigint returning *)"
  " select " + std::string{creator_columns} + " from saved p join users u on u.id = p.user_id";

} // namespace

void save_brand_profile(database& db, brand_profile_row row, int64_t expected_version,
                        std::function<void(result<brand_profile_row>)> done) {
  submit<brand_profile_row>(
    db, "save_brand_profile", std::move(done),
    [row = std::move(row), expected_version](pqxx::connection& conn) -> result<brand_profile_row> {
      pqxx::work tx{conn};
      auto opt = [](const std::optional<int64_t>& v) { return v ? std::to_string(*v) : std::string{}; };
      auto rows = tx.exec_params(save_brand_sql, row.user.str(), row.company_name, row.industry,
                                 row.website, opt(row.budget_min), opt(row.budget_max),
                                 row.budget_currency, row.contact, row.country, expected_version);
      if (rows.empty())
        return failure{errc::conflict, "the profile has another version"};
      auto out = to_brand(rows[0]);
      tx.commit();
      return out;
    });
}

void save_creator_profile(database& db, creator_profile_row row, int64_t expected_version,
                          std::function<void(result<creator_profile_row>)> done) {
  submit<creator_profile_row>(
    db, "save_creator_profile", std::move(done),
    [row = std::move(row), expected_version](pqxx::connection& conn) -> result<creator_profile_row> {
      pqxx::work tx{conn};
      auto rows = tx.exec_params(save_creator_sql, row.user.str(), row.bio, array_literal(row.niches),
                                 row.social_accounts, row.follower_total, row.audience, row.country,
                                 row.city, number_text(row.lat), number_text(row.lon),
                                 array_literal(row.languages), row.rates, row.media_kit_url,
                                 expected_version);
      if (rows.empty())
        return failure{errc::conflict, "the profile has another version"};
      auto out = to_creator(rows[0]);
      tx.commit();
      return out;
    });
}

void load_brand_profile(database& db, uuid user, std::function<void(result<brand_profile_row>)> done) {
  submit<brand_profile_row>(
    db, "load_brand_profile", std::move(done), [user](pqxx::connection& conn) -> result<brand_profile_row> {
      pqxx::read_transaction tx{conn};
      auto rows = tx.exec_params(std::string{"select "} + brand_columns
                                   + " from brand_profiles p join users u on u.id = p.user_id"
                                     " where p.user_id = $1 and u.role = 'brand'",
                                 user.str());
      if (rows.empty())
        return failure{errc::not_found, "no such brand profile"};
      return to_brand(rows[0]);
    });
}

void load_creator_profile(database& db, uuid user,
                          std::function<void(result<creator_profile_row>)> done) {
  submit<creator_profile_row>(
    db, "load_creator_profile", std::move(done),
    [user](pqxx::connection& conn) -> result<creator_profile_row> {
      pqxx::read_transaction tx{conn};
      auto rows = tx.exec_params(std::string{"select "} + creator_columns
                                   + " from creator_profiles p join users u on u.id = p.user_id"
                                     " where p.user_id = $1 and u.role = 'creator'",
                                 user.str());
      if (rows.empty())
        return failure{errc::not_found, "no such creator profile"};
      return to_creator(rows[0]);
    });
}

void share_contract(database& db, uuid brand, uuid creator, std::function<void(result<bool>)> done) {
  submit<bool>(db, "share_contract", std::move(done),
               [brand, creator](pqxx::connection& conn) -> result<bool> {
                 pqxx::read_transaction tx{conn};
                 auto r = tx.exec_params1(
                   "select exists (select 1 from conversations c join journal j on j.entity_id = c.id"
                   " where c.brand_id = $1 and c.creator_id = $2 and j.event_type = 'offer.accepted')",
                   brand.str(), creator.str());
                 return r[0].as<bool>();
               });
}

void set_role_by_id(database& db, uuid user, std::string role,
                    std::function<void(result<user_row>)> done) {
  submit<user_row>(db, "set_role_by_id", std::move(done),
                   [user, role = std::move(role)](pqxx::connection& conn) -> result<user_row> {
                     pqxx::work tx{conn};
                     auto rows = tx.exec_params(std::string{"update users u set role = $2 where u.id = $1"
                                                            " returning "}
                                                  + user_columns,
                                                user.str(), role);
                     if (rows.empty())
                       return failure{errc::not_found, "no such user"};
                     auto out = to_user(rows[0], 0);
                     tx.commit();
                     return out;
                   });
}

void issue_login_code(database& db, std::string email, std::string code_hash, millis expires_at,
                      outbox_mail mail, std::function<void(result<std::optional<int64_t>>)> done) {
  submit<std::optional<int64_t>>(
    db, "issue_login_code", std::move(done),
    [email = std::move(email), hash = std::move(code_hash), expires_at,
     mail = std::move(mail)](pqxx::connection& conn) -> result<std::optional<int64_t>> {
      pqxx::work tx{conn};
      auto users = tx.exec_params("select id::text from users where email = $1 for update", email);
      if (users.empty())
        return std::optional<int64_t>{};
      auto user = users[0][0].as<std::string>();
      tx.exec_params0("delete from login_codes where user_id = $1 and used_at is null", user);
      tx.exec_params0("insert into login_codes (id, user_id, code_hash, expires_at)"
                      " values ($1, $2, $3, 'epoch'::timestamptz + $4::bigint * interval '1 millisecond')",
                      uuid::v7().str(), user, pqxx::binarystring{hash}, expires_at);
      auto id = tx.exec_params1("insert into mail_outbox (to_address, subject, body)"
                                " values ($1, $2, $3) returning id",
                                mail.to, mail.subject, mail.body)[0]
                  .as<int64_t>();
      tx.commit();
      return std::optional<int64_t>{id};
    });
}

void use_login_code(database& db, std::string email, std::string code_hash, int max_attempts,
                    std::function<void(result<code_check>)> done) {
  submit<code_check>(
    db, "use_login_code", std::move(done),
    [email = std::move(email), hash = std::move(code_hash),
     max_attempts](pqxx::connection& conn) -> result<code_check> {
      pqxx::work tx{conn};
      auto rows = tx.exec_params(
        std::string{"select c.id::text, c.code_hash = $2, "} + user_columns
          + " from login_codes c join users u on u.id = c.user_id"
            " where u.email = $1 and c.used_at is null and c.expires_at > now()"
            " and c.attempts < $3 order by c.created_at desc limit 1 for update of c",
        email, pqxx::binarystring{hash}, max_attempts);
      code_check out;
      if (rows.empty())
        return out; // invalid
      auto id = rows[0][0].as<std::string>();
      if (rows[0][1].as<bool>()) {
        tx.exec_params0("update login_codes set used_at = now() where id = $1", id);
        out.outcome = code_outcome::accepted;
        out.user = to_user(rows[0], 2);
      } else {
        tx.exec_params0("update login_codes set attempts = attempts + 1 where id = $1", id);
        out.outcome = code_outcome::wrong;
      }
      tx.commit();
      return out;
    });
}

} // namespace pactum::persistence
