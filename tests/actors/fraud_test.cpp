#include "pactum/actors/fraud.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace fraud = pactum::actors::fraud;
using pactum::millis;

namespace {

constexpr millis minute = 60'000;
constexpr millis hour = 60 * minute;

fraud::click make_click(int64_t id, millis at, std::string code, std::string creator, std::string client,
                        std::string ua) {
  return fraud::click{id, at, std::move(code), std::move(creator), std::move(client), std::move(ua)};
}

const char* chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                     "Chrome/120.0.0.0 Safari/537.36";

} // namespace

TEST(FraudDetector, KnownBotsAndEmptyAgentsAreInvalid) {
  fraud::detector d;
  EXPECT_EQ(d.classify(make_click(1, 0, "l1", "c1", "a", "")), fraud::reason::bot_agent);
  EXPECT_EQ(d.classify(make_click(2, 1, "l1", "c1", "b", "Mozilla/5.0 (compatible; Googlebot/2.1)")),
            fraud::reason::bot_agent);
  EXPECT_EQ(d.classify(make_click(3, 2, "l1", "c1", "c", "Mozilla/5.0 HeadlessChrome/120.0")),
            fraud::reason::bot_agent);
  EXPECT_EQ(d.classify(make_click(4, 3, "l1", "c1", "d", "python-requests/2.31")), fraud::reason::bot_agent);
  EXPECT_EQ(d.classify(make_click(5, 4, "l1", "c1", "e", chrome)), fraud::reason::none);
}

TEST(FraudDetector, RepeatsWithinTheWindowAreInvalidSpacedOutOnesAreNot) {
  fraud::config cfg;
  cfg.repeat_window = 30 * minute;
  fraud::detector d{cfg};
  EXPECT_EQ(d.classify(make_click(1, 0, "l1", "c1", "a", chrome)), fraud::reason::none);
  EXPECT_EQ(d.classify(make_click(2, 5 * minute, "l1", "c1", "a", chrome)), fraud::reason::repeat_click);
  EXPECT_EQ(d.classify(make_click(3, 5 * minute, "l2", "c1", "a", chrome)), fraud::reason::none)
    << "another link of the same creator is not a repeat";
  EXPECT_EQ(d.classify(make_click(4, 2 * hour, "l1", "c1", "a", chrome)), fraud::reason::none)
    << "a visitor coming back hours later is valid";
}

TEST(FraudDetector, ConversionsNeedAValidClickWithinTheAttributionWindow) {
  fraud::config cfg;
  cfg.attribution_window = hour;
  fraud::detector d{cfg};
  ASSERT_EQ(d.classify(make_click(7, 0, "l1", "c1", "a", chrome)), fraud::reason::none);
  ASSERT_EQ(d.classify(make_click(8, 1, "l1", "c1", "b", "curl/8.0")), fraud::reason::bot_agent);
  auto ok = d.classify_conversion({1, 10 * minute, "l1", "a"});
  EXPECT_EQ(ok.why, fraud::reason::none);
  EXPECT_EQ(ok.click_id, 7);
  EXPECT_EQ(d.classify_conversion({2, 10 * minute, "l1", "b"}).why, fraud::reason::conversion_without_click)
    << "a bot's click attributes nothing";
  EXPECT_EQ(d.classify_conversion({3, 10 * minute, "l2", "a"}).why, fraud::reason::conversion_without_click);
  EXPECT_EQ(d.classify_conversion({4, 2 * hour, "l1", "a"}).why, fraud::reason::conversion_without_click)
    << "too late";
  EXPECT_EQ(d.classify_conversion({5, 10 * minute, "", ""}).why, fraud::reason::conversion_without_click);
}

