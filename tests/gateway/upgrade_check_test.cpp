// The pure checks of a WebSocket upgrade (gateway/src/upgrade_check.hpp): endpoint, Origin and
// where the credential comes from. The end-to-end behaviour is in tests/e2e/hardening_test.cpp.

#include "upgrade_check.hpp"

#include <gtest/gtest.h>

#include "rest_parse.hpp"

namespace http = boost::beast::http;
using namespace pactum::gateway;

namespace {

http::request<http::string_body> upgrade(std::string target = "/ws") {
  http::request<http::string_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "pactum.example:443");
  req.set(http::field::upgrade, "websocket");
  req.set(http::field::connection, "Upgrade");
  return req;
}

upgrade_request accepted(const http::request<http::string_body>& req) {
  auto r = check_upgrade(req, {"https://app.example.com"}, false);
  if (auto* no = std::get_if<http_refusal>(&r)) {
    ADD_FAILURE() << "refused " << no->status << ": " << no->message;
    return {};
  }
  return std::get<upgrade_request>(r);
}

int refused(const http::request<http::string_body>& req, bool draining = false) {
  auto r = check_upgrade(req, {"https://app.example.com"}, draining);
  auto* no = std::get_if<http_refusal>(&r);
  return no ? no->status : 0;
}

} // namespace

TEST(UpgradeCheck, EndpointDrainingAndOriginComeBeforeCredentials) {
  auto req = upgrade("/other");
  req.set(http::field::authorization, "Bearer abc");
  EXPECT_EQ(refused(req), 404);
  EXPECT_EQ(refused(upgrade("/ws?ticket=t"), true), 503);
  auto foreign = upgrade();
  foreign.set(http::field::origin, "https://evil.example");
  foreign.set(http::field::sec_websocket_protocol, "pactum.v1, pactum.bearer.abc");
  EXPECT_EQ(refused(foreign), 403);
  for (auto origin : {"https://pactum.example:443", "http://pactum.example:443", "https://app.example.com"}) {
    auto own = upgrade();
    own.set(http::field::origin, origin);
    EXPECT_EQ(refused(own), 0) << origin;
  }
}

TEST(UpgradeCheck, SubprotocolCredentialsAreParsedFromAnyHeaderLineAndPosition) {
  auto req = upgrade();
  req.insert(http::field::sec_websocket_protocol, "chat.other");
  req.insert(http::field::sec_websocket_protocol, " pactum.bearer.Tok-en_1 ,\tpactum.v1 ");
  auto up = accepted(req);
  EXPECT_EQ(up.kind, upgrade_request::credential::bearer);
  EXPECT_EQ(up.secret, "Tok-en_1");
  EXPECT_TRUE(up.answer_v1);

  auto ticket = upgrade();
  ticket.set(http::field::sec_websocket_protocol, "pactum.v1,pactum.ticket.T1");
  EXPECT_EQ(accepted(ticket).kind, upgrade_request::credential::ticket);
  EXPECT_EQ(accepted(ticket).secret, "T1");
}

TEST(UpgradeCheck, MalformedOffersAreBadRequests) {
  auto alone = upgrade();
  alone.set(http::field::sec_websocket_protocol, "pactum.bearer.abc");
  EXPECT_EQ(refused(alone), 400);
  auto two = upgrade();
  two.set(http::field::sec_websocket_protocol, "pactum.v1, pactum.bearer.a, pactum.bearer.b");
  EXPECT_EQ(refused(two), 400);
  auto empty = upgrade();
  empty.set(http::field::sec_websocket_protocol, "pactum.v1, pactum.ticket.");
  EXPECT_EQ(refused(empty), 400);
  auto odd = upgrade();
  odd.set(http::field::sec_websocket_protocol, "pactum.v1, pactum.bearer.a/b=");
  EXPECT_EQ(refused(odd), 400);
}

TEST(UpgradeCheck, QueryTicketThenSubprotocolThenAuthorizationHeader) {
  auto req = upgrade("/ws?x=1&ticket=Q");
  req.set(http::field::sec_websocket_protocol, "pactum.v1, pactum.bearer.S");
  req.set(http::field::authorization, "Bearer H");
  EXPECT_EQ(accepted(req).secret, "Q");
  EXPECT_EQ(accepted(req).kind, upgrade_request::credential::ticket);
  req.target("/ws");
  EXPECT_EQ(accepted(req).secret, "S");
  req.erase(http::field::sec_websocket_protocol);
  EXPECT_EQ(accepted(req).secret, "H");
  EXPECT_FALSE(accepted(req).answer_v1);
  req.set(http::field::authorization, "bearer H2");
  EXPECT_EQ(accepted(req).secret, "H2") << "the scheme is case-insensitive";
  req.erase(http::field::authorization);
  EXPECT_EQ(accepted(req).kind, upgrade_request::credential::none);
}

TEST(RestParse, BodiesIdsAndQueryParameters) {
  http::request<http::string_body> req{http::verb::post, "/x", 11};
  req.body() = "{}";
  EXPECT_EQ(std::get<http_refusal>(json_object_body(req)).status, 415);
  req.set(http::field::content_type, "application/json; charset=utf-8");
  EXPECT_TRUE(std::holds_alternative<nlohmann::json>(json_object_body(req)));
  for (auto bad : {"[]", "", "{", "1", "\"s\""}) {
    req.body() = bad;
    EXPECT_EQ(std::get<http_refusal>(json_object_body(req)).status, 400) << bad;
  }
  EXPECT_EQ(positive_id("42"), 42);
  for (auto bad : {"", "0", "-1", "4x", "99999999999999999999", " 1"})
    EXPECT_FALSE(positive_id(bad).has_value()) << bad;
  EXPECT_EQ(after_param("/c?after=17"), 17);
  EXPECT_EQ(after_param("/c?after=-5"), 0);
  EXPECT_EQ(after_param("/c"), 0);
  EXPECT_TRUE(is_base64url("AZaz09-_"));
  EXPECT_FALSE(is_base64url("a+b"));
  EXPECT_FALSE(is_base64url(""));
}

TEST(QueryParam, ValuesArePercentDecodedAsBrowsersEncodeThem) {
  // A campaign search for two words, as encodeURIComponent and URLSearchParams send it.
  EXPECT_EQ(query_param("/api/v1/campaigns?q=summer%20rides&limit=5", "q"), "summer rides");
  EXPECT_EQ(query_param("/api/v1/campaigns?q=summer+rides", "q"), "summer rides");
  EXPECT_EQ(query_param("/api/v1/campaigns?q=caf%C3%A9", "q"), "caf\xC3\xA9");
  EXPECT_EQ(query_param("/api/v1/campaigns?limit=5&before=a%2Cb", "before"), "a,b");
  // A malformed escape is returned as sent (the endpoint then judges the value).
  EXPECT_EQ(query_param("/x?q=100%", "q"), "100%");
  EXPECT_EQ(query_param("/x?q=%zz", "q"), "%zz");
  // Tickets are base64url: unchanged.
  EXPECT_EQ(query_param("/ws?ticket=Ab-_09xyz", "ticket"), "Ab-_09xyz");
  EXPECT_EQ(query_param("/x?qq=1", "q"), "");
}
