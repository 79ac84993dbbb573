// Profile validation (pure): every rule of docs/api.md gives its own field-level error, unknown
// fields are ignored, canonical JSON keeps only known fields, and the views hide private fields.

#include "pactum/protocol/profiles.hpp"

#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace pactum;
using namespace pactum::protocol::profiles;
using json = nlohmann::json;

namespace {

json good_creator() {
  return json{
    {"bio", "I film city cycling.\nWeekly."},
    {"niches", {"travel", "sports"}},
    {"social_accounts",
     {json{{"platform", "tiktok"}, {"handle", "@cleo"}, {"followers", 120'000},
           {"average_views", 40'000}, {"engagement_rate", 6.5}},
      json{{"platform", "youtube"}, {"handle", "cleorides"}, {"followers", 30'000},
           {"average_views", 9'000}, {"engagement_rate", 3}}}},
    {"audience",
     {{"age_bands", {{"18-24", 40}, {"25-34", 45.5}}},
      {"gender", {{"female", 55}, {"male", 44}}},
      {"top_countries", {json{{"country", "DE"}, {"percent", 60}}}}}},
    {"location", {{"country", "DE"}, {"city", "Berlin"}, {"lat", 52.52}, {"lon", 13.405}}},
    {"languages", {"de", "en"}},
    {"rates", {json{{"type", "tiktok_duet"}, {"amount", 50'000}, {"currency", "EUR"}}}},
    {"media_kit_url", "https://cleo.example/kit.pdf"},
    {"some_future_field", "ignored"}};
}

json good_brand() {
  return json{{"company_name", "Acme Bikes"},
              {"industry", "Sporting goods"},
              {"website", "https://acme.example"},
              {"budget", {{"min", 100'000}, {"max", 500'000}, {"currency", "EUR"}}},
              {"contact", {{"name", "Ana"}, {"email", " Ana@Acme.Example "}, {"phone", "+49 30 1234-5678"}}},
              {"country", "DE"}};
}

/// The errors for `body`, as field -> message (empty when valid).
template <class Parse>
std::map<std::string, std::string> errors_of(Parse parse, const json& body) {
  std::map<std::string, std::string> out;
  auto v = parse(body.dump());
  if (auto* e = std::get_if<std::vector<field_error>>(&v))
    for (auto& f : *e)
      out.emplace(f.field, f.message);
  return out;
}

auto creator_errors(const json& b) {
  return errors_of(&parse_creator_profile, b);
}
auto brand_errors(const json& b) {
  return errors_of(&parse_brand_profile, b);
}

} // namespace

TEST(ProfileValidation, AGoodCreatorProfileIsAcceptedAndNormalised) {
  auto v = parse_creator_profile(good_creator().dump());
  ASSERT_TRUE(std::holds_alternative<creator_profile>(v)) << creator_errors(good_creator()).size();
  auto& p = std::get<creator_profile>(v);
  EXPECT_EQ(p.niches, (std::vector<std::string>{"travel", "sports"}));
  EXPECT_EQ(p.follower_total, 150'000) << "the sum over the social accounts";
  EXPECT_EQ(p.country, "DE");
  EXPECT_EQ(p.city, "Berlin");
  ASSERT_TRUE(p.lat && p.lon);
  EXPECT_DOUBLE_EQ(*p.lat, 52.52);
  auto accounts = json::parse(p.social_accounts);
  ASSERT_EQ(accounts.size(), 2u);
  EXPECT_EQ(accounts[0]["handle"], "@cleo");
  EXPECT_EQ(p.expected_version, 0);
}

TEST(ProfileValidation, EveryBadFieldOfACreatorGetsItsOwnError) {
  auto b = good_creator();
  b["social_accounts"][1]["followers"] = 3'000'000'000LL;
  b["social_accounts"][0]["platform"] = "myspace";
  b["social_accounts"][0]["engagement_rate"] = 150;
  b["niches"] = {"travel", "knitting"};
  b["location"]["lat"] = 91;
  b["languages"] = {"english"};
  b["rates"][0]["type"] = "billboard";
  b["audience"]["age_bands"]["12-15"] = 5;
  b["media_kit_url"] = "ftp://nope";
  auto e = creator_errors(b);
  EXPECT_EQ(e["social_accounts[1].followers"], "must be a whole number from 0 to 2,000,000,000");
  EXPECT_TRUE(e.count("social_accounts[0].platform"));
  EXPECT_EQ(e["social_accounts[0].engagement_rate"], "must be a percentage from 0 to 100");
  EXPECT_TRUE(e.count("niches[1]"));
  EXPECT_EQ(e["location.lat"], "must be a latitude from -90 to 90");
  EXPECT_TRUE(e.count("languages[0]"));
  EXPECT_TRUE(e.count("rates[0].type"));
  EXPECT_TRUE(e.count("audience.age_bands.12-15"));
  EXPECT_TRUE(e.count("media_kit_url"));
  EXPECT_EQ(e.size(), 9u) << "nothing else is reported";
}

TEST(ProfileValidation, RequiredFieldsAndTypesAreChecked) {
  auto e = creator_errors(json::object());
  EXPECT_EQ(e["niches"], "is required");
  EXPECT_EQ(e["location"], "is required");
  EXPECT_EQ(e["languages"], "is required");
  auto b = good_creator();
  b["social_accounts"][0]["followers"] = 1.5;
  b["social_accounts"][1].erase("handle");
  b["bio"] = 7;
  b["location"].erase("lon");
  e = creator_errors(b);
  EXPECT_EQ(e["social_accounts[0].followers"], "must be a whole number from 0 to 2,000,000,000");
  EXPECT_EQ(e["social_accounts[1].handle"], "is required");
  EXPECT_EQ(e["bio"], "must be text");
  EXPECT_EQ(e["location.lon"], "is required with the other coordinate");
}

TEST(ProfileValidation, LimitsOnLengthsAndListSizesAreEnforced) {
  auto b = good_creator();
  b["bio"] = std::string(max_bio_chars + 1, 'x');
  b["niches"] = {"art", "food", "music", "pets", "tech", "travel"};
  b["languages"] = json::array();
  json accounts = json::array();
  for (size_t i = 0; i <= max_social_accounts; ++i)
    accounts.push_back(json{{"platform", "x"}, {"handle", "h" + std::to_string(i)}, {"followers", 1},
                            {"average_views", 1}, {"engagement_rate", 1}});
  b["social_accounts"] = accounts;
  auto e = creator_errors(b);
  EXPECT_EQ(e["bio"], "must be at most 2000 characters long");
  EXPECT_EQ(e["niches"], "must list 1 to 5 items");
  EXPECT_EQ(e["languages"], "must list 1 to 10 items");
  EXPECT_EQ(e["social_accounts"], "must list at most 10 items");
  // Exactly at the limit is fine; length counts characters, not bytes.
  b = good_creator();
  std::string bio;
  for (size_t i = 0; i < max_bio_chars; ++i)
    bio += "é";
  b["bio"] = bio;
  EXPECT_TRUE(creator_errors(b).empty());
}

TEST(ProfileValidation, DuplicatesAndSumsOverAHundredPercentAreRefused) {
  auto b = good_creator();
  b["niches"] = {"travel", "travel"};
  b["social_accounts"][1] = b["social_accounts"][0];
  b["audience"]["gender"] = {{"female", 80}, {"male", 40}};
  b["rates"].push_back(b["rates"][0]);
  auto e = creator_errors(b);
  EXPECT_EQ(e["niches[1]"], "is listed twice");
  EXPECT_EQ(e["social_accounts[1]"], "lists the same account twice");
  EXPECT_EQ(e["audience.gender"], "must add up to at most 100 percent");
  EXPECT_TRUE(e.count("rates[1]"));
}

TEST(ProfileValidation, ABodyThatIsNotAnObjectIsOneError) {
  auto v = parse_creator_profile("[1,2]");
  ASSERT_TRUE(std::holds_alternative<std::vector<field_error>>(v));
  EXPECT_EQ(std::get<std::vector<field_error>>(v).size(), 1u);
  EXPECT_EQ(std::get<std::vector<field_error>>(v)[0].field, "");
  EXPECT_TRUE(std::holds_alternative<std::vector<field_error>>(parse_brand_profile("{nope")));
}

TEST(ProfileValidation, ABrandProfileIsValidatedAndNormalised) {
  auto v = parse_brand_profile(good_brand().dump());
  ASSERT_TRUE(std::holds_alternative<brand_profile>(v));
  auto& p = std::get<brand_profile>(v);
  EXPECT_EQ(p.contact_email, "ana@acme.example");
  EXPECT_EQ(p.contact_phone, "+493012345678");
  EXPECT_TRUE(p.has_budget);
  EXPECT_EQ(p.budget_max, 500'000);

  auto b = good_brand();
  b["company_name"] = "  ";
  b["budget"]["max"] = 10;
  b["budget"]["currency"] = "euro";
  b["contact"]["email"] = "not-an-email";
  b["contact"]["phone"] = "call me";
  b["country"] = "XX";
  b["website"] = "acme.example";
  b["version"] = 0;
  auto e = brand_errors(b);
  EXPECT_EQ(e["company_name"], "must be 1 to 120 characters long");
  EXPECT_EQ(e["budget.max"], "must not be below budget.min");
  EXPECT_TRUE(e.count("budget.currency"));
  EXPECT_TRUE(e.count("contact.email"));
  EXPECT_TRUE(e.count("contact.phone"));
  EXPECT_TRUE(e.count("country"));
  EXPECT_TRUE(e.count("website"));
  EXPECT_TRUE(e.count("version"));
  EXPECT_EQ(brand_errors(json{{"company_name", "A"}})["contact"], "is required");
}

TEST(ProfileValidation, PublicViewsLeaveOutPrivateFields) {
  auto brand = std::get<brand_profile>(parse_brand_profile(good_brand().dump()));
  profile_meta meta{uuid::v7(), "Acme", 3, 1'700'000'000'000};
  auto pub = json::parse(brand_profile_json(meta, brand, false));
  auto own = json::parse(brand_profile_json(meta, brand, true));
  EXPECT_FALSE(pub.contains("contact"));
  EXPECT_EQ(own["contact"]["email"], "ana@acme.example");
  EXPECT_EQ(pub["budget"]["min"], 100'000);
  EXPECT_EQ(pub["version"], 3);

  auto creator = std::get<creator_profile>(parse_creator_profile(good_creator().dump()));
  auto cpub = json::parse(creator_profile_json(meta, creator, false));
  auto cown = json::parse(creator_profile_json(meta, creator, true));
  EXPECT_FALSE(cpub["location"].contains("lat"));
  EXPECT_FALSE(cpub["location"].contains("lon"));
  EXPECT_EQ(cpub["location"]["city"], "Berlin");
  EXPECT_DOUBLE_EQ(cown["location"]["lat"].get<double>(), 52.52);
  EXPECT_EQ(cpub["social_accounts"][0]["followers"], 120'000);
  EXPECT_FALSE(cpub["social_accounts"][0].contains("some_future_field"));
}

TEST(ProfileValidation, TheTaxonomyIsConsistent) {
  EXPECT_EQ(countries().size(), 249u);
  EXPECT_TRUE(std::is_sorted(countries().begin(), countries().end()));
  EXPECT_TRUE(std::is_sorted(languages().begin(), languages().end()));
  EXPECT_TRUE(is_country("US"));
  EXPECT_FALSE(is_country("us"));
  EXPECT_TRUE(is_language("en"));
  EXPECT_FALSE(is_language("EN"));
  for (auto& t : protocol::collaboration_types)
    EXPECT_TRUE(is_collaboration_type(t.name));
  for (auto& t : protocol::collaboration_types) {
    if (!t.platform.empty()) {
      EXPECT_TRUE(is_platform(t.platform)) << t.platform;
    }
  }
}
