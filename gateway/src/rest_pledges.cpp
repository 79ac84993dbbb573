// Pledge campaign endpoints (docs/api.md, "Pledge campaigns"): create, launch, read, list, pledge,
// cancel one's pledge, and the creator's list of backers. The runtime validates, authorises
// (policy::decide where the relation is known) and audits; this file reads requests and shapes
// answers.

#include "rest_pledges.hpp"

#include <charconv>
#include <cstdint>

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

/// An integer member (absent: `fallback`); nullopt when present but not an integer.
std::optional<int64_t> integer_field(const json& body, const char* key, std::optional<int64_t> fallback) {
  auto i = body.find(key);
  if (i == body.end() || i->is_null())
    return fallback;
  if (!i->is_number_integer() || (i->is_number_unsigned() && i->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)))
    return std::nullopt;
  return i->get<int64_t>();
}

} // namespace

bool handle_pledges_rest(const request& req, std::string_view path, const std::string& client_address,
                         gateway_state& gw, std::function<void(http_response)> send) {
  constexpr std::string_view base = "/api/v1/pledges";
  if (path.substr(0, base.size()) != base || (path.size() > base.size() && path[base.size()] != '/'))
    return false;
  auto method = req.method();
  auto head = std::make_shared<request>();
  head->version(req.version());
  head->keep_alive(req.keep_alive());
  auto target = std::string_view{req.target()};

  if (path == base) {
    if (method == http::verb::get) {
      auto after_text = query_param(target, "after");
      uuid after{};
      if (!after_text.empty()) {
        auto parsed = uuid::parse(after_text);
        if (!parsed) {
          bad_request(req, send, "after", "must be a campaign id");
          return true;
        }
        after = *parsed;
      }
      size_t limit = 20;
      if (auto l = query_param(target, "limit"); !l.empty()) {
        auto [end, ec] = std::from_chars(l.data(), l.data() + l.size(), limit);
        if (ec != std::errc{} || end != l.data() + l.size() || limit < 1 || limit > 100) {
          bad_request(req, send, "limit", "must be 1 to 100");
          return true;
        }
      }
      with_principal(req, client_address, gw, head, send, [&gw, head, send, after, limit](actors::principal who) {
        gw.rt.pledge_list(std::move(who), after, limit, answer_json(head, send, http::status::ok));
      });
      return true;
    }
    if (method != http::verb::post) {
      wrong_method(req, send, "GET, POST");
      return true;
    }
    auto body = object_body(req, send);
    if (!body)
      return true;
    actors::pledge_create_request c;
    c.key = string_field(*body, "key");
    c.title = string_field(*body, "title");
    c.description = string_field(*body, "description");
    c.currency = string_field(*body, "currency");
    auto goal = integer_field(*body, "goal", std::nullopt);
    auto end_at = integer_field(*body, "end_at", std::nullopt);
    if (!goal) {
      bad_request(req, send, "goal", "must be an integer amount in minor units");
      return true;
    }
    if (!end_at) {
      bad_request(req, send, "end_at", "must be a time in ms since the epoch");
      return true;
    }
    c.goal = *goal;
    c.end_at = *end_at;
    auto tiers = body->find("tiers");
    if (tiers == body->end() || !tiers->is_array()) {
      bad_request(req, send, "tiers", "must be an array of {title, price, quantity, delivery_at}");
      return true;
    }
    for (auto& t : *tiers) {
      if (!t.is_object()) {
        bad_request(req, send, "tiers", "each tier is an object");
        return true;
      }
      auto price = integer_field(t, "price", std::nullopt);
      auto quantity = integer_field(t, "quantity", 0);
      auto delivery = integer_field(t, "delivery_at", 0);
      if (!price || !quantity || !delivery) {
        bad_request(req, send, "tiers", "price, quantity and delivery_at are integers");
        return true;
      }
      c.tiers.push_back(protocol::pledge_tier{string_field(t, "title"), *price, *quantity, *delivery});
    }
    with_principal(req, client_address, gw, head, send, [&gw, head, send, c = std::move(c)](actors::principal who) mutable {
      gw.rt.pledge_create(std::move(who), std::move(c), answer_json(head, send, http::status::created));
    });
    return true;
  }

  // /api/v1/pledges/{id}[/...]
  auto rest = path.substr(base.size() + 1);
  auto slash = rest.find('/');
  auto id_text = rest.substr(0, slash);
  auto sub = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  auto id = uuid::parse(id_text);
  if (!id || (!sub.empty() && sub != "launch" && sub != "pledge" && sub != "backers")) {
    send(error_response(req, actors::api_error{404, protocol::error_code::not_found,
                                               id ? "no such endpoint" : "no such pledge campaign", {}}));
    return true;
  }
  auto campaign = *id;
  if (sub.empty()) {
    if (method != http::verb::get) {
      wrong_method(req, send, "GET");
      return true;
    }
    with_principal(req, client_address, gw, head, send, [&gw, head, send, campaign](actors::principal who) {
      gw.rt.pledge_get(std::move(who), campaign, answer_json(head, send, http::status::ok));
    });
    return true;
  }
  if (sub == "backers") {
    if (method != http::verb::get) {
      wrong_method(req, send, "GET");
      return true;
    }
    with_principal(req, client_address, gw, head, send, [&gw, head, send, campaign](actors::principal who) {
      gw.rt.pledge_backers(std::move(who), campaign, answer_json(head, send, http::status::ok));
    });
    return true;
  }
  if (sub == "launch") {
    if (method != http::verb::post) {
      wrong_method(req, send, "POST");
      return true;
    }
    auto body = object_body(req, send);
    if (!body)
      return true;
    with_principal(req, client_address, gw, head, send,
                   [&gw, head, send, campaign, key = string_field(*body, "key")](actors::principal who) {
                     gw.rt.pledge_launch(std::move(who), campaign, key, answer_json(head, send, http::status::ok));
                   });
    return true;
  }
  // sub == "pledge"
  if (method == http::verb::delete_) {
    // The key may come as ?key= (DELETE bodies are unusual) or in a JSON body.
    std::string key = query_param(target, "key");
    if (key.empty() && !req.body().empty()) {
      auto body = object_body(req, send);
      if (!body)
        return true;
      key = string_field(*body, "key");
    }
    with_principal(req, client_address, gw, head, send, [&gw, head, send, campaign, key](actors::principal who) {
      gw.rt.pledge_cancel(std::move(who), campaign, key, answer_json(head, send, http::status::ok));
    });
    return true;
  }
  if (method != http::verb::post) {
    wrong_method(req, send, "POST, DELETE");
    return true;
  }
  auto body = object_body(req, send);
  if (!body)
    return true;
  auto tier = integer_field(*body, "tier", std::nullopt);
  auto amount = integer_field(*body, "amount", 0);
  if (!tier) {
    bad_request(req, send, "tier", "must be the tier's index (an integer)");
    return true;
  }
  if (!amount) {
    bad_request(req, send, "amount", "must be an integer amount in minor units");
    return true;
  }
  actors::pledge_back_request b{string_field(*body, "key"), *tier, *amount, string_field(*body, "payment_method")};
  with_principal(req, client_address, gw, head, send, [&gw, head, send, campaign, b = std::move(b)](actors::principal who) mutable {
    gw.rt.pledge_back(std::move(who), campaign, std::move(b), answer_json(head, send, http::status::ok));
  });
  return true;
}

} // namespace pactum::gateway
