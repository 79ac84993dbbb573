// REST endpoints for analytics (docs/api.md, "Analytics"). The runtime authorises
// (policy::decide) and builds the reports; this file routes, authenticates and parses the query.

#include "rest_analytics.hpp"

#include <algorithm>
#include <charconv>

#include "upgrade_check.hpp"

namespace pactum::gateway {

namespace {

using request = http::request<http::string_body>;

constexpr std::string_view prefix = "/api/v1/analytics/campaigns/";
constexpr int64_t default_range_ms = 7LL * 24 * 60 * 60 * 1000;

/// A whole number query parameter (absent: `out` unchanged); false when malformed.
bool number_param(std::string_view target, const char* name, int64_t& out) {
  auto v = query_param(target, name);
  if (v.empty())
    return true;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc{} || end != v.data() + v.size() || n < 0)
    return false;
  out = n;
  return true;
}

http_response bad(const request& req, const char* field, const char* msg) {
  actors::api_error e{400, protocol::error_code::bad_request, "some fields are invalid", {}};
  e.fields.emplace_back(field, msg);
  return error_response(req, e);
}

} // namespace

bool handle_analytics_rest(const request& req, std::string_view path, const std::string& client_address,
                           gateway_state& gw, const std::function<void(http_response)>& send) {
  if (path.size() <= prefix.size() || path.substr(0, prefix.size()) != prefix)
    return false;
  auto rest = path.substr(prefix.size());
  auto slash = rest.find('/');
  if (slash == std::string_view::npos)
    return false;
  auto what = rest.substr(slash + 1);
  if (what != "performance" && what != "invalid-traffic")
    return false;
  if (req.method() != http::verb::get) {
    auto res = error_response(req, actors::api_error{405, protocol::error_code::bad_request, "use GET", {}});
    res.set(http::field::allow, "GET");
    send(std::move(res));
    return true;
  }
  auto id = uuid::parse(std::string{rest.substr(0, slash)});
  if (!id) {
    send(error_response(req, actors::api_error{404, protocol::error_code::not_found, "no such campaign", {}}));
    return true;
  }
  auto target = std::string_view{req.target()};
  auto head = std::make_shared<request>();
  head->version(req.version());
  head->keep_alive(req.keep_alive());
  auto reply = [head, send](expected<std::string, actors::api_error> r) {
    if (!r)
      return send(error_response(*head, r.error()));
    send(json_text(*head, http::status::ok, std::move(r.value())));
  };
  if (what == "performance") {
    int64_t to = now_millis();
    int64_t from = -1;
    if (!number_param(target, "to", to)) {
      send(bad(req, "to", "must be milliseconds since the epoch"));
      return true;
    }
    if (!number_param(target, "from", from)) {
      send(bad(req, "from", "must be milliseconds since the epoch"));
      return true;
    }
    if (from < 0)
      from = std::max<int64_t>(to - default_range_ms, 0);
    auto bucket = query_param(target, "bucket");
    if (bucket.empty())
      bucket = "hour";
    with_principal(req, client_address, gw, head, send,
                   [&gw, reply, id = *id, from, to, bucket](actors::principal who) {
                     gw.rt.campaign_performance(std::move(who), id, from, to, bucket, reply);
                   });
    return true;
  }
  int64_t before = 0;
  int64_t limit = 50;
  if (!number_param(target, "before", before) || !number_param(target, "limit", limit)) {
    send(bad(req, "limit", "before and limit must be whole numbers"));
    return true;
  }
  auto kind = query_param(target, "kind");
  with_principal(req, client_address, gw, head, send,
                 [&gw, reply, id = *id, kind, before, limit](actors::principal who) {
                   gw.rt.campaign_invalid_traffic(std::move(who), id, kind, before, static_cast<size_t>(limit), reply);
                 });
  return true;
}

} // namespace pactum::gateway
