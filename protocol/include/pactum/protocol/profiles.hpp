#pragma once

// Brand and creator profiles on the wire (REST, docs/api.md): the taxonomy every profile field is
// checked against, the limits, validation of a PUT body into a typed profile with per-field
// errors, and the JSON views (own and public).
//
// Pure: no I/O, no clock. The taxonomy lives here and only here (the collaboration types are the
// offers' own list, `collaboration_types` in events.hpp); docs/api.md lists the same values.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "pactum/common/time.hpp"
#include "pactum/common/uuid.hpp"
#include "pactum/protocol/events.hpp"

namespace pactum::protocol::profiles {

// -- taxonomy --------------------------------------------------------------------------------------

/// What a creator makes content about (1 to `max_niches` of them).
inline constexpr std::string_view niches[] = {
  "art",       "automotive", "beauty",  "business",  "comedy",        "diy",
  "education", "entertainment", "family", "fashion", "finance",       "fitness",
  "food",      "gaming",     "health",  "home",      "lifestyle",     "music",
  "outdoors",  "pets",       "photography", "science", "sports",      "sustainability",
  "tech",      "travel",
};

/// Platforms a creator may list a social account on. The first three are the platforms of the
/// collaboration types.
inline constexpr std::string_view platforms[] = {
  "tiktok", "instagram", "youtube", "twitch", "x", "facebook", "snapchat", "pinterest", "linkedin",
};

/// Audience age bands.
inline constexpr std::string_view age_bands[] = {"13-17", "18-24", "25-34", "35-44",
                                                 "45-54", "55-64", "65+"};

/// Audience gender split keys.
inline constexpr std::string_view genders[] = {"female", "male", "other"};

/// ISO 3166-1 alpha-2 country codes (upper case), sorted.
std::span<const std::string_view> countries() noexcept;

/// ISO 639-1 language codes (lower case), sorted.
std::span<const std::string_view> languages() noexcept;

bool is_niche(std::string_view s) noexcept;
bool is_platform(std::string_view s) noexcept;
bool is_age_band(std::string_view s) noexcept;
bool is_country(std::string_view s) noexcept;
bool is_language(std::string_view s) noexcept;
bool is_collaboration_type(std::string_view s) noexcept;

// -- limits (characters are Unicode code points) ---------------------------------------------------

inline constexpr size_t max_company_name_chars = 120;
inline constexpr size_t max_industry_chars = 80;
inline constexpr size_t max_url_chars = 300;
inline constexpr size_t max_name_chars = 80;
inline constexpr size_t max_email_chars = 254;
inline constexpr size_t max_phone_chars = 20; ///< "+" and 6 to 19 digits; spaces and dashes dropped
inline constexpr size_t max_bio_chars = 2000;
inline constexpr size_t max_city_chars = 100;
inline constexpr size_t max_handle_chars = 64;
inline constexpr size_t max_niches = 5;
inline constexpr size_t max_social_accounts = 10;
inline constexpr size_t max_languages = 10;
inline constexpr size_t max_rates = 20;
inline constexpr size_t max_top_countries = 10;
inline constexpr int64_t max_followers = 2'000'000'000;
inline constexpr int64_t max_average_views = 10'000'000'000;
inline constexpr int64_t max_amount = 100'000'000'000; ///< minor units (a billion of a currency)

// -- profiles ---------------------------------------------------------------------------------------

/// A brand's profile as PUT. `contact_*` is private: shown only to the brand, moderators and
/// admins, and creators who share a contract with the brand.
struct brand_profile {
  std::string company_name;
  std::string industry;
  std::string website;       ///< "" when not given
  bool has_budget = false;
  int64_t budget_min = 0;    ///< minor units
  int64_t budget_max = 0;
  std::string budget_currency;
  std::string contact_name;
  std::string contact_email; ///< trimmed, lower-cased
  std::string contact_phone; ///< "+" and digits, "" when not given
  std::string country;       ///< ISO 3166-1 alpha-2
  /// `version` in the body: replace only this stored version (0: whatever is stored). Not stored.
  int64_t expected_version = 0;
};

/// A creator's profile as PUT. Nested parts are kept as canonical JSON text (only known fields,
/// in a fixed order) for storage; `follower_total` is the sum over the social accounts.
/// Private: `lat`/`lon` (the public view shows country and city only).
struct creator_profile {
  std::string bio;
  std::vector<std::string> niches;
  std::string social_accounts = "[]"; ///< [{platform, handle, followers, average_views, engagement_rate}]
  int64_t follower_total = 0;
  std::string audience = "{}";        ///< {age_bands: {band: %}, gender: {key: %}, top_countries: [{country, percent}]}
  std::string country;
  std::string city;
  std::optional<double> lat;
  std::optional<double> lon;
  std::vector<std::string> languages;
  std::string rates = "[]";           ///< [{type, amount, currency}]
  std::string media_kit_url;
  /// `version` in the body: replace only this stored version (0: whatever is stored). Not stored.
  int64_t expected_version = 0;
  /// Not in a PUT: when the social accounts' figures were last refreshed from the platforms
  /// (shown as `verified_stats`; unset while they are self-declared).
  std::optional<millis> stats_verified_at;
};

/// One invalid field: its path in the body (`social_accounts[1].followers`, `location.lat`) and
/// a sentence a form can show next to it.
struct field_error {
  std::string field;
  std::string message;
  friend bool operator==(const field_error&, const field_error&) = default;
};

template <class Profile>
using validated = std::variant<Profile, std::vector<field_error>>;

/// Validates a PUT body (JSON text). Unknown fields are ignored; every known field is checked and
/// every error is reported at once. A body that is not a JSON object is one error with field "".
validated<brand_profile> parse_brand_profile(std::string_view body);
validated<creator_profile> parse_creator_profile(std::string_view body);

/// Who a profile belongs to and its revision, for the views.
struct profile_meta {
  uuid user;
  std::string display_name;
  int64_t version = 0;
  millis updated_at = 0;
};

/// A brand's contact as stored (JSON object {name, email, phone}), and read back into `p`.
std::string brand_contact_json(const brand_profile& p);
void read_brand_contact(std::string_view stored, brand_profile& p);

/// The JSON view of a profile: `full` includes the private fields.
std::string brand_profile_json(const profile_meta& meta, const brand_profile& p, bool full);
std::string creator_profile_json(const profile_meta& meta, const creator_profile& p, bool full);

} // namespace pactum::protocol::profiles
