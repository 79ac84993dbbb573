#include "pactum/persistence/social_store.hpp"

#include <memory>

#include <pqxx/pqxx>

#include "store_support.hpp"

namespace pactum::persistence {

namespace {

using detail::submit;
using detail::to_uuid;



#define PACTUM_MS(expr) "floor(extract(epoch from " expr ") * 1000)::bigint"

constexpr const char* flag_columns =
  "f.id, f.user_id::text, u.display_name, f.platform, f.handle, f.signals::text, f.snapshot::text,"
  " f.status, f.reviewer_id::text, " PACTUM_MS("f.created_at") ", " PACTUM_MS("f.updated_at") ", "
  PACTUM_MS("f.reviewed_at");

social_flag_row to_flag(const pqxx::row& r) {
  social_flag_row f;
  f.id = r[0].as<int64_t>();
  f.user = to_uuid(r[1]);
  f.display_name = r[2].as<std::string>();
  f.platform = r[3].as<std::string>();
  f.handle = r[4].as<std::string>();
  f.signals = r[5].as<std::string>();
  f.snapshot = r[6].as<std::string>();
  f.status = r[7].as<std::string>();
  if (!r[8].is_null())
    f.reviewer = to_uuid(r[8]);
  f.created_at = r[9].as<int64_t>();
  f.updated_at = r[10].as<int64_t>();
  if (!r[11].is_null())
    f.reviewed_at = r[11].as<int64_t>();
  return f;
}

} // namespace

void save_social_refresh(database& db, uuid user, int64_t expected_version,
                         std::string social_accounts, int64_t follower_total,
                         std::vector<social_account_refresh> accounts,
                         std::function<void(result<social_refresh_saved>)> done) {
  submit<social_refresh_saved>(
    db, "save_social_refresh", std::move(done),
    [user, expected_version, social_accounts = std::move(social_accounts), follower_total,
     accounts = std::move(accounts)](pqxx::connection& conn) -> result<social_refresh_saved> {
      pqxx::work tx{conn};
      auto rows = tx.exec_params(
        "update creator_profiles p set social_accounts = $2::jsonb, follower_total = $3,"
        " version = p.version + 1, updated_at = now(), stats_verified_at = now()"
        " from users u where p.user_id = $1 and u.id = p.user_id and u.role = 'creator'"
        " and p.version = $4"
        " returning p.version, " PACTUM_MS("p.stats_verified_at"),
        user.str(), social_accounts, follower_total, expected_version);
      if (rows.empty()) {
        auto exists = tx.exec_params("select 1 from creator_profiles p join users u on u.id = p.user_id"
                                     " where p.user_id = $1 and u.role = 'creator'",
                                     user.str());
        if (exists.empty())
          return failure{errc::not_found, "no such creator profile"};
        return failure{errc::conflict, "the profile changed during the refresh"};
      }
      social_refresh_saved out;
      out.version = rows[0][0].as<int64_t>();
      out.verified_at = rows[0][1].as<int64_t>();
      for (auto& a : accounts) {
        tx.exec_params0("insert into social_snapshots (user_id, platform, handle, stats, fetched_at)"
                        " values ($1, $2, $3, $4::jsonb,"
                        " 'epoch'::timestamptz + $5::bigint * interval '1 millisecond')",
                        user.str(), a.platform, a.handle, a.stats, a.fetched_at);
        tx.exec_params0("delete from social_snapshots where user_id = $1 and platform = $2 and handle = $3"
                        " and id <= (select id from social_snapshots where user_id = $1 and platform = $2"
                        " and handle = $3 order by id desc offset $4 limit 1)",
                        user.str(), a.platform, a.handle, max_snapshots_per_account);
        if (a.signals == "[]" || a.signals.empty()) {
          out.flags.emplace_back();
          continue;
        }
        auto id = tx.exec_params1(
                      "insert into social_flags (user_id, platform, handle, signals, snapshot)"
                      " values ($1, $2, $3, $4::jsonb, $5::jsonb)"
                      " on conflict (user_id, platform, handle) where status = 'open'"
                      " do update set signals = excluded.signals, snapshot = excluded.snapshot,"
                      " updated_at = now() returning id",
                      user.str(), a.platform, a.handle, a.signals, a.stats)[0]
                    .as<int64_t>();
        out.flags.emplace_back(id);
      }
      tx.commit();
      return out;
    });
}

void list_social_flags(database& db, social_flag_filter filter,
                       std::function<void(result<std::vector<social_flag_row>>)> done) {
  submit<std::vector<social_flag_row>>(
    db, "list_social_flags", std::move(done),
    [filter = std::move(filter)](pqxx::connection& conn) -> result<std::vector<social_flag_row>> {
      pqxx::read_transaction tx{conn};
      auto rows = tx.exec_params(std::string{"select "} + flag_columns
                                   + " from social_flags f join users u on u.id = f.user_id"
                                     " where ($1 = '' or f.status = $1) and ($2::bigint = 0 or f.id < $2::bigint)"
                                     " order by f.id desc limit $3",
                                 filter.status, filter.before, static_cast<int64_t>(filter.limit));
      std::vector<social_flag_row> out;
      out.reserve(rows.size());
      for (const auto& r : rows)
        out.push_back(to_flag(r));
      return out;
    });
}

void review_social_flag(database& db, int64_t id, uuid reviewer, std::string status,
                        std::function<void(result<social_flag_row>)> done) {
  submit<social_flag_row>(
    db, "review_social_flag", std::move(done),
    [id, reviewer, status = std::move(status)](pqxx::connection& conn) -> result<social_flag_row> {
      pqxx::work tx{conn};
      auto rows = tx.exec_params(
        std::string{"with changed as (update social_flags set status = $3, reviewer_id = $2,"
                    " reviewed_at = now(), updated_at = now() where id = $1 and status = 'open'"
                    " returning *) select "}
          + flag_columns + " from changed f join users u on u.id = f.user_id",
        id, reviewer.str(), status);
      if (rows.empty()) {
        if (tx.exec_params("select 1 from social_flags where id = $1", id).empty())
          return failure{errc::not_found, "no such flag"};
        return failure{errc::conflict, "the flag was already reviewed"};
      }
      auto out = to_flag(rows[0]);
      tx.commit();
      return out;
    });
}

} // namespace pactum::persistence
