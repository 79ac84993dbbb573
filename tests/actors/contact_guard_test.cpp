#include "pactum/actors/contact_guard.hpp"
#include "guard_corpus.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

// The anti-bypass detector, measured on the labelled corpus in tests/data/contact_guard/ (recall
// on attempts, false positives on ordinary chat) and unit-tested on offsets, masking and hostile
// input. docs/contact-guard.md explains the rules.

#ifndef PACTUM_TEST_DATA_DIR
#define PACTUM_TEST_DATA_DIR "tests/data"
#endif

using namespace pactum::actors;

namespace {

using sample = pactum::test_support::guard_sample;

std::vector<sample> load(const std::string& name) {
  std::ifstream in(std::string(PACTUM_TEST_DATA_DIR) + "/contact_guard/" + name);
  EXPECT_TRUE(in.good()) << "cannot open " << name << " under " << PACTUM_TEST_DATA_DIR;
  return pactum::test_support::read_guard_corpus(in);
}

std::string describe(std::string_view text, const std::vector<guard::hit>& hits) {
  std::string s;
  for (const auto& h : hits) {
    s += " [";
    s += guard::to_string(h.what);
    s += ": \"";
    s += text.substr(h.begin, h.end - h.begin);
    s += "\"]";
  }
  return s;
}

/// `hits` are sorted, non-overlapping, inside `text` and on code point boundaries.
void expect_well_formed(std::string_view text, const std::vector<guard::hit>& hits) {
  auto boundary = [&](size_t p) {
    return p == text.size() || (static_cast<unsigned char>(text[p]) & 0xC0) != 0x80;
  };
  size_t pos = 0;
  for (const auto& h : hits) {
    EXPECT_LT(h.begin, h.end) << text;
    EXPECT_LE(h.end, text.size()) << text;
    EXPECT_GE(h.begin, pos) << "overlap in: " << text;
    EXPECT_TRUE(boundary(h.begin) && boundary(h.end)) << "not on a code point boundary: " << text;
    pos = h.end;
  }
}

bool has(const std::vector<guard::hit>& hits, guard::category c) {
  for (const auto& h : hits)
    if (h.what == c) return true;
  return false;
}

} // namespace

TEST(ContactGuardCorpus, MeetsRecallAndFalsePositiveTargets) {
  auto attempts = load("attempts.txt");
  auto ordinary = load("ordinary.txt");
  ASSERT_GE(attempts.size(), 300u);
  ASSERT_GE(ordinary.size(), 300u);

  struct tally {
    int total = 0;
    int caught = 0;
    int labelled_right = 0; ///< the expected category is among the hits
  };
  std::map<std::string, tally> by_label;
  std::vector<std::string> misses;
  int caught = 0;
  for (const auto& s : attempts) {
    auto hits = guard::scan(s.text);
    expect_well_formed(s.text, hits);
    auto& t = by_label[s.label];
    ++t.total;
    if (hits.empty()) {
      misses.push_back("  [" + s.label + "] line " + std::to_string(s.line) + ": " + s.text);
      continue;
    }
    ++caught;
    ++t.caught;
    for (const auto& h : hits)
      if (guard::to_string(h.what) == s.label) {
        ++t.labelled_right;
        break;
      }
  }
  std::vector<std::string> false_positives;
  for (const auto& s : ordinary) {
    auto hits = guard::scan(s.text);
    expect_well_formed(s.text, hits);
    if (!hits.empty())
      false_positives.push_back("  line " + std::to_string(s.line) + ": " + s.text + "  =>" +
                                describe(s.text, hits));
  }
  const double recall = static_cast<double>(caught) / static_cast<double>(attempts.size());
  const double fp_rate =
    static_cast<double>(false_positives.size()) / static_cast<double>(ordinary.size());

  std::printf("contact guard corpus: %zu attempts, %zu ordinary\n", attempts.size(), ordinary.size());
  std::printf("  recall          %.4f (%d/%zu)\n", recall, caught, attempts.size());
  std::printf("  false positives %.4f (%zu/%zu)\n", fp_rate, false_positives.size(), ordinary.size());
  std::printf("  %-16s %6s %6s %7s %15s\n", "category", "total", "caught", "recall", "same category");
  for (const auto& [label, t] : by_label)
    std::printf("  %-16s %6d %6d %7.3f %15d\n", label.c_str(), t.total, t.caught,
                static_cast<double>(t.caught) / t.total, t.labelled_right);
  std::printf("missed attempts (%zu):\n", misses.size());
  for (const auto& m : misses)
    std::printf("%s\n", m.c_str());
  std::printf("false positives (%zu):\n", false_positives.size());
  for (const auto& f : false_positives)
    std::printf("%s\n", f.c_str());

  EXPECT_GE(recall, 0.95);
  EXPECT_LE(fp_rate, 0.02);
}

