#include "pactum/protocol/profiles.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "utf8.hpp"

namespace pactum::protocol::profiles {

using json = nlohmann::json;

namespace {

// ISO 3166-1 alpha-2 and ISO 639-1, from Debian's iso-codes (sorted, for binary search).
constexpr std::string_view country_codes[] = {
  "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
  "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
  "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
  "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
  "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
  "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
  "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
  "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
  "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
  "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
  "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
  "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
  "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
  "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
  "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
  "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
};

constexpr std::string_view language_codes[] = {
  "aa", "ab", "ae", "af", "ak", "am", "an", "ar", "as", "av", "ay", "az", "ba", "be", "bg", "bh",
  "bi", "bm", "bn", "bo", "br", "bs", "ca", "ce", "ch", "co", "cr", "cs", "cu", "cv", "cy", "da",
  "de", "dv", "dz", "ee", "el", "en", "eo", "es", "et", "eu", "fa", "ff", "fi", "fj", "fo", "fr",
  "fy", "ga", "gd", "gl", "gn", "gu", "gv", "ha", "he", "hi", "ho", "hr", "ht", "hu", "hy", "hz",
  "ia", "id", "ie", "ig", "ii", "ik", "io", "is", "it", "iu", "ja", "jv", "ka", "kg", "ki", "kj",
  "kk", "kl", "km", "kn", "ko", "kr", "ks", "ku", "kv", "kw", "ky", "la", "lb", "lg", "li", "ln",
  "lo", "lt", "lu", "lv", "mg", "mh", "mi", "mk", "ml", "mn", "mr", "ms", "mt", "my", "na", "nb",
  "nd", "ne", "ng", "nl", "nn", "no", "nr", "nv", "ny", "oc", "oj", "om", "or", "os", "pa", "pi",
  "pl", "ps", "pt", "qu", "rm", "rn", "ro", "ru", "rw", "sa", "sc", "sd", "se", "sg", "si", "sk",
  "sl", "sm", "sn", "so", "sq", "sr", "ss", "st", "su", "sv", "sw", "ta", "te", "tg", "th", "ti",
  "tk", "tl", "tn", "to", "tr", "ts", "tt", "tw", "ty", "ug", "uk", "ur", "uz", "ve", "vi", "vo",
  "wa", "wo", "xh", "yi", "yo", "za", "zh", "zu",
};

template <class Range>
bool in(const Range& r, std::string_view x) {
  return std::find(std::begin(r), std::end(r), x) != std::end(r);
}

template <class Range>
std::string listing(const Range& r) {
  std::string out;
  for (std::string_view x : r) {
    if (!out.empty())
      out += ", ";
    out += x;
  }
  return out;
}

/// 2000000000 -> "2,000,000,000".
std::string with_commas(int64_t n) {
  auto digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0)
      out += ',';
    out += digits[i];
  }
  return out;
}

bool has_control(std::string_view s, bool allow_newlines) {
  return std::any_of(s.begin(), s.end(), [&](unsigned char c) {
    return (c < 0x20 && !(allow_newlines && (c == '\n' || c == '\t'))) || c == 0x7f;
  });
}

