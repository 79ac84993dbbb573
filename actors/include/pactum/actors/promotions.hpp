#pragma once

// Local promotions as the gateway sees them (docs/api.md, "Local promotions"): a business (brand)
// creates a promotion for one locality; promoters (creators) join and get single-use QR codes
// carrying a signed token (promo_token.hpp); the business redeems a code exactly once; promoters
// earn points per redemption and per verified repost; a leaderboard per locality, also pushed
// live to WebSocket subscribers (`leaderboard.subscribe`) at most once per
// `promo_push_interval`.
//
// No CAF type here. Storage runs on the persistence pool; the live leaderboards are one actor
// (the hub, registered in the actor system's registry as "promohub") that session actors ask.
// Every answer is a JSON object as text, or an api_error in the documented shape; callbacks run
// on a persistence, social-client or runtime thread and must not block. Owned by the runtime
// (`runtime::promotions()`); created after its actor system, destroyed before it.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "pactum/actors/runtime.hpp"

namespace caf {
class actor_system;
}

namespace pactum::actors {

struct services;

/// A promotion's place. `country`: ISO 3166-1 alpha-2, upper case. `city`: trimmed, runs of
/// white space collapsed to one space, ASCII letters lower-cased ("  New   York " → "new york").
/// `key()` is "CC:city", the form `?locality=` and `leaderboard.subscribe` take.
struct locality {
  std::string country;
  std::string city;
  std::string key() const { return country + ":" + city; }
};

/// The normalised locality, or nullopt with the reason in `why` (country not two letters, city
/// empty or longer than 100 bytes after normalisation).
std::optional<locality> normalise_locality(std::string_view country, std::string_view city,
                                           std::string* why = nullptr);
/// Parses "CC:City" (then normalises it).
std::optional<locality> parse_locality(std::string_view text, std::string* why = nullptr);

class promotion_service {
public:
  using json_answer = std::function<void(expected<std::string, api_error>)>;

  promotion_service(services& svc, caf::actor_system& sys, runtime& rt);
  ~promotion_service();
  promotion_service(const promotion_service&) = delete;
  promotion_service& operator=(const promotion_service&) = delete;

  /// `POST /api/v1/promotions` (brands): `body_json` {title, reward: {amount, currency},
  /// budget, valid_from, valid_until, locality: {country, city}}; 400 with per-field errors.
  void create(principal who, std::string body_json, json_answer done);
  /// Active promotions of a locality (valid now, budget left), newest first.
  void list(principal who, std::string locality_text, size_t limit, json_answer done);
  void get(principal who, uuid id, json_answer done);
  /// The business pauses, resumes ("active") or closes (final) its promotion.
  void set_status(principal who, uuid id, std::string to, json_answer done);
  /// A creator joins (idempotent).
  void join(principal who, uuid id, json_answer done);
  /// A promoter gets `count` (1..promo_max_codes) new codes.
  void issue_codes(principal who, uuid id, int64_t count, json_answer done);
  /// The token of code `nonce_hex` for rendering: its promoter and the business only.
  void code_token(principal who, uuid id, std::string nonce_hex,
                  std::function<void(expected<std::string, api_error>)> done);
  /// The business redeems a scanned token (audited as "promotion.redeem").
  void redeem(principal who, std::string token, json_answer done);
  /// A promoter submits a repost (a post URL on `platform`); verified with the social platform
  /// (disclosure "any"), once per URL; earns points.
  void repost(principal who, uuid id, std::string platform, std::string url, json_answer done);
  /// The top `limit` promoters of a locality.
  void leaderboard(principal who, std::string locality_text, size_t limit, json_answer done);

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

} // namespace pactum::actors
