#pragma once

// Retention of what only expires (docs/operations.md, "Retention"): tokens and logins past their
// end, login codes past theirs, mail the relay sent. Nothing here is a record a user or an
// auditor reads (the journal, the ledger, the audit log and the tracking tables are kept); every
// purged row had already stopped working. No libpqxx type appears here.
//
// `purge_expired` runs on the database's pool (one bounded delete per table per round, repeated
// while a round fills its batch, so a backlog never holds long locks); `retention_job` calls it
// every interval on a thread of its own, never on a CAF scheduler or Asio thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "pactum/persistence/database.hpp"

namespace pactum::persistence {

/// How long rows outlive their end before they are deleted.
struct retention_rules {
  /// Access and ticket tokens, after `expires_at`. Refresh tokens are kept as long as their
  /// login: a used one is what reveals a replay (theft) while the login lives.
  std::chrono::seconds tokens{24 * 3600};
  /// Logins (auth_sessions), after they were revoked or their refresh expiry passed; their
  /// tokens (refresh ones included) go with them. Ended logins are listed nowhere (GET /users/me/sessions lists live ones).
  std::chrono::seconds logins{30 * 24 * 3600};
  /// One-time login codes, after `expires_at` (used and dead codes expire too).
  std::chrono::seconds login_codes{24 * 3600};
  /// Mail rows after `sent_at` (the relay blanked their bodies when it sent them), and unsent
  /// ones this long after `created_at`: a mail no relay sent in that time never will be (today's
  /// only mail, a login code, expired long before).
  std::chrono::seconds sent_mail{7 * 24 * 3600};
  /// Rows per delete statement at most.
  size_t batch = 10'000;
};

/// Rows deleted by one purge, per table, and how it went.
struct purge_counts {
  int64_t tokens = 0;
  int64_t logins = 0;   ///< their tokens are not counted in `tokens`
  int64_t login_codes = 0;
  int64_t sent_mail = 0;
  int64_t statements = 0; ///< delete statements run (each at most `batch` rows)
  bool stopped = false;   ///< `go_on` ended it early; the rest waits for the next round
};

/// Deletes what `rules` says has ended as of `now` (ms since the epoch). `go_on`, if given, is
/// asked between statements whether to continue (a stopping server does not wait out a backlog).
void purge_expired(database& db, retention_rules rules, millis now, std::function<void(result<purge_counts>)> done,
                   std::function<bool()> go_on = {});

/// Runs purge_expired at start and then every `interval` until destroyed (or stop()), logging
/// what it deleted. `now` gives the time of each round.
class retention_job {
public:
  retention_job(database& db, retention_rules rules, std::chrono::milliseconds interval, std::function<millis()> now);
  ~retention_job();
  retention_job(const retention_job&) = delete;
  retention_job& operator=(const retention_job&) = delete;

  /// Ends the loop after the round in flight (if any) has answered. Idempotent.
  void stop();

  /// Rounds finished so far (for tests and metrics).
  uint64_t rounds() const;

private:
  void run();

  database& db_;
  retention_rules rules_;
  std::chrono::milliseconds interval_;
  std::function<millis()> now_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::atomic<bool> stop_requested_{false};
  uint64_t rounds_ = 0;
  std::thread thread_;
};

} // namespace pactum::persistence
