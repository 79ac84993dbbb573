#pragma once

// Invalid-traffic detection for affiliate clicks and conversions (issue 8, docs/api.md
// "Analytics"). Pure C++: no CAF, no database, time passed in, so it is deterministic to test.
//
// Lifecycle and threading: one `detector` per process, owned by the analytics pipeline, which
// calls it from one persistence job at a time (not thread-safe by itself). It must see clicks in
// time order (the pipeline feeds them in id order, which is arrival order); a click older than
// what was already seen is judged against the current windows.
//
// Rules, first match wins:
//   bot_agent        empty user agent, or one containing a known bot/crawler/headless marker
//   repeat_click     the same client (hashed address) on the same link within `repeat_window`
//   velocity_client  the client's clicks in the sliding `velocity_window` above its threshold
//   velocity_agent   the same for the exact user-agent string
//   velocity_creator the same for the creator whose link it is
// A velocity threshold is max(floor, multiplier × baseline + slack × sqrt(baseline)), where the
// baseline is an EWMA of the key's VALID clicks per window (flagged clicks never teach it; bias-
// corrected for young keys, so a key's first windows count fully rather than as zeros), so a
// creator with naturally high traffic is not flagged, and an attacker cannot raise their own bar.
// A conversion is `conversion_without_click` without a valid click on its link by the same client
// within `attribution_window` before it.
//
// Memory is bounded: each velocity key is a fixed ring of sub-window counters; keys quiet for
// `key_ttl` are swept, and each table holds at most `max_keys` (the least recently seen go first).

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pactum/common/time.hpp"

namespace pactum::actors::fraud {

enum class reason : uint8_t {
  none, ///< valid
  bot_agent,
  repeat_click,
  velocity_client,
  velocity_agent,
  velocity_creator,
  conversion_without_click,
};

/// The stable text stored in `reason` columns and shown by the invalid-traffic list.
std::string_view to_string(reason r) noexcept;

/// Every threshold (defaults documented in docs/operations.md; the important ones are pactumd
/// flags `--fraud-*`).
struct config {
  millis repeat_window = 30 * 60'000;     ///< same client + same link within this: repeat_click
  millis velocity_window = 60'000;        ///< sliding window of the velocity rules
  double client_floor = 6;                ///< clicks per window a client may always make
  double agent_floor = 12;                ///< ... one user-agent string
  double creator_floor = 20;              ///< ... one creator's links together
  double multiplier = 3;                  ///< threshold over the learned baseline
  double slack = 3;                       ///< plus this many sqrt(baseline) (Poisson noise)
  double ewma_alpha = 0.1;                ///< weight of the newest window in the baseline
  double min_weight = 0.5;                ///< bias correction of young keys at most 1 / this
  millis attribution_window = 30LL * 24 * 60 * 60'000; ///< a click counts for conversions this long
  millis key_ttl = 6 * 60 * 60'000;       ///< a key quiet this long is forgotten
  size_t max_keys = 200'000;              ///< per table (clients, agents, creators, repeats, attribution)
  /// Lower-case substrings of user agents that are bots, crawlers or headless browsers.
  std::vector<std::string> bot_markers = {
    "bot",       "crawl",    "spider",   "slurp",       "headless", "phantomjs", "selenium",
    "puppeteer", "playwright", "curl/",  "wget/",       "python-",  "python/",   "java/",
    "go-http-client", "okhttp", "libwww", "httpclient", "scrapy",  "axios/",    "node-fetch",
    "facebookexternalhit", "preview", "monitor", "scanner", "lighthouse"};
};

/// One click as the pipeline reads it.
struct click {
  int64_t id = 0;
  millis at = 0;
  std::string code;        ///< the affiliate link
  std::string creator;     ///< the link's creator (any stable text key)
  std::string client_hash; ///< hashed client address (bytes)
  std::string user_agent;
};

/// One conversion; `code` and `client_hash` may be empty (then it cannot be attributed).
struct conversion {
  int64_t id = 0;
  millis at = 0;
  std::string code;
  std::string client_hash;
};

/// A conversion's verdict and the click it was attributed to (0: none).
struct attribution {
  reason why = reason::none;
  int64_t click_id = 0;
};

class detector {
public:
  explicit detector(config c = {});

  /// Classifies `c` and learns from it (a valid click enters the baselines and the attribution
  /// index; every click enters the windows and the repeat index).
  reason classify(const click& c);

  /// Start-up: learns from a click classified before (its stored verdict), in time order, so the
  /// windows, baselines, repeat and attribution indexes are as if this process had classified it.
  void replay(const click& c, reason stored);

  /// Attributes `c` to the newest valid click on its link by the same client within the window.
  attribution classify_conversion(const conversion& c) const;

  /// Keys currently held (all tables), for tests of the memory bound.
  size_t size() const noexcept;

  const config& settings() const noexcept { return cfg_; }

private:
  static constexpr size_t slots = 6; ///< sub-windows of the sliding window
  struct rate {
    std::array<uint32_t, slots> all{};   ///< clicks per sub-window (all clicks)
    int64_t slot_epoch = -1;             ///< index of the newest sub-window
    uint32_t valid_in_epoch_window = 0;  ///< valid clicks in the current baseline window
    int64_t baseline_window = -1;        ///< index of the window being counted for the baseline
    double baseline = 0;                 ///< EWMA, bias-corrected by `weight`
    double weight = 0;                   ///< 1 - (1 - alpha)^windows: how much history it holds
    millis last_seen = 0;
  };
  struct stamp {
    int64_t click_id = 0;
    millis at = 0;
  };
  using rates = std::unordered_map<std::string, rate>;

  void advance(rate& r, millis at) const;
  double threshold(const rate& r, double floor) const;
  uint32_t count(const rate& r) const;
  void learn(rate& r, millis at) const;
  rate& slot(rates& table, const std::string& key, millis at);
  void make_room(millis now);
  void remember_repeat(const std::string& pk, millis at);
  void remember_valid(const std::string& pk, const click& c);
  void sweep(millis now);
  template <class Map>
  void cap(Map& m);

  config cfg_;
  millis sub_ = 10'000;
  rates clients_, agents_, creators_;
  std::unordered_map<std::string, millis> repeats_;     ///< code + client → last click
  std::unordered_map<std::string, stamp> attribution_; ///< code + client → last valid click
  millis last_sweep_ = 0;
};

bool is_bot_agent(std::string_view user_agent, const config& cfg);

} // namespace pactum::actors::fraud
