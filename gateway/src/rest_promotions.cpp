// Local promotion endpoints (docs/api.md, "Local promotions"): create, list, read, pause/close,
// join, issue codes, render a code as PNG or SVG, redeem, repost, and the locality leaderboard.
// The promotion service (actors/include/pactum/actors/promotions.hpp) validates, authorises and
// audits; this file routes, reads requests and shapes answers (QR rendering included).

#include "rest_promotions.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

#include "pactum/actors/promotions.hpp"
#include "qr_render.hpp"

namespace pactum::gateway {

using json = nlohmann::json;

namespace {

using request = http::request<http::string_body>;

void bad_field(const request& req, const std::function<void(http_response)>& send, std::string field,
               std::string msg) {
  actors::api_error e{400, protocol::error_code::bad_request, "some fields are invalid", {}};
  e.fields.emplace_back(std::move(field), std::move(msg));
  send(error_response(req, e));
}

/// A whole-number query parameter in [lo, hi] (absent: `fallback`); nullopt when malformed.
std::optional<int64_t> int_param(std::string_view target, const char* name, int64_t fallback, int64_t lo, int64_t hi) {
  auto v = query_param(target, name);
  if (v.empty())
    return fallback;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc{} || end != v.data() + v.size() || n < lo || n > hi)
    return std::nullopt;
  return n;
}

http_response image(const request& head, std::string content_type, std::string body) {
  http_response res{http::status::ok, head.version()};
  res.set(http::field::server, "pactumd");
  res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "private, no-store");
  res.keep_alive(head.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

} // namespace

bool handle_promotions_rest(const request& req, std::string_view path, const std::string& client_address,
                            gateway_state& gw, std::function<void(http_response)> send) {
  constexpr std::string_view base = "/api/v1/promotions";
  if (path.substr(0, base.size()) != base || (path.size() > base.size() && path[base.size()] != '/'))
    return false;
  auto method = req.method();
  auto head = std::make_shared<request>();
  head->version(req.version());
  head->keep_alive(req.keep_alive());
  auto target = std::string_view{req.target()};

  if (path == base) {
    if (method == http::verb::get) {
      auto limit = int_param(target, "limit", 20, 1, 100);
      if (!limit) {
        bad_field(req, send, "limit", "must be 1 to 100");
        return true;
      }
      with_principal(req, client_address, gw, head, send,
                     [&gw, head, send, loc = query_param(target, "locality"), limit = *limit](actors::principal who) {
                       gw.rt.promotions().list(std::move(who), loc, static_cast<size_t>(limit),
                                               answer_json(head, send, http::status::ok));
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
    with_principal(req, client_address, gw, head, send, [&gw, head, send, text = body->dump()](actors::principal who) {
      gw.rt.promotions().create(std::move(who), text, answer_json(head, send, http::status::created));
    });
    return true;
  }
  auto rest = path.substr(base.size() + 1);
  if (rest == "redeem") {
    if (method != http::verb::post) {
      wrong_method(req, send, "POST");
      return true;
    }
    auto body = object_body(req, send);
    if (!body)
      return true;
    with_principal(req, client_address, gw, head, send, [&gw, head, send, token = string_field(*body, "token")](actors::principal who) {
      gw.rt.promotions().redeem(std::move(who), token, answer_json(head, send, http::status::ok));
    });
    return true;
  }
  if (rest == "leaderboard") {
    if (method != http::verb::get) {
      wrong_method(req, send, "GET");
      return true;
    }
    auto limit = int_param(target, "limit", 10, 1, 1'000'000);
    if (!limit) {
      bad_field(req, send, "limit", "must be a positive whole number");
      return true;
    }
    with_principal(req, client_address, gw, head, send,
                   [&gw, head, send, loc = query_param(target, "locality"), limit = *limit](actors::principal who) {
                     gw.rt.promotions().leaderboard(std::move(who), loc, static_cast<size_t>(limit),
                                                    answer_json(head, send, http::status::ok));
                   });
    return true;
  }

  // /api/v1/promotions/{id}[/status|/join|/codes|/codes/{nonce}.png|.svg|/reposts]
  auto slash = rest.find('/');
  auto id = uuid::parse(rest.substr(0, slash));
  auto sub = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  if (!id) {
    send(error_response(req, actors::api_error{404, protocol::error_code::not_found, "no such promotion", {}}));
    return true;
  }
  auto promotion = *id;
  if (sub.empty()) {
    if (method != http::verb::get) {
      wrong_method(req, send, "GET");
      return true;
    }
    with_principal(req, client_address, gw, head, send, [&gw, head, send, promotion](actors::principal who) {
      gw.rt.promotions().get(std::move(who), promotion, answer_json(head, send, http::status::ok));
    });
    return true;
  }
  if (constexpr std::string_view codes = "codes/"; sub.size() > codes.size() && sub.substr(0, codes.size()) == codes) {
    if (method != http::verb::get) {
      wrong_method(req, send, "GET");
      return true;
    }
    auto file = sub.substr(codes.size());
    bool png = file.size() > 4 && file.substr(file.size() - 4) == ".png";
    bool svg = file.size() > 4 && file.substr(file.size() - 4) == ".svg";
    auto scale = int_param(target, "scale", 8, 1, 32);
    if (!png && !svg) {
      send(error_response(req, actors::api_error{404, protocol::error_code::not_found, "no such code", {}}));
      return true;
    }
    if (!scale) {
      bad_field(req, send, "scale", "must be 1 to 32 (pixels per module)");
      return true;
    }
    with_principal(req, client_address, gw, head, send,
                   [&gw, head, send, promotion, nonce = std::string{file.substr(0, file.size() - 4)}, png,
                    scale = static_cast<int>(*scale)](actors::principal who) {
                     gw.rt.promotions().code_token(
                       std::move(who), promotion, nonce,
                       [head, send, png, scale](expected<std::string, actors::api_error> token) {
                         if (!token)
                           return send(error_response(*head, token.error()));
                         auto m = qr::encode(token.value());
                         if (!m)
                           return send(error_response(*head, actors::api_error{500, protocol::error_code::internal,
                                                                               "the code does not fit a QR code", {}}));
                         if (png)
                           return send(image(*head, "image/png", qr::render_png(*m, scale)));
                         send(image(*head, "image/svg+xml", qr::render_svg(*m)));
                       });
                   });
    return true;
  }
  if (sub != "status" && sub != "join" && sub != "codes" && sub != "reposts") {
    send(error_response(req, actors::api_error{404, protocol::error_code::not_found, "no such endpoint", {}}));
    return true;
  }
  if (method != http::verb::post) {
    wrong_method(req, send, "POST");
    return true;
  }
  if (sub == "join") {
    with_principal(req, client_address, gw, head, send, [&gw, head, send, promotion](actors::principal who) {
      gw.rt.promotions().join(std::move(who), promotion, answer_json(head, send, http::status::ok));
    });
    return true;
  }
  auto body = object_body(req, send);
  if (!body)
    return true;
  if (sub == "status") {
    with_principal(req, client_address, gw, head, send,
                   [&gw, head, send, promotion, to = string_field(*body, "to")](actors::principal who) {
                     gw.rt.promotions().set_status(std::move(who), promotion, to, answer_json(head, send, http::status::ok));
                   });
    return true;
  }
  if (sub == "codes") {
    auto count = body->find("count");
    int64_t n = 1;
    if (count != body->end()) {
      if (!count->is_number_integer()) {
        bad_field(req, send, "count", "must be a whole number");
        return true;
      }
      n = count->is_number_unsigned() && count->get<uint64_t>() > 1'000'000 ? 1'000'000 : count->get<int64_t>();
    }
    with_principal(req, client_address, gw, head, send, [&gw, head, send, promotion, n](actors::principal who) {
      gw.rt.promotions().issue_codes(std::move(who), promotion, n, answer_json(head, send, http::status::created));
    });
    return true;
  }
  // sub == "reposts"
  with_principal(req, client_address, gw, head, send,
                 [&gw, head, send, promotion, platform = string_field(*body, "platform"),
                  url = string_field(*body, "url")](actors::principal who) {
                   gw.rt.promotions().repost(std::move(who), promotion, platform, url,
                                             answer_json(head, send, http::status::created));
                 });
  return true;
}

} // namespace pactum::gateway
