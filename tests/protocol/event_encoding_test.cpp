// message.posted is written straight to msgpack on the hot path (events.cpp): these tests hold it
// to the bytes the generic JSON-DOM encoding gives, so journals written before and after read
// alike and a stored payload never depends on which path wrote it.

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pactum/protocol/events.hpp"

namespace pactum::protocol {
namespace {

using json = nlohmann::json;

std::string dom_encoding(const message_posted& x) {
  json obj{{"type", "message.posted"}, {"author", x.author.str()}, {"client_id", x.client_id},
           {"text", x.text}, {"at", x.at}};
  if (x.reply_to > 0)
    obj["reply_to"] = x.reply_to;
  auto bytes = json::to_msgpack(obj);
  return {bytes.begin(), bytes.end()};
}

TEST(EventEncoding, MessagePostedHasTheBytesOfTheDomEncoding) {
  auto author = uuid::v7();
  // String lengths across every msgpack string form (fixstr, str8, str16, str32) and integers
  // across every unsigned width.
  for (size_t len : {0, 1, 31, 32, 255, 256, 65535, 65536, 70000})
    for (int64_t at : {int64_t{0}, int64_t{127}, int64_t{128}, int64_t{255}, int64_t{256},
                       int64_t{65535}, int64_t{65536}, int64_t{4294967295}, int64_t{4294967296},
                       int64_t{1764979200123}})
      for (int64_t reply_to : {int64_t{0}, int64_t{1}, int64_t{300}, int64_t{70000}}) {
        message_posted m{author, std::string(len % 40, 'c'), std::string(len, 'x'), at, reply_to};
        EXPECT_EQ(encode_event(conversation_event{m}), dom_encoding(m))
          << "len " << len << " at " << at << " reply_to " << reply_to;
      }
}

TEST(EventEncoding, MessagePostedRoundTripsThroughTheJournalFormat) {
  auto author = uuid::v7();
  message_posted m{author, "client-7", "héllo \"there\"\n", 1764979200123, 42};
  conversation_event ev = m;
  auto back = decode_event(event_type(ev), event_version(ev), encode_event(ev));
  ASSERT_TRUE(back);
  auto& p = std::get<message_posted>(back.value());
  EXPECT_EQ(p.author, author);
  EXPECT_EQ(p.client_id, "client-7");
  EXPECT_EQ(p.text, "héllo \"there\"\n");
  EXPECT_EQ(p.at, 1764979200123);
  EXPECT_EQ(p.reply_to, 42);
}

TEST(EventEncoding, MessagePostedWithAttachmentsStillEncodesThem) {
  message_posted m{uuid::v7(), "c", "see file", 5, 0,
                   {attachment{"https://cdn.example/a.png", "image/png", 1234, 640, 480}}};
  conversation_event ev = m;
  auto back = decode_event(event_type(ev), event_version(ev), encode_event(ev));
  ASSERT_TRUE(back);
  auto& p = std::get<message_posted>(back.value());
  ASSERT_EQ(p.attachments.size(), 1u);
  EXPECT_EQ(p.attachments[0].url, "https://cdn.example/a.png");
  EXPECT_EQ(p.attachments[0].width, 640);
}

} // namespace
} // namespace pactum::protocol

namespace pactum::protocol {
namespace {

/// What event_to_json wrote before it had a fast path: the DOM, dumped.
std::string dom_json(std::string_view mp) {
  auto obj = json::from_msgpack(mp.begin(), mp.end(), true, false);
  if (obj.is_discarded())
    return "null";
  return obj.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string to_mp(const json& j) {
  auto v = json::to_msgpack(j);
  return {v.begin(), v.end()};
}

TEST(EventToJson, WritesWhatTheDomWrites) {
  std::string controls;
  for (int c = 0; c < 0x20; ++c)
    controls.push_back(static_cast<char>(c));
  std::vector<json> values{
    json::object(),
    json::array(),
    json{{"type", "message.posted"}, {"text", "quote \" backslash \\ slash / del \x7f"}},
    json{{"text", controls}, {"é", "ünïcødé 😀 中文"}},
    json{{"n", 0}, {"small", 127}, {"u8", 255}, {"u16", 65535}, {"u32", 4294967295u},
         {"u64", 18446744073709551615u}, {"neg", -1}, {"neg32", -33}, {"i8", -128},
         {"i16", -32768}, {"i32", -2147483648ll}, {"i64", INT64_MIN}},
    json{{"nested", {{"a", json::array({1, "two", nullptr, true, false, json::object()})},
                     {"b", {{"c", {{"d", json::array({json::array({json::array()})})}}}}}}}},
    json{{"long", std::string(70000, 'x')}, {"mid", std::string(300, 'y')}, {"k", std::string(40, 'z')}},
    json{{"float", 1.5}}, // declined by the fast path, the DOM writes it
    json{{"a", json::binary({1, 2, 3})}},
  };
  for (auto& v : values) {
    auto mp = to_mp(v);
    EXPECT_EQ(event_to_json(mp), dom_json(mp)) << v.dump();
  }
  // Every conversation event as the journal holds it.
  auto a = uuid::v7(), b = uuid::v7();
  for (const conversation_event& ev :
       {conversation_event{conversation_opened{a, b, 10}},
        conversation_event{message_posted{a, "c1", "line\nbreak \"q\" é", 1764979200123, 3}},
        conversation_event{message_posted{a, "c2", "see", 5, 0, {attachment{"https://x/y.png", "image/png", 10, 2, 3}}}}}) {
    auto mp = encode_event(ev);
    EXPECT_EQ(event_to_json(mp), dom_json(mp));
  }
}

TEST(EventToJson, DeclinesWhereTheDomWouldDiffer) {
  // Keys out of order and duplicated (the DOM sorts and keeps one), invalid UTF-8 (the DOM
  // replaces it), trailing bytes and truncation (the DOM gives null): the same text either way.
  std::string unsorted = "\x82\xa1" "b" "\x01\xa1" "a" "\x02";
  std::string duplicate = "\x82\xa1" "a" "\x01\xa1" "a" "\x02";
  std::string bad_utf8 = "\x81\xa1" "t" "\xa2\xff\xfe";
  std::string trailing = "\x80\x01";
  std::string truncated = "\x81\xa1" "t" "\xa5" "ab";
  std::string non_string_key = "\x81\x01\x02";
  for (const auto& mp : {unsorted, duplicate, bad_utf8, trailing, truncated, non_string_key, std::string{}})
    EXPECT_EQ(event_to_json(mp), dom_json(mp)) << json(mp).dump();
  EXPECT_EQ(event_to_json(unsorted), R"({"a":2,"b":1})");
}

} // namespace
} // namespace pactum::protocol
