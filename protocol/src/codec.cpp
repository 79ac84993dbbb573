#include "pactum/protocol/codec.hpp"

#include <nlohmann/json.hpp>

#include "pactum/common/overload.hpp"
#include "chat_send_decode.hpp"
#include "msgpack_writer.hpp"
#include "terms.hpp"
#include "pactum/protocol/events.hpp"
#include "utf8.hpp"

namespace pactum::protocol {

using json = nlohmann::json;

namespace {

/// Builds a DOM like nlohmann's own parser, but refuses nesting deeper than `max_depth` before
/// the recursive msgpack reader can descend (a 64 KiB frame of 0x91 bytes would otherwise recurse
/// 65,536 levels), refuses msgpack binary/ext values, and checks that msgpack strings are UTF-8
/// (nlohmann checks that only for JSON text).
class guarded_sax {
public:
  guarded_sax(json& root, uint32_t max_depth, bool check_utf8)
    : inner_(root, false), max_depth_(max_depth), check_utf8_(check_utf8) {}

  bool null() { return inner_.null(); }
  bool boolean(bool x) { return inner_.boolean(x); }
  bool number_integer(json::number_integer_t x) { return inner_.number_integer(x); }
  bool number_unsigned(json::number_unsigned_t x) { return inner_.number_unsigned(x); }
  bool number_float(json::number_float_t x, const json::string_t& s) {
    return inner_.number_float(x, s);
  }
  bool string(json::string_t& x) {
    if (check_utf8_ && !detail::utf8_length(x))
      return fail("a string is not valid UTF-8");
    return inner_.string(x);
  }
  bool binary(json::binary_t&) { return fail("binary values are not accepted"); }
  bool start_object(std::size_t n) {
    if (++depth_ > max_depth_)
      return fail("nested too deeply");
    return inner_.start_object(n);
  }
  bool key(json::string_t& x) {
    if (check_utf8_ && !detail::utf8_length(x))
      return fail("a key is not valid UTF-8");
    return inner_.key(x);
  }
  bool end_object() {
    --depth_;
    return inner_.end_object();
  }
  bool start_array(std::size_t n) {
    if (++depth_ > max_depth_)
      return fail("nested too deeply");
    return inner_.start_array(n);
  }
  bool end_array() {
    --depth_;
    return inner_.end_array();
  }
  bool parse_error(std::size_t pos, const std::string& token, const nlohmann::detail::exception& ex) {
    if (reason_.empty())
      reason_ = ex.what();
    return inner_.parse_error(pos, token, ex);
  }

  const std::string& reason() const { return reason_; }
  bool failed() const { return !reason_.empty() || inner_.is_errored(); }

private:
  bool fail(const char* why) {
    if (reason_.empty())
      reason_ = why;
    return false;
  }

  nlohmann::detail::json_sax_dom_parser<json> inner_;
  uint32_t max_depth_;
  uint32_t depth_ = 0;
  bool check_utf8_;
  std::string reason_;
};

struct field_error {
  error_code code;
  std::string message;
};

/// Typed field access with messages a client author can act on.
class fields {
public:
  explicit fields(const json& obj) : obj_(obj) {}

  const json* find(const char* key) const {
    auto i = obj_.find(key);
    return i == obj_.end() ? nullptr : &*i;
  }

  expected<uuid, field_error> uuid_field(const char* key) const {
    auto v = find(key);
    if (!v)
      return missing(key);
    if (v->is_string())
      if (auto id = uuid::parse(v->get_ref<const std::string&>()))
        return *id;
    return field_error{error_code::bad_request,
                       std::string{"field '"} + key + "' must be a UUID string"};
  }

  /// A string of 1..max bytes (or code points, when `chars`).
  expected<std::string, field_error> string_field(const char* key, uint32_t max, bool chars) const {
    auto v = find(key);
    if (!v)
      return missing(key);
    if (!v->is_string())
      return field_error{error_code::bad_request, std::string{"field '"} + key + "' must be a string"};
    auto& s = v->get_ref<const std::string&>();
    size_t len = s.size();
    if (chars) {
      auto n = detail::utf8_length(s);
      if (!n)
        return field_error{error_code::bad_request,
                           std::string{"field '"} + key + "' is not valid UTF-8"};
      len = *n;
    }
    if (len == 0)
      return field_error{error_code::bad_request, std::string{"field '"} + key + "' must not be empty"};
    if (len > max)
      return field_error{error_code::too_large, std::string{"field '"} + key + "' is longer than "
                                                  + std::to_string(max)
                                                  + (chars ? " characters" : " bytes")};
    return s;
  }

