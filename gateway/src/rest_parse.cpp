// Pure request checks shared by the REST handlers (no runtime, no socket).

#include "rest_parse.hpp"

#include <algorithm>
#include <charconv>

namespace pactum::gateway {

namespace http = boost::beast::http;

std::variant<nlohmann::json, http_refusal>
json_object_body(const http::request<http::string_body>& req) {
  auto ct = req[http::field::content_type];
  if (ct.substr(0, 16) != "application/json")
    return http_refusal{415, protocol::error_code::bad_request,
                        "Content-Type must be application/json"};
  auto body = nlohmann::json::parse(req.body(), nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return http_refusal{400, protocol::error_code::bad_request, "the body must be a JSON object"};
  return body;
}

std::optional<int64_t> positive_id(std::string_view text) {
  int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc{} || end != text.data() + text.size() || id <= 0)
    return std::nullopt;
  return id;
}

int64_t after_param(std::string_view target) {
  int64_t after = 0;
  if (auto q = target.find("after="); q != std::string_view::npos) {
    auto v = target.substr(q + 6);
    std::from_chars(v.data(), v.data() + v.size(), after);
  }
  return std::max<int64_t>(after, 0);
}

} // namespace pactum::gateway
