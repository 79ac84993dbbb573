#include "pactum/persistence/pledge_store.hpp"

#include <memory>
#include <optional>

#include <pqxx/pqxx>

#include "store_support.hpp"

namespace pactum::persistence {

namespace {

using detail::submit;


} // namespace

void save_pledge_campaign(database& db, pledge_campaign_row row, std::function<void(result<unit>)> done) {
  submit<unit>(db, "save_pledge_campaign", std::move(done), [row = std::move(row)](pqxx::connection& conn) -> result<unit> {
    pqxx::work tx{conn};
    tx.exec_params(
      "insert into pledge_campaigns (id, creator, title, status, goal, currency, end_at, pledged, backers,"
      " create_key, head) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
      " on conflict (id) do update set title = excluded.title, status = excluded.status,"
      " goal = excluded.goal, end_at = excluded.end_at, pledged = excluded.pledged,"
      " backers = excluded.backers, head = excluded.head, updated_at = now()"
      " where pledge_campaigns.head < excluded.head",
      row.id.str(), row.creator.str(), row.title, row.status, row.goal, row.currency, row.end_at,
      row.pledged, row.backers, row.create_key, row.head);
    tx.commit();
    return unit{};
  });
}

void claim_pledge_campaign(database& db, pledge_campaign_row row, std::function<void(result<uuid>)> done) {
  submit<uuid>(db, "claim_pledge_campaign", std::move(done), [row = std::move(row)](pqxx::connection& conn) -> result<uuid> {
    pqxx::work tx{conn};
    tx.exec_params(
      "insert into pledge_campaigns (id, creator, title, status, goal, currency, end_at, create_key)"
      " values ($1, $2, $3, 'draft', $4, $5, $6, $7) on conflict (creator, create_key) do nothing",
      row.id.str(), row.creator.str(), row.title, row.goal, row.currency, row.end_at, row.create_key);
    auto id = tx.exec_params1("select id from pledge_campaigns where creator = $1 and create_key = $2",
                              row.creator.str(), row.create_key);
    tx.commit();
    auto parsed = uuid::parse(id[0].as<std::string>());
    if (!parsed)
      return failure{errc::internal, "bad campaign id"};
    return *parsed;
  });
}

void list_live_pledge_campaigns(database& db, uuid after, size_t limit,
                                std::function<void(result<std::vector<pledge_campaign_row>>)> done) {
  submit<std::vector<pledge_campaign_row>>(
    db, "list_live_pledge_campaigns", std::move(done),
    [after, limit](pqxx::connection& conn) -> result<std::vector<pledge_campaign_row>> {
      pqxx::read_transaction tx{conn};
      auto rows = tx.exec_params(
        "select id, creator, title, status, goal, currency, end_at, pledged, backers"
        " from pledge_campaigns where status = 'live' and id > $1 order by id limit $2",
        after.str(), static_cast<int64_t>(limit));
      std::vector<pledge_campaign_row> out;
      for (const auto& row : rows) {
        pledge_campaign_row r;
        r.id = *uuid::parse(row[0].as<std::string>());
        r.creator = *uuid::parse(row[1].as<std::string>());
        r.title = row[2].as<std::string>();
        r.status = row[3].as<std::string>();
        r.goal = row[4].as<int64_t>();
        r.currency = row[5].as<std::string>();
        r.end_at = row[6].as<int64_t>();
        r.pledged = row[7].as<int64_t>();
        r.backers = row[8].as<int64_t>();
        out.push_back(std::move(r));
      }
      return out;
    });
}

} // namespace pactum::persistence
