// Creator search latency with 100,000 creator profiles, through a real pactumd over REST.
//
// It creates a fresh database, starts the real `pactumd` binary (PACTUMD_BIN) once so that the
// migrations run, then COPYs N generated creators (users + creator_profiles; the migration's
// trigger derives the search columns as it does for a PUT) and ANALYZEs. The generator is seeded
// (`--seed`), so every run searches the same data: power-law followers (Pareto, alpha 1.1, from
// 500), 1 to 3 niches and 1 to 3 platforms with a skew to the popular ones, 40 countries with
// capitals as centres (jitter about 150 km), the country's language plus often English,
// engagement falling with reach, audience splits, rates in EUR/USD/GBP, bios of 8 to 30 words
// from a 240-word multilingual list drawn Zipf-like.
//
// C client threads (`--clients`) each hold one keep-alive connection and send a shuffled mix of
// query kinds (single filters, combined filters, radius, text, text + filters, deep pages by
// cursor), each request timed from write to full response. Two baselines go through the same
// clients in the same mix: `GET /healthz` (no auth, no database) and the brand's own profile
// `GET /api/v1/brands/profile` (auth + one primary-key read), so the ratio shows what the search
// itself costs. Reported per kind: p50/p90/p99/max in ms, then the overall search p99 and its
// ratio to the baselines, per repeat and as the median over repeats (`--repeats`).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "pactum/sim/client.hpp"
#include "pactumd_process.hpp"
#include "test_database.hpp"

using namespace pactum::sim;
using clock_type = std::chrono::steady_clock;
namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

struct options {
  size_t creators = 100'000;
  size_t clients = 4;
  size_t requests = 200; ///< per query kind per repeat
  size_t repeats = 3;
  uint64_t seed = 42;
  /// > 0: PostgreSQL's auto_explain logs the plan (with ANALYZE) of every statement slower than
  /// this many ms into the server log (scripts/pg: .pactum/pg/log/postgresql.log).
  size_t explain_slower_ms = 0;
  bool pause_after_load = false; ///< print the database URL and wait for a line on stdin (EXPLAIN by hand)
};

// -- data ------------------------------------------------------------------------------------------

struct country_info {
  const char* cc;
  double lat, lon;
  const char* lang;
};

// 40 countries, the most common first (weights fall off with the index).
constexpr country_info countries[] = {
  {"US", 38.9, -77.0, "en"}, {"BR", -15.8, -47.9, "pt"}, {"IN", 28.6, 77.2, "hi"},
  {"GB", 51.5, -0.13, "en"}, {"DE", 52.52, 13.4, "de"},  {"FR", 48.86, 2.35, "fr"},
  {"MX", 19.43, -99.13, "es"}, {"ID", -6.2, 106.8, "id"}, {"ES", 40.42, -3.7, "es"},
  {"IT", 41.9, 12.5, "it"},  {"JP", 35.68, 139.7, "ja"}, {"TR", 39.93, 32.86, "tr"},
  {"PH", 14.6, 120.98, "tl"}, {"CA", 45.42, -75.7, "en"}, {"AU", -35.3, 149.13, "en"},
  {"NG", 9.08, 7.4, "en"},   {"KR", 37.57, 126.98, "ko"}, {"AR", -34.6, -58.38, "es"},
  {"PL", 52.23, 21.01, "pl"}, {"NL", 52.37, 4.9, "nl"},  {"CO", 4.71, -74.07, "es"},
  {"TH", 13.75, 100.5, "th"}, {"VN", 21.03, 105.85, "vi"}, {"EG", 30.04, 31.24, "ar"},
  {"ZA", -25.75, 28.19, "en"}, {"SE", 59.33, 18.07, "sv"}, {"CH", 46.95, 7.45, "de"},
  {"AT", 48.21, 16.37, "de"}, {"BE", 50.85, 4.35, "fr"},  {"PT", 38.72, -9.14, "pt"},
  {"CL", -33.45, -70.67, "es"}, {"SA", 24.71, 46.68, "ar"}, {"AE", 24.45, 54.38, "ar"},
  {"MY", 3.14, 101.69, "ms"}, {"NZ", -41.29, 174.78, "en"}, {"IE", 53.35, -6.26, "en"},
  {"DK", 55.68, 12.57, "da"}, {"NO", 59.91, 10.75, "no"}, {"FI", 60.17, 24.94, "fi"},
  {"KE", -1.29, 36.82, "sw"},
};
constexpr size_t country_count = std::size(countries);

