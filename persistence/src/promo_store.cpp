#include "pactum/persistence/promo_store.hpp"

#include <memory>

#include <pqxx/pqxx>

#include "store_support.hpp"

namespace pactum::persistence {

namespace {

using detail::submit;
using detail::to_uuid;

#define PACTUM_MS(expr) "floor(extract(epoch from " expr ") * 1000)::bigint"
#define PACTUM_TS(param) "('epoch'::timestamptz + " param "::bigint * interval '1 millisecond')"

constexpr const char* promotion_columns =
  "p.id::text, p.brand_id::text, u.display_name, p.title, p.reward_amount, p.currency, p.budget,"
  " p.budget_left, " PACTUM_MS("p.valid_from") ", " PACTUM_MS("p.valid_until") ", p.country, p.city,"
  " p.status, p.redemptions,"
  " (select count(*) from promotion_promoters pp where pp.promotion_id = p.id),"
  " " PACTUM_MS("p.created_at") ","
  " exists (select 1 from promotion_promoters pp where pp.promotion_id = p.id and pp.promoter_id = $1::uuid)";

promotion_row to_promotion(const pqxx::row& r) {
  promotion_row p;
  p.id = to_uuid(r[0]);
  p.brand = to_uuid(r[1]);
  p.brand_name = r[2].as<std::string>();
  p.title = r[3].as<std::string>();
  p.reward_amount = r[4].as<int64_t>();
  p.currency = r[5].as<std::string>();
  p.budget = r[6].as<int64_t>();
  p.budget_left = r[7].as<int64_t>();
  p.valid_from = r[8].as<int64_t>();
  p.valid_until = r[9].as<int64_t>();
  p.country = r[10].as<std::string>();
  p.city = r[11].as<std::string>();
  p.status = r[12].as<std::string>();
  p.redemptions = r[13].as<int64_t>();
  p.promoters = r[14].as<int64_t>();
  p.created_at = r[15].as<int64_t>();
  p.joined = r[16].as<bool>();
  return p;
}

std::optional<promotion_row> read_promotion(pqxx::transaction_base& tx, uuid id, uuid viewer) {
  auto rows = tx.exec_params(std::string{"select "} + promotion_columns
                               + " from promotions p join users u on u.id = p.brand_id where p.id = $2",
                             viewer.str(), id.str());
  if (rows.empty())
    return std::nullopt;
  return to_promotion(rows[0]);
}

/// Adds `points` to the promoter's score in a locality; answers the new score.
int64_t credit(pqxx::work& tx, const std::string& country, const std::string& city, uuid promoter,
               int64_t points, bool redemption) {
  return tx
    .exec_params1("insert into promoter_points (country, city, promoter_id, points, redemptions, reposts)"
                  " values ($1, $2, $3, $4, $5, $6)"
                  " on conflict (country, city, promoter_id) do update set"
                  " points = promoter_points.points + excluded.points,"
                  " redemptions = promoter_points.redemptions + excluded.redemptions,"
                  " reposts = promoter_points.reposts + excluded.reposts, updated_at = clock_timestamp()"
                  " returning points",
                  country, city, promoter.str(), points, redemption ? 1 : 0, redemption ? 0 : 1)[0]
    .as<int64_t>();
}

} // namespace

void load_promo_keys(database& db, std::function<void(result<std::vector<promo_key_row>>)> done) {
  submit<std::vector<promo_key_row>>(db, "load_promo_keys", std::move(done),
                                     [](pqxx::connection& conn) -> result<std::vector<promo_key_row>> {
                                       pqxx::read_transaction tx{conn};
                                       auto rows = tx.exec(
                                         "select key_id, encode(public_key, 'hex'),"
                                         " coalesce(encode(secret_key, 'hex'), ''), active"
                                         " from promo_signing_keys order by created_at desc, key_id");
                                       std::vector<promo_key_row> out;
                                       for (const auto& r : rows)
                                         out.push_back({r[0].as<int64_t>(), r[1].as<std::string>(),
                                                        r[2].as<std::string>(), r[3].as<bool>()});
                                       return out;
                                     });
}

void save_promo_key(database& db, promo_key_row key, std::function<void(result<unit>)> done) {
  submit<unit>(db, "save_promo_key", std::move(done), [key = std::move(key)](pqxx::connection& conn) -> result<unit> {
    pqxx::work tx{conn};
    tx.exec_params0("update promo_signing_keys set active = false where key_id <> $1", key.key_id);
    tx.exec_params0("insert into promo_signing_keys (key_id, public_key, secret_key, active)"
                    " values ($1, decode($2, 'hex'), nullif(decode($3, 'hex'), ''::bytea), true)"
                    " on conflict (key_id) do update set active = true,"
                    " secret_key = case when length(promo_signing_keys.secret_key) = 64 and excluded.secret_key is not null"
                    " then excluded.secret_key else coalesce(promo_signing_keys.secret_key, excluded.secret_key) end",
                    key.key_id, key.public_hex, key.secret_hex);
    tx.commit();
    return unit{};
  });
}

void create_promotion(database& db, promotion_row row, std::function<void(result<promotion_row>)> done) {
  submit<promotion_row>(db, "create_promotion", std::move(done),
                        [row = std::move(row)](pqxx::connection& conn) -> result<promotion_row> {
                          pqxx::work tx{conn};
                          tx.exec_params0(
                            "insert into promotions (id, brand_id, title, reward_amount, currency, budget,"
                            " budget_left, valid_from, valid_until, country, city)"
                            " values ($1, $2, $3, $4, $5, $6, $6, " PACTUM_TS("$7") ", " PACTUM_TS("$8")
                            ", $9, $10)",
                            row.id.str(), row.brand.str(), row.title, row.reward_amount, row.currency, row.budget,
                            row.valid_from, row.valid_until, row.country, row.city);
                          auto out = read_promotion(tx, row.id, row.brand);
                          tx.commit();
                          if (!out)
                            return failure{errc::internal, "the promotion vanished"};
                          return *out;
                        });
}

void get_promotion(database& db, uuid id, uuid viewer, std::function<void(result<promotion_row>)> done) {
  submit<promotion_row>(db, "get_promotion", std::move(done), [id, viewer](pqxx::connection& conn) -> result<promotion_row> {
    pqxx::read_transaction tx{conn};
    auto out = read_promotion(tx, id, viewer);
    if (!out)
      return failure{errc::not_found, "no such promotion"};
    return *out;
  });
}

void list_promotions(database& db, std::string country, std::string city, size_t limit, uuid viewer,
                     std::function<void(result<std::vector<promotion_row>>)> done) {
  submit<std::vector<promotion_row>>(
    db, "list_promotions", std::move(done),
    [country = std::move(country), city = std::move(city), limit,
     viewer](pqxx::connection& conn) -> result<std::vector<promotion_row>> {
      pqxx::read_transaction tx{conn};
      auto rows = tx.exec_params(std::string{"select "} + promotion_columns
                                   + " from promotions p join users u on u.id = p.brand_id"
                                     " where p.country = $2 and p.city = $3 and p.status = 'active'"
                                     " and p.valid_from <= now() and p.valid_until > now()"
                                     " and p.budget_left >= p.reward_amount"
                                     " order by p.created_at desc, p.id desc limit $4",
                                 viewer.str(), country, city, static_cast<int64_t>(limit));
      std::vector<promotion_row> out;
      for (const auto& r : rows)
        out.push_back(to_promotion(r));
      return out;
    });
}

void set_promotion_status(database& db, uuid id, uuid brand, std::string status,
                          std::function<void(result<promotion_row>)> done) {
  submit<promotion_row>(db, "set_promotion_status", std::move(done),
                        [id, brand, status = std::move(status)](pqxx::connection& conn) -> result<promotion_row> {
                          pqxx::work tx{conn};
                          auto cur = tx.exec_params("select status from promotions where id = $1 and brand_id = $2"
                                                    " for update",
                                                    id.str(), brand.str());
                          if (cur.empty())
                            return failure{errc::not_found, "no such promotion"};
                          if (cur[0][0].as<std::string>() == "closed" && status != "closed")
                            return failure{errc::refused, "the promotion is closed"};
                          tx.exec_params0("update promotions set status = $2 where id = $1", id.str(), status);
                          auto out = read_promotion(tx, id, brand);
                          tx.commit();
                          return *out;
                        });
}

void join_promotion(database& db, uuid id, uuid promoter, std::function<void(result<bool>)> done) {
  submit<bool>(db, "join_promotion", std::move(done), [id, promoter](pqxx::connection& conn) -> result<bool> {
    pqxx::work tx{conn};
    auto cur = tx.exec_params("select status from promotions where id = $1", id.str());
    if (cur.empty())
      return failure{errc::not_found, "no such promotion"};
    if (cur[0][0].as<std::string>() == "closed")
      return failure{errc::refused, "the promotion is closed"};
    auto added = tx.exec_params("insert into promotion_promoters (promotion_id, promoter_id) values ($1, $2)"
                                " on conflict do nothing returning 1",
                                id.str(), promoter.str());
    tx.commit();
    return !added.empty();
  });
}

void save_promo_codes(database& db, std::vector<promo_code_row> codes, std::function<void(result<unit>)> done) {
  submit<unit>(db, "save_promo_codes", std::move(done), [codes = std::move(codes)](pqxx::connection& conn) -> result<unit> {
    pqxx::work tx{conn};
    for (auto& c : codes)
      tx.exec_params0("insert into promotion_codes (nonce, promotion_id, promoter_id, key_id, token, expires_at)"
                      " values (decode($1, 'hex'), $2, $3, $4, $5, " PACTUM_TS("$6") ")",
                      c.nonce_hex, c.promotion.str(), c.promoter.str(), c.key_id, c.token, c.expires_at);
    tx.commit();
    return unit{};
  });
}

void get_promo_code(database& db, uuid promotion, std::string nonce_hex,
                    std::function<void(result<promo_code_row>)> done) {
  submit<promo_code_row>(
    db, "get_promo_code", std::move(done),
    [promotion, nonce_hex = std::move(nonce_hex)](pqxx::connection& conn) -> result<promo_code_row> {
      pqxx::read_transaction tx{conn};
      auto rows = tx.exec_params(
        "select encode(c.nonce, 'hex'), c.promotion_id::text, c.promoter_id::text, c.key_id, c.token,"
        " " PACTUM_MS("c.expires_at") ", " PACTUM_MS("c.created_at") ", " PACTUM_MS("c.redeemed_at")
        ", p.brand_id::text from promotion_codes c join promotions p on p.id = c.promotion_id"
        " where c.nonce = decode($1, 'hex') and c.promotion_id = $2",
        nonce_hex, promotion.str());
      if (rows.empty())
        return failure{errc::not_found, "no such code"};
      auto& r = rows[0];
      promo_code_row c;
      c.nonce_hex = r[0].as<std::string>();
      c.promotion = to_uuid(r[1]);
      c.promoter = to_uuid(r[2]);
      c.key_id = r[3].as<int64_t>();
      c.token = r[4].as<std::string>();
      c.expires_at = r[5].as<int64_t>();
      c.created_at = r[6].as<int64_t>();
      if (!r[7].is_null())
        c.redeemed_at = r[7].as<int64_t>();
      c.brand = to_uuid(r[8]);
      return c;
    });
}

void redeem_promo_code(database& db, uuid promotion, uuid promoter, std::string nonce_hex, uuid by,
                       int64_t points, std::function<void(result<redeem_outcome>)> done) {
  submit<redeem_outcome>(
    db, "redeem_promo_code", std::move(done),
    [promotion, promoter, nonce_hex = std::move(nonce_hex), by, points](pqxx::connection& conn) -> result<redeem_outcome> {
      pqxx::work tx{conn};
      redeem_outcome out;
      // Single use: of concurrent redemptions of one code, the first update takes the row lock;
      // the others wait for its commit, re-check `redeemed_at is null`, and update nothing.
      auto claimed = tx.exec_params(
        "update promotion_codes set redeemed_at = now(), redeemed_by = $4"
        " where nonce = decode($1, 'hex') and promotion_id = $2 and promoter_id = $3 and redeemed_at is null"
        " returning 1",
        nonce_hex, promotion.str(), promoter.str(), by.str());
      if (claimed.empty()) {
        auto known = tx.exec_params("select 1 from promotion_codes where nonce = decode($1, 'hex')"
                                    " and promotion_id = $2 and promoter_id = $3",
                                    nonce_hex, promotion.str(), promoter.str());
        out.status = known.empty() ? redeem_status::unknown : redeem_status::already_redeemed;
        return out; // nothing changed: the transaction rolls back
      }
      auto paid = tx.exec_params(
        "update promotions set budget_left = budget_left - reward_amount, redemptions = redemptions + 1"
        " where id = $1 and status = 'active' and valid_from <= now() and valid_until > now()"
        " and budget_left >= reward_amount"
        " returning budget_left, reward_amount, currency, country, city",
        promotion.str());
      if (paid.empty()) {
        auto p = tx.exec_params("select status = 'active' and valid_from <= now() and valid_until > now()"
                                " from promotions where id = $1",
                                promotion.str());
        out.status = !p.empty() && p[0][0].as<bool>() ? redeem_status::budget_exhausted : redeem_status::inactive;
        return out; // the code stays unused: rolled back
      }
      out.status = redeem_status::redeemed;
      out.budget_left = paid[0][0].as<int64_t>();
      out.reward_amount = paid[0][1].as<int64_t>();
      out.currency = paid[0][2].as<std::string>();
      out.country = paid[0][3].as<std::string>();
      out.city = paid[0][4].as<std::string>();
      out.points = credit(tx, out.country, out.city, promoter, points, true);
      tx.commit();
      return out;
    });
}

void promo_repost_known(database& db, std::string url, std::function<void(result<bool>)> done) {
  submit<bool>(db, "promo_repost_known", std::move(done), [url = std::move(url)](pqxx::connection& conn) -> result<bool> {
    pqxx::read_transaction tx{conn};
    return !tx.exec_params("select 1 from promotion_reposts where url = $1", url).empty();
  });
}

void save_promo_repost(database& db, uuid promotion, uuid promoter, std::string url, std::string platform,
                       std::string post_id, int64_t points, std::function<void(result<repost_outcome>)> done) {
  submit<repost_outcome>(
    db, "save_promo_repost", std::move(done),
    [promotion, promoter, url = std::move(url), platform = std::move(platform), post_id = std::move(post_id),
     points](pqxx::connection& conn) -> result<repost_outcome> {
      pqxx::work tx{conn};
      repost_outcome out;
      auto added = tx.exec_params("insert into promotion_reposts (url, promotion_id, promoter_id, platform, post_id)"
                                  " values ($1, $2, $3, $4, $5) on conflict do nothing returning 1",
                                  url, promotion.str(), promoter.str(), platform, post_id);
      if (added.empty())
        return out;
      auto loc = tx.exec_params1("select country, city from promotions where id = $1", promotion.str());
      out.credited = true;
      out.country = loc[0].as<std::string>();
      out.city = loc[1].as<std::string>();
      out.points = credit(tx, out.country, out.city, promoter, points, false);
      tx.commit();
      return out;
    });
}

void promo_leaderboard(database& db, std::string country, std::string city, size_t limit,
                       std::function<void(result<std::vector<leader_row>>)> done) {
  submit<std::vector<leader_row>>(
    db, "promo_leaderboard", std::move(done),
    [country = std::move(country), city = std::move(city), limit](pqxx::connection& conn) -> result<std::vector<leader_row>> {
      pqxx::read_transaction tx{conn};
      auto rows = tx.exec_params("select s.promoter_id::text, u.display_name, s.points, s.redemptions, s.reposts"
                                 " from promoter_points s join users u on u.id = s.promoter_id"
                                 " where s.country = $1 and s.city = $2 and s.points > 0"
                                 " order by s.points desc, s.updated_at, s.promoter_id limit $3",
                                 country, city, static_cast<int64_t>(limit));
      std::vector<leader_row> out;
      for (const auto& r : rows)
        out.push_back({to_uuid(r[0]), r[1].as<std::string>(), r[2].as<int64_t>(), r[3].as<int64_t>(),
                       r[4].as<int64_t>()});
      return out;
    });
}

} // namespace pactum::persistence