  /// An optional integer in [lo, hi]; `fallback` when absent.
  expected<int64_t, field_error> int_field(const char* key, int64_t lo, int64_t hi,
                                           int64_t fallback) const {
    auto v = find(key);
    if (!v || v->is_null())
      return fallback;
    if (!v->is_number_integer())
      return field_error{error_code::bad_request,
                         std::string{"field '"} + key + "' must be an integer"};
    if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(hi))
      return out_of_range(key, lo, hi);
    auto x = v->get<int64_t>();
    if (x < lo || x > hi)
      return out_of_range(key, lo, hi);
    return x;
  }

  /// An optional array of media references (see protocol::attachment).
  expected<std::vector<attachment>, field_error> attachments_field(const char* key,
                                                                   const limits& lim) const {
    std::vector<attachment> out;
    auto v = find(key);
    if (!v || v->is_null())
      return out;
    auto bad = [&](const std::string& why) {
      return field_error{error_code::bad_request, std::string{"field '"} + key + "' " + why};
    };
    if (!v->is_array())
      return bad("must be an array of attachments");
    if (v->size() > lim.max_attachments)
      return field_error{error_code::too_large, std::string{"field '"} + key + "' holds more than "
                                                  + std::to_string(lim.max_attachments)
                                                  + " attachments"};
    for (auto& item : *v) {
      if (!item.is_object())
        return bad("must hold objects with url, type and size");
      fields f{item};
      auto url = f.string_field("url", lim.max_url_bytes, false);
      if (!url)
        return bad("has an attachment whose " + url.error().message.substr(6));
      if (url->rfind("https://", 0) != 0 && url->rfind("http://", 0) != 0)
        return bad("has an attachment whose url is not http(s)");
      auto type = f.string_field("type", 100, false);
      if (!type || type->find('/') == std::string::npos)
        return bad("has an attachment whose type is not a MIME type like image/jpeg");
      auto size = f.int_field("size", 0, int64_t{1} << 40, -1);
      auto width = f.int_field("width", 0, 100'000, 0);
      auto height = f.int_field("height", 0, 100'000, 0);
      if (!size || size.value() < 0 || !width || !height)
        return bad("has an attachment with a missing or out-of-range size, width or height");
      out.push_back({std::move(url.value()), std::move(type.value()), size.value(), width.value(),
                     height.value()});
    }
    return out;
  }

private:
  static field_error missing(const char* key) {
    return {error_code::bad_request, std::string{"field '"} + key + "' is required"};
  }
  static field_error out_of_range(const char* key, int64_t lo, int64_t hi) {
    return {error_code::bad_request, std::string{"field '"} + key + "' must be between "
                                       + std::to_string(lo) + " and " + std::to_string(hi)};
  }

  const json& obj_;
};

constexpr int64_t max_seq = int64_t{1} << 53; // exact in a JavaScript number

#define PACTUM_TRY_FIELD(var, expr)                                                          \
  auto var##_result = (expr);                                                                \
  if (!var##_result)                                                                         \
    return decode_error{var##_result.error().code, var##_result.error().message, id};         \
  auto var = std::move(var##_result.value());

/// The fields of a contract command (everything but `contract`), validated for shape and size;
/// the contract entity checks the rest (who may, in which state).
expected<contract_command_req, decode_error> contract_command_fields(
  const uuid& contract, contract_action action, const fields& f, const std::optional<request_id>& id) {
  constexpr uint32_t max_key = 128, max_method = 256, max_items = 20, max_url = 2048,
                     max_item_note = 2000, max_note = 4000, max_reason = 2000;
  auto fail = [&](const field_error& e) { return decode_error{e.code, e.message, id}; };
  contract_command_req req{contract, action, {}};
  auto key = f.string_field("key", max_key, false);
  if (!key)
    return fail(key.error());
  req.key = std::move(*key);
  switch (action) {
    case contract_action::fund: {
      auto pm = f.string_field("payment_method", max_method, false);
      if (!pm)
        return fail(pm.error());
      req.payment_method = std::move(*pm);
      break;
    }
    case contract_action::deliver: {
      auto v = f.find("items");
      if (!v || !v->is_array() || v->empty())
        return decode_error{error_code::bad_request,
                            "field 'items' is required: an array of {url, note}", id};
      if (v->size() > max_items)
        return decode_error{error_code::too_large,
                            "field 'items' holds more than " + std::to_string(max_items) + " items",
                            id};
      for (auto& item : *v) {
        if (!item.is_object())
          return decode_error{error_code::bad_request, "field 'items' must hold objects", id};
        fields fi{item};
        auto url = fi.string_field("url", max_url, false);
        if (!url)
          return decode_error{url.error().code, "an item's " + url.error().message.substr(6), id};
        if (url->rfind("https://", 0) != 0 && url->rfind("http://", 0) != 0)
          return decode_error{error_code::bad_request, "an item's url must be http(s)", id};
        std::string note;
        if (fi.find("note")) {
          auto n = fi.string_field("note", max_item_note, true);
          if (!n && n.error().message.find("empty") == std::string::npos)
            return decode_error{n.error().code, "an item's " + n.error().message.substr(6), id};
          if (n)
            note = std::move(*n);
        }
        req.items.push_back({std::move(*url), std::move(note)});
      }
      if (f.find("note")) {
        auto n = f.string_field("note", max_note, true);
        if (!n && n.error().message.find("empty") == std::string::npos)
          return fail(n.error());
        if (n)
          req.note = std::move(*n);
      }
      break;
    }
    case contract_action::request_revision:
    case contract_action::dispute: {
      if (action == contract_action::request_revision && !f.find("reason"))
        break; // optional for a revision request
      auto r = f.string_field("reason", max_reason, true);
      if (!r)
        return fail(r.error());
      req.reason = std::move(*r);
      break;
    }
    case contract_action::resolve: {
      auto v = f.find("to_creator");
      if (!v)
        return decode_error{error_code::bad_request, "field 'to_creator' is required", id};
      auto x = f.int_field("to_creator", 0, max_seq, 0);
      if (!x)
        return fail(x.error());
      req.to_creator = *x;
      break;
    }
    case contract_action::approve:
    case contract_action::cancel:
      break;
  }
  return req;
}

expected<request_body, decode_error> decode_body(std::string_view type, const fields& f,
                                                 const request_id& id, const limits& lim) {
  if (type == "pledge.subscribe" || type == "pledge.unsubscribe") {
    PACTUM_TRY_FIELD(campaign, f.uuid_field("campaign"));
    return request_body{pledge_subscribe_req{campaign, type == "pledge.unsubscribe"}};
  }
  if (type == "campaign.subscribe" || type == "campaign.unsubscribe") {
    PACTUM_TRY_FIELD(campaign, f.uuid_field("campaign"));
    return request_body{campaign_subscribe_req{campaign, type == "campaign.unsubscribe"}};
  }
  if (type == "campaign.room") {
    PACTUM_TRY_FIELD(campaign, f.uuid_field("campaign"));
    return request_body{campaign_room_req{campaign}};
  }
  if (type == "leaderboard.subscribe" || type == "leaderboard.unsubscribe") {
    PACTUM_TRY_FIELD(locality, f.string_field("locality", 200, true));
    return request_body{leaderboard_subscribe_req{std::move(locality), type == "leaderboard.unsubscribe"}};
  }
  if (type == "analytics.subscribe" || type == "analytics.unsubscribe") {
    PACTUM_TRY_FIELD(campaign, f.uuid_field("campaign"));
    return request_body{analytics_subscribe_req{campaign, type == "analytics.unsubscribe"}};
  }
  if (type.rfind("notifications.", 0) == 0) {
    notifications_req r;
    if (type == "notifications.list") {
      PACTUM_TRY_FIELD(before, f.int_field("before", 0, max_seq, 0));
      PACTUM_TRY_FIELD(limit, f.int_field("limit", 1, 100, 50));
      auto unread = f.find("unread_only");
      if (unread && !unread->is_null() && !unread->is_boolean())
        return decode_error{error_code::bad_request, "field 'unread_only' must be a boolean", id};
      r.what = notifications_req::op::list;
      r.before = before;
      r.limit = static_cast<uint32_t>(limit);
      r.unread_only = unread && unread->is_boolean() && unread->get<bool>();
      return request_body{std::move(r)};
    }
    if (type == "notifications.read") {
      PACTUM_TRY_FIELD(up_to, f.int_field("up_to", 0, max_seq, 0));
      r.what = notifications_req::op::read;
      r.up_to = up_to;
      if (auto ids = f.find("ids"); ids && !ids->is_null()) {
        if (!ids->is_array() || ids->size() > 1000)
          return decode_error{error_code::bad_request, "field 'ids' must be an array of at most 1000 ids", id};
        for (auto& x : *ids) {
          if (!x.is_number_integer() || x.get<int64_t>() <= 0)
            return decode_error{error_code::bad_request, "field 'ids' must hold positive integers", id};
          r.ids.push_back(x.get<int64_t>());
        }
      }
      if (r.ids.empty() && r.up_to == 0)
        return decode_error{error_code::bad_request, "give 'ids' or 'up_to'", id};
      return request_body{std::move(r)};
    }
    if (type == "notifications.prefs.get") {
      r.what = notifications_req::op::prefs_get;
      return request_body{std::move(r)};
    }
    if (type == "notifications.prefs.set") {
      r.what = notifications_req::op::prefs_set;
      auto muted = f.find("muted");
      if (!muted || !muted->is_array() || muted->size() > 64)
        return decode_error{error_code::bad_request, "field 'muted' must be an array of notification types", id};
      for (auto& x : *muted) {
        if (!x.is_string() || x.get_ref<const std::string&>().empty() || x.get_ref<const std::string&>().size() > 64)
          return decode_error{error_code::bad_request, "field 'muted' must hold notification type strings", id};
        r.muted.push_back(x.get<std::string>());
      }
      return request_body{std::move(r)};
    }
  }
  if (type.rfind("contract.", 0) == 0) {
    auto name = type.substr(9);
    if (name == "get") {
      PACTUM_TRY_FIELD(contract, f.uuid_field("contract"));
      PACTUM_TRY_FIELD(after, f.int_field("after", 0, max_seq, 0));
      return request_body{contract_get_req{contract, after}};
    }
    if (auto action = contract_action_from_string(name)) {
      PACTUM_TRY_FIELD(contract, f.uuid_field("contract"));
      auto req = contract_command_fields(contract, *action, f, id);
      if (!req)
        return req.error();
      return request_body{std::move(*req)};
    }
  }
  if (type == "ping")
    return request_body{ping_req{}};
  if (type == "conversation.open") {
    PACTUM_TRY_FIELD(with, f.uuid_field("with"));
    return request_body{conversation_open_req{with}};
  }
  if (type == "conversation.join") {
    PACTUM_TRY_FIELD(conversation, f.uuid_field("conversation"));
    return request_body{conversation_join_req{conversation}};
  }
  if (type == "conversation.list") {
    PACTUM_TRY_FIELD(limit, f.int_field("limit", 1, lim.max_history_page, 50));
    return request_body{conversation_list_req{static_cast<uint32_t>(limit)}};
  }
  if (type == "message.send") {
    PACTUM_TRY_FIELD(conversation, f.uuid_field("conversation"));
    PACTUM_TRY_FIELD(client_id, f.string_field("client_id", lim.max_client_id_bytes, false));
    PACTUM_TRY_FIELD(text, f.string_field("text", lim.max_text_chars, true));
    PACTUM_TRY_FIELD(reply_to, f.int_field("reply_to", 0, max_seq, 0));
    PACTUM_TRY_FIELD(attachments, f.attachments_field("attachments", lim));
    return request_body{message_send_req{conversation, std::move(client_id), std::move(text),
                                         reply_to, std::move(attachments)}};
  }
  if (type == "message.edit") {
    PACTUM_TRY_FIELD(conversation, f.uuid_field("conversation"));
    PACTUM_TRY_FIELD(seq, f.int_field("seq", 1, max_seq, 0));
    if (seq == 0)
      return decode_error{error_code::bad_request, "field 'seq' is required", id};
    PACTUM_TRY_FIELD(text, f.string_field("text", lim.max_text_chars, true));
    return request_body{message_edit_req{conversation, seq, std::move(text)}};
  }
  if (type == "message.delete") {
    PACTUM_TRY_FIELD(conversation, f.uuid_field("conversation"));
    PACTUM_TRY_FIELD(seq, f.int_field("seq", 1, max_seq, 0));
    if (seq == 0)
      return decode_error{error_code::bad_request, "field 'seq' is required", id};
    return request_body{message_delete_req{conversation, seq}};
  }
  if (type == "read") {
    PACTUM_TRY_FIELD(conversation, f.uuid_field("conversation"));
    PACTUM_TRY_FIELD(seq, f.int_field("seq", 1, max_seq, 0));
    if (seq == 0)
      return decode_error{error_code::bad_request, "field 'seq' is required", id};
    return request_body{read_req{conversation, seq}};
  }
  if (type == "offer.make") {
    PACTUM_TRY_FIELD(conversation, f.uuid_field("conversation"));
    PACTUM_TRY_FIELD(client_id, f.string_field("client_id", lim.max_client_id_bytes, false));
    PACTUM_TRY_FIELD(counter_to, f.int_field("counter_to", 0, max_seq, 0));
    PACTUM_TRY_FIELD(expires_in, f.int_field("expires_in", 1, lim.max_offer_ttl_s, 0));
    auto t = f.find("terms");
    if (!t)
      return decode_error{error_code::bad_request, "field 'terms' is required", id};
    auto terms = detail::terms_from_json(*t, "terms");
    if (!terms)
      return decode_error{error_code::bad_request, "field " + terms.error(), id};
    return request_body{offer_make_req{conversation, std::move(client_id),
                                       std::move(terms.value()), counter_to, expires_in}};
  }
  if (type == "offer.accept" || type == "offer.decline" || type == "offer.withdraw") {
    PACTUM_TRY_FIELD(conversation, f.uuid_field("conversation"));
    PACTUM_TRY_FIELD(offer, f.int_field("offer", 1, max_seq, 0));
    if (offer == 0)
      return decode_error{error_code::bad_request, "field 'offer' is required", id};
    offer_answer_req req{conversation, offer, offer_action::accept};
    if (type == "offer.decline") {
      req.action = offer_action::decline;
      if (f.find("reason")) {
        PACTUM_TRY_FIELD(reason, f.string_field("reason", detail::max_reason_chars, true));
        req.reason = std::move(reason);
      }
    } else if (type == "offer.withdraw") {
      req.action = offer_action::withdraw;
    }
    return request_body{std::move(req)};
  }
  if (type == "delivered") {
    PACTUM_TRY_FIELD(conversation, f.uuid_field("conversation"));
    PACTUM_TRY_FIELD(seq, f.int_field("seq", 1, max_seq, 0));
    if (seq == 0)
      return decode_error{error_code::bad_request, "field 'seq' is required", id};
    return request_body{delivered_req{conversation, seq}};
  }
  if (type == "typing") {
    PACTUM_TRY_FIELD(conversation, f.uuid_field("conversation"));
    return request_body{typing_req{conversation}};
  }
  if (type == "subscribe") {
    PACTUM_TRY_FIELD(conversation, f.uuid_field("conversation"));
    PACTUM_TRY_FIELD(after, f.int_field("after", 0, max_seq, 0));
    return request_body{subscribe_req{conversation, after}};
  }
  if (type == "unsubscribe") {
    PACTUM_TRY_FIELD(conversation, f.uuid_field("conversation"));
    return request_body{unsubscribe_req{conversation}};
  }
  if (type == "history") {
    PACTUM_TRY_FIELD(conversation, f.uuid_field("conversation"));
    PACTUM_TRY_FIELD(before, f.int_field("before", 0, max_seq, 0));
    PACTUM_TRY_FIELD(after, f.int_field("after", 0, max_seq, 0));
    PACTUM_TRY_FIELD(limit, f.int_field("limit", 1, lim.max_history_page, 50));
    if (before != 0 && after >= before)
      return decode_error{error_code::bad_request, "'after' must be below 'before'", id};
    return request_body{history_req{conversation, before, after, static_cast<uint32_t>(limit)}};
  }
  return decode_error{error_code::unknown_type,
                      "unknown request type '" + std::string{type} + "'", id};
}

#undef PACTUM_TRY_FIELD

json id_to_json(const request_id& id) {
  return std::visit([](const auto& x) { return json(x); }, id.value);
}

std::string serialize(const json& obj, encoding enc) {
  if (enc == encoding::json)
    return obj.dump(-1, ' ', false, json::error_handler_t::replace);
  auto bytes = json::to_msgpack(obj);
  return std::string{bytes.begin(), bytes.end()};
}

json info_to_json(const conversation_info& c) {
  return json{{"id", c.id.str()},
              {"brand", c.brand.str()},
              {"creator", c.creator.str()},
              {"created_at", c.created_at},
              {"head", c.head}};
}

json event_json(const std::string& msgpack) {
  auto obj = json::from_msgpack(msgpack.begin(), msgpack.end(), true, false);
  return obj.is_discarded() ? json(nullptr) : obj;
}

} // namespace

expected<request, decode_error> decode_request(std::string_view frame, encoding enc,
                                               const limits& lim) {
  if (auto fast = detail::decode_chat_send_fast(frame, enc, lim))
    return std::move(*fast);
  return detail::decode_request_dom(frame, enc, lim);
}

expected<request, decode_error> detail::decode_request_dom(std::string_view frame, encoding enc,
                                                           const limits& lim) {
  json root;
  guarded_sax sax{root, lim.max_depth, enc == encoding::msgpack};
  bool ok = false;
  try {
    ok = json::sax_parse(frame.begin(), frame.end(), &sax,
                         enc == encoding::json ? json::input_format_t::json
                                               : json::input_format_t::msgpack,
                         true);
  } catch (const std::exception& ex) { // defensive: the reader reports through the SAX
    return decode_error{error_code::bad_frame, ex.what(), std::nullopt};
  }
  if (!ok || sax.failed())
    return decode_error{error_code::bad_frame,
                        sax.reason().empty() ? "malformed frame" : sax.reason(), std::nullopt};
  if (!root.is_object())
    return decode_error{error_code::bad_frame, "a frame must be an object", std::nullopt};
  std::optional<request_id> id;
  if (auto i = root.find("id"); i != root.end()) {
    if (i->is_number_integer() && !(i->is_number_unsigned() && i->get<uint64_t>() > INT64_MAX))
      id = request_id{i->get<int64_t>()};
    else if (i->is_string() && !i->get_ref<const std::string&>().empty()
             && i->get_ref<const std::string&>().size() <= 64)
      id = request_id{i->get<std::string>()};
  }
  if (!id)
    return decode_error{error_code::bad_request,
                        "field 'id' is required: a string of 1..64 bytes or an integer",
                        std::nullopt};
  auto t = root.find("type");
  if (t == root.end() || !t->is_string())
    return decode_error{error_code::bad_request, "field 'type' is required and must be a string",
                        id};
  fields f{root};
  auto body = decode_body(t->get_ref<const std::string&>(), f, *id, lim);
  if (!body)
    return body.error();
  return request{std::move(*id), std::move(body.value())};
}

std::string encode_ok(const request_id& re, const reply_body& body, encoding enc) {
  json obj{{"type", "ok"}, {"re", id_to_json(re)}};
  std::visit(overload{
               [&](const pong_reply& x) { obj["time"] = x.time; },
               [&](const conversation_open_reply& x) {
                 obj["conversation"] = info_to_json(x.conversation);
                 obj["created"] = x.created;
               },
               [&](const conversation_list_reply& x) {
                 auto list = json::array();
                 for (auto& c : x.conversations)
                   list.push_back(info_to_json(c));
                 obj["conversations"] = std::move(list);
               },
               [&](const message_ack_reply& x) {
                 obj["conversation"] = x.conversation.str();
                 obj["seq"] = x.seq;
                 obj["at"] = x.at;
                 obj["duplicate"] = x.duplicate;
                 if (!x.contract.is_nil())
                   obj["contract"] = x.contract.str();
               },
               [&](const subscribe_reply& x) {
                 obj["stream"] = conversation_stream(x.conversation);
                 obj["head"] = x.head;
                 auto reads = json::object();
                 for (auto& [member, seq] : x.read_marks)
                   reads[member.str()] = seq;
                 obj["read"] = std::move(reads);
                 auto delivered = json::object();
                 for (auto& [member, seq] : x.delivered_marks)
                   delivered[member.str()] = seq;
                 obj["delivered"] = std::move(delivered);
                 obj["unread"] = x.unread;
               },
               [&](const unsubscribe_reply& x) { obj["stream"] = conversation_stream(x.conversation); },
               [&](const typing_reply& x) { obj["sent"] = x.sent; },
               [&](const delivered_reply& x) { obj["moved"] = x.moved; },
               [&](const contract_ack_reply& x) {
                 obj["contract"] = x.contract.str();
                 obj["seq"] = x.seq;
                 obj["at"] = x.at;
                 obj["duplicate"] = x.duplicate;
                 obj["status"] = x.status;
               },
               [&](const pledge_reply& x) {
                 auto v = json::parse(x.view_json, nullptr, false);
                 obj["pledge"] = v.is_discarded() ? json::object() : std::move(v);
               },
               [&](const campaign_reply& x) {
                 auto v = json::parse(x.view_json, nullptr, false);
                 obj["campaign"] = v.is_discarded() ? json::object() : std::move(v);
               },
               [&](const leaderboard_reply& x) {
                 auto v = json::parse(x.view_json, nullptr, false);
                 obj["leaderboard"] = v.is_discarded() ? json::object() : std::move(v);
               },
               [&](const analytics_reply& x) {
                 auto v = json::parse(x.view_json, nullptr, false);
                 obj["analytics"] = v.is_discarded() ? json::object() : std::move(v);
               },
               [&](const notifications_reply& x) {
                 auto v = json::parse(x.json, nullptr, false);
                 if (v.is_object())
                   for (auto& [k, item] : v.items())
                     obj[k] = item;
               },
               [&](const campaign_room_reply& x) {
                 obj["conversation"] = x.conversation.str();
                 obj["campaign"] = x.campaign.str();
                 obj["seq"] = x.seq;
                 obj["joined"] = x.joined;
               },
               [&](const contract_reply& x) {
                 obj["contract"] = event_json(x.view);
                 auto list = json::array();
                 for (auto& item : x.events)
                   list.push_back(json{{"seq", item.seq}, {"event", event_json(item.event)}});
                 obj["events"] = std::move(list);
               },
               [&](const history_reply& x) {
                 obj["conversation"] = x.conversation.str();
                 auto list = json::array();
                 for (auto& item : x.events)
                   list.push_back(json{{"seq", item.seq}, {"event", event_json(item.event)}});
                 obj["events"] = std::move(list);
                 obj["more"] = x.more;
               },
             },
             body);
  return serialize(obj, enc);
}

std::string encode_error(const request_id* re, error_code code, std::string_view message,
                         encoding enc) {
  json obj{{"type", "error"},
           {"re", re ? id_to_json(*re) : json(nullptr)},
           {"code", std::string{to_string(code)}},
           {"message", std::string{message}}};
  return serialize(obj, enc);
}

std::string encode_rate_limited(const request_id* re, int64_t retry_after_ms,
                                std::string_view message, encoding enc) {
  json obj{{"type", "error"},
           {"re", re ? id_to_json(*re) : json(nullptr)},
           {"code", std::string{to_string(error_code::rate_limited)}},
           {"message", std::string{message}},
           {"retry_after_ms", retry_after_ms}};
  return serialize(obj, enc);
}

std::string encode_hello(const hello& h, encoding enc) {
  json obj{{"type", "hello"},
           {"user", json{{"id", h.user.str()}, {"role", h.role}, {"display_name", h.display_name}}},
           {"server_time", h.server_time},
           {"limits", json{{"max_frame_bytes", h.max_frame_bytes},
                           {"max_text_chars", h.max_text_chars}}}};
  return serialize(obj, enc);
}

std::string encode_batch(const std::vector<std::string_view>& frames, encoding enc) {
  std::string out;
  size_t total = 32;
  for (auto f : frames)
    total += f.size() + 1;
  out.reserve(total);
  if (enc == encoding::json) {
    out += R"({"type":"batch","items":[)";
    for (size_t i = 0; i < frames.size(); ++i) {
      if (i > 0)
        out.push_back(',');
      out.append(frames[i]);
    }
    out += "]}";
  } else {
    detail::mp_map(out, 2);
    detail::mp_str(out, "type");
    detail::mp_str(out, "batch");
    detail::mp_str(out, "items");
    detail::mp_array(out, static_cast<uint32_t>(frames.size()));
    for (auto f : frames)
      out.append(f);
  }
  return out;
}

push_frame::push_frame(std::string stream, int64_t seq,
                       std::shared_ptr<const std::string> event_msgpack)
  : stream_(std::move(stream)), seq_(seq), event_(std::move(event_msgpack)) {}

const std::string& push_frame::frame(encoding enc) const {
  if (enc == encoding::json) {
    std::call_once(json_once_, [this] {
      json_ = R"({"type":"event","stream":)";
      json_ += json(stream_).dump();
      if (seq_ > 0) {
        json_ += R"(,"seq":)";
        json_ += std::to_string(seq_);
      }
      json_ += R"(,"event":)";
      json_ += event_to_json(*event_);
      json_ += '}';
    });
    return json_;
  }
  std::call_once(msgpack_once_, [this] {
    msgpack_.reserve(event_->size() + stream_.size() + 32);
    detail::mp_map(msgpack_, seq_ > 0 ? 4 : 3);
    detail::mp_str(msgpack_, "type");
    detail::mp_str(msgpack_, "event");
    detail::mp_str(msgpack_, "stream");
    detail::mp_str(msgpack_, stream_);
    if (seq_ > 0) {
      detail::mp_str(msgpack_, "seq");
      detail::mp_uint(msgpack_, static_cast<uint64_t>(seq_));
    }
    detail::mp_str(msgpack_, "event");
    msgpack_.append(*event_);
  });
  return msgpack_;
}

std::string_view to_string(contract_action a) noexcept {
  switch (a) {
    case contract_action::fund:
      return "fund";
    case contract_action::deliver:
      return "deliver";
    case contract_action::approve:
      return "approve";
    case contract_action::request_revision:
      return "request_revision";
    case contract_action::dispute:
      return "dispute";
    case contract_action::resolve:
      return "resolve";
    case contract_action::cancel:
      return "cancel";
  }
  return "unknown";
}

std::optional<contract_action> contract_action_from_string(std::string_view s) noexcept {
  for (auto a : {contract_action::fund, contract_action::deliver, contract_action::approve,
                 contract_action::request_revision, contract_action::dispute,
                 contract_action::resolve, contract_action::cancel})
    if (to_string(a) == s)
      return a;
  return std::nullopt;
}

expected<contract_command_req, decode_error> decode_contract_command(const uuid& contract,
                                                                     std::string_view action,
                                                                     std::string_view json_body) {
  auto a = contract_action_from_string(action);
  if (!a)
    return decode_error{error_code::not_found, "no contract action '" + std::string{action} + "'",
                        std::nullopt};
  json root;
  guarded_sax sax{root, limits{}.max_depth, false};
  bool ok = false;
  try {
    ok = json::sax_parse(json_body.begin(), json_body.end(), &sax, json::input_format_t::json, true);
  } catch (const std::exception& ex) {
    return decode_error{error_code::bad_frame, ex.what(), std::nullopt};
  }
  if (!ok || sax.failed() || !root.is_object())
    return decode_error{error_code::bad_request, "the body must be a JSON object", std::nullopt};
  fields f{root};
  return contract_command_fields(contract, *a, f, std::nullopt);
}

std::string contract_reply_json(const contract_reply& reply) {
  json obj = event_json(reply.view);
  auto list = json::array();
  for (auto& item : reply.events)
    list.push_back(json{{"seq", item.seq}, {"event", event_json(item.event)}});
  obj["events"] = std::move(list);
  return obj.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string contract_stream(const uuid& id) {
  return "contract:" + id.str();
}

std::string conversation_stream(const uuid& id) {
  return "conversation:" + id.str();
}

} // namespace pactum::protocol

namespace pactum::protocol {

std::string encode_conversation_notice(const conversation_info& info) {
  json obj{{"type", "conversation.opened"}, {"conversation", info_to_json(info)}};
  auto bytes = json::to_msgpack(obj);
  return std::string{bytes.begin(), bytes.end()};
}

} // namespace pactum::protocol