std::string trim(std::string s) {
  auto not_space = [](unsigned char c) { return c != ' ' && c != '\t' && c != '\n' && c != '\r'; };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

/// Collects the errors of one body; each check names the field it reports on.
class checker {
public:
  std::vector<field_error> errors;

  void fail(std::string field, std::string message) {
    errors.push_back({std::move(field), std::move(message)});
  }

  /// A text field: trimmed; "" when absent and optional. Single-line unless `multiline`.
  std::optional<std::string> text(const json& obj, const std::string& path, const char* key,
                                  bool required, size_t max_chars, bool multiline = false) {
    auto field = join(path, key);
    auto i = obj.find(key);
    if (i == obj.end() || i->is_null()) {
      if (required) {
        fail(field, "is required");
        return std::nullopt;
      }
      return std::string{};
    }
    if (!i->is_string()) {
      fail(field, "must be text");
      return std::nullopt;
    }
    auto s = trim(i->get<std::string>());
    auto n = detail::utf8_length(s);
    if (!n) {
      fail(field, "must be valid UTF-8 text");
      return std::nullopt;
    }
    if ((required && *n == 0) || *n > max_chars) {
      fail(field, required ? "must be 1 to " + std::to_string(max_chars) + " characters long"
                           : "must be at most " + std::to_string(max_chars) + " characters long");
      return std::nullopt;
    }
    if (has_control(s, multiline)) {
      fail(field, multiline ? "must not contain control characters"
                            : "must be one line without control characters");
      return std::nullopt;
    }
    return s;
  }

  /// A whole number in [lo, hi].
  std::optional<int64_t> whole(const json& v, const std::string& field, int64_t lo, int64_t hi) {
    auto msg = "must be a whole number from " + with_commas(lo) + " to " + with_commas(hi);
    if (v.is_number_unsigned()) {
      auto u = v.get<uint64_t>();
      if (u <= static_cast<uint64_t>(hi) && static_cast<int64_t>(u) >= lo)
        return static_cast<int64_t>(u);
    } else if (v.is_number_integer()) {
      auto x = v.get<int64_t>();
      if (x >= lo && x <= hi)
        return x;
    }
    fail(field, msg);
    return std::nullopt;
  }

  /// A number (fractions allowed) in [lo, hi].
  std::optional<double> number(const json& v, const std::string& field, double lo, double hi,
                               const std::string& what) {
    if (v.is_number()) {
      auto x = v.get<double>();
      if (std::isfinite(x) && x >= lo && x <= hi)
        return x;
    }
    fail(field, what);
    return std::nullopt;
  }

  /// An object member that must be an object (or absent when optional).
  const json* object(const json& obj, const std::string& path, const char* key, bool required) {
    auto field = join(path, key);
    auto i = obj.find(key);
    if (i == obj.end() || i->is_null()) {
      if (required)
        fail(field, "is required");
      return nullptr;
    }
    if (!i->is_object()) {
      fail(field, "must be an object");
      return nullptr;
    }
    return &*i;
  }

  /// An object member that must be an array of at most `max` items (or absent when optional).
  const json* array(const json& obj, const std::string& path, const char* key, bool required,
                    size_t min, size_t max) {
    auto field = join(path, key);
    auto i = obj.find(key);
    if (i == obj.end() || i->is_null()) {
      if (required)
        fail(field, "is required");
      return nullptr;
    }
    if (!i->is_array()) {
      fail(field, "must be a list");
      return nullptr;
    }
    if (i->size() < min || i->size() > max) {
      fail(field, min > 0 ? "must list " + std::to_string(min) + " to " + std::to_string(max) + " items"
                          : "must list at most " + std::to_string(max) + " items");
      return nullptr;
    }
    return &*i;
  }

  /// A list of distinct codes from a fixed set.
  std::vector<std::string> codes(const json& obj, const char* key, size_t min, size_t max,
                                 bool (*valid)(std::string_view) noexcept, const std::string& what) {
    std::vector<std::string> out;
    auto* list = array(obj, "", key, min > 0, min, max);
    if (!list)
      return out;
    for (size_t i = 0; i < list->size(); ++i) {
      auto field = std::string{key} + "[" + std::to_string(i) + "]";
      auto& v = (*list)[i];
      if (!v.is_string() || !valid(v.get<std::string>())) {
        fail(field, what);
        continue;
      }
      auto s = v.get<std::string>();
      if (std::find(out.begin(), out.end(), s) != out.end()) {
        fail(field, "is listed twice");
        continue;
      }
      out.push_back(std::move(s));
    }
    return out;
  }

  static std::string join(const std::string& path, const char* key) {
    return path.empty() ? std::string{key} : path + "." + key;
  }
};

bool plausible_email(const std::string& e) {
  if (e.size() < 3 || e.size() > max_email_chars)
    return false;
  auto at = e.find('@');
  if (at == std::string::npos || at == 0 || e.find('@', at + 1) != std::string::npos)
    return false;
  auto domain = e.substr(at + 1);
  auto dot = domain.find('.');
  if (dot == std::string::npos || dot == 0 || domain.back() == '.')
    return false;
  return std::none_of(e.begin(), e.end(), [](unsigned char c) { return c <= 0x20 || c == 0x7f; });
}

bool plausible_url(const std::string& u) {
  std::string_view rest{u};
  if (rest.starts_with("https://"))
    rest.remove_prefix(8);
  else if (rest.starts_with("http://"))
    rest.remove_prefix(7);
  else
    return false;
  auto host = rest.substr(0, rest.find_first_of("/?#"));
  if (host.empty() || host.find('.') == std::string_view::npos || host.front() == '.')
    return false;
  return std::none_of(u.begin(), u.end(), [](unsigned char c) { return c <= 0x20 || c == 0x7f; });
}

bool currency_code(const json& v) {
  if (!v.is_string())
    return false;
  auto s = v.get<std::string>();
  return s.size() == 3 && std::all_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

constexpr const char* url_rule = "must be a web address starting with https:// or http://";

std::optional<std::string> url_field(checker& c, const json& body, const char* key) {
  auto s = c.text(body, "", key, false, max_url_chars);
  if (s && !s->empty() && !plausible_url(*s)) {
    c.fail(key, url_rule);
    return std::nullopt;
  }
  return s;
}

/// The optional `version` (optimistic concurrency).
int64_t version_field(checker& c, const json& body) {
  auto v = body.find("version");
  if (v == body.end() || v->is_null())
    return 0;
  return c.whole(*v, "version", 1, std::numeric_limits<int64_t>::max()).value_or(0);
}

std::optional<json> parse_object(std::string_view body, checker& c) {
  auto doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    c.fail("", "the body must be a JSON object");
    return std::nullopt;
  }
  return doc;
}

/// Sums of percentages may exceed 100 by rounding, not more.
constexpr double percent_sum_slack = 1.0;

json audience_of(checker& c, const json& a) {
  json out = json::object();
  if (auto* bands = c.object(a, "audience", "age_bands", false)) {
    json o = json::object();
    double sum = 0;
    for (auto& [band, v] : bands->items()) {
      auto field = "audience.age_bands." + band;
      if (!is_age_band(band)) {
        c.fail(field, "is not an age band; use " + listing(age_bands));
        continue;
      }
      if (auto p = c.number(v, field, 0, 100, "must be a percentage from 0 to 100")) {
        o[band] = *p;
        sum += *p;
      }
    }
    if (sum > 100 + percent_sum_slack)
      c.fail("audience.age_bands", "must add up to at most 100 percent");
    out["age_bands"] = std::move(o);
  }
  if (auto* gender = c.object(a, "audience", "gender", false)) {
    json o = json::object();
    double sum = 0;
    for (auto& [key, v] : gender->items()) {
      auto field = "audience.gender." + key;
      if (!in(genders, key)) {
        c.fail(field, "is not a gender key; use " + listing(genders));
        continue;
      }
      if (auto p = c.number(v, field, 0, 100, "must be a percentage from 0 to 100")) {
        o[key] = *p;
        sum += *p;
      }
    }
    if (sum > 100 + percent_sum_slack)
      c.fail("audience.gender", "must add up to at most 100 percent");
    out["gender"] = std::move(o);
  }
  if (auto* top = c.array(a, "audience", "top_countries", false, 0, max_top_countries)) {
    json list = json::array();
    std::set<std::string> seen;
    double sum = 0;
    for (size_t i = 0; i < top->size(); ++i) {
      auto path = "audience.top_countries[" + std::to_string(i) + "]";
      auto& item = (*top)[i];
      if (!item.is_object()) {
        c.fail(path, "must be an object with country and percent");
        continue;
      }
      auto country = item.find("country");
      bool ok = true;
      if (country == item.end() || !country->is_string() || !is_country(country->get<std::string>())) {
        c.fail(path + ".country", "must be an ISO 3166-1 country code like \"US\"");
        ok = false;
      } else if (!seen.insert(country->get<std::string>()).second) {
        c.fail(path + ".country", "is listed twice");
        ok = false;
      }
      auto pv = item.find("percent");
      auto p = pv == item.end() ? (c.fail(path + ".percent", "is required"), std::optional<double>{})
                                : c.number(*pv, path + ".percent", 0, 100,
                                           "must be a percentage from 0 to 100");
      if (ok && p) {
        list.push_back(json{{"country", country->get<std::string>()}, {"percent", *p}});
        sum += *p;
      }
    }
    if (sum > 100 + percent_sum_slack)
      c.fail("audience.top_countries", "must add up to at most 100 percent");
    out["top_countries"] = std::move(list);
  }
  return out;
}

} // namespace

