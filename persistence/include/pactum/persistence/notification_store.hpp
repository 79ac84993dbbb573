#pragma once

// Notifications (migration 0025; docs/protocol.md "Notifications"): what the per-user notifier
// stores for a user, the unread count, marking read, and the muted types. Free functions over
// `database`, like social_store.hpp: they run on its pool threads, callbacks on pool threads. No
// libpqxx type appears here.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pactum/persistence/database.hpp"

namespace pactum::persistence {

/// One stored notification.
struct notification_row {
  int64_t id = 0;
  std::string type;
  std::string payload; ///< a JSON object's text
  millis created_at = 0;
  millis updated_at = 0;
  std::optional<millis> read_at;
};

/// A notification to store for `user`.
struct notification_insert {
  uuid user;
  std::string type;
  std::string source;       ///< the fact it comes from; one row per (user, source)
  std::string coalesce_key; ///< non-empty: at most one unread row per (user, key), updated in place
  std::string payload;      ///< a JSON object's text; with a coalesce key it carries an integer `seq`
  int64_t cap = 1'000;      ///< rows kept per user at most (oldest read ones pruned first)
};

enum class notification_outcome : uint8_t {
  stored,    ///< a new row
  updated,   ///< merged into the unread row of its coalesce key (`count` + 1)
  duplicate, ///< this fact was already stored (or merged): nothing changed
  muted,     ///< the user muted this type: nothing stored
};

struct notification_saved {
  notification_outcome outcome = notification_outcome::stored;
  notification_row row; ///< the stored or updated row (stored, updated)
  int64_t unread = 0;   ///< the user's unread count afterwards
};

/// In one transaction: refuses a muted type; stores the notification (or merges it into its
/// coalesce key's unread row: the new payload with `count` one higher, when its `seq` is newer);
/// then keeps at most `cap` rows for the user, dropping read rows before unread ones, oldest
/// first.
void store_notification(database& db, notification_insert n,
                        std::function<void(result<notification_saved>)> done);

struct notification_page {
  std::vector<notification_row> items; ///< newest first
  int64_t unread = 0;
};

/// `user`'s notifications newest first with ids below `before` (0: from the newest), only the
/// unread ones with `unread_only`, at most `limit`; and the unread count.
void list_notifications(database& db, uuid user, int64_t before, bool unread_only, size_t limit,
                        std::function<void(result<notification_page>)> done);

/// Marks read `user`'s notifications with the given ids, and every one with id <= `up_to` (0:
/// none by range). Answers how many changed and the unread count afterwards.
void mark_notifications_read(database& db, uuid user, std::vector<int64_t> ids, int64_t up_to,
                             std::function<void(result<std::pair<int64_t, int64_t>>)> done);

/// The types `user` muted (empty when none).
void notification_prefs(database& db, uuid user,
                        std::function<void(result<std::vector<std::string>>)> done);

/// Replaces the types `user` muted.
void set_notification_prefs(database& db, uuid user, std::vector<std::string> muted,
                            std::function<void(result<unit>)> done);

} // namespace pactum::persistence