TEST(ContactGuard, NothingInEmptyOrBlankText) {
  EXPECT_TRUE(guard::scan("").empty());
  EXPECT_TRUE(guard::scan(" \t\n  \n").empty());
  EXPECT_TRUE(guard::scan("\xC2\xA0\xE3\x80\x80").empty()); // no-break space, ideographic space
  EXPECT_EQ(guard::mask("", {}), "");
}

TEST(ContactGuard, WireNames) {
  using guard::category;
  EXPECT_EQ(guard::to_string(category::email), "email");
  EXPECT_EQ(guard::to_string(category::phone), "phone");
  EXPECT_EQ(guard::to_string(category::url), "url");
  EXPECT_EQ(guard::to_string(category::social_handle), "social_handle");
  EXPECT_EQ(guard::to_string(category::messaging_app), "messaging_app");
  EXPECT_EQ(guard::to_string(category::payment_app), "payment_app");
  EXPECT_EQ(guard::to_string(category::bank_account), "bank_account");
  EXPECT_EQ(guard::to_string(category::crypto_address), "crypto_address");
  EXPECT_EQ(guard::to_string(category::off_platform), "off_platform");
  EXPECT_EQ(guard::to_string(static_cast<category>(200)), "unknown");
}

TEST(ContactGuard, MaskOfAHomoglyphEmailRemovesExactlyIt) {
  // "јohn@gmаil.com" with a Cyrillic је and а
  const std::string text = "write to \xD1\x98ohn@gm\xD0\xB0il.com please";
  auto hits = guard::scan(text);
  ASSERT_EQ(hits.size(), 1u) << describe(text, hits);
  EXPECT_EQ(hits[0].what, guard::category::email);
  EXPECT_EQ(hits[0].begin, 9u);
  EXPECT_EQ(text.substr(hits[0].begin, hits[0].end - hits[0].begin), "\xD1\x98ohn@gm\xD0\xB0il.com");
  EXPECT_EQ(guard::mask(text, hits), "write to [hidden] please");
}

TEST(ContactGuard, OffsetsMapBackThroughFullwidthAndSpelledForms) {
  const std::string fw = "mail \xEF\xBD\x8D\xEF\xBD\x89\xEF\xBC\xA0\xEF\xBD\x87\xEF\xBD\x8D"
                         "\xEF\xBD\x81\xEF\xBD\x89\xEF\xBD\x8C\xEF\xBC\x8E\xEF\xBD\x83\xEF\xBD\x8F"
                         "\xEF\xBD\x8D ok"; // ｍｉ＠ｇｍａｉｌ．ｃｏｍ
  auto hits = guard::scan(fw);
  ASSERT_EQ(hits.size(), 1u) << describe(fw, hits);
  EXPECT_EQ(guard::mask(fw, hits), "mail [hidden] ok");

  const std::string spelled = "ok so mia dot travels at gmail dot com, thanks";
  hits = guard::scan(spelled);
  ASSERT_EQ(hits.size(), 1u) << describe(spelled, hits);
  EXPECT_EQ(hits[0].what, guard::category::email);
  EXPECT_EQ(guard::mask(spelled, hits), "ok so [hidden], thanks");

  const std::string digits = "call nine one seven five five five zero one two three tonight";
  hits = guard::scan(digits);
  ASSERT_EQ(hits.size(), 1u) << describe(digits, hits);
  EXPECT_EQ(hits[0].what, guard::category::phone);
  EXPECT_EQ(guard::mask(digits, hits), "call [hidden] tonight");
}

TEST(ContactGuard, MaskReplacesEveryHit) {
  const std::string text = "call +1 415 555 0132 or mail a.b@example.com, thx";
  auto hits = guard::scan(text);
  ASSERT_EQ(hits.size(), 2u) << describe(text, hits);
  EXPECT_EQ(hits[0].what, guard::category::phone);
  EXPECT_EQ(hits[1].what, guard::category::email);
  EXPECT_EQ(guard::mask(text, hits), "call [hidden] or mail [hidden], thx");
  // out-of-range and overlapping ranges are clipped or skipped, never read past the end
  std::vector<guard::hit> odd = {{guard::category::url, 0, 4}, {guard::category::url, 2, 6},
                                 {guard::category::url, 40, 400}};
  EXPECT_EQ(guard::mask(text, odd), "[hidden] +1 415 555 0132 or mail a.b@example[hidden]");
}

