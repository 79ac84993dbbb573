#pragma once

// Private helpers shared by the pool, the journal writer and migrations: how connections are
// opened, how a lost connection is recognised, how reconnects are throttled, and how values are
// spelled inside PostgreSQL array literals.

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <pqxx/pqxx>

namespace pactum::persistence::detail {

/// Returns `url` with `connect_timeout` and `application_name` added when it sets neither, so an
/// unreachable host fails an attempt in bounded time instead of hanging a thread, and operators
/// can tell our sessions apart in pg_stat_activity. Accepts both URL and key=value forms.
std::string with_connection_defaults(const std::string& url, std::string_view application_name);

/// Opens a connection; throws what libpqxx throws (broken_connection when unreachable).
std::unique_ptr<pqxx::connection> open_connection(const std::string& url,
                                                  std::string_view application_name);

/// Cheap health check for an idle connection, made before reusing it: returns false when libpq
/// has no socket or the socket has something to read, a hang-up or an error. An idle session
/// gets nothing from the server, so anything pending is the server's goodbye (the FATAL message
/// it sends when shut down or restarted, then EOF); libpq itself only notices at the next query,
/// which would then fail although the server may long be back. A rare stray message (a notice)
/// also counts as dead: reconnecting is still correct. One non-blocking poll(2), no round trip;
/// it cannot see a peer that vanished without closing (host crash, cut network), which the next
/// query reports as usual.
bool connection_looks_alive(const pqxx::connection& conn) noexcept;

/// True when an SQL error means the session is gone (SQLSTATE class 08, or 57P01..57P03: the
/// server is shutting down or terminated us): the connection must be dropped, not reused.
bool is_connection_loss(const pqxx::sql_error& e);

/// Throttles reconnect attempts with exponential backoff: after a failed attempt no further
/// attempt is allowed until a delay has passed; the delay doubles up to `max` and resets on
/// success. Refusing instead of waiting lets callers answer `unavailable` at once while the
/// database is down. Thread-safe: shared by all pool workers.
class reconnect_gate {
public:
  using clock = std::chrono::steady_clock;

  explicit reconnect_gate(std::chrono::milliseconds max);

  /// Returns true when an attempt may be made now.
  bool may_attempt() const;

  /// Returns when the next attempt will be allowed.
  clock::time_point next_attempt() const;

  void failed();
  void succeeded();

private:
  static constexpr std::chrono::milliseconds initial_delay_{50};

  mutable std::mutex mtx_;
  std::chrono::milliseconds max_;
  std::chrono::milliseconds delay_{0};
  clock::time_point next_{};
};

/// Appends `text` as one double-quoted element of a PostgreSQL array literal.
void append_array_element(std::string& out, std::string_view text);

} // namespace pactum::persistence::detail
