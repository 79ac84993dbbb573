#include "pactum/actors/contact_guard.hpp"
#include "guard_corpus.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

// guard::scan returns at once for a text that guard::provably_clean proves cannot give a hit; it
// must give exactly what the full pipeline (guard::scan_reference) gives, for every text. Checked
// on the labelled corpus, on the texts of contact_guard_test.cpp and on generated texts built to
// sit right at the edge of the pre-check (one trigger word, one signal byte, spaced letters, ...).

#ifndef PACTUM_TEST_DATA_DIR
#define PACTUM_TEST_DATA_DIR "tests/data"
#endif

using namespace pactum::actors;

namespace {

std::vector<std::string> corpus_lines(const std::string& name) {
  std::ifstream in(std::string(PACTUM_TEST_DATA_DIR) + "/contact_guard/" + name);
  EXPECT_TRUE(in.good()) << "cannot open " << name;
  std::vector<std::string> out;
  for (auto& sample : pactum::test_support::read_guard_corpus(in))
    out.push_back(std::move(sample.text));
  return out;
}

/// The texts pactum-sim sends: its fixed sentence cut to the text size.
std::string sim_text(size_t bytes) {
  std::string t = "a simulated chat message from the pactum load generator ";
  while (t.size() < bytes)
    t += t;
  t.resize(bytes);
  return t;
}

struct counts {
  size_t clean = 0;
  size_t full = 0;
  size_t with_hits = 0;
};

/// scan == scan_reference, and the same masked text; returns whether the text took the short cut.
void expect_same(std::string_view text, counts& c) {
  auto fast = guard::scan(text);
  auto ref = guard::scan_reference(text);
  bool clean = guard::provably_clean(text);
  (clean ? c.clean : c.full)++;
  if (!ref.empty()) ++c.with_hits;
  ASSERT_EQ(fast, ref) << "text: \"" << text << "\"";
  ASSERT_EQ(guard::mask(text, fast), guard::mask(text, ref)) << "text: \"" << text << "\"";
  if (clean) {
    ASSERT_TRUE(ref.empty()) << "provably clean but the full scan finds something: \"" << text << "\"";
  }
}

/// Words of the corpus (split on blanks), lower- and original-case, plus the words the rules and
/// rewrites start from, near misses of them, and ordinary chat words.
std::vector<std::string> vocabulary() {
  std::set<std::string> v;
  for (const char* file : {"attempts.txt", "ordinary.txt"})
    for (const auto& line : corpus_lines(file)) {
      size_t i = 0;
      while (i < line.size()) {
        size_t j = line.find_first_of(" \t", i);
        if (j == std::string::npos) j = line.size();
        if (j > i) v.insert(line.substr(i, j - i));
        i = j + 1;
      }
    }
  for (const char* w :
       {"oh", "o", "double", "doble", "triple", "hundred", "plus", "one", "two", "nine", "zero", "cero",
        "uno", "dot", "punto", "ponto", "point", "punkt", "underscore", "arroba", "at", "a", "x", "i",
        "gmail", "yahoo", "proton", "gmx", "aol", "qq", "whatsapp", "wtsapp", "whatsaap", "wasap", "watsap",
        "whasap", "telgram", "tlgrm", "telegrm", "telegramm", "signal", "line", "zoom", "teams", "tele",
        "wa", "tg", "kik", "zap", "pp", "upi", "pix", "wise", "eth", "crypto", "swish", "blik", "snap",
        "insta", "ig", "fb", "threads", "the", "gram", "cash", "app", "pay", "pal", "e", "transfer",
        "bank", "account", "acct", "details", "number", "routing", "sort", "code", "swift", "bic",
        "konto", "cuenta", "conta", "wire", "send", "deposit", "my", "me", "on", "via", "through", "here",
        "outside", "off", "fora", "fuera", "hors", "platform", "pactum", "escrow", "site", "website",
        "middleman", "middle", "man", "skip", "avoid", "bypass", "save", "fee", "fees", "cut", "service",
        "not", "without", "instead", "no", "need", "rather", "than", "directly", "direct", "direkt",
        "deal", "go", "privately", "under", "table", "books", "in", "only", "hand", "en", "efectivo",
        "em", "dinheiro", "what's", "whats", "don't", "I'm", "it's", "dm", "message", "text", "call",
        "hi", "thanks", "great", "draft", "video", "reel", "brief", "tomorrow", "budget", "post",
        "caption", "tag", "chat", "simulated", "load", "generator", "WhatsApp", "PAYPAL", "Telegram"})
    v.insert(w);
  return {v.begin(), v.end()};
}

} // namespace

