#include "pactum/actors/conversation_machine.hpp"

#include <cassert>

#include <nlohmann/json.hpp>

namespace pactum::actors::conversation {

std::string dedup_key(const uuid& author, const std::string& client_id) {
  std::string key{reinterpret_cast<const char*>(author.bytes.data()), author.bytes.size()};
  key += client_id;
  return key;
}

decision decide(const state& s, const post_message& cmd, millis now) {
  if (!s.is_member(cmd.author))
    return refusal{protocol::error_code::forbidden, "not a member of this conversation"};
  if (cmd.client_id.empty())
    return refusal{protocol::error_code::bad_request, "client_id must not be empty"};
  if (cmd.text.empty())
    return refusal{protocol::error_code::bad_request, "text must not be empty"};
  if (auto i = s.recent.find(dedup_key(cmd.author, cmd.client_id)); i != s.recent.end())
    return duplicate{i->second.seq, i->second.at};
  return accepted{protocol::message_posted{cmd.author, cmd.client_id, cmd.text, now}};
}

namespace {

template <class... Fs>
struct overload : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
overload(Fs...) -> overload<Fs...>;

} // namespace

void apply(state& s, int64_t seq, const protocol::conversation_event& ev, const rules& r) {
  assert(seq == s.head + 1);
  std::visit(overload{
               [&](const protocol::conversation_opened& x) {
                 s.brand = x.brand;
                 s.creator = x.creator;
               },
               [&](const protocol::message_posted& x) {
                 auto key = dedup_key(x.author, x.client_id);
                 if (s.recent.emplace(key, state::sent{seq, x.at}).second) {
                   s.recent_order.push_back(std::move(key));
                   while (s.recent_order.size() > r.dedup_window) {
                     s.recent.erase(s.recent_order.front());
                     s.recent_order.pop_front();
                   }
                 }
               },
             },
             ev);
  s.head = seq;
}

using json = nlohmann::json;

std::string encode_snapshot(const state& s) {
  auto recent = json::array();
  for (auto& key : s.recent_order) {
    auto& sent = s.recent.at(key);
    recent.push_back(json::array({json::binary(std::vector<uint8_t>(key.begin(), key.end())),
                                  sent.seq, sent.at}));
  }
  json obj{{"id", s.id.str()},           {"brand", s.brand.str()}, {"creator", s.creator.str()},
           {"head", s.head},             {"recent", std::move(recent)}};
  auto bytes = json::to_msgpack(obj);
  return std::string{bytes.begin(), bytes.end()};
}

expected<state, std::string> decode_snapshot(int16_t version, std::string_view bytes,
                                             const rules& r) {
  if (version != 1)
    return std::string{"unknown conversation snapshot version "} + std::to_string(version);
  auto obj = json::from_msgpack(bytes.begin(), bytes.end(), true, false);
  if (obj.is_discarded() || !obj.is_object())
    return std::string{"snapshot is not a msgpack map"};
  try {
    state s;
    auto id = uuid::parse(obj.at("id").get<std::string>());
    auto brand = uuid::parse(obj.at("brand").get<std::string>());
    auto creator = uuid::parse(obj.at("creator").get<std::string>());
    if (!id || !brand || !creator)
      return std::string{"snapshot has a malformed id"};
    s.id = *id;
    s.brand = *brand;
    s.creator = *creator;
    s.head = obj.at("head").get<int64_t>();
    for (auto& entry : obj.at("recent")) {
      auto& bin = entry.at(0).get_binary();
      std::string key(bin.begin(), bin.end());
      s.recent.emplace(key, state::sent{entry.at(1).get<int64_t>(), entry.at(2).get<int64_t>()});
      s.recent_order.push_back(std::move(key));
    }
    while (s.recent_order.size() > r.dedup_window) {
      s.recent.erase(s.recent_order.front());
      s.recent_order.pop_front();
    }
    return s;
  } catch (const json::exception& ex) {
    return std::string{"malformed snapshot: "} + ex.what();
  }
}

} // namespace pactum::actors::conversation
