// Notification endpoints (docs/api.md, "Notifications"): the REST twin of the WebSocket
// `notifications.*` requests, for clients without a socket. The runtime authorises (each user
// only their own) and answers the same JSON members as the WebSocket reply.

#include "rest_notifications.hpp"

#include <charconv>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "rest_search.hpp"

namespace pactum::gateway {

using json = nlohmann::json;

namespace {

using request = http::request<http::string_body>;

void bad_request(const request& req, const std::function<void(http_response)>& send, std::string field,
                 std::string msg) {
  actors::api_error e{400, protocol::error_code::bad_request, "invalid request", {}};
  e.fields.emplace_back(std::move(field), std::move(msg));
  send(error_response(req, e));
}

std::optional<int64_t> number(std::string_view text, int64_t lo, int64_t hi) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v < lo || v > hi)
    return std::nullopt;
  return v;
}

} // namespace

bool handle_notifications_rest(const request& req, std::string_view path, const std::string& client_address,
                               gateway_state& gw, std::function<void(http_response)> send) {
  constexpr std::string_view base = "/api/v1/notifications";
  if (path.substr(0, base.size()) != base || (path.size() > base.size() && path[base.size()] != '/'))
    return false;
  auto method = req.method();
  auto head = std::make_shared<request>();
  head->version(req.version());
  head->keep_alive(req.keep_alive());
  auto rest = path.substr(base.size());
  protocol::notifications_req r;
  bool count_only = false;

  if (rest.empty() || rest == "/unread-count") {
    if (method != http::verb::get) {
      wrong_method(req, send, "GET");
      return true;
    }
    r.what = protocol::notifications_req::op::list;
    if (rest.empty()) {
      auto params = decode_query(std::string_view{req.target()}, 16);
      if (!params) {
        bad_request(req, send, "query", "malformed query string");
        return true;
      }
      for (auto& [name, value] : *params) {
        if (name == "before") {
          auto v = number(value, 0, int64_t{1} << 53);
          if (!v) {
            bad_request(req, send, "before", "must be a notification id");
            return true;
          }
          r.before = *v;
        } else if (name == "limit") {
          auto v = number(value, 1, 100);
          if (!v) {
            bad_request(req, send, "limit", "must be 1 to 100");
            return true;
          }
          r.limit = static_cast<uint32_t>(*v);
        } else if (name == "unread_only") {
          if (value != "true" && value != "false") {
            bad_request(req, send, "unread_only", "must be true or false");
            return true;
          }
          r.unread_only = value == "true";
        }
      }
    } else {
      count_only = true;
      r.limit = 0;
    }
  } else if (rest == "/read") {
    if (method != http::verb::put) {
      wrong_method(req, send, "PUT");
      return true;
    }
    auto body = object_body(req, send);
    if (!body)
      return true;
    r.what = protocol::notifications_req::op::read;
    if (auto ids = body->find("ids"); ids != body->end() && !ids->is_null()) {
      if (!ids->is_array() || ids->size() > 1000) {
        bad_request(req, send, "ids", "must be an array of at most 1000 notification ids");
        return true;
      }
      for (auto& x : *ids) {
        if (!x.is_number_integer() || x.get<int64_t>() <= 0) {
          bad_request(req, send, "ids", "must hold positive integers");
          return true;
        }
        r.ids.push_back(x.get<int64_t>());
      }
    }
    if (auto up = body->find("up_to"); up != body->end() && !up->is_null()) {
      if (!up->is_number_integer() || up->get<int64_t>() < 0) {
        bad_request(req, send, "up_to", "must be a notification id");
        return true;
      }
      r.up_to = up->get<int64_t>();
    }
    if (r.ids.empty() && r.up_to == 0) {
      bad_request(req, send, "ids", "give ids or up_to");
      return true;
    }
  } else if (rest == "/preferences") {
    if (method == http::verb::get) {
      r.what = protocol::notifications_req::op::prefs_get;
    } else if (method == http::verb::put) {
      auto body = object_body(req, send);
      if (!body)
        return true;
      r.what = protocol::notifications_req::op::prefs_set;
      auto muted = body->find("muted");
      if (muted == body->end() || !muted->is_array() || muted->size() > 64) {
        bad_request(req, send, "muted", "must be an array of notification types");
        return true;
      }
      for (auto& x : *muted) {
        if (!x.is_string()) {
          bad_request(req, send, "muted", "must hold notification type strings");
          return true;
        }
        r.muted.push_back(x.get<std::string>());
      }
    } else {
      wrong_method(req, send, "GET, PUT");
      return true;
    }
  } else {
    return false;
  }
  with_principal(req, client_address, gw, head, send,
                 [&gw, head, send, r = std::move(r), count_only](actors::principal who) mutable {
                   gw.rt.notifications(std::move(who), std::move(r),
                                       [head, send, count_only](expected<std::string, actors::api_error> a) {
                                         if (!a)
                                           return send(error_response(*head, a.error()));
                                         if (!count_only)
                                           return send(json_text(*head, http::status::ok, std::move(a.value())));
                                         auto j = json::parse(a.value(), nullptr, false);
                                         json out{{"unread", j.is_object() ? j.value("unread", 0) : 0}};
                                         send(json_response(*head, http::status::ok, out));
                                       });
                 });
  return true;
}

} // namespace pactum::gateway
