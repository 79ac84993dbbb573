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
