// A chat message without attachments is sealed without a JSON DOM (sealer.cpp,
// seal_message_posted). What it writes must behave exactly as the DOM path's output: the text
// gone from the stored bytes, the same fields otherwise, `sealed` naming the author, and opening
// it restores the event byte for byte; an erased owner still takes the DOM path.

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pactum/actors/sealer.hpp"
#include "pactum/protocol/events.hpp"

namespace pactum::actors::privacy {
namespace {

using json = nlohmann::json;

TEST(SealFast, ChatMessagesSealOpenAndKeepTheirOtherFields) {
  auto author = uuid::v7();
  auto k = random_key();
  for (size_t len : {0, 1, 31, 32, 255, 256, 65535, 65536})
    for (int64_t reply_to : {int64_t{0}, int64_t{42}}) {
      std::string text(len, 'q');
      if (len > 10)
        text.replace(3, 8, "secret!!");
      auto plain = protocol::encode_event(protocol::message_posted{author, "cid-9", text, 1'764'979'200'123, reply_to});
      auto sealed = seal_payload("message.posted", plain, {{author, &k}});
      ASSERT_TRUE(sealed) << sealed.error().what;
      if (len > 10) {
        EXPECT_EQ(sealed.value().find("secret!!"), std::string::npos) << len;
      }
      EXPECT_EQ(sealed_owners(sealed.value()), std::vector<uuid>{author});
      auto obj = json::from_msgpack(sealed.value());
      auto orig = json::from_msgpack(plain);
      EXPECT_EQ(obj["text"], "");
      ASSERT_TRUE(obj["sealed"]["c"].is_binary());
      EXPECT_EQ(obj["sealed"]["k"], json::array({author.str()}));
      obj.erase("sealed");
      orig["text"] = "";
      EXPECT_EQ(obj, orig) << "every other field as it was";
      auto ev = protocol::decode_event("message.posted", 2, sealed.value());
      ASSERT_TRUE(ev) << ev.error(); // the stored bytes still decode (text empty)
      auto opened = open_payload("message.posted", sealed.value(), {{author, &k}});
      ASSERT_TRUE(opened) << opened.error().what;
      EXPECT_EQ(opened.value(), plain) << "history must serve the bytes live pushes carried";
      auto other = random_key();
      EXPECT_FALSE(open_payload("message.posted", sealed.value(), {{author, &other}}));
      EXPECT_FALSE(open_payload("message.edited", sealed.value(), {{author, &k}}));
    }
}

TEST(SealFast, AnErasedOwnerAndAnAlreadySealedPayloadTakeTheDomPath) {
  auto author = uuid::v7();
  auto k = random_key();
  auto plain = protocol::encode_event(protocol::message_posted{author, "c", "my number is 555 0100", 5, 0});
  auto erased = seal_payload("message.posted", plain, {{author, nullptr}});
  ASSERT_TRUE(erased);
  EXPECT_EQ(erased.value().find("555 0100"), std::string::npos);
  EXPECT_NE(protocol::event_to_json(erased.value()).find("\"erased\":true"), std::string::npos);
  auto sealed = seal_payload("message.posted", plain, {{author, &k}});
  ASSERT_TRUE(sealed);
  EXPECT_FALSE(seal_payload("message.posted", sealed.value(), {{author, &k}})) << "already sealed";
}

} // namespace
} // namespace pactum::actors::privacy
