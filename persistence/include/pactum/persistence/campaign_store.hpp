#pragma once

// The campaigns read model (migrations 0016, 0017): the `campaigns` table and the invited
// creators' inbox, projected from the campaign actors' journals after each commit, and the
// queries that list, filter and match campaigns without the actors. Free functions over
// `database`, run on its pool threads behind its exception boundary (callbacks on pool threads,
// refusals synchronously on the caller's). No libpqxx type appears here.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pactum/persistence/database.hpp"

namespace pactum::persistence {

/// One campaign as the read model holds it.
struct campaign_row {
  uuid id;
  uuid brand;
  std::string status;
  std::string title;
  std::string currency;
  int64_t budget = 0;
  int64_t committed = 0;
  int64_t spent = 0;
  millis starts_at = 0; ///< 0: none
  millis ends_at = 0;   ///< 0: none
  std::string pricing_model;
  int64_t rate = 0;
  std::vector<std::string> niches;
  std::vector<std::string> countries;
  int64_t min_followers = 0;
  int64_t head_seq = 0; ///< the journal seq this projection reflects
  millis created_at = 0;
  millis updated_at = 0;
  /// The full campaign details as JSON text (protocol::campaign_details_to_json; migration 0024).
  /// Written by `upsert_campaign`; read only by `eligible_campaign_details` ("" elsewhere).
  std::string details;
};

/// Stores the projection unless a newer one (higher head_seq) is stored already.
void upsert_campaign(database& db, campaign_row row, std::function<void(result<unit>)> done);

/// How a list is ordered: "newest" (created, newest first), "budget" (largest first) or
/// "ending" (end date, soonest first; campaigns without one last).
struct campaign_filter {
  std::optional<std::string> status; ///< nullopt: any status
  std::optional<uuid> brand;         ///< only this brand's campaigns
  std::vector<std::string> niches;   ///< any overlap
  std::string country;               ///< the campaign targets it (or targets any country)
  std::string pricing_model;
  std::string currency;
  std::optional<int64_t> min_budget;
  std::optional<int64_t> max_budget;
  std::string text;                  ///< words that must all occur in the title
  std::string sort = "newest";
  std::string after;                 ///< the cursor of the previous page's last row ("" first page)
  size_t limit = 20;
};

/// A page of rows and the cursor of its last row ("" when this page is the last).
struct campaign_page {
  std::vector<campaign_row> rows;
  std::string next;
};

/// Campaigns matching `f`, in its order, one page. `refused` for a malformed cursor.
void list_campaigns(database& db, campaign_filter f, std::function<void(result<campaign_page>)> done);

/// Published campaigns `creator` is eligible for from their creator profile (niche overlap when
/// the campaign names niches, the creator's country when it names countries, at least its
/// minimum followers), newest first. THE eligibility rule: the matching scorer ranks these.
/// `not_found` when the creator has no profile.
void eligible_campaigns(database& db, uuid creator, std::string after, size_t limit,
                        std::function<void(result<campaign_page>)> done);

/// All published campaigns `creator` is eligible for (the same rule as `eligible_campaigns`),
/// with `details`, newest first, at most `cap` (rows without stored details are left out).
/// For ranking by the matching scorer (actors/src/campaign_matching.cpp). `not_found` when the
/// creator has no profile.
void eligible_campaign_details(database& db, uuid creator, size_t cap,
                               std::function<void(result<std::vector<campaign_row>>)> done);

/// One invitation as the invited creator's inbox holds it.
struct invitation_row {
  uuid campaign;
  int64_t invitation = 0;
  uuid brand;
  uuid creator;
  std::string brief;
  std::string outcome;
  std::optional<uuid> conversation;
  std::string campaign_title; ///< read only
  millis created_at = 0;
  millis updated_at = 0;
};

/// Inserts or updates an invitation's projection.
void upsert_invitation(database& db, invitation_row row, std::function<void(result<unit>)> done);

/// `creator`'s invitations, newest first, one page (`after`: the previous page's cursor).
void list_invitations(database& db, uuid creator, std::string after, size_t limit,
                      std::function<void(result<std::pair<std::vector<invitation_row>, std::string>>)> done);

/// Records that `conversation` serves `campaign` (idempotent).
void link_campaign_conversation(database& db, uuid campaign, uuid conversation,
                                std::function<void(result<unit>)> done);

/// The campaigns a conversation serves, oldest link first.
void conversation_campaigns(database& db, uuid conversation,
                            std::function<void(result<std::vector<uuid>>)> done);

/// The `offer.accepted` event payloads (encoded, oldest first, at most `limit`) of the
/// conversations whose most recently linked campaign is `campaign`: the deals whose money that
/// campaign's budget accounts for (the same rule as the contracts' budget reports).
void campaign_accepted_offers(database& db, uuid campaign, size_t limit,
                              std::function<void(result<std::vector<std::string>>)> done);

/// Campaigns whose read-model row is behind their journal (a crash between commit and
/// projection): their ids, for the runtime to re-project at start-up.
void stale_campaigns(database& db, size_t limit, std::function<void(result<std::vector<uuid>>)> done);

} // namespace pactum::persistence
