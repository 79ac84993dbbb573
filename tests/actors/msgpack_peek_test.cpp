// msgpack_peek_str stands in for a JSON DOM lookup on the hot path (notifications, the sealer's
// owners): it must answer what the DOM answers, and nothing for what the DOM rejects.

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "msgpack_peek.hpp"
#include "pactum/protocol/events.hpp"

using namespace pactum;
using json = nlohmann::json;

namespace {

std::string mp(const json& j) {
  auto v = json::to_msgpack(j);
  return {v.begin(), v.end()};
}

/// The DOM's answer: the string at `key`, or nullopt.
std::optional<std::string> dom(const std::string& bytes, const std::string& key) {
  auto obj = json::from_msgpack(bytes, true, false);
  if (!obj.is_object())
    return std::nullopt;
  auto i = obj.find(key);
  if (i == obj.end() || !i->is_string())
    return std::nullopt;
  return i->get<std::string>();
}

TEST(MsgpackPeek, AnswersWhatTheDomAnswers) {
  auto author = uuid::v7();
  protocol::conversation_event ev = protocol::message_posted{author, "c1", std::string(300, 't'), 12345, 7};
  std::string sealed_like = mp(json{{"author", author.str()}, {"text", ""},
                                    {"sealed", {{"k", json::array({author.str()})}, {"c", json::binary({1, 2, 3})}}},
                                    {"n", -5}, {"f", 1.25}, {"b", true}, {"z", nullptr}});
  std::vector<std::string> payloads{
    protocol::encode_event(ev), sealed_like, mp(json::object()), mp(json::array({1, 2})), mp("str"),
    mp(json{{"author", 5}}), std::string{}, std::string{"\x81\xa6" "author", 8} /* truncated */,
    protocol::encode_event(ev) + "x" /* trailing byte */,
    std::string{"\x82\xa1" "a" "\xa1" "1" "\xa1" "a" "\xa1" "2"} /* "a" twice: the last counts */,
    std::string{"\x81\x01\xa1" "x"} /* a non-string key */};
  for (auto& p : payloads)
    for (std::string key : {"author", "type", "text", "a", "missing", "n", "sealed"}) {
      auto got = actors::msgpack_peek_str(p, key);
      auto want = dom(p, key);
      ASSERT_EQ(got.has_value(), want.has_value()) << key << " in " << json(json::binary({p.begin(), p.end()})).dump();
      if (want) {
        EXPECT_EQ(std::string{*got}, *want) << key;
      }
    }
  EXPECT_EQ(actors::msgpack_peek_str(protocol::encode_event(ev), "author"), author.str());
  EXPECT_EQ(actors::msgpack_peek_str(protocol::encode_event(ev), "type"), "message.posted");
}

} // namespace
