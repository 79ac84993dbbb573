// End to end: products, affiliate links, the `/r/{code}` redirect and signed conversions (issue 8,
// items 2 and 3). A brand manages its catalog (CRUD, CSV import good and bad: nothing imported,
// every problem listed by line and field), links are created by an eligible creator or the brand
// (idempotent; a stranger creator is refused like a missing campaign), the redirect answers 302
// with the UTM parameters and records the click (hashed address, user agent, referrer) without
// waiting, unknown codes answer 404, and conversions are accepted only with a fresh, valid
// signature, idempotently by order id (a repeat with another body: 409).

#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "e2e_fixture.hpp"
#include "pactum/payments/webhook.hpp"
#include "pactum/sim/client.hpp"

using namespace pactum::sim;
using namespace std::chrono_literals;

namespace {

json campaign_details() {
  return json{{"title", "Autumn rides"},
              {"description", "Our new city bike"},
              {"goals", {"awareness"}},
              {"budget", 100'000},
              {"currency", "EUR"},
              {"deliverables", {json{{"type", "tiktok_duet"}, {"count", 1}}}},
              {"audience", {{"niches", {"travel"}}, {"countries", {"DE"}}, {"min_followers", 1000}}},
              {"collaboration_types", {"tiktok_duet"}},
              {"pricing", {{"model", "cpc"}, {"rate", 10}}},
              {"brief", "Ride it through the city"}};
}

json product(const std::string& sku, const std::string& url) {
  return json{{"sku", sku}, {"name", "City bike " + sku}, {"category", "bikes"}, {"url", url},
              {"price", 49'900}, {"currency", "EUR"}};
}

class AffiliateE2E : public pactum::test_support::server_test {
protected:
  std::vector<std::string> server_args() const override {
    return {"--product-import-max-rows", "5", "--product-import-max-bytes", "4096"};
  }

  http_reply call(const account& who, const std::string& method, const std::string& target,
                  const json& body = json()) {
    return http_call(ep(), method, target, body.is_null() ? std::string{} : body.dump(), who.token);
  }

  http_reply csv(const account& who, const std::string& text) {
    return http_call(ep(), "POST", "/api/v1/brands/products/import", text, who.token, "text/csv");
  }

  /// A published campaign of `brand` with `creator` approved into it; answers its id.
  std::string campaign_with(const account& brand, const account& creator) {
    auto d = campaign_details();
    d["key"] = "c-" + creator.id;
    auto created = call(brand, "POST", "/api/v1/brands/campaigns", d);
    EXPECT_EQ(created.status, 201) << created.body;
    auto id = created.json_body()["campaign"]["id"].get<std::string>();
    EXPECT_EQ(call(brand, "POST", "/api/v1/brands/campaigns/" + id + "/status", json{{"to", "publish"}, {"key", "p"}}).status, 200);
    auto app = call(creator, "POST", "/api/v1/influencers/campaigns/" + id + "/apply", json{{"key", "a"}});
    EXPECT_EQ(app.status, 201) << app.body;
    auto approved = call(brand, "PUT",
                         "/api/v1/brands/campaigns/" + id + "/applications/" + std::to_string(app.json_body()["application"].get<int64_t>()),
                         json{{"key", "d"}, {"outcome", "approved"}});
    EXPECT_EQ(approved.status, 200) << approved.body;
    return id;
  }

  pqxx::result query(const std::string& sql) {
    pqxx::connection conn{url()};
    pqxx::read_transaction tx{conn};
    return tx.exec(sql);
  }

  http_reply convert(const std::string& brand, const std::string& secret, const json& body, int64_t skew_s = 0,
                     bool tamper = false) {
    auto text = body.dump();
    auto ts = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count()
              + skew_s;
    auto header = pactum::payments::sign_webhook(secret, ts, text);
    auto sig = header.substr(header.find("v1=") + 3);
    if (tamper)
      sig[0] = sig[0] == 'a' ? 'b' : 'a';
    return http_call(ep(), "POST", "/api/v1/track/conversion", text, "", "application/json",
                     {{"X-Pactum-Brand", brand}, {"X-Pactum-Timestamp", std::to_string(ts)}, {"X-Pactum-Signature", sig}});
  }
};

TEST_F(AffiliateE2E, CatalogCrudAndValidation) {
  auto brand = make_account(ep(), "brand", "Acme");
  auto other = make_account(ep(), "brand", "Other");
  auto cleo = make_account(ep(), "creator", "Cleo");

  auto created = call(brand, "POST", "/api/v1/brands/products", product("BIKE-1", "https://shop.example/bike?c=red"));
  ASSERT_EQ(created.status, 201) << created.body;
  auto id = created.json_body()["product"]["id"].get<std::string>();
  EXPECT_EQ(created.json_body()["product"]["price"], 49'900);

  auto dup = call(brand, "POST", "/api/v1/brands/products", product("BIKE-1", "https://shop.example/x"));
  EXPECT_EQ(dup.status, 400) << dup.body;
  EXPECT_TRUE(dup.json_body()["error"]["fields"].contains("sku"));

  auto bad = call(brand, "POST", "/api/v1/brands/products", product("B 2", "javascript:alert(1)"));
  ASSERT_EQ(bad.status, 400);
  EXPECT_TRUE(bad.json_body()["error"]["fields"].contains("url"));
  EXPECT_TRUE(bad.json_body()["error"]["fields"].contains("sku"));

  EXPECT_EQ(call(cleo, "POST", "/api/v1/brands/products", product("C-1", "https://x.example")).status, 403);
  EXPECT_EQ(call(other, "GET", "/api/v1/brands/products/" + id).status, 404) << "another brand's product is missing";

  auto got = call(brand, "GET", "/api/v1/brands/products/" + id);
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.json_body()["product"]["url"], "https://shop.example/bike?c=red");

  auto changed = product("BIKE-1", "http://shop.example/bike2");
  changed["price"] = 39'900;
  auto put = call(brand, "PUT", "/api/v1/brands/products/" + id, changed);
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.json_body()["product"]["price"], 39'900);

  auto list = call(brand, "GET", "/api/v1/brands/products");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.json_body()["products"].size(), 1u);
  EXPECT_TRUE(call(other, "GET", "/api/v1/brands/products").json_body()["products"].empty());

  EXPECT_EQ(call(other, "DELETE", "/api/v1/brands/products/" + id).status, 404);
  EXPECT_EQ(call(brand, "DELETE", "/api/v1/brands/products/" + id).status, 200);
  EXPECT_EQ(call(brand, "GET", "/api/v1/brands/products/" + id).status, 404);
}

TEST_F(AffiliateE2E, CsvImportIsAllOrNothingWithEveryError) {
  auto brand = make_account(ep(), "brand", "Acme");
  ASSERT_EQ(call(brand, "POST", "/api/v1/brands/products", product("OLD", "https://shop.example/old")).status, 201);

  auto good = csv(brand,
                  "sku,name,category,url,price,currency\r\n"
                  "OLD,\"Old, renamed\",bikes,https://shop.example/old2,100,EUR\r\n"
                  "NEW-1,\"The \"\"fast\"\" one\",bikes,https://shop.example/fast?x=1,2500,EUR\r\n"
                  "NEW-2,Helmet,\"gear\r\nand more\",https://shop.example/helmet,999,USD\r\n");
  ASSERT_EQ(good.status, 200) << good.body;
  EXPECT_EQ(good.json_body()["created"], 2);
  EXPECT_EQ(good.json_body()["updated"], 1);
  auto rows = query("select sku, name, category, url, price from products order by sku");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0][1].as<std::string>(), "The \"fast\" one");
  EXPECT_EQ(rows[1][2].as<std::string>(), "gear\r\nand more");
  EXPECT_EQ(rows[2][1].as<std::string>(), "Old, renamed");
  EXPECT_EQ(rows[2][3].as<std::string>(), "https://shop.example/old2");

  auto bad = csv(brand,
                 "sku,name,category,url,price,currency\r\n"
                 "OK-1,Fine,bikes,https://shop.example/ok,1,EUR\r\n"
                 "BAD 1,,bikes,ftp://shop.example/x,12.50,EUR\r\n"
                 "OK-1,Twice,bikes,https://shop.example/ok,1,eur\r\n");
  ASSERT_EQ(bad.status, 400) << bad.body;
  auto fields = bad.json_body()["error"]["fields"];
  EXPECT_TRUE(fields.contains("line 3.sku")) << fields.dump();
  EXPECT_TRUE(fields.contains("line 3.name"));
  EXPECT_TRUE(fields.contains("line 3.url"));
  EXPECT_TRUE(fields.contains("line 3.price"));
  EXPECT_TRUE(fields.contains("line 4.sku")) << "a repeated sku is named";
  EXPECT_TRUE(fields.contains("line 4.currency"));
  EXPECT_FALSE(fields.contains("line 2.sku"));
  EXPECT_EQ(query("select count(*) from products").at(0).at(0).as<int>(), 3) << "nothing of a bad file is imported";

  auto syntax = csv(brand, "sku,name,category,url,price,currency\r\n\"open,x\r\n");
  EXPECT_EQ(syntax.status, 400);
  auto header = csv(brand, "name,sku\r\nx,y\r\n");
  EXPECT_EQ(header.status, 400);
  EXPECT_EQ(http_call(ep(), "POST", "/api/v1/brands/products/import", "a,b", brand.token).status, 415);

  std::string six = "sku,name,category,url,price,currency\r\n";
  for (int i = 0; i < 6; ++i)
    six += "R" + std::to_string(i) + ",n,c,https://s.example/,1,EUR\r\n";
  EXPECT_EQ(csv(brand, six).status, 413) << "more rows than --product-import-max-rows";
  EXPECT_EQ(csv(brand, six + std::string(5000, '\n')).status, 413) << "more bytes than --product-import-max-bytes";
  EXPECT_EQ(query("select count(*) from products").at(0).at(0).as<int>(), 3);
}

TEST_F(AffiliateE2E, LinksRedirectAndClicks) {
  auto brand = make_account(ep(), "brand", "Acme");
  auto cleo = make_account(ep(), "creator", "Cleo");
  auto eve = make_account(ep(), "creator", "Eve");
  auto campaign = campaign_with(brand, cleo);
  auto pid = call(brand, "POST", "/api/v1/brands/products",
                  product("BIKE", "https://shop.example/bike?color=red&utm_source=old&q=a%20b#specs"))
               .json_body()["product"]["id"].get<std::string>();

  auto link = call(cleo, "POST", "/api/v1/campaigns/" + campaign + "/links", json{{"product_id", pid}});
  ASSERT_EQ(link.status, 200) << link.body;
  auto code = link.json_body()["link"]["code"].get<std::string>();
  EXPECT_EQ(code.size(), 12u);
  EXPECT_TRUE(link.json_body()["created"].get<bool>());
  auto again = call(brand, "POST", "/api/v1/campaigns/" + campaign + "/links", json{{"product_id", pid}, {"creator_id", cleo.id}});
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.json_body()["link"]["code"], code) << "the same (campaign, creator, product) gives the same code";
  EXPECT_FALSE(again.json_body()["created"].get<bool>());

