// REST endpoints for social platforms (docs/api.md, "Social platforms"): a creator refreshes
// their statistics from the platforms; moderators list and review fake-follower flags. The
// runtime authorises (policy::decide) and does the work; this file routes, authenticates and
// shapes answers.

#include <charconv>

#include <nlohmann/json.hpp>

#include "rest_parse.hpp"
#include "shared.hpp"

namespace pactum::gateway {

using json = nlohmann::json;

namespace {

using request = http::request<http::string_body>;

http_response fail(const request& head, int status, protocol::error_code code, std::string msg) {
  return error_response(head, actors::api_error{status, code, std::move(msg), {}});
}

json parsed_or(const std::string& text, json fallback) {
  auto j = json::parse(text, nullptr, false);
  return j.is_discarded() ? fallback : j;
}

json flag_json(const actors::social_flag_info& f) {
  return json{{"id", f.id},
              {"user", json{{"id", f.user.str()}, {"display_name", f.display_name}}},
              {"platform", f.platform},
              {"handle", f.handle},
              {"signals", parsed_or(f.signals, json::array())},
              {"snapshot", parsed_or(f.snapshot, json::object())},
              {"status", f.status},
              {"reviewer", f.reviewer.empty() ? json(nullptr) : json(f.reviewer)},
              {"created_at", f.created_at},
              {"updated_at", f.updated_at},
              {"reviewed_at", f.reviewed_at > 0 ? json(f.reviewed_at) : json(nullptr)}};
}

/// A whole number query parameter (absent: `out` unchanged); false when malformed.
template <class T>
bool number_param(std::string_view target, const char* name, T& out) {
  auto v = query_param(target, name);
  if (v.empty())
    return true;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc{} || end != v.data() + v.size() || n < 0)
    return false;
  out = static_cast<T>(n);
  return true;
}

} // namespace

bool handle_social_rest(const request& req, const std::string& client_address, gateway_state& gw,
                        const std::function<void(http_response)>& send) {
  auto target = std::string_view{req.target()};
  auto path = target.substr(0, target.find('?'));
  auto head = std::make_shared<request>();
  head->version(req.version());
  head->keep_alive(req.keep_alive());
  auto wrong_method = [&](const char* allowed) {
    auto res = fail(req, 405, protocol::error_code::bad_request, std::string{"use "} + allowed);
    res.set(http::field::allow, allowed);
    send(std::move(res));
    return true;
  };

  if (path == "/api/v1/influencers/profile/social/refresh") {
    if (req.method() != http::verb::post)
      return wrong_method("POST");
    with_principal(req, client_address, gw, head, send, [&gw, head, send](actors::principal who) {
      gw.rt.refresh_social_stats(std::move(who), [head, send](expected<std::string, actors::api_error> r) {
        if (!r)
          return send(error_response(*head, r.error()));
        send(json_text(*head, http::status::ok, std::move(r.value())));
      });
    });
    return true;
  }
  if (path == "/api/v1/moderation/social-flags") {
    if (req.method() != http::verb::get)
      return wrong_method("GET");
    actors::social_flag_query q;
    q.status = query_param(target, "status");
    if (!number_param(target, "before", q.before) || !number_param(target, "limit", q.limit)) {
      send(fail(req, 400, protocol::error_code::bad_request, "before and limit must be whole numbers"));
      return true;
    }
    with_principal(req, client_address, gw, head, send, [&gw, head, send, q](actors::principal who) {
      gw.rt.social_flags(std::move(who), q,
                         [head, send](expected<std::vector<actors::social_flag_info>, actors::api_error> r) {
                           if (!r)
                             return send(error_response(*head, r.error()));
                           json list = json::array();
                           for (auto& f : *r)
                             list.push_back(flag_json(f));
                           json body{{"flags", std::move(list)}};
                           // The cursor for the next (older) page: the last id shown.
                           body["next_before"] = r->empty() ? json(nullptr) : json(r->back().id);
                           send(json_response(*head, http::status::ok, body));
                         });
    });
    return true;
  }
  if (constexpr std::string_view prefix = "/api/v1/moderation/social-flags/";
      path.size() > prefix.size() && path.substr(0, prefix.size()) == prefix) {
    if (req.method() != http::verb::put)
      return wrong_method("PUT");
    auto id = positive_id(path.substr(prefix.size()));
    if (!id) {
      send(fail(req, 404, protocol::error_code::not_found, "no such flag"));
      return true;
    }
    auto body = object_body(req, send);
    if (!body)
      return true;
    with_principal(req, client_address, gw, head, send,
                   [&gw, head, send, id = *id, status = string_field(*body, "status")](actors::principal who) {
                     gw.rt.review_social_flag(std::move(who), id, status,
                                              [head, send](expected<actors::social_flag_info, actors::api_error> r) {
                                                if (!r)
                                                  return send(error_response(*head, r.error()));
                                                send(json_response(*head, http::status::ok, flag_json(*r)));
                                              });
                   });
    return true;
  }
  return false;
}

} // namespace pactum::gateway
