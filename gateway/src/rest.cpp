// REST endpoints: health, registration, the token lifecycle (login, refresh, logout, own
// sessions, WebSocket tickets), and the landing page.
// Errors use one JSON shape: {"error":{"code","message","fields"?}} (docs/protocol.md).

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "pactum/payments/webhook.hpp"
#include "pactum/protocol/codec.hpp"
#include "rest_parse.hpp"
#include "rest_privacy.hpp"
#include "rest_search.hpp"
#include "rest_notifications.hpp"
#include "rest_campaigns.hpp"
#include "rest_matching.hpp"
#include "rest_pledges.hpp"
#include "rest_analytics.hpp"
#include "rest_metrics.hpp"
#include "rest_promotions.hpp"
#include "rest_affiliate.hpp"
#include "shared.hpp"
#include "static_files.hpp"

namespace pactum::gateway {

using json = nlohmann::json;

// -- shared by the REST files (declared in shared.hpp) ----------------------------------------------

http_response json_text(const http::request<http::string_body>& req, http::status status,
                        std::string body) {
  http_response res{status, req.version()};
  res.set(http::field::server, "pactumd");
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

void wrong_method(const http::request<http::string_body>& req,
                  const std::function<void(http_response)>& send, const char* allowed) {
  auto res = error_response(req, actors::api_error{405, protocol::error_code::bad_request,
                                                   std::string{"use "} + allowed, {}});
  res.set(http::field::allow, allowed);
  send(std::move(res));
}

std::function<void(expected<std::string, actors::api_error>)>
answer_json(std::shared_ptr<http::request<http::string_body>> head,
            std::function<void(http_response)> send, http::status ok) {
  return [head, send, ok](expected<std::string, actors::api_error> r) {
    if (!r)
      return send(error_response(*head, r.error()));
    send(json_text(*head, ok, std::move(r.value())));
  };
}

std::function<void(expected<bool, actors::api_error>)>
answer_no_content(std::shared_ptr<http::request<http::string_body>> head, std::function<void(http_response)> send) {
  return [head, send](expected<bool, actors::api_error> r) {
    send(r ? no_content(*head) : error_response(*head, r.error()));
  };
}

http_response json_response(const http::request<http::string_body>& req, http::status status,
                            const json& body) {
  return json_text(req, status, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

std::optional<json> object_body(const http::request<http::string_body>& req,
                                const std::function<void(http_response)>& send) {
  auto body = json_object_body(req); // rest_parse.hpp
  if (auto* no = std::get_if<http_refusal>(&body)) {
    send(error_response(req, actors::api_error{no->status, no->code, no->message, {}}));
    return std::nullopt;
  }
  return std::get<json>(std::move(body));
}

std::string string_field(const json& body, const char* key) {
  auto i = body.find(key);
  return i != body.end() && i->is_string() ? i->get<std::string>() : std::string{};
}

json user_json(const actors::principal& p) {
  return json{{"id", p.user.str()}, {"role", p.role}, {"display_name", p.display_name}};
}

json tokens_json(const actors::login_result& r) {
  return json{{"token", r.token},
              {"token_type", "Bearer"},
              {"expires_at", r.expires_at},
              {"access_expires_at", r.expires_at},
              {"refresh_token", r.refresh_token},
              {"refresh_expires_at", r.refresh_expires_at},
              {"session_id", r.who.session_id},
              {"user", user_json(r.who)}};
}

void with_principal(const http::request<http::string_body>& req, const std::string& client_address,
                    gateway_state& gw, std::shared_ptr<http::request<http::string_body>> head,
                    std::function<void(http_response)> send,
                    std::function<void(actors::principal)> fn) {
  gw.rt.authenticate(bearer_token(req), [head, send, fn = std::move(fn), client_address](
                                          expected<actors::principal, actors::api_error> who) {
    if (!who) {
      auto res = error_response(*head, who.error());
      if (who.error().status == 401)
        res.set(http::field::www_authenticate, "Bearer");
      return send(std::move(res));
    }
    who->address = client_address; // the audit log records where an action came from
    fn(std::move(who.value()));
  });
}

http_response no_content(const http::request<http::string_body>& req) {
  http_response res{http::status::no_content, req.version()};
  res.set(http::field::server, "pactumd");
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  return res;
}

namespace {

constexpr std::string_view landing_page = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Pactum</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>Pactum is running</h1>
<p>This server speaks the protocol in <code>docs/protocol.md</code>:</p>
<ul>
<li><code>POST /api/v1/users/register</code> and <code>POST /api/v1/users/login</code> (JSON)</li>
<li><code>GET /ws</code> with <code>Authorization: Bearer &lt;token&gt;</code> (WebSocket)</li>
<li><code>GET /healthz</code></li>
</ul></body></html>
)";

} // namespace

http_response error_response(const http::request<http::string_body>& req,
                             const actors::api_error& err) {
  json e{{"code", std::string{protocol::to_string(err.code)}}, {"message", err.message}};
  if (!err.fields.empty()) {
    json fields = json::object();
    for (auto& [k, v] : err.fields)
      fields[k] = v;
    e["fields"] = std::move(fields);
  }
  auto res = json_response(req, static_cast<http::status>(err.status), json{{"error", e}});
  gateway_metrics::get().error_answered(err.code, true);
  if (err.retry_after_s > 0)
    res.set(http::field::retry_after, std::to_string(err.retry_after_s));
  return res;
}

void handle_rest(const http::request<http::string_body>& req, const std::string& client_address,
                 gateway_state& gw, std::function<void(http_response)> send) {
  auto target = std::string_view{req.target()};
  auto path = target.substr(0, target.find('?'));
  auto method = req.method();
  auto wrong_method = [&](const char* allowed) {
    auto res = error_response(req, actors::api_error{405, protocol::error_code::bad_request,
                                                     std::string{"use "} + allowed, {}});
    res.set(http::field::allow, allowed);
    send(std::move(res));
  };
  // The handlers below capture only copies (version/keep-alive via a request copy), since `req`
  // does not outlive this call.
  auto head = std::make_shared<http::request<http::string_body>>();
  head->version(req.version());
  head->keep_alive(req.keep_alive());

  if (handle_metrics_rest(req, client_address, gw, send))
    return;
  if (path == "/healthz") {
    if (method != http::verb::get)
      return wrong_method("GET");
    gw.rt.check_health([head, send](bool ok, std::string detail) {
      send(json_response(*head, ok ? http::status::ok : http::status::service_unavailable,
                         json{{"status", ok ? "ok" : "unavailable"}, {"detail", detail}}));
    });
    return;
  }
  if (path == "/api/v1/users/register") {
    if (method != http::verb::post)
      return wrong_method("POST");
    auto body = object_body(req, send);
    if (!body)
      return;
    actors::registration in{string_field(*body, "email"), string_field(*body, "password"),
                            string_field(*body, "display_name"), string_field(*body, "role"),
                            client_address};
    if (auto c = body->find("consents"); c != body->end()) {
      if (auto bad = parse_consents(*c, in.consents)) {
        actors::api_error e{400, protocol::error_code::bad_request, "some fields are invalid", {}};
        e.fields.emplace_back("consents", *bad);
        return send(error_response(req, e));
      }
    }
    auto email = in.email;
    gw.rt.register_user(std::move(in), [head, send](expected<actors::principal, actors::api_error> r) {
      if (!r)
        return send(error_response(*head, r.error()));
      send(json_response(*head, http::status::created, json{{"user", user_json(r.value())}}));
    });
    return;
  }
  if (path == "/api/v1/users/login") {
    if (method != http::verb::post)
      return wrong_method("POST");
    auto body = object_body(req, send);
    if (!body)
      return;
    actors::login_context ctx{client_address, std::string{req[http::field::user_agent]}};
    gw.rt.login(string_field(*body, "email"), string_field(*body, "password"), std::move(ctx),
                [head, send](expected<actors::login_result, actors::api_error> r) {
                  if (!r)
                    return send(error_response(*head, r.error()));
                  send(json_response(*head, http::status::ok, tokens_json(r.value())));
                });
    return;
  }
  if (path == "/api/v1/users/refresh") {
    if (method != http::verb::post)
      return wrong_method("POST");
    auto body = object_body(req, send);
    if (!body)
      return;
    gw.rt.refresh(string_field(*body, "refresh_token"),
                  [head, send](expected<actors::login_result, actors::api_error> r) {
                    if (!r)
                      return send(error_response(*head, r.error()));
                    send(json_response(*head, http::status::ok, tokens_json(r.value())));
                  },
                  client_address);
    return;
  }
  if (path == "/api/v1/users/logout") {
    if (method != http::verb::post)
      return wrong_method("POST");
    with_principal(req, client_address, gw, head, send, [&gw, head, send](actors::principal who) {
      gw.rt.logout(std::move(who), answer_no_content(head, send));
    });
    return;
  }
  if (path == "/api/v1/users/me/sessions" && method == http::verb::delete_) {
    with_principal(req, client_address, gw, head, send, [&gw, head, send](actors::principal who) {
      gw.rt.revoke_all_logins(std::move(who), answer_no_content(head, send));
    });
    return;
  }
  if (path == "/api/v1/users/me/password") {
    if (method != http::verb::put)
      return wrong_method("PUT");
    auto body = object_body(req, send);
    if (!body)
      return;
    with_principal(req, client_address, gw, head, send,
                   [&gw, head, send, current = string_field(*body, "current_password"),
                    next = string_field(*body, "new_password")](actors::principal who) mutable {
                     gw.rt.change_password(std::move(who), std::move(current), std::move(next),
                                           answer_no_content(head, send));
                   });
    return;
  }
  if (path == "/api/v1/users/me/sessions") {
    if (method != http::verb::get)
      return wrong_method("GET, DELETE");
    with_principal(req, client_address, gw, head, send, [&gw, head, send](actors::principal who) {
      gw.rt.list_logins(std::move(who), [head, send](
                                          expected<std::vector<actors::login_info>, actors::api_error> r) {
        if (!r)
          return send(error_response(*head, r.error()));
        json list = json::array();
        for (auto& s : *r)
          list.push_back(json{{"id", s.id},
                              {"created_at", s.created_at},
                              {"last_used_at", s.last_used_at},
                              {"user_agent", s.user_agent},
                              {"current", s.current}});
        send(json_response(*head, http::status::ok, json{{"sessions", std::move(list)}}));
      });
    });
    return;
  }
  if (constexpr std::string_view prefix = "/api/v1/users/me/sessions/";
      path.size() > prefix.size() && path.substr(0, prefix.size()) == prefix) {
    if (method != http::verb::delete_)
      return wrong_method("DELETE");
    auto id = std::string{path.substr(prefix.size())};
    with_principal(req, client_address, gw, head, send, [&gw, head, send, id](actors::principal who) {
      gw.rt.revoke_login(std::move(who), id, answer_no_content(head, send));
    });
    return;
  }
  if (path == "/api/v1/ws-ticket") {
    if (method != http::verb::post)
      return wrong_method("POST");
    with_principal(req, client_address, gw, head, send, [&gw, head, send](actors::principal who) {
      gw.rt.issue_ws_ticket(std::move(who), [head, send](expected<actors::ws_ticket, actors::api_error> r) {
        if (!r)
          return send(error_response(*head, r.error()));
        send(json_response(*head, http::status::ok,
                           json{{"ticket", r->ticket}, {"expires_at", r->expires_at}}));
      });
    });
    return;
  }
  if (path == "/api/v1/moderation/guard-hits") {
    if (method != http::verb::get)
      return wrong_method("GET");
    with_principal(req, client_address, gw, head, send, [&gw, head, send](actors::principal who) {
      gw.rt.guard_queue(std::move(who), 100,
                        [head, send](expected<std::vector<actors::guard_hit_info>, actors::api_error> r) {
                          if (!r)
                            return send(error_response(*head, r.error()));
                          json list = json::array();
                          for (auto& h : *r)
                            list.push_back(json{{"id", h.id},
                                                {"conversation", h.conversation.str()},
                                                {"sender", h.sender.str()},
                                                {"seq", h.seq},
                                                {"action", h.action},
                                                {"categories", h.categories},
                                                {"original", h.original},
                                                {"created_at", h.created_at},
                                                {"strikes", h.strikes}});
                          send(json_response(*head, http::status::ok, json{{"hits", std::move(list)}}));
                        });
    });
    return;
  }
  if (constexpr std::string_view prefix = "/api/v1/moderation/guard-hits/";
      path.size() > prefix.size() && path.substr(0, prefix.size()) == prefix
      && path.ends_with("/review")) {
    if (method != http::verb::post)
      return wrong_method("POST");
    auto id_text = std::string{path.substr(prefix.size(), path.size() - prefix.size() - 7)};
    auto parsed_id = positive_id(id_text);
    if (!parsed_id)
      return send(error_response(req, actors::api_error{404, protocol::error_code::not_found,
                                                        "no such finding", {}}));
    auto id = *parsed_id;
    auto body = object_body(req, send);
    if (!body)
      return;
    auto verdict = string_field(*body, "verdict");
    with_principal(req, client_address, gw, head, send, [&gw, head, send, id, verdict](actors::principal who) {
      gw.rt.review_guard_hit(std::move(who), id, verdict,
                             answer_no_content(head, send));
    });
    return;
  }
  if (path == "/api/v1/webhooks/payments") {
    if (method != http::verb::post)
      return wrong_method("POST");
    if (gw.cfg.webhook_secret.empty())
      return send(error_response(req, actors::api_error{503, protocol::error_code::unavailable,
                                                        "payment webhooks are not configured", {}}));
    auto check = payments::verify_webhook(gw.cfg.webhook_secret,
                                          req[payments::signature_header], req.body(),
                                          now_millis() / 1000, gw.cfg.webhook_tolerance_s);
    if (check != payments::webhook_check::ok) {
      spdlog::warn("payments: webhook refused: {} signature", payments::to_string(check));
      return send(error_response(req, actors::api_error{400, protocol::error_code::unauthorized,
                                                        std::string{"bad signature: "}
                                                          + std::string{payments::to_string(check)},
                                                        {}}));
    }
    gw.rt.payment_webhook(req.body(), [head, send](expected<bool, actors::api_error> r) {
      if (!r)
        return send(error_response(*head, r.error()));
      send(json_response(*head, http::status::ok, json{{"received", true}, {"replay", !r.value()}}));
    });
    return;
  }
  if (constexpr std::string_view prefix = "/api/v1/contracts/";
      path.size() > prefix.size() && path.substr(0, prefix.size()) == prefix) {
    auto rest = path.substr(prefix.size());
    auto slash = rest.find('/');
    auto contract = uuid::parse(rest.substr(0, slash));
    if (!contract)
      return send(error_response(req, actors::api_error{404, protocol::error_code::not_found,
                                                        "no such contract", {}}));
    if (slash == std::string_view::npos) {
      if (method != http::verb::get)
        return wrong_method("GET");
      auto after = after_param(target);
      with_principal(req, client_address, gw, head, send, [&gw, head, send, id = *contract, after](actors::principal who) {
        gw.rt.get_contract(std::move(who), id, after,
                           [head, send](expected<protocol::contract_reply, actors::api_error> r) {
                             if (!r)
                               return send(error_response(*head, r.error()));
                             http_response res{http::status::ok, head->version()};
                             res.set(http::field::server, "pactumd");
                             res.set(http::field::content_type, "application/json");
                             res.set(http::field::cache_control, "no-store");
                             res.keep_alive(head->keep_alive());
                             res.body() = protocol::contract_reply_json(r.value());
                             res.prepare_payload();
                             send(std::move(res));
                           });
      });
      return;
    }
    if (method != http::verb::post)
      return wrong_method("POST");
    // REST spells actions with dashes (request-revision), the WebSocket type with underscores.
    std::string action{rest.substr(slash + 1)};
    std::replace(action.begin(), action.end(), '-', '_');
    auto ct = req[http::field::content_type];
    if (ct.substr(0, 16) != "application/json")
      return send(error_response(req, actors::api_error{415, protocol::error_code::bad_request,
                                                        "Content-Type must be application/json", {}}));
    auto cmd = protocol::decode_contract_command(*contract, action, req.body());
    if (!cmd) {
      auto code = cmd.error().code == protocol::error_code::bad_frame ? protocol::error_code::bad_request
                                                                       : cmd.error().code;
      int status = code == protocol::error_code::not_found ? 404
                   : code == protocol::error_code::too_large ? 413 : 400;
      return send(error_response(req, actors::api_error{status, code, cmd.error().message, {}}));
    }
    with_principal(req, client_address, gw, head, send, [&gw, head, send, c = std::move(*cmd)](actors::principal who) mutable {
      gw.rt.contract_command(std::move(who), std::move(c),
                             [head, send](expected<protocol::contract_ack_reply, actors::api_error> r) {
                               if (!r)
                                 return send(error_response(*head, r.error()));
                               auto& a = r.value();
                               send(json_response(*head, http::status::ok,
                                                  json{{"contract", a.contract.str()},
                                                       {"seq", a.seq},
                                                       {"at", a.at},
                                                       {"duplicate", a.duplicate},
                                                       {"status", a.status}}));
                             });
    });
    return;
  }
  if (path == "/api/v1/moderation/disputes") {
    if (method != http::verb::get)
      return wrong_method("GET");
    with_principal(req, client_address, gw, head, send, [&gw, head, send](actors::principal who) {
      gw.rt.open_disputes(std::move(who), 100,
                          [head, send](expected<std::vector<std::pair<uuid, millis>>, actors::api_error> r) {
                            if (!r)
                              return send(error_response(*head, r.error()));
                            json list = json::array();
                            for (auto& [id, at] : *r)
                              list.push_back(json{{"contract", id.str()}, {"disputed_at", at}});
                            send(json_response(*head, http::status::ok, json{{"disputes", std::move(list)}}));
                          });
    });
    return;
  }
  if (path == "/api/v1/users/me/balance") {
    if (method != http::verb::get)
      return wrong_method("GET");
    with_principal(req, client_address, gw, head, send, [&gw, head, send](actors::principal who) {
      gw.rt.balances(std::move(who),
                     [head, send](expected<std::vector<std::pair<std::string, int64_t>>, actors::api_error> r) {
                       if (!r)
                         return send(error_response(*head, r.error()));
                       json list = json::array();
                       for (auto& [currency, available] : *r)
                         list.push_back(json{{"currency", currency}, {"available", available}});
                       send(json_response(*head, http::status::ok, json{{"balances", std::move(list)}}));
                     });
    });
    return;
  }
  if (path == "/api/v1/users/me/withdrawals") {
    auto to_json = [](const actors::withdrawal_info& w) {
      json j{{"payout", w.payout},       {"seq", w.seq},       {"amount", w.amount},
             {"currency", w.currency},   {"destination", w.destination},
             {"status", w.status},       {"at", w.at}};
      if (!w.code.empty())
        j["code"] = w.code;
      return j;
    };
    if (method == http::verb::get) {
      with_principal(req, client_address, gw, head, send, [&gw, head, send, to_json](actors::principal who) {
        gw.rt.withdrawals(std::move(who),
                          [head, send, to_json](expected<std::vector<actors::withdrawal_info>, actors::api_error> r) {
                            if (!r)
                              return send(error_response(*head, r.error()));
                            json list = json::array();
                            for (auto& w : *r)
                              list.push_back(to_json(w));
                            send(json_response(*head, http::status::ok, json{{"withdrawals", std::move(list)}}));
                          });
      });
      return;
    }
    if (method != http::verb::post)
      return wrong_method("GET, POST");
    auto body = object_body(req, send);
    if (!body)
      return;
    auto amount = body->find("amount");
    if (amount == body->end() || !amount->is_number_integer())
      return send(error_response(req, actors::api_error{400, protocol::error_code::bad_request,
                                                        "amount (integer minor units) is required",
                                                        {{"amount", "an integer number of minor units"}}}));
    actors::withdrawal_request w{string_field(*body, "key"), amount->get<int64_t>(),
                                 string_field(*body, "currency"), string_field(*body, "destination")};
    with_principal(req, client_address, gw, head, send, [&gw, head, send, to_json, w = std::move(w)](actors::principal who) mutable {
      gw.rt.withdraw(std::move(who), std::move(w),
                     [head, send, to_json](expected<actors::withdrawal_info, actors::api_error> r) {
                       if (!r)
                         return send(error_response(*head, r.error()));
                       auto j = to_json(*r);
                       j["duplicate"] = r->duplicate;
                       send(json_response(*head, http::status::ok, j));
                     });
    });
    return;
  }
  if (path == "/api/v1/admin/ledger-check") {
    if (method != http::verb::get)
      return wrong_method("GET");
    with_principal(req, client_address, gw, head, send, [&gw, head, send](actors::principal who) {
      gw.rt.ledger_check(std::move(who),
                         [head, send](expected<std::vector<std::string>, actors::api_error> r) {
                           if (!r)
                             return send(error_response(*head, r.error()));
                           send(json_response(*head, http::status::ok,
                                              json{{"ok", r->empty()}, {"violations", *r}}));
                         });
    });
    return;
  }
  if (handle_affiliate_rest(req, path, client_address, gw, send)) // `/r/{code}`, before static files
    return;
  if (handle_campaigns_rest(req, path, client_address, gw, send))
    return;
  if (handle_social_rest(req, client_address, gw, send)) // before profiles: a path under theirs
    return;
  // Before the profiles: their `/api/v1/brands/{id}` would take `/api/v1/brands/matches`.
  if (handle_matching_rest(req, path, client_address, gw, send))
    return;
  if (handle_profiles_rest(req, client_address, gw, send))
    return;
  if (path == "/api/v1/admin/audit") {
    if (method != http::verb::get)
      return wrong_method("GET");
    actors::audit_query_params q{query_param(target, "actor"), query_param(target, "action"), 0, 100};
    auto number = [&](const char* name, auto& out) {
      auto v = query_param(target, name);
      if (v.empty())
        return true;
      int64_t n = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc{} || end != v.data() + v.size() || n < 0)
        return false;
      out = static_cast<std::decay_t<decltype(out)>>(n);
      return true;
    };
    if (!number("before", q.before) || !number("limit", q.limit))
      return send(error_response(req, actors::api_error{400, protocol::error_code::bad_request,
                                                        "before and limit must be whole numbers",
                                                        {}}));
    with_principal(req, client_address, gw, head, send, [&gw, head, send, q](actors::principal who) {
      gw.rt.audit_query(std::move(who), q,
                        [head, send](expected<std::vector<actors::audit_entry>, actors::api_error> r) {
                          if (!r)
                            return send(error_response(*head, r.error()));
                          json list = json::array();
                          for (auto& e : *r) {
                            auto detail = json::parse(e.detail, nullptr, false);
                            list.push_back(json{{"id", e.id},
                                                {"at", e.at},
                                                {"actor", e.actor.empty() ? json(nullptr) : json(e.actor)},
                                                {"actor_role", e.actor_role},
                                                {"address", e.address},
                                                {"action", e.action},
                                                {"target", e.target},
                                                {"outcome", e.outcome},
                                                {"detail", detail.is_discarded() ? json::object() : detail}});
                          }
                          json body{{"entries", std::move(list)}};
                          // The cursor for the next (older) page: the last id shown.
                          body["next_before"] = r->empty() ? json(nullptr) : json(r->back().id);
                          send(json_response(*head, http::status::ok, body));
                        });
    });
    return;
  }
  if (handle_privacy_rest(req, path, client_address, gw, send))
    return;
  if (handle_search_rest(req, path, client_address, gw, send))
    return;
  if (handle_pledges_rest(req, path, client_address, gw, send))
    return;
  if (handle_analytics_rest(req, path, client_address, gw, send))
    return;
  if (handle_promotions_rest(req, path, client_address, gw, send))
    return;
  if (handle_notifications_rest(req, path, client_address, gw, send))
    return;
  if (gw.site)
    if (auto res = serve_static(req, path, *gw.site))
      return send(std::move(*res));
  if (path == "/" && method == http::verb::get) {
    http_response res{http::status::ok, req.version()};
    res.set(http::field::content_type, "text/html; charset=utf-8");
    res.keep_alive(req.keep_alive());
    res.body() = std::string{landing_page};
    res.prepare_payload();
    return send(std::move(res));
  }
  if (path == "/ws")
    return send(error_response(req, actors::api_error{426, protocol::error_code::bad_request,
                                                      "this endpoint needs a WebSocket upgrade", {}}));
  send(error_response(req, actors::api_error{404, protocol::error_code::not_found,
                                             "no such endpoint", {}}));
}

} // namespace pactum::gateway