constexpr const char* niches[] = {
  "lifestyle", "beauty", "fashion", "fitness", "food", "travel", "gaming", "tech", "music",
  "comedy", "family", "health", "entertainment", "education", "sports", "home", "diy", "pets",
  "art", "photography", "business", "finance", "automotive", "outdoors", "science", "sustainability",
};
constexpr const char* platforms[] = {"instagram", "tiktok", "youtube", "x", "twitch",
                                     "facebook", "snapchat", "pinterest", "linkedin"};
constexpr const char* age_bands[] = {"13-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"};
constexpr const char* collab_types[] = {"instagram_post", "instagram_reel", "instagram_story", "tiktok_native_ad",
                                        "tiktok_duet",    "tiktok_stitch",  "tiktok_sound",    "youtube_video",
                                        "custom"};
constexpr const char* currencies[] = {"EUR", "USD", "GBP"};

// 240 words: English, German, French, Spanish, Portuguese, Italian; drawn Zipf-like (index^-1).
constexpr const char* words[] = {
  "daily", "life", "travel", "food", "recipes", "workout", "style", "beauty", "tips", "home",
  "family", "music", "gaming", "tech", "reviews", "vlog", "photography", "nature", "city", "coffee",
  "fitness", "yoga", "running", "cycling", "hiking", "skincare", "makeup", "fashion", "outfits", "diy",
  "crafts", "garden", "plants", "pets", "dogs", "cats", "comedy", "sketches", "stories", "books",
  "reading", "learning", "science", "space", "history", "art", "painting", "drawing", "design", "interior",
  "architecture", "cars", "motorbikes", "football", "basketball", "tennis", "golf", "surfing", "skiing", "snowboard",
  "climbing", "camping", "vegan", "baking", "bread", "pasta", "pizza", "sushi", "tacos", "streetfood",
  "budget", "finance", "investing", "startup", "business", "career", "productivity", "minimalism", "sustainable", "zero",
  "waste", "parenting", "kids", "wedding", "dance", "guitar", "piano", "singer", "producer", "podcast",
  "films", "movies", "series", "anime", "cosplay", "retro", "speedruns", "esports", "streams", "hardware",
  "software", "coding", "apps", "gadgets", "smartphones", "cameras", "drones", "electric", "mobility", "weekend",
  "alltag", "reisen", "essen", "rezepte", "sport", "mode", "schönheit", "zuhause", "familie", "musik",
  "radfahren", "wandern", "berge", "natur", "stadt", "kaffee", "kuchen", "garten", "hunde", "katzen",
  "voyage", "cuisine", "recettes", "pâtisserie", "beauté", "maison", "famille", "musique", "vélo", "randonnée",
  "montagne", "nature", "ville", "café", "jardin", "chiens", "chats", "mode", "humour", "lecture",
  "viajes", "comida", "recetas", "deporte", "moda", "belleza", "hogar", "familia", "música", "ciclismo",
  "senderismo", "montaña", "naturaleza", "ciudad", "jardín", "perros", "gatos", "humor", "libros", "fútbol",
  "viagens", "receitas", "esporte", "beleza", "casa", "música", "praia", "futebol", "natureza", "cidade",
  "viaggi", "cucina", "ricette", "sport", "moda", "bellezza", "famiglia", "musica", "montagna", "città",
  "every", "week", "new", "best", "easy", "quick", "healthy", "honest", "real", "simple",
  "love", "sharing", "my", "our", "the", "and", "with", "from", "about", "for",
  "berlin", "paris", "london", "madrid", "lisbon", "rome", "tokyo", "seoul", "mexico", "sydney",
  "morning", "evening", "routine", "challenge", "tutorial", "guide", "behind", "scenes", "journey", "adventure",
  "local", "global", "culture", "language", "friends", "community", "creative", "studio", "handmade", "vintage",
};
constexpr size_t word_count = std::size(words);

