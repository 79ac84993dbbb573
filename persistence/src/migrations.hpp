#pragma once

// Versioned schema migrations, embedded into the binary by persistence/CMakeLists.txt from
// persistence/migrations/NNNN_name.sql.

#include <span>
#include <string>

namespace pactum::persistence::detail {

struct migration {
  int version;      ///< NNNN from the file name; strictly increasing
  const char* name; ///< the rest of the file name, without extension
  const char* sql;  ///< the whole file, run as one simple-protocol query
};

/// Returns every embedded migration in version order (defined in the generated source).
std::span<const migration> embedded_migrations() noexcept;

/// Applies the embedded migrations missing from `schema_migrations`, each in its own transaction,
/// holding a session advisory lock on a dedicated connection so concurrent starters serialise.
/// Blocking; throws std::runtime_error with the reason on failure.
void run_migrations(const std::string& url);

} // namespace pactum::persistence::detail
