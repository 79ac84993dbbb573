#pragma once

// The persistence layer over a test's fresh database, migrated and started: what every store
// fixture of the persistence tests opens in SetUp.

#include <cstddef>
#include <memory>
#include <string>

#include "pactum/persistence/database.hpp"

namespace pactum::test_support {

/// A migrated, started `database` on `url` with `pool_threads` pool threads (0: the default).
inline std::unique_ptr<persistence::database> start_database(const std::string& url, size_t pool_threads = 0) {
  persistence::config c;
  c.url = url;
  if (pool_threads > 0)
    c.pool_threads = pool_threads;
  auto db = std::make_unique<persistence::database>(c);
  db->migrate();
  db->start();
  return db;
}

} // namespace pactum::test_support
