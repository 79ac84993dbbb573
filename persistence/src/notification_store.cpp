#include "pactum/persistence/notification_store.hpp"

#include <pqxx/pqxx>

#include "store_support.hpp"

namespace pactum::persistence {

namespace {

using detail::submit;

#define PACTUM_MS(expr) "floor(extract(epoch from " expr ") * 1000)::bigint"

constexpr const char* row_columns =
  "id, type, payload::text, " PACTUM_MS("created_at") ", " PACTUM_MS("updated_at") ", "
  PACTUM_MS("read_at");

notification_row to_row(const pqxx::row& r) {
  notification_row n;
  n.id = r[0].as<int64_t>();
  n.type = r[1].as<std::string>();
  n.payload = r[2].as<std::string>();
  n.created_at = r[3].as<int64_t>();
  n.updated_at = r[4].as<int64_t>();
  if (!r[5].is_null())
    n.read_at = r[5].as<int64_t>();
  return n;
}

int64_t unread_of(pqxx::work& tx, const uuid& user) {
  return tx.exec_params1("select count(*) from notifications where user_id = $1 and read_at is null",
                         user.str())[0]
    .as<int64_t>();
}

} // namespace

void store_notification(database& db, notification_insert n,
                        std::function<void(result<notification_saved>)> done) {
  submit<notification_saved>(
    db, "store_notification", std::move(done),
    [n = std::move(n)](pqxx::connection& conn) -> result<notification_saved> {
      pqxx::work tx{conn};
      notification_saved out;
      // One round trip for what used to take three: the commit need not wait for the disk (see
      // below), the muted type, the fact already stored.
      //
      // Why no fsync wait: a notification is derived from an event that is already committed in
      // the journal, and it is stored after that commit, so a crash between the two loses it
      // whatever this commit does; an asynchronous commit only widens that window by at most three
      // times the WAL writer's delay (wal_writer_delay, 200 ms by default; any later synchronous
      // commit on the cluster, such as the next journal batch, flushes it sooner because WAL is
      // flushed in order). Waiting for the disk here held a pool connection for a WAL flush per
      // fact, and the pool also serves the payment webhooks that a deal waits for.
      auto check = tx.exec_params1(
        "select set_config('synchronous_commit', 'off', true),"
        " exists (select 1 from notification_prefs where user_id = $1 and $2 = any(muted)),"
        " exists (select 1 from notifications where user_id = $1 and source = $3)",
        n.user.str(), n.type, n.source);
      if (check[1].as<bool>()) {
        out.outcome = notification_outcome::muted;
        return out;
      }
      if (check[2].as<bool>()) {
        out.outcome = notification_outcome::duplicate;
        return out;
      }
      if (!n.coalesce_key.empty()) {
        auto current = tx.exec_params(
          "select id, coalesce((payload->>'seq')::bigint, 0) < coalesce((($3::jsonb)->>'seq')::bigint, 0)"
          " from notifications where user_id = $1 and coalesce_key = $2 and read_at is null for update",
          n.user.str(), n.coalesce_key, n.payload);
        if (!current.empty()) {
          if (!current[0][1].as<bool>()) {
            out.outcome = notification_outcome::duplicate;
            return out;
          }
          auto rows = tx.exec_params(
            std::string{"update notifications set payload = $2::jsonb || jsonb_build_object('count',"
                        " coalesce((payload->>'count')::bigint, 1) + 1), updated_at = now()"
                        " where id = $1 returning "}
              + row_columns,
            current[0][0].as<int64_t>(), n.payload);
          out.outcome = notification_outcome::updated;
          out.row = to_row(rows[0]);
          out.unread = unread_of(tx, n.user);
          tx.commit();
          return out;
        }
      }
      auto rows = tx.exec_params(
        std::string{"insert into notifications (user_id, type, source, coalesce_key, payload)"
                    " values ($1, $2, $3, nullif($4, ''), $5::jsonb) on conflict (user_id, source) do nothing"
                    " returning "}
          + row_columns,
        n.user.str(), n.type, n.source, n.coalesce_key, n.payload);
      if (rows.empty()) {
        out.outcome = notification_outcome::duplicate;
        return out;
      }
      out.outcome = notification_outcome::stored;
      out.row = to_row(rows[0]);
      // The cap: read rows go before unread ones, oldest first. The unread count afterwards in
      // the same statement: its snapshot sees the insert above but not its own delete, so the
      // unread rows it deletes are subtracted.
      out.unread =
        tx.exec_params1(
            "with gone as (delete from notifications where id in (select id from notifications"
            " where user_id = $1 order by (read_at is null), id limit greatest((select count(*)"
            " from notifications where user_id = $1) - $2, 0)) returning read_at is null as unread)"
            " select (select count(*) from notifications where user_id = $1 and read_at is null)"
            " - (select count(*) from gone where unread)",
            n.user.str(), std::max<int64_t>(n.cap, 1))[0]
          .as<int64_t>();
      tx.commit();
      return out;
    });
}

void list_notifications(database& db, uuid user, int64_t before, bool unread_only, size_t limit,
                        std::function<void(result<notification_page>)> done) {
  submit<notification_page>(
    db, "list_notifications", std::move(done),
    [user, before, unread_only, limit](pqxx::connection& conn) -> result<notification_page> {
      pqxx::work tx{conn};
      notification_page page;
      auto rows = tx.exec_params(
        std::string{"select "} + row_columns
          + " from notifications where user_id = $1 and ($2 = 0 or id < $2)"
            " and (not $3 or read_at is null) order by id desc limit $4",
        user.str(), before, unread_only, static_cast<int64_t>(limit));
      for (const auto& r : rows)
        page.items.push_back(to_row(r));
      page.unread = unread_of(tx, user);
      tx.commit();
      return page;
    });
}

void mark_notifications_read(database& db, uuid user, std::vector<int64_t> ids, int64_t up_to,
                             std::function<void(result<std::pair<int64_t, int64_t>>)> done) {
  submit<std::pair<int64_t, int64_t>>(
    db, "mark_notifications_read", std::move(done),
    [user, ids = std::move(ids), up_to](pqxx::connection& conn) -> result<std::pair<int64_t, int64_t>> {
      pqxx::work tx{conn};
      std::string list = "{";
      for (size_t i = 0; i < ids.size(); ++i)
        list += (i ? "," : "") + std::to_string(ids[i]);
      list += "}";
      auto r = tx.exec_params0(
        "update notifications set read_at = now() where user_id = $1 and read_at is null"
        " and (id = any($2::bigint[]) or id <= $3)",
        user.str(), list, up_to);
      std::pair<int64_t, int64_t> out{static_cast<int64_t>(r.affected_rows()), unread_of(tx, user)};
      tx.commit();
      return out;
    });
}

void notification_prefs(database& db, uuid user,
                        std::function<void(result<std::vector<std::string>>)> done) {
  submit<std::vector<std::string>>(
    db, "notification_prefs", std::move(done),
    [user](pqxx::connection& conn) -> result<std::vector<std::string>> {
      pqxx::read_transaction tx{conn};
      auto rows = tx.exec_params("select muted from notification_prefs where user_id = $1", user.str());
      if (rows.empty())
        return std::vector<std::string>{};
      return detail::array_of(rows[0][0]);
    });
}

void set_notification_prefs(database& db, uuid user, std::vector<std::string> muted,
                            std::function<void(result<unit>)> done) {
  submit<unit>(db, "set_notification_prefs", std::move(done),
               [user, muted = std::move(muted)](pqxx::connection& conn) -> result<unit> {
                 pqxx::work tx{conn};
                 tx.exec_params0("insert into notification_prefs (user_id, muted) values ($1, $2::text[])"
                                 " on conflict (user_id) do update set muted = excluded.muted,"
                                 " updated_at = now()",
                                 user.str(), detail::array_literal(muted));
                 tx.commit();
                 return unit{};
               });
}

} // namespace pactum::persistence
