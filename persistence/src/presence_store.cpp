#include "pactum/persistence/presence_store.hpp"

#include <algorithm>
#include <string>

#include <pqxx/pqxx>

#include "store_support.hpp"

namespace pactum::persistence {

void touch_last_seen_many(database& db, std::vector<std::pair<uuid, millis>> seen,
                          std::function<void(result<size_t>)> done) {
  // In id order, so that two batches touching the same rows lock them in the same order.
  std::sort(seen.begin(), seen.end(), [](auto& a, auto& b) { return a.first < b.first; });
  std::string ids = "{", ats = "{";
  for (size_t i = 0; i < seen.size(); ++i) {
    if (i > 0) {
      ids += ',';
      ats += ',';
    }
    ids += seen[i].first.str();
    ats += std::to_string(seen[i].second);
  }
  ids += '}';
  ats += '}';
  detail::submit<size_t>(
    db, "touch_last_seen_many", std::move(done),
    [ids = std::move(ids), ats = std::move(ats)](pqxx::connection& conn) -> result<size_t> {
      pqxx::work tx{conn};
      auto r = tx.exec_params(
        "update users u set last_seen_at = greatest(u.last_seen_at,"
        " 'epoch'::timestamptz + v.at * interval '1 millisecond')"
        " from unnest($1::uuid[], $2::bigint[]) as v(id, at) where u.id = v.id",
        ids, ats);
      tx.commit();
      return static_cast<size_t>(r.affected_rows());
    });
}

} // namespace pactum::persistence
