// REST endpoint for creator search (docs/api.md "Creator search"). This file routes,
// authenticates the bearer token and decodes the query string; the runtime authorises
// (policy::decide), validates every parameter and runs the search.

#include "rest_search.hpp"

#include "pactum/actors/policy.hpp"
#include "upgrade_check.hpp"

namespace pactum::gateway {

namespace {

/// More parameters than any valid search has (every parameter once, lists repeated a little).
constexpr size_t max_query_pairs = 64;

} // namespace

std::optional<std::vector<std::pair<std::string, std::string>>> decode_query(std::string_view target,
                                                                             size_t max_pairs) {
  std::vector<std::pair<std::string, std::string>> out;
  auto q = target.find('?');
  if (q == std::string_view::npos)
    return out;
  auto rest = target.substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    auto pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (pair.empty())
      continue;
    if (out.size() == max_pairs)
      return std::nullopt;
    auto eq = pair.find('=');
    auto name = percent_decode(pair.substr(0, eq));
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (!name || !value)
      return std::nullopt;
    out.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

bool handle_search_rest(const http::request<http::string_body>& req, std::string_view path,
                        const std::string& client_address, gateway_state& gw,
                        std::function<void(http_response)> send) {
  if (path != "/api/v1/search/influencers")
    return false;
  if (req.method() != http::verb::get) {
    auto res = error_response(req, actors::api_error{405, protocol::error_code::bad_request, "use GET", {}});
    res.set(http::field::allow, "GET");
    send(std::move(res));
    return true;
  }
  auto head = std::make_shared<http::request<http::string_body>>();
  head->version(req.version());
  head->keep_alive(req.keep_alive());
  with_principal(req, client_address, gw, head, send,
                 [&gw, head, send, target = std::string{req.target()}](actors::principal who) {
                   // The policy before the query string, so a refused caller learns nothing
                   // from how it is parsed (the runtime asks it again, for other callers).
                   namespace policy = actors::policy;
                   if (auto no = policy::decide(policy::action::creator_search, policy::parse_role(who.role),
                                                policy::relation::none))
                     return send(error_response(*head, actors::api_error{no->status, no->code,
                                                                         std::string{no->message}, {}}));
                   auto params = decode_query(target, max_query_pairs);
                   if (!params)
                     return send(error_response(
                       *head, actors::api_error{400, protocol::error_code::bad_request,
                                                "the query string is malformed (bad %-escape) or has more than 64 parameters",
                                                {}}));
                   gw.rt.search_creators(std::move(who), std::move(*params),
                                         [head, send](expected<std::string, actors::api_error> r) {
                                           if (!r)
                                             return send(error_response(*head, r.error()));
                                           send(json_text(*head, http::status::ok, std::move(r.value())));
                                         });
                 });
  return true;
}

} // namespace pactum::gateway
