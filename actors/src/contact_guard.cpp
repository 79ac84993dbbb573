#include "pactum/actors/contact_guard.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// How it works (docs/contact-guard.md has the user-facing account):
//
//  1. fold:       decode UTF-8 and fold every code point to lower-case ASCII: accents dropped,
//                 fullwidth / mathematical / circled / small-capital forms to their letter or
//                 digit, Cyrillic and Greek look-alikes to Latin when the word also has Latin in
//                 it, invisible characters dropped, dashes, dots, "@" look-alikes to ASCII.
//                 Each resulting character remembers the byte range it came from.
//  2. rewrite:    spelled-out digits to digits ("nine" -> 9), spaced letters joined
//                 ("w h a t s a p p"), "(at)", "[dot]", " at gmail", " dot com" to "@" and ".".
//  3. detect:     hand-written scanners over the normalised text (no regex): addresses (e-mail,
//                 URL), phone numbers, IBANs, crypto addresses, handles, and keyword rules over
//                 the word list (apps, intent phrases, off-platform phrases).
//  4. map back:   every finding's normalised range maps to the original bytes; findings are
//                 merged and sorted.
//
// Every step is a single pass or a pass with a bounded look-around, so the time is linear in the
// input. No state outlives a call; the tables are constant.

namespace pactum::actors::guard {

std::string_view to_string(category c) noexcept {
  switch (c) {
    case category::email:
      return "email";
    case category::phone:
      return "phone";
    case category::url:
      return "url";
    case category::social_handle:
      return "social_handle";
    case category::messaging_app:
      return "messaging_app";
    case category::payment_app:
      return "payment_app";
    case category::bank_account:
      return "bank_account";
    case category::crypto_address:
      return "crypto_address";
    case category::off_platform:
      return "off_platform";
  }
  return "unknown";
}

namespace {

using u32 = uint32_t;
using sv = std::string_view;

// ------------------------------------------------------------------------------------------------
// Small helpers

/// Stands for a letter of a script that is not folded (Cyrillic word, CJK, ...): part of a word,
/// never part of an address.
constexpr char foreign = '\x01';

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_lower(char c) {
  return c >= 'a' && c <= 'z';
}
bool is_alnum(char c) {
  return is_digit(c) || is_lower(c);
}
bool is_word_char(char c) {
  return is_alnum(c) || c == foreign;
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f');
}

template <size_t N>
bool in(const std::array<sv, N>& set, sv s) {
  return std::find(set.begin(), set.end(), s) != set.end();
}

// ------------------------------------------------------------------------------------------------
// Step 1: decode and fold

struct code_point {
  char32_t cp = 0;
  u32 begin = 0;
  u32 end = 0;
};

std::vector<code_point> decode(sv s) {
  std::vector<code_point> out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    auto b0 = static_cast<unsigned char>(s[i]);
    size_t n = b0 < 0x80 ? 1 : (b0 >> 5) == 0x6 ? 2 : (b0 >> 4) == 0xE ? 3 : (b0 >> 3) == 0x1E ? 4 : 0;
    char32_t cp = n == 1 ? b0 : n == 2 ? (b0 & 0x1F) : n == 3 ? (b0 & 0x0F) : (b0 & 0x07);
    bool ok = n > 0 && i + n <= s.size();
    for (size_t k = 1; ok && k < n; ++k) {
      auto bk = static_cast<unsigned char>(s[i + k]);
      ok = (bk & 0xC0) == 0x80;
      cp = (cp << 6) | (bk & 0x3F);
    }
    if (!ok) {
      out.push_back({0xFFFD, static_cast<u32>(i), static_cast<u32>(i + 1)});
      ++i;
      continue;
    }
    out.push_back({cp, static_cast<u32>(i), static_cast<u32>(i + n)});
    i += n;
  }
  return out;
}

enum class fold_kind : uint8_t { text, drop, space, foreign, confusable };

struct folded {
  fold_kind kind = fold_kind::text;
  std::array<char, 3> c = {0, 0, 0};
  uint8_t n = 0;
  bool upper = false;
};

folded text(char a, bool upper = false) {
  return folded{fold_kind::text, {a, 0, 0}, 1, upper};
}
folded text2(char a, char b) {
  return folded{fold_kind::text, {a, b, 0}, 2, false};
}
folded kind_only(fold_kind k) {
  return folded{k, {0, 0, 0}, 0, false};
}

/// Base letters of U+00C0..U+017F (Latin-1 Supplement letters and Latin Extended-A); ' ' for the
/// two signs in that range (multiplication, division).
constexpr sv latin_fold = "aaaaaaaceeeeiiiidnooooo ouuuuytsaaaaaaaceeeeiiiidnooooo ouuuuytyaaaaaacccccccc"
                          "ddddeeeeeeeeeegggggggghhhhiiiiiiiiiiiijjkkkllllllllllnnnnnnnnnoooooooorrrrrr"
                          "ssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";
static_assert(latin_fold.size() == 0x180 - 0xC0);

/// Cyrillic and Greek letters that look like a Latin letter (Unicode confusables, the common ones).
char confusable(char32_t cp) {
  switch (cp) {
    case 0x0430: case 0x0410: case 0x03B1: case 0x0391:
      return 'a';
    case 0x0432: case 0x0412: case 0x044C: case 0x03B2: case 0x0392:
      return 'b';
    case 0x0441: case 0x0421: case 0x03F2:
      return 'c';
    case 0x0501:
      return 'd';
    case 0x0435: case 0x0415: case 0x0450: case 0x0451: case 0x0400: case 0x0401: case 0x03B5:
    case 0x0395:
      return 'e';
    case 0x043D: case 0x041D: case 0x04BB: case 0x04BA: case 0x0397:
      return 'h';
    case 0x0456: case 0x0406: case 0x0457: case 0x0407: case 0x03B9: case 0x0399:
      return 'i';
    case 0x0458: case 0x0408: case 0x03F3:
      return 'j';
    case 0x043A: case 0x041A: case 0x03BA: case 0x039A:
      return 'k';
    case 0x04CF: case 0x04C0:
      return 'l';
    case 0x043C: case 0x041C: case 0x039C:
      return 'm';
    case 0x043F: case 0x03B7: case 0x039D:
      return 'n';
    case 0x043E: case 0x041E: case 0x03BF: case 0x039F: case 0x03CC: case 0x03C3:
      return 'o';
    case 0x0440: case 0x0420: case 0x03C1: case 0x03A1:
      return 'p';
    case 0x051B: case 0x051A:
      return 'q';
    case 0x0455: case 0x0405:
      return 's';
    case 0x0442: case 0x0422: case 0x03C4: case 0x03A4:
      return 't';
    case 0x03C5:
      return 'u';
    case 0x03BD:
      return 'v';
    case 0x051D: case 0x051C: case 0x03C9:
      return 'w';
    case 0x0445: case 0x0425: case 0x03C7: case 0x03A7:
      return 'x';
    case 0x0443: case 0x0423: case 0x04AF: case 0x04AE: case 0x03B3: case 0x03A5:
      return 'y';
    case 0x0396:
      return 'z';
    default:
      return 0;
  }
}

/// Latin small capitals and IPA letters used as "fancy text".
char small_capital(char32_t cp) {
  switch (cp) {
    case 0x1D00: return 'a';
    case 0x0299: return 'b';
    case 0x1D04: return 'c';
    case 0x1D05: return 'd';
    case 0x1D07: return 'e';
    case 0xA730: return 'f';
    case 0x0262: case 0x0261: return 'g';
    case 0x029C: case 0x210E: return 'h';
    case 0x026A: return 'i';
    case 0x1D0A: return 'j';
    case 0x1D0B: return 'k';
    case 0x029F: return 'l';
    case 0x1D0D: return 'm';
    case 0x0274: return 'n';
    case 0x1D0F: return 'o';
    case 0x1D18: return 'p';
    case 0x0280: return 'r';
    case 0xA731: return 's';
    case 0x1D1B: return 't';
    case 0x1D1C: return 'u';
    case 0x1D20: return 'v';
    case 0x1D21: return 'w';
    case 0x028F: return 'y';
    case 0x1D22: return 'z';
    default: return 0;
  }
}

/// Digits written with other code points: enclosed, super/subscript, other scripts' digits,
/// mathematical. -1 if `cp` is none of them.
int other_digit(char32_t cp) {
  auto in_range = [cp](char32_t lo, char32_t hi) { return cp >= lo && cp <= hi; };
  if (in_range(0x2460, 0x2468)) return static_cast<int>(cp - 0x2460 + 1); // ①
  if (in_range(0x2474, 0x247C)) return static_cast<int>(cp - 0x2474 + 1); // ⑴
  if (in_range(0x2488, 0x2490)) return static_cast<int>(cp - 0x2488 + 1); // ⒈
  if (in_range(0x24F5, 0x24FD)) return static_cast<int>(cp - 0x24F5 + 1); // ⓵
  if (in_range(0x2776, 0x277E)) return static_cast<int>(cp - 0x2776 + 1); // ❶
  if (in_range(0x2780, 0x2788)) return static_cast<int>(cp - 0x2780 + 1); // ➀
  if (in_range(0x278A, 0x2792)) return static_cast<int>(cp - 0x278A + 1); // ➊
  if (cp == 0x24EA || cp == 0x24FF || cp == 0x1F10B || cp == 0x1F10C || cp == 0x2070) return 0;
  if (cp == 0xB9) return 1;
  if (cp == 0xB2) return 2;
  if (cp == 0xB3) return 3;
  if (in_range(0x2074, 0x2079)) return static_cast<int>(cp - 0x2070);
  if (in_range(0x2080, 0x2089)) return static_cast<int>(cp - 0x2080);
  if (in_range(0x1D7CE, 0x1D7FF)) return static_cast<int>((cp - 0x1D7CE) % 10);
  if (in_range(0x1F101, 0x1F10A)) return static_cast<int>(cp - 0x1F101); // 🄁 digit comma
  constexpr auto zeros = std::to_array<char32_t>({0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66,
                                              0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66,
                                              0x0E50, 0x0ED0, 0x1040, 0x17E0});
  for (char32_t z : zeros)
    if (in_range(z, z + 9)) return static_cast<int>(cp - z);
  return -1;
}

folded fold(char32_t cp) {
  if (cp < 0x80) {
    char c = static_cast<char>(cp);
    if (c >= 'A' && c <= 'Z') return text(static_cast<char>(c - 'A' + 'a'), true);
    if (c == '\n') return text('\n');
    if (cp < 0x20 || cp == 0x7F) return kind_only(fold_kind::space);
    if (c == '`') return text('\'');
    return text(c);
  }
  auto in_range = [cp](char32_t lo, char32_t hi) { return cp >= lo && cp <= hi; };
  // Invisible: combining marks, format characters, variation selectors, keycap, tags.
  if (in_range(0x0300, 0x036F) || cp == 0x00AD || cp == 0x034F || in_range(0x200B, 0x200F) ||
      in_range(0x202A, 0x202E) || in_range(0x2060, 0x2064) || cp == 0xFEFF ||
      in_range(0xFE00, 0xFE0F) || in_range(0x20D0, 0x20FF) || in_range(0x1AB0, 0x1AFF) ||
      in_range(0x1DC0, 0x1DFF) || in_range(0xE0000, 0xE007F) || in_range(0x02B0, 0x02FF))
    return kind_only(fold_kind::drop);
  if (cp == 0x2028 || cp == 0x2029 || cp == 0x85) return text('\n');
  if (cp == 0xA0 || cp == 0x1680 || in_range(0x2000, 0x200A) || cp == 0x202F || cp == 0x205F ||
      cp == 0x3000)
    return kind_only(fold_kind::space);
  if (in_range(0xFF01, 0xFF5E)) return fold(cp - 0xFEE0); // fullwidth ASCII
  if (int d = other_digit(cp); d >= 0) return text(static_cast<char>('0' + d));
  if (char c = small_capital(cp)) return text(c);
  if (in_range(0x1D400, 0x1D6A3)) { // mathematical bold/italic/script/... letters
    auto r = (cp - 0x1D400) % 52;
    return r < 26 ? text(static_cast<char>('a' + r), true) : text(static_cast<char>('a' + r - 26));
  }
  if (in_range(0x24B6, 0x24CF)) return text(static_cast<char>('a' + (cp - 0x24B6)), true); // Ⓐ
  if (in_range(0x24D0, 0x24E9)) return text(static_cast<char>('a' + (cp - 0x24D0)));       // ⓐ
  if (in_range(0x249C, 0x24B5)) return text(static_cast<char>('a' + (cp - 0x249C)));       // ⒜
  if (in_range(0x1F130, 0x1F149)) return text(static_cast<char>('a' + (cp - 0x1F130)), true);
  if (in_range(0x1F150, 0x1F169)) return text(static_cast<char>('a' + (cp - 0x1F150)), true);
  if (in_range(0x1F170, 0x1F189)) return text(static_cast<char>('a' + (cp - 0x1F170)), true);
  if (in_range(0xC0, 0x17F)) {
    switch (cp) {
      case 0xDF: return text2('s', 's');
      case 0xE6: case 0xC6: return text2('a', 'e');
      case 0x153: case 0x152: return text2('o', 'e');
      case 0xFE: case 0xDE: return text2('t', 'h');
      case 0xD7: return text('x');
      default: break;
    }
    char c = latin_fold[cp - 0xC0];
    return c == ' ' ? kind_only(fold_kind::space) : text(c);
  }
  switch (cp) {
    case 0x2010: case 0x2011: case 0x2012: case 0x2013: case 0x2014: case 0x2015: case 0x2212:
    case 0x2043: case 0xFE58: case 0xFE63: case 0x2E3A: case 0x2E3B:
      return text('-');
    case 0xB7: case 0x2022: case 0x2024: case 0x2027: case 0x3002: case 0xFF61: case 0xFE52:
    case 0x2219: case 0x22C5: case 0x2026:
      return text('.');
    case 0xFE6B:
      return text('@');
    case 0x2236: case 0xFE55: case 0xA789:
      return text(':');
    case 0x2215: case 0x2044: case 0x29F8:
      return text('/');
    case 0x2018: case 0x2019: case 0x201B: case 0x2032: case 0x02BC:
      return text('\'');
    case 0x201C: case 0x201D: case 0x201E: case 0xAB: case 0xBB:
      return text('"');
    case 0xA2: case 0xA3: case 0xA5:
      return text('$');
    case 0x2116:
      return text('#');
    default:
      break;
  }
  if (in_range(0x20A0, 0x20CF)) return text('$'); // currency signs
  if (char c = confusable(cp)) {
    folded f = text(c);
    f.kind = fold_kind::confusable;
    return f;
  }
  if (in_range(0x80, 0xBF)) return kind_only(fold_kind::space);
  if (in_range(0x180, 0x1FFF)) return kind_only(fold_kind::foreign);
  if (in_range(0x2000, 0x2BFF) || in_range(0x2E00, 0x2E7F) || in_range(0x3000, 0x303F) ||
      in_range(0xE000, 0xF8FF) || in_range(0xFE10, 0xFE6F) || in_range(0xFFF0, 0xFFFF) ||
      in_range(0x1D000, 0x1D3FF) || in_range(0x1D400, 0x1D7FF) || in_range(0x1F000, 0x1FBFF))
    return kind_only(fold_kind::space);
  return kind_only(fold_kind::foreign);
}

/// One character of the normalised text and the original bytes it stands for.
struct unit {
  char c = ' ';
  bool upper = false;   ///< was an upper-case letter (crypto addresses are case-sensitive)
  bool spelled = false; ///< a digit from a spelled-out number word
  u32 begin = 0;
  u32 end = 0;
};
using units = std::vector<unit>;

units fold_text(sv s) {
  auto cps = decode(s);
  std::vector<folded> f;
  f.reserve(cps.size());
  for (const auto& c : cps)
    f.push_back(fold(c.cp));
  // A Cyrillic or Greek look-alike becomes its Latin letter only inside a word that also has a
  // Latin letter or digit (a spoof like "gmаil" or "whatsаpp"); a word wholly in Cyrillic stays
  // Cyrillic ("ватсап" is matched as a Cyrillic keyword).
  auto is_gap = [](const folded& x) {
    return x.kind == fold_kind::space || (x.kind == fold_kind::text && (x.c[0] == ' ' || x.c[0] == '\n'));
  };
  size_t i = 0;
  while (i < f.size()) {
    if (is_gap(f[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    bool latin = false;
    while (j < f.size() && !is_gap(f[j])) {
      if (f[j].kind == fold_kind::text && (is_alnum(f[j].c[0]) || f[j].c[0] == '@')) latin = true;
      ++j;
    }
    for (size_t k = i; k < j; ++k)
      if (f[k].kind == fold_kind::confusable) f[k].kind = latin ? fold_kind::text : fold_kind::foreign;
    i = j;
  }
  units out;
  out.reserve(s.size());
  for (size_t k = 0; k < f.size(); ++k) {
    const auto& x = f[k];
    auto b = cps[k].begin;
    auto e = cps[k].end;
    switch (x.kind) {
      case fold_kind::text:
        for (uint8_t m = 0; m < x.n; ++m)
          out.push_back(unit{x.c[m], x.upper, false, b, e});
        break;
      case fold_kind::space:
        out.push_back(unit{' ', false, false, b, e});
        break;
      case fold_kind::foreign:
      case fold_kind::confusable:
        out.push_back(unit{foreign, false, false, b, e});
        break;
      case fold_kind::drop:
        break;
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// Step 2: rewrites

struct number_word {
  sv word;
  int digit;
};

// English, Spanish, Portuguese, French, German, Italian. Left out on purpose: words that are
// everyday words elsewhere ("un", "um", "due", "null", "sei").
constexpr auto number_words = std::to_array<number_word>({
  {"zero", 0},  {"one", 1},    {"two", 2},    {"three", 3},  {"four", 4},    {"five", 5},
  {"six", 6},   {"seven", 7},  {"eight", 8},  {"nine", 9},   {"cero", 0},    {"uno", 1},
  {"dos", 2},   {"tres", 3},   {"cuatro", 4}, {"cinco", 5},  {"seis", 6},    {"siete", 7},
  {"ocho", 8},  {"nueve", 9},  {"dois", 2},   {"duas", 2},   {"quatro", 4},  {"sete", 7},
  {"oito", 8},  {"nove", 9},   {"deux", 2},   {"trois", 3},  {"quatre", 4},  {"cinq", 5},
  {"sept", 7},  {"huit", 8},   {"neuf", 9},   {"eins", 1},   {"zwei", 2},    {"drei", 3},
  {"vier", 4},  {"funf", 5},   {"fuenf", 5},  {"sechs", 6},  {"sieben", 7},  {"acht", 8},
  {"neun", 9},  {"quattro", 4}, {"cinque", 5}, {"sette", 7}, {"otto", 8},    {"nil", 0},
});

enum class word_role : uint8_t { none, digit, oh, repeat, hundred, plus };

/// Spelled-out digits become digits: "nine one seven" -> "9 1 7", "oh" next to a digit -> 0,
/// "double five" -> "55", "nine hundred" -> "9 00", "plus four four" -> "+4 4".
units spell_digits(const units& in) {
  struct run {
    size_t b = 0;
    size_t e = 0;
    word_role role = word_role::none;
    int value = 0;
  };
  std::vector<run> runs;
  std::string w;
  for (size_t i = 0; i < in.size();) {
    if (!is_lower(in[i].c)) {
      ++i;
      continue;
    }
    size_t j = i;
    w.clear();
    while (j < in.size() && is_lower(in[j].c))
      w.push_back(in[j++].c);
    run r{i, j, word_role::none, 0};
    for (const auto& nw : number_words)
      if (w == nw.word) {
        r.role = word_role::digit;
        r.value = nw.digit;
      }
    if (w == "oh" || w == "o") r.role = word_role::oh;
    if (w == "double" || w == "doble") r = run{i, j, word_role::repeat, 2};
    if (w == "triple") r = run{i, j, word_role::repeat, 3};
    if (w == "hundred") r.role = word_role::hundred;
    if (w == "plus") r.role = word_role::plus;
    if (r.role != word_role::none) runs.push_back(r);
    i = j;
  }
  if (runs.empty()) return in;
  auto is_gap = [](char c) { return c == ' ' || c == '-' || c == ','; };
  // Is the thing right after run k (skipping gaps) a digit or a digit word?
  auto digit_after = [&](size_t k) {
    size_t p = runs[k].e;
    while (p < in.size() && is_gap(in[p].c))
      ++p;
    if (p >= in.size()) return false;
    if (is_digit(in[p].c)) return true;
    return k + 1 < runs.size() && runs[k + 1].b == p &&
           (runs[k + 1].role == word_role::digit || runs[k + 1].role == word_role::oh);
  };
  auto digit_before = [&](size_t k) {
    size_t p = runs[k].b;
    while (p > 0 && is_gap(in[p - 1].c))
      --p;
    if (p == 0) return false;
    if (is_digit(in[p - 1].c)) return true;
    return k > 0 && runs[k - 1].e == p && runs[k - 1].role == word_role::digit;
  };
  // "oh"/"o" is a zero only next to another digit; modifiers only before/after one.
  std::vector<bool> active(runs.size(), false);
  for (size_t k = 0; k < runs.size(); ++k) {
    switch (runs[k].role) {
      case word_role::digit:
        active[k] = true;
        break;
      case word_role::oh:
        active[k] = digit_after(k) || digit_before(k);
        break;
      case word_role::repeat:
      case word_role::plus:
        active[k] = digit_after(k);
        break;
      case word_role::hundred:
        active[k] = digit_before(k);
        break;
      case word_role::none:
        break;
    }
  }
  units out;
  out.reserve(in.size());
  size_t k = 0;
  int repeat = 1;
  u32 repeat_begin = 0;
  for (size_t i = 0; i < in.size();) {
    if (k < runs.size() && runs[k].b == i) {
      const run& r = runs[k];
      u32 b = in[r.b].begin;
      u32 e = in[r.e - 1].end;
      if (!active[k]) {
        for (size_t m = r.b; m < r.e; ++m)
          out.push_back(in[m]);
      } else if (r.role == word_role::repeat) {
        repeat = r.value;
        repeat_begin = b;
      } else if (r.role == word_role::hundred) {
        out.push_back(unit{'0', false, true, b, e});
        out.push_back(unit{'0', false, true, b, e});
      } else if (r.role == word_role::plus) {
        out.push_back(unit{'+', false, true, b, e});
      } else {
        char d = static_cast<char>('0' + (r.role == word_role::oh ? 0 : r.value));
        for (int n = 0; n < repeat; ++n)
          out.push_back(unit{d, false, true, n + 1 < repeat ? repeat_begin : b, e});
        repeat = 1;
      }
      i = r.e;
      ++k;
      continue;
    }
    unit u = in[i];
    if (repeat > 1 && is_digit(u.c)) {
      for (int n = 1; n < repeat; ++n)
        out.push_back(unit{u.c, false, true, repeat_begin, u.end});
      repeat = 1;
    }
    out.push_back(u);
    ++i;
  }
  return out;
}

/// Letters typed one by one are joined: "w h a t s a p p" -> "whatsapp",
/// "k-a-t-i-e" -> "katie", "9 1 7 5 5 5" -> "917555".
units join_singles(const units& in) {
  const size_t n = in.size();
  std::vector<bool> drop(n, false);
  auto blank = [&](size_t i) { return in[i].c == ' ' || in[i].c == '\n'; };
  // Space-separated single characters (at least four, three of them letters or digits).
  struct piece {
    size_t b = 0;
    size_t e = 0;
  };
  std::vector<piece> tokens;
  for (size_t i = 0; i < n;) {
    if (blank(i)) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < n && !blank(j))
      ++j;
    tokens.push_back({i, j});
    i = j;
  }
  auto single = [&](const piece& t) {
    if (t.e - t.b == 1) return in[t.b].c != foreign;
    return t.e - t.b == 2 && is_alnum(in[t.b].c) && in[t.b + 1].c == ':';
  };
  for (size_t a = 0; a < tokens.size();) {
    if (!single(tokens[a])) {
      ++a;
      continue;
    }
    size_t z = a;
    while (z + 1 < tokens.size() && single(tokens[z + 1]) && tokens[z + 1].b == tokens[z].e + 1 &&
           in[tokens[z].e].c == ' ' && !(tokens[z].e - tokens[z].b == 2 && in[tokens[z].e - 1].c == ':'))
      ++z;
    size_t alnum = 0;
    for (size_t m = a; m <= z; ++m)
      alnum += is_alnum(in[tokens[m].b].c) ? 1 : 0;
    if (z - a + 1 >= 4 && alnum >= 3)
      for (size_t m = a; m < z; ++m)
        drop[tokens[m].e] = true;
    // a run stops after "x:" ("i b a n: g b 2 9 ..." is two runs)
    a = z + 1;
  }
  units mid;
  mid.reserve(n);
  for (size_t i = 0; i < n; ++i)
    if (!drop[i]) mid.push_back(in[i]);
  // Single characters separated by the same one of "-._*": "k-a-t-i-e", "w.h.a.t.s.a.p.p".
  const size_t m = mid.size();
  std::vector<bool> drop2(m, false);
  auto lone = [&](size_t i) {
    return is_alnum(mid[i].c) && (i == 0 || !is_alnum(mid[i - 1].c)) &&
           (i + 1 >= m || !is_alnum(mid[i + 1].c));
  };
  for (size_t i = 0; i < m;) {
    if (!lone(i) || i + 2 >= m) {
      ++i;
      continue;
    }
    char sep = mid[i + 1].c;
    if (sep != '-' && sep != '.' && sep != '_' && sep != '*') {
      ++i;
      continue;
    }
    size_t count = 1;
    size_t j = i;
    while (j + 2 < m && mid[j + 1].c == sep && lone(j + 2)) {
      j += 2;
      ++count;
    }
    if (count >= 4)
      for (size_t k = i + 1; k < j; k += 2)
        drop2[k] = true;
    i = j + 1;
  }
  units out;
  out.reserve(m);
  for (size_t i = 0; i < m; ++i)
    if (!drop2[i]) out.push_back(mid[i]);
  return out;
}

// Top-level domains recognised in bare domains ("zoebakes.com") and e-mail addresses.
constexpr auto tlds = std::to_array<sv>({
  "com", "net", "org", "io", "co", "me", "ly", "gg", "ee", "ai", "app", "dev", "link", "page",
  "site", "store", "shop", "online", "studio", "agency", "bio", "info", "biz", "tv", "xyz", "us",
  "uk", "de", "fr", "es", "it", "nl", "be", "ch", "at", "se", "no", "dk", "fi", "pl", "pt", "br",
  "mx", "ar", "cl", "in", "au", "nz", "ca", "jp", "kr", "cn", "ru", "ua", "tr", "ie", "eu", "cc",
  "fm", "sh", "to", "so", "la", "gl", "im", "sg", "hk", "tw", "my", "ph", "id", "th", "vn", "za",
  "ng", "ke", "ae", "il", "gr", "ro", "cz", "hu", "art", "blog", "live", "life", "media", "design",
  "photo", "photography", "video", "beauty", "fashion", "style", "fit", "club",
});
// TLDs that are also everyday words: a bare domain ending in one needs more evidence (a path,
// "www.", three labels, or an all-lower-case host with a long first label).
constexpr auto ambiguous_tlds = std::to_array<sv>({
  "at", "be", "in", "is", "it", "no", "so", "to", "me", "my", "us", "id", "la", "im", "de", "es",
  "co", "ca", "art", "blog", "live", "life", "media", "design", "photo", "video", "beauty",
  "fashion", "style", "fit", "club", "link", "page", "site", "store", "shop", "online", "app",
});
// Mail providers: "name at gmail" is an address without a TLD.
constexpr auto providers = std::to_array<sv>({
  "gmail", "googlemail", "yahoo", "hotmail", "outlook", "icloud", "protonmail", "proton", "gmx",
  "aol", "yandex", "rediffmail", "libero", "uol", "qq", "naver", "zoho", "mailru",
});

bool is_tld(sv s) {
  return in(tlds, s);
}

sv trim_punct(sv s) {
  while (!s.empty() && std::string_view(".,;:!?)\"'").find(s.back()) != sv::npos)
    s.remove_suffix(1);
  return s;
}

/// "name.tld" or "a.b.tld" with a known TLD.
bool looks_domain(sv s) {
  s = trim_punct(s);
  if (s.find('@') != sv::npos || s.starts_with("www.")) return false;
  auto dot = s.rfind('.');
  if (dot == sv::npos || dot == 0) return false;
  sv tld = s.substr(dot + 1);
  for (char c : s.substr(0, dot))
    if (!is_alnum(c) && c != '.' && c != '-') return false;
  return is_tld(tld);
}

struct token {
  size_t b = 0;
  size_t e = 0;
  std::string text;
};

std::vector<token> split_tokens(const units& u) {
  std::vector<token> out;
  for (size_t i = 0; i < u.size();) {
    if (u[i].c == ' ' || u[i].c == '\n') {
      ++i;
      continue;
    }
    token t;
    t.b = i;
    while (i < u.size() && u[i].c != ' ' && u[i].c != '\n')
      t.text.push_back(u[i++].c);
    t.e = i;
    out.push_back(std::move(t));
  }
  return out;
}

/// Replaces `[b, e)` of `u` by one character `c` standing for `[from, to)` of the original.
struct edit {
  size_t b = 0;
  size_t e = 0;
  char c = 0;
  u32 from = 0;
  u32 to = 0;
};

units apply(const units& u, const std::vector<edit>& edits) {
  units out;
  out.reserve(u.size());
  size_t k = 0;
  for (size_t i = 0; i < u.size();) {
    if (k < edits.size() && edits[k].b == i) {
      out.push_back(unit{edits[k].c, false, false, edits[k].from, edits[k].to});
      i = edits[k].e;
      ++k;
      continue;
    }
    out.push_back(u[i++]);
  }
  return out;
}

/// "(at)", "[at]", "{dot}", "[.]", "(arroba)" -> "@" or ".", with the spaces around them.
units bracket_operators(const units& u) {
  std::vector<edit> edits;
  auto closer = [](char c) { return c == ')' || c == ']' || c == '}' || c == '>'; };
  for (size_t i = 0; i < u.size(); ++i) {
    char c = u[i].c;
    if (c != '(' && c != '[' && c != '{' && c != '<') continue;
    std::string inner;
    size_t j = i + 1;
    while (j < u.size() && j - i <= 10 && !closer(u[j].c)) {
      if (u[j].c != ' ') inner.push_back(u[j].c);
      ++j;
    }
    if (j >= u.size() || !closer(u[j].c)) continue;
    char op = 0;
    if (inner == "at" || inner == "@" || inner == "arroba" || inner == "a") op = '@';
    if (inner == "dot" || inner == "." || inner == "punto" || inner == "ponto" || inner == "point" ||
        inner == "punkt" || inner == "d0t")
      op = '.';
    if (op == '@' && inner == "a") continue; // "(a)" is a list marker
    if (op == 0) continue;
    size_t b = i;
    size_t e = j + 1;
    while (b > 0 && u[b - 1].c == ' ' && (edits.empty() || edits.back().e < b))
      --b;
    while (e < u.size() && u[e].c == ' ')
      ++e;
    if (!edits.empty() && edits.back().e > b) continue;
    edits.push_back({b, e, op, u[i].begin, u[j].end});
    i = j;
  }
  return edits.empty() ? u : apply(u, edits);
}

constexpr auto not_local_parts = std::to_array<sv>({
  "is", "are", "am", "was", "were", "be", "me", "us", "it", "you", "we", "them", "him", "her",
  "here", "there", "now", "out", "up", "available", "everything", "all", "also", "site", "website",
  "page", "online", "posted", "live", "continue", "shop",
});

bool local_like(sv s) {
  if (s.empty() || in(not_local_parts, s)) return false;
  bool alnum = false;
  for (char c : s) {
    if (is_alnum(c))
      alnum = true;
    else if (c != '.' && c != '_' && c != '-' && c != '+' && c != '%')
      return false;
  }
  return alnum && is_alnum(s.back());
}

/// Word operators: " dot " / " punto " / " underscore " (when the neighbours make it an address),
/// then " at " / " arroba " / " @ ".
units word_operators(const units& u0) {
  // dots first, so that "at" can see "gmail.com"
  auto toks = split_tokens(u0);
  std::vector<edit> edits;
  auto same_line = [&](const units& u, size_t a, size_t b) {
    for (size_t i = a; i < b; ++i)
      if (u[i].c == '\n') return false;
    return true;
  };
  size_t last_dot = SIZE_MAX;
  for (size_t k = 1; k + 1 < toks.size(); ++k) {
    const auto& t = toks[k];
    if (!same_line(u0, toks[k - 1].e, toks[k + 1].b)) continue;
    char op = 0;
    sv prev = trim_punct(toks[k - 1].text);
    sv next = trim_punct(toks[k + 1].text);
    if (t.text == "dot" || t.text == "punto" || t.text == "ponto" || t.text == "point" || t.text == "punkt") {
      bool chain_forward = false;
      for (size_t m = k + 1; m < toks.size() && m <= k + 4; ++m) {
        sv x = toks[m].text;
        if (x == "dot" || x == "at" || x == "arroba" || x == "@" || x == "punto" || x == "punkt" ||
            x.find('@') != sv::npos)
          chain_forward = true;
      }
      bool chain_back = last_dot != SIZE_MAX && k - last_dot <= 3;
      bool tld = is_tld(next);
      if (tld || prev == "www" || (t.text != "point" && (chain_forward || chain_back))) op = '.';
    } else if (t.text == ".") {
      op = '.';
    } else if (t.text == "underscore") {
      if (!prev.empty() && is_alnum(prev.back()) && !next.empty() && is_alnum(next.front())) op = '_';
    }
    if (op == 0) continue;
    if (!edits.empty() && edits.back().e > toks[k - 1].e) continue;
    edits.push_back({toks[k - 1].e, toks[k + 1].b, op, u0[t.b].begin, u0[t.e - 1].end});
    if (op == '.') last_dot = k;
  }
  units u1 = edits.empty() ? u0 : apply(u0, edits);

  toks = split_tokens(u1);
  edits.clear();
  // "name@ gmail.com", "name @gmail.com": a detached half of an address
  for (size_t k = 0; k + 1 < toks.size(); ++k) {
    sv a = toks[k].text;
    sv b = trim_punct(toks[k + 1].text);
    bool left = a.size() > 1 && a.back() == '@' && local_like(a.substr(0, a.size() - 1)) &&
                (in(providers, b) || looks_domain(b));
    // only a mail provider on the right: "@brand.uk" is a brand handle
    bool right = b.size() > 1 && b.front() == '@' && local_like(a) &&
                 in(providers, b.substr(1, b.find('.') == sv::npos ? sv::npos : b.find('.') - 1));
    if ((left || right) && same_line(u1, toks[k].e, toks[k + 1].b) && toks[k + 1].b > toks[k].e)
      edits.push_back({toks[k].e, toks[k + 1].b, 0, 0, 0});
  }
  if (!edits.empty()) {
    units joined;
    joined.reserve(u1.size());
    size_t e = 0;
    for (size_t i = 0; i < u1.size(); ++i) {
      if (e < edits.size() && i >= edits[e].b && i < edits[e].e) continue;
      if (e < edits.size() && i >= edits[e].e) ++e;
      joined.push_back(u1[i]);
    }
    u1 = std::move(joined);
    toks = split_tokens(u1);
    edits.clear();
  }
  for (size_t k = 1; k + 1 < toks.size(); ++k) {
    const auto& t = toks[k];
    if (!same_line(u1, toks[k - 1].e, toks[k + 1].b)) continue;
    sv prev = toks[k - 1].text;
    sv next = trim_punct(toks[k + 1].text);
    bool op = false;
    if (t.text == "@" || t.text == "arroba") {
      op = true;
    } else if (t.text == "at") {
      op = local_like(prev) && (in(providers, next) || looks_domain(next));
    }
    if (!op) continue;
    if (!edits.empty() && edits.back().e > toks[k - 1].e) continue;
    edits.push_back({toks[k - 1].e, toks[k + 1].b, '@', u1[t.b].begin, u1[t.e - 1].end});
  }
  return edits.empty() ? u1 : apply(u1, edits);
}

// ------------------------------------------------------------------------------------------------
// Step 3: detectors

enum class kw : uint8_t { messaging, payment, social, provider, bank };
/// When a keyword counts. `always`: wherever it appears (unless the sentence is about showing the
/// app in the content). `channel`: only used as a channel: after "on/via/through/my/to/...", before
/// "me/id/number/app/...", before ":", or alone in its sentence. `strict`: like `channel` with fewer
/// cue words (ordinary English words: "signal", "line", "zoom", "teams").
enum class rule : uint8_t { always, channel, strict, whats, social_x };

struct keyword {
  sv phrase;
  kw kind;
  rule when;
};

constexpr auto keywords = std::to_array<keyword>({
  // messaging apps
  {"whatsapp", kw::messaging, rule::always}, {"whatsap", kw::messaging, rule::always},
  {"whatssapp", kw::messaging, rule::always}, {"whatsaap", kw::messaging, rule::always},
  {"watsapp", kw::messaging, rule::always}, {"watsap", kw::messaging, rule::always},
  {"wattsapp", kw::messaging, rule::always}, {"whatapp", kw::messaging, rule::always},
  {"whtsapp", kw::messaging, rule::always}, {"whtsap", kw::messaging, rule::always},
  {"wasap", kw::messaging, rule::always}, {"wassap", kw::messaging, rule::always},
  {"guasap", kw::messaging, rule::always}, {"whasapp", kw::messaging, rule::always},
  {"whats app", kw::messaging, rule::always}, {"wats app", kw::messaging, rule::always},
  {"whatsapps", kw::messaging, rule::always},
  {"whats", kw::messaging, rule::whats}, {"telegram", kw::messaging, rule::always},
  {"telegramm", kw::messaging, rule::always}, {"telegrm", kw::messaging, rule::always},
  {"tlgrm", kw::messaging, rule::always}, {"wechat", kw::messaging, rule::always},
  {"weixin", kw::messaging, rule::always}, {"viber", kw::messaging, rule::always},
  {"kakaotalk", kw::messaging, rule::always}, {"kakao", kw::messaging, rule::always},
  {"skype", kw::messaging, rule::always}, {"imessage", kw::messaging, rule::always},
  {"facetime", kw::messaging, rule::always}, {"threema", kw::messaging, rule::always},
  {"wickr", kw::messaging, rule::always}, {"discord", kw::messaging, rule::always},
  {"hangouts", kw::messaging, rule::always}, {"google meet", kw::messaging, rule::always},
  {"gmeet", kw::messaging, rule::always}, {"zapzap", kw::messaging, rule::always},
  {"signal", kw::messaging, rule::strict}, {"line", kw::messaging, rule::strict},
  {"zoom", kw::messaging, rule::strict}, {"teams", kw::messaging, rule::strict},
  {"messenger", kw::messaging, rule::strict}, {"kik", kw::messaging, rule::channel},
  {"tg", kw::messaging, rule::channel}, {"tele", kw::messaging, rule::strict},
  {"wa", kw::messaging, rule::channel}, {"zap", kw::messaging, rule::channel},
  {"телеграм", kw::messaging, rule::always}, {"телеграмм", kw::messaging, rule::always},
  {"телега", kw::messaging, rule::always}, {"телеге", kw::messaging, rule::always},
  {"ватсап", kw::messaging, rule::always}, {"вотсап", kw::messaging, rule::always},
  {"вацап", kw::messaging, rule::always}, {"ватсапп", kw::messaging, rule::always},
  {"вайбер", kw::messaging, rule::always}, {"вичат", kw::messaging, rule::always},
  // payment apps and coins used as a channel
  {"paypal", kw::payment, rule::always}, {"pay pal", kw::payment, rule::always},
  {"paypall", kw::payment, rule::always}, {"venmo", kw::payment, rule::always},
  {"zelle", kw::payment, rule::always}, {"cashapp", kw::payment, rule::always},
  {"cash app", kw::payment, rule::always}, {"cashtag", kw::payment, rule::always},
  {"revolut", kw::payment, rule::always}, {"skrill", kw::payment, rule::always},
  {"payoneer", kw::payment, rule::always}, {"western union", kw::payment, rule::always},
  {"westernunion", kw::payment, rule::always}, {"moneygram", kw::payment, rule::always},
  {"money gram", kw::payment, rule::always}, {"bizum", kw::payment, rule::always},
  {"alipay", kw::payment, rule::always}, {"ali pay", kw::payment, rule::always},
  {"wechat pay", kw::payment, rule::always}, {"gpay", kw::payment, rule::always},
  {"google pay", kw::payment, rule::always}, {"paytm", kw::payment, rule::always},
  {"phonepe", kw::payment, rule::always}, {"mercado pago", kw::payment, rule::always},
  {"mercadopago", kw::payment, rule::always}, {"transferwise", kw::payment, rule::always},
  {"remitly", kw::payment, rule::always}, {"worldremit", kw::payment, rule::always},
  {"bitcoin", kw::payment, rule::always}, {"btc", kw::payment, rule::always},
  {"ethereum", kw::payment, rule::always}, {"usdt", kw::payment, rule::always},
  {"usdc", kw::payment, rule::always}, {"tether", kw::payment, rule::always},
  {"trc20", kw::payment, rule::always}, {"erc20", kw::payment, rule::always},
  {"bep20", kw::payment, rule::always}, {"binance", kw::payment, rule::always},
  {"coinbase", kw::payment, rule::always}, {"metamask", kw::payment, rule::always},
  {"gcash", kw::payment, rule::always}, {"paymaya", kw::payment, rule::always},
  {"mpesa", kw::payment, rule::always}, {"easypaisa", kw::payment, rule::always},
  {"jazzcash", kw::payment, rule::always}, {"interac", kw::payment, rule::always},
  {"etransfer", kw::payment, rule::always}, {"e transfer", kw::payment, rule::always},
  {"twint", kw::payment, rule::always}, {"vipps", kw::payment, rule::always},
  {"mobilepay", kw::payment, rule::always}, {"satispay", kw::payment, rule::always},
  {"swish", kw::payment, rule::channel}, {"blik", kw::payment, rule::channel},
  {"crypto", kw::payment, rule::channel}, {"eth", kw::payment, rule::channel},
  {"wise", kw::payment, rule::channel}, {"pix", kw::payment, rule::channel},
  {"pp", kw::payment, rule::channel}, {"upi", kw::payment, rule::channel},
  // social platforms: a hit only with contact intent or a personal handle (see `social_rule`)
  {"instagram", kw::social, rule::always}, {"insta", kw::social, rule::always},
  {"ig", kw::social, rule::always}, {"tiktok", kw::social, rule::always},
  {"tik tok", kw::social, rule::always}, {"twitter", kw::social, rule::always},
  {"facebook", kw::social, rule::always}, {"fb", kw::social, rule::always},
  {"snapchat", kw::social, rule::always}, {"snap", kw::social, rule::always},
  {"linkedin", kw::social, rule::always}, {"threads", kw::social, rule::always},
  {"reddit", kw::social, rule::always}, {"youtube", kw::social, rule::always},
  {"twitch", kw::social, rule::always}, {"pinterest", kw::social, rule::always},
  {"tumblr", kw::social, rule::always}, {"onlyfans", kw::social, rule::always},
  {"x", kw::social, rule::social_x}, {"the gram", kw::social, rule::always},
  // mail providers: "my gmail is tom.green"
  {"gmail", kw::provider, rule::always}, {"yahoo", kw::provider, rule::always},
  {"hotmail", kw::provider, rule::always}, {"outlook", kw::provider, rule::always},
  {"icloud", kw::provider, rule::always}, {"protonmail", kw::provider, rule::always},
  // bank
  {"iban", kw::bank, rule::always}, {"bank details", kw::bank, rule::always},
  {"bank info", kw::bank, rule::always}, {"banking details", kw::bank, rule::always},
  {"bank account details", kw::bank, rule::always}, {"account number", kw::bank, rule::always},
  {"account numbers", kw::bank, rule::always}, {"routing number", kw::bank, rule::always},
  {"routing numbers", kw::bank, rule::always}, {"sort code", kw::bank, rule::always},
  {"swift code", kw::bank, rule::always}, {"bsb", kw::bank, rule::always},
  {"acct", kw::bank, rule::always}, {"routing", kw::bank, rule::always},
  {"swift", kw::bank, rule::always}, {"bic", kw::bank, rule::always},
});

constexpr auto channel_before = std::to_array<sv>({
  "on", "via", "through", "thru", "over", "using", "use", "my", "your", "to", "add", "by", "with",
  "in", "no", "pelo", "pela", "na", "por", "sur", "auf", "per", "par", "en", "mi", "meu", "mon",
  "mein", "chave", "into", "the",
});
constexpr auto channel_after = std::to_array<sv>({
  "me", "id", "number", "handle", "username", "user", "app", "call", "meeting", "link", "account",
  "transfer", "chat", "wallet", "address", "details", "f", "ff", "us", "you", "them", "him",
});
constexpr auto strict_before = std::to_array<sv>({"on", "via", "over", "using", "use", "fb"});
constexpr auto strict_after = std::to_array<sv>({"me", "id", "app", "number", "call", "meeting", "link",
                                            "chat", "invite"});

// Contact intent: phrases that offer or ask for a way to be reached.
constexpr auto intent_phrases = std::to_array<sv>({
  "dm", "dms", "pm", "inbox me", "dm me", "message me", "msg me", "text me", "write me",
  "write to me", "hit me up", "hit me", "hmu", "reach me", "reach out", "find me", "add me",
  "contact me", "ping me", "call me", "slide into", "shoot me", "talk on", "chat on",
  "continue on", "continue this on", "move this to", "switch to", "follow me", "look me up",
  "search me", "message there", "escribeme", "escribime", "me escribe", "llamame", "agregame",
  "me agrega", "me chama", "me add", "me adiciona", "me manda", "fala comigo", "ecris moi",
  "ecrivez moi", "contacte moi", "contactez moi", "schreib mir", "schreibt mir",
  "schreiben sie mir", "melde dich", "ruf mich", "scrivimi", "chiamami", "contattami",
  "message me there", "contact me via", "reach me on", "hit me on", "msg me on", "talk to me",
  "send me a msg", "send me a message", "send me a dm", "drop me a message", "drop me a msg",
  "drop me a line",
});
// Words that introduce one's own account.
constexpr auto self_words = std::to_array<sv>({"my", "mine", "im", "mon", "ma", "mi", "meu", "minha",
                                           "mein", "meine", "mio", "am", "me"});
// A handle in a content instruction ("tag @brand in the caption") is not a contact.
constexpr auto content_words = std::to_array<sv>({
  "tag", "tags", "tagging", "tagged", "mention", "mentions", "mentioning", "mentioned", "credit",
  "crediting", "collab", "collabs", "collaborator", "collaborators", "feature", "featuring",
  "shoutout", "shout", "repost", "reposting", "caption", "marcar", "marca", "markiert",
  "markieren", "mencione", "menciona", "etiqueta", "etiquetar", "identifie", "taggez", "follow",
});
// An app shown in the content ("show the WhatsApp notification") is not a channel, unless the
// sentence also speaks of "me"/"my".
constexpr auto scene_words = std::to_array<sv>({
  "show", "shows", "showing", "shown", "display", "displays", "displaying", "screen", "screens",
  "notification", "notifications", "unboxing", "demo", "integration", "integrates", "integrated",
  "logo", "logos", "icon", "icons", "blur", "footage", "scene", "mockup", "interface", "checkout",
  "onboarding", "screenshot", "screenshots", "client", "brief", "sponsor", "sponsoring",
  "sponsored", "video", "videos", "ad", "ads", "sticker", "stickers", "feature", "featured",
  "clip", "frame", "reel", "voiceover", "filter", "lens",
});
// A sentence that names the platform ("Pactum pays you directly") is not asking to leave it.
constexpr auto platform_talk = std::to_array<sv>({"pactum", "platform", "escrow", "here", "app",
                                                  "plataforma", "this"});
constexpr auto money_words = std::to_array<sv>({"pay", "paid", "paying", "payment", "payments",
                                                "money", "invoice", "fee", "fees", "deal", "cash"});
constexpr auto first_person = std::to_array<sv>({"me", "my", "mine", "i", "im", "ill", "ive"});

// Phone numbers of 7-9 digits need one of these nearby.
constexpr auto phone_cues = std::to_array<sv>({
  "call", "calls", "text", "texts", "phone", "number", "numbers", "num", "no", "nr", "cell",
  "cellphone", "mobile", "mob", "tel", "telephone", "ring", "sms", "digits", "contact", "line",
  "handy", "telefon", "telefono", "numero", "llamame", "llama", "chiamami", "celular", "appelle",
  "appelez", "ruf", "hmu", "mobil",
});
// ... and none of these just before: it is a reference number, not a phone.
constexpr auto number_labels = std::to_array<sv>({
  "order", "orders", "invoice", "inv", "ref", "reference", "tracking", "po", "sku", "ean", "upc",
  "isbn", "asin", "id", "serial", "batch", "lot", "case", "ticket", "contract", "model", "kit",
  "product", "item", "receipt", "account", "acct", "routing", "sort", "iban", "bsb", "swift",
  "bic", "vat", "tax", "code",
});
// ... nor one of these just after: it is a count or an amount.
constexpr auto number_units = std::to_array<sv>({
  "followers", "follower", "views", "view", "impressions", "plays", "likes", "subscribers", "subs",
  "people", "users", "units", "sales", "clicks", "reach", "streams", "downloads", "eur", "usd",
  "gbp", "euros", "euro", "dollars", "pounds", "rubles", "yen", "k", "m", "mil", "million",
  "vues", "aufrufe", "reproducciones", "visualizacoes", "seguidores", "abonnes", "rupees", "inr",
  "signups", "reais",
});
// Words that follow a platform name but are not an account name.
constexpr auto not_names = std::to_array<sv>({
  "the", "a", "an", "and", "or", "but", "so", "to", "too", "for", "of", "in", "on", "at", "with",
  "me", "my", "you", "your", "we", "our", "it", "this", "that", "there", "here", "now", "then",
  "please", "pls", "thanks", "instead", "also", "same", "fine", "ok", "okay", "good", "great",
  "better", "best", "easier", "faster", "quicker", "private", "public", "new", "old", "small",
  "big", "bigger", "growing", "mostly", "more", "less", "very", "really", "just", "only", "all",
  "down", "up", "open", "closed", "linked", "verified", "if", "when", "whatever", "not",
});
// Words skipped between a platform name and an account name ("my snap is x", "line id: x").
constexpr auto fillers = std::to_array<sv>({
  "is", "es", "est", "ist", "e", "c", "cest", "id", "username", "user", "name", "handle",
  "account", "me", "it", "its", "as", "s", "da", "whispers", "my",
});
constexpr auto introducing_fillers = std::to_array<sv>({
  "is", "es", "est", "ist", "e", "cest", "id", "username", "user", "name", "handle", "as", "its",
  "s",
});

/// A finding in normalised coordinates.
struct raw_hit {
  category what = category::email;
  size_t b = 0;
  size_t e = 0;
};

struct word {
  size_t b = 0;
  size_t e = 0;
  size_t sentence = 0;
  std::string text;
};

/// The keywords sorted by their first word (table order among equals): a word can only start the
/// phrases filed under it, so find_keywords does one binary search per word instead of comparing
/// every word with every keyword (built once, on first use; read-only after, so safe from any
/// thread).
struct keyword_entry {
  sv first;
  const keyword* k;
};

const std::vector<keyword_entry>& keywords_by_first_word() {
  static const auto index = [] {
    std::vector<keyword_entry> v;
    v.reserve(keywords.size());
    for (const auto& k : keywords)
      v.push_back({k.phrase.substr(0, k.phrase.find(' ')), &k});
    std::stable_sort(v.begin(), v.end(),
                     [](const keyword_entry& a, const keyword_entry& b) { return a.first < b.first; });
    return v;
  }();
  return index;
}

/// A keyword found in the word list: words `[w0, w1)`, normalised range `[b, e)`.
struct occurrence {
  const keyword* k = nullptr;
  size_t w0 = 0;
  size_t w1 = 0;
  size_t b = 0;
  size_t e = 0;
  bool active = false;
};

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

/// The original text of a word with foreign letters, Cyrillic lower-cased, for keyword lookup.
std::string original_lower(sv src) {
  std::string out;
  for (const auto& c : decode(src)) {
    char32_t cp = c.cp;
    if (cp >= 0x410 && cp <= 0x42F) cp += 0x20;
    if (cp >= 0x400 && cp <= 0x40F) cp += 0x50;
    if (cp < 0x80 && cp >= 'A' && cp <= 'Z') cp += 0x20;
    append_utf8(out, cp);
  }
  return out;
}

/// ISO 13616 mod-97 check of an IBAN (lower case letters, digits).
bool iban_checksum(sv s) {
  if (s.size() < 15) return false;
  unsigned rem = 0;
  auto feed = [&rem](char c) {
    if (is_digit(c)) {
      rem = (rem * 10 + static_cast<unsigned>(c - '0')) % 97;
    } else {
      unsigned v = static_cast<unsigned>(c - 'a') + 10;
      rem = (rem * 100 + v) % 97;
    }
  };
  for (size_t i = 4; i < s.size(); ++i)
    feed(s[i]);
  for (size_t i = 0; i < 4; ++i)
    feed(s[i]);
  return rem == 1;
}

/// IBAN length per country (the common ones); 0 if unknown.
size_t iban_length(sv cc) {
  struct entry {
    sv cc;
    size_t len;
  };
  constexpr auto table = std::to_array<entry>({
    {"ad", 24}, {"at", 20}, {"be", 16}, {"bg", 22}, {"br", 29}, {"ch", 21}, {"cy", 28},
    {"cz", 24}, {"de", 22}, {"dk", 18}, {"ee", 20}, {"es", 24}, {"fi", 18}, {"fr", 27},
    {"gb", 22}, {"gr", 27}, {"hr", 21}, {"hu", 28}, {"ie", 22}, {"is", 26}, {"it", 27},
    {"lt", 20}, {"lu", 20}, {"lv", 21}, {"mc", 27}, {"mt", 31}, {"nl", 18}, {"no", 15},
    {"pl", 28}, {"pt", 25}, {"ro", 24}, {"se", 24}, {"si", 19}, {"sk", 24},
  });
  for (const auto& e : table)
    if (e.cc == cc) return e.len;
  return 0;
}

/// A misspelling of WhatsApp or Telegram by consonant skeleton ("wtsapp", "whatsaap", "wasap",
/// "telgram", "tlgrm"): the keyword, or nullptr. `x` is one word of 5 to 10 characters.
const keyword* skeleton_keyword(sv x) {
  std::string skeleton;
  for (char c : x) {
    if (sv("aeiouy").find(c) != sv::npos || !is_lower(c)) continue;
    if (skeleton.empty() || skeleton.back() != c) skeleton.push_back(c);
  }
  const keyword* k = nullptr;
  bool ends_ap = x.ends_with("ap") || x.ends_with("pp");
  if (x.front() == 'w' && ends_ap && (skeleton == "whtsp" || skeleton == "wtsp" || skeleton == "wsp" || skeleton == "whsp"))
    k = &keywords[0];
  if (x.front() == 't' && skeleton == "tlgrm")
    for (const auto& kk : keywords)
      if (kk.phrase == "telegram") return &kk;
  return k;
}

/// The words of the off-platform rules (find_off_platform; the pre-check reads them too).
namespace off_platform_words {
  constexpr auto outside = std::to_array<sv>({"outside", "off", "fora", "fuera", "hors", "ausserhalb",
                                         "offplatform"});
  constexpr auto platform = std::to_array<sv>({"platform", "plataforma", "plateforme", "plattform",
                                          "pactum", "escrow", "app", "site", "website"});
  constexpr auto avoid = std::to_array<sv>({"skip", "avoid", "bypass", "dodge", "save", "saving",
                                        "circumvent", "evitar", "eviter", "sparen"});
  constexpr auto fee = std::to_array<sv>({"fee", "fees", "commission", "comision", "comissao", "taxa",
                                      "gebuhr", "gebuhren", "frais", "cut"});
  constexpr auto platform_cost = std::to_array<sv>({"platform", "pactum", "service", "escrow", "app",
                                               "plataforma"});
  constexpr auto negation = std::to_array<sv>({"not", "without", "instead"});
  constexpr auto the_platform = std::to_array<sv>({"pactum", "platform", "escrow", "plataforma"});
  constexpr auto dealing = std::to_array<sv>({"do", "deal", "go", "pay", "paid", "paying", "settle",
                                              "transfer", "wire", "invoice", "work", "trade"});
  constexpr auto directly = std::to_array<sv>({"directly", "direct", "directamente", "direto",
                                               "diretamente", "directement", "direkt"});
} // namespace off_platform_words

class detector {
public:
  detector(sv src, units u) : src_(src), u_(std::move(u)) {
    t_.reserve(u_.size());
    for (const auto& x : u_)
      t_.push_back(x.c);
  }

  std::vector<raw_hit> run() {
    build_words();
    find_keywords();
    mark_phrases();
    find_addresses();
    find_ibans();
    find_crypto();
    find_phones();
    apply_keyword_rules();
    find_handles();
    find_off_platform();
    return std::move(hits_);
  }

  const units& text_units() const {
    return u_;
  }

private:
  // -- words ------------------------------------------------------------------------------------

  void build_words() {
    size_t sentence = 0;
    const size_t n = t_.size();
    for (size_t i = 0; i < n;) {
      char c = t_[i];
      if (c == '!' || c == '?' || c == '\n' || c == ';' ||
          (c == '.' && (i + 1 >= n || t_[i + 1] == ' ' || t_[i + 1] == '\n'))) {
        ++sentence;
        ++i;
        continue;
      }
      if (!is_word_char(c)) {
        ++i;
        continue;
      }
      word w;
      w.b = i;
      w.sentence = sentence;
      bool has_foreign = false;
      while (i < n) {
        if (is_word_char(t_[i])) {
          has_foreign = has_foreign || t_[i] == foreign;
          w.text.push_back(t_[i++]);
        } else if (t_[i] == '\'' && i + 1 < n && is_word_char(t_[i + 1]) && i > w.b) {
          ++i; // "i'm" -> "im", "it's" -> "its"
        } else {
          break;
        }
      }
      w.e = i;
      if (has_foreign) w.text = original_lower(src_.substr(u_[w.b].begin, u_[w.e - 1].end - u_[w.b].begin));
      words_.push_back(std::move(w));
    }
  }

  /// Index of the first word starting at or after normalised position `p`.
  size_t word_at(size_t p) const {
    auto it = std::lower_bound(words_.begin(), words_.end(), p,
                               [](const word& w, size_t pos) { return w.b < pos; });
    return static_cast<size_t>(it - words_.begin());
  }

  bool word_is(size_t w, sv s) const {
    return w < words_.size() && words_[w].text == s;
  }

  bool same_sentence(size_t a, size_t b) const {
    return a < words_.size() && b < words_.size() && words_[a].sentence == words_[b].sentence;
  }

  /// Does the phrase (space-separated words) start at word `w`? Returns the number of words.
  size_t phrase_at(size_t w, sv phrase) const {
    if (w >= words_.size() || phrase.empty() || words_[w].text.empty() || words_[w].text[0] != phrase[0])
      return 0;
    size_t k = 0;
    while (!phrase.empty()) {
      auto sp = phrase.find(' ');
      sv part = phrase.substr(0, sp);
      if (w + k >= words_.size() || words_[w + k].text != part) return 0;
      if (k > 0 && !same_sentence(w, w + k)) return 0;
      ++k;
      phrase = sp == sv::npos ? sv{} : phrase.substr(sp + 1);
    }
    return k;
  }

  // -- keywords ---------------------------------------------------------------------------------

  void find_keywords() {
    const auto& index = keywords_by_first_word();
    for (size_t w = 0; w < words_.size(); ++w) {
      sv text = words_[w].text;
      auto i = std::lower_bound(index.begin(), index.end(), text,
                                [](const keyword_entry& e, sv t) { return e.first < t; });
      for (; i != index.end() && i->first == text; ++i) {
        if (size_t len = phrase_at(w, i->k->phrase))
          occ_.push_back({i->k, w, w + len, words_[w].b, words_[w + len - 1].e, false});
      }
    }
    // Look-alike spellings inside one token: "p@ypal", "paypa1", "wh@tsapp", "v3nmo".
    const size_t n = t_.size();
    for (size_t i = 0; i < n;) {
      auto leet_char = [](char c) { return is_alnum(c) || c == '@' || c == '$'; };
      if (!leet_char(t_[i])) {
        ++i;
        continue;
      }
      size_t j = i;
      bool letter = false;
      bool odd = false;
      while (j < n && leet_char(t_[j])) {
        letter = letter || is_lower(t_[j]);
        odd = odd || !is_lower(t_[j]);
        ++j;
      }
      if (letter && odd && j - i >= 4 && j - i <= 16) {
        for (char one : {'l', 'i'}) {
          std::string s;
          for (size_t m = i; m < j; ++m) {
            char c = t_[m];
            switch (c) {
              case '@': case '4': c = 'a'; break;
              case '$': case '5': c = 's'; break;
              case '0': c = 'o'; break;
              case '1': c = one; break;
              case '3': c = 'e'; break;
              case '7': c = 't'; break;
              default: break;
            }
            s.push_back(c);
          }
          for (const auto& k : keywords) {
            if (k.when != rule::always || (k.kind != kw::messaging && k.kind != kw::payment) ||
                k.phrase != s)
              continue;
            size_t w0 = word_at(i);
            size_t w1 = std::max(w0 + 1, word_at(j));
            if (w0 >= words_.size()) continue;
            occ_.push_back({&k, w0, std::min(w1, words_.size()), i, j, false});
          }
        }
      }
      i = j;
    }
    // Misspellings by consonant skeleton: "wtsapp", "whatsaap", "wasap" / "telgram", "tlgrm".
    std::vector<bool> matched(words_.size(), false);
    for (const auto& o : occ_)
      matched[o.w0] = true;
    for (size_t w = 0; w < words_.size(); ++w) {
      sv x = words_[w].text;
      if (x.size() < 5 || x.size() > 10) continue;
      const keyword* k = skeleton_keyword(x);
      if (k == nullptr) continue;
      if (!matched[w]) occ_.push_back({k, w, w + 1, words_[w].b, words_[w].e, false});
    }
    std::stable_sort(occ_.begin(), occ_.end(),
                     [](const occurrence& a, const occurrence& b) { return a.w0 < b.w0; });
  }

  bool channel_context(const occurrence& o, bool strict) const {
    size_t prev = o.w0 - 1; // wraps to SIZE_MAX for the first word; same_sentence() is then false
    bool has_prev = o.w0 > 0 && same_sentence(prev, o.w0);
    bool has_next = o.w1 < words_.size() && same_sentence(o.w0, o.w1);
    sv before = has_prev ? sv{words_[prev].text} : sv{};
    sv after = has_next ? sv{words_[o.w1].text} : sv{};
    if (o.k->phrase == "line" && !after.empty() && is_digit(after.front())) return false;
    if (strict ? in(strict_before, before) : in(channel_before, before)) return true;
    if (strict ? in(strict_after, after) : in(channel_after, after)) return true;
    size_t p = o.e;
    while (p < t_.size() && t_[p] == ' ')
      ++p;
    if (p < t_.size() && t_[p] == ':') return true;
    // alone in its sentence, or with only "me": "whatsapp?", "WA me"
    bool alone = !has_prev && (!has_next || (after == "me" && !(o.w1 + 1 < words_.size() &&
                                                               same_sentence(o.w0, o.w1 + 1))));
    return alone;
  }

  bool scene_sentence(size_t w) const {
    size_t s = words_[w].sentence;
    return scene_[s] && !person_[s];
  }

  /// Is there a marked word (`marks`) in `[from, to)` within the sentence of `w`?
  bool any_in(const std::vector<bool>& marks, size_t w, ptrdiff_t from, ptrdiff_t to) const {
    for (ptrdiff_t a = std::max<ptrdiff_t>(from, 0);
         a < to && a < static_cast<ptrdiff_t>(words_.size()); ++a) {
      auto ua = static_cast<size_t>(a);
      if (marks[ua] && words_[ua].sentence == words_[w].sentence) return true;
    }
    return false;
  }

  void mark_phrases() {
    intent_.assign(words_.size(), false);
    self_.assign(words_.size(), false);
    content_.assign(words_.size(), false);
    for (size_t w = 0; w < words_.size(); ++w) {
      for (sv p : intent_phrases)
        if (size_t len = phrase_at(w, p))
          for (size_t k = w; k < w + len; ++k)
            intent_[k] = true;
      if (in(self_words, words_[w].text)) {
        // "me" only counts in "it's me" / "c'est moi" style; "am" only after "i"
        sv x = words_[w].text;
        self_[w] = (x != "me" && x != "am") || (x == "am" && w > 0 && words_[w - 1].text == "i");
      }
      content_[w] = in(content_words, words_[w].text);
      size_t s = words_[w].sentence;
      if (s >= scene_.size()) {
        scene_.resize(s + 1, false);
        person_.resize(s + 1, false);
        platform_named_.resize(s + 1, false);
        money_.resize(s + 1, false);
      }
      platform_named_[s] = platform_named_[s] || in(platform_talk, words_[w].text);
      money_[s] = money_[s] || in(money_words, words_[w].text);
      scene_[s] = scene_[s] || in(scene_words, words_[w].text);
      person_[s] = person_[s] || in(first_person, words_[w].text);
    }
    // "follow me" is intent, not a content instruction
    for (size_t w = 0; w + 1 < words_.size(); ++w)
      if (words_[w].text == "follow" && words_[w + 1].text == "me") content_[w] = false;
    // "<platform> me" ("snap me", "insta me") asks to be messaged there
    for (const auto& o : occ_)
      if (o.k->kind == kw::social && word_is(o.w1, "me") && same_sentence(o.w0, o.w1)) intent_[o.w1] = true;
  }

  void apply_keyword_rules() {
    for (auto& o : occ_) {
      switch (o.k->when) {
        case rule::always:
          o.active = true;
          break;
        case rule::channel:
          o.active = channel_context(o, false);
          break;
        case rule::strict:
          o.active = channel_context(o, true);
          break;
        case rule::whats: {
          constexpr auto ok_before = std::to_array<sv>({"un", "por", "no", "pelo", "on", "via", "my",
                                                    "mi", "el", "a", "in"});
          constexpr auto bad_after = std::to_array<sv>({"is", "the", "your", "up", "going", "happening",
                                                    "new", "that", "this", "it", "s", "good"});
          bool before = o.w0 > 0 && same_sentence(o.w0 - 1, o.w0) && in(ok_before, words_[o.w0 - 1].text);
          bool after_bad = o.w1 < words_.size() && same_sentence(o.w0, o.w1) && in(bad_after, words_[o.w1].text);
          o.active = before && !after_bad;
          break;
        }
        case rule::social_x:
          o.active = o.w0 > 0 && same_sentence(o.w0 - 1, o.w0) &&
                     (words_[o.w0 - 1].text == "on" || words_[o.w0 - 1].text == "via");
          break;
      }
      if (!o.active) continue;
      const auto w0 = static_cast<ptrdiff_t>(o.w0);
      const auto w1 = static_cast<ptrdiff_t>(o.w1);
      switch (o.k->kind) {
        case kw::messaging:
        case kw::payment: {
          if (scene_sentence(o.w0)) {
            o.active = false;
            break;
          }
          auto what = o.k->kind == kw::messaging ? category::messaging_app : category::payment_app;
          hits_.push_back({what, o.b, o.e});
          if (auto id = bare_id(o.e); id.second > id.first) hits_.push_back({what, id.first, id.second});
          break;
        }
        case kw::social: {
          bool intent = any_in(intent_, o.w0, w0 - 6, w1 + 6);
          // "snap: zoe.bakes" offers the account like "my snap is zoe.bakes"
          size_t colon = o.e;
          while (colon < t_.size() && t_[colon] == ' ')
            ++colon;
          bool self = any_in(self_, o.w0, w0 - 2, w0) || (colon < t_.size() && t_[colon] == ':');
          auto id = (intent || self) ? bare_id(o.e) : std::pair<size_t, size_t>{0, 0};
          bool has_id = id.second > id.first;
          o.active = intent || (self && has_id);
          if (o.active) hits_.push_back({category::social_handle, o.b, o.e});
          if (o.active && has_id) hits_.push_back({category::social_handle, id.first, id.second});
          break;
        }
        case kw::provider: {
          bool self = any_in(self_, o.w0, w0 - 3, w0);
          auto id = self ? bare_id(o.e) : std::pair<size_t, size_t>{0, 0};
          o.active = id.second > id.first;
          if (o.active) hits_.push_back({category::email, o.b, id.second});
          break;
        }
        case kw::bank: {
          if (o.k->phrase == "routing") {
            o.active = o.w1 < words_.size() && (is_digit(words_[o.w1].text.front()) ||
                                                words_[o.w1].text.starts_with("number"));
          } else if (o.k->phrase == "swift" || o.k->phrase == "bic") {
            // "SWIFT: DEUTDEFF", "BIC COBADEFFXXX", "swift code"
            bool code = o.w1 < words_.size() && same_sentence(o.w0, o.w1) &&
                        (words_[o.w1].text.size() == 8 || words_[o.w1].text.size() == 11) &&
                        std::all_of(words_[o.w1].text.begin(), words_[o.w1].text.begin() + 4, is_lower);
            o.active = code || word_is(o.w1, "code");
            if (code) {
              hits_.push_back({category::bank_account, o.b, words_[o.w1].e});
              break;
            }
          }
          if (!o.active) break;
          hits_.push_back({category::bank_account, o.b, extend_over_number(o.e)});
          break;
        }
      }
    }
    // "wire it to my bank", "transfer it to my account"
    for (size_t w = 0; w < words_.size(); ++w) {
      sv x = words_[w].text;
      if (x != "wire" && x != "transfer" && x != "deposit" && x != "send") continue;
      for (size_t k = w + 1; k + 1 < words_.size() && k <= w + 5 && same_sentence(w, k + 1); ++k)
        if (words_[k].text == "my" && (words_[k + 1].text == "bank" || words_[k + 1].text == "account")) {
          hits_.push_back({category::bank_account, words_[w].b, words_[k + 1].e});
          break;
        }
    }
    // "account 12345678", "acct no. 12345678": a bank account number
    for (size_t w = 0; w < words_.size(); ++w) {
      sv x = words_[w].text;
      if (x != "account" && x != "acct" && x != "konto" && x != "cuenta" && x != "conta") continue;
      for (size_t k = w + 1; k < words_.size() && k <= w + 3 && same_sentence(w, k); ++k) {
        sv y = words_[k].text;
        if (y == "number" || y == "no" || y == "nr" || y == "num") continue;
        size_t digits = static_cast<size_t>(std::count_if(y.begin(), y.end(), is_digit));
        if (digits >= 6 && digits == y.size()) hits_.push_back({category::bank_account, words_[w].b, words_[k].e});
        break;
      }
    }
  }

  /// The end of a number (digits, spaces, dashes) starting within a few characters of `p`.
  size_t extend_over_number(size_t p) const {
    size_t q = p;
    while (q < t_.size() && q < p + 4 && (t_[q] == ' ' || t_[q] == ':' || t_[q] == '#'))
      ++q;
    if (q >= t_.size() || !is_digit(t_[q])) return p;
    size_t end = q;
    while (q < t_.size() && q < p + 48 && (is_alnum(t_[q]) || t_[q] == ' ' || t_[q] == '-')) {
      if (is_digit(t_[q])) end = q + 1;
      if (is_lower(t_[q]) && (q + 1 >= t_.size() || !is_alnum(t_[q + 1])) && !is_digit(t_[q - 1])) break;
      ++q;
    }
    return end;
  }

  /// An account name right after a platform name: "snap: zoe.bakes", "my wechat id is lina88",
  /// "on telegram as lucia_mtz". Returns an empty range if there is none.
  std::pair<size_t, size_t> bare_id(size_t pos) const {
    size_t p = pos;
    size_t skipped = 0;
    bool introduced = false;
    const size_t n = t_.size();
    while (p < n) {
      char c = t_[p];
      if (c == ' ' || c == ',' || c == '-' || c == '(' || c == '"' || c == '\'') {
        ++p;
        continue;
      }
      if (c == ':' || c == '=' || c == '>') {
        introduced = true;
        ++p;
        continue;
      }
      if (!is_alnum(c)) return {0, 0};
      size_t q = p;
      while (q < n && (is_alnum(t_[q]) || t_[q] == '.' || t_[q] == '_' || t_[q] == '-' || t_[q] == '#' ||
                       (t_[q] == ':' && q + 1 < n && is_alnum(t_[q + 1]) && q > p)))
        ++q;
      while (q > p && (t_[q - 1] == '.' || t_[q - 1] == '-'))
        --q;
      sv tok(t_.data() + p, q - p);
      if (in(fillers, tok)) {
        introduced = introduced || in(introducing_fillers, tok);
        if (++skipped > 3) return {0, 0};
        p = q;
        continue;
      }
      if (tok.size() < 3 || tok.size() > 32 || in(not_names, tok)) return {0, 0};
      bool marked = tok.find_first_of("0123456789._#:") != sv::npos;
      if (marked) return {p, q};
      size_t r = q;
      while (r < n && t_[r] == ' ')
        ++r;
      bool clause_end = r >= n || std::string_view(",.!?;)\n").find(t_[r]) != sv::npos;
      if (introduced && clause_end) return {p, q};
      return {0, 0};
    }
    return {0, 0};
  }

  // -- addresses (e-mail, URL) ------------------------------------------------------------------

  static bool address_char(char c) {
    return is_alnum(c) || std::string_view("._-+%@/:~?=&#").find(c) != sv::npos;
  }

  bool host_upper(size_t b, size_t e) const {
    for (size_t i = b; i < e; ++i)
      if (u_[i].upper) return true;
    return false;
  }

  void find_addresses() {
    const size_t n = t_.size();
    for (size_t i = 0; i < n;) {
      if (!address_char(t_[i])) {
        ++i;
        continue;
      }
      size_t j = i;
      while (j < n && address_char(t_[j]))
        ++j;
      scan_address_run(i, j);
      i = j;
    }
  }

  static size_t trim_end(sv t, size_t b, size_t e) {
    while (e > b && std::string_view(".,;:!?-'\"").find(t[e - 1]) != sv::npos)
      --e;
    return e;
  }

  void scan_address_run(size_t rb, size_t re) {
    sv t(t_);
    size_t consumed_to = rb;
    // e-mail addresses
    for (size_t p = rb; p < re; ++p) {
      if (t[p] != '@') continue;
      size_t l = p;
      while (l > rb && (is_alnum(t[l - 1]) || std::string_view("._%+-").find(t[l - 1]) != sv::npos))
        --l;
      while (l < p && (t[l] == '.' || t[l] == '-'))
        ++l;
      size_t d = p + 1;
      while (d < re && (is_alnum(t[d]) || t[d] == '.' || t[d] == '-'))
        ++d;
      d = trim_end(t, p + 1, d);
      if (l >= p || d <= p + 1) continue;
      bool local_alnum = false;
      for (size_t k = l; k < p; ++k)
        local_alnum = local_alnum || is_alnum(t[k]);
      if (!local_alnum) continue;
      sv domain = t.substr(p + 1, d - p - 1);
      auto first_dot = domain.find('.');
      sv first_label = domain.substr(0, first_dot);
      bool ok = false;
      if (in(providers, first_label)) {
        ok = true;
      } else if (first_dot != sv::npos) {
        sv tld = domain.substr(domain.rfind('.') + 1);
        bool alpha = !tld.empty() && std::all_of(tld.begin(), tld.end(), is_lower);
        ok = alpha && (is_tld(tld) || tld.size() == 2);
      }
      if (!ok) continue;
      hits_.push_back({category::email, l, d});
      blocked_.push_back({l, d});
      consumed_to = std::max(consumed_to, d);
    }
    // URLs with a scheme or "www."
    for (size_t p = rb; p + 3 <= re; ++p) {
      bool scheme = t.substr(p, 3) == "://";
      bool www = t.substr(p, 4) == "www." && (p == rb || !is_alnum(t[p - 1]));
      if (!scheme && !www) continue;
      size_t b = p;
      if (scheme)
        while (b > rb && is_lower(t[b - 1]))
          --b;
      size_t e = trim_end(t, b, re);
      if (e <= b + 4 || b < consumed_to) continue;
      hits_.push_back({category::url, b, e});
      blocked_.push_back({b, e});
      return;
    }
    // bare domains: the host at the start of the run (not after '@': that is a handle or mail)
    if (consumed_to > rb) return;
    size_t h = rb;
    if (t[h] == '@' || t[h] == '#' || t[h] == '/') return;
    size_t he = h;
    while (he < re && (is_alnum(t[he]) || t[he] == '.' || t[he] == '-'))
      ++he;
    size_t host_end = trim_end(t, h, he);
    sv host = t.substr(h, host_end - h);
    if (host.find('.') == sv::npos) return;
    size_t labels = 1;
    bool letter = false;
    for (size_t k = 0; k < host.size(); ++k) {
      if (host[k] == '.') {
        if (k == 0 || host[k - 1] == '.') return; // empty label
        ++labels;
      }
      letter = letter || is_lower(host[k]);
    }
    sv tld = host.substr(host.rfind('.') + 1);
    if (!letter || !std::all_of(tld.begin(), tld.end(), is_lower) || !is_tld(tld)) return;
    bool path = host_end < re && t[host_end] == '/';
    if (in(ambiguous_tlds, tld)) {
      sv first = host.substr(0, host.find('.'));
      bool plain = first.size() >= 4 && !host_upper(h, host_end);
      if (!path && labels < 3 && !plain) return;
    }
    size_t e = path ? trim_end(t, h, re) : host_end;
    hits_.push_back({category::url, h, e});
    blocked_.push_back({h, e});
  }

  bool blocked(size_t p) const {
    // ranges are added in text order and do not overlap
    auto it = std::upper_bound(blocked_.begin(), blocked_.end(), p,
                               [](size_t pos, const std::pair<size_t, size_t>& r) { return pos < r.first; });
    return it != blocked_.begin() && p < std::prev(it)->second;
  }

  /// The last messaging or payment keyword starting in words `[lo, hi)` (active ones only if
  /// `active_only`; in the sentence of word `in_sentence_of` unless that is SIZE_MAX).
  const occurrence* app_near(size_t lo, size_t hi, bool active_only, size_t in_sentence_of = SIZE_MAX) const {
    auto it = std::lower_bound(occ_.begin(), occ_.end(), lo,
                               [](const occurrence& o, size_t w) { return o.w0 < w; });
    const occurrence* found = nullptr;
    for (; it != occ_.end() && it->w0 < hi; ++it) {
      if (it->k->kind != kw::messaging && it->k->kind != kw::payment) continue;
      if (active_only && !it->active) continue;
      if (in_sentence_of != SIZE_MAX && !same_sentence(it->w0, in_sentence_of)) continue;
      found = &*it;
    }
    return found;
  }

  // -- IBAN -------------------------------------------------------------------------------------

  void find_ibans() {
    const size_t n = t_.size();
    for (size_t i = 0; i + 4 <= n; ++i) {
      if (!is_lower(t_[i]) || !is_lower(t_[i + 1]) || !is_digit(t_[i + 2]) || !is_digit(t_[i + 3]))
        continue;
      if (i > 0 && is_alnum(t_[i - 1])) continue;
      std::string s;
      std::vector<size_t> pos;
      size_t p = i;
      while (p < n && s.size() < 34) {
        if (is_alnum(t_[p])) {
          s.push_back(t_[p]);
          pos.push_back(p);
          ++p;
        } else if ((t_[p] == ' ' || t_[p] == '-') && p + 1 < n && is_alnum(t_[p + 1]) && !s.empty()) {
          ++p;
        } else {
          break;
        }
      }
      bool keyword = false;
      size_t w = word_at(i);
      for (size_t k = w >= 4 ? w - 4 : 0; k < w && k < words_.size(); ++k)
        keyword = keyword || words_[k].text == "iban";
      size_t len = iban_length(sv(s).substr(0, 2));
      size_t found = 0;
      if (len > 0 && s.size() >= len && (iban_checksum(sv(s).substr(0, len)) || keyword)) found = len;
      if (len == 0)
        for (size_t l = std::min<size_t>(s.size(), 34); l >= 15 && found == 0; --l)
          if (iban_checksum(sv(s).substr(0, l))) found = l;
      if (found == 0) continue;
      hits_.push_back({category::bank_account, i, pos[found - 1] + 1});
      i = pos[found - 1];
    }
  }

  // -- crypto addresses -------------------------------------------------------------------------

  void find_crypto() {
    const size_t n = t_.size();
    for (size_t i = 0; i < n;) {
      if (!is_alnum(t_[i])) {
        ++i;
        continue;
      }
      size_t j = i;
      while (j < n && is_alnum(t_[j]))
        ++j;
      sv tok(t_.data() + i, j - i);
      bool bounded = (i == 0 || t_[i - 1] != foreign) && (j >= n || t_[j] != foreign);
      if (bounded) check_crypto_token(i, j, tok);
      i = j;
    }
  }

  void check_crypto_token(size_t i, size_t j, sv tok) {
    const size_t len = tok.size();
    // Ethereum and EVM chains: 0x + 40 hex digits, possibly typed in groups.
    if (tok.starts_with("0x")) {
      size_t hex = 0;
      size_t p = i + 2;
      size_t end = p;
      if (len == 2 && p < t_.size() && t_[p] == ' ') ++p; // "0x 71C7 656E ..."
      while (p < t_.size() && hex < 40) {
        if (is_hex(t_[p])) {
          ++hex;
          end = ++p;
        } else if (t_[p] == ' ' && hex > 0 && hex % 4 == 0 && p + 1 < t_.size() && is_hex(t_[p + 1])) {
          ++p; // groups of four
        } else {
          break;
        }
      }
      if (hex == 40 && (end >= t_.size() || !is_alnum(t_[end]))) {
        hits_.push_back({category::crypto_address, i, end});
        return;
      }
    }
    // Bech32 (bc1..., ltc1..., tb1...)
    for (sv hrp : {sv("bc1"), sv("ltc1"), sv("tb1")}) {
      if (!tok.starts_with(hrp) || len < hrp.size() + 25 || len > 90) continue;
      constexpr sv charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
      bool ok = std::all_of(tok.begin() + static_cast<ptrdiff_t>(hrp.size()), tok.end(),
                            [&](char c) { return charset.find(c) != sv::npos; });
      if (ok) {
        hits_.push_back({category::crypto_address, i, j});
        return;
      }
    }
    // Base58 (Bitcoin legacy, Tron, Solana, Litecoin, Dogecoin, XRP...): mixed case and digits.
    if (len >= 25 && len <= 44) {
      bool upper = false;
      bool lower = false;
      bool digit = false;
      for (size_t k = i; k < j; ++k) {
        char c = u_[k].c;
        bool up = u_[k].upper;
        if (is_digit(c)) {
          if (c == '0') return;
          digit = true;
        } else {
          if ((up && (c == 'o' || c == 'i')) || (!up && c == 'l')) return;
          (up ? upper : lower) = true;
        }
      }
      if (upper && lower && digit) hits_.push_back({category::crypto_address, i, j});
    }
  }

  // -- phone numbers ----------------------------------------------------------------------------

  void find_phones() {
    const size_t n = t_.size();
    std::vector<int8_t> dv(n, -1);
    for (size_t i = 0; i < n; ++i)
      if (is_digit(t_[i])) dv[i] = static_cast<int8_t>(t_[i] - '0');
    // letters typed for digits: "4l5-555-O132"
    for (size_t i = 0; i < n; ++i) {
      bool before = i > 0 && is_digit(t_[i - 1]);
      bool after = i + 1 < n && is_digit(t_[i + 1]);
      if (t_[i] == 'o' && (before || after)) dv[i] = 0;
      if ((t_[i] == 'l' || t_[i] == 'i') && before && after) dv[i] = 1;
    }
    auto is_sep = [&](size_t p) {
      char c = t_[p];
      return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/';
    };
    for (size_t i = 0; i < n;) {
      bool plus = t_[i] == '+' && i + 1 < n && (dv[i + 1] >= 0 || (t_[i + 1] == ' ' && i + 2 < n && dv[i + 2] >= 0));
      bool paren = t_[i] == '(' && i + 1 < n && dv[i + 1] >= 0;
      if (!plus && !paren && dv[i] < 0) {
        ++i;
        continue;
      }
      // must not continue a word or a code ("l2304", "hx-2026", "#48213", "$1500")
      bool attached = false;
      if (i > 0) {
        char pc = t_[i - 1];
        if (is_alnum(pc) || pc == '$' || pc == '#' || pc == foreign) attached = true;
        if ((pc == '-' || pc == '.' || pc == '/' || pc == '_') && i > 1 && is_alnum(t_[i - 2])) attached = true;
      }
      size_t p = i + ((plus || paren) ? 1 : 0);
      size_t digits = 0;
      size_t last = p;
      size_t sep_run = 0;
      std::vector<size_t> groups;
      std::string seps;
      bool in_group = false;
      while (p < n) {
        if (dv[p] >= 0) {
          ++digits;
          if (!in_group) groups.push_back(0);
          ++groups.back();
          in_group = true;
          last = p + 1;
          sep_run = 0;
          ++p;
        } else if (is_sep(p) || t_[p] == ',') {
          if (t_[p] == ',') {
            bool spelled = (p > 0 && u_[p - 1].spelled) || (p + 2 < n && u_[p + 2].spelled);
            if (!spelled) break;
          }
          if (++sep_run > 3) break;
          if (t_[p] != ' ') seps.push_back(t_[p]);
          in_group = false;
          ++p;
        } else {
          break;
        }
      }
      size_t next = std::max(p, i + 1);
      if (!attached && digits >= 7 && is_phone(i, last, digits, plus, groups, seps))
        hits_.push_back({category::phone, i, last});
      // skip the rest of this alnum run so that a number glued to letters is not re-read
      i = next;
      while (i < n && i > 0 && is_alnum(t_[i]) && is_alnum(t_[i - 1]))
        ++i;
    }
  }

  bool is_phone(size_t b, size_t e, size_t digits, bool plus, const std::vector<size_t>& groups,
                sv seps) const {
    const size_t n = t_.size();
    // followed by a letter or a percent sign: "250k", "3pm", "4.7%"
    if (e < n && (is_lower(t_[e]) || t_[e] == '%' || t_[e] == foreign)) return false;
    bool intl = plus || (t_[b] == '0' && b + 1 < n && t_[b + 1] == '0' && groups.size() > 1 && groups[0] >= 4);
    if (digits > 15) return false;
    // dates and date ranges: two to four groups of one or two digits, at most one of four, with
    // / . - ("12/05/2026", "2026-05-12", "05/01-05/31")
    bool dated = !seps.empty() && seps.find_first_of("/.-") != sv::npos && groups.size() <= 4;
    if (dated && !plus) {
      size_t fours = 0;
      bool small = true;
      for (size_t g : groups) {
        if (g == 4) ++fours;
        else if (g > 2) small = false;
      }
      if (small && fours <= 1) return false;
    }
    size_t w = word_at(b);
    size_t prev_word = w; // first word at/after b; the words before it are context
    // the words just before: a label makes it a reference number
    for (size_t k = prev_word >= 3 ? prev_word - 3 : 0; k < prev_word && k < words_.size(); ++k)
      if (in(number_labels, words_[k].text)) return false;
    // the word just after: a unit makes it a count
    size_t after = word_at(e);
    if (after < words_.size() && in(number_units, words_[after].text) && words_[after].b <= e + 2) return false;
    if (b > 0 && (t_[b - 1] == '$' || (b > 1 && t_[b - 2] == '$' && t_[b - 1] == ' '))) return false;
    if (intl) return digits >= 8;
    bool cue = false;
    size_t lo = prev_word >= 6 ? prev_word - 6 : 0;
    for (size_t k = lo; k < words_.size() && k < after + 3; ++k) {
      if (k >= prev_word && k < after) continue;
      cue = cue || in(phone_cues, words_[k].text);
    }
    cue = cue || app_near(prev_word >= 6 ? prev_word - 6 : 0, after + 3, false) != nullptr;
    // "10000-15000", "1500/2000/2500": ranges and lists, unless someone says it is a number
    if (!cue && groups.size() == 2 && seps == "-" && groups[0] >= 3 && groups[1] >= 3) return false;
    if (!cue && seps.find('/') != sv::npos) return false;
    if (digits >= 10 && digits <= 13) return true;
    return cue && digits <= 13;
  }

  // -- handles ----------------------------------------------------------------------------------

  void find_handles() {
    const size_t n = t_.size();
    for (size_t p = 0; p < n; ++p) {
      char c = t_[p];
      if ((c != '@' && c != '$') || blocked(p)) continue;
      size_t q = p + 1;
      if (q >= n || !is_alnum(t_[q])) continue;
      if (c == '$' && !is_lower(t_[q])) continue; // "$1500" is a price
      while (q < n && (is_alnum(t_[q]) || t_[q] == '.' || t_[q] == '_' || (c == '@' && t_[q] == '-')))
        ++q;
      while (q > p + 1 && (t_[q - 1] == '.' || t_[q - 1] == '-'))
        --q;
      size_t len = q - p - 1;
      bool letter = false;
      for (size_t k = p + 1; k < q; ++k)
        letter = letter || is_lower(t_[k]);
      if (len < 2 || len > 30 || !letter) continue;
      size_t w = word_at(p + 1);
      if (w >= words_.size()) continue;
      auto iw = static_cast<ptrdiff_t>(w);
      // an app nearby decides the category: "venmo me @x", "my telegram is @x"
      const occurrence* app = app_near(w >= 8 ? w - 8 : 0, w + 5, true, w);
      if (c == '$') {
        if (app && app->k->kind == kw::payment) hits_.push_back({category::payment_app, p, q});
        p = q - 1;
        continue;
      }
      // "priya@okaxis" (a UPI id), "me@handle" (from "dm me @ handle"): the glued part goes too
      size_t from = p;
      while (from > 0 && (is_alnum(t_[from - 1]) || t_[from - 1] == '.' || t_[from - 1] == '_'))
        --from;
      if (app) {
        hits_.push_back({app->k->kind == kw::messaging ? category::messaging_app : category::payment_app, from, q});
        p = q - 1;
        continue;
      }
      bool intent = any_in(intent_, w, iw - 8, iw + 7);
      bool self = any_in(self_, w, iw - 5, iw);
      bool content = any_in(content_, w, iw - 5, iw);
      if (intent || (self && !content)) hits_.push_back({category::social_handle, from, q});
      p = q - 1;
    }
  }

  // -- off-platform phrases ---------------------------------------------------------------------

  void find_off_platform() {
    using namespace off_platform_words;
    const size_t n = words_.size();
    auto same = [&](size_t a, size_t b) { return same_sentence(a, b); };
    for (size_t w = 0; w < n; ++w) {
      sv x = words_[w].text;
      if (in(outside, x)) {
        for (size_t k = w + 1; k < n && k <= w + 3 && same(w, k); ++k)
          if (in(platform, words_[k].text)) {
            hits_.push_back({category::off_platform, words_[w].b, words_[k].e});
            break;
          }
      }
      if (x == "middleman" || (x == "middle" && word_is(w + 1, "man"))) {
        hits_.push_back({category::off_platform, words_[w].b, words_[x == "middle" ? w + 1 : w].e});
      }
      if (in(avoid, x)) {
        // "skip pactum", "bypass the platform"
        for (size_t k = w + 1; k < n && k <= w + 3 && same(w, k); ++k)
          if (in(the_platform, words_[k].text) && !(k + 1 < n && in(fee, words_[k + 1].text))) {
            hits_.push_back({category::off_platform, words_[w].b, words_[k].e});
            break;
          }
        for (size_t k = w + 1; k < n && k <= w + 4 && same(w, k); ++k) {
          if (!in(fee, words_[k].text)) continue;
          bool platformish = false;
          for (size_t m = w + 1; m < k; ++m)
            platformish = platformish || in(platform_cost, words_[m].text);
          if (platformish) hits_.push_back({category::off_platform, words_[w].b, words_[k].e});
          break;
        }
      }
      bool negated = in(negation, x) || (x == "need" && w > 0 && words_[w - 1].text == "no") ||
                     (x == "than" && w > 0 && words_[w - 1].text == "rather");
      if (negated) {
        for (size_t k = w + 1; k < n && k <= w + 5 && same(w, k); ++k) {
          sv y = words_[k].text;
          bool target = y == "escrow" || y == "pactum" || y == "platform" ||
                        (y == "here" && (words_[k - 1].text == "through" || words_[k - 1].text == "via"));
          if (target) {
            hits_.push_back({category::off_platform, words_[w].b, words_[k].e});
            break;
          }
        }
      }
      // "no platform", "no escrow" (but not "no platform fee")
      if (x == "no" && w + 1 < n && same(w, w + 1) && in(the_platform, words_[w + 1].text) &&
          !(w + 2 < n && in(fee, words_[w + 2].text)))
        hits_.push_back({category::off_platform, words_[w].b, words_[w + 1].e});
      // "let's go direct", "pay you directly", in a sentence that does not name the platform
      if (in(directly, x)) {
        size_t verb = SIZE_MAX;
        for (size_t k = w >= 3 ? w - 3 : 0; k < w; ++k)
          if (same(k, w) && in(dealing, words_[k].text)) verb = k;
        if (verb != SIZE_MAX && !platform_named_[words_[w].sentence])
          hits_.push_back({category::off_platform, words_[verb].b, words_[w].e});
      }
      // "handle payment privately", "under the table"
      bool secret = x == "privately" || (x == "table" && w >= 2 && words_[w - 1].text == "the" &&
                                         words_[w - 2].text == "under") ||
                    (x == "books" && w >= 2 && words_[w - 1].text == "the" && words_[w - 2].text == "off");
      if (secret && money_[words_[w].sentence]) hits_.push_back({category::off_platform, words_[w].b, words_[w].e});
      if ((x == "in" && word_is(w + 1, "cash")) || (x == "cash" && word_is(w + 1, "in") && word_is(w + 2, "hand")) ||
          (x == "cash" && word_is(w + 1, "only")) || (x == "en" && word_is(w + 1, "efectivo")) ||
          (x == "em" && word_is(w + 1, "dinheiro"))) {
        size_t last = x == "cash" && word_is(w + 1, "in") ? w + 2 : w + 1;
        if (same(w, last)) hits_.push_back({category::off_platform, words_[w].b, words_[last].e});
      }
    }
  }

  sv src_;
  units u_;
  std::string t_;
  std::vector<word> words_;
  std::vector<occurrence> occ_;
  std::vector<bool> intent_;
  std::vector<bool> self_;
  std::vector<bool> content_;
  std::vector<bool> scene_;  ///< per sentence: shows an app in the content
  std::vector<bool> person_; ///< per sentence: speaks of "me"/"my"
  std::vector<bool> platform_named_; ///< per sentence: names the platform
  std::vector<bool> money_;          ///< per sentence: speaks of paying
  std::vector<std::pair<size_t, size_t>> blocked_;
  std::vector<raw_hit> hits_;
};

// ------------------------------------------------------------------------------------------------
// The pre-check: most chat texts cannot give a single hit, and proving that is far cheaper than
// folding, rewriting and detecting. `provably_clean` answers true only when every step above is the
// identity on the text and no detector can fire; any doubt answers false and the full scan runs.
//
// The argument, step by step, for a text of printable ASCII (any other byte: full scan):
//  - fold maps every ASCII byte to one unit (upper case to lower case, '`' to '\'', controls to
//    ' '); only bytes >= 0x80 can make anything else.
//  - no digit, '@', '$', '.', ':', '/', '_', '*', '(', '[', '{', '<' (the "signal" bytes): every
//    character-level detector needs one of them (e-mail and handles '@'/'$', URLs and domains '.'
//    or ':', IBAN, crypto and phone numbers a digit, bracket operators an opening bracket, the
//    look-alike keyword spellings a digit, '@' or '$').
//  - spell_digits makes a digit only from a number word, or from "oh"/"o" after another "oh"/"o"
//    or "double"/"triple"/"plus" (checked on the same letter runs); otherwise it copies the text.
//  - join_singles joins only runs of four or more one-character tokens, or a lone letter followed
//    by '-' (the other separators are signal bytes); otherwise it copies the text.
//  - word_operators rewrite only "dot"/"punto"/.../"underscore"/"arroba" and "at" before a mail
//    provider or a domain (which has a '.'); those words are triggers.
//  - then the words are exactly the detector's words, and every word rule needs one trigger word:
//    a word of a keyword phrase (one rare word per multi-word phrase is enough, since the phrase
//    needs all of them), a consonant-skeleton misspelling, "bank"/"account", a mail provider, or
//    a word that starts an off-platform rule.

/// What a word means to the pre-check (bits).
enum : uint8_t {
  word_trigger = 1,  ///< can start a finding or a rewrite
  word_oh = 2,       ///< "oh"/"o": a zero after another "oh"/"o" or a modifier
  word_modifier = 4, ///< "double"/"doble"/"triple"/"plus": a digit maker before "oh"/"o"
  word_digit = 8,    ///< a number word ("nine", "nueve", ...)
  word_hundred = 16, ///< "hundred"
};

/// An open-addressing hash set of the pre-check's words with their bits. Built once (on first
/// use); read-only after, so safe from any thread.
class word_table {
public:
  static uint32_t hash(sv w) {
    uint32_t h = 2166136261U;
    for (char c : w)
      h = (h ^ static_cast<unsigned char>(c)) * 16777619U;
    return h;
  }

  void add(sv w, uint8_t bits) {
    for (size_t i = hash(w) & mask;; i = (i + 1) & mask) {
      if (slots_[i].empty() || slots_[i] == w) {
        slots_[i] = w;
        bits_[i] = static_cast<uint8_t>(bits_[i] | bits);
        return;
      }
    }
  }

  uint8_t find(sv w) const {
    for (size_t i = hash(w) & mask;; i = (i + 1) & mask) {
      if (slots_[i].empty()) return 0;
      if (slots_[i] == w) return bits_[i];
    }
  }

private:
  static constexpr size_t size = 2048; // about 360 words: a short probe
  static constexpr size_t mask = size - 1;
  std::array<sv, size> slots_{};
  std::array<uint8_t, size> bits_{};
};

/// Words that can start a finding or a rewrite (see above).
const word_table& precheck_words() {
  static const auto table = [] {
    word_table t;
    // Words too common to be the trigger of a phrase that has a rarer word.
    constexpr auto common = std::to_array<sv>({"the", "e", "pay", "app", "number", "numbers", "details",
                                               "info", "code"});
    for (const auto& k : keywords) {
      std::vector<sv> parts;
      sv rest = k.phrase;
      while (!rest.empty()) {
        auto sp = rest.find(' ');
        parts.push_back(rest.substr(0, sp));
        rest = sp == sv::npos ? sv{} : rest.substr(sp + 1);
      }
      bool rare = std::any_of(parts.begin(), parts.end(), [&](sv p) { return !in(common, p); });
      for (sv p : parts)
        if (!rare || !in(common, p)) t.add(p, word_trigger);
    }
    for (sv x : providers)
      t.add(x, word_trigger);
    for (const auto& nw : number_words)
      t.add(nw.word, word_trigger | word_digit);
    for (sv x : {"dot", "punto", "ponto", "point", "punkt", "underscore", "arroba"})
      t.add(x, word_trigger);
    for (sv x : {"bank", "account", "acct", "konto", "cuenta", "conta"})
      t.add(x, word_trigger);
    using namespace off_platform_words;
    for (sv x : outside)
      t.add(x, word_trigger);
    for (sv x : avoid)
      t.add(x, word_trigger);
    for (sv x : negation)
      t.add(x, word_trigger);
    for (sv x : directly)
      t.add(x, word_trigger);
    for (sv x : {"need", "than", "no", "middleman", "middle", "privately", "table", "books", "cash",
                 "efectivo", "dinheiro"})
      t.add(x, word_trigger);
    t.add("oh", word_oh);
    t.add("o", word_oh);
    for (sv x : {"double", "doble", "triple", "plus"})
      t.add(x, word_modifier);
    t.add("hundred", word_hundred);
    return t;
  }();
  return table;
}

/// The bytes that make a text need the full scan (see above): a lookup table.
constexpr std::array<bool, 256> signal_bytes = [] {
  std::array<bool, 256> t{};
  for (int c = 0x80; c < 0x100; ++c)
    t[static_cast<size_t>(c)] = true;
  for (char c = '0'; c <= '9'; ++c)
    t[static_cast<unsigned char>(c)] = true;
  for (char c : sv("@$.:/_*([{<"))
    t[static_cast<unsigned char>(c)] = true;
  return t;
}();

} // namespace

bool provably_clean(std::string_view utf8_text) {
  const size_t n = utf8_text.size();
  // ASCII folded as fold() does it: A-Z lower-cased, '`' to '\'', controls to ' '
  auto lower_at = [&](size_t i) -> char {
    auto c = static_cast<unsigned char>(utf8_text[i]);
    if (c >= 'A' && c <= 'Z') return static_cast<char>(c - 'A' + 'a');
    if (c == '`') return '\'';
    if (c == '\n') return '\n';
    if (c < 0x20 || c == 0x7F) return ' ';
    return static_cast<char>(c);
  };
  for (size_t i = 0; i < n; ++i)
    if (signal_bytes[static_cast<unsigned char>(utf8_text[i])]) return false;
  // join_singles: four one-character tokens in a row, or a lone letter before '-'
  size_t singles = 0;
  for (size_t i = 0; i < n;) {
    char c = lower_at(i);
    if (c == ' ' || c == '\n') {
      ++i;
      continue;
    }
    size_t j = i + 1;
    while (j < n && lower_at(j) != ' ' && lower_at(j) != '\n')
      ++j;
    singles = j - i == 1 ? singles + 1 : 0;
    if (singles >= 4) return false;
    i = j;
  }
  for (size_t i = 0; i + 1 < n; ++i)
    if (utf8_text[i + 1] == '-' && is_lower(lower_at(i)) && (i == 0 || !is_lower(lower_at(i - 1)))) return false;
  // The detector's words (build_words: letters; an apostrophe between letters is dropped) and,
  // within them, spell_digits' letter runs.
  const word_table& table = precheck_words();
  constexpr size_t longest = 24; // longer than any word in the table
  std::array<char, longest> word{};
  bool prev_makes_digit = false; // the last "oh"/"o"/modifier run: would an "oh" after it count?
  for (size_t i = 0; i < n;) {
    if (!is_lower(lower_at(i))) {
      ++i;
      continue;
    }
    size_t len = 0;
    while (true) {
      size_t run = i;
      while (i < n && is_lower(lower_at(i))) {
        if (len < longest) word[len] = lower_at(i);
        ++len;
        ++i;
      }
      if (i - run <= 7) { // the longest number or modifier word has 7 letters
        std::array<char, 7> r{};
        for (size_t k = run; k < i; ++k)
          r[k - run] = lower_at(k);
        uint8_t bits = table.find(sv(r.data(), i - run));
        if ((bits & word_digit) != 0) return false;
        if ((bits & word_oh) != 0 && prev_makes_digit) return false;
        if ((bits & (word_oh | word_modifier)) != 0) prev_makes_digit = true;
        if ((bits & word_hundred) != 0) prev_makes_digit = false;
      }
      if (i + 1 < n && lower_at(i) == '\'' && is_lower(lower_at(i + 1))) {
        ++i;
        continue;
      }
      break;
    }
    if (len > longest) continue;
    sv w(word.data(), len);
    if ((table.find(w) & word_trigger) != 0) return false;
    if (len >= 5 && len <= 10 && (w.front() == 'w' || w.front() == 't') && skeleton_keyword(w) != nullptr)
      return false;
  }
  return true;
}

namespace {

// ------------------------------------------------------------------------------------------------
// Step 4: back to the original text

int priority(category c) {
  switch (c) {
    case category::crypto_address: return 0;
    case category::bank_account: return 1;
    case category::payment_app: return 2;
    case category::email: return 3;
    case category::phone: return 4;
    case category::messaging_app: return 5;
    case category::social_handle: return 6;
    case category::url: return 7;
    case category::off_platform: return 8;
  }
  return 9;
}

} // namespace

std::vector<hit> scan_reference(std::string_view utf8_text) {
  units u = fold_text(utf8_text);
  u = spell_digits(u);
  u = join_singles(u);
  u = bracket_operators(u);
  u = word_operators(u);
  detector d(utf8_text, std::move(u));
  auto raw = d.run();
  const units& text = d.text_units();
  std::vector<hit> hits;
  hits.reserve(raw.size());
  for (const auto& r : raw) {
    if (r.e <= r.b || r.e > text.size()) continue;
    size_t b = text[r.b].begin;
    size_t e = text[r.e - 1].end;
    for (size_t k = r.b; k < r.e; ++k) { // rewrites can reorder ranges slightly
      b = std::min<size_t>(b, text[k].begin);
      e = std::max<size_t>(e, text[k].end);
    }
    hits.push_back({r.what, b, e});
  }
  std::sort(hits.begin(), hits.end(), [](const hit& a, const hit& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  std::vector<hit> merged;
  for (const auto& h : hits) {
    if (!merged.empty() && h.begin <= merged.back().end) {
      auto& m = merged.back();
      m.end = std::max(m.end, h.end);
      if (priority(h.what) < priority(m.what)) m.what = h.what;
      continue;
    }
    merged.push_back(h);
  }
  return merged;
}

std::vector<hit> scan(std::string_view utf8_text) {
  if (provably_clean(utf8_text)) return {};
  return scan_reference(utf8_text);
}

std::string mask(std::string_view utf8_text, const std::vector<hit>& hits) {
  std::string out;
  out.reserve(utf8_text.size());
  size_t pos = 0;
  for (const auto& h : hits) {
    size_t b = std::min(h.begin, utf8_text.size());
    size_t e = std::min(h.end, utf8_text.size());
    if (b < pos || e <= b) continue;
    out.append(utf8_text.substr(pos, b - pos));
    out.append(mask_replacement);
    pos = e;
  }
  out.append(utf8_text.substr(pos));
  return out;
}

} // namespace pactum::actors::guard
