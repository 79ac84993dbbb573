#pragma once

// Affiliate tracking (migration 0022): the brands' product catalog, one affiliate link per
// (campaign, creator, product), the raw click and conversion events, and the brands' signing
// keys. Free functions over `database` like social_store.hpp: they run on its pool threads and
// call back there. This layer only INSERTs raw events with verdict 'pending'; the analytics
// pipeline owns `verdict`, `reason` and `billed_at`. No libpqxx type appears here.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pactum/persistence/database.hpp"

namespace pactum::persistence {

struct product_row {
  uuid id;
  uuid brand;
  std::string sku;
  std::string name;
  std::string category;
  std::string url;
  int64_t price = 0;
  std::string currency;
  millis created_at = 0;
};

/// A product write and the affiliate link codes whose target it changed (for cache invalidation).
struct product_saved {
  product_row product;
  std::vector<std::string> stale_codes;
};

/// Creates `p` (its id chosen by the caller); `duplicate` when the brand already has the sku.
void create_product(database& db, product_row p, std::function<void(result<product_row>)> done);
/// The brand's products, newest first, ids below `before` (nil: from the newest), at most `limit`.
void list_products(database& db, uuid brand, uuid before, size_t limit,
                   std::function<void(result<std::vector<product_row>>)> done);
/// `not_found` when `id` is not one of `brand`'s products.
void get_product(database& db, uuid brand, uuid id, std::function<void(result<product_row>)> done);
/// Replaces the product `p.id` of `p.brand` (`not_found`; `duplicate` on an sku clash).
void update_product(database& db, product_row p, std::function<void(result<product_saved>)> done);
/// Deletes the product and its links (`not_found`); answers the codes of the links deleted.
void delete_product(database& db, uuid brand, uuid id,
                    std::function<void(result<std::vector<std::string>>)> done);

struct import_outcome {
  size_t created = 0;
  size_t updated = 0;
  std::vector<std::string> stale_codes;
};
/// In ONE transaction: inserts each row or, when the brand has its sku, updates it (ids of new
/// rows are the caller's). All or nothing.
void import_products(database& db, uuid brand, std::vector<product_row> rows,
                     std::function<void(result<import_outcome>)> done);

// -- links -----------------------------------------------------------------------------------

/// How a creator stands in a campaign, for link creation.
struct link_context {
  uuid brand;            ///< the campaign's brand
  bool eligible = false; ///< the creator has an accepted invitation or a conversation in it
};
/// `not_found` when there is no such campaign.
void campaign_link_context(database& db, uuid campaign, uuid creator,
                           std::function<void(result<link_context>)> done);

struct link_row {
  std::string code;
  uuid campaign;
  uuid creator;
  uuid product;
  uuid brand;
  millis created_at = 0;
  std::string url; ///< the product's URL (read only)
};

/// Creates the link of (campaign, creator, product) with `l.code`, or answers the existing one
/// (second: true when created). `not_found` when the product is not the campaign brand's.
void create_link(database& db, link_row l, std::function<void(result<std::pair<link_row, bool>>)> done);
/// The campaign's links, oldest first (only `creator`'s when given), at most `limit`.
void list_links(database& db, uuid campaign, std::optional<uuid> creator, size_t limit,
                std::function<void(result<std::vector<link_row>>)> done);
/// The link behind `/r/{code}` with its product URL; `not_found` when there is none.
void resolve_link(database& db, std::string code, std::function<void(result<link_row>)> done);

// -- raw events ------------------------------------------------------------------------------

struct click_row {
  std::string code;
  uuid campaign;
  uuid creator;
  uuid product;
  millis at = 0;
  std::string client_hash; ///< raw bytes of the keyed hash of the client address
  std::string user_agent;
  std::string referrer;
};
/// Inserts the clicks with ONE multi-row statement (verdict 'pending'); answers how many.
void insert_clicks(database& db, std::vector<click_row> clicks, std::function<void(result<size_t>)> done);

struct conversion_row {
  int64_t id = 0; ///< set when stored
  uuid brand;
  std::string order_id;
  std::string code; ///< "" when none
  std::optional<uuid> campaign;
  std::optional<uuid> creator;
  std::optional<uuid> product;
  int64_t amount = 0;
  std::string currency;
  std::string client_hash; ///< raw bytes, "" when none
  millis at = 0;
  bool at_given = false; ///< the request named `occurred_at` (compared on a repeat)
  millis received_at = 0;
};
struct conversion_saved {
  conversion_row row;
  bool duplicate = false;
};
/// Records a conversion once per (brand, order_id), resolving `code` to its link (`not_found`
/// when the code is not a link of this brand). A repeat with the same code, amount, currency,
/// client hash (and `at`, when given) answers the stored row with `duplicate`; one that differs:
/// `conflict`.
void record_conversion(database& db, conversion_row c, std::function<void(result<conversion_saved>)> done);

// -- signing keys ----------------------------------------------------------------------------

/// Sets (creates or replaces) the brand's conversion signing key; answers when.
void set_signing_key(database& db, uuid brand, std::string secret, std::function<void(result<millis>)> done);
/// The brand's signing key; `not_found` when it has none.
void signing_key(database& db, uuid brand, std::function<void(result<std::string>)> done);

} // namespace pactum::persistence
