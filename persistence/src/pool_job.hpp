#pragma once

// Lets the layer's other stores (privacy_store.cpp) run jobs on the database's pool, with the
// same exception boundary (libpqxx errors become error codes) and the same threading, without
// the pool's internals leaving database.cpp.

#include <optional>

#include <pqxx/pqxx>

#include "pactum/persistence/database.hpp"

namespace pactum::persistence {

/// One job: `run` on a pool thread with a connection (it may throw libpqxx exceptions), then
/// `finish` with the mapped outcome.
struct database::pool_job {
  virtual ~pool_job() = default;
  virtual result<unit> run(pqxx::connection& conn) = 0;
  virtual void finish(result<unit> outcome) = 0;
};

namespace detail {

/// Runs `fn(connection) -> result<T>` on `db`'s pool and hands its result to `done` (exactly once).
template <class T, class Fn>
void submit_pool(database& db, const char* what, std::function<void(result<T>)> done, Fn fn) {
  struct job final : database::pool_job {
    job(Fn f, std::function<void(result<T>)> d) : fn(std::move(f)), done(std::move(d)) {}
    result<unit> run(pqxx::connection& conn) override {
      out.emplace(fn(conn));
      if (!*out)
        return out->error();
      return unit{};
    }
    void finish(result<unit> outcome) override {
      if (outcome && out && *out)
        return done(std::move(*out));
      done(outcome ? failure{errc::internal, "job produced no result"} : outcome.error());
    }
    Fn fn;
    std::function<void(result<T>)> done;
    std::optional<result<T>> out;
  };
  db.run_pool_job(what, std::make_shared<job>(std::move(fn), std::move(done)));
}

} // namespace detail

} // namespace pactum::persistence
