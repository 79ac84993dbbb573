#include "pactum/protocol/events.hpp"

#include <optional>

#include <nlohmann/json.hpp>

#include "msgpack_json.hpp"
#include "msgpack_writer.hpp"
#include "pactum/common/overload.hpp"
#include "terms.hpp"
#include "utf8.hpp"

namespace pactum::protocol {

using json = nlohmann::json;

namespace {

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
                      [](const message_edited&) { return std::string_view{"message.edited"}; },
                      [](const message_deleted&) { return std::string_view{"message.deleted"}; },
                      [](const read_marked&) { return std::string_view{"read.marked"}; },
                      [](const offer_made&) { return std::string_view{"offer.made"}; },
                      [](const offer_withdrawn&) { return std::string_view{"offer.withdrawn"}; },
                      [](const offer_declined&) { return std::string_view{"offer.declined"}; },
                      [](const offer_accepted&) { return std::string_view{"offer.accepted"}; },
                      [](const offer_expired&) { return std::string_view{"offer.expired"}; },
                      [](const dispute_changed& x) {
                        return std::string_view{x.open ? "dispute.opened" : "dispute.closed"};
                      },
                      [](const moderator_joined&) { return std::string_view{"moderator.joined"}; },
                      [](const room_opened&) { return std::string_view{"room.opened"}; },
                      [](const member_joined&) { return std::string_view{"member.joined"}; },
                    },
                    ev);
}

int16_t event_version(const conversation_event& ev) noexcept {
  return std::holds_alternative<message_posted>(ev) ? 2 : 1;
}

/// message.posted without attachments, written straight to msgpack: the same bytes the JSON DOM
/// below gives (nlohmann writes an object's keys sorted, integers and strings in their smallest
/// form), without its dozens of allocations on the hot path (every chat message).
static std::optional<std::string> encode_message_posted_fast(const message_posted& x) {
  if (!x.attachments.empty() || x.at < 0 || x.reply_to < 0)
    return std::nullopt;
  std::string out;
  out.reserve(x.text.size() + x.client_id.size() + 96);
  detail::mp_map(out, x.reply_to > 0 ? 6 : 5);
  detail::mp_str(out, "at");
  detail::mp_uint(out, static_cast<uint64_t>(x.at));
  detail::mp_str(out, "author");
  detail::mp_str(out, x.author.str());
  detail::mp_str(out, "client_id");
  detail::mp_str(out, x.client_id);
  if (x.reply_to > 0) {
    detail::mp_str(out, "reply_to");
    detail::mp_uint(out, static_cast<uint64_t>(x.reply_to));
  }
  detail::mp_str(out, "text");
  detail::mp_str(out, x.text);
  detail::mp_str(out, "type");
  detail::mp_str(out, "message.posted");
  return out;
}