struct rng {
  explicit rng(uint64_t seed) : gen(seed) {}
  std::mt19937_64 gen;
  double uniform() { return std::uniform_real_distribution<double>(0, 1)(gen); }
  size_t below(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(gen); }
  /// Index in [0, n) with weight 1/(i+1)^s (Zipf-like: a few popular values, a long tail).
  size_t zipf(size_t n, double s) {
    static thread_local std::map<std::pair<size_t, double>, std::vector<double>> cdfs;
    auto& cdf = cdfs[{n, s}];
    if (cdf.empty()) {
      double sum = 0;
      for (size_t i = 0; i < n; ++i)
        cdf.push_back(sum += 1 / std::pow(static_cast<double>(i + 1), s));
      for (auto& c : cdf)
        c /= sum;
    }
    return static_cast<size_t>(std::lower_bound(cdf.begin(), cdf.end(), uniform()) - cdf.begin());
  }
  std::string uuid() {
    static const char* hex = "0123456789abcdef";
    std::string s;
    for (int i = 0; i < 32; ++i) {
      if (i == 8 || i == 12 || i == 16 || i == 20)
        s += '-';
      size_t d = below(16);
      if (i == 12)
        d = 4; // version 4
      if (i == 16)
        d = 8 + (d & 3); // variant
      s += hex[d];
    }
    return s;
  }
};

std::string pg_array(const std::vector<std::string>& v) {
  std::string out = "{";
  for (size_t i = 0; i < v.size(); ++i)
    out += (i ? ",\"" : "\"") + v[i] + "\"";
  return out + "}";
}

