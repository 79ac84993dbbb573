// The signed token of promotion codes (actors/include/pactum/actors/promo_token.hpp) and the
// locality normalisation (promotions.hpp): pure functions, no I/O.

#include "pactum/actors/promo_token.hpp"

#include <gtest/gtest.h>

#include "pactum/actors/promotions.hpp"

namespace promo = pactum::actors::promo;
using pactum::uuid;

namespace {

promo::claims sample(const promo::key_pair& k) {
  return promo::claims{k.key_id, uuid::v7(), uuid::v7(), promo::random_nonce(), 1'900'000'000'000};
}

} // namespace

TEST(PromoToken, SignsAndVerifiesTheClaims) {
  auto k = promo::generate_key();
  auto c = sample(k);
  auto token = promo::sign(c, k);
  EXPECT_EQ(token.size(), (promo::token_bytes * 4 + 2) / 3); // base64url without padding
  EXPECT_EQ(token.find_first_of("+/="), std::string::npos);
  auto back = promo::verify(token, k.pk);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, c);
  EXPECT_EQ(promo::peek(token)->key_id, k.key_id);
}

TEST(PromoToken, EveryAlteredByteIsRefused) {
  auto k = promo::generate_key();
  auto token = promo::sign(sample(k), k);
  auto raw = *promo::from_base64url(token);
  ASSERT_EQ(raw.size(), promo::token_bytes);
  for (size_t i = 0; i < raw.size(); ++i) {
    for (uint8_t flip : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xff}}) {
      auto bad = raw;
      bad[i] = static_cast<char>(static_cast<uint8_t>(bad[i]) ^ flip);
      auto altered = promo::base64url(reinterpret_cast<const uint8_t*>(bad.data()), bad.size());
      EXPECT_FALSE(promo::verify(altered, k.pk)) << "byte " << i << " flipped with " << int{flip};
    }
  }
  // Truncated, extended, re-padded, or with a foreign character.
  EXPECT_FALSE(promo::verify(token.substr(0, token.size() - 1), k.pk));
  EXPECT_FALSE(promo::verify(token + "A", k.pk));
  EXPECT_FALSE(promo::verify(token + "=", k.pk));
  EXPECT_FALSE(promo::verify("", k.pk));
  auto plus = token;
  plus[10] = '+';
  EXPECT_FALSE(promo::verify(plus, k.pk));
}

TEST(PromoToken, AnotherKeysSignatureIsRefused) {
  auto k = promo::generate_key();
  auto other = promo::generate_key();
  auto c = sample(k);
  // A forger signs claims naming the real key id with their own key.
  auto forged = promo::sign(c, promo::key_pair{k.key_id, other.pk, other.sk});
  EXPECT_FALSE(promo::verify(forged, k.pk));
  EXPECT_TRUE(promo::verify(forged, other.pk));
}

TEST(PromoToken, CarriesItsExpiry) {
  auto k = promo::generate_key();
  auto c = sample(k);
  c.expires_at = -5; // signed 64-bit, round-trips
  auto back = promo::verify(promo::sign(c, k), k.pk);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->expires_at, -5);
}

TEST(PromoToken, SeedKeysAreStableAndIdsFollowThePublicKey) {
  std::array<uint8_t, 32> seed{};
  seed.fill(7);
  auto a = promo::key_from_seed(seed);
  auto b = promo::key_from_seed(seed);
  EXPECT_EQ(a.pk, b.pk);
  EXPECT_EQ(a.key_id, b.key_id);
  EXPECT_NE(a.key_id, 0u);
  EXPECT_EQ(a.key_id, promo::key_id_of(a.pk));
  seed[0] = 8;
  EXPECT_NE(promo::key_from_seed(seed).key_id, a.key_id);
}

TEST(PromoToken, Base64UrlRoundTripsEveryLength) {
  std::string data;
  for (int n = 0; n < 40; ++n) {
    auto text = promo::base64url(reinterpret_cast<const uint8_t*>(data.data()), data.size());
    auto back = promo::from_base64url(text);
    ASSERT_TRUE(back) << n;
    EXPECT_EQ(*back, data);
    data += static_cast<char>(n * 37 + 200);
  }
  EXPECT_FALSE(promo::from_base64url("A"));     // no whole byte
  EXPECT_FALSE(promo::from_base64url("AB"));    // non-zero unused bits: not canonical
  EXPECT_TRUE(promo::from_base64url("AA"));
}

TEST(PromoToken, NonceHexRoundTrips) {
  auto n = promo::random_nonce();
  auto hex = promo::nonce_hex(n);
  EXPECT_EQ(hex.size(), 32u);
  EXPECT_EQ(promo::nonce_from_hex(hex), n);
  EXPECT_FALSE(promo::nonce_from_hex(hex.substr(1)));
  EXPECT_FALSE(promo::nonce_from_hex(std::string(32, 'G')));
  EXPECT_FALSE(promo::nonce_from_hex(std::string(32, 'A'))); // lower case only
}

TEST(PromoLocality, NormalisesCountryAndCity) {
  auto l = pactum::actors::normalise_locality("de", "  Frankfurt   am  MAIN ");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->country, "DE");
  EXPECT_EQ(l->city, "frankfurt am main");
  EXPECT_EQ(l->key(), "DE:frankfurt am main");
  auto p = pactum::actors::parse_locality("DE:Frankfurt am Main");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->key(), l->key());
  // Non-ASCII letters are kept as they are.
  EXPECT_EQ(pactum::actors::normalise_locality("AT", "Wien Döbling")->city, "wien döbling");
  std::string why;
  EXPECT_FALSE(pactum::actors::normalise_locality("DEU", "Berlin", &why));
  EXPECT_NE(why.find("country"), std::string::npos);
  EXPECT_FALSE(pactum::actors::normalise_locality("DE", "   ", &why));
  EXPECT_NE(why.find("city"), std::string::npos);
  EXPECT_FALSE(pactum::actors::normalise_locality("D1", "Berlin"));
  EXPECT_FALSE(pactum::actors::normalise_locality("DE", std::string(101, 'x')));
  EXPECT_FALSE(pactum::actors::parse_locality("Berlin"));
}