std::string encode_event(const conversation_event& ev) {
  if (auto* posted = std::get_if<message_posted>(&ev))
    if (auto fast = encode_message_posted_fast(*posted))
      return std::move(*fast);
  json obj = std::visit(overload{
                          [](const conversation_opened& x) {
                            return json{{"type", "conversation.opened"},
                                        {"brand", x.brand.str()},
                                        {"creator", x.creator.str()},
                                        {"at", x.at}};
                          },
                          [](const message_posted& x) {
                            json obj{{"type", "message.posted"},
                                     {"author", x.author.str()},
                                     {"client_id", x.client_id},
                                     {"text", x.text},
                                     {"at", x.at}};
                            if (x.reply_to > 0)
                              obj["reply_to"] = x.reply_to;
                            if (!x.attachments.empty()) {
                              auto list = json::array();
                              for (auto& a : x.attachments) {
                                json item{{"url", a.url}, {"type", a.type}, {"size", a.size}};
                                if (a.width > 0)
                                  item["width"] = a.width;
                                if (a.height > 0)
                                  item["height"] = a.height;
                                list.push_back(std::move(item));
                              }
                              obj["attachments"] = std::move(list);
                            }
                            return obj;
                          },
                          [](const message_edited& x) {
                            return json{{"type", "message.edited"},
                                        {"target", x.target},
                                        {"by", x.by.str()},
                                        {"text", x.text},
                                        {"at", x.at}};
                          },
                          [](const message_deleted& x) {
                            return json{{"type", "message.deleted"},
                                        {"target", x.target},
                                        {"by", x.by.str()},
                                        {"at", x.at}};
                          },
                          [](const read_marked& x) {
                            return json{{"type", "read.marked"},
                                        {"member", x.member.str()},
                                        {"seq", x.seq},
                                        {"at", x.at}};
                          },
                          [](const offer_made& x) {
                            json obj{{"type", "offer.made"},
                                     {"by", x.by.str()},
                                     {"client_id", x.client_id},
                                     {"terms", detail::terms_to_json(x.terms)},
                                     {"expires_at", x.expires_at},
                                     {"at", x.at}};
                            if (x.counter_to > 0)
                              obj["counter_to"] = x.counter_to;
                            return obj;
                          },
                          [](const offer_withdrawn& x) {
                            return json{{"type", "offer.withdrawn"},
                                        {"offer", x.offer},
                                        {"by", x.by.str()},
                                        {"at", x.at}};
                          },
                          [](const offer_declined& x) {
                            json obj{{"type", "offer.declined"},
                                     {"offer", x.offer},
                                     {"by", x.by.str()},
                                     {"at", x.at}};
                            if (!x.reason.empty())
                              obj["reason"] = x.reason;
                            return obj;
                          },
                          [](const offer_accepted& x) {
                            return json{{"type", "offer.accepted"},
                                        {"offer", x.offer},
                                        {"by", x.by.str()},
                                        {"contract", x.contract.str()},
                                        {"at", x.at}};
                          },
                          [](const offer_expired& x) {
                            return json{{"type", "offer.expired"}, {"offer", x.offer}, {"at", x.at}};
                          },
                          [](const dispute_changed& x) {
                            return json{{"type", x.open ? "dispute.opened" : "dispute.closed"},
                                        {"contract", x.contract.str()},
                                        {"at", x.at}};
                          },
                          [](const moderator_joined& x) {
                            return json{{"type", "moderator.joined"}, {"moderator", x.moderator.str()}, {"at", x.at}};
                          },
                          [](const room_opened& x) {
                            return json{{"type", "room.opened"},
                                        {"campaign", x.campaign.str()},
                                        {"brand", x.brand.str()},
                                        {"at", x.at}};
                          },
                          [](const member_joined& x) {
                            return json{{"type", "member.joined"}, {"member", x.member.str()}, {"at", x.at}};
                          },
                        },
                        ev);
  auto bytes = json::to_msgpack(obj);
  return std::string{bytes.begin(), bytes.end()};
}

