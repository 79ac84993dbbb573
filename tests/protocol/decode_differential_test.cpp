// The message.send fast path of decode_request (protocol/src/chat_send_decode.cpp) against the
// reference DOM decoder (detail::decode_request_dom): over the fuzz corpora and saved crash inputs,
// over hand-picked edge cases and over tens of thousands of generated chat-send variants in both
// encodings, decode_request must answer the same request or the same error (code, message, id).
// The frames of codec_test.cpp go through the same check (its decode helper).

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "chat_send_decode.hpp"
#include "decode_difference.hpp"
#include "replay.hpp"

using namespace pactum;
using namespace pactum::protocol;
using pactum::fuzz::decode_difference;

namespace {

const std::string conv = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";

std::vector<limits> limit_sets() {
  limits tight;
  tight.max_text_chars = 8;
  tight.max_client_id_bytes = 4;
  limits flat;
  flat.max_depth = 1;
  limits none;
  none.max_depth = 0;
  return {limits{}, tight, flat, none};
}

/// Checks one frame under every limit set; returns how many times the fast path answered.
int check(const std::string& frame, encoding enc) {
  int fast = 0;
  for (auto& lim : limit_sets()) {
    auto diff = decode_difference(frame, enc, lim);
    EXPECT_TRUE(diff.empty()) << diff << "\nframe (" << (enc == encoding::json ? "json" : "msgpack")
                              << ", " << frame.size() << " bytes): "
                              << nlohmann::json(std::string(frame)).dump(-1, ' ', true,
                                                                      nlohmann::json::error_handler_t::replace);
    if (detail::decode_chat_send_fast(frame, enc, lim))
      ++fast;
  }
  return fast;
}

// -- msgpack writing with a chosen width (nlohmann always picks the smallest) ----------------------

void be(std::string& out, uint64_t x, int bytes) {
  for (int i = bytes - 1; i >= 0; --i)
    out.push_back(static_cast<char>((x >> (8 * i)) & 0xff));
}

std::string mp_str(std::string_view s, int width) { // 0: fixstr if it fits, else 1,2,4
  std::string out;
  if (width == 0 && s.size() < 32)
    out.push_back(static_cast<char>(0xa0 | s.size()));
  else if (width <= 1 && s.size() < 256) {
    out.push_back(static_cast<char>(0xd9));
    be(out, s.size(), 1);
  } else if (width <= 2 && s.size() < 65536) {
    out.push_back(static_cast<char>(0xda));
    be(out, s.size(), 2);
  } else {
    out.push_back(static_cast<char>(0xdb));
    be(out, s.size(), 4);
  }
  out.append(s);
  return out;
}

std::string mp_uint(uint64_t x, int width) { // 0: fixint if it fits
  std::string out;
  if (width == 0 && x < 128) {
    out.push_back(static_cast<char>(x));
    return out;
  }
  int bytes = width <= 1 && x < 256 ? 1 : width <= 2 && x < 65536 ? 2 : width <= 4 && x <= 0xffffffffu ? 4 : 8;
  out.push_back(static_cast<char>(bytes == 1 ? 0xcc : bytes == 2 ? 0xcd : bytes == 4 ? 0xce : 0xcf));
  be(out, x, bytes);
  return out;
}

std::string mp_int(int64_t x, int width) { // signed encodings; 0: negative fixint if it fits
  std::string out;
  if (width == 0 && x >= -32 && x < 0) {
    out.push_back(static_cast<char>(static_cast<int8_t>(x)));
    return out;
  }
  int bytes = width <= 1 && x >= INT8_MIN && x <= INT8_MAX       ? 1
              : width <= 2 && x >= INT16_MIN && x <= INT16_MAX ? 2
              : width <= 4 && x >= INT32_MIN && x <= INT32_MAX ? 4
                                                                : 8;
  out.push_back(static_cast<char>(bytes == 1 ? 0xd0 : bytes == 2 ? 0xd1 : bytes == 4 ? 0xd2 : 0xd3));
  be(out, static_cast<uint64_t>(x), bytes);
  return out;
}

std::string mp_map_header(size_t n, int width) {
  std::string out;
  if (width == 0 && n < 16)
    out.push_back(static_cast<char>(0x80 | n));
  else if (width <= 2) {
    out.push_back(static_cast<char>(0xde));
    be(out, n, 2);
  } else {
    out.push_back(static_cast<char>(0xdf));
    be(out, n, 4);
  }
  return out;
}

// -- generated chat-send variants -----------------------------------------------------------------

/// One value rendered in both encodings.
struct both {
  std::string json;
  std::string mp;
};

class generator {
public:
  explicit generator(uint32_t seed) : rng_(seed) {}

  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool chance(int percent) { return pick(100) < static_cast<size_t>(percent); }

