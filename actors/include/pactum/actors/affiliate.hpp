#pragma once

// Affiliate tracking as the gateway sees it (docs/api.md, "Products and affiliate links"): a
// brand's product catalog (JSON and CSV import), one affiliate link per (campaign, creator,
// product), the `/r/{code}` redirect and the brands' signed conversion posts. No CAF type here.
//
// Owned by the runtime (`runtime::affiliate()`), created after the database started and
// destroyed before it stops. Thread-safe. Storage runs on the persistence pool; callbacks run on
// a persistence thread, or on the caller's thread for the redirect's cache hits, and must not
// block.
//
// The redirect's hot path: the code's target (the product URL with the UTM parameters already
// injected) comes from a bounded in-memory cache (filled from PostgreSQL on a miss, invalidated
// when a product's URL changes or the product is deleted), and the click is only queued: a
// bounded queue that one writer at a time drains into `link_clicks` with one multi-row INSERT
// per batch on the persistence pool. A full queue drops the click (counted, logged at most once a
// second) rather than slow the redirect or grow memory: analytics lose that click, the visitor
// does not wait.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "pactum/actors/runtime.hpp"

namespace pactum::actors {

using json_answer = std::function<void(expected<std::string, api_error>)>;

/// What the redirect knows of one request.
struct redirect_request {
  std::string code;
  std::string client_address; ///< hashed (keyed BLAKE2b), never stored
  std::string user_agent;     ///< truncated to `affiliate_settings::user_agent_max` bytes
  std::string referrer;       ///< truncated to `affiliate_settings::referrer_max` bytes
};

/// The signed headers of `POST /api/v1/track/conversion`.
struct conversion_post {
  std::string brand;     ///< X-Pactum-Brand
  std::string timestamp; ///< X-Pactum-Timestamp (Unix seconds)
  std::string signature; ///< X-Pactum-Signature (hex HMAC-SHA256)
  std::string body;
  std::string client_address; ///< the brand server's address (audit)
};

/// Counters of the redirect (for benchmarks and operators).
struct affiliate_stats {
  uint64_t redirects = 0;      ///< 302s answered
  uint64_t cache_misses = 0;   ///< lookups that went to PostgreSQL
  uint64_t clicks_queued = 0;
  uint64_t clicks_written = 0; ///< committed to link_clicks
  uint64_t clicks_dropped = 0; ///< refused by a full queue
  uint64_t clicks_failed = 0;  ///< lost to a failed INSERT (logged)
  size_t queue_depth = 0;
};

class affiliate_service {
public:
  explicit affiliate_service(services& svc);
  /// Waits (up to 5 s) for the click write in flight; queued clicks are written first.
  ~affiliate_service();

  affiliate_service(const affiliate_service&) = delete;
  affiliate_service& operator=(const affiliate_service&) = delete;

  // -- products (brands; their own catalog only) --
  void create_product(principal who, std::string body_json, json_answer done);
  void list_products(principal who, std::string before, size_t limit, json_answer done);
  void get_product(principal who, uuid id, json_answer done);
  void update_product(principal who, uuid id, std::string body_json, json_answer done);
  void delete_product(principal who, uuid id, json_answer done);
  /// `text/csv` with the header `sku,name,category,url,price,currency`: every row validated (all
  /// errors at once, by line and field), then all rows upserted by sku in one transaction.
  void import_products(principal who, std::string csv, json_answer done);

  // -- links --
  /// `{product_id, creator_id?}`: by an eligible creator (for themselves) or the campaign's
  /// brand (for an eligible creator). Idempotent per (campaign, creator, product).
  void create_link(principal who, uuid campaign, std::string body_json, json_answer done);
  /// The brand and staff: all the campaign's links; an eligible creator: their own.
  void list_links(principal who, uuid campaign, json_answer done);

  // -- the redirect (public) --
  /// The `Location` for `/r/{code}` (404 when unknown); the click is queued, never waited for.
  void redirect(redirect_request req, std::function<void(expected<std::string, api_error>)> done);

  // -- conversions --
  /// Creates or rotates the brand's signing key; answers `{secret, created_at}` (shown once).
  void rotate_signing_key(principal who, json_answer done);
  /// A signed conversion from the brand's server.
  void conversion(conversion_post post, json_answer done);

  affiliate_stats stats() const;
  /// `stats()` for an admin (GET /api/v1/admin/tracking-stats), as JSON.
  void stats_for(principal who, json_answer done) const;
  /// Waits until every queued click is written (or `timeout`); true when the queue is empty.
  bool flush_clicks(std::chrono::milliseconds timeout);

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

} // namespace pactum::actors