TEST(FraudDetector, AHighTrafficCreatorIsLearnedNotFlagged) {
  fraud::detector d;
  // A creator whose audience grows from 5 to 90 clicks a minute over two hours (far above the
  // creator floor), all different clients: never flagged, the baseline follows.
  int flagged = 0;
  int64_t id = 0;
  millis t = 0;
  while (t < 2 * hour) {
    double per_min = 5 + 85.0 * static_cast<double>(t) / static_cast<double>(2 * hour);
    t += static_cast<millis>(60'000.0 / per_min);
    ++id;
    auto r = d.classify(make_click(id, t, "l1", "busy", "client" + std::to_string(id), chrome + std::to_string(id % 50)));
    flagged += r != fraud::reason::none;
  }
  EXPECT_EQ(flagged, 0) << "a creator's naturally growing traffic is not an attack";
  // Then a burst at ten times the rate is.
  int caught = 0;
  for (int i = 0; i < 3'000; ++i) {
    auto r = d.classify(make_click(++id, t + i * 66, "l1", "busy", "x" + std::to_string(i),
                                   chrome + std::to_string(i % 50)));
    caught += r != fraud::reason::none;
  }
  EXPECT_GT(caught, 2'500);
}

TEST(FraudDetector, ReplayingStoredVerdictsRestoresTheState) {
  // A restart: a second detector replays what the first classified, then both judge the same
  // new traffic the same way (repeats, velocity and attribution carry over).
  fraud::detector first;
  std::vector<std::pair<fraud::click, fraud::reason>> history;
  int64_t id = 0;
  for (int i = 0; i < 300; ++i) {
    auto c = make_click(++id, i * 200, "l" + std::to_string(i % 7), "c" + std::to_string(i % 3),
                        "client" + std::to_string(i % 40), i % 11 == 0 ? "curl/8" : chrome);
    history.emplace_back(c, first.classify(c));
  }
  fraud::detector second;
  for (auto& [c, r] : history)
    second.replay(c, r);
  for (int i = 0; i < 300; ++i) {
    auto c = make_click(++id, 60'000 + i * 150, "l" + std::to_string(i % 9), "c" + std::to_string(i % 3),
                        "client" + std::to_string(i % 50), chrome);
    EXPECT_EQ(first.classify(c), second.classify(c)) << "click " << i;
  }
  fraud::conversion v{1, 120'000, "l1", "client1"};
  EXPECT_EQ(first.classify_conversion(v).click_id, second.classify_conversion(v).click_id);
}

TEST(FraudDetector, MemoryStaysBounded) {
  fraud::config cfg;
  cfg.max_keys = 1'000;
  fraud::detector d{cfg};
  for (int64_t i = 0; i < 50'000; ++i)
    d.classify(make_click(i, i * 10, "l" + std::to_string(i % 3'000), "c" + std::to_string(i % 2'000),
                          "client" + std::to_string(i), std::string{chrome} + std::to_string(i % 1'500)));
  EXPECT_LE(d.size(), 5u * 1'000u) << "each of the five tables holds at most max_keys";
}

// ---------------------------------------------------------------------------------------------
// The measurement: synthetic organic traffic mixed with injected attacks. Ground truth comes from
// the generator (each event knows whether it is an attack), never from the detector.

namespace {

struct event {
  millis at = 0;
  bool is_conversion = false;
  bool attack = false;
  bool measured = false; ///< after the warm-up
  fraud::click c;
  fraud::conversion v;
};

struct tally {
  size_t attack = 0, attack_caught = 0, organic = 0, organic_flagged = 0;
  size_t attack_conv = 0, attack_conv_caught = 0, organic_conv = 0, organic_conv_flagged = 0;
};

// Realistic browser user agents; the organic population picks them with Zipf-like weights.
std::vector<std::string> organic_agents() {
  std::vector<std::string> out;
  const char* os[] = {"Windows NT 10.0; Win64; x64", "Macintosh; Intel Mac OS X 10_15_7", "X11; Linux x86_64",
                      "iPhone; CPU iPhone OS 17_1 like Mac OS X", "Linux; Android 14; Pixel 8",
                      "Linux; Android 13; SM-S918B", "iPad; CPU OS 16_6 like Mac OS X"};
  const char* br[] = {"Chrome/120.0.0.0 Safari/537.36", "Chrome/119.0.0.0 Safari/537.36",
                      "Version/17.1 Mobile/15E148 Safari/604.1", "Firefox/121.0", "Edg/120.0.2210.61",
                      "SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36"};
  for (auto* b : br)
    for (auto* o : os)
      out.push_back(std::string{"Mozilla/5.0 ("} + o + ") AppleWebKit/537.36 (KHTML, like Gecko) " + b);
  return out;
}

tally run_scenario(uint64_t seed) {
  std::mt19937_64 rng{seed};
  auto uniform = [&](double a, double b) { return std::uniform_real_distribution<double>{a, b}(rng); };
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>{0, n - 1}(rng); };
  auto hex = [&]() {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
    return std::string{buf};
  };

  const millis warmup = hour;
  const millis horizon = warmup + 4 * hour;
  auto agents = organic_agents();
  std::vector<double> agent_w;
  for (size_t i = 0; i < agents.size(); ++i)
    agent_w.push_back(1.0 / std::pow(static_cast<double>(i + 1), 1.1));
  std::discrete_distribution<size_t> agent_pick{agent_w.begin(), agent_w.end()};

  // Creators with varying popularity (log-normal clicks per minute), 1-3 links each, two viral.
  struct creator {
    std::string id;
    std::vector<std::string> links;
    double per_min = 0;
  };
  std::vector<creator> creators;
  std::lognormal_distribution<double> pop{0.0, 1.2};
  for (int i = 0; i < 150; ++i) {
    creator c;
    c.id = "creator" + std::to_string(i);
    auto n = 1 + pick(3);
    for (size_t k = 0; k < n; ++k)
      c.links.push_back(c.id + "-link" + std::to_string(k));
    c.per_min = std::clamp(pop(rng), 0.02, 25.0);
    creators.push_back(std::move(c));
  }
  creators[0].per_min = 45;
  creators[1].per_min = 70;

  std::vector<event> events;
  auto push_click = [&](millis at, bool attack, const std::string& code, const std::string& creator_id,
                        std::string client, std::string ua) {
    if (at >= horizon)
      return;
    event e;
    e.at = at;
    e.attack = attack;
    e.measured = at >= warmup;
    e.c = make_click(0, at, code, creator_id, std::move(client), std::move(ua));
    events.push_back(std::move(e));
  };
  auto push_conversion = [&](millis at, bool attack, const std::string& code, const std::string& client) {
    if (at >= horizon)
      return;
    event e;
    e.at = at;
    e.is_conversion = true;
    e.attack = attack;
    e.measured = at >= warmup;
    e.v = fraud::conversion{0, at, code, client};
    events.push_back(std::move(e));
  };

  // Organic: Poisson arrivals per creator; each visitor is a fresh client with a real browser.
  // Some come back hours later (a legitimate repeat), some browse another link of the creator, a
  // few buy (a conversion minutes to a day later).
  for (auto& c : creators) {
    std::exponential_distribution<double> gap{c.per_min / static_cast<double>(minute)};
    for (double t = gap(rng); t < static_cast<double>(horizon); t += gap(rng)) {
      auto at = static_cast<millis>(t);
      // The warm-up hour ramps traffic up from nothing, like a launch: the detector starts with no
      // history and learns every baseline from what it sees.
      if (at < warmup && uniform(0, 1) > static_cast<double>(at) / static_cast<double>(warmup))
        continue;
      auto client = hex();
      auto ua = agents[agent_pick(rng)];
      const auto& link = c.links[pick(c.links.size())];
      push_click(at, false, link, c.id, client, ua);
      if (uniform(0, 1) < 0.05)
        push_click(at + static_cast<millis>(uniform(1.0, 6.0) * static_cast<double>(hour)), false, link, c.id,
                   client, ua);
      if (c.links.size() > 1 && uniform(0, 1) < 0.05) {
        const auto& other = c.links[pick(c.links.size())];
        if (other != link)
          push_click(at + static_cast<millis>(uniform(0.5, 10.0) * static_cast<double>(minute)), false, other,
                     c.id, client, ua);
      }
      if (uniform(0, 1) < 0.02)
        push_conversion(at + static_cast<millis>(uniform(1.0, 24 * 60.0) * static_cast<double>(minute)), false,
                        link, client);
    }
  }

  auto attack_time = [&](millis length) {
    return warmup + static_cast<millis>(uniform(0, static_cast<double>(horizon - warmup - length)));
  };
  // 1. Click-farm bursts: a few addresses hammering one link.
  for (int b = 0; b < 4; ++b) {
    auto& c = creators[pick(creators.size())];
    const auto& link = c.links[pick(c.links.size())];
    auto start = attack_time(3 * minute);
    for (int a = 0; a < 3; ++a) {
      auto client = hex();
      auto ua = agents[pick(agents.size())];
      for (int i = 0; i < 150; ++i)
        push_click(start + static_cast<millis>(uniform(0, 2.0 * minute)), true, link, c.id, client, ua);
    }
  }
  // 2. Rotating addresses with one user agent (a farm's device image: a build the organic
  //    population does not use), spread over many creators' links.
  const char* farm_agents[] = {
    "Mozilla/5.0 (Linux; Android 9; SM-J730F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/96.0.4664.104 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.130 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 8.1.0; Redmi 5 Plus) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/88.0.4324.181 Mobile Safari/537.36"};
  for (auto* ua : farm_agents) {
    auto start = attack_time(5 * minute);
    for (int i = 0; i < 400; ++i) {
      auto& c = creators[pick(creators.size())];
      push_click(start + static_cast<millis>(uniform(0, 4.0 * minute)), true, c.links[pick(c.links.size())], c.id,
                 hex(), ua);
    }
  }
  // 3. Known bots and crawlers, spread out.
  const char* bots[] = {"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
                        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
                        "python-requests/2.31.0", "curl/8.4.0", "", "Mozilla/5.0 (compatible; bingbot/2.0)",
                        "facebookexternalhit/1.1", "Go-http-client/1.1"};
  for (int i = 0; i < 1'000; ++i) {
    auto& c = creators[pick(creators.size())];
    push_click(attack_time(0), true, c.links[pick(c.links.size())], c.id, hex(), bots[pick(std::size(bots))]);
  }
  // 4. A creator inflating their own links: fresh addresses and ordinary browsers, at several
  //    times their normal rate, for 30 to 60 minutes.
  for (int k = 0; k < 3; ++k) {
    auto& c = creators[2 + pick(creators.size() - 2)];
    auto length = static_cast<millis>(uniform(30, 60) * static_cast<double>(minute));
    auto start = attack_time(length);
    auto per_min = std::max(30.0, uniform(4, 8) * c.per_min);
    std::exponential_distribution<double> gap{per_min / static_cast<double>(minute)};
    for (double t = static_cast<double>(start); t < static_cast<double>(start + length); t += gap(rng))
      push_click(static_cast<millis>(t), true, c.links[pick(c.links.size())], c.id, hex(), agents[agent_pick(rng)]);
  }
  // 5. Conversions without a click: orders attributed to links by clients that never clicked.
  for (int i = 0; i < 300; ++i) {
    auto& c = creators[pick(creators.size())];
    push_conversion(attack_time(0), true, c.links[pick(c.links.size())], hex());
  }

  std::stable_sort(events.begin(), events.end(), [](const event& a, const event& b) { return a.at < b.at; });
  fraud::detector d;
  tally t;
  int64_t id = 0;
  for (auto& e : events) {
    if (e.is_conversion) {
      e.v.id = ++id;
      auto bad = d.classify_conversion(e.v).why != fraud::reason::none;
      if (!e.measured)
        continue;
      (e.attack ? t.attack_conv : t.organic_conv) += 1;
      (e.attack ? t.attack_conv_caught : t.organic_conv_flagged) += bad;
      continue;
    }
    e.c.id = ++id;
    auto why = d.classify(e.c);
    auto bad = why != fraud::reason::none;
    if (!e.measured)
      continue;
    (e.attack ? t.attack : t.organic) += 1;
    (e.attack ? t.attack_caught : t.organic_flagged) += bad;
  }
  return t;
}

double pct(size_t a, size_t b) {
  return b == 0 ? 0.0 : 100.0 * static_cast<double>(a) / static_cast<double>(b);
}

} // namespace

TEST(FraudDetector, CatchesInjectedAttacksAndSparesOrganicTraffic) {
  for (uint64_t seed : {1u, 2u, 3u}) {
    auto t = run_scenario(seed);
    std::printf("fraud seed %llu: clicks attack %zu caught %.2f%% | organic %zu flagged %.3f%% || "
                "conversions attack %zu caught %.2f%% | organic %zu flagged %.3f%%\n",
                static_cast<unsigned long long>(seed), t.attack, pct(t.attack_caught, t.attack), t.organic,
                pct(t.organic_flagged, t.organic), t.attack_conv, pct(t.attack_conv_caught, t.attack_conv),
                t.organic_conv, pct(t.organic_conv_flagged, t.organic_conv));
    ASSERT_GT(t.attack, 3'000u);
    ASSERT_GT(t.organic, 50'000u);
    EXPECT_GE(pct(t.attack_caught, t.attack), 95.0) << "seed " << seed;
    EXPECT_LE(pct(t.organic_flagged, t.organic), 1.0) << "seed " << seed;
    EXPECT_GE(pct(t.attack_conv_caught, t.attack_conv), 95.0) << "seed " << seed;
    // A few hundred organic orders: the ones whose click fell into a creator's inflation burst
    // (and was rightly not counted) are the collateral here.
    EXPECT_LE(pct(t.organic_conv_flagged, t.organic_conv), 3.0) << "seed " << seed;
  }
}
