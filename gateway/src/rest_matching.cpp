// REST endpoint for matching (docs/api.md, "Matching"). The runtime authorises (policy::decide),
// validates the campaign details and ranks; this file routes, authenticates and reads `limit`.

#include "rest_matching.hpp"

#include <charconv>

#include "upgrade_check.hpp"

namespace pactum::gateway {

namespace {

using request = http::request<http::string_body>;

/// Results when the request names no `limit`.
constexpr size_t default_limit = 20;

} // namespace

bool handle_matching_rest(const request& req, std::string_view path, const std::string& client_address,
                          gateway_state& gw, const std::function<void(http_response)>& send) {
  if (path != "/api/v1/brands/matches")
    return false;
  if (req.method() != http::verb::post) {
    auto res = error_response(req, actors::api_error{405, protocol::error_code::bad_request, "use POST", {}});
    res.set(http::field::allow, "POST");
    send(std::move(res));
    return true;
  }
  if (req[http::field::content_type].substr(0, 16) != "application/json") {
    send(error_response(req, actors::api_error{415, protocol::error_code::bad_request,
                                               "Content-Type must be application/json", {}}));
    return true;
  }
  size_t limit = default_limit;
  if (auto v = query_param(std::string_view{req.target()}, "limit"); !v.empty()) {
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), limit);
    if (ec != std::errc{} || end != v.data() + v.size() || limit == 0) {
      actors::api_error e{400, protocol::error_code::bad_request, "some fields are invalid", {}};
      e.fields.emplace_back("limit", "must be a whole number from 1");
      send(error_response(req, e));
      return true;
    }
  }
  auto head = std::make_shared<request>();
  head->version(req.version());
  head->keep_alive(req.keep_alive());
  with_principal(req, client_address, gw, head, send,
                 [&gw, head, send, limit, body = req.body()](actors::principal who) {
                   gw.rt.preview_matches(std::move(who), body, limit,
                                         [head, send](expected<std::string, actors::api_error> r) {
                                           if (!r)
                                             return send(error_response(*head, r.error()));
                                           send(json_text(*head, http::status::ok, std::move(r.value())));
                                         });
                 });
  return true;
}

} // namespace pactum::gateway
