// Privacy endpoints: `GET /api/v1/users/me/export`, `DELETE /api/v1/users/me`,
// `GET|PUT /api/v1/users/me/consents` (docs/protocol.md, docs/security.md). The work is in the
// runtime (actors/src/privacy.cpp); this file only reads requests and writes answers.

#include "rest_privacy.hpp"

namespace pactum::gateway {

using json = nlohmann::json;

namespace {

json consents_json(const std::vector<actors::consent_change>& changes) {
  // The current state per kind (its latest change), and every change as history.
  json current = json::object();
  json history = json::array();
  for (auto& c : changes) {
    current[c.kind] = json{{"version", c.version}, {"granted", c.granted}, {"at", c.at}};
    history.push_back(json{{"kind", c.kind}, {"version", c.version}, {"granted", c.granted}, {"at", c.at}});
  }
  return json{{"consents", std::move(current)}, {"history", std::move(history)}};
}

} // namespace

std::optional<std::string> parse_consents(const json& value,
                                          std::vector<actors::consent_change>& out) {
  if (!value.is_object())
    return "must be an object of kind: version, false, or {\"version\", \"granted\"}";
  for (auto& [kind, v] : value.items()) {
    actors::consent_change c{kind, {}, false, 0};
    if (v.is_string()) {
      c.version = v.get<std::string>();
      c.granted = true;
    } else if (v.is_boolean()) {
      c.granted = v.get<bool>();
    } else if (v.is_object()) {
      auto version = v.find("version");
      auto granted = v.find("granted");
      if (granted == v.end() || !granted->is_boolean()
          || (version != v.end() && !version->is_string()))
        return "\"" + kind + "\": needs \"granted\" (boolean) and optionally \"version\" (string)";
      c.granted = granted->get<bool>();
      if (version != v.end())
        c.version = version->get<std::string>();
    } else {
      return "\"" + kind + "\": must be a version string, a boolean or an object";
    }
    out.push_back(std::move(c));
  }
  return std::nullopt;
}

bool handle_privacy_rest(const http::request<http::string_body>& req, std::string_view path,
                         const std::string& client_address, gateway_state& gw,
                         std::function<void(http_response)> send) {
  auto method = req.method();
  auto head = std::make_shared<http::request<http::string_body>>();
  head->version(req.version());
  head->keep_alive(req.keep_alive());

  if (path == "/api/v1/users/me/export") {
    if (method != http::verb::get) {
      wrong_method(req, send, "GET");
      return true;
    }
    with_principal(req, client_address, gw, head, send, [&gw, head, send](actors::principal who) {
      gw.rt.export_user(std::move(who), [head, send](expected<std::string, actors::api_error> r) {
        if (!r)
          return send(error_response(*head, r.error()));
        auto res = json_text(*head, http::status::ok, std::move(r.value()));
        res.set(http::field::content_disposition, "attachment; filename=\"pactum-export.json\"");
        send(std::move(res));
      });
    });
    return true;
  }
  if (path == "/api/v1/users/me") {
    if (method != http::verb::delete_) {
      wrong_method(req, send, "DELETE");
      return true;
    }
    auto body = object_body(req, send);
    if (!body)
      return true;
    auto pw = body->find("password");
    std::string password = pw != body->end() && pw->is_string() ? pw->get<std::string>() : "";
    with_principal(req, client_address, gw, head, send, [&gw, head, send, password](actors::principal who) {
      gw.rt.erase_user(std::move(who), password,
                       [head, send](expected<std::string, actors::api_error> r) {
                         if (!r)
                           return send(error_response(*head, r.error()));
                         send(json_text(*head, http::status::ok,
                                        json{{"erased", true}, {"pseudonym", r.value()}}.dump()));
                       });
    });
    return true;
  }
  if (path == "/api/v1/users/me/consents") {
    auto answer = [head, send](expected<std::vector<actors::consent_change>, actors::api_error> r) {
      if (!r)
        return send(error_response(*head, r.error()));
      send(json_text(*head, http::status::ok, consents_json(r.value()).dump()));
    };
    if (method == http::verb::get) {
      with_principal(req, client_address, gw, head, send, [&gw, answer](actors::principal who) {
        gw.rt.consents(std::move(who), answer);
      });
      return true;
    }
    if (method != http::verb::put) {
      wrong_method(req, send, "GET, PUT");
      return true;
    }
    auto body = object_body(req, send);
    if (!body)
      return true;
    std::vector<actors::consent_change> changes;
    auto c = body->find("consents");
    auto bad = c == body->end() ? std::optional<std::string>{"is required"} : parse_consents(*c, changes);
    if (bad) {
      actors::api_error e{400, protocol::error_code::bad_request, "some fields are invalid", {}};
      e.fields.emplace_back("consents", *bad);
      send(error_response(req, e));
      return true;
    }
    with_principal(req, client_address, gw, head, send, [&gw, answer, changes](actors::principal who) {
      gw.rt.set_consents(std::move(who), changes, answer);
    });
    return true;
  }
  return false;
}

} // namespace pactum::gateway