  auto stranger = call(eve, "POST", "/api/v1/campaigns/" + campaign + "/links", json{{"product_id", pid}});
  EXPECT_EQ(stranger.status, 404) << stranger.body;
  EXPECT_EQ(stranger.json_body()["error"]["code"], "not_found");
  auto for_eve = call(brand, "POST", "/api/v1/campaigns/" + campaign + "/links", json{{"product_id", pid}, {"creator_id", eve.id}});
  EXPECT_EQ(for_eve.status, 400) << for_eve.body;
  EXPECT_EQ(call(eve, "GET", "/api/v1/campaigns/" + campaign + "/links").status, 404);
  auto mine = call(cleo, "GET", "/api/v1/campaigns/" + campaign + "/links");
  ASSERT_EQ(mine.status, 200);
  EXPECT_EQ(mine.json_body()["links"].size(), 1u);

  auto r = http_call(ep(), "GET", "/r/" + code, "", "", "", {{"User-Agent", "Mozilla/5.0 " + std::string(400, 'x')}, {"Referer", "https://blog.example/post"}});
  ASSERT_EQ(r.status, 302) << r.body;
  EXPECT_EQ(r.location, "https://shop.example/bike?color=red&q=a%20b&utm_source=pactum&utm_medium=affiliate&utm_campaign="
                          + campaign + "&utm_content=" + cleo.id + "#specs");
  EXPECT_EQ(r.cache_control, "no-store");
  auto r2 = http_call(ep(), "GET", "/r/" + code);
  EXPECT_EQ(r2.status, 302);
  EXPECT_EQ(http_call(ep(), "GET", "/r/AAAAAAAAAAAA").status, 404);
  EXPECT_EQ(http_call(ep(), "GET", "/r/nope").status, 404);

