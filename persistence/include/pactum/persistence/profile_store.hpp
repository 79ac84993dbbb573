#pragma once

// Profiles (migration 0011), one-time email login codes and the mail outbox (0012), and role
// changes by id. Free functions over `database`: they run on its pool threads, behind the same
// exception boundary and with the same threading rules as its own operations (callbacks on pool
// threads, refusals synchronously on the caller's). No libpqxx type appears here.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pactum/persistence/database.hpp"

namespace pactum::persistence {

/// A brand's profile row (nested `contact` as JSON text the actors layer validated).
struct brand_profile_row {
  uuid user;
  std::string company_name;
  std::string industry;
  std::string website;
  std::optional<int64_t> budget_min; ///< all three set, or none
  std::optional<int64_t> budget_max;
  std::string budget_currency;
  std::string contact; ///< JSON object
  std::string country;
  // read only (set by the database):
  std::string display_name;
  int64_t version = 0;
  millis updated_at = 0;
};

/// A creator's profile row (nested parts as JSON text the actors layer validated).
struct creator_profile_row {
  uuid user;
  std::string bio;
  std::vector<std::string> niches;
  std::string social_accounts; ///< JSON array
  int64_t follower_total = 0;
  std::string audience;        ///< JSON object
  std::string country;
  std::string city;
  std::optional<double> lat;   ///< both set, or none
  std::optional<double> lon;
  std::vector<std::string> languages;
  std::string rates;           ///< JSON array
  std::string media_kit_url;
  // read only (set by the database):
  std::string display_name;
  int64_t version = 0;
  millis updated_at = 0;
  /// When the social accounts' figures last came from the platforms (social_store.hpp); unset
  /// while they are self-declared.
  std::optional<millis> stats_verified_at;
};

/// Inserts or replaces the profile; `expected_version` > 0 replaces only that version
/// (`conflict` otherwise). Answers the stored row (with its new version).
void save_brand_profile(database& db, brand_profile_row row, int64_t expected_version,
                        std::function<void(result<brand_profile_row>)> done);
void save_creator_profile(database& db, creator_profile_row row, int64_t expected_version,
                          std::function<void(result<creator_profile_row>)> done);

/// The profile of `user` if they currently have the role (brand / creator); `not_found` else.
void load_brand_profile(database& db, uuid user, std::function<void(result<brand_profile_row>)> done);
void load_creator_profile(database& db, uuid user,
                          std::function<void(result<creator_profile_row>)> done);

/// True when `brand` and `creator` share a contract: an offer was accepted in their
/// conversation (the contract is created in the same transaction as that event).
void share_contract(database& db, uuid brand, uuid creator, std::function<void(result<bool>)> done);

/// Sets the role of the user with this id; answers the updated user. `not_found` for no user.
void set_role_by_id(database& db, uuid user, std::string role,
                    std::function<void(result<user_row>)> done);

/// A mail to put into the outbox.
struct outbox_mail {
  std::string to;
  std::string subject;
  std::string body;
};

/// For the account with this (normalised) email: replaces its unused login codes with a new one
/// (hash stored, expiring at `expires_at`) and queues `mail` in the same transaction. Answers the
/// outbox row id, or nullopt when no account has this email (nothing is written).
void issue_login_code(database& db, std::string email, std::string code_hash, millis expires_at,
                      outbox_mail mail, std::function<void(result<std::optional<int64_t>>)> done);

/// What presenting a login code did.
enum class code_outcome : uint8_t {
  accepted, ///< it matched the live code, which is now used
  wrong,    ///< there is a live code and it did not match: one attempt counted
  invalid,  ///< no live code (unknown email, none issued, used, expired, or out of attempts)
};

struct code_check {
  code_outcome outcome = code_outcome::invalid;
  std::optional<user_row> user; ///< set when accepted
};

/// Checks `code_hash` against the newest unused code of the account with this email, in one
/// transaction with the code row locked (two concurrent guesses are serialised). A code is live
/// while unused, unexpired and below `max_attempts` wrong guesses.
void use_login_code(database& db, std::string email, std::string code_hash, int max_attempts,
                    std::function<void(result<code_check>)> done);

} // namespace pactum::persistence
