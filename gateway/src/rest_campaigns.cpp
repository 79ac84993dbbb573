// REST endpoints for campaigns, applications and invitations (docs/api.md, "Campaigns"). The
// runtime's campaign service validates and authorises (policy::decide, in the service and the
// campaign actor); this file routes, authenticates the bearer token (shared `with_principal`),
// takes the idempotency key from the `Idempotency-Key` header or the body's `key`, and passes
// the service's JSON answers through.

#include "rest_campaigns.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

#include "pactum/actors/campaigns.hpp"
#include "upgrade_check.hpp"

namespace pactum::gateway {

using json = nlohmann::json;

namespace {

using request = http::request<http::string_body>;

http_response fail(const request& head, int status, protocol::error_code code, std::string msg,
                   std::vector<std::pair<std::string, std::string>> fields = {}) {
  return error_response(head, actors::api_error{status, code, std::move(msg), std::move(fields)});
}

std::vector<std::string_view> split(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string_view::npos)
      end = path.size();
    out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::optional<int64_t> number(std::string_view v) {
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc{} || end != v.data() + v.size() || n < 0)
    return std::nullopt;
  return n;
}

/// The idempotency key: the `Idempotency-Key` header, else the body's `key`.
std::string key_of(const request& req, const json* body) {
  auto header = req["Idempotency-Key"];
  if (!header.empty())
    return std::string{header};
  return body ? string_field(*body, "key") : std::string{};
}

} // namespace

