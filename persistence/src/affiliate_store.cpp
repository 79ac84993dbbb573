#include "pactum/persistence/affiliate_store.hpp"

#include <memory>

#include <pqxx/pqxx>

#include "store_support.hpp"

namespace pactum::persistence {

namespace {

using detail::array_literal;
using detail::submit;
using detail::to_uuid;

#define PACTUM_MS(expr) "floor(extract(epoch from " expr ") * 1000)::bigint"

constexpr const char* product_columns =
  "id::text, brand_id::text, sku, name, category, url, price, currency, " PACTUM_MS("created_at");

product_row to_product(const pqxx::row& r) {
  product_row p;
  p.id = to_uuid(r[0]);
  p.brand = to_uuid(r[1]);
  p.sku = r[2].as<std::string>();
  p.name = r[3].as<std::string>();
  p.category = r[4].as<std::string>();
  p.url = r[5].as<std::string>();
  p.price = r[6].as<int64_t>();
  p.currency = r[7].as<std::string>();
  p.created_at = r[8].as<int64_t>();
  return p;
}

constexpr const char* link_columns =
  "l.code, l.campaign_id::text, l.creator_id::text, l.product_id::text, l.brand_id::text, "
  PACTUM_MS("l.created_at") ", p.url";

link_row to_link(const pqxx::row& r) {
  link_row l;
  l.code = r[0].as<std::string>();
  l.campaign = to_uuid(r[1]);
  l.creator = to_uuid(r[2]);
  l.product = to_uuid(r[3]);
  l.brand = to_uuid(r[4]);
  l.created_at = r[5].as<int64_t>();
  l.url = r[6].as<std::string>();
  return l;
}

std::string hex(const std::string& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::vector<std::string> codes_of(const pqxx::result& rows) {
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (const auto& r : rows)
    out.push_back(r[0].as<std::string>());
  return out;
}

} // namespace

void create_product(database& db, product_row p, std::function<void(result<product_row>)> done) {
  submit<product_row>(db, "create_product", std::move(done), [p = std::move(p)](pqxx::connection& conn) -> result<product_row> {
    pqxx::work tx{conn};
    auto rows = tx.exec_params(std::string{"insert into products (id, brand_id, sku, name, category, url, price, currency)"
                                           " values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (brand_id, sku) do nothing"
                                           " returning "} + product_columns,
                               p.id.str(), p.brand.str(), p.sku, p.name, p.category, p.url, p.price, p.currency);
    if (rows.empty())
      return failure{errc::duplicate, "the brand already has a product with this sku"};
    tx.commit();
    return to_product(rows[0]);
  });
}

void list_products(database& db, uuid brand, uuid before, size_t limit,
                   std::function<void(result<std::vector<product_row>>)> done) {
  submit<std::vector<product_row>>(db, "list_products", std::move(done), [brand, before, limit](pqxx::connection& conn)
                                     -> result<std::vector<product_row>> {
    pqxx::read_transaction tx{conn};
    auto rows = before.is_nil()
                  ? tx.exec_params(std::string{"select "} + product_columns
                                     + " from products where brand_id = $1 order by id desc limit $2",
                                   brand.str(), static_cast<int64_t>(limit))
                  : tx.exec_params(std::string{"select "} + product_columns
                                     + " from products where brand_id = $1 and id < $3 order by id desc limit $2",
                                   brand.str(), static_cast<int64_t>(limit), before.str());
    std::vector<product_row> out;
    for (const auto& r : rows)
      out.push_back(to_product(r));
    return out;
  });
}

void get_product(database& db, uuid brand, uuid id, std::function<void(result<product_row>)> done) {
  submit<product_row>(db, "get_product", std::move(done), [brand, id](pqxx::connection& conn) -> result<product_row> {
    pqxx::read_transaction tx{conn};
    auto rows = tx.exec_params(std::string{"select "} + product_columns + " from products where brand_id = $1 and id = $2",
                               brand.str(), id.str());
    if (rows.empty())
      return failure{errc::not_found, "no such product"};
    return to_product(rows[0]);
  });
}

void update_product(database& db, product_row p, std::function<void(result<product_saved>)> done) {
  submit<product_saved>(db, "update_product", std::move(done), [p = std::move(p)](pqxx::connection& conn) -> result<product_saved> {
    pqxx::work tx{conn};
    auto rows = tx.exec_params(std::string{"update products set sku = $3, name = $4, category = $5, url = $6,"
                                           " price = $7, currency = $8 where brand_id = $1 and id = $2 returning "}
                                 + product_columns,
                               p.brand.str(), p.id.str(), p.sku, p.name, p.category, p.url, p.price, p.currency);
    if (rows.empty())
      return failure{errc::not_found, "no such product"};
    product_saved out{to_product(rows[0]), {}};
    out.stale_codes = codes_of(tx.exec_params("select code from affiliate_links where product_id = $1", p.id.str()));
    tx.commit();
    return out;
  });
}

void delete_product(database& db, uuid brand, uuid id,
                    std::function<void(result<std::vector<std::string>>)> done) {
  submit<std::vector<std::string>>(db, "delete_product", std::move(done), [brand, id](pqxx::connection& conn)
                                     -> result<std::vector<std::string>> {
    pqxx::work tx{conn};
    auto codes = codes_of(tx.exec_params("select code from affiliate_links where product_id = $1 and brand_id = $2",
                                         id.str(), brand.str()));
    auto rows = tx.exec_params("delete from products where brand_id = $1 and id = $2 returning id", brand.str(), id.str());
    if (rows.empty())
      return failure{errc::not_found, "no such product"};
    tx.commit();
    return codes;
  });
}

void import_products(database& db, uuid brand, std::vector<product_row> rows,
                     std::function<void(result<import_outcome>)> done) {
  submit<import_outcome>(db, "import_products", std::move(done), [brand, rows = std::move(rows)](pqxx::connection& conn)
                           -> result<import_outcome> {
    // One statement for the whole file: arrays in, `xmax = 0` tells an insert from an update.
    std::vector<std::string> ids, skus, names, categories, urls, prices, currencies;
    for (auto& r : rows) {
      ids.push_back(r.id.str());
      skus.push_back(r.sku);
      names.push_back(r.name);
      categories.push_back(r.category);
      urls.push_back(r.url);
      prices.push_back(std::to_string(r.price));
      currencies.push_back(r.currency);
    }
    pqxx::work tx{conn};
    auto result_rows = tx.exec_params(
      "insert into products as p (id, brand_id, sku, name, category, url, price, currency)"
      " select i, $1, s, n, c, u, pr, cu from unnest($2::uuid[], $3::text[], $4::text[], $5::text[],"
      " $6::text[], $7::bigint[], $8::text[]) as t(i, s, n, c, u, pr, cu)"
      " on conflict (brand_id, sku) do update set name = excluded.name, category = excluded.category,"
      " url = excluded.url, price = excluded.price, currency = excluded.currency"
      " returning p.id::text, (xmax = 0)",
      brand.str(), array_literal(ids), array_literal(skus), array_literal(names), array_literal(categories),
      array_literal(urls), array_literal(prices), array_literal(currencies));
    import_outcome out;
    std::vector<std::string> updated;
    for (const auto& r : result_rows) {
      if (r[1].as<bool>())
        ++out.created;
      else
        updated.push_back(r[0].as<std::string>());
    }
    out.updated = updated.size();
    if (!updated.empty())
      out.stale_codes = codes_of(tx.exec_params("select code from affiliate_links where product_id = any($1::uuid[])",
                                                array_literal(updated)));
    tx.commit();
    return out;
  });
}

void campaign_link_context(database& db, uuid campaign, uuid creator,
                           std::function<void(result<link_context>)> done) {
  submit<link_context>(db, "campaign_link_context", std::move(done), [campaign, creator](pqxx::connection& conn)
                         -> result<link_context> {
    pqxx::read_transaction tx{conn};
    auto rows = tx.exec_params(
      "select c.brand_id::text,"
      " exists (select 1 from campaign_invitations i where i.campaign_id = c.id and i.creator_id = $2"
      "         and i.outcome = 'accepted')"
      " or exists (select 1 from campaign_conversations cc join conversations v on v.id = cc.conversation_id"
      "            where cc.campaign_id = c.id and v.creator_id = $2)"
      " from campaigns c where c.id = $1",
      campaign.str(), creator.str());
    if (rows.empty())
      return failure{errc::not_found, "no such campaign"};
    return link_context{to_uuid(rows[0][0]), rows[0][1].as<bool>()};
  });
}

void create_link(database& db, link_row l, std::function<void(result<std::pair<link_row, bool>>)> done) {
  submit<std::pair<link_row, bool>>(db, "create_link", std::move(done), [l = std::move(l)](pqxx::connection& conn)
                                      -> result<std::pair<link_row, bool>> {
    pqxx::work tx{conn};
    auto product = tx.exec_params("select 1 from products where id = $1 and brand_id = $2", l.product.str(), l.brand.str());
    if (product.empty())
      return failure{errc::not_found, "no such product"};
    auto inserted = tx.exec_params(
      "insert into affiliate_links (code, campaign_id, creator_id, product_id, brand_id) values ($1, $2, $3, $4, $5)"
      " on conflict (campaign_id, creator_id, product_id) do nothing returning code",
      l.code, l.campaign.str(), l.creator.str(), l.product.str(), l.brand.str());
    auto rows = tx.exec_params(std::string{"select "} + link_columns
                                 + " from affiliate_links l join products p on p.id = l.product_id"
                                   " where l.campaign_id = $1 and l.creator_id = $2 and l.product_id = $3",
                               l.campaign.str(), l.creator.str(), l.product.str());
    if (rows.empty())
      return failure{errc::internal, "the link vanished"};
    tx.commit();
    return std::pair{to_link(rows[0]), !inserted.empty()};
  });
}

void list_links(database& db, uuid campaign, std::optional<uuid> creator, size_t limit,
                std::function<void(result<std::vector<link_row>>)> done) {
  submit<std::vector<link_row>>(db, "list_links", std::move(done), [campaign, creator, limit](pqxx::connection& conn)
                                  -> result<std::vector<link_row>> {
    pqxx::read_transaction tx{conn};
    auto sql = std::string{"select "} + link_columns
               + " from affiliate_links l join products p on p.id = l.product_id where l.campaign_id = $1";
    auto rows = creator ? tx.exec_params(sql + " and l.creator_id = $3 order by l.created_at, l.code limit $2",
                                         campaign.str(), static_cast<int64_t>(limit), creator->str())
                        : tx.exec_params(sql + " order by l.created_at, l.code limit $2", campaign.str(),
                                         static_cast<int64_t>(limit));
    std::vector<link_row> out;
    for (const auto& r : rows)
      out.push_back(to_link(r));
    return out;
  });
}

void resolve_link(database& db, std::string code, std::function<void(result<link_row>)> done) {
  submit<link_row>(db, "resolve_link", std::move(done), [code = std::move(code)](pqxx::connection& conn) -> result<link_row> {
    pqxx::read_transaction tx{conn};
    auto rows = tx.exec_params(std::string{"select "} + link_columns
                                 + " from affiliate_links l join products p on p.id = l.product_id where l.code = $1",
                               code);
    if (rows.empty())
      return failure{errc::not_found, "no such link"};
    return to_link(rows[0]);
  });
}

void insert_clicks(database& db, std::vector<click_row> clicks, std::function<void(result<size_t>)> done) {
  submit<size_t>(db, "insert_clicks", std::move(done), [clicks = std::move(clicks)](pqxx::connection& conn) -> result<size_t> {
    std::vector<std::string> codes, campaigns, creators, products, ats, hashes, agents, referrers;
    for (auto& c : clicks) {
      codes.push_back(c.code);
      campaigns.push_back(c.campaign.str());
      creators.push_back(c.creator.str());
      products.push_back(c.product.str());
      ats.push_back(std::to_string(c.at));
      hashes.push_back(hex(c.client_hash));
      agents.push_back(c.user_agent);
      referrers.push_back(c.referrer);
    }
    pqxx::work tx{conn};
    tx.exec_params0(
      "insert into link_clicks (code, campaign_id, creator_id, product_id, at, client_hash, user_agent, referrer)"
      " select co, ca, cr, pr, 'epoch'::timestamptz + a * interval '1 millisecond', decode(h, 'hex'), ua, re"
      " from unnest($1::text[], $2::uuid[], $3::uuid[], $4::uuid[], $5::bigint[], $6::text[], $7::text[], $8::text[])"
      " as t(co, ca, cr, pr, a, h, ua, re)",
      array_literal(codes), array_literal(campaigns), array_literal(creators), array_literal(products),
      array_literal(ats), array_literal(hashes), array_literal(agents), array_literal(referrers));
    tx.commit();
    return clicks.size();
  });
}

void record_conversion(database& db, conversion_row c, std::function<void(result<conversion_saved>)> done) {
  submit<conversion_saved>(db, "record_conversion", std::move(done), [c = std::move(c)](pqxx::connection& conn) mutable
                             -> result<conversion_saved> {
    constexpr const char* columns =
      "id, coalesce(code, ''), campaign_id::text, creator_id::text, product_id::text, amount, currency,"
      " coalesce(encode(client_hash, 'hex'), ''), " PACTUM_MS("at") ", " PACTUM_MS("received_at");
    auto fill = [](conversion_row& out, const pqxx::row& r) {
      out.id = r[0].as<int64_t>();
      out.code = r[1].as<std::string>();
      out.campaign = r[2].is_null() ? std::nullopt : std::optional{to_uuid(r[2])};
      out.creator = r[3].is_null() ? std::nullopt : std::optional{to_uuid(r[3])};
      out.product = r[4].is_null() ? std::nullopt : std::optional{to_uuid(r[4])};
      out.amount = r[5].as<int64_t>();
      out.currency = r[6].as<std::string>();
      out.at = r[8].as<int64_t>();
      out.received_at = r[9].as<int64_t>();
      return r[7].as<std::string>(); // the client hash, hex
    };
    pqxx::work tx{conn};
    auto existing = tx.exec_params(std::string{"select "} + columns + " from conversions where brand_id = $1 and order_id = $2",
                                   c.brand.str(), c.order_id);
    if (existing.empty()) {
      if (!c.code.empty()) {
        auto link = tx.exec_params("select campaign_id::text, creator_id::text, product_id::text from affiliate_links"
                                   " where code = $1 and brand_id = $2",
                                   c.code, c.brand.str());
        if (link.empty())
          return failure{errc::not_found, "no such affiliate link of this brand"};
        c.campaign = to_uuid(link[0][0]);
        c.creator = to_uuid(link[0][1]);
        c.product = to_uuid(link[0][2]);
      }
      auto opt = [](const std::optional<uuid>& u) { return u ? std::optional<std::string>{u->str()} : std::nullopt; };
      auto rows = tx.exec_params(
        std::string{"insert into conversions (brand_id, order_id, code, campaign_id, creator_id, product_id, amount,"
                    " currency, client_hash, at) values ($1, $2, nullif($3, ''), $4, $5, $6, $7, $8,"
                    " decode(nullif($9, ''), 'hex'), 'epoch'::timestamptz + $10::bigint * interval '1 millisecond')"
                    " on conflict (brand_id, order_id) do nothing returning "}
          + columns,
        c.brand.str(), c.order_id, c.code, opt(c.campaign), opt(c.creator), opt(c.product), c.amount, c.currency,
        hex(c.client_hash), c.at);
      if (!rows.empty()) {
        fill(c, rows[0]);
        tx.commit();
        return conversion_saved{std::move(c), false};
      }
      // A concurrent first post won the race: read it and compare like any repeat.
      existing = tx.exec_params(std::string{"select "} + columns + " from conversions where brand_id = $1 and order_id = $2",
                                c.brand.str(), c.order_id);
      if (existing.empty())
        return failure{errc::internal, "the conversion vanished"};
    }
    conversion_row stored;
    stored.brand = c.brand;
    stored.order_id = c.order_id;
    auto stored_hash = fill(stored, existing[0]);
    bool same = stored.code == c.code && stored.amount == c.amount && stored.currency == c.currency
                && stored_hash == hex(c.client_hash) && (!c.at_given || stored.at == c.at);
    if (!same)
      return failure{errc::conflict, "this order id was already recorded with other details"};
    stored.client_hash = c.client_hash;
    return conversion_saved{std::move(stored), true};
  });
}

void set_signing_key(database& db, uuid brand, std::string secret, std::function<void(result<millis>)> done) {
  submit<millis>(db, "set_signing_key", std::move(done), [brand, secret = std::move(secret)](pqxx::connection& conn)
                   -> result<millis> {
    pqxx::work tx{conn};
    auto rows = tx.exec_params("insert into brand_signing_keys (brand_id, secret) values ($1, decode($2, 'hex'))"
                               " on conflict (brand_id) do update set secret = excluded.secret, created_at = now()"
                               " returning " PACTUM_MS("created_at"),
                               brand.str(), hex(secret));
    tx.commit();
    return rows[0][0].as<int64_t>();
  });
}

void signing_key(database& db, uuid brand, std::function<void(result<std::string>)> done) {
  submit<std::string>(db, "signing_key", std::move(done), [brand](pqxx::connection& conn) -> result<std::string> {
    pqxx::read_transaction tx{conn};
    auto rows = tx.exec_params("select encode(secret, 'hex') from brand_signing_keys where brand_id = $1", brand.str());
    if (rows.empty())
      return failure{errc::not_found, "no signing key"};
    auto h = rows[0][0].as<std::string>();
    std::string out;
    for (size_t i = 0; i + 1 < h.size(); i += 2)
      out += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
    return out;
  });
}

} // namespace pactum::persistence
