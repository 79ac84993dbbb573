#include "pactum/payments/webhook.hpp"

#include <cctype>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace pactum::payments {
namespace {

constexpr std::string_view secret = "whsec_test";
constexpr std::string_view body = R"({"id":"evt_1"})";
constexpr int64_t t0 = 1'700'000'000;

/// HMAC-SHA256("whsec_test", "1700000000.{"id":"evt_1"}"), computed independently with
/// `openssl dgst -sha256 -hmac whsec_test`.
constexpr std::string_view known_mac =
  "c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925";

std::string v1_of(const std::string& header) {
  return header.substr(header.find("v1=") + 3);
}

TEST(WebhookSignatureTest, SignsTimestampDotBodyWithHmacSha256) {
  EXPECT_EQ(sign_webhook(secret, t0, body), "t=1700000000,v1=" + std::string{known_mac});
}

TEST(WebhookSignatureTest, AcceptsKeysOfAnyLength) {
  // Longer than the SHA-256 block: the key is hashed first (RFC 2104); checked against Python's
  // hmac module.
  std::string long_key(100, 'k');
  EXPECT_EQ(v1_of(sign_webhook(long_key, t0, body)),
       "d604ae855524ebe09de99cb41aba5ad4199a1338ed33c2869c2b1a0c58856217");
  EXPECT_EQ(verify_webhook(long_key, sign_webhook(long_key, t0, body), body, t0),
       webhook_check::ok);
  EXPECT_EQ(verify_webhook("", sign_webhook("", t0, body), body, t0), webhook_check::ok);
}

TEST(WebhookSignatureTest, RoundTrips) {
  auto header = sign_webhook(secret, t0, body);
  EXPECT_EQ(verify_webhook(secret, header, body, t0), webhook_check::ok);
  EXPECT_EQ(verify_webhook(secret, header, body, t0 + 300), webhook_check::ok);
  EXPECT_EQ(verify_webhook(secret, header, body, t0 - 300), webhook_check::ok);
  EXPECT_STREQ(to_string(webhook_check::ok), "ok");
}

TEST(WebhookSignatureTest, TamperedBodyIsABadSignature) {
  auto header = sign_webhook(secret, t0, body);
  EXPECT_EQ(verify_webhook(secret, header, R"({"id":"evt_2"})", t0),
       webhook_check::bad_signature);
  EXPECT_EQ(verify_webhook(secret, header, std::string{body} + " ", t0),
       webhook_check::bad_signature);
}

TEST(WebhookSignatureTest, WrongSecretIsABadSignature) {
  auto header = sign_webhook("whsec_other", t0, body);
  EXPECT_EQ(verify_webhook(secret, header, body, t0), webhook_check::bad_signature);
}

TEST(WebhookSignatureTest, TimestampIsPartOfTheSignature) {
  // Moving the timestamp into the window does not help a replayed signature.
  auto header = "t=" + std::to_string(t0 + 10) + ",v1=" + std::string{known_mac};
  EXPECT_EQ(verify_webhook(secret, header, body, t0 + 10), webhook_check::bad_signature);
}

TEST(WebhookSignatureTest, OutsideTheWindowIsExpiredInBothDirections) {
  auto header = sign_webhook(secret, t0, body);
  EXPECT_EQ(verify_webhook(secret, header, body, t0 + 301), webhook_check::expired);
  EXPECT_EQ(verify_webhook(secret, header, body, t0 - 301), webhook_check::expired);
  EXPECT_EQ(verify_webhook(secret, header, body, t0 + 10, 5), webhook_check::expired);
  EXPECT_EQ(verify_webhook(secret, header, body, t0 + 5, 5), webhook_check::ok);
  // Expiry is decided before the signature: a stale forgery is reported as stale.
  EXPECT_EQ(verify_webhook("whsec_other", header, body, t0 + 1'000), webhook_check::expired);
}

TEST(WebhookSignatureTest, MalformedHeadersAreRefused) {
  const std::string mac{known_mac};
  const std::vector<std::string> headers{
    std::string{},                                     // empty
    "v1=" + mac,                                       // missing t
    "t=,v1=" + mac,                                    // empty t
    "t=17000000x0,v1=" + mac,                          // non-numeric t
    "t=-1700000000,v1=" + mac,                         // signed t
    "t=+1700000000,v1=" + mac,                         // signed t
    "t=1700000000",                                    // missing v1
    "t=1700000000,v0=" + mac,                          // only an unknown scheme
    "t=1700000000,v1=" + mac.substr(1),                // odd number of hex digits
    "t=1700000000,v1=" + mac.substr(2),                // too short
    "t=1700000000,v1=" + mac + "00",                   // too long
    "t=1700000000,v1=" + std::string(64, 'g'),         // not hex
    "t=1700000000,v1=",                                // empty v1
    "t=1700000000,t=1700000000,v1=" + mac,             // two timestamps
    "t=99999999999999999999,v1=" + mac,                // overflows
  };
  for (const auto& header : headers) {
    EXPECT_EQ(verify_webhook(secret, header, body, t0), webhook_check::malformed) << header;
  }
}

TEST(WebhookSignatureTest, OneMatchingV1AmongSeveralSuffices) {
  const std::string mac{known_mac};
  const std::string other = v1_of(sign_webhook("whsec_old", t0, body));
  const std::vector<std::string> headers{
    "t=1700000000,v1=" + other + ",v1=" + mac,
    "v1=" + mac + ",t=1700000000,v1=" + other,
    "v0=abc, t=1700000000, v1=" + other + ", v1=" + mac + ", x=y, junk",
    "t=1700000000,v1=" + mac.substr(0, 32) + std::string(32, '0') + ",v1=" + mac,
  };
  for (const auto& header : headers) {
    EXPECT_EQ(verify_webhook(secret, header, body, t0), webhook_check::ok) << header;
  }
  EXPECT_EQ(verify_webhook(secret, "t=1700000000,v1=" + other + ",v1=" + other, body, t0),
       webhook_check::bad_signature);
  // Upper-case hex is the same signature.
  std::string upper = mac;
  for (auto& c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(verify_webhook(secret, "t=1700000000,v1=" + upper, body, t0), webhook_check::ok);
}

} // namespace
} // namespace pactum::payments
