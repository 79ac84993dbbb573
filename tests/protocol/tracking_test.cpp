// Affiliate tracking, the pure parts: the RFC 4180 CSV parser of the catalog import, product
// validation, and the UTM injection of the `/r/{code}` redirect.

#include "pactum/protocol/tracking.hpp"

#include <gtest/gtest.h>

using namespace pactum::protocol::tracking;

namespace {

std::vector<std::vector<std::string>> fields_of(const csv_result& r) {
  std::vector<std::vector<std::string>> out;
  for (auto& rec : r.records)
    out.push_back(rec.fields);
  return out;
}

} // namespace

TEST(CsvTest, ParsesPlainRecordsWithCrlfAndLf) {
  auto r = parse_csv("a,b,c\r\n1,2,3\n4,,6", 100);
  ASSERT_FALSE(r.error);
  EXPECT_EQ(fields_of(r), (std::vector<std::vector<std::string>>{{"a", "b", "c"}, {"1", "2", "3"}, {"4", "", "6"}}));
  EXPECT_EQ(r.records[0].line, 1u);
  EXPECT_EQ(r.records[2].line, 3u);
}

TEST(CsvTest, QuotedFieldsHoldCommasLineBreaksAndEscapedQuotes) {
  auto r = parse_csv("sku,name\r\n\"A,1\",\"say \"\"hi\"\"\r\nnext line\"\r\nB,\"\"\r\n", 100);
  ASSERT_FALSE(r.error) << r.error->message;
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_EQ(r.records[1].fields[0], "A,1");
  EXPECT_EQ(r.records[1].fields[1], "say \"hi\"\r\nnext line");
  EXPECT_EQ(r.records[2].fields, (std::vector<std::string>{"B", ""}));
  EXPECT_EQ(r.records[2].line, 4u) << "the record after a quoted line break starts on line 4";
}

TEST(CsvTest, SkipsEmptyLinesAndAcceptsNoFinalLineBreak) {
  auto r = parse_csv("a\r\n\r\n\nb", 100);
  ASSERT_FALSE(r.error);
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[1].line, 4u);
}

TEST(CsvTest, RefusesMalformedQuotingWithTheLine) {
  auto unterminated = parse_csv("a,b\r\n\"open,x\r\n", 100);
  ASSERT_TRUE(unterminated.error);
  EXPECT_TRUE(unterminated.records.empty());
  auto stray = parse_csv("a,b\r\nx,y\"z\r\n", 100);
  ASSERT_TRUE(stray.error);
  EXPECT_EQ(stray.error->line, 2u);
  auto after = parse_csv("a\r\n\"q\"x,1\r\n", 100);
  ASSERT_TRUE(after.error);
  EXPECT_EQ(after.error->line, 2u);
  auto bare_cr = parse_csv("a\rb\r\n", 100);
  ASSERT_TRUE(bare_cr.error);
}

TEST(CsvTest, EnforcesRecordAndFieldLimits) {
  EXPECT_FALSE(parse_csv("h\n1\n2\n", 3).error);
  auto many = parse_csv("h\n1\n2\n3\n", 3);
  ASSERT_TRUE(many.error);
  EXPECT_NE(many.error->message.find("more than 3 records"), std::string::npos);
  EXPECT_TRUE(parse_csv("a,b,c\n", 100, 2).error);
}

TEST(ProductTest, ValidatesEveryField) {
  product_input ok{"SKU-1", "Tent", "outdoor", "https://shop.example/tent?id=1", 19900, "EUR"};
  EXPECT_TRUE(validate_product(ok).empty());
  product_input bad{"bad sku", "", "", "ftp://shop.example/x", -1, "eur"};
  auto errors = validate_product(bad);
  std::vector<std::string> names;
  for (auto& [f, m] : errors)
    names.push_back(f);
  EXPECT_EQ(names, (std::vector<std::string>{"sku", "name", "category", "url", "price", "currency"}));
}

TEST(ProductTest, AcceptsOnlyHttpAndHttpsUrls) {
  EXPECT_TRUE(valid_product_url("http://a.example"));
  EXPECT_TRUE(valid_product_url("HTTPS://a.example:8443/p?q=1#f"));
  EXPECT_FALSE(valid_product_url("javascript:alert(1)"));
  EXPECT_FALSE(valid_product_url("https://"));
  EXPECT_FALSE(valid_product_url("https:///path"));
  EXPECT_FALSE(valid_product_url("https://a.example/with space"));
  EXPECT_FALSE(valid_product_url("https://a.example/\xc3\xa9"));
  EXPECT_FALSE(valid_product_url("//a.example/x"));
  EXPECT_FALSE(valid_product_url("https://a.example/" + std::string(2100, 'x')));
}

TEST(ProductTest, ParsesPricesAsWholeMinorUnits) {
  EXPECT_EQ(parse_price("0"), 0);
  EXPECT_EQ(parse_price("19900"), 19900);
  EXPECT_FALSE(parse_price("19.90"));
  EXPECT_FALSE(parse_price("-1"));
  EXPECT_FALSE(parse_price(""));
  EXPECT_FALSE(parse_price("12a"));
}

TEST(UtmTest, AddsParametersToAUrlWithoutQuery) {
  EXPECT_EQ(with_utm("https://shop.example/p", "c1", "u1"),
            "https://shop.example/p?utm_source=pactum&utm_medium=affiliate&utm_campaign=c1&utm_content=u1");
}

TEST(UtmTest, KeepsExistingParametersAndFragmentByteForByte) {
  EXPECT_EQ(with_utm("https://shop.example/p?color=red&size=M%2FL&q=a+b#reviews", "c", "u"),
            "https://shop.example/p?color=red&size=M%2FL&q=a+b&utm_source=pactum&utm_medium=affiliate"
            "&utm_campaign=c&utm_content=u#reviews");
  EXPECT_EQ(with_utm("https://shop.example/p#top", "c", "u"),
            "https://shop.example/p?utm_source=pactum&utm_medium=affiliate&utm_campaign=c&utm_content=u#top");
  EXPECT_EQ(with_utm("https://shop.example/p?#f?x", "c", "u"),
            "https://shop.example/p?utm_source=pactum&utm_medium=affiliate&utm_campaign=c&utm_content=u#f?x");
}

TEST(UtmTest, ReplacesExistingUtmParametersAndKeepsOtherUtmOnes) {
  EXPECT_EQ(with_utm("https://s.example/?utm_source=newsletter&a=1&utm%5Fcampaign=old&utm_term=tent&utm_content",
                     "c", "u"),
            "https://s.example/?a=1&utm_term=tent&utm_source=pactum&utm_medium=affiliate&utm_campaign=c"
            "&utm_content=u");
}

TEST(UtmTest, EncodesItsOwnValues) {
  EXPECT_EQ(with_utm("https://s.example/", "a b&c", "x/y"),
            "https://s.example/?utm_source=pactum&utm_medium=affiliate&utm_campaign=a%20b%26c&utm_content=x%2Fy");
}