/// COPYs `n` generated creators into users and creator_profiles.
void generate(const std::string& url, size_t n, uint64_t seed) {
  rng r{seed};
  pqxx::connection conn{url};
  pqxx::work tx{conn};
  struct profile {
    std::string id, bio, niches, accounts, total, audience, country, languages, rates;
    std::optional<double> lat, lon;
  };
  std::vector<profile> profiles;
  profiles.reserve(n);
  {
    for (size_t i = 0; i < n; ++i) {
      auto id = r.uuid();
      auto& home = countries[r.zipf(country_count, 0.9)];
      // niches
      std::vector<std::string> ns;
      for (size_t k = 1 + r.below(3); ns.size() < k;) {
        std::string nn = niches[r.zipf(std::size(niches), 0.8)];
        if (std::find(ns.begin(), ns.end(), nn) == ns.end())
          ns.push_back(nn);
      }
      // accounts: Pareto followers, engagement falling with reach
      json accounts = json::array();
      int64_t total = 0;
      std::vector<std::string> used;
      for (size_t k = 1 + r.zipf(3, 1.0); used.size() < k;) {
        std::string p = platforms[r.zipf(std::size(platforms), 1.2)];
        if (std::find(used.begin(), used.end(), p) != used.end())
          continue;
        used.push_back(p);
        auto followers = static_cast<int64_t>(std::min(500.0 / std::pow(1 - r.uniform(), 1 / 1.1), 200e6));
        double er = std::round(std::clamp(12.0 / std::pow(followers / 1000.0, 0.25) * (0.4 + r.uniform()), 0.1, 40.0) * 100) / 100;
        accounts.push_back(json{{"platform", p}, {"handle", "@c" + std::to_string(i) + p},
                                {"followers", followers}, {"average_views", followers / 5},
                                {"engagement_rate", er}});
        total += followers;
      }
      // audience: home country first, a few others; two or three age bands
      json top = json::array();
      int left = 100;
      int own = 30 + static_cast<int>(r.below(50));
      top.push_back(json{{"country", home.cc}, {"percent", own}});
      left -= own;
      for (int k = 0; k < 2 && left > 5; ++k) {
        auto& other = countries[r.zipf(country_count, 0.9)];
        if (std::string{other.cc} == home.cc)
          continue;
        bool dup = false;
        for (auto& t : top)
          dup = dup || t["country"] == other.cc;
        if (dup)
          continue;
        int share = 1 + static_cast<int>(r.below(static_cast<size_t>(left)));
        top.push_back(json{{"country", other.cc}, {"percent", share}});
        left -= share;
      }
      json ages = json::object();
      size_t centre = 1 + r.below(4);
      int a1 = 35 + static_cast<int>(r.below(30)), a2 = static_cast<int>(r.below(static_cast<size_t>(100 - a1)));
      ages[age_bands[centre]] = a1;
      ages[age_bands[centre + (r.below(2) ? 1 : 0) + 1 > 6 ? 0 : centre + 1]] = a2;
      json audience{{"age_bands", ages},
                    {"gender", {{"female", 50}, {"male", 48}, {"other", 2}}},
                    {"top_countries", top}};
      // location: about a third without coordinates; others near the capital
      std::optional<double> lat, lon;
      if (r.uniform() < 0.7) {
        lat = std::clamp(home.lat + (r.uniform() - 0.5) * 3, -89.0, 89.0);
        lon = std::clamp(home.lon + (r.uniform() - 0.5) * 4, -179.9, 179.9);
      }
      std::vector<std::string> langs{home.lang};
      if (std::string{home.lang} != "en" && r.uniform() < 0.5)
        langs.push_back("en");
      // rates: 0 to 3, log-uniform 50.00 to 50,000.00
      json rates = json::array();
      std::vector<std::string> rate_keys;
      for (size_t k = r.below(4); k > 0; --k) {
        std::string t = collab_types[r.below(std::size(collab_types))];
        std::string c = currencies[r.zipf(3, 1.0)];
        if (std::find(rate_keys.begin(), rate_keys.end(), t + c) != rate_keys.end())
          continue;
        rate_keys.push_back(t + c);
        auto amount = static_cast<int64_t>(5'000 * std::pow(1000.0, r.uniform()));
        rates.push_back(json{{"type", t}, {"amount", amount}, {"currency", c}});
      }
      std::string bio;
      for (size_t k = 8 + r.below(23); k > 0; --k)
        bio += std::string{bio.empty() ? "" : " "} + words[r.zipf(word_count, 1.0)];
      profiles.push_back(profile{id, bio, pg_array(ns), accounts.dump(), std::to_string(total),
                                 audience.dump(), home.cc, pg_array(langs), rates.dump(), lat, lon});
    }
  }
  {
    pqxx::stream_to out{tx, "users", std::vector<std::string>{"id", "email", "password_hash", "display_name", "role"}};
    for (size_t i = 0; i < n; ++i)
      out << std::make_tuple(profiles[i].id, "creator" + std::to_string(i) + "@bench.example", std::string{"x"},
                             "Creator " + std::to_string(i), std::string{"creator"});
    out.complete();
  }
  {
    pqxx::stream_to out{
      tx, "creator_profiles",
      std::vector<std::string>{"user_id", "bio", "niches", "social_accounts", "follower_total", "audience",
                               "country", "city", "lat", "lon", "languages", "rates"}};
    for (auto& p : profiles) {
      if (p.lat)
        out << std::make_tuple(p.id, p.bio, p.niches, p.accounts, p.total, p.audience, p.country,
                               std::string{"Capital"}, *p.lat, *p.lon, p.languages, p.rates);
      else
        out << std::make_tuple(p.id, p.bio, p.niches, p.accounts, p.total, p.audience, p.country,
                               std::string{"Capital"}, nullptr, nullptr, p.languages, p.rates);
    }
    out.complete();
  }
  tx.commit();
  pqxx::nontransaction nt{conn};
  // As a database in service would be after autovacuum: statistics, visibility map.
  nt.exec0("vacuum analyze users");
  nt.exec0("vacuum analyze creator_profiles");
}

// -- client ----------------------------------------------------------------------------------------

/// One keep-alive HTTP/1.1 connection; reconnects when the server closed it.
class keepalive_client {
public:
  keepalive_client(endpoint ep, std::string token) : ep_(std::move(ep)), token_(std::move(token)) {}

  /// GET `target`; answers the status and the body.
  std::pair<int, std::string> get(const std::string& target) {
    for (int attempt = 0;; ++attempt) {
      try {
        if (!stream_)
          connect();
        http::request<http::empty_body> req{http::verb::get, target, 11};
        req.set(http::field::host, ep_.host);
        req.set(http::field::authorization, "Bearer " + token_);
        req.keep_alive(true);
        http::write(*stream_, req);
        http::response_parser<http::string_body> parser;
        parser.body_limit(64 * 1024 * 1024);
        http::read(*stream_, buffer_, parser);
        auto res = parser.release();
        if (!res.keep_alive())
          stream_.reset();
        return {res.result_int(), std::move(res.body())};
      } catch (const std::exception&) {
        stream_.reset();
        if (attempt > 0)
          throw;
      }
    }
  }

private:
  void connect() {
    stream_.emplace(ioc_);
    tcp::resolver resolver{ioc_};
    stream_->connect(resolver.resolve(ep_.host, std::to_string(ep_.port)));
    stream_->socket().set_option(tcp::no_delay(true));
    buffer_.clear();
  }

  endpoint ep_;
  std::string token_;
  net::io_context ioc_;
  std::optional<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
};

// -- queries ---------------------------------------------------------------------------------------

/// A search word: uniform over the list (brands search topics, not the commonest bio words; the
/// commonest still come up: "daily" is in most bios).
std::string word(rng& r) {
  return words[r.below(word_count)];
}

/// URL-encodes UTF-8 text for a query string.
std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.')
      out += static_cast<char>(c);
    else
      out += '%', out += hex[c >> 4], out += hex[c & 15];
  }
  return out;
}

