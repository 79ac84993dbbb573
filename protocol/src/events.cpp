#include "pactum/protocol/events.hpp"

#include <nlohmann/json.hpp>

#include "utf8.hpp"

namespace pactum::protocol {

using json = nlohmann::json;

namespace {

template <class... Fs>
struct overload : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
overload(Fs...) -> overload<Fs...>;

std::optional<uuid> get_uuid(const json& obj, const char* key) {
  auto i = obj.find(key);
  if (i == obj.end() || !i->is_string())
    return std::nullopt;
  return uuid::parse(i->get_ref<const std::string&>());
}

std::optional<std::string> get_string(const json& obj, const char* key) {
  auto i = obj.find(key);
  if (i == obj.end() || !i->is_string())
    return std::nullopt;
  return i->get<std::string>();
}

std::optional<int64_t> get_int(const json& obj, const char* key) {
  auto i = obj.find(key);
  if (i == obj.end() || !i->is_number_integer())
    return std::nullopt;
  return i->get<int64_t>();
}

} // namespace

std::string_view event_type(const conversation_event& ev) noexcept {
  return std::visit(overload{
                      [](const conversation_opened&) { return std::string_view{"conversation.opened"}; },
                      [](const message_posted&) { return std::string_view{"message.posted"}; },
                    },
                    ev);
}

int16_t event_version(const conversation_event&) noexcept {
  return 1;
}

std::string encode_event(const conversation_event& ev) {
  json obj = std::visit(overload{
                          [](const conversation_opened& x) {
                            return json{{"type", "conversation.opened"},
                                        {"brand", x.brand.str()},
                                        {"creator", x.creator.str()},
                                        {"at", x.at}};
                          },
                          [](const message_posted& x) {
                            return json{{"type", "message.posted"},
                                        {"author", x.author.str()},
                                        {"client_id", x.client_id},
                                        {"text", x.text},
                                        {"at", x.at}};
                          },
                        },
                        ev);
  auto bytes = json::to_msgpack(obj);
  return std::string{bytes.begin(), bytes.end()};
}

expected<conversation_event, std::string> decode_event(std::string_view type, int16_t version,
                                                       std::string_view msgpack) {
  if (version != 1)
    return std::string{"unsupported version "} + std::to_string(version) + " of " + std::string{type};
  auto obj = json::from_msgpack(msgpack.begin(), msgpack.end(), true, false);
  if (obj.is_discarded() || !obj.is_object())
    return std::string{"payload is not a msgpack map"};
  if (type == "conversation.opened") {
    auto brand = get_uuid(obj, "brand");
    auto creator = get_uuid(obj, "creator");
    auto at = get_int(obj, "at");
    if (!brand || !creator || !at)
      return std::string{"conversation.opened: missing field"};
    return conversation_event{conversation_opened{*brand, *creator, *at}};
  }
  if (type == "message.posted") {
    auto author = get_uuid(obj, "author");
    auto client_id = get_string(obj, "client_id");
    auto text = get_string(obj, "text");
    auto at = get_int(obj, "at");
    if (!author || !client_id || !text || !at)
      return std::string{"message.posted: missing field"};
    return conversation_event{message_posted{*author, std::move(*client_id), std::move(*text), *at}};
  }
  return std::string{"unknown event type "} + std::string{type};
}

std::string event_to_json(std::string_view msgpack) {
  auto obj = json::from_msgpack(msgpack.begin(), msgpack.end(), true, false);
  if (obj.is_discarded())
    return "null";
  // Strings inside events were validated as UTF-8 when decided; `replace` only guards old data.
  return obj.dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace pactum::protocol
