// REST endpoints for profiles, role changes and email-code logins (docs/api.md). The runtime
// validates and authorises (policy::decide); this file routes, authenticates the bearer token
// (shared `with_principal`, so the client address reaches the audit log) and shapes answers. The
// own-profile reads ask the policy here: the runtime serves them as views of a profile by id.

#include <nlohmann/json.hpp>

#include "pactum/actors/policy.hpp"
#include "shared.hpp"

namespace pactum::gateway {

using json = nlohmann::json;

namespace {

using request = http::request<http::string_body>;

http_response fail(const request& head, int status, protocol::error_code code, std::string msg) {
  return error_response(head, actors::api_error{status, code, std::move(msg), {}});
}

/// `/api/v1/<kind>/profile` (own) and `/api/v1/<kind>/{id}` (anyone's) for one kind of profile.
bool route_profiles(std::string_view path, const request& req, const std::string& client_address,
                    gateway_state& gw,
                    const std::shared_ptr<request>& head,
                    const std::function<void(http_response)>& send, std::string_view prefix,
                    bool brand) {
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
      with_principal(req, client_address, gw, head, send, [&gw, head, send, brand, body = req.body()](actors::principal who) {
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
    with_principal(req, client_address, gw, head, send, [&gw, head, send, brand](actors::principal who) {
      namespace policy = actors::policy;
      auto what = brand ? policy::action::brand_profile_get : policy::action::creator_profile_get;
      if (auto no = policy::decide(what, policy::parse_role(who.role), policy::relation::owner))
        return send(fail(*head, no->status, no->code, std::string{no->message}));
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
              brand ? "no such brand profile" : "no such creator profile"));
    return true;
  }
  with_principal(req, client_address, gw, head, send, [&gw, head, send, brand, id = *id](actors::principal who) {
    if (brand)
      gw.rt.brand_profile(std::move(who), id, answer_json(head, send));
    else
      gw.rt.creator_profile(std::move(who), id, answer_json(head, send));
  });
  return true;
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
                            send(json_response(*head, http::status::ok, tokens_json(r.value())));
                          });
    return true;
  }
  if (path == "/api/v1/users/password/reset") {
    if (!post_only())
      return true;
    auto body = object_body(req, send);
    if (!body)
      return true;
    gw.rt.reset_password(string_field(*body, "email"), string_field(*body, "code"),
                         string_field(*body, "new_password"),
                         actors::login_context{client_address, std::string{req[http::field::user_agent]}},
                         answer_no_content(head, send));
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
    with_principal(req, client_address, gw, head, send,
                   [&gw, head, send, user = *user, role = string_field(*body, "role")](actors::principal who) {
                     gw.rt.change_role(std::move(who), user, role,
                                       [head, send](expected<actors::principal, actors::api_error> r) {
                                         if (!r)
                                           return send(error_response(*head, r.error()));
                                         send(json_response(*head, http::status::ok, json{{"user", user_json(r.value())}}));
                                       });
                   });
    return true;
  }
  return route_profiles(path, req, client_address, gw, head, send, "/api/v1/influencers/", false)
         || route_profiles(path, req, client_address, gw, head, send, "/api/v1/brands/", true);
}

} // namespace pactum::gateway