constexpr const char* search_path = "/api/v1/search/influencers?";

/// The query kinds. Each makes one request's target from the generator (`deep_page` is a chain,
/// handled by the runner).
const std::vector<std::string> kinds{
  "baseline_health", "baseline_profile", "niche", "platform_followers", "engagement", "audience",
  "location_country", "language", "rate", "combined", "radius", "radius_combined", "text",
  "text_filtered", "sort_engagement", "deep_page",
};

std::string make_query(const std::string& kind, rng& r) {
  auto niche = [&] { return std::string{niches[r.zipf(std::size(niches), 0.8)]}; };
  auto country = [&]() -> const country_info& { return countries[r.zipf(country_count, 0.9)]; };
  auto platform = [&] { return std::string{platforms[r.zipf(4, 1.0)]}; };
  std::string q = search_path;
  if (kind == "baseline_health")
    return "/healthz";
  if (kind == "baseline_profile")
    return "/api/v1/brands/profile";
  if (kind == "niche")
    return q + "niche=" + niche();
  if (kind == "platform_followers")
    return q + "platform=" + platform() + "&followers_min=" + std::to_string(1000 * (1 + r.below(200)));
  if (kind == "engagement")
    return q + "engagement_min=" + std::to_string(2 + r.below(8)) + "&engagement_max=" + std::to_string(12 + r.below(10));
  if (kind == "audience")
    return q + "audience_country=" + country().cc + "&audience_age=" + url_encode(age_bands[1 + r.below(4)]) +
           "&audience_min_share=" + std::to_string(10 + r.below(20));
  if (kind == "location_country")
    return q + "country=" + country().cc;
  if (kind == "language")
    return q + "language=" + country().lang;
  if (kind == "rate")
    return q + "rate_currency=" + currencies[r.zipf(3, 1.0)] + "&rate_type=" + collab_types[r.below(std::size(collab_types))] +
           "&rate_max=" + std::to_string(50'000 * (1 + r.below(20)));
  if (kind == "combined") {
    auto& c = country();
    return q + "niche=" + niche() + "," + niche() + "&country=" + c.cc + "&language=" + c.lang + "&platform=" +
           platform() + "&followers_min=" + std::to_string(1000 * (1 + r.below(20))) + "&engagement_min=1";
  }
  if (kind == "radius" || kind == "radius_combined") {
    auto& c = country();
    auto s = q + "lat=" + std::to_string(c.lat + (r.uniform() - 0.5)) + "&lon=" + std::to_string(c.lon + (r.uniform() - 0.5)) +
             "&radius_km=" + std::to_string(25 + r.below(176));
    if (kind == "radius_combined")
      s += "&niche=" + niche() + "&followers_min=" + std::to_string(1000 * (1 + r.below(10)));
    return s;
  }
  if (kind == "text")
    return q + "q=" + url_encode(r.below(2) ? word(r) : word(r) + " " + word(r));
  if (kind == "text_filtered")
    return q + "q=" + url_encode(word(r)) + "&niche=" + niche() + "&platform=" + platform();
  if (kind == "sort_engagement")
    return q + "sort=engagement&country=" + country().cc;
  if (kind == "deep_page")
    return q + "niche=" + niche() + "&limit=20";
  throw std::runtime_error("unknown kind " + kind);
}

double percentile(std::vector<double> v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size()))) ;
  return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
}

