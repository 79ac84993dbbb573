// REST endpoints for profiles, role changes and email-code logins (docs/api.md). The runtime
// validates and authorises; this file routes, authenticates the bearer token and shapes answers.

#include <nlohmann/json.hpp>

#include "shared.hpp"

namespace pactum::gateway {

using json = nlohmann::json;

namespace {

using request = http::request<http::string_body>;

http_response json_text(const request& head, http::status status, std::string body) {
  http_response res{status, head.version()};
  res.set(http::field::server, "pactumd");
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(head.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

http_response fail(const request& head, int status, protocol::error_code code, std::string msg) {
  return error_response(head, actors::api_error{status, code, std::move(msg), {}});
}

/// Authenticates the bearer token, then runs `fn(principal)`; 401 with `WWW-Authenticate`.
void with_principal(const request& req, gateway_state& gw, std::shared_ptr<request> head,
                    std::function<void(http_response)> send,
                    std::function<void(actors::principal)> fn) {
  gw.rt.authenticate(bearer_token(req), [head, send, fn = std::move(fn)](
                                          expected<actors::principal, actors::api_error> who) {
    if (!who) {
      auto res = error_response(*head, who.error());
      if (who.error().status == 401)
        res.set(http::field::www_authenticate, "Bearer");
      return send(std::move(res));
    }
    fn(std::move(who.value()));
  });
}

/// The body as a JSON object, or false with the answer sent (415 / 400).
std::optional<json> object_body(const request& req, const std::function<void(http_response)>& send) {
  if (req[http::field::content_type].substr(0, 16) != "application/json") {
    send(fail(req, 415, protocol::error_code::bad_request, "Content-Type must be application/json"));
    return std::nullopt;
  }
  auto body = json::parse(req.body(), nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    send(fail(req, 400, protocol::error_code::bad_request, "the body must be a JSON object"));
    return std::nullopt;
  }
  return body;
}

std::string string_field(const json& body, const char* key) {
  auto i = body.find(key);
  return i != body.end() && i->is_string() ? i->get<std::string>() : std::string{};
}

std::function<void(expected<std::string, actors::api_error>)>
answer_json(std::shared_ptr<request> head, std::function<void(http_response)> send) {
  return [head, send](expected<std::string, actors::api_error> r) {
    if (!r)
      return send(error_response(*head, r.error()));
    send(json_text(*head, http::status::ok, std::move(r.value())));
  };
}

/// `/api/v1/<kind>/profile` (own) and `/api/v1/<kind>/{id}` (anyone's) for one kind of profile.
bool route_profiles(std::string_view path, const request& req, gateway_state& gw,
                    const std::shared_ptr<request>& head,
                    const std::function<void(http_response)>& send, std::string_view prefix,
                    const char* role, bool brand) {
  if (path.substr(0, prefix.size()) != prefix || path.size() == prefix.size())
    return false;
  auto rest = path.substr(prefix.size());
  auto method = req.method();
  auto wrong_method = [&](const char* allowed) {
    auto res = fail(req, 405, protocol::error_code::bad_request, std::string{"use "} + allowed);
    res.set(http::field::allow, allowed);
    send(std::move(res));
  };
  if (rest == "profile") {
    if (method == http::verb::put) {
      if (req[http::field::content_type].substr(0, 16) != "application/json") {
        send(fail(req, 415, protocol::error_code::bad_request, "Content-Type must be application/json"));
        return true;
      }
      with_principal(req, gw, head, send, [&gw, head, send, brand, body = req.body()](actors::principal who) {
        if (brand)
          gw.rt.put_brand_profile(std::move(who), body, answer_json(head, send));
        else
          gw.rt.put_creator_profile(std::move(who), body, answer_json(head, send));
      });
      return true;
    }
    if (method != http::verb::get) {
      wrong_method("GET, PUT");
      return true;
    }
    with_principal(req, gw, head, send, [&gw, head, send, brand, role](actors::principal who) {
      if (who.role != role)
        return send(fail(*head, 403, protocol::error_code::forbidden,
                         std::string{"only "} + role + "s have this profile"));
      auto id = who.user;
      if (brand)
        gw.rt.brand_profile(std::move(who), id, answer_json(head, send));
      else
        gw.rt.creator_profile(std::move(who), id, answer_json(head, send));
    });
    return true;
  }
  if (method != http::verb::get) {
    wrong_method("GET");
    return true;
  }
  auto id = uuid::parse(rest);
  if (!id) {
    send(fail(req, 404, protocol::error_code::not_found,
              std::string{"no such "} + role + " profile"));
    return true;
  }
  with_principal(req, gw, head, send, [&gw, head, send, brand, id = *id](actors::principal who) {
    if (brand)
      gw.rt.brand_profile(std::move(who), id, answer_json(head, send));
    else
      gw.rt.creator_profile(std::move(who), id, answer_json(head, send));
  });
  return true;
}

json tokens_json(const actors::login_result& r) {
  return json{{"token", r.token},
              {"token_type", "Bearer"},
              {"expires_at", r.expires_at},
              {"access_expires_at", r.expires_at},
              {"refresh_token", r.refresh_token},
              {"refresh_expires_at", r.refresh_expires_at},
              {"session_id", r.who.session_id},
              {"user", json{{"id", r.who.user.str()},
                            {"role", r.who.role},
                            {"display_name", r.who.display_name}}}};
}

} // namespace

bool handle_profiles_rest(const request& req, const std::string& client_address, gateway_state& gw,
                          const std::function<void(http_response)>& send) {
  auto target = std::string_view{req.target()};
  auto path = target.substr(0, target.find('?'));
  auto head = std::make_shared<request>();
  head->version(req.version());
  head->keep_alive(req.keep_alive());
  auto post_only = [&]() {
    if (req.method() == http::verb::post)
      return true;
    auto res = fail(req, 405, protocol::error_code::bad_request, "use POST");
    res.set(http::field::allow, "POST");
    send(std::move(res));
    return false;
  };

  if (path == "/api/v1/users/login/code") {
    if (!post_only())
      return true;
    auto body = object_body(req, send);
    if (!body)
      return true;
    gw.rt.request_login_code(string_field(*body, "email"),
                             actors::login_context{client_address, std::string{req[http::field::user_agent]}},
                             [head, send](expected<bool, actors::api_error> r) {
                               if (!r)
                                 return send(error_response(*head, r.error()));
                               send(json_text(*head, http::status::accepted,
                                              R"({"status":"if this email has an account, a code is on its way"})"));
                             });
    return true;
  }
  if (path == "/api/v1/users/login/code/verify") {
    if (!post_only())
      return true;
    auto body = object_body(req, send);
    if (!body)
      return true;
    gw.rt.login_with_code(string_field(*body, "email"), string_field(*body, "code"),
                          actors::login_context{client_address, std::string{req[http::field::user_agent]}},
                          [head, send](expected<actors::login_result, actors::api_error> r) {
                            if (!r)
                              return send(error_response(*head, r.error()));
                            send(json_text(*head, http::status::ok, tokens_json(r.value()).dump()));
                          });
    return true;
  }
  if (constexpr std::string_view prefix = "/api/v1/admin/users/";
      path.size() > prefix.size() && path.substr(0, prefix.size()) == prefix && path.ends_with("/role")) {
    if (req.method() != http::verb::put) {
      auto res = fail(req, 405, protocol::error_code::bad_request, "use PUT");
      res.set(http::field::allow, "PUT");
      send(std::move(res));
      return true;
    }
    auto user = uuid::parse(path.substr(prefix.size(), path.size() - prefix.size() - 5));
    if (!user) {
      send(fail(req, 404, protocol::error_code::not_found, "no such user"));
      return true;
    }
    auto body = object_body(req, send);
    if (!body)
      return true;
    with_principal(req, gw, head, send,
                   [&gw, head, send, user = *user, role = string_field(*body, "role")](actors::principal who) {
                     gw.rt.change_role(std::move(who), user, role,
                                       [head, send](expected<actors::principal, actors::api_error> r) {
                                         if (!r)
                                           return send(error_response(*head, r.error()));
                                         send(json_text(*head, http::status::ok,
                                                        json{{"user", json{{"id", r->user.str()},
                                                                           {"role", r->role},
                                                                           {"display_name", r->display_name}}}}
                                                          .dump()));
                                       });
                   });
    return true;
  }
  return route_profiles(path, req, gw, head, send, "/api/v1/influencers/", "creator", false)
         || route_profiles(path, req, gw, head, send, "/api/v1/brands/", "brand", true);
}

} // namespace pactum::gateway