  /// Raw string content: mostly ordinary, sometimes multi-byte, control, quote, backslash or
  /// invalid UTF-8 bytes.
  std::string content(size_t max_len) {
    static const std::vector<std::string> pieces = {
      "a", "Z", "0", " ", "é", "👋", "日本", "\"", "\\", "/", "\n", "\t", "\x01", "\x7f",
      "\xc3",             // truncated 2-byte sequence
      "\xc0\xaf",         // overlong
      "\xed\xa0\x80",     // surrogate
      "\xf4\x90\x80\x80", // above U+10FFFF
      "\xff",
    };
    std::string out;
    size_t n = pick(max_len + 1);
    bool plain = chance(60);
    while (out.size() < n) {
      if (plain)
        out.push_back(static_cast<char>('a' + pick(26)));
      else
        out += pieces[pick(chance(85) ? 7 : pieces.size())];
    }
    return out;
  }

  /// A JSON string literal for `s`: raw, escaped properly, or with \u escapes.
  std::string json_string(const std::string& s) {
    int mode = static_cast<int>(pick(4));
    if (mode == 0)
      return '"' + s + '"'; // raw: invalid JSON when s holds a quote, backslash or control byte
    if (mode == 1)
      return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::string out = "\"";
    for (unsigned char c : s) {
      if (c == '"')
        out += "\\\"";
      else if (c == '\\')
        out += mode == 3 ? "\\u005c" : "\\\\";
      else if (c == '/')
        out += chance(50) ? "\\/" : "/";
      else if (c == '\n')
        out += "\\n";
      else if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else if (c == 'e' && mode == 3)
        out += "\\u0065";
      else
        out.push_back(static_cast<char>(c));
    }
    return out + '"';
  }

  both string_value(const std::string& s) {
    return {json_string(s), mp_str(s, static_cast<int>(pick(4)) == 3 ? 4 : static_cast<int>(pick(3)))};
  }

