#include "migrations.hpp"

#include <set>
#include <stdexcept>

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "connection.hpp"

namespace pactum::persistence::detail {

namespace {

/// Key of the session advisory lock serialising migrators: "pactum" in ASCII, so it will not
/// collide by accident with another application's small integer keys.
constexpr long long migration_lock_key = 0x70616374756dLL;

void check_order(std::span<const migration> all) {
  int last = 0;
  for (const auto& m : all) {
    if (m.version <= last)
      throw std::runtime_error("embedded migrations are not strictly increasing at version "
                               + std::to_string(m.version));
    last = m.version;
  }
}

std::set<int> applied_versions(pqxx::connection& conn) {
  std::set<int> out;
  pqxx::read_transaction tx{conn};
  for (const auto& row : tx.exec("select version from schema_migrations"))
    out.insert(row[0].as<int>());
  return out;
}

} // namespace

void run_migrations(const std::string& url) {
  auto all = embedded_migrations();
  check_order(all);
  std::string step = "connecting";
  try {
    auto conn = open_connection(url, "pactum-migrate");
    // The lock is per session: it outlives the transactions below and is released on unlock or
    // when the connection closes (also if this process dies half-way).
    step = "taking the advisory lock";
    {
      pqxx::nontransaction tx{*conn};
      tx.exec_params("select pg_advisory_lock($1)", migration_lock_key);
    }
    step = "creating schema_migrations";
    {
      pqxx::work tx{*conn};
      tx.exec("create table if not exists schema_migrations ("
              " version int primary key,"
              " name text not null,"
              " applied_at timestamptz not null default now())");
      tx.commit();
    }
    step = "reading schema_migrations";
    auto applied = applied_versions(*conn);
    for (const auto& m : all) {
      if (applied.count(m.version) != 0)
        continue;
      step = "applying migration " + std::to_string(m.version) + "_" + m.name;
      pqxx::work tx{*conn};
      tx.exec(m.sql);
      tx.exec_params("insert into schema_migrations (version, name, applied_at)"
                     " values ($1, $2, now())",
                     m.version, std::string{m.name});
      tx.commit();
      spdlog::info("persistence: applied migration {:04}_{}", m.version, m.name);
    }
    if (!applied.empty() && !all.empty() && *applied.rbegin() > all.back().version)
      spdlog::warn("persistence: the database has migration {} but this binary knows only up to "
                   "{} (running an older binary against a newer schema)",
                   *applied.rbegin(), all.back().version);
    step = "releasing the advisory lock";
    pqxx::nontransaction tx{*conn};
    tx.exec_params("select pg_advisory_unlock($1)", migration_lock_key);
  } catch (const std::exception& e) {
    throw std::runtime_error("persistence: migration failed while " + step + ": " + e.what());
  }
}

} // namespace pactum::persistence::detail
