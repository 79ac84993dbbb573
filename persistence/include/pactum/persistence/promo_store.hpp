#pragma once

// Local promotions (migration 0028; docs/api.md "Local promotions"): promotions, their promoters,
// issued single-use codes, verified reposts, points per locality and the token signing keys.
// Free functions over `database`, like social_store.hpp: they run on its pool threads, callbacks
// on pool threads. Binary values (nonces, keys) travel as lower-case hex. No libpqxx type here.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pactum/persistence/database.hpp"

namespace pactum::persistence {

struct promo_key_row {
  int64_t key_id = 0;
  std::string public_hex;
  std::string secret_hex; ///< "" when the secret is not stored
  bool active = false;
};

/// Every signing key, newest first.
void load_promo_keys(database& db, std::function<void(result<std::vector<promo_key_row>>)> done);
/// Stores `key` (its public key at least) and makes it the only active one; a key id already
/// stored keeps its row (its secret is filled in if it was missing) and becomes active.
void save_promo_key(database& db, promo_key_row key, std::function<void(result<unit>)> done);

struct promotion_row {
  uuid id;
  uuid brand;
  std::string brand_name;
  std::string title;
  int64_t reward_amount = 0;
  std::string currency;
  int64_t budget = 0;
  int64_t budget_left = 0;
  millis valid_from = 0;
  millis valid_until = 0;
  std::string country;
  std::string city;
  std::string status;
  int64_t redemptions = 0;
  int64_t promoters = 0;
  millis created_at = 0;
  bool joined = false; ///< whether the asking user is a promoter of it (reads with a viewer)
};

void create_promotion(database& db, promotion_row row, std::function<void(result<promotion_row>)> done);
/// One promotion, with `joined` for `viewer`; not_found when there is none.
void get_promotion(database& db, uuid id, uuid viewer, std::function<void(result<promotion_row>)> done);
/// Active promotions of a locality valid now (valid_from <= now < valid_until) with budget left,
/// newest first, at most `limit`.
void list_promotions(database& db, std::string country, std::string city, size_t limit, uuid viewer,
                     std::function<void(result<std::vector<promotion_row>>)> done);
/// Sets the status; not_found when `id` is not `brand`'s; refused when it is closed already
/// (closed is final).
void set_promotion_status(database& db, uuid id, uuid brand, std::string status,
                          std::function<void(result<promotion_row>)> done);
/// Makes `promoter` a promoter of `id` (true: newly joined, false: already was). not_found when
/// the promotion does not exist, refused when it is closed.
void join_promotion(database& db, uuid id, uuid promoter, std::function<void(result<bool>)> done);

struct promo_code_row {
  std::string nonce_hex;
  uuid promotion;
  uuid promoter;
  int64_t key_id = 0;
  std::string token;
  millis expires_at = 0;
  millis created_at = 0;
  std::optional<millis> redeemed_at;
  uuid brand; ///< the promotion's brand (reads)
};

/// Stores issued codes (all or none).
void save_promo_codes(database& db, std::vector<promo_code_row> codes, std::function<void(result<unit>)> done);
/// One code of `promotion`; not_found when there is none.
void get_promo_code(database& db, uuid promotion, std::string nonce_hex,
                    std::function<void(result<promo_code_row>)> done);

enum class redeem_status : uint8_t { redeemed, unknown, already_redeemed, inactive, budget_exhausted };

struct redeem_outcome {
  redeem_status status = redeem_status::unknown;
  int64_t budget_left = 0;
  int64_t reward_amount = 0;
  std::string currency;
  std::string country;
  std::string city;
  int64_t points = 0; ///< the promoter's points in the locality afterwards
};

/// In one transaction: marks the code used (only if it is unused), takes the reward from the
/// promotion's budget (only if it is active, valid now and has that much left; the budget never
/// goes below 0) and credits `points` to the promoter in the promotion's locality. Any refusal
/// rolls everything back.
void redeem_promo_code(database& db, uuid promotion, uuid promoter, std::string nonce_hex, uuid by,
                       int64_t points, std::function<void(result<redeem_outcome>)> done);

/// Whether a repost URL has earned points already.
void promo_repost_known(database& db, std::string url, std::function<void(result<bool>)> done);

struct repost_outcome {
  bool credited = false; ///< false: the URL or post had earned points already (nothing changed)
  std::string country;
  std::string city;
  int64_t points = 0;
};

/// Records a verified repost once per URL and per (platform, post id) and credits `points` in the promotion's locality.
void save_promo_repost(database& db, uuid promotion, uuid promoter, std::string url, std::string platform,
                       std::string post_id, int64_t points, std::function<void(result<repost_outcome>)> done);

struct leader_row {
  uuid promoter;
  std::string display_name;
  int64_t points = 0;
  int64_t redemptions = 0;
  int64_t reposts = 0;
};

/// The top `limit` promoters of a locality: points descending; ties by who reached the score
/// first, then by id.
void promo_leaderboard(database& db, std::string country, std::string city, size_t limit,
                       std::function<void(result<std::vector<leader_row>>)> done);

} // namespace pactum::persistence