  both int_value() {
    static const std::vector<int64_t> interesting = {
      0, 1, 5, 127, 128, 255, 256, 65535, 65536, INT32_MAX, int64_t{1} << 53, (int64_t{1} << 53) + 1,
      999'999'999'999'999'999, INT64_MAX, -1, -32, -33, -128, -129, INT32_MIN, INT64_MIN};
    int64_t x = chance(70) ? interesting[pick(interesting.size())]
                           : static_cast<int64_t>(rng_()) - static_cast<int64_t>(rng_() % 1000);
    both out;
    out.json = std::to_string(x);
    if (x >= 0 && chance(50))
      out.mp = mp_uint(static_cast<uint64_t>(x), static_cast<int>(pick(5)));
    else
      out.mp = mp_int(x, static_cast<int>(pick(5)));
    return out;
  }

  both odd_number() {
    switch (pick(9)) {
      case 0: return {"18446744073709551615", mp_uint(UINT64_MAX, 8)};
      case 1: return {"9223372036854775808", mp_uint(uint64_t{1} << 63, 8)};
      case 2: return {"1.0", std::string{"\xcb\x3f\xf0\0\0\0\0\0\0", 9}};
      case 3: return {"1e2", std::string{"\xca\x42\xc8\0\0", 5}};
      case 4: return {"-0", mp_int(0, 1)};
      case 5: return {"01", std::string{"\xcc\x01", 2}};
      case 6: return {"12345678901234567890", mp_uint(12345678901234567890ull, 8)};
      case 7: return {"+1", std::string{"\xd3\0\0\0\0\0\0\0\x01", 9}};
      default: return {"1000000000000000000", mp_uint(1000000000000000000ull, 4)};
    }
  }

  both other_value(int depth = 0) {
    switch (pick(depth > 3 ? 5 : 8)) {
      case 0: return {"null", "\xc0"};
      case 1: return {"true", "\xc3"};
      case 2: return {"false", "\xc2"};
      case 3: return odd_number();
      case 4: return {"\"\"", "\xa0"};
      case 5: return {"[]", "\x90"};
      case 6: {
        auto inner = other_value(depth + 1);
        return {"[" + inner.json + "]", "\x91" + inner.mp};
      }
      default: {
        auto inner = other_value(depth + 1);
        return {"{\"k\":" + inner.json + "}", "\x81\xa1k" + inner.mp};
      }
    }
  }

  both id_value() {
    if (chance(45)) {
      std::string s = chance(80) ? "r" + std::to_string(pick(100000)) : content(70);
      return string_value(s);
    }
    return chance(85) ? int_value() : other_value();
  }

  both uuid_value() {
    switch (pick(8)) {
      case 0: {
        std::string up = conv;
        for (auto& c : up)
          c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        return string_value(up);
      }
      case 1: return string_value(conv.substr(0, 35));
      case 2: return string_value(conv + "0");
      case 3: return other_value();
      default: return string_value(conv);
    }
  }

  std::vector<std::pair<std::string, both>> fields() {
    std::vector<std::pair<std::string, both>> f;
    std::string type = chance(90) ? "message.send" : chance(50) ? "message.edit" : "message.sendx";
    f.push_back({"type", chance(95) ? string_value(type) : other_value()});
    f.push_back({"id", id_value()});
    f.push_back({"conversation", uuid_value()});
    f.push_back({"client_id", chance(90) ? string_value(content(chance(80) ? 12 : 70)) : other_value()});
    f.push_back({"text", chance(92) ? string_value(content(chance(90) ? 64 : 4100)) : other_value()});
    if (chance(30))
      f.push_back({"reply_to", chance(70) ? int_value() : other_value()});
    if (chance(8))
      f.push_back({"attachments", chance(50) ? both{"[]", "\x90"} : other_value()});
    if (chance(8))
      f.push_back({chance(50) ? "extra" : "Text", other_value()});
    if (chance(6)) { // a repeated key
      auto dup = f[pick(f.size())];
      if (chance(50))
        dup.second = string_value(content(10));
      f.push_back(dup);
    }
    if (chance(8))
      f.erase(f.begin() + static_cast<std::ptrdiff_t>(pick(f.size())));
    std::shuffle(f.begin(), f.end(), rng_);
    return f;
  }

  std::string ws() {
    if (chance(70))
      return "";
    if (pick(400) == 0)
      return "\f"; // not JSON whitespace
    static const char* spaces[] = {" ", "\n", "\t ", "\r\n"};
    return spaces[pick(std::size(spaces))];
  }

  std::string json_frame() {
    auto f = fields();
    std::string out = ws() + "{" + ws();
    for (size_t i = 0; i < f.size(); ++i) {
      if (i > 0)
        out += ws() + "," + ws();
      out += (chance(97) ? '"' + f[i].first + '"' : json_string(f[i].first)) + ws() + ":" + ws()
             + f[i].second.json;
    }
    out += ws() + "}" + ws();
    return mutate(out);
  }

  std::string mp_frame() {
    auto f = fields();
    std::string out = mp_map_header(chance(97) ? f.size() : f.size() + 1, static_cast<int>(pick(5)));
    for (auto& [k, v] : f)
      out += mp_str(k, static_cast<int>(pick(3))) + v.mp;
    return mutate(out);
  }

  std::string mutate(std::string frame) {
    switch (pick(25)) {
      case 0: return frame.substr(0, pick(frame.size() + 1));
      case 1: return frame + std::string(1, static_cast<char>(pick(256)));
      case 2: return frame + frame;
      case 3:
        if (!frame.empty())
          frame[pick(frame.size())] = static_cast<char>(pick(256));
        return frame;
      case 4: return "\xef\xbb\xbf" + frame;
      default: return frame;
    }
  }

  std::mt19937 rng_;
};

} // namespace

TEST(DecodeDifferential, TheSimulatorsChatSendTakesTheFastPath) {
  nlohmann::json f{{"type", "message.send"}, {"id", 17}, {"conversation", conv},
                   {"client_id", "c-000123"}, {"text", std::string(64, 'x')}};
  auto j = f.dump();
  auto bytes = nlohmann::json::to_msgpack(f);
  std::string mp{bytes.begin(), bytes.end()};
  for (auto [frame, enc] : {std::pair{j, encoding::json}, std::pair{mp, encoding::msgpack}}) {
    auto fast = detail::decode_chat_send_fast(frame, enc, limits{});
    ASSERT_TRUE(fast);
    EXPECT_EQ(std::get<int64_t>(fast->id.value), 17);
    auto& m = std::get<message_send_req>(fast->body);
    EXPECT_EQ(m.conversation.str(), conv);
    EXPECT_EQ(m.client_id, "c-000123");
    EXPECT_EQ(m.text, std::string(64, 'x'));
    EXPECT_EQ(m.reply_to, 0);
    EXPECT_EQ(check(frame, enc), 2); // default and max_depth 1; not the tight text limit, not depth 0
  }
}

TEST(DecodeDifferential, EdgeCasesAnswerLikeTheDom) {
  auto base = [](const std::string& extra_or_override) {
    return R"({"type":"message.send","id":"r1","conversation":")" + conv
           + R"(","client_id":"c1",)" + extra_or_override + "}";
  };
  const std::vector<std::string> json_frames = {
    base(R"("text":"hi")"),
    base(R"("text":"hi","reply_to":9007199254740992)"),
    base(R"("text":"hi","reply_to":9007199254740993)"),
    base(R"("text":"hi","reply_to":-1)"),
    base(R"("text":"hi","reply_to":null)"),
    base(R"("text":"hi","reply_to":1.0)"),
    base(R"("text":"hi","reply_to":"1")"),
    base(R"("text":"a\nb\"c\\d\/e\tf")"),
    base(R"("text":"\u00e9\ud83d\udc4b")"),
    base(R"("text":"")"),
    base(R"("text":"bad \x")"),
    base("\"text\":\"\xc3\x28\""),
    base("\"text\":\"\xed\xa0\x80\""),
    base("\"text\":\"tab\there\""),
    base(R"("text":"hi","text":"again")"),
    base(R"("text":"hi","attachments":[])"),
    base(R"("text":"hi","attachments":null)"),
    base(R"("text":"hi","extra":{"a":[1,2]})"),
    base(R"("text":"hi")") + " ",
    base(R"("text":"hi")") + "x",
    base(R"("text":"hi")") + "{}",
    R"({"type":"message.send","id":9223372036854775807,"conversation":")" + conv
      + R"(","client_id":"c1","text":"hi"})",
    R"({"type":"message.send","id":9223372036854775808,"conversation":")" + conv
      + R"(","client_id":"c1","text":"hi"})",
    R"({"type":"message.send","id":-9223372036854775808,"conversation":")" + conv
      + R"(","client_id":"c1","text":"hi"})",
    R"({"type":"message.send","id":-12,"conversation":")" + conv + R"(","client_id":"c1","text":"hi"})",
    R"({"type":"message.send","id":"","conversation":")" + conv + R"(","client_id":"c1","text":"hi"})",
    R"({"type":"message.send","id":")" + std::string(64, 'i') + R"(","conversation":")" + conv
      + R"(","client_id":"c1","text":"hi"})",
    R"({"type":"message.send","id":")" + std::string(65, 'i') + R"(","conversation":")" + conv
      + R"(","client_id":"c1","text":"hi"})",
    R"({"type":"message.send","id":1,"conversation":")" + conv + R"(","client_id":")"
      + std::string(64, 'c') + R"(","text":"hi"})",
    R"({"type":"message.send","id":1,"conversation":")" + conv + R"(","client_id":")"
      + std::string(65, 'c') + R"(","text":"hi"})",
    R"({"type":"message.send","id":1,"conversation":")" + conv + R"(","client_id":"c","text":")"
      + [] { std::string s; for (int i = 0; i < 4000; ++i) s += "é"; return s; }() + R"("})",
    R"({"type":"message.send","id":1,"conversation":")" + conv + R"(","client_id":"c","text":")"
      + [] { std::string s; for (int i = 0; i < 4001; ++i) s += "é"; return s; }() + R"("})",
    R"({"type":"message.send","id":1})",
    R"({})",
    R"([])",
    "",
    "   ",
  };
  int fast = 0;
  for (auto& f : json_frames)
    fast += check(f, encoding::json);
  EXPECT_GE(fast, 10);

  // msgpack: integer widths, string widths, map widths, binary, floats, trailing bytes.
  auto mp_frame = [&](const std::string& id, const std::string& text, const std::string& tail,
                      int map_width) {
    size_t n = 5 + (tail.empty() ? 0 : 1);
    return mp_map_header(n, map_width) + mp_str("type", 0) + mp_str("message.send", 1) + mp_str("id", 0)
           + id + mp_str("conversation", 0) + mp_str(conv, 2) + mp_str("client_id", 0)
           + mp_str("c1", 4) + mp_str("text", 0) + text + tail;
  };
  std::vector<std::string> mp_frames;
  for (int w = 0; w < 5; ++w) {
    mp_frames.push_back(mp_frame(mp_uint(42, w), mp_str("hi", w), "", w));
    mp_frames.push_back(mp_frame(mp_int(-42, w), mp_str("hi", w), "", w));
    mp_frames.push_back(mp_frame(mp_int(42, w), mp_str("hi", w), mp_str("reply_to", 0) + mp_int(7, w), 0));
    mp_frames.push_back(mp_frame(mp_uint(42, w), mp_str("hi", w), mp_str("reply_to", 0) + mp_int(-7, w), 0));
  }
  mp_frames.push_back(mp_frame(mp_uint(uint64_t{1} << 63, 8), mp_str("hi", 0), "", 0));
  mp_frames.push_back(mp_frame(mp_int(INT64_MIN, 8), mp_str("hi", 0), "", 0));
  mp_frames.push_back(mp_frame(mp_str("", 0), mp_str("hi", 0), "", 0));
  mp_frames.push_back(mp_frame(mp_str("r\xff", 0), mp_str("hi", 0), "", 0));
  mp_frames.push_back(mp_frame(mp_uint(1, 0), mp_str("\xed\xa0\x80", 0), "", 0));
  mp_frames.push_back(mp_frame(mp_uint(1, 0), std::string{"\xc4\x02hi", 4}, "", 0)); // bin8
  mp_frames.push_back(mp_frame(mp_uint(1, 0), mp_str("hi", 0), mp_str("reply_to", 0) + std::string{"\xca\0\0\0\0", 5}, 0));
  mp_frames.push_back(mp_frame(mp_uint(1, 0), mp_str("hi", 0), mp_str("reply_to", 0) + "\xc0", 0));
  mp_frames.push_back(mp_frame(mp_uint(1, 0), mp_str("hi", 0), mp_str("text", 0) + mp_str("x", 0), 0));
  mp_frames.push_back(mp_frame(mp_uint(1, 0), mp_str("hi", 0), mp_str("attachments", 0) + "\x90", 0));
  mp_frames.push_back(mp_frame(mp_uint(1, 0), mp_str("hi", 0), "", 0) + "\xc0");
  fast = 0;
  for (auto& f : mp_frames) {
    fast += check(f, encoding::msgpack);
    for (size_t cut = 0; cut < f.size(); cut += 7)
      check(f.substr(0, cut), encoding::msgpack);
  }
  EXPECT_GE(fast, 20);
}

