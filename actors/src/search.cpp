// runtime: creator search (docs/api.md "Creator search").
//
// Like the profile operations this runs outside CAF: the policy check and the validation of the
// query parameters inline (pure), the query on the persistence pool (persistence/search_store),
// the answer built on its thread. Nothing here blocks a CAF or Asio thread.
//
// Every parameter is checked and all invalid ones are reported at once (400, `fields`), the same
// shape as a profile PUT. The cursor is opaque to clients: base64url of "<sort>.<key>.<user id>",
// the sort key and user id of the last row shown, so the next page starts strictly after it in the
// (key desc, user id desc) order and rows never repeat or go missing while nothing changes.

#include <algorithm>
#include <charconv>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>

#include <nlohmann/json.hpp>
#include <sodium.h>
#include <spdlog/fmt/fmt.h>

#include "pactum/actors/policy.hpp"
#include "pactum/actors/runtime.hpp"
#include "pactum/persistence/database.hpp"
#include "pactum/persistence/search_store.hpp"
#include "pactum/protocol/profiles.hpp"

namespace pactum::actors {

namespace {

using json = nlohmann::json;
using protocol::error_code;
namespace pp = protocol::profiles;
using persistence::creator_sort;

/// The default for `audience_min_share` (percent).
constexpr double default_min_share = 10;
constexpr size_t default_page = 20;
constexpr size_t max_cursor_chars = 200;

constexpr std::string_view parameters[] = {
  "niche",          "platform",        "followers_min",      "followers_max", "engagement_min",
  "engagement_max", "audience_country", "audience_age",      "audience_min_share", "country",
  "lat",            "lon",             "radius_km",          "language",      "rate_type",
  "rate_currency",  "rate_min",        "rate_max",           "q",             "sort",
  "limit",          "cursor",
};

std::string_view sort_name(creator_sort s) {
  switch (s) {
    case creator_sort::relevance:
      return "relevance";
    case creator_sort::followers:
      return "followers";
    case creator_sort::engagement:
      return "engagement";
  }
  return "followers";
}

/// Code points of valid UTF-8 without control characters; nullopt when it is not.
std::optional<size_t> text_chars(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > s.size())
      return std::nullopt;
    for (size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80)
        return std::nullopt;
    if (len == 1 && (c < 0x20 || c == 0x7F))
      return std::nullopt;
    i += len;
    ++n;
  }
  return n;
}

std::optional<int64_t> whole(std::string_view v, int64_t lo, int64_t hi) {
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc{} || end != v.data() + v.size() || n < lo || n > hi)
    return std::nullopt;
  return n;
}

std::optional<double> decimal(std::string_view v, double lo, double hi) {
  if (v.empty() || v.size() > 32)
    return std::nullopt;
  // strtod wants a terminated string and accepts forms we do not ("inf", hex): check the shape.
  for (char c : v)
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '+' && c != 'e'
        && c != 'E')
      return std::nullopt;
  std::string s{v};
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(d) || d < lo || d > hi)
    return std::nullopt;
  return d;
}

std::vector<std::string> split_list(std::string_view v) {
  std::vector<std::string> out;
  while (true) {
    auto comma = v.find(',');
    out.emplace_back(v.substr(0, comma));
    if (comma == std::string_view::npos)
      break;
    v.remove_prefix(comma + 1);
  }
  return out;
}

std::string base64url(std::string_view raw) {
  std::string out(sodium_base64_ENCODED_LEN(raw.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(raw.data()),
                    raw.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(out.size() - 1); // the terminating NUL
  return out;
}

std::optional<std::string> from_base64url(std::string_view text) {
  std::string out(text.size(), '\0');
  size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &len, nullptr, sodium_base64_VARIANT_URLSAFE_NO_PADDING)
      != 0)
    return std::nullopt;
  out.resize(len);
  return out;
}

std::string cursor_of(creator_sort sort, const persistence::creator_hit& last) {
  auto key = sort == creator_sort::followers ? std::to_string(static_cast<int64_t>(last.sort_key))
                                             : fmt::format("{}", last.sort_key);
  return base64url(std::string{sort_name(sort)} + "." + key + "." + last.profile.user.str());
}