TEST(ContactGuardEquivalence, CorpusAndUnitTextsGiveTheSameHits) {
  counts c;
  for (const char* file : {"attempts.txt", "ordinary.txt"})
    for (const auto& line : corpus_lines(file))
      expect_same(line, c);
  const std::vector<std::string> unit_texts = {
    "", " \t\n  \n", "\xC2\xA0\xE3\x80\x80", "write to \xD1\x98ohn@gm\xD0\xB0il.com please",
    "mail \xEF\xBD\x8D\xEF\xBD\x89\xEF\xBC\xA0\xEF\xBD\x87\xEF\xBD\x8D\xEF\xBD\x81\xEF\xBD\x89\xEF\xBD\x8C"
    "\xEF\xBC\x8E\xEF\xBD\x83\xEF\xBD\x8F\xEF\xBD\x8D ok",
    "ok so mia dot travels at gmail dot com, thanks",
    "call nine one seven five five five zero one two three tonight",
    "call +1 415 555 0132 or mail a.b@example.com, thx", "reach me at sam.lee@outlook.com",
    "(415) 555-0132 is my cell", "+44 20 7946 0958", "all my rates: bit.ly/nate-rates",
    "dm me on insta @sarah.kim.creates", "my telegram is @zoebakes", "can we move this to WhatsApp?",
    "Pay via PayPal", "cashapp $zoebakes", "IBAN: GB29 NWBK 6016 1331 9268 19",
    "BTC: bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh",
    "send usdt to 0x71C7656EC7ab88b098defB751B7401B5f6d8976F", "let's take this off the platform",
    "Please tag @glowskin in the caption and use #SummerGlow.",
    "We pay through Pactum escrow, funds are released on approval.",
    "$1,500 for 3 reels, deliver by 12/05/2026, 1.2M followers, 4.7% engagement.",
    "An Instagram reel and a TikTok duet, post it on your story at 3pm.",
    "Feel free to DM me here if anything changes.", "hey @jake, did the samples arrive?",
    "w h a t s a p p me", "k-a-t-i-e", "oh oh oh oh oh oh oh oh call", "double oh seven", "W-h-a-t-s-A-p-p",
    "pay me in cash", "we can do it under the table", "let's go direct", "no escrow needed",
    "not through here", "skip the platform fee", "rather than pactum", "middle man", "wire it to my bank",
  };
  for (const auto& t : unit_texts)
    expect_same(t, c);
  for (size_t bytes : {1, 16, 32, 64, 100, 256, 1024})
    expect_same(sim_text(bytes), c);
  EXPECT_GT(c.clean, 0U);
  EXPECT_GT(c.with_hits, 0U);
}

TEST(ContactGuardEquivalence, TheSimulatorsChatTextTakesTheShortCut) {
  // The chat benchmark's texts: if the pre-check stops proving them clean, the benchmark measures
  // the full scan again.
  for (size_t bytes : {16, 64, 256})
    EXPECT_TRUE(guard::provably_clean(sim_text(bytes))) << bytes;
  EXPECT_TRUE(guard::provably_clean("Thanks, the draft looks great! Can you post it tomorrow morning?"));
  EXPECT_FALSE(guard::provably_clean("whatsapp me"));
  EXPECT_FALSE(guard::provably_clean("call me at 555"));
  EXPECT_FALSE(guard::provably_clean("name at gmail"));
  EXPECT_FALSE(guard::provably_clean("w h a t s"));
  EXPECT_FALSE(guard::provably_clean("nine"));
  EXPECT_FALSE(guard::provably_clean("caf\xC3\xA9"));
}

TEST(ContactGuardEquivalence, GeneratedTextsGiveTheSameHits) {
  const auto vocab = vocabulary();
  std::vector<std::string> ascii_words; // letters and apostrophes only: texts the pre-check may pass
  for (const auto& w : vocab)
    if (std::all_of(w.begin(), w.end(), [](char ch) {
          return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '\'';
        }))
      ascii_words.push_back(w);
  const std::vector<std::string> separators = {
    " ", " ", " ", " ", " ", ", ", ". ", "! ", "? ", "\n", "\t", "-", "'", "`", ";", "\"", " - ", "  ",
    "(", ")", "[", "]", "{", "<", ">", "@", " @ ", "$", ":", ": ", "/", "_", "*", ".", "+", "#", "%",
    "&", "=", "~", "\xC2\xA0", "\xE2\x80\x8B", "\xE2\x80\x94", "\xEF\xBC\xA0",
  };
  const std::vector<std::string> extras = {
    "7", "42", "555", "0132", "2026", "1.5", "+1", "\xD0\xB0", "\xD1\x96", "\xC3\xA9", "caf\xC3\xA9",
    "\xEF\xBD\x8D", "\xE2\x91\xA0", "\xE2\x80\x8D", "\xF0\x9D\x90\x9A", "\xD0\xB2\xD0\xB0\xD1\x82\xD1\x81\xD0\xB0\xD0\xBF",
    "\xE4\xBD\xA0\xE5\xA5\xBD", "\xFF", "\xC3", "@x", "$y", "x.com", "www", "http", "://", "a", "b", "c", "d",
    "1", "2", "3", "O", "l", "I", "v3nmo", "p@ypal", "wh@tsapp",
  };
  std::mt19937_64 rng(20261206);
  auto pick = [&](const std::vector<std::string>& from) -> const std::string& {
    return from[std::uniform_int_distribution<size_t>(0, from.size() - 1)(rng)];
  };
  auto chance = [&](int percent) { return std::uniform_int_distribution<int>(0, 99)(rng) < percent; };
  counts c;
  for (int i = 0; i < 30000; ++i) {
    std::string text;
    const int mode = i % 3; // 0: anything; 1: ASCII words and plain separators; 2: mostly ordinary
    const int words = std::uniform_int_distribution<int>(1, mode == 2 ? 16 : 10)(rng);
    for (int k = 0; k < words; ++k) {
      if (k > 0) {
        if (mode == 0) text += pick(separators);
        else text += chance(80) ? std::string(" ") : pick({" ", ", ", "! ", "? ", "\n", "-", "'", "; ", "  "});
      }
      if (mode == 0 && chance(25)) text += pick(extras);
      else if (mode == 0) text += pick(vocab);
      else text += pick(ascii_words);
      if (mode == 0 && chance(10)) text += pick(separators);
    }
    expect_same(text, c);
    if (HasFatalFailure()) return;
  }
  // the generator reached both paths and texts with findings, so the comparison means something
  EXPECT_GT(c.clean, 2000U);
  EXPECT_GT(c.full, 2000U);
  EXPECT_GT(c.with_hits, 1000U);
  std::printf("generated: %zu provably clean, %zu full scans, %zu with hits\n", c.clean, c.full, c.with_hits);
}
