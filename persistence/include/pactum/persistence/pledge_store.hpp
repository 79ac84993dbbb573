#pragma once

// Pledge campaigns' read model (migration 0021): the listing of live campaigns. Free functions
// over `database`, run on its pool threads behind its exception boundary (as profile_store).

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pactum/persistence/database.hpp"

namespace pactum::persistence {

struct pledge_campaign_row {
  uuid id;
  uuid creator;
  std::string title;
  std::string status;
  int64_t goal = 0;
  std::string currency;
  millis end_at = 0;
  int64_t pledged = 0;
  int64_t backers = 0;
  std::string create_key;
  int64_t head = 0; ///< the journal seq this row reflects
};

/// Inserts or replaces the campaign's row, unless the stored row reflects a later `head` (saves
/// may overtake each other on the pool: the listing never goes back).
void save_pledge_campaign(database& db, pledge_campaign_row row, std::function<void(result<unit>)> done);

/// Claims the campaign id of `creator`'s create with idempotency key `row.create_key`: inserts
/// `row` (status draft) unless that key was used before; answers the id the key stands for.
void claim_pledge_campaign(database& db, pledge_campaign_row row, std::function<void(result<uuid>)> done);

/// Live campaigns with ids above `after` (nil: from the start), oldest first, at most `limit`.
void list_live_pledge_campaigns(database& db, uuid after, size_t limit,
                                std::function<void(result<std::vector<pledge_campaign_row>>)> done);

} // namespace pactum::persistence