bool handle_campaigns_rest(const request& req, std::string_view path, const std::string& client_address,
                           gateway_state& gw, const std::function<void(http_response)>& send) {
  auto brands = path.starts_with("/api/v1/brands/campaigns");
  auto influencers = path.starts_with("/api/v1/influencers/campaigns") || path == "/api/v1/influencers/invitations";
  auto open = path == "/api/v1/campaigns" || path.starts_with("/api/v1/campaigns/");
  auto payments = path.starts_with("/api/v1/payments/campaigns/");
  if (!brands && !influencers && !open && !payments)
    return false;
  auto parts = split(path.substr(std::string_view{"/api/v1/"}.size()));
  // parts: {"brands"|"influencers"|"campaigns", ...}
  if (parts[0] != "campaigns" && (parts.size() < 2 || (parts[1] != "campaigns" && parts[1] != "invitations")))
    return false;
  if (parts[0] != "campaigns" && parts[1] == "campaigns" && parts.size() > 2 && parts[2].empty())
    return false;
  auto target = std::string_view{req.target()};
  auto head = std::make_shared<request>();
  head->version(req.version());
  head->keep_alive(req.keep_alive());
  auto method = req.method();
  auto& svc = gw.rt.campaigns();
  auto wrong_method = [&](const char* allowed) {
    auto res = fail(req, 405, protocol::error_code::bad_request, std::string{"use "} + allowed);
    res.set(http::field::allow, allowed);
    send(std::move(res));
    return true;
  };
  auto not_found = [&](const char* what) {
    send(fail(req, 404, protocol::error_code::not_found, what));
    return true;
  };
  auto limit_param = [&](size_t fallback) -> std::optional<size_t> {
    auto v = query_param(target, "limit");
    if (v.empty())
      return fallback;
    auto n = number(v);
    if (!n) {
      send(fail(req, 400, protocol::error_code::bad_request, "limit must be a whole number",
                {{"limit", "a whole number"}}));
      return std::nullopt;
    }
    return static_cast<size_t>(*n);
  };
  auto with = [&](std::function<void(actors::principal)> fn) {
    with_principal(req, client_address, gw, head, send, std::move(fn));
    return true;
  };
  auto list_params = [&]() -> std::optional<actors::campaign_list_params> {
    actors::campaign_list_params p;
    p.status = query_param(target, "status");
    p.niche = query_param(target, "niche");
    p.country = query_param(target, "country");
    p.pricing_model = query_param(target, "pricing_model");
    p.currency = query_param(target, "currency");
    p.q = query_param(target, "q");
    p.sort = query_param(target, "sort");
    p.before = query_param(target, "before");
    for (auto [name, out] : {std::pair{"min_budget", &p.min_budget}, std::pair{"max_budget", &p.max_budget}}) {
      auto v = query_param(target, name);
      if (v.empty())
        continue;
      auto n = number(v);
      if (!n) {
        send(fail(req, 400, protocol::error_code::bad_request, "some query parameters are invalid",
                  {{name, "a whole number of minor units"}}));
        return std::nullopt;
      }
      *out = *n;
    }
    auto limit = limit_param(20);
    if (!limit)
      return std::nullopt;
    p.limit = *limit;
    return p;
  };

  // -- /api/v1/campaigns/{id}/content[/{contentId}/status] -----------------------------------
  auto handle_content = [&]() -> bool {
    auto id = uuid::parse(parts[1]);
    if (!id)
      return not_found("no such campaign");
    if (parts.size() == 3) {
      if (method == http::verb::get) {
        auto after = query_param(target, "after");
        auto a = after.empty() ? std::optional<int64_t>{0} : number(after);
        auto limit = limit_param(50);
        if (!limit)
          return true;
        if (!a) {
          send(fail(req, 400, protocol::error_code::bad_request, "after must be a whole number",
                    {{"after", "a submission id"}}));
          return true;
        }
        return with([&svc, head, send, id = *id, after = *a, limit = *limit](actors::principal who) {
          svc.content(std::move(who), id, after, limit, answer_json(head, send));
        });
      }
      if (method != http::verb::post)
        return wrong_method("GET, POST");
      auto body = object_body(req, send);
      if (!body)
        return true;
      auto key = key_of(req, &*body);
      body->erase("key");
      return with([&svc, head, send, id = *id, key, text = body->dump()](actors::principal who) {
        svc.submit_content(std::move(who), id, key, text, answer_json(head, send, http::status::created));
      });
    }
    auto sub = number(parts[3]);
    if (parts.size() != 5 || parts[4] != "status" || !sub)
      return not_found("no such submission");
    if (method != http::verb::put)
      return wrong_method("PUT");
    auto body = object_body(req, send);
    if (!body)
      return true;
    return with([&svc, head, send, id = *id, sub = *sub, key = key_of(req, &*body),
                 verdict = string_field(*body, "verdict"), reason = string_field(*body, "reason")](actors::principal who) {
      svc.review_content(std::move(who), id, sub, key, verdict, reason, answer_json(head, send));
    });
  };

  // -- /api/v1/payments/campaigns/{id}/escrow ----------------------------------------------
  if (parts[0] == "payments") {
    auto id = parts.size() == 4 && parts[3] == "escrow" ? uuid::parse(parts[2]) : std::nullopt;
    if (!id)
      return not_found("no such campaign");
    if (method != http::verb::post)
      return wrong_method("POST");
    auto body = object_body(req, send);
    if (!body)
      return true;
    return with([&svc, head, send, id = *id, key = key_of(req, &*body),
                 pm = string_field(*body, "payment_method")](actors::principal who) {
      svc.fund_escrow(std::move(who), id, key, pm, answer_json(head, send));
    });
  }

  // -- /api/v1/campaigns[/{id}[/updates]] ---------------------------------------------------
  if (parts[0] == "campaigns") {
    if (parts.size() >= 3 && parts[2] == "content")
      return handle_content();
    if (method != http::verb::get)
      return wrong_method("GET");
    if (parts.size() == 1) {
      auto p = list_params();
      if (!p)
        return true;
      return with([&svc, head, send, p = *p](actors::principal who) {
        svc.list_published(std::move(who), p, answer_json(head, send));
      });
    }
    auto id = uuid::parse(parts[1]);
    if (!id || parts.size() > 3 || (parts.size() == 3 && parts[2] != "updates"))
      return not_found("no such campaign");
    if (parts.size() == 2)
      return with([&svc, head, send, id = *id](actors::principal who) {
        svc.get(std::move(who), id, answer_json(head, send));
      });
    auto after = query_param(target, "after");
    auto a = after.empty() ? std::optional<int64_t>{0} : number(after);
    auto limit = limit_param(100);
    if (!limit)
      return true;
    if (!a) {
      send(fail(req, 400, protocol::error_code::bad_request, "after must be a whole number", {{"after", "a seq"}}));
      return true;
    }
    return with([&svc, head, send, id = *id, after = *a, limit = *limit](actors::principal who) {
      svc.updates(std::move(who), id, after, limit, answer_json(head, send));
    });
  }

  // -- /api/v1/brands/campaigns... ----------------------------------------------------------
  if (parts[0] == "brands") {
    if (parts.size() == 2) {
      if (method == http::verb::get) {
        auto p = list_params();
        if (!p)
          return true;
        return with([&svc, head, send, p = *p](actors::principal who) {
          svc.list_mine(std::move(who), p, answer_json(head, send));
        });
      }
      if (method != http::verb::post)
        return wrong_method("GET, POST");
      auto body = object_body(req, send);
      if (!body)
        return true;
      auto key = key_of(req, &*body);
      body->erase("key");
      return with([&svc, head, send, key, details = body->dump()](actors::principal who) {
        svc.create(std::move(who), key, details, answer_json(head, send, http::status::created));
      });
    }
    auto id = uuid::parse(parts[2]);
    if (!id)
      return not_found("no such campaign");
    if (parts.size() == 3) {
      if (method != http::verb::put)
        return wrong_method("PUT");
      auto body = object_body(req, send);
      if (!body)
        return true;
      auto key = key_of(req, &*body);
      body->erase("key");
      return with([&svc, head, send, id = *id, key, details = body->dump()](actors::principal who) {
        svc.update(std::move(who), id, key, details, answer_json(head, send));
      });
    }
    if (parts.size() == 4 && parts[3] == "status") {
      if (method != http::verb::post)
        return wrong_method("POST");
      auto body = object_body(req, send);
      if (!body)
        return true;
      return with([&svc, head, send, id = *id, key = key_of(req, &*body), to = string_field(*body, "to")](actors::principal who) {
        svc.change_status(std::move(who), id, key, to, answer_json(head, send));
      });
    }
    if (parts.size() == 4 && parts[3] == "applications") {
      if (method != http::verb::get)
        return wrong_method("GET");
      auto before = query_param(target, "before");
      auto b = before.empty() ? std::optional<int64_t>{0} : number(before);
      auto limit = limit_param(50);
      if (!limit)
        return true;
      if (!b) {
        send(fail(req, 400, protocol::error_code::bad_request, "before must be a whole number", {{"before", "an application id"}}));
        return true;
      }
      return with([&svc, head, send, id = *id, before = *b, limit = *limit](actors::principal who) {
        svc.applications(std::move(who), id, before, limit, answer_json(head, send));
      });
    }
    if (parts.size() == 5 && parts[3] == "applications") {
      auto app = number(parts[4]);
      if (!app)
        return not_found("no such application");
      if (method != http::verb::put)
        return wrong_method("PUT");
      auto body = object_body(req, send);
      if (!body)
        return true;
      return with([&svc, head, send, id = *id, app = *app, key = key_of(req, &*body),
                   outcome = string_field(*body, "outcome"), reason = string_field(*body, "reason")](actors::principal who) {
        svc.decide_application(std::move(who), id, app, key, outcome, reason, answer_json(head, send));
      });
    }
    if (parts.size() == 4 && parts[3] == "invitations") {
      if (method != http::verb::post)
        return wrong_method("POST");
      auto body = object_body(req, send);
      if (!body)
        return true;
      auto creator = uuid::parse(string_field(*body, "creator"));
      if (!creator) {
        send(fail(req, 400, protocol::error_code::bad_request, "creator (a user id) is required",
                  {{"creator", "a creator's user id"}}));
        return true;
      }
      return with([&svc, head, send, id = *id, key = key_of(req, &*body), creator = *creator,
                   brief = string_field(*body, "brief")](actors::principal who) {
        svc.invite(std::move(who), id, key, creator, brief, answer_json(head, send, http::status::created));
      });
    }
    if (parts.size() == 4 && parts[3] == "matches") {
      if (method != http::verb::get)
        return wrong_method("GET");
      auto limit = limit_param(20);
      if (!limit)
        return true;
      return with([&gw, head, send, id = *id, limit = *limit](actors::principal who) {
        gw.rt.campaign_creator_matches(std::move(who), id, limit, answer_json(head, send));
      });
    }
    return not_found("no such endpoint");
  }

  // -- /api/v1/influencers/... --------------------------------------------------------------
  if (parts[1] == "invitations") {
    if (method != http::verb::get)
      return wrong_method("GET");
    auto limit = limit_param(20);
    if (!limit)
      return true;
    return with([&svc, head, send, before = query_param(target, "before"), limit = *limit](actors::principal who) {
      svc.invitations(std::move(who), before, limit, answer_json(head, send));
    });
  }
  if (parts.size() == 2) {
    if (method != http::verb::get)
      return wrong_method("GET");
    auto limit = limit_param(20);
    if (!limit)
      return true;
    return with([&gw, head, send, sort = query_param(target, "sort"), before = query_param(target, "before"),
                 limit = *limit](actors::principal who) {
      gw.rt.ranked_campaigns(std::move(who), sort, before, limit, answer_json(head, send));
    });
  }
  auto id = uuid::parse(parts[2]);
  if (!id)
    return not_found("no such campaign");
  if (parts.size() == 4 && parts[3] == "apply") {
    if (method != http::verb::post)
      return wrong_method("POST");
    auto body = object_body(req, send);
    if (!body)
      return true;
    int64_t amount = 0;
    if (auto a = body->find("amount"); a != body->end() && !a->is_null()) {
      if (!a->is_number_integer()) {
        send(fail(req, 400, protocol::error_code::bad_request, "amount must be whole minor units",
                  {{"amount", "an integer number of minor units"}}));
        return true;
      }
      amount = a->get<int64_t>();
    }
    return with([&svc, head, send, id = *id, key = key_of(req, &*body),
                 proposal = string_field(*body, "proposal"), amount](actors::principal who) {
      svc.apply(std::move(who), id, key, proposal, amount, answer_json(head, send, http::status::created));
    });
  }
  if (parts.size() == 6 && parts[3] == "applications" && parts[5] == "withdraw") {
    auto app = number(parts[4]);
    if (!app)
      return not_found("no such application");
    if (method != http::verb::post)
      return wrong_method("POST");
    auto body = req.body().empty() ? std::optional<json>{json::object()} : object_body(req, send);
    if (!body)
      return true;
    return with([&svc, head, send, id = *id, app = *app, key = key_of(req, &*body)](actors::principal who) {
      svc.withdraw_application(std::move(who), id, app, key, answer_json(head, send));
    });
  }
  if (parts.size() == 5 && parts[3] == "invitations") {
    auto inv = number(parts[4]);
    if (!inv)
      return not_found("no such invitation");
    if (method != http::verb::put)
      return wrong_method("PUT");
    auto body = object_body(req, send);
    if (!body)
      return true;
    return with([&svc, head, send, id = *id, inv = *inv, key = key_of(req, &*body),
                 outcome = string_field(*body, "outcome"), reason = string_field(*body, "reason")](actors::principal who) {
      svc.answer_invitation(std::move(who), id, inv, key, outcome, reason, answer_json(head, send));
    });
  }
  return not_found("no such endpoint");
}

} // namespace pactum::gateway
