// REST endpoints for products, affiliate links, the `/r/{code}` redirect and signed conversions
// (docs/api.md, "Products and affiliate links"). The runtime's affiliate service authorises
// (policy::decide) and does the work; this file routes, authenticates and shapes answers.

#include "rest_affiliate.hpp"

#include <charconv>

#include "pactum/actors/affiliate.hpp"
#include "upgrade_check.hpp"

namespace pactum::gateway {

namespace {

using request = http::request<http::string_body>;

http_response fail(const request& head, int status, protocol::error_code code, std::string msg) {
  return error_response(head, actors::api_error{status, code, std::move(msg), {}});
}

bool starts_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(0, p.size()) == p;
}

/// Sends a service answer: the JSON text with `ok`, or the error.
std::function<void(expected<std::string, actors::api_error>)> answer(std::shared_ptr<request> head,
                                                                    std::function<void(http_response)> send,
                                                                    http::status ok = http::status::ok) {
  return [head = std::move(head), send = std::move(send), ok](expected<std::string, actors::api_error> r) {
    if (!r)
      return send(error_response(*head, r.error()));
    send(json_text(*head, ok, std::move(r.value())));
  };
}

} // namespace

bool handle_affiliate_rest(const request& req, std::string_view path, const std::string& client_address,
                           gateway_state& gw, const std::function<void(http_response)>& send) {
  auto method = req.method();
  auto wrong_method = [&](const char* allowed) {
    auto res = fail(req, 405, protocol::error_code::bad_request, std::string{"use "} + allowed);
    res.set(http::field::allow, allowed);
    send(std::move(res));
    return true;
  };

  // The redirect: public, no body, as cheap as possible (no JSON, no authentication).
  if (starts_with(path, "/r/")) {
    if (method != http::verb::get)
      return wrong_method("GET");
    actors::redirect_request r{std::string{path.substr(3)}, client_address,
                               std::string{req[http::field::user_agent]}, std::string{req[http::field::referer]}};
    auto version = req.version();
    auto keep_alive = req.keep_alive();
    gw.rt.affiliate().redirect(std::move(r), [version, keep_alive, send](expected<std::string, actors::api_error> loc) {
      if (!loc) {
        request head;
        head.version(version);
        head.keep_alive(keep_alive);
        return send(error_response(head, loc.error()));
      }
      http_response res{http::status::found, version};
      res.set(http::field::server, "pactumd");
      res.set(http::field::location, loc.value());
      res.set(http::field::cache_control, "no-store");
      res.keep_alive(keep_alive);
      res.prepare_payload();
      send(std::move(res));
    });
    return true;
  }

  auto head = std::make_shared<request>();
  head->version(req.version());
  head->keep_alive(req.keep_alive());
  auto target = std::string_view{req.target()};

  if (path == "/api/v1/track/conversion") {
    if (method != http::verb::post)
      return wrong_method("POST");
    actors::conversion_post post{std::string{req["X-Pactum-Brand"]}, std::string{req["X-Pactum-Timestamp"]},
                                 std::string{req["X-Pactum-Signature"]}, req.body(), client_address};
    gw.rt.affiliate().conversion(std::move(post), answer(head, send));
    return true;
  }
  if (path == "/api/v1/admin/tracking-stats") {
    if (method != http::verb::get)
      return wrong_method("GET");
    with_principal(req, client_address, gw, head, send, [&gw, head, send](actors::principal who) {
      gw.rt.affiliate().stats_for(std::move(who), answer(head, send));
    });
    return true;
  }
  if (path == "/api/v1/brands/signing-key") {
    if (method != http::verb::post)
      return wrong_method("POST");
    with_principal(req, client_address, gw, head, send, [&gw, head, send](actors::principal who) {
      gw.rt.affiliate().rotate_signing_key(std::move(who), answer(head, send, http::status::created));
    });
    return true;
  }
  if (path == "/api/v1/brands/products/import") {
    if (method != http::verb::post)
      return wrong_method("POST");
    if (!starts_with(std::string_view{req[http::field::content_type]}, "text/csv")) {
      send(fail(req, 415, protocol::error_code::bad_request, "Content-Type must be text/csv"));
      return true;
    }
    with_principal(req, client_address, gw, head, send, [&gw, head, send, body = req.body()](actors::principal who) mutable {
      gw.rt.affiliate().import_products(std::move(who), std::move(body), answer(head, send));
    });
    return true;
  }
  if (path == "/api/v1/brands/products") {
    if (method == http::verb::get) {
      size_t limit = 100;
      auto l = query_param(target, "limit");
      if (!l.empty()) {
        auto [end, ec] = std::from_chars(l.data(), l.data() + l.size(), limit);
        if (ec != std::errc{} || end != l.data() + l.size()) {
          send(fail(req, 400, protocol::error_code::bad_request, "limit must be a whole number"));
          return true;
        }
      }
      with_principal(req, client_address, gw, head, send,
                     [&gw, head, send, limit, before = query_param(target, "before")](actors::principal who) {
                       gw.rt.affiliate().list_products(std::move(who), before, limit, answer(head, send));
                     });
      return true;
    }
    if (method != http::verb::post)
      return wrong_method("GET, POST");
    if (!object_body(req, send))
      return true;
    with_principal(req, client_address, gw, head, send, [&gw, head, send, body = req.body()](actors::principal who) mutable {
      gw.rt.affiliate().create_product(std::move(who), std::move(body), answer(head, send, http::status::created));
    });
    return true;
  }
  if (constexpr std::string_view prefix = "/api/v1/brands/products/";
      path.size() > prefix.size() && starts_with(path, prefix)) {
    auto id = uuid::parse(path.substr(prefix.size()));
    if (!id) {
      send(fail(req, 404, protocol::error_code::not_found, "no such product"));
      return true;
    }
    if (method == http::verb::get) {
      with_principal(req, client_address, gw, head, send, [&gw, head, send, id = *id](actors::principal who) {
        gw.rt.affiliate().get_product(std::move(who), id, answer(head, send));
      });
      return true;
    }
    if (method == http::verb::put) {
      if (!object_body(req, send))
        return true;
      with_principal(req, client_address, gw, head, send, [&gw, head, send, id = *id, body = req.body()](actors::principal who) mutable {
        gw.rt.affiliate().update_product(std::move(who), id, std::move(body), answer(head, send));
      });
      return true;
    }
    if (method == http::verb::delete_) {
      with_principal(req, client_address, gw, head, send, [&gw, head, send, id = *id](actors::principal who) {
        gw.rt.affiliate().delete_product(std::move(who), id, answer(head, send));
      });
      return true;
    }
    return wrong_method("GET, PUT, DELETE");
  }
  if (constexpr std::string_view prefix = "/api/v1/campaigns/";
      starts_with(path, prefix) && path.size() > prefix.size() + 6 && path.ends_with("/links")) {
    auto id = uuid::parse(path.substr(prefix.size(), path.size() - prefix.size() - 6));
    if (!id) {
      send(fail(req, 404, protocol::error_code::not_found, "no such campaign"));
      return true;
    }
    if (method == http::verb::get) {
      with_principal(req, client_address, gw, head, send, [&gw, head, send, id = *id](actors::principal who) {
        gw.rt.affiliate().list_links(std::move(who), id, answer(head, send));
      });
      return true;
    }
    if (method != http::verb::post)
      return wrong_method("GET, POST");
    if (!object_body(req, send))
      return true;
    with_principal(req, client_address, gw, head, send, [&gw, head, send, id = *id, body = req.body()](actors::principal who) mutable {
      gw.rt.affiliate().create_link(std::move(who), id, std::move(body), answer(head, send));
    });
    return true;
  }
  return false;
}

} // namespace pactum::gateway
