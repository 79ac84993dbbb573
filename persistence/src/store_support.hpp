#pragma once

// What the layer's stores share (campaign, matching, pledge, profile and social stores): running a
// job on the database's pool, and the array and uuid conversions of their rows. Internal to
// persistence/src; pqxx stays out of the public headers.

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "connection.hpp"
#include "pactum/persistence/database.hpp"

namespace pactum::persistence::detail {

/// Runs `fn(connection) -> result<T>` on the database's pool (see `database::run_pooled`).
template <class T, class Fn>
void submit(database& db, const char* what, std::function<void(result<T>)> done, Fn fn) {
  auto out = std::make_shared<std::optional<T>>();
  db.run_pooled(
    what,
    [out, fn = std::move(fn)](void* conn) mutable -> result<unit> {
      result<T> r = fn(*static_cast<pqxx::connection*>(conn));
      if (!r)
        return r.error();
      out->emplace(std::move(r.value()));
      return unit{};
    },
    [out, done = std::move(done)](result<unit> r) {
      if (!r)
        return done(r.error());
      done(std::move(**out));
    });
}

inline std::string array_literal(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0)
      out += ',';
    detail::append_array_element(out, items[i]);
  }
  return out + "}";
}

inline std::vector<std::string> array_of(const pqxx::field& f) {
  std::vector<std::string> out;
  auto arr = f.as_array();
  for (auto e = arr.get_next(); e.first != pqxx::array_parser::done; e = arr.get_next())
    if (e.first == pqxx::array_parser::string_value)
      out.push_back(e.second);
  return out;
}

inline uuid to_uuid(const pqxx::field& f) {
  auto id = uuid::parse(f.c_str());
  if (!id)
    throw std::runtime_error(std::string{"malformed uuid from the database: "} + f.c_str());
  return *id;
}

} // namespace pactum::persistence::detail