/// Reads a cursor made by `cursor_of` for the same sort into `q`; false when it is not one.
bool read_cursor(std::string_view text, persistence::creator_search& q) {
  auto raw = from_base64url(text);
  if (!raw)
    return false;
  std::string_view s = *raw;
  auto dot1 = s.find('.');
  auto dot2 = s.rfind('.');
  if (dot1 == std::string_view::npos || dot2 == dot1 || s.substr(0, dot1) != sort_name(q.sort))
    return false;
  auto key = s.substr(dot1 + 1, dot2 - dot1 - 1);
  auto user = uuid::parse(s.substr(dot2 + 1));
  if (!user)
    return false;
  if (q.sort == creator_sort::followers) {
    auto k = whole(key, 0, std::numeric_limits<int64_t>::max());
    if (!k)
      return false;
    q.after_key = static_cast<double>(*k);
  } else {
    auto k = decimal(key, -1e9, 1e9);
    if (!k)
      return false;
    q.after_key = *k;
  }
  q.after_user = *user;
  return true;
}

struct parsed_query {
  persistence::creator_search q;
  std::vector<std::pair<std::string, std::string>> errors;
};

/// Validates every parameter; reports each invalid one under its name.
parsed_query parse(const std::vector<std::pair<std::string, std::string>>& params,
                   const runtime_config& cfg) {
  parsed_query out;
  auto& q = out.q;
  auto& errors = out.errors;
  auto bad = [&](const std::string& field, std::string msg) {
    for (auto& e : errors)
      if (e.first == field)
        return;
    errors.emplace_back(field, std::move(msg));
  };
  std::map<std::string, std::string> given;
  for (const auto& [name, value] : params) {
    if (std::find(std::begin(parameters), std::end(parameters), name) == std::end(parameters)) {
      bad(name.size() <= 40 ? name : name.substr(0, 40), "is not a search parameter");
      continue;
    }
    if (name == "niche" || name == "language") {
      // Lists: comma-separated, and the parameter may repeat.
      auto& v = given[name];
      v += (v.empty() ? "" : ",") + value;
      continue;
    }
    if (given.count(name)) {
      bad(name, "is given more than once");
      continue;
    }
    given[name] = value;
  }
  auto get = [&](const char* name) -> const std::string* {
    auto i = given.find(name);
    return i == given.end() ? nullptr : &i->second;
  };

  if (auto* v = get("niche")) {
    for (auto& n : split_list(*v)) {
      if (!pp::is_niche(n))
        bad("niche", "must be niches from the taxonomy, comma-separated (art, automotive, …)");
      else if (std::find(q.niches.begin(), q.niches.end(), n) == q.niches.end())
        q.niches.push_back(n);
    }
  }
  if (auto* v = get("language")) {
    for (auto& l : split_list(*v)) {
      if (!pp::is_language(l))
        bad("language", "must be ISO 639-1 codes (en, de, …), comma-separated");
      else if (std::find(q.languages.begin(), q.languages.end(), l) == q.languages.end())
        q.languages.push_back(l);
    }
  }
  if (auto* v = get("platform")) {
    if (!pp::is_platform(*v))
      bad("platform", "must be a platform (tiktok, instagram, youtube, …)");
    else
      q.platform = *v;
  }
  auto whole_range = [&](const char* lo_name, const char* hi_name, int64_t max,
                         std::optional<int64_t>& lo, std::optional<int64_t>& hi, const char* what) {
    auto msg = fmt::format("must be a whole number from 0 to {}", max);
    if (auto* v = get(lo_name); v && !(lo = whole(*v, 0, max)))
      bad(lo_name, msg);
    if (auto* v = get(hi_name); v && !(hi = whole(*v, 0, max)))
      bad(hi_name, msg);
    if (lo && hi && *lo > *hi)
      bad(hi_name, fmt::format("must not be below {}", what));
  };
  whole_range("followers_min", "followers_max", pp::max_followers * 10, q.followers_min,
              q.followers_max, "followers_min");
  if (auto* v = get("engagement_min"); v && !(q.engagement_min = decimal(*v, 0, 100)))
    bad("engagement_min", "must be a percentage from 0 to 100");
  if (auto* v = get("engagement_max"); v && !(q.engagement_max = decimal(*v, 0, 100)))
    bad("engagement_max", "must be a percentage from 0 to 100");
  if (q.engagement_min && q.engagement_max && *q.engagement_min > *q.engagement_max)
    bad("engagement_max", "must not be below engagement_min");

  if (auto* v = get("audience_country")) {
    if (!pp::is_country(*v))
      bad("audience_country", "must be an ISO 3166-1 alpha-2 code (DE, upper case)");
    else
      q.audience_country = *v;
  }
  if (auto* v = get("audience_age")) {
    // "65+" arrives as "65 " when a client forgets to escape the plus.
    auto band = *v == "65 " ? std::string{"65+"} : *v;
    if (!pp::is_age_band(band))
      bad("audience_age", "must be an age band (13-17, 18-24, 25-34, 35-44, 45-54, 55-64, 65+)");
    else
      q.audience_age_band = band;
  }
  q.audience_min_share = default_min_share;
  if (auto* v = get("audience_min_share")) {
    auto s = decimal(*v, 0, 100);
    if (!s || *s <= 0)
      bad("audience_min_share", "must be a percentage above 0 and at most 100");
    else
      q.audience_min_share = *s;
  }

  if (auto* v = get("country")) {
    if (!pp::is_country(*v))
      bad("country", "must be an ISO 3166-1 alpha-2 code (DE, upper case)");
    else
      q.country = *v;
  }
  {
    auto* lat = get("lat");
    auto* lon = get("lon");
    auto* radius = get("radius_km");
    if (lat || lon || radius) {
      if (!lat)
        bad("lat", "is required with lon and radius_km");
      else if (!(q.lat = decimal(*lat, -90, 90)))
        bad("lat", "must be a latitude from -90 to 90");
      if (!lon)
        bad("lon", "is required with lat and radius_km");
      else if (!(q.lon = decimal(*lon, -180, 180)))
        bad("lon", "must be a longitude from -180 to 180");
      auto max_km = cfg.search_radius_max_km;
      if (!radius)
        bad("radius_km", "is required with lat and lon");
      else if (!(q.radius_km = decimal(*radius, 0, max_km)) || *q.radius_km <= 0)
        bad("radius_km", fmt::format("must be a distance in km above 0 and at most {}", max_km));
      if (!q.lat || !q.lon || !q.radius_km || *q.radius_km <= 0)
        q.lat = q.lon = q.radius_km = std::nullopt;
    }
  }

  if (auto* v = get("rate_type")) {
    if (!pp::is_collaboration_type(*v))
      bad("rate_type", "must be a collaboration type (tiktok_duet, instagram_reel, …)");
    else
      q.rate_type = *v;
  }
  whole_range("rate_min", "rate_max", pp::max_amount, q.rate_min, q.rate_max, "rate_min");
  if (auto* v = get("rate_currency")) {
    if (v->size() != 3 || !std::all_of(v->begin(), v->end(), [](char c) { return c >= 'A' && c <= 'Z'; }))
      bad("rate_currency", "must be an ISO 4217 code (EUR, three capital letters)");
    else
      q.rate_currency = *v;
  } else if (get("rate_type") || get("rate_min") || get("rate_max")) {
    bad("rate_currency", "is required with rate_type, rate_min or rate_max (amounts are in its minor units)");
  }

  if (auto* v = get("q")) {
    auto chars = text_chars(*v);
    if (!chars)
      bad("q", "must be text without control characters");
    else if (*chars > cfg.search_text_max_chars)
      bad("q", fmt::format("must be at most {} characters", cfg.search_text_max_chars));
    else if (std::none_of(v->begin(), v->end(), [](char c) {
               return std::isalnum(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) >= 0x80;
             }))
      bad("q", "must contain a word to search for");
    else
      q.text = *v;
  }
  q.sort = q.text.empty() && !get("q") ? creator_sort::followers : creator_sort::relevance;
  if (auto* v = get("sort")) {
    if (*v == "relevance") {
      q.sort = creator_sort::relevance;
      if (!get("q"))
        bad("sort", "relevance needs q");
    } else if (*v == "followers") {
      q.sort = creator_sort::followers;
    } else if (*v == "engagement") {
      q.sort = creator_sort::engagement;
    } else {
      bad("sort", "must be relevance, followers or engagement");
    }
  }
  q.limit = default_page;
  if (auto* v = get("limit")) {
    auto n = whole(*v, 1, static_cast<int64_t>(cfg.search_page_max));
    if (!n)
      bad("limit", fmt::format("must be a whole number from 1 to {}", cfg.search_page_max));
    else
      q.limit = static_cast<size_t>(*n);
  }
  if (auto* v = get("cursor")) {
    if (v->size() > max_cursor_chars || !read_cursor(*v, q))
      bad("cursor", "is not a cursor of this search's sort; use next_cursor of the previous page");
  }
  return out;
}