expected<conversation_event, std::string> decode_event(std::string_view type, int16_t version,
                                                       std::string_view msgpack) {
  int16_t newest = type == "message.posted" ? 2 : 1;
  if (version < 1 || version > newest)
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
    message_posted m{*author, std::move(*client_id), std::move(*text), *at};
    if (version >= 2) { // v1 had no replies or attachments
      m.reply_to = get_int(obj, "reply_to").value_or(0);
      if (auto i = obj.find("attachments"); i != obj.end() && i->is_array()) {
        for (auto& item : *i) {
          if (!item.is_object())
            return std::string{"message.posted: malformed attachment"};
          attachment a;
          a.url = get_string(item, "url").value_or("");
          a.type = get_string(item, "type").value_or("");
          a.size = get_int(item, "size").value_or(0);
          a.width = get_int(item, "width").value_or(0);
          a.height = get_int(item, "height").value_or(0);
          m.attachments.push_back(std::move(a));
        }
      }
    }
    return conversation_event{std::move(m)};
  }
  if (type == "read.marked") {
    auto member = get_uuid(obj, "member");
    auto seq = get_int(obj, "seq");
    auto at = get_int(obj, "at");
    if (!member || !seq || !at)
      return std::string{"read.marked: missing field"};
    return conversation_event{read_marked{*member, *seq, *at}};
  }
  if (type == "offer.made") {
    auto by = get_uuid(obj, "by");
    auto client_id = get_string(obj, "client_id");
    auto expires_at = get_int(obj, "expires_at");
    auto at = get_int(obj, "at");
    auto t = obj.find("terms");
    if (!by || !client_id || !expires_at || !at || t == obj.end())
      return std::string{"offer.made: missing field"};
    auto terms = detail::terms_from_json(*t, "terms");
    if (!terms)
      return "offer.made: " + terms.error();
    return conversation_event{offer_made{*by, std::move(*client_id), std::move(terms.value()),
                                         get_int(obj, "counter_to").value_or(0), *expires_at, *at}};
  }
  if (type == "offer.withdrawn" || type == "offer.declined" || type == "offer.accepted") {
    auto offer = get_int(obj, "offer");
    auto by = get_uuid(obj, "by");
    auto at = get_int(obj, "at");
    if (!offer || !by || !at)
      return std::string{type} + ": missing field";
    if (type == "offer.withdrawn")
      return conversation_event{offer_withdrawn{*offer, *by, *at}};
    if (type == "offer.declined")
      return conversation_event{offer_declined{*offer, *by, get_string(obj, "reason").value_or(""), *at}};
    auto contract = get_uuid(obj, "contract");
    if (!contract)
      return std::string{"offer.accepted: missing field"};
    return conversation_event{offer_accepted{*offer, *by, *contract, *at}};
  }
  if (type == "dispute.opened" || type == "dispute.closed") {
    auto contract = get_uuid(obj, "contract");
    auto at = get_int(obj, "at");
    if (!contract || !at)
      return std::string{type} + ": missing field";
    return conversation_event{dispute_changed{*contract, type == "dispute.opened", *at}};
  }
  if (type == "moderator.joined") {
    auto moderator = get_uuid(obj, "moderator");
    auto at = get_int(obj, "at");
    if (!moderator || !at)
      return std::string{"moderator.joined: missing field"};
    return conversation_event{moderator_joined{*moderator, *at}};
  }
  if (type == "room.opened") {
    auto campaign = get_uuid(obj, "campaign");
    auto brand = get_uuid(obj, "brand");
    auto at = get_int(obj, "at");
    if (!campaign || !brand || !at)
      return std::string{"room.opened: missing field"};
    return conversation_event{room_opened{*campaign, *brand, *at}};
  }
  if (type == "member.joined") {
    auto member = get_uuid(obj, "member");
    auto at = get_int(obj, "at");
    if (!member || !at)
      return std::string{"member.joined: missing field"};
    return conversation_event{member_joined{*member, *at}};
  }
  if (type == "offer.expired") {
    auto offer = get_int(obj, "offer");
    auto at = get_int(obj, "at");
    if (!offer || !at)
      return std::string{"offer.expired: missing field"};
    return conversation_event{offer_expired{*offer, *at}};
  }
  if (type == "message.edited" || type == "message.deleted") {
    auto target = get_int(obj, "target");
    auto by = get_uuid(obj, "by");
    auto at = get_int(obj, "at");
    if (!target || !by || !at)
      return std::string{type} + ": missing field";
    if (type == "message.deleted")
      return conversation_event{message_deleted{*target, *by, *at}};
    auto text = get_string(obj, "text");
    if (!text)
      return std::string{"message.edited: missing field"};
    return conversation_event{message_edited{*target, *by, std::move(*text), *at}};
  }
  return std::string{"unknown event type "} + std::string{type};
}

std::string encode_terms(const offer_terms& t) {
  auto bytes = json::to_msgpack(detail::terms_to_json(t));
  return std::string{bytes.begin(), bytes.end()};
}

expected<offer_terms, std::string> decode_terms(std::string_view msgpack) {
  auto obj = json::from_msgpack(msgpack.begin(), msgpack.end(), true, false);
  if (obj.is_discarded())
    return std::string{"terms: not msgpack"};
  return detail::terms_from_json(obj, "terms");
}

std::string event_to_json(std::string_view msgpack) {
  std::string fast;
  fast.reserve(msgpack.size() + msgpack.size() / 4 + 16);
  if (detail::msgpack_to_json(msgpack, fast)) // the same text as below, without the DOM
    return fast;
  auto obj = json::from_msgpack(msgpack.begin(), msgpack.end(), true, false);
  if (obj.is_discarded())
    return "null";
  // Strings inside events were validated as UTF-8 when decided; `replace` only guards old data.
  return obj.dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace pactum::protocol