struct kind_stats {
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
  size_t n = 0, errors = 0;
  double mean_results = 0;
};

struct run_result {
  std::map<std::string, kind_stats> kinds;
  double search_p50 = 0, search_p99 = 0, search_max = 0;
};

/// One repeat: every client sends `requests` of every kind (deep_page: chains of 25 pages, the
/// pages from the 10th on timed) in a shuffled order.
run_result run_once(const endpoint& ep, const std::string& token, const options& opt, size_t repeat) {
  std::mutex mu;
  std::map<std::string, std::vector<double>> samples;
  std::map<std::string, size_t> errors, results;
  std::atomic<bool> failed{false};
  std::string first_error;
  std::vector<std::thread> threads;
  size_t per_client = (opt.requests + opt.clients - 1) / opt.clients;
  for (size_t c = 0; c < opt.clients; ++c)
    threads.emplace_back([&, c] {
      rng r{opt.seed * 1000 + repeat * 100 + c + 1};
      keepalive_client client{ep, token};
      std::vector<std::string> plan;
      for (auto& k : kinds)
        for (size_t i = 0; i < (k == "deep_page" ? std::max<size_t>(per_client / 10, 1) : per_client); ++i)
          plan.push_back(k);
      std::shuffle(plan.begin(), plan.end(), r.gen);
      std::map<std::string, std::vector<double>> mine;
      std::map<std::string, size_t> my_errors, my_results;
      try {
        for (auto& k : plan) {
          auto base = make_query(k, r);
          auto target = base;
          int pages = k == "deep_page" ? 25 : 1;
          for (int page = 0; page < pages; ++page) {
            auto t0 = clock_type::now();
            auto [status, body] = client.get(target);
            double ms = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
            if (status != 200) {
              ++my_errors[k];
              std::lock_guard lock{mu};
              if (first_error.empty())
                first_error = target + " -> " + std::to_string(status) + " " + body.substr(0, 300);
              break;
            }
            if (k != "deep_page" || page >= 9)
              mine[k].push_back(ms);
            if (k.rfind("baseline", 0) == 0)
              break;
            auto j = json::parse(body);
            if (k != "deep_page" || page >= 9)
              my_results[k] += j["results"].size();
            if (k != "deep_page")
              break;
            if (j["next_cursor"].is_null())
              break;
            target = base + "&cursor=" + j["next_cursor"].get<std::string>();
          }
        }
      } catch (const std::exception& e) {
        failed = true;
        std::lock_guard lock{mu};
        if (first_error.empty())
          first_error = e.what();
      }
      std::lock_guard lock{mu};
      for (auto& [k, v] : mine)
        samples[k].insert(samples[k].end(), v.begin(), v.end());
      for (auto& [k, n] : my_errors)
        errors[k] += n;
      for (auto& [k, n] : my_results)
        results[k] += n;
    });
  for (auto& t : threads)
    t.join();
  if (failed)
    throw std::runtime_error("a client failed: " + first_error);
  if (!first_error.empty())
    std::cerr << "first error: " << first_error << "\n";
  run_result out;
  std::vector<double> all_search;
  for (auto& k : kinds) {
    auto& v = samples[k];
    kind_stats s{percentile(v, 0.5), percentile(v, 0.9), percentile(v, 0.99),
                 v.empty() ? 0 : *std::max_element(v.begin(), v.end()), v.size(), errors[k], 0};
    s.mean_results = v.empty() ? 0 : static_cast<double>(results[k]) / static_cast<double>(v.size());
    out.kinds[k] = s;
    if (k.rfind("baseline", 0) != 0)
      all_search.insert(all_search.end(), v.begin(), v.end());
  }
  out.search_p50 = percentile(all_search, 0.5);
  out.search_p99 = percentile(all_search, 0.99);
  out.search_max = all_search.empty() ? 0 : *std::max_element(all_search.begin(), all_search.end());
  return out;
}

