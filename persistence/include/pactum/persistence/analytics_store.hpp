#pragma once

// Analytics (migration 0027, docs/api.md "Analytics"): the pipeline's batches over the raw
// tracking events of migration 0022 and the reports over the rollups. Free functions over
// `database`, like social_store.hpp: they run on its pool threads, callbacks on pool threads.
// No libpqxx type appears here.
//
// The pipeline is the only writer of `verdict`, `reason`, `click_id` (and `billed_at`): each
// batch writes the verdicts and folds the valid events into `analytics_rollups` in ONE
// transaction, so an event is counted exactly once even when the process dies mid-batch.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pactum/persistence/database.hpp"

namespace pactum::persistence {

/// A click awaiting its verdict, or (for the start-up rebuild) one already classified.
struct tracked_click {
  int64_t id = 0;
  uuid campaign;
  uuid creator;
  std::string code;
  millis at = 0;
  std::string client_hash; ///< hex of the stored hash
  std::string user_agent;
  std::string reason;      ///< rebuild only: "" valid, else the stored reason
};

/// Judges a batch on the pool thread, inside the transaction: one reason per click ("" valid).
using click_classifier = std::function<std::vector<std::string>(const std::vector<tracked_click>&)>;

/// What one batch did. `campaigns`: those whose figures changed (for live pushes).
struct analytics_batch {
  size_t processed = 0;
  size_t invalid = 0;
  millis read_at = 0; ///< the transaction's start (server clock)
  std::vector<uuid> campaigns;
};

/// The oldest `limit` pending clicks in id order: classifies them with `classify`, writes the
/// verdicts, and adds the valid ones (and the invalid count) to the rollups, in one transaction.
void classify_pending_clicks(database& db, size_t limit, click_classifier classify,
                             std::function<void(result<analytics_batch>)> done);

/// The oldest `limit` pending conversions received before `received_before`: each is attributed
/// to the newest valid click on its link by the same client within `attribution_window` before
/// it (`click_id`, 'valid', counted with its amount as revenue under the click's campaign and
/// creator) or is 'invalid' with reason 'conversion_without_click'. One transaction.
void attribute_pending_conversions(database& db, size_t limit, millis received_before,
                                   millis attribution_window,
                                   std::function<void(result<analytics_batch>)> done);

/// Classified clicks at or after `since`, in id order, at most `limit` (the newest are kept when
/// there are more): the detector's start-up rebuild.
void recent_classified_clicks(database& db, millis since, size_t limit,
                              std::function<void(result<std::vector<tracked_click>>)> done);

/// A campaign as the reports need it; nullopt when there is no such campaign.
struct analytics_campaign {
  uuid brand;
  std::string pricing_model;
  int64_t rate = 0;
  std::string currency;
};
void load_analytics_campaign(database& db, uuid campaign,
                             std::function<void(result<std::optional<analytics_campaign>>)> done);

/// One (creator, bucket) of a report.
struct rollup_row {
  uuid creator;
  std::string display_name;
  millis bucket = 0;
  int64_t clicks = 0, unique_clicks = 0, views = 0, conversions = 0, revenue = 0, spend = 0;
  int64_t invalid_clicks = 0, invalid_conversions = 0;
};

/// The rollups of `campaign` with bucket in [from, to), re-bucketed by `unit` ("minute", "hour"
/// or "day", UTC), ordered by bucket then creator.
void load_rollups(database& db, uuid campaign, millis from, millis to, std::string unit,
                  std::function<void(result<std::vector<rollup_row>>)> done);

/// One invalid event for the review list.
struct invalid_event_row {
  int64_t id = 0;
  std::string kind; ///< "click" or "conversion"
  millis at = 0;
  uuid creator;     ///< nil when a conversion names no known link
  std::string code;
  std::string reason;
  std::string user_agent; ///< clicks
  std::string referrer;   ///< clicks
  std::string order_id;   ///< conversions
  int64_t amount = 0;     ///< conversions
  std::string currency;   ///< conversions
};

/// Invalid events of `campaign` of `kind` ("click" or "conversion"), ids below `before` (0: the
/// newest), newest first, at most `limit`.
void load_invalid_events(database& db, uuid campaign, std::string kind, int64_t before, size_t limit,
                         std::function<void(result<std::vector<invalid_event_row>>)> done);

} // namespace pactum::persistence