TEST(ContactGuard, Categories) {
  using guard::category;
  struct row {
    const char* text;
    category want;
  };
  const row rows[] = {
    {"reach me at sam.lee@outlook.com", category::email},
    {"(415) 555-0132 is my cell", category::phone},
    {"+44 20 7946 0958", category::phone},
    {"all my rates: bit.ly/nate-rates", category::url},
    {"dm me on insta @sarah.kim.creates", category::social_handle},
    {"my telegram is @zoebakes", category::messaging_app},
    {"can we move this to WhatsApp?", category::messaging_app},
    {"Pay via PayPal", category::payment_app},
    {"cashapp $zoebakes", category::payment_app},
    {"IBAN: GB29 NWBK 6016 1331 9268 19", category::bank_account},
    {"BTC: bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh", category::crypto_address},
    {"send usdt to 0x71C7656EC7ab88b098defB751B7401B5f6d8976F", category::crypto_address},
    {"let's take this off the platform", category::off_platform},
  };
  for (const auto& r : rows) {
    auto hits = guard::scan(r.text);
    EXPECT_TRUE(has(hits, r.want)) << r.text << " =>" << describe(r.text, hits) << ", want "
                                   << guard::to_string(r.want);
  }
}

TEST(ContactGuard, ContentInstructionsAndPlatformTalkAreNotHits) {
  const char* ordinary[] = {
    "Please tag @glowskin in the caption and use #SummerGlow.",
    "We pay through Pactum escrow, funds are released on approval.",
    "$1,500 for 3 reels, deliver by 12/05/2026, 1.2M followers, 4.7% engagement.",
    "An Instagram reel and a TikTok duet, post it on your story at 3pm.",
    "Feel free to DM me here if anything changes.",
    "hey @jake, did the samples arrive?",
  };
  for (const char* text : ordinary) {
    auto hits = guard::scan(text);
    EXPECT_TRUE(hits.empty()) << text << " =>" << describe(text, hits);
  }
}

TEST(ContactGuard, SameAnswerFromManyThreads) {
  auto attempts = load("attempts.txt");
  std::vector<std::vector<guard::hit>> expected;
  for (const auto& s : attempts)
    expected.push_back(guard::scan(s.text));
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&, k] {
      for (size_t i = 0; i < attempts.size(); ++i)
        if (guard::scan(attempts[i].text) != expected[i]) ++mismatches[static_cast<size_t>(k)];
    });
  for (auto& t : threads)
    t.join();
  for (int m : mismatches)
    EXPECT_EQ(m, 0);
}

TEST(ContactGuard, HostileInputScansInBoundedTime) {
  auto repeat = [](std::string_view unit, size_t bytes) {
    std::string s;
    while (s.size() + unit.size() <= bytes)
      s += unit;
    return s;
  };
  const std::vector<std::pair<std::string, std::string>> inputs = {
    {"digits", repeat("7", 4000)},
    {"digits and dots", repeat("1.", 4000)},
    {"spaced digits", repeat("5 ", 4000)},
    {"at at at", repeat("at ", 4000)},
    {"dot dot dot", repeat("dot ", 4000)},
    {"x at y dot", repeat("x at y dot ", 4000)},
    {"at signs", repeat("@", 4000)},
    {"a@a", repeat("a@", 4000)},
    {"dots", repeat(".", 4000)},
    {"brackets", repeat("(at)[dot]", 4000)},
    {"spaced letters", repeat("w h a t s a p p ", 4000)},
    {"handles", repeat("dm me @a ", 4000)},
    {"apps", repeat("whatsapp ", 4000)},
    {"plus", repeat("+1 ", 4000)},
    {"domain labels", repeat("a.", 4000) + "com"},
    {"hex", "0x" + repeat("ab ", 3998)},
    {"homoglyphs", repeat("\xD0\xB0", 4000)},
    {"emoji", repeat("\xF0\x9F\x93\x9E", 4000)},
    {"spelled", repeat("nine ", 4000)},
    {"mixed", repeat("call me +1 (415) 555-0132 at jo dot x at gmail dot com @x $y ", 4000)},
  };
  for (const auto& [name, text] : inputs) {
    auto t0 = std::chrono::steady_clock::now();
    auto hits = guard::scan(text);
    auto t1 = std::chrono::steady_clock::now();
    auto masked = guard::mask(text, hits);
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count();
    std::printf("  %-16s %5zu bytes %4zu hits %8lld us\n", name.c_str(), text.size(), hits.size(),
                static_cast<long long>(us));
    expect_well_formed(text, hits);
  }
}
