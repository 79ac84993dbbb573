#pragma once

// Views of approved campaign posts (issue 8; migrations 0030 and 0031, docs/api.md "Analytics"):
// which posts are tracked, which to poll next, and the one transaction that records a poll's
// answer. Free functions over `database`, like analytics_store.hpp: they run on its pool
// threads, callbacks on pool threads. No libpqxx type appears here.

#include <functional>
#include <string>
#include <vector>

#include "pactum/persistence/database.hpp"

namespace pactum::persistence {

/// An approved submission's post, as the campaign actor hands it over.
struct approved_post {
  uuid campaign;
  int64_t submission = 0;
  uuid creator;
  std::string platform;
  std::string post;
  millis approved_at = 0;
};

/// Tracks `posts` for view polling; a post already tracked is left as it is. Answers how many
/// were new.
void track_approved_posts(database& db, std::vector<approved_post> posts, std::function<void(result<size_t>)> done);

/// A tracked post due for a poll.
struct tracked_post {
  uuid campaign;
  int64_t submission = 0;
  uuid creator;
  std::string platform;
  std::string post;
};

/// At most `limit` active tracked posts of published campaigns, never polled first, then the
/// least recently polled.
void posts_to_poll(database& db, size_t limit, std::function<void(result<std::vector<tracked_post>>)> done);

/// What recording one answer did.
struct view_observation {
  int64_t views = 0;  ///< the increase counted (0: the first observation, no change, or a decrease)
  int64_t spend = 0;  ///< what it cost (cpv campaigns)
  bool changed = false; ///< the campaign's figures changed (views > 0)
};

/// Records that `post` showed `total` views at `at`, in ONE transaction: the post's counts and
/// poll time, and for an increase over its highest count a `content_view_deltas` row plus the
/// views (and for a cpv campaign the spend: rate per 1,000 counted views, rounded down over the
/// post's whole count) in the creator's `analytics_rollups` minute of `at`.
void record_post_views(database& db, tracked_post post, int64_t total, millis at,
                       std::function<void(result<view_observation>)> done);

/// Records a failed poll: `retire` (no such post, not a post reference) retires the post
/// ('gone'); otherwise it is polled again after the others.
void record_post_failure(database& db, tracked_post post, bool retire, std::string message,
                         std::function<void(result<unit>)> done);

} // namespace pactum::persistence
