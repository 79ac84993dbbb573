#pragma once

// Settlement of cpc/cpv campaigns (migration 0032; docs/contracts.md, "Performance contracts"):
// what a performance contract needs of the tracking tables. Free functions over `database`, like
// analytics_store.hpp: they run on its pool threads, callbacks on pool threads. No libpqxx type
// appears here.
//
// The contract actor is the only caller that claims and marks rows: it claims and counts the
// units above its watermark (`claim_unbilled`), journals the bill (the money moves in that
// append), and only then marks the rows it billed (`mark_billed`), again on every activation. A
// crash between the two leaves rows unmarked but claimed and below the watermark: no contract
// counts them again, and the next mark sets them.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pactum/persistence/database.hpp"

namespace pactum::persistence {

/// The pricing of a conversation's most recently linked campaign (the rule that charges a
/// contract to a campaign's budget), when it is a cpc or cpv campaign.
struct campaign_pricing {
  uuid campaign;
  std::string model; ///< "cpc" or "cpv"
  int64_t rate = 0;
  std::string currency;
  millis ends_at = 0; ///< 0: no end date
};

/// Looks up the pricing of the conversation's most recently linked campaign; nullopt when the
/// conversation serves no campaign, or its campaign is neither cpc nor cpv (or has no rate).
void performance_pricing(database& db, uuid conversation,
                         std::function<void(result<std::optional<campaign_pricing>>)> done);

/// Units above a watermark: `units` clicks (cpc) or views (cpv) on rows (after, through].
struct unbilled_units {
  int64_t through = 0; ///< the highest row id counted (0: none)
  int64_t units = 0;
  int64_t rows = 0;
  /// Asked for (`unbilled_query::check_complete`): no row of the contract's before `until` was
  /// left for a later count. False while a click made before `until` still awaits its verdict
  /// (or lies above another one that does), or when `limit` cut the count short.
  bool complete = true;
};

/// What `claim_unbilled` counts: the rows of (campaign, creator) with id > `after` and a time
/// `at` in [`since`, `until`) (`until` 0: no end).
struct unbilled_query {
  uuid contract;
  uuid campaign;
  uuid creator;
  std::string model; ///< "cpc" or "cpv"
  int64_t after = 0;
  millis since = 0; ///< the contract's funding: traffic before it is not the contract's
  millis until = 0; ///< the contract's end: traffic after it is not the contract's either
  size_t limit = 100'000;
  bool check_complete = false; ///< answer `complete` (one more indexed probe)
};

/// Claims and counts the unbilled units of (campaign, creator) for `contract`: the rows of the
/// query (see `unbilled_query`), unclaimed or already claimed by this contract, at most `limit`
/// rows in id order. In one transaction the rows get `claimed_by = contract` (migration 0035), so no other
/// contract of the same creator and campaign counts them: a row is billed by at most one
/// contract. A claim the contract did not bill (a crash, a refused bill) is counted again by its
/// next claim. cpc: valid clicks only, and only below the oldest click still awaiting its verdict
/// (the pipeline classifies in id order, so no valid click can appear below `through` later). cpv:
/// the view deltas (one poller writes them, in id order).
void claim_unbilled(database& db, unbilled_query query, std::function<void(result<unbilled_units>)> done);

/// Sets `billed_at` (now) on the unbilled rows of (campaign, creator) claimed by `contract` (or
/// unclaimed and older than migration 0037: billed before migration 0035) with id <= `through`
/// and `at` >= `since` (cpc: valid clicks only): exactly the rows the contract's bills up to
/// `through` counted. (A newer unclaimed row below the watermark lies after the contract's end:
/// not its to mark.) Idempotent; answers how many rows it marked.
void mark_billed(database& db, uuid contract, uuid campaign, uuid creator, std::string model,
                 millis since, int64_t through, std::function<void(result<int64_t>)> done);

/// The settlement job's candidates: the contracts (ids from offer.accepted, oldest acceptance
/// first, at most `limit`) of the conversations of (campaign, creator) pairs that have unbilled
/// units, for campaigns those conversations serve last (the budget rule). The contracts decide
/// themselves whether they bill (only performance contracts of that campaign do).
void contracts_with_unbilled_units(database& db, size_t limit,
                                   std::function<void(result<std::vector<std::string>>)> done);

} // namespace pactum::persistence
