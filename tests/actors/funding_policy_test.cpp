#include "pactum/actors/funding_policy.hpp"

#include <gtest/gtest.h>

using pactum::actors::choose_funding_mode;
using pactum::actors::funding_policy;
using pactum::actors::parse_funding_modes;
using pactum::protocol::funding_mode;

TEST(FundingPolicyTest, ACountryListedGetsItsModeAndEveryOtherTheDefault) {
  funding_policy p;
  p.default_mode = funding_mode::escrow;
  p.by_country = parse_funding_modes("DE=authorize_capture, fr = authorize_capture,US=escrow").value();
  EXPECT_EQ(choose_funding_mode(p, "DE"), funding_mode::authorize_capture);
  EXPECT_EQ(choose_funding_mode(p, "de"), funding_mode::authorize_capture) << "case-insensitive";
  EXPECT_EQ(choose_funding_mode(p, "FR"), funding_mode::authorize_capture);
  EXPECT_EQ(choose_funding_mode(p, "US"), funding_mode::escrow);
  EXPECT_EQ(choose_funding_mode(p, "BR"), funding_mode::escrow) << "not listed";
  EXPECT_EQ(choose_funding_mode(p, std::nullopt), funding_mode::escrow) << "unknown country";
  EXPECT_EQ(choose_funding_mode(p, ""), funding_mode::escrow);
  EXPECT_EQ(choose_funding_mode(p, "DEU"), funding_mode::escrow) << "not a two-letter code";
  p.default_mode = funding_mode::authorize_capture;
  EXPECT_EQ(choose_funding_mode(p, "US"), funding_mode::escrow) << "an entry beats the default";
  EXPECT_EQ(choose_funding_mode(p, "BR"), funding_mode::authorize_capture);
  EXPECT_EQ(choose_funding_mode(p, std::nullopt), funding_mode::authorize_capture);
}

TEST(FundingPolicyTest, MalformedListsAreRefusedWithTheReason) {
  EXPECT_TRUE(parse_funding_modes("").value().empty());
  EXPECT_TRUE(parse_funding_modes("  ").value().empty());
  auto bad = [](std::string_view list) {
    auto r = parse_funding_modes(list);
    return r ? std::string{"(accepted)"} : r.error();
  };
  EXPECT_NE(bad("DE").find("not CC=mode"), std::string::npos);
  EXPECT_NE(bad("DEU=escrow").find("country code"), std::string::npos);
  EXPECT_NE(bad("D1=escrow").find("country code"), std::string::npos);
  EXPECT_NE(bad("DE=hold").find("not a funding mode"), std::string::npos);
  EXPECT_NE(bad("DE=escrow,de=authorize_capture").find("twice"), std::string::npos);
  EXPECT_NE(bad("DE=escrow,").find("not CC=mode"), std::string::npos) << "an empty item";
  std::string many;
  for (char a = 'A'; a <= 'Z'; ++a)
    for (char b = 'A'; b <= 'Z'; ++b)
      many += std::string{a} + b + "=escrow,";
  many.pop_back();
  EXPECT_NE(bad(many).find("more than"), std::string::npos) << "676 countries";
}