pp::creator_profile to_profile(const persistence::creator_profile_row& r) {
  pp::creator_profile p;
  p.bio = r.bio;
  p.niches = r.niches;
  p.social_accounts = r.social_accounts;
  p.follower_total = r.follower_total;
  p.audience = r.audience;
  p.country = r.country;
  p.city = r.city;
  p.lat = r.lat;
  p.lon = r.lon;
  p.languages = r.languages;
  p.rates = r.rates;
  p.media_kit_url = r.media_kit_url;
  return p;
}

/// The answer: public views (never the private fields, whoever asks: staff read a profile by id
/// for those) and the figures that matched.
std::string answer_json(const persistence::creator_search& q, std::vector<persistence::creator_hit>& hits) {
  bool more = hits.size() > q.limit;
  if (more)
    hits.resize(q.limit);
  std::string out = R"({"results":[)";
  for (size_t i = 0; i < hits.size(); ++i) {
    auto& h = hits[i];
    pp::profile_meta meta{h.profile.user, h.profile.display_name, h.profile.version, h.profile.updated_at};
    json matched{{"followers", h.followers}, {"engagement_rate", h.engagement_rate}};
    if (!q.platform.empty())
      matched["platform"] = q.platform;
    if (h.audience_country_share)
      matched["audience_country_share"] = *h.audience_country_share;
    if (h.audience_age_share)
      matched["audience_age_share"] = *h.audience_age_share;
    if (h.rate_amount)
      matched["rate"] = json{{"type", h.rate_type}, {"amount", *h.rate_amount}, {"currency", q.rate_currency}};
    if (q.sort == creator_sort::relevance)
      matched["relevance"] = h.sort_key;
    if (i > 0)
      out += ',';
    out += R"({"profile":)";
    out += pp::creator_profile_json(meta, to_profile(h.profile), false);
    out += R"(,"matched":)";
    out += matched.dump(-1, ' ', false, json::error_handler_t::replace);
    out += '}';
  }
  out += R"(],"sort":")";
  out += sort_name(q.sort);
  out += R"(","next_cursor":)";
  out += more ? json(cursor_of(q.sort, hits.back())).dump() : std::string{"null"};
  out += '}';
  return out;
}

} // namespace

void runtime::search_creators(principal who, std::vector<std::pair<std::string, std::string>> params,
                              std::function<void(expected<std::string, api_error>)> done) {
  if (auto no = policy::decide(policy::action::creator_search, policy::parse_role(who.role),
                               policy::relation::none))
    return done(api_error{no->status, no->code, std::string{no->message}, {}});
  auto parsed = parse(params, config());
  if (!parsed.errors.empty())
    return done(api_error{400, error_code::bad_request, "some parameters are invalid", std::move(parsed.errors)});
  auto q = parsed.q;
  persistence::search_creators(
    database_(), std::move(parsed.q),
    [q = std::move(q), done](persistence::result<std::vector<persistence::creator_hit>> r) {
      if (!r) {
        switch (r.error().code) {
          case persistence::errc::overloaded:
            return done(api_error{503, error_code::overloaded, "the server is busy; retry shortly", {}});
          case persistence::errc::unavailable:
            return done(api_error{503, error_code::unavailable, "storage is unavailable; retry shortly", {}});
          default:
            return done(api_error{500, error_code::internal, "internal error", {}});
        }
      }
      done(answer_json(q, *r));
    });
}

} // namespace pactum::actors