std::span<const std::string_view> countries() noexcept {
  return country_codes;
}

std::span<const std::string_view> languages() noexcept {
  return language_codes;
}

bool is_niche(std::string_view s) noexcept {
  return in(niches, s);
}
bool is_platform(std::string_view s) noexcept {
  return in(platforms, s);
}
bool is_age_band(std::string_view s) noexcept {
  return in(age_bands, s);
}
bool is_country(std::string_view s) noexcept {
  return std::binary_search(std::begin(country_codes), std::end(country_codes), s);
}
bool is_language(std::string_view s) noexcept {
  return std::binary_search(std::begin(language_codes), std::end(language_codes), s);
}
bool is_collaboration_type(std::string_view s) noexcept {
  return std::any_of(std::begin(collaboration_types), std::end(collaboration_types),
                     [&](const collaboration_type& t) { return t.name == s; });
}

validated<brand_profile> parse_brand_profile(std::string_view text) {
  checker c;
  auto doc = parse_object(text, c);
  if (!doc)
    return std::move(c.errors);
  auto& body = *doc;
  brand_profile p;
  p.expected_version = version_field(c, body);
  if (auto s = c.text(body, "", "company_name", true, max_company_name_chars))
    p.company_name = std::move(*s);
  if (auto s = c.text(body, "", "industry", true, max_industry_chars))
    p.industry = std::move(*s);
  if (auto s = url_field(c, body, "website"))
    p.website = std::move(*s);
  if (auto* budget = c.object(body, "", "budget", false)) {
    auto lo = budget->find("min");
    auto hi = budget->find("max");
    std::optional<int64_t> min, max;
    if (lo == budget->end())
      c.fail("budget.min", "is required");
    else
      min = c.whole(*lo, "budget.min", 0, max_amount);
    if (hi == budget->end())
      c.fail("budget.max", "is required");
    else
      max = c.whole(*hi, "budget.max", 0, max_amount);
    if (min && max && *max < *min)
      c.fail("budget.max", "must not be below budget.min");
    auto cur = budget->find("currency");
    if (cur == budget->end() || !currency_code(*cur))
      c.fail("budget.currency", "must be an ISO 4217 currency code like \"USD\"");
    else if (min && max) {
      p.has_budget = true;
      p.budget_min = *min;
      p.budget_max = *max;
      p.budget_currency = cur->get<std::string>();
    }
  }
  if (auto* contact = c.object(body, "", "contact", true)) {
    if (auto s = c.text(*contact, "contact", "name", true, max_name_chars))
      p.contact_name = std::move(*s);
    if (auto s = c.text(*contact, "contact", "email", true, max_email_chars)) {
      std::transform(s->begin(), s->end(), s->begin(),
                     [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      if (!plausible_email(*s))
        c.fail("contact.email", "must be an email address like name@example.com");
      else
        p.contact_email = std::move(*s);
    }
    if (auto s = c.text(*contact, "contact", "phone", false, 40); s && !s->empty()) {
      std::string digits;
      bool ok = s->front() == '+';
      for (size_t i = 1; ok && i < s->size(); ++i) {
        char ch = (*s)[i];
        if (ch >= '0' && ch <= '9')
          digits += ch;
        else if (ch != ' ' && ch != '-' && ch != '(' && ch != ')' && ch != '.')
          ok = false;
      }
      if (!ok || digits.size() < 6 || digits.size() + 1 > max_phone_chars)
        c.fail("contact.phone", "must be an international number like +44 20 7946 0958");
      else
        p.contact_phone = "+" + digits;
    }
  }
  auto country = body.find("country");
  if (country == body.end() || !country->is_string() || !is_country(country->get<std::string>()))
    c.fail("country", "must be an ISO 3166-1 country code like \"US\"");
  else
    p.country = country->get<std::string>();
  if (!c.errors.empty())
    return std::move(c.errors);
  return p;
}

validated<creator_profile> parse_creator_profile(std::string_view text) {
  checker c;
  auto doc = parse_object(text, c);
  if (!doc)
    return std::move(c.errors);
  auto& body = *doc;
  creator_profile p;
  p.expected_version = version_field(c, body);
  if (auto s = c.text(body, "", "bio", false, max_bio_chars, true))
    p.bio = std::move(*s);
  p.niches = c.codes(body, "niches", 1, max_niches, &is_niche,
                     "is not a niche; use one of " + listing(niches));
  if (auto* list = c.array(body, "", "social_accounts", false, 0, max_social_accounts)) {
    json out = json::array();
    std::set<std::pair<std::string, std::string>> seen;
    int64_t total = 0;
    for (size_t i = 0; i < list->size(); ++i) {
      auto path = "social_accounts[" + std::to_string(i) + "]";
      auto& a = (*list)[i];
      if (!a.is_object()) {
        c.fail(path, "must be an object");
        continue;
      }
      auto before = c.errors.size();
      std::string platform;
      auto pl = a.find("platform");
      if (pl == a.end() || !pl->is_string() || !is_platform(pl->get<std::string>()))
        c.fail(path + ".platform", "must be one of " + listing(platforms));
      else
        platform = pl->get<std::string>();
      auto handle = c.text(a, path, "handle", true, max_handle_chars);
      if (handle && handle->find(' ') != std::string::npos) {
        c.fail(path + ".handle", "must not contain spaces");
        handle.reset();
      }
      auto get_whole = [&](const char* key, int64_t hi) -> std::optional<int64_t> {
        auto v = a.find(key);
        if (v == a.end()) {
          c.fail(path + "." + key, "is required");
          return std::nullopt;
        }
        return c.whole(*v, path + "." + key, 0, hi);
      };
      auto followers = get_whole("followers", max_followers);
      auto views = get_whole("average_views", max_average_views);
      std::optional<double> engagement;
      if (auto e = a.find("engagement_rate"); e == a.end())
        c.fail(path + ".engagement_rate", "is required");
      else
        engagement = c.number(*e, path + ".engagement_rate", 0, 100,
                              "must be a percentage from 0 to 100");
      if (c.errors.size() != before)
        continue;
      if (!seen.emplace(platform, *handle).second) {
        c.fail(path, "lists the same account twice");
        continue;
      }
      total += *followers;
      out.push_back(json{{"platform", platform},
                         {"handle", *handle},
                         {"followers", *followers},
                         {"average_views", *views},
                         {"engagement_rate", *engagement}});
    }
    p.social_accounts = out.dump();
    p.follower_total = total;
  }
  if (auto* a = c.object(body, "", "audience", false))
    p.audience = audience_of(c, *a).dump();
  if (auto* loc = c.object(body, "", "location", true)) {
    auto country = loc->find("country");
    if (country == loc->end() || !country->is_string() || !is_country(country->get<std::string>()))
      c.fail("location.country", "must be an ISO 3166-1 country code like \"US\"");
    else
      p.country = country->get<std::string>();
    if (auto s = c.text(*loc, "location", "city", false, max_city_chars))
      p.city = std::move(*s);
    auto lat = loc->find("lat");
    auto lon = loc->find("lon");
    bool has_lat = lat != loc->end() && !lat->is_null();
    bool has_lon = lon != loc->end() && !lon->is_null();
    if (has_lat != has_lon)
      c.fail(has_lat ? "location.lon" : "location.lat", "is required with the other coordinate");
    else if (has_lat) {
      p.lat = c.number(*lat, "location.lat", -90, 90, "must be a latitude from -90 to 90");
      p.lon = c.number(*lon, "location.lon", -180, 180, "must be a longitude from -180 to 180");
    }
  }
  p.languages = c.codes(body, "languages", 1, max_languages, &is_language,
                        "must be an ISO 639-1 language code like \"en\"");
  if (auto* list = c.array(body, "", "rates", false, 0, max_rates)) {
    json out = json::array();
    std::set<std::pair<std::string, std::string>> seen;
    for (size_t i = 0; i < list->size(); ++i) {
      auto path = "rates[" + std::to_string(i) + "]";
      auto& r = (*list)[i];
      if (!r.is_object()) {
        c.fail(path, "must be an object");
        continue;
      }
      auto before = c.errors.size();
      auto type = r.find("type");
      if (type == r.end() || !type->is_string() || !is_collaboration_type(type->get<std::string>())) {
        std::string names;
        for (auto& t : collaboration_types)
          names += (names.empty() ? "" : ", ") + std::string{t.name};
        c.fail(path + ".type", "must be a collaboration type: " + names);
      }
      std::optional<int64_t> amount;
      if (auto v = r.find("amount"); v == r.end())
        c.fail(path + ".amount", "is required");
      else
        amount = c.whole(*v, path + ".amount", 1, max_amount);
      auto cur = r.find("currency");
      if (cur == r.end() || !currency_code(*cur))
        c.fail(path + ".currency", "must be an ISO 4217 currency code like \"USD\"");
      if (c.errors.size() != before)
        continue;
      if (!seen.emplace(type->get<std::string>(), cur->get<std::string>()).second) {
        c.fail(path, "repeats a type and currency listed before");
        continue;
      }
      out.push_back(json{{"type", type->get<std::string>()},
                         {"amount", *amount},
                         {"currency", cur->get<std::string>()}});
    }
    p.rates = out.dump();
  }
  if (auto s = url_field(c, body, "media_kit_url"))
    p.media_kit_url = std::move(*s);
  if (!c.errors.empty())
    return std::move(c.errors);
  return p;
}

namespace {

json meta_json(const profile_meta& m, const char* role) {
  return json{{"user_id", m.user.str()},
              {"display_name", m.display_name},
              {"role", role},
              {"version", m.version},
              {"updated_at", m.updated_at}};
}

json parsed(const std::string& stored, json fallback) {
  auto j = json::parse(stored, nullptr, false);
  return j.is_discarded() ? fallback : j;
}

} // namespace

std::string brand_contact_json(const brand_profile& p) {
  return json{{"name", p.contact_name}, {"email", p.contact_email}, {"phone", p.contact_phone}}.dump();
}

void read_brand_contact(std::string_view stored, brand_profile& p) {
  auto j = json::parse(stored, nullptr, false);
  if (!j.is_object())
    return;
  p.contact_name = j.value("name", "");
  p.contact_email = j.value("email", "");
  p.contact_phone = j.value("phone", "");
}

std::string brand_profile_json(const profile_meta& meta, const brand_profile& p, bool full) {
  auto j = meta_json(meta, "brand");
  j["company_name"] = p.company_name;
  j["industry"] = p.industry;
  j["website"] = p.website;
  j["budget"] = p.has_budget ? json{{"min", p.budget_min}, {"max", p.budget_max},
                                    {"currency", p.budget_currency}}
                             : json(nullptr);
  j["country"] = p.country;
  if (full)
    j["contact"] = json::parse(brand_contact_json(p));
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string creator_profile_json(const profile_meta& meta, const creator_profile& p, bool full) {
  auto j = meta_json(meta, "creator");
  j["bio"] = p.bio;
  j["niches"] = p.niches;
  j["social_accounts"] = parsed(p.social_accounts, json::array());
  j["follower_total"] = p.follower_total;
  j["audience"] = parsed(p.audience, json::object());
  json loc{{"country", p.country}, {"city", p.city}};
  if (full) {
    loc["lat"] = p.lat ? json(*p.lat) : json(nullptr);
    loc["lon"] = p.lon ? json(*p.lon) : json(nullptr);
  }
  j["location"] = std::move(loc);
  j["languages"] = p.languages;
  j["rates"] = parsed(p.rates, json::array());
  j["media_kit_url"] = p.media_kit_url;
  j["verified_stats"] = p.stats_verified_at ? json{{"refreshed_at", *p.stats_verified_at}} : json(nullptr);
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace pactum::protocol::profiles