int count_compilers() {
  FILE* p = ::popen("pgrep -c -x cc1plus", "r");
  if (!p)
    return -1;
  int n = 0;
  if (std::fscanf(p, "%d", &n) != 1)
    n = 0;
  ::pclose(p);
  return n;
}

double median(std::vector<double> v) {
  return percentile(std::move(v), 0.5);
}

} // namespace

int main(int argc, char** argv) {
  options opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--creators") opt.creators = std::stoul(next());
    else if (a == "--clients") opt.clients = std::stoul(next());
    else if (a == "--requests") opt.requests = std::stoul(next());
    else if (a == "--repeats") opt.repeats = std::stoul(next());
    else if (a == "--seed") opt.seed = std::stoull(next());
    else if (a == "--explain-slower-ms") opt.explain_slower_ms = std::stoul(next());
    else if (a == "--pause-after-load") opt.pause_after_load = true;
    else {
      std::cerr << "usage: pactum_search_bench [--creators N] [--clients C] [--requests R per kind]"
                   " [--repeats N] [--seed S] [--explain-slower-ms MS] [--pause-after-load]\n"
                   "needs PACTUMD_BIN and PACTUM_TEST_DATABASE_URL (a superuser URL)\n";
      return 2;
    }
  }
  if (opt.creators == 0 || opt.clients == 0 || opt.requests == 0 || opt.repeats == 0) {
    std::cerr << "every count must be at least 1\n";
    return 2;
  }
  try {
    pactum::test_support::test_database db;
    if (opt.explain_slower_ms > 0) {
      // Before pactumd opens its pool: the settings apply to new sessions of this database.
      pqxx::connection admin{db.admin_url()};
      pqxx::nontransaction tx{admin};
      auto name = tx.quote_name(db.name());
      tx.exec0("alter database " + name + " set session_preload_libraries = 'auto_explain'");
      tx.exec0("alter database " + name + " set auto_explain.log_min_duration = "
               + std::to_string(opt.explain_slower_ms));
      tx.exec0("alter database " + name + " set auto_explain.log_analyze = on");
      tx.exec0("alter database " + name + " set auto_explain.log_buffers = on");
    }
    std::optional<pactum::test_support::pactumd_process> srv;
    srv.emplace(db.url(), std::vector<std::string>{"--log-level", "warn"});
    auto t0 = clock_type::now();
    generate(db.url(), opt.creators, opt.seed);
    double gen_s = std::chrono::duration<double>(clock_type::now() - t0).count();
    endpoint ep{"127.0.0.1", srv->port()};
    auto brand = make_account(ep, "brand", "BenchBrand");
    auto put = http_call(ep, "PUT", "/api/v1/brands/profile",
                         json{{"company_name", "Bench"}, {"industry", "Benchmarks"},
                              {"contact", {{"name", "Ben"}, {"email", "ben@bench.example"}}}, {"country", "DE"}}
                           .dump(),
                         brand.token);
    if (put.status != 200)
      throw std::runtime_error("brand profile: " + put.body);
    std::printf("search bench: %zu creators generated and analysed in %.1f s (seed %llu); %zu clients, "
                "%zu requests per kind per repeat, %zu repeats\n\n",
                opt.creators, gen_s, static_cast<unsigned long long>(opt.seed), opt.clients, opt.requests,
                opt.repeats);
    if (opt.pause_after_load) {
      std::printf("database loaded: %s\npress Enter to run the searches\n", db.url().c_str());
      std::fflush(stdout);
      std::string line;
      std::getline(std::cin, line);
    }
    // Warm-up: one pass with few requests so caches and the connection pool are as in steady state.
    {
      auto warm = opt;
      warm.requests = std::max<size_t>(opt.clients, 20);
      run_once(ep, brand.token, warm, 999);
    }
    std::vector<run_result> runs;
    for (size_t rep = 0; rep < opt.repeats; ++rep) {
      int compilers = count_compilers();
      runs.push_back(run_once(ep, brand.token, opt, rep));
      auto& r = runs.back();
      std::printf("repeat %zu (%d compilers running at its start)\n", rep + 1, compilers);
      std::printf("  %-18s %6s %8s %8s %8s %8s %7s %6s\n", "kind", "n", "p50 ms", "p90 ms", "p99 ms", "max ms",
                  "hits", "errors");
      for (auto& k : kinds) {
        auto& s = r.kinds[k];
        std::printf("  %-18s %6zu %8.2f %8.2f %8.2f %8.2f %7.1f %6zu\n", k.c_str(), s.n, s.p50, s.p90, s.p99,
                    s.max, s.mean_results, s.errors);
      }
      std::printf("  all searches: p50 %.2f ms, p99 %.2f ms, max %.2f ms; p99 / baseline_profile p99 = %.1f\n\n",
                  r.search_p50, r.search_p99, r.search_max,
                  r.search_p99 / std::max(r.kinds["baseline_profile"].p99, 1e-3));
    }
    std::printf("median over %zu repeats\n", opt.repeats);
    std::printf("  %-18s %8s %8s %8s %8s\n", "kind", "p50 ms", "p90 ms", "p99 ms", "max ms");
    for (auto& k : kinds) {
      std::vector<double> p50, p90, p99, mx;
      for (auto& r : runs) {
        p50.push_back(r.kinds[k].p50);
        p90.push_back(r.kinds[k].p90);
        p99.push_back(r.kinds[k].p99);
        mx.push_back(r.kinds[k].max);
      }
      std::printf("  %-18s %8.2f %8.2f %8.2f %8.2f\n", k.c_str(), median(p50), median(p90), median(p99), median(mx));
    }
    std::vector<double> sp50, sp99, base99, health99;
    for (auto& r : runs) {
      sp50.push_back(r.search_p50);
      sp99.push_back(r.search_p99);
      base99.push_back(r.kinds["baseline_profile"].p99);
      health99.push_back(r.kinds["baseline_health"].p99);
    }
    std::printf("  all searches: p50 %.2f ms, p99 %.2f ms (target < 50 ms: %s); baselines p99: profile GET "
                "%.2f ms, healthz %.2f ms\n",
                median(sp50), median(sp99), median(sp99) < 50 ? "met" : "NOT met", median(base99),
                median(health99));
    srv.reset();
  } catch (const std::exception& e) {
    std::cerr << "search bench failed: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
