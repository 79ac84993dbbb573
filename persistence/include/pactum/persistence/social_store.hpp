#pragma once

// Social platforms (migration 0020): a creator's refreshed statistics (the profile's social
// accounts replaced, a snapshot per account), fake-follower flags and their review. Free
// functions over `database`, like profile_store.hpp: they run on its pool threads, callbacks on
// pool threads. No libpqxx type appears here.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pactum/persistence/database.hpp"

namespace pactum::persistence {

/// Snapshots kept per account (user, platform, handle): a refresh drops the oldest beyond this.
inline constexpr int64_t max_snapshots_per_account = 100;

/// One account's fetched statistics, as the refresh stores them.
struct social_account_refresh {
  std::string platform;
  std::string handle;
  std::string stats;   ///< JSON object (social::stats_json)
  std::string signals; ///< JSON array (social::signals_json); "[]": nothing to flag
  millis fetched_at = 0;
};

/// What a refresh stored.
struct social_refresh_saved {
  int64_t version = 0;                      ///< the profile's new version
  millis verified_at = 0;                   ///< the profile's stats_verified_at
  std::vector<std::optional<int64_t>> flags; ///< per account: the open flag raised or updated
};

/// In one transaction: replaces the creator's `social_accounts` (JSON array) and
/// `follower_total`, marks the figures verified now, stores a snapshot of each account (keeping
/// the newest `max_snapshots_per_account`), and
/// raises a flag for each account with signals (or updates its open flag). Only when the stored
/// profile still has `expected_version` (`conflict` otherwise: it changed during the fetch);
/// `not_found` when the user has no creator profile.
void save_social_refresh(database& db, uuid user, int64_t expected_version,
                         std::string social_accounts, int64_t follower_total,
                         std::vector<social_account_refresh> accounts,
                         std::function<void(result<social_refresh_saved>)> done);

struct social_flag_row {
  int64_t id = 0;
  uuid user;
  std::string display_name;
  std::string platform;
  std::string handle;
  std::string signals;  ///< JSON array
  std::string snapshot; ///< JSON object
  std::string status;   ///< open, cleared, confirmed
  std::optional<uuid> reviewer;
  millis created_at = 0;
  millis updated_at = 0;
  std::optional<millis> reviewed_at;
};

/// Flags newest first: with `status` only those ("" every status), ids below `before` (0: from
/// the newest), at most `limit`.
struct social_flag_filter {
  std::string status;
  int64_t before = 0;
  size_t limit = 50;
};

void list_social_flags(database& db, social_flag_filter filter,
                       std::function<void(result<std::vector<social_flag_row>>)> done);

/// Closes the open flag `id` with `status` ("cleared" or "confirmed") by `reviewer`. `not_found`
/// when there is no such flag, `conflict` when it was already reviewed.
void review_social_flag(database& db, int64_t id, uuid reviewer, std::string status,
                        std::function<void(result<social_flag_row>)> done);

} // namespace pactum::persistence