TEST(DecodeDifferential, GeneratedChatSendVariantsAnswerLikeTheDom) {
  generator gen{20261206};
  int fast_json = 0, fast_mp = 0;
  constexpr int n = 20000;
  for (int i = 0; i < n && !HasFailure(); ++i) {
    fast_json += check(gen.json_frame(), encoding::json) > 0;
    fast_mp += check(gen.mp_frame(), encoding::msgpack) > 0;
  }
  // Most variants are valid chat sends: the fast path answered a good share of them itself.
  EXPECT_GE(fast_json, n / 25);
  EXPECT_GE(fast_mp, n / 25);
  std::printf("generated %d frames per encoding; the fast path answered %d JSON and %d msgpack\n", n,
              fast_json, fast_mp);
}

TEST(DecodeDifferential, FuzzCorporaAnswerLikeTheDom) {
  size_t files = 0;
  for (auto folder : {"corpus/fuzz_protocol_decode", "regressions/fuzz_protocol_decode"})
    for (auto& f : pactum::fuzz::inputs_in(std::filesystem::path{PACTUM_FUZZ_DIR} / folder)) {
      SCOPED_TRACE(f.string());
      auto bytes = pactum::fuzz::read_bytes(f);
      check(bytes, encoding::json);
      check(bytes, encoding::msgpack);
      ++files;
    }
  EXPECT_GE(files, 20u);
}
