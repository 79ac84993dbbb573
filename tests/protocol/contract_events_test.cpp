#include "pactum/protocol/contract_events.hpp"

#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace pactum;
using namespace pactum::protocol;
using json = nlohmann::json;

namespace {

offer_terms sample_terms() {
  offer_terms t;
  t.amount = 150'000;
  t.currency = "USD";
  t.deliverables = {{"tiktok", "tiktok_duet", 2, "duet our launch video"},
                    {"instagram", "instagram_story", 1, ""}};
  t.delivery_days = 7;
  t.revision_rounds = 2;
  t.usage_rights = "organic";
  t.usage_days = 90;
  return t;
}

/// One event of every type, with every field set to something other than its default.
std::vector<contract_event> samples() {
  auto brand = uuid::v7();
  auto creator = uuid::v7();
  auto mod = uuid::v7();
  return {
    contract_opened{uuid::v7(), 7, brand, creator, sample_terms(), 1000},
    contract_funding_requested{brand, "k-fund", "c:fund:2", "4242424242424242", 150'000, "USD",
                               2000},
    contract_funding_failed{"c:fund:2", "card_declined", 3000},
    contract_funded{"c:fund:4", 4000 + 7 * 86'400'000LL, 4000},
    contract_delivered{creator,
                       "k-deliver",
                       {{"https://tiktok.com/@zoe/video/1", "the duet"},
                        {"https://instagram.com/stories/zoe/2", ""}},
                       "both live",
                       1,
                       9000,
                       5000},
    contract_revision_requested{brand, "k-rev", "louder logo, please", 1, 99'000, 6000},
    contract_released{150'000, 15'000, false, 7000, brand, "k-approve"},
    contract_released{150'000, 15'000, true, 7001},
    contract_refunded{150'000, "delivery_deadline", "c:refund:9", 8000},
    contract_cancel_requested{creator, "k-c1", 9000},
    contract_cancelled{brand, "k-c2", 150'000, "c:refund:11", 10'000},
    contract_cancelled{creator, "k-c3", 0, "", 10'001},
    contract_disputed{creator, "k-d", "no answer for days", "delivered", 123'456, 11'000},
    contract_resolved{mod, "k-r", 100'000, 50'000, 10'000, "c:refund:14", 12'000},
    contract_reminder{"review", 99'000, 13'000},
    contract_provider_confirmed{"c:refund:14", 14'000},
    contract_reauthorization_requested{"c:reauth:15", 150'000, "USD", 15'000},
    contract_reauthorized{"c:reauth:15", "c:fund:2", "c:cancel:16", 15'000 + 6 * 86'400'000LL,
                          16'000},
    contract_fallback_charge_on_approval{"c:reauth:17", "card_declined", "c:cancel:18", 17'000},
    contract_fallback_charge_on_approval{"c:fund:2", "authorization_expired", "", 17'001},
    contract_capture_requested{"c:capture:19", "c:fund:2", false, 150'000, "approved", 150'000,
                               15'000, 18'000, brand, "k-approve"},
    contract_capture_requested{"c:charge:19", "c:charge:19", true, 150'000, "review_lapsed",
                               150'000, 15'000, 18'001},
    contract_capture_requested{"c:capture:19", "c:fund:2", false, 150'000, "resolved", 100'000,
                               10'000, 18'002, mod, "k-r"},
    contract_capture_failed{"c:capture:19", "processing_error", "c:cancel:20", "c:charge:20",
                            150'000, 19'000},
    contract_charged{"c:charge:20", 150'000, 20'000},
    contract_charge_failed{"c:charge:20", "card_declined", 21'000},
    contract_performance_billed{20, 100, 10, 4242, true, 22'000},
  };
}

/// The events that gained fields in version 2 (authorize_capture), with those fields set.
std::vector<contract_event> v2_samples() {
  auto brand = uuid::v7();
  return {
    contract_opened{uuid::v7(), 7, brand, uuid::v7(), sample_terms(), 1000,
                    funding_mode::authorize_capture},
    contract_funding_requested{brand, "k-fund", "c:fund:2", "4242424242424242", 150'000, "USD",
                               2000, false},
    contract_funded{"c:fund:2", 4000 + 7 * 86'400'000LL, 4000, true, 2000 + 6 * 86'400'000LL},
    contract_refunded{150'000, "delivery_deadline", "", 8000, "c:cancel:9"},
    contract_cancelled{brand, "k-c2", 150'000, "", 10'000, "c:cancel:11"},
    contract_resolved{uuid::v7(), "k-r", 0, 150'000, 0, "", 12'000, "c:cancel:14"},
  };
}

json as_json(const std::string& msgpack) {
  return json::from_msgpack(msgpack);
}

std::string as_msgpack(const json& j) {
  auto bytes = json::to_msgpack(j);
  return {bytes.begin(), bytes.end()};
}

/// A version 2 contract.opened payload with funding_mode `mode`.
json mode_json_with(const std::string& mode) {
  auto j = as_json(encode_contract_event(contract_opened{
    uuid::v7(), 3, uuid::v7(), uuid::v7(), sample_terms(), 1, funding_mode::authorize_capture}));
  j["funding_mode"] = mode;
  return j;
}

} // namespace

TEST(ContractEventsTest, EveryEventRoundTrips) {
  std::set<std::string_view> seen;
  for (auto& ev : samples()) {
    auto type = contract_event_type(ev);
    SCOPED_TRACE(std::string{type});
    seen.insert(type);
    EXPECT_TRUE(is_contract_event_type(type));
    EXPECT_EQ(contract_event_version(ev), 1);
    auto bytes = encode_contract_event(ev);
    EXPECT_EQ(as_json(bytes).at("type"), type) << "the payload names its type";
    auto back = decode_contract_event(type, contract_event_version(ev), bytes);
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(back->index(), ev.index());
    EXPECT_TRUE(back.value() == ev) << as_json(bytes).dump();
  }
  EXPECT_EQ(seen.size(), std::variant_size_v<contract_event>) << "a sample of every type";
}

TEST(ContractEventsTest, WireShapeUsesStringUuidsAndNamedFields) {
  auto brand = uuid::v7();
  auto bytes = encode_contract_event(
    contract_funding_requested{brand, "k", "c:fund:2", "4242424242424242", 500, "EUR", 77});
  auto j = json::parse(event_to_json(bytes));
  EXPECT_EQ(j, (json{{"type", "contract.funding_requested"},
                     {"by", brand.str()},
                     {"key", "k"},
                     {"intent", "c:fund:2"},
                     {"payment_method", "4242424242424242"},
                     {"amount", 500},
                     {"currency", "EUR"},
                     {"at", 77}}));
  auto automatic = as_json(encode_contract_event(contract_released{100, 10, true, 5}));
  EXPECT_FALSE(automatic.contains("by")) << "an automatic release has no approver";
  EXPECT_FALSE(automatic.contains("key"));
  auto opened = as_json(encode_contract_event(
    contract_opened{uuid::v7(), 3, brand, uuid::v7(), sample_terms(), 1}));
  EXPECT_EQ(opened.at("terms").at("amount"), 150'000) << "terms as in offer.made";
  EXPECT_EQ(opened.at("terms").at("usage_rights").at("scope"), "organic");
}

TEST(ContractEventsTest, Version2EventsRoundTripAndVersion1StaysByteForByte) {
  for (auto& ev : v2_samples()) {
    auto type = contract_event_type(ev);
    SCOPED_TRACE(std::string{type});
    EXPECT_EQ(contract_event_version(ev), 2) << "it sets a field of version 2";
    auto bytes = encode_contract_event(ev);
    auto back = decode_contract_event(type, 2, bytes);
    ASSERT_TRUE(back) << back.error();
    EXPECT_TRUE(back.value() == ev) << as_json(bytes).dump();
    EXPECT_FALSE(decode_contract_event(type, 3, bytes)) << "a future version";
  }
  // The same types without those fields are version 1 and have no new keys.
  auto brand = uuid::v7();
  auto opened = as_json(encode_contract_event(
    contract_opened{uuid::v7(), 3, brand, uuid::v7(), sample_terms(), 1}));
  EXPECT_FALSE(opened.contains("funding_mode"));
  EXPECT_EQ(contract_event_version(contract_funded{"c:fund:2", 9, 4}), 1);
  EXPECT_FALSE(as_json(encode_contract_event(contract_funded{"c:fund:2", 9, 4})).contains("authorized"));
  EXPECT_EQ(contract_event_version(contract_resolved{brand, "k", 1, 0, 0, "", 5}), 1);

  // Wire shape of the authorize_capture funding request.
  auto req = as_json(encode_contract_event(
    contract_funding_requested{brand, "k", "c:fund:2", "4242424242424242", 500, "EUR", 77, false}));
  EXPECT_EQ(req.at("capture"), false);
  auto mode = as_json(encode_contract_event(contract_opened{
    uuid::v7(), 3, brand, uuid::v7(), sample_terms(), 1, funding_mode::authorize_capture}));
  EXPECT_EQ(mode.at("funding_mode"), "authorize_capture");
  auto lapse = as_json(encode_contract_event(contract_capture_requested{
    "c:capture:9", "c:fund:2", false, 10, "review_lapsed", 10, 1, 5}));
  EXPECT_FALSE(lapse.contains("by")) << "an automatic release has no approver";
  EXPECT_FALSE(lapse.contains("key"));
}

TEST(ContractEventsTest, Version1PayloadsDecodeWithTheEscrowDefaults) {
  // Journaled before authorize_capture existed: exactly these payloads, version 1.
  auto brand = uuid::v7();
  auto opened = as_json(encode_contract_event(
    contract_opened{uuid::v7(), 3, brand, uuid::v7(), sample_terms(), 1}));
  auto ev = decode_contract_event("contract.opened", 1, as_msgpack(opened));
  ASSERT_TRUE(ev) << ev.error();
  EXPECT_EQ(std::get<contract_opened>(ev.value()).mode, funding_mode::escrow);
  auto req = decode_contract_event(
    "contract.funding_requested", 1,
    as_msgpack(json{{"type", "contract.funding_requested"}, {"by", brand.str()}, {"key", "k"},
                    {"intent", "c:fund:2"}, {"payment_method", "4242424242424242"},
                    {"amount", 500}, {"currency", "EUR"}, {"at", 77}}));
  ASSERT_TRUE(req) << req.error();
  EXPECT_TRUE(std::get<contract_funding_requested>(req.value()).capture);
  auto funded = decode_contract_event(
    "contract.funded", 1,
    as_msgpack(json{{"type", "contract.funded"}, {"intent", "c:fund:2"}, {"delivery_due", 9},
                    {"at", 4}}));
  ASSERT_TRUE(funded) << funded.error();
  EXPECT_FALSE(std::get<contract_funded>(funded.value()).authorized);
  auto refunded = decode_contract_event(
    "contract.refunded", 1,
    as_msgpack(json{{"type", "contract.refunded"}, {"amount", 5}, {"reason", "delivery_deadline"},
                    {"refund", "c:refund:9"}, {"at", 4}}));
  ASSERT_TRUE(refunded) << refunded.error();
  EXPECT_TRUE(std::get<contract_refunded>(refunded.value()).cancel.empty());
  EXPECT_FALSE(decode_contract_event("contract.reminder", 2,
                                     encode_contract_event(contract_reminder{"delivery", 5, 4})))
    << "a type without a version 2";

  EXPECT_EQ(to_string(funding_mode::escrow), "escrow");
  EXPECT_EQ(to_string(funding_mode::authorize_capture), "authorize_capture");
  EXPECT_EQ(funding_mode_from_string("authorize_capture"), funding_mode::authorize_capture);
  EXPECT_FALSE(funding_mode_from_string("auth"));
  auto bad_mode = mode_json_with("hold");
  EXPECT_FALSE(decode_contract_event("contract.opened", 2, as_msgpack(bad_mode)));
}

TEST(ContractEventsTest, UnknownTypesAndVersionsAreErrors) {
  auto bytes = encode_contract_event(contract_reminder{"delivery", 5, 4});
  EXPECT_FALSE(decode_contract_event("contract.exploded", 1, bytes));
  EXPECT_FALSE(decode_contract_event("message.posted", 1, bytes)) << "not a contract event";
  EXPECT_FALSE(is_contract_event_type("offer.accepted"));
  EXPECT_FALSE(decode_contract_event("contract.reminder", 2, bytes)) << "a future version";
  EXPECT_FALSE(decode_contract_event("contract.reminder", 0, bytes));
  EXPECT_TRUE(decode_contract_event("contract.reminder", 1, bytes));
}

TEST(ContractEventsTest, MalformedPayloadsAreErrors) {
  EXPECT_FALSE(decode_contract_event("contract.funded", 1, ""));
  EXPECT_FALSE(decode_contract_event("contract.funded", 1, "\xc1 not msgpack"));
  EXPECT_FALSE(decode_contract_event("contract.funded", 1, as_msgpack(json::array({1, 2}))));
  auto all = samples();
  for (auto& ev : v2_samples())
    all.push_back(ev);
  for (auto& ev : all) {
    auto type = contract_event_type(ev);
    const auto version = contract_event_version(ev);
    auto full = as_json(encode_contract_event(ev));
    for (auto& [field, value] : full.items()) {
      if (field == "type")
        continue;
      SCOPED_TRACE(std::string{type} + "." + field);
      auto without = full;
      without.erase(field);
      auto missing = decode_contract_event(type, version, as_msgpack(without));
      ASSERT_FALSE(missing) << "a missing field is an error";
      EXPECT_NE(missing.error().find(field), std::string::npos) << missing.error();
      auto mistyped = full;
      mistyped[field] = value.is_string() ? json(42) : json("42");
      EXPECT_FALSE(decode_contract_event(type, version, as_msgpack(mistyped)))
        << "a field of the wrong type is an error";
    }
  }
}

TEST(ContractEventsTest, NestedFieldsAreChecked) {
  auto creator = uuid::v7();
  auto delivered = as_json(encode_contract_event(
    contract_delivered{creator, "k", {{"https://x.test/1", "n"}}, "", 0, 10, 5}));
  auto bad_item = delivered;
  bad_item["items"] = json::array({json{{"note", "no url"}}});
  EXPECT_FALSE(decode_contract_event("contract.delivered", 1, as_msgpack(bad_item)));
  bad_item["items"] = json::array({"https://x.test/1"});
  EXPECT_FALSE(decode_contract_event("contract.delivered", 1, as_msgpack(bad_item)));
  auto bad_uuid = delivered;
  bad_uuid["by"] = "not-a-uuid";
  EXPECT_FALSE(decode_contract_event("contract.delivered", 1, as_msgpack(bad_uuid)));
  auto negative_bytes = delivered;
  negative_bytes["round"] = 18'446'744'073'709'551'615ULL; // beyond int64
  EXPECT_FALSE(decode_contract_event("contract.delivered", 1, as_msgpack(negative_bytes)));

  auto opened = as_json(encode_contract_event(
    contract_opened{uuid::v7(), 3, uuid::v7(), creator, sample_terms(), 1}));
  opened["terms"]["amount"] = 0;
  auto bad_terms = decode_contract_event("contract.opened", 1, as_msgpack(opened));
  ASSERT_FALSE(bad_terms);
  EXPECT_NE(bad_terms.error().find("terms.amount"), std::string::npos) << bad_terms.error();
  auto released = as_json(encode_contract_event(contract_released{1, 0, false, 1, creator, "k"}));
  released.erase("key");
  EXPECT_FALSE(decode_contract_event("contract.released", 1, as_msgpack(released)))
    << "an approval names its key";
}

TEST(ContractEventsTest, ContractTermsMustBeValidAndCanonical) {
  EXPECT_FALSE(validate_contract_terms(sample_terms()));
  auto t = sample_terms();
  t.amount = 0;
  EXPECT_TRUE(validate_contract_terms(t));
  t = sample_terms();
  t.currency = "usd";
  EXPECT_TRUE(validate_contract_terms(t));
  t = sample_terms();
  t.deliverables[0].platform = ""; // decoding would fill in "tiktok"
  auto why = validate_contract_terms(t);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("canonical"), std::string::npos) << *why;
}

TEST(ContractEventsTest, PerformanceContractsOpenWithVersion3) {
  auto campaign = uuid::v7();
  contract_event ev = contract_opened{uuid::v7(), 3, uuid::v7(), uuid::v7(), sample_terms(), 1,
                                      funding_mode::escrow,
                                      performance_terms{campaign, "cpv", 70, 5'000}};
  EXPECT_EQ(contract_event_version(ev), 3);
  auto bytes = encode_contract_event(ev);
  auto j = as_json(bytes);
  EXPECT_EQ(j.at("performance"), (json{{"campaign", campaign.str()}, {"model", "cpv"}, {"rate", 70}, {"ends_at", 5'000}}));
  EXPECT_EQ(j.at("funding_mode"), "escrow");
  auto back = decode_contract_event("contract.opened", 3, bytes);
  ASSERT_TRUE(back) << back.error();
  EXPECT_TRUE(back.value() == ev);
  EXPECT_FALSE(decode_contract_event("contract.released", 3, bytes)) << "only contract.opened has a version 3";
  j["performance"]["model"] = "cpa";
  EXPECT_FALSE(decode_contract_event("contract.opened", 3, as_msgpack(j)));
  j.erase("performance");
  EXPECT_FALSE(decode_contract_event("contract.opened", 3, as_msgpack(j))) << "version 3 requires it";
}