  // Each click is recorded 'pending' and classified by the analytics pipeline within
  // --analytics-interval-ms; wait for both verdicts rather than race the pipeline.
  pqxx::result clicks;
  for (int i = 0; i < 200; ++i) {
    clicks = query("select code, campaign_id::text, creator_id::text, length(client_hash), user_agent, referrer, verdict,"
                   " coalesce(reason, '') from link_clicks order by id");
    if (clicks.size() == 2 && clicks[0][6].as<std::string>() != "pending" && clicks[1][6].as<std::string>() != "pending")
      break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(clicks.size(), 2u);
  EXPECT_EQ(clicks[0][0].as<std::string>(), code);
  EXPECT_EQ(clicks[0][1].as<std::string>(), campaign);
  EXPECT_EQ(clicks[0][2].as<std::string>(), cleo.id);
  EXPECT_EQ(clicks[0][3].as<int>(), 16) << "a keyed hash, not the address";
  EXPECT_EQ(clicks[0][4].as<std::string>().size(), 256u) << "user agent truncated";
  EXPECT_EQ(clicks[0][5].as<std::string>(), "https://blog.example/post");
  EXPECT_EQ(clicks[0][6].as<std::string>(), "valid");
  EXPECT_EQ(clicks[1][6].as<std::string>(), "invalid") << "the same address on the same link again is not billed twice";
  EXPECT_EQ(clicks[1][7].as<std::string>(), "repeat_click");
  EXPECT_EQ(query("select count(*) from link_clicks where position('127.0.0.1' in encode(client_hash, 'escape')) > 0")
              .at(0).at(0).as<int>(), 0);
  EXPECT_EQ(query("select count(distinct client_hash) from link_clicks").at(0).at(0).as<int>(), 1)
    << "the same address hashes alike";

  // A changed product URL reaches the redirect at once (the cache is invalidated).
  ASSERT_EQ(call(brand, "PUT", "/api/v1/brands/products/" + pid, product("BIKE", "https://new.example/b")).status, 200);
  EXPECT_EQ(http_call(ep(), "GET", "/r/" + code).location,
            "https://new.example/b?utm_source=pactum&utm_medium=affiliate&utm_campaign=" + campaign + "&utm_content=" + cleo.id);
  ASSERT_EQ(call(brand, "DELETE", "/api/v1/brands/products/" + pid).status, 200);
  EXPECT_EQ(http_call(ep(), "GET", "/r/" + code).status, 404) << "a deleted product's link is gone";
}

TEST_F(AffiliateE2E, SignedConversionsAreIdempotent) {
  auto brand = make_account(ep(), "brand", "Acme");
  auto other = make_account(ep(), "brand", "Other");
  auto cleo = make_account(ep(), "creator", "Cleo");
  auto campaign = campaign_with(brand, cleo);
  auto pid = call(brand, "POST", "/api/v1/brands/products", product("BIKE", "https://shop.example/bike"))
               .json_body()["product"]["id"].get<std::string>();
  auto code = call(cleo, "POST", "/api/v1/campaigns/" + campaign + "/links", json{{"product_id", pid}})
                .json_body()["link"]["code"].get<std::string>();

  EXPECT_EQ(call(cleo, "POST", "/api/v1/brands/signing-key").status, 403);
  auto key = call(brand, "POST", "/api/v1/brands/signing-key");
  ASSERT_EQ(key.status, 201) << key.body;
  auto secret = key.json_body()["secret"].get<std::string>();
  EXPECT_EQ(secret.size(), 64u);
  auto other_secret = call(other, "POST", "/api/v1/brands/signing-key").json_body()["secret"].get<std::string>();
  // At rest the key is sealed under the master key: the row holds neither the key nor its bytes.
  auto stored = query("select length(secret), position(convert_to('" + secret + "', 'UTF8') in secret)"
                      " from brand_signing_keys where brand_id = '" + brand.id + "'");
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0][0].as<int>(), 104) << "24 bytes of nonce + the 64-character key + 16 of tag";
  EXPECT_EQ(stored[0][1].as<int>(), 0) << "the key is not stored in the clear";

  json order{{"order_id", "ORD-1"}, {"code", code}, {"amount", 4'990}, {"currency", "EUR"}, {"client_ip", "203.0.113.9"}};
  auto ok = convert(brand.id, secret, order);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_FALSE(ok.json_body()["duplicate"].get<bool>());
  EXPECT_EQ(ok.json_body()["conversion"]["campaign_id"], campaign);
  EXPECT_EQ(ok.json_body()["conversion"]["creator_id"], cleo.id);

  auto repeat = convert(brand.id, secret, order);
  ASSERT_EQ(repeat.status, 200) << repeat.body;
  EXPECT_TRUE(repeat.json_body()["duplicate"].get<bool>());
  EXPECT_EQ(repeat.json_body()["conversion"]["id"], ok.json_body()["conversion"]["id"]);

  auto changed = order;
  changed["amount"] = 1;
  auto conflict = convert(brand.id, secret, changed);
  EXPECT_EQ(conflict.status, 409) << conflict.body;
  EXPECT_EQ(conflict.json_body()["error"]["code"], "conflict");

  auto bad_sig = convert(brand.id, secret, json{{"order_id", "ORD-2"}, {"code", code}, {"amount", 1}, {"currency", "EUR"}}, 0, true);
  EXPECT_EQ(bad_sig.status, 401);
  auto wrong_key = convert(brand.id, other_secret, json{{"order_id", "ORD-2"}, {"amount", 1}, {"currency", "EUR"}});
  EXPECT_EQ(wrong_key.status, 401);
  auto unknown = convert(cleo.id, secret, json{{"order_id", "ORD-2"}, {"amount", 1}, {"currency", "EUR"}});
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(unknown.json_body()["error"]["message"], bad_sig.json_body()["error"]["message"])
    << "an unknown brand and a bad signature answer alike";
  auto stale = convert(brand.id, secret, json{{"order_id", "ORD-3"}, {"amount", 1}, {"currency", "EUR"}}, -400);
  EXPECT_EQ(stale.status, 401);
  auto future = convert(brand.id, secret, json{{"order_id", "ORD-3"}, {"amount", 1}, {"currency", "EUR"}}, 400);
  EXPECT_EQ(future.status, 401);
  auto foreign_code = convert(other.id, other_secret, json{{"order_id", "ORD-4"}, {"code", code}, {"amount", 1}, {"currency", "EUR"}});
  EXPECT_EQ(foreign_code.status, 400) << "a code of another brand is not attributed";

  // The conversion is stored 'pending' and attributed by the analytics pipeline's next round;
  // wait for its verdict rather than race the pipeline.
  pqxx::result rows;
  for (int i = 0; i < 200; ++i) {
    rows = query("select order_id, code, amount, verdict, length(client_hash), coalesce(reason, '') from conversions order by id");
    if (rows.size() != 1 || rows[0][3].as<std::string>() != "pending")
      break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(rows.size(), 1u) << "refused posts store nothing";
  EXPECT_EQ(rows[0][1].as<std::string>(), code);
  EXPECT_EQ(rows[0][3].as<std::string>(), "invalid") << "no click of that client came before it";
  EXPECT_EQ(rows[0][5].as<std::string>(), "conversion_without_click");
  EXPECT_EQ(rows[0][4].as<int>(), 16);

  // Rotation: the old key stops working.
  auto rotated = call(brand, "POST", "/api/v1/brands/signing-key").json_body()["secret"].get<std::string>();
  EXPECT_EQ(convert(brand.id, secret, json{{"order_id", "ORD-5"}, {"amount", 1}, {"currency", "EUR"}}).status, 401);
  EXPECT_EQ(convert(brand.id, rotated, json{{"order_id", "ORD-5"}, {"amount", 1}, {"currency", "EUR"}}).status, 200);
}

TEST_F(AffiliateE2E, ACreatorCanMakeALinkAsSoonAsTheApprovalIsAnswered) {
  // The approval's answer comes after the campaign–conversation link is stored, so the creator's
  // very next request (a link for the campaign) never finds "no approved application".
  auto brand = make_account(ep(), "brand", "Quick");
  auto pid = call(brand, "POST", "/api/v1/brands/products", product("QUICK", "https://shop.example/quick"))
               .json_body()["product"].value("id", "");
  for (int i = 0; i < 12; ++i) {
    auto creator = make_account(ep(), "creator", "Fast" + std::to_string(i));
    auto campaign = campaign_with(brand, creator); // returns once the approval is answered
    auto link = call(creator, "POST", "/api/v1/campaigns/" + campaign + "/links", json{{"product_id", pid}});
    EXPECT_EQ(link.status, 200) << "round " << i << ": " << link.body;
  }
}

} // namespace
