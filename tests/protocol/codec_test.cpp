#include "pactum/protocol/codec.hpp"

#include <chrono>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pactum/protocol/events.hpp"
#include "decode_difference.hpp"

using namespace pactum;
using namespace pactum::protocol;
using json = nlohmann::json;

namespace {

std::string as_msgpack(const json& j) {
  auto bytes = json::to_msgpack(j);
  return {bytes.begin(), bytes.end()};
}

json frame_to_json(const std::string& frame, encoding enc) {
  if (enc == encoding::json)
    return json::parse(frame);
  return json::from_msgpack(frame);
}

class CodecTest : public ::testing::TestWithParam<encoding> {
protected:
  expected<request, decode_error> decode(const json& j) {
    auto enc = GetParam();
    auto frame = enc == encoding::json ? j.dump() : as_msgpack(j);
    // Every frame here also checks the message.send fast path against the DOM decoder.
    auto diff = fuzz::decode_difference(frame, enc, lim_);
    EXPECT_TRUE(diff.empty()) << diff;
    return decode_request(frame, enc, lim_);
  }
  limits lim_;
  uuid conv_ = uuid::v7();
};

} // namespace

TEST_P(CodecTest, DecodesMessageSend) {
  auto r = decode(json{{"type", "message.send"},
                       {"id", "r1"},
                       {"conversation", conv_.str()},
                       {"client_id", "c-1"},
                       {"text", "héllo 👋"}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(std::get<std::string>(r->id.value), "r1");
  auto& m = std::get<message_send_req>(r->body);
  EXPECT_EQ(m.conversation, conv_);
  EXPECT_EQ(m.client_id, "c-1");
  EXPECT_EQ(m.text, "héllo 👋");
}

TEST_P(CodecTest, DecodesEveryRequestType) {
  EXPECT_TRUE(decode(json{{"type", "ping"}, {"id", 1}}));
  EXPECT_TRUE(decode(json{{"type", "conversation.open"}, {"id", 2}, {"with", conv_.str()}}));
  EXPECT_TRUE(decode(json{{"type", "conversation.list"}, {"id", 3}}));
  auto sub = decode(json{{"type", "subscribe"}, {"id", 4}, {"conversation", conv_.str()}, {"after", 17}});
  ASSERT_TRUE(sub);
  EXPECT_EQ(std::get<subscribe_req>(sub->body).after, 17);
  EXPECT_TRUE(decode(json{{"type", "unsubscribe"}, {"id", 5}, {"conversation", conv_.str()}}));
  auto hist = decode(json{{"type", "history"}, {"id", 6}, {"conversation", conv_.str()}, {"before", 100}, {"limit", 20}});
  ASSERT_TRUE(hist);
  EXPECT_EQ(std::get<history_req>(hist->body).before, 100);
  EXPECT_EQ(std::get<history_req>(hist->body).limit, 20u);
}

TEST_P(CodecTest, RejectsWrongFieldTypesWithTheRequestId) {
  auto r = decode(json{{"type", "message.send"}, {"id", 9}, {"conversation", 42}, {"client_id", "x"}, {"text", "t"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, error_code::bad_request);
  ASSERT_TRUE(r.error().id);
  EXPECT_EQ(std::get<int64_t>(r.error().id->value), 9);
  EXPECT_NE(r.error().message.find("conversation"), std::string::npos);

  auto neg = decode(json{{"type", "subscribe"}, {"id", 1}, {"conversation", conv_.str()}, {"after", -1}});
  ASSERT_FALSE(neg);
  EXPECT_EQ(neg.error().code, error_code::bad_request);
  auto flt = decode(json{{"type", "subscribe"}, {"id", 1}, {"conversation", conv_.str()}, {"after", 1.5}});
  ASSERT_FALSE(flt);
  EXPECT_EQ(flt.error().code, error_code::bad_request);
}

TEST_P(CodecTest, RejectsMissingIdAndType) {
  auto no_id = decode(json{{"type", "ping"}});
  ASSERT_FALSE(no_id);
  EXPECT_EQ(no_id.error().code, error_code::bad_request);
  EXPECT_FALSE(no_id.error().id);
  auto long_id = decode(json{{"type", "ping"}, {"id", std::string(65, 'x')}});
  ASSERT_FALSE(long_id);
  auto no_type = decode(json{{"id", 1}});
  ASSERT_FALSE(no_type);
  EXPECT_EQ(no_type.error().code, error_code::bad_request);
}

TEST_P(CodecTest, RejectsUnknownTypes) {
  auto r = decode(json{{"type", "launch.missiles"}, {"id", "x"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, error_code::unknown_type);
  EXPECT_TRUE(r.error().id);
}

TEST_P(CodecTest, EnforcesTextLimitInCharactersNotBytes) {
  lim_.max_text_chars = 5;
  auto ok = decode(json{{"type", "message.send"}, {"id", 1}, {"conversation", conv_.str()}, {"client_id", "a"}, {"text", "ééééé"}});
  EXPECT_TRUE(ok) << "5 characters (10 bytes) fit a 5-character limit";
  auto too_long = decode(json{{"type", "message.send"}, {"id", 1}, {"conversation", conv_.str()}, {"client_id", "a"}, {"text", "abcdef"}});
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().code, error_code::too_large);
  auto empty = decode(json{{"type", "message.send"}, {"id", 1}, {"conversation", conv_.str()}, {"client_id", "a"}, {"text", ""}});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, error_code::bad_request);
}

TEST_P(CodecTest, RejectsNonObjectsAndDeepNesting) {
  auto enc = GetParam();
  auto arr = decode_request(enc == encoding::json ? std::string{"[1,2]"} : as_msgpack(json::array({1, 2})), enc, lim_);
  ASSERT_FALSE(arr);
  EXPECT_EQ(arr.error().code, error_code::bad_frame);
  json deep = json::object();
  json* cur = &deep;
  for (int i = 0; i < 100; ++i)
    cur = &((*cur)["x"] = json::object());
  deep["type"] = "ping";
  deep["id"] = 1;
  auto r = decode(deep);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, error_code::bad_frame);
}

INSTANTIATE_TEST_SUITE_P(BothEncodings, CodecTest, ::testing::Values(encoding::json, encoding::msgpack),
                         [](const auto& info) { return info.param == encoding::json ? "Json" : "Msgpack"; });

TEST(CodecMalformed, TruncatedAndGarbageFramesNeverCrash) {
  limits lim;
  json good{{"type", "message.send"}, {"id", 1}, {"conversation", uuid::v7().str()}, {"client_id", "c"}, {"text", "hello"}};
  auto text = good.dump();
  auto mp = as_msgpack(good);
  for (size_t n = 0; n < text.size(); ++n) {
    auto r = decode_request(std::string_view{text}.substr(0, n), encoding::json, lim);
    ASSERT_FALSE(r) << "prefix of " << n << " bytes";
    EXPECT_EQ(r.error().code, error_code::bad_frame);
  }
  for (size_t n = 0; n < mp.size(); ++n) {
    auto r = decode_request(std::string_view{mp}.substr(0, n), encoding::msgpack, lim);
    ASSERT_FALSE(r) << "prefix of " << n << " bytes";
    EXPECT_EQ(r.error().code, error_code::bad_frame);
  }
  // 64 KiB of nested one-element arrays: must be refused without deep recursion.
  std::string nested(64 * 1024, static_cast<char>(0x91));
  EXPECT_FALSE(decode_request(nested, encoding::msgpack, lim));
  std::string brackets(64 * 1024, '[');
  EXPECT_FALSE(decode_request(brackets, encoding::json, lim));
  // Invalid UTF-8 inside a msgpack string (JSON text is checked by the parser itself).
  std::string bad_utf8 = as_msgpack(json{{"type", "ping"}, {"id", "x"}});
  bad_utf8.back() = static_cast<char>(0xFF);
  EXPECT_FALSE(decode_request(bad_utf8, encoding::msgpack, lim));
  EXPECT_FALSE(decode_request("\xff\xfe", encoding::json, lim));
  // Binary values are refused.
  json with_bin{{"type", "ping"}, {"id", 1}, {"blob", json::binary({1, 2, 3})}};
  EXPECT_FALSE(decode_request(as_msgpack(with_bin), encoding::msgpack, lim));
}

TEST(CodecEncode, RepliesRoundTripInBothEncodings) {
  auto conv = uuid::v7();
  for (auto enc : {encoding::json, encoding::msgpack}) {
    auto ok = frame_to_json(encode_ok(request_id{"abc"}, message_ack_reply{conv, 7, 1234, true}, enc), enc);
    EXPECT_EQ(ok["type"], "ok");
    EXPECT_EQ(ok["re"], "abc");
    EXPECT_EQ(ok["conversation"], conv.str());
    EXPECT_EQ(ok["seq"], 7);
    EXPECT_EQ(ok["duplicate"], true);
    auto err = frame_to_json(encode_error(nullptr, error_code::forbidden, "nope", enc), enc);
    EXPECT_EQ(err["type"], "error");
    EXPECT_TRUE(err["re"].is_null());
    EXPECT_EQ(err["code"], "forbidden");
  }
}

TEST(CodecEncode, PushFramesAndBatchesCarryTheEventUnchanged) {
  auto author = uuid::v7();
  conversation_event ev = message_posted{author, "cid", "hi \"there\"", 99};
  auto payload = std::make_shared<const std::string>(encode_event(ev));
  push_frame frame{"conversation:x", 5, payload};
  for (auto enc : {encoding::json, encoding::msgpack}) {
    auto j = frame_to_json(frame.frame(enc), enc);
    EXPECT_EQ(j["type"], "event");
    EXPECT_EQ(j["stream"], "conversation:x");
    EXPECT_EQ(j["seq"], 5);
    EXPECT_EQ(j["event"]["type"], "message.posted");
    EXPECT_EQ(j["event"]["text"], "hi \"there\"");
    EXPECT_EQ(j["event"]["author"], author.str());
    auto batch = frame_to_json(encode_batch({frame.frame(enc), frame.frame(enc)}, enc), enc);
    EXPECT_EQ(batch["type"], "batch");
    ASSERT_EQ(batch["items"].size(), 2u);
    EXPECT_EQ(batch["items"][1], j);
  }
  EXPECT_EQ(&frame.frame(encoding::json), &frame.frame(encoding::json)) << "encoded once, then shared";
}

TEST(Events, RoundTripThroughTheJournalFormat) {
  auto a = uuid::v7(), b = uuid::v7();
  conversation_event opened = conversation_opened{a, b, 10};
  auto back = decode_event(event_type(opened), event_version(opened), encode_event(opened));
  ASSERT_TRUE(back);
  auto& o = std::get<conversation_opened>(back.value());
  EXPECT_EQ(o.brand, a);
  EXPECT_EQ(o.creator, b);
  EXPECT_EQ(o.at, 10);
  EXPECT_FALSE(decode_event("message.posted", 99, encode_event(opened)));
  EXPECT_FALSE(decode_event("message.posted", 1, "\xc1"));
}

TEST(Uuid, ParsesAndPrintsCanonicalForm) {
  auto id = uuid::v7();
  auto s = id.str();
  EXPECT_EQ(s.size(), 36u);
  EXPECT_EQ(s[14], '7') << "version nibble";
  EXPECT_EQ(uuid::parse(s), id);
  EXPECT_FALSE(uuid::parse("not-a-uuid"));
  EXPECT_FALSE(uuid::parse(s.substr(1)));
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_LT(id, uuid::v7()) << "v7 ids from different milliseconds sort by creation time";
}

TEST(CodecChat, DecodesRepliesAttachmentsEditsDeletesAndTyping) {
  limits lim;
  auto conv = uuid::v7().str();
  auto send = decode_request(
    json{{"type", "message.send"}, {"id", 1}, {"conversation", conv}, {"client_id", "c"},
         {"text", "see the brief"}, {"reply_to", 7},
         {"attachments", json::array({json{{"url", "https://cdn.example/brief.pdf"},
                                           {"type", "application/pdf"}, {"size", 1234}},
                                      json{{"url", "https://cdn.example/a.jpg"}, {"type", "image/jpeg"},
                                           {"size", 99}, {"width", 640}, {"height", 480}}})}}
      .dump(),
    encoding::json, lim);
  ASSERT_TRUE(send) << send.error().message;
  auto& m = std::get<message_send_req>(send->body);
  EXPECT_EQ(m.reply_to, 7);
  ASSERT_EQ(m.attachments.size(), 2u);
  EXPECT_EQ(m.attachments[1].width, 640);
  EXPECT_EQ(m.attachments[0].type, "application/pdf");

  auto bad_url = decode_request(
    json{{"type", "message.send"}, {"id", 1}, {"conversation", conv}, {"client_id", "c"}, {"text", "x"},
         {"attachments", json::array({json{{"url", "javascript:alert(1)"}, {"type", "image/png"}, {"size", 1}}})}}
      .dump(),
    encoding::json, lim);
  ASSERT_FALSE(bad_url);
  EXPECT_EQ(bad_url.error().code, error_code::bad_request);
  json many = json::array();
  for (int i = 0; i < 11; ++i)
    many.push_back(json{{"url", "https://x.example/" + std::to_string(i)}, {"type", "image/png"}, {"size", 1}});
  auto too_many = decode_request(json{{"type", "message.send"}, {"id", 1}, {"conversation", conv},
                                      {"client_id", "c"}, {"text", "x"}, {"attachments", many}}
                                   .dump(),
                                 encoding::json, lim);
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error().code, error_code::too_large);

  auto edit = decode_request(json{{"type", "message.edit"}, {"id", 2}, {"conversation", conv}, {"seq", 5}, {"text", "fixed"}}.dump(), encoding::json, lim);
  ASSERT_TRUE(edit);
  EXPECT_EQ(std::get<message_edit_req>(edit->body).seq, 5);
  auto no_seq = decode_request(json{{"type", "message.delete"}, {"id", 3}, {"conversation", conv}}.dump(), encoding::json, lim);
  ASSERT_FALSE(no_seq);
  EXPECT_EQ(no_seq.error().code, error_code::bad_request);
  EXPECT_TRUE(decode_request(json{{"type", "typing"}, {"id", 4}, {"conversation", conv}}.dump(), encoding::json, lim));
}

TEST(Events, MessagesWrittenInVersionOneStillLoad) {
  // The exact shape version 1 of message.posted was journaled in (before replies/attachments).
  auto author = uuid::v7();
  auto v1 = json::to_msgpack(json{{"type", "message.posted"}, {"author", author.str()},
                                  {"client_id", "old"}, {"text", "from last year"}, {"at", 1700000000000}});
  auto ev = decode_event("message.posted", 1, std::string{v1.begin(), v1.end()});
  ASSERT_TRUE(ev) << ev.error();
  auto& m = std::get<message_posted>(ev.value());
  EXPECT_EQ(m.text, "from last year");
  EXPECT_EQ(m.reply_to, 0);
  EXPECT_TRUE(m.attachments.empty());
  // And the current version round-trips its new fields.
  conversation_event v2 = message_posted{author, "new", "hi", 5, 3, {{"https://x.example/a.png", "image/png", 10, 2, 3}}};
  EXPECT_EQ(event_version(v2), 2);
  auto back = decode_event("message.posted", 2, encode_event(v2));
  ASSERT_TRUE(back);
  EXPECT_EQ(std::get<message_posted>(back.value()).attachments, std::get<message_posted>(v2).attachments);
  EXPECT_EQ(std::get<message_posted>(back.value()).reply_to, 3);
  EXPECT_FALSE(decode_event("message.posted", 3, encode_event(v2))) << "a future version is refused, not misread";
}
