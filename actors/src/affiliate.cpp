// runtime: products, affiliate links, the `/r/{code}` redirect and signed conversions
// (actors/include/pactum/actors/affiliate.hpp; docs/api.md, "Products and affiliate links").
//
// Nothing here blocks: storage runs on the persistence pool (persistence/affiliate_store), the
// policy check is inline, the redirect's cache and click queue are a few mutex-guarded
// operations. The click writer is not a thread: whoever queues a click into an idle queue starts
// a write on the pool, and each finished write starts the next while clicks are waiting, so at
// most one INSERT is in flight and batches grow with the load.

#include "pactum/actors/affiliate.hpp"

#include <array>
#include <atomic>
#include <charconv>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <nlohmann/json.hpp>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include "audit.hpp"
#include "pactum/actors/policy.hpp"
#include "pactum/actors/sealer.hpp"
#include "pactum/payments/webhook.hpp"
#include "pactum/persistence/affiliate_store.hpp"
#include "pactum/protocol/tracking.hpp"
#include "services.hpp"

namespace pactum::actors {

namespace {

/// What a brand's conversion signing key is bound to when sealed.
std::string signing_key_purpose(const uuid& brand) {
  return "brand-signing-key:" + brand.str();
}

/// The brand's key (the hex text it signs with) from its stored form: sealed under the master key,
/// or 64 bytes stored in the clear before migration 0034 (used as they are until the next rotation).
std::optional<std::string> open_signing_key(const std::string& master_bytes, const uuid& brand,
                                            const std::string& stored) {
  if (stored.size() == 64)
    return stored;
  auto master = privacy::master_key::from_bytes(master_bytes);
  if (!master)
    return std::nullopt;
  return master->open_secret(signing_key_purpose(brand), stored);
}

using json = nlohmann::json;
using protocol::error_code;
namespace tr = protocol::tracking;

constexpr size_t code_length = 12; // base62: about 71 bits
constexpr std::string_view base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

api_error make_error(int status, error_code code, std::string msg) {
  return api_error{status, code, std::move(msg), {}};
}

api_error storage_error(const persistence::failure& f, const char* missing = "not found") {
  switch (f.code) {
    case persistence::errc::not_found:
      return make_error(404, error_code::not_found, missing);
    case persistence::errc::duplicate:
      return make_error(409, error_code::conflict, f.message);
    case persistence::errc::conflict:
      return make_error(409, error_code::conflict, f.message);
    case persistence::errc::overloaded:
      return make_error(503, error_code::overloaded, "the server is busy; retry shortly");
    case persistence::errc::unavailable:
      return make_error(503, error_code::unavailable, "storage is unavailable; retry shortly");
    default:
      return make_error(500, error_code::internal, "internal error");
  }
}

std::optional<api_error> refused(policy::action what, const principal& who, policy::relation rel) {
  if (auto no = policy::decide(what, policy::parse_role(who.role), rel))
    return make_error(no->status, no->code, std::string{no->message});
  return std::nullopt;
}

api_error invalid(std::vector<std::pair<std::string, std::string>> fields) {
  api_error e = make_error(400, error_code::bad_request, "some fields are invalid");
  e.fields = std::move(fields);
  return e;
}

json product_json(const persistence::product_row& p) {
  return json{{"id", p.id.str()},       {"sku", p.sku},     {"name", p.name},
              {"category", p.category}, {"url", p.url},     {"price", p.price},
              {"currency", p.currency}, {"created_at", p.created_at}};
}

json link_json(const persistence::link_row& l) {
  return json{{"code", l.code},
              {"path", "/r/" + l.code},
              {"campaign_id", l.campaign.str()},
              {"creator_id", l.creator.str()},
              {"product_id", l.product.str()},
              {"created_at", l.created_at}};
}

std::string new_code() {
  std::string out(code_length, '0');
  for (auto& c : out)
    c = base62[randombytes_uniform(static_cast<uint32_t>(base62.size()))];
  return out;
}

bool plausible_code(std::string_view code) {
  if (code.size() != code_length)
    return false;
  for (char c : code)
    if (base62.find(c) == std::string_view::npos)
      return false;
  return true;
}

std::string to_hex(std::string_view bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  out.pop_back();
  return out;
}

/// A product from a JSON body; per-field errors for wrong types.
std::variant<tr::product_input, api_error> product_from_json(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return make_error(400, error_code::bad_request, "the body must be a JSON object");
  tr::product_input p;
  std::vector<std::pair<std::string, std::string>> bad;
  auto str = [&](const char* key, std::string& out) {
    auto i = j.find(key);
    if (i == j.end() || !i->is_string())
      bad.emplace_back(key, "a string is required");
    else
      out = i->get<std::string>();
  };
  str("sku", p.sku);
  str("name", p.name);
  str("category", p.category);
  str("url", p.url);
  str("currency", p.currency);
  if (auto i = j.find("price"); i == j.end() || !i->is_number_integer())
    bad.emplace_back("price", "whole minor units are required");
  else
    p.price = i->get<int64_t>();
  auto more = tr::validate_product(p);
  for (auto& f : more)
    if (std::none_of(bad.begin(), bad.end(), [&](auto& b) { return b.first == f.first; }))
      bad.push_back(std::move(f));
  if (!bad.empty())
    return invalid(std::move(bad));
  return p;
}

persistence::product_row to_row(const tr::product_input& p, uuid brand, uuid id) {
  return persistence::product_row{id, brand, p.sku, p.name, p.category, p.url, p.price, p.currency, 0};
}

} // namespace

// -- state shared with the storage callbacks (held by shared_ptr, so a late callback is safe) ---

struct affiliate_service::impl : std::enable_shared_from_this<impl> {
  explicit impl(services& s) : svc(s), cfg(s.cfg.affiliate) {
    if (sodium_init() < 0)
      throw std::runtime_error("libsodium failed to initialise");
    // The key that hashes client addresses: derived from the master key, so hashes stay
    // comparable across restarts (repeat-click detection) and nobody without it can test a guess.
    static constexpr std::string_view label = "pactum.click-address.v1";
    crypto_generichash(address_key.data(), address_key.size(), reinterpret_cast<const unsigned char*>(label.data()),
                       label.size(), reinterpret_cast<const unsigned char*>(s.cfg.master_key.data()),
                       std::min<size_t>(s.cfg.master_key.size(), crypto_generichash_KEYBYTES_MAX));
  }

  services& svc;
  const affiliate_settings& cfg;
  std::array<unsigned char, crypto_generichash_KEYBYTES> address_key{};

  persistence::database& db() { return *svc.db; }

  std::string hash_address(std::string_view address) const {
    std::array<unsigned char, 16> out{};
    crypto_generichash(out.data(), out.size(), reinterpret_cast<const unsigned char*>(address.data()), address.size(),
                       address_key.data(), address_key.size());
    return std::string{reinterpret_cast<const char*>(out.data()), out.size()};
  }

  // -- the link cache: code -> target; sharded, bounded, invalidated by product writes --------

  struct target {
    std::string location; ///< the product URL with the UTM parameters
    uuid campaign;
    uuid creator;
    uuid product;
  };
  static constexpr size_t shards = 16;
  struct shard {
    std::mutex mtx;
    std::unordered_map<std::string, std::shared_ptr<const target>> map;
  };
  std::array<shard, shards> cache;
  std::atomic<uint64_t> generation{0}; ///< bumped by every invalidation: a stale fill is dropped

  shard& shard_of(const std::string& code) { return cache[std::hash<std::string>{}(code) % shards]; }

  std::shared_ptr<const target> cached(const std::string& code) {
    auto& s = shard_of(code);
    std::lock_guard lock{s.mtx};
    auto i = s.map.find(code);
    return i == s.map.end() ? nullptr : i->second;
  }

  void fill(const std::string& code, std::shared_ptr<const target> t, uint64_t seen_generation) {
    auto& s = shard_of(code);
    std::lock_guard lock{s.mtx};
    if (generation.load() != seen_generation)
      return; // a product changed while we read: the next request reads again
    auto cap = std::max<size_t>(cfg.link_cache_entries / shards, 1);
    if (s.map.size() >= cap)
      s.map.erase(s.map.begin()); // bounded: evict an arbitrary entry (cheap, no LRU bookkeeping)
    s.map[code] = std::move(t);
  }

  void invalidate(const std::vector<std::string>& codes) {
    generation.fetch_add(1);
    for (auto& code : codes) {
      auto& s = shard_of(code);
      std::lock_guard lock{s.mtx};
      s.map.erase(code);
    }
  }

  // -- the click queue ------------------------------------------------------------------------

  std::mutex queue_mtx;
  std::deque<persistence::click_row> queue;
  bool writing = false; ///< a batch is being written (guarded by queue_mtx)
  std::atomic<uint64_t> redirects{0}, misses{0}, queued{0}, written{0}, dropped{0}, failed{0};
  std::atomic<int64_t> last_drop_log{0};

  void enqueue(persistence::click_row c) {
    bool start = false;
    {
      std::lock_guard lock{queue_mtx};
      if (queue.size() >= cfg.click_queue) {
        auto n = dropped.fetch_add(1) + 1;
        auto now = now_millis();
        auto last = last_drop_log.load();
        if (now - last >= 1000 && last_drop_log.compare_exchange_strong(last, now))
          spdlog::warn("affiliate: click queue full ({} clicks): {} clicks dropped so far", cfg.click_queue, n);
        return;
      }
      queue.push_back(std::move(c));
      queued.fetch_add(1, std::memory_order_relaxed);
      if (!writing) {
        writing = true;
        start = true;
      }
    }
    if (start)
      write_next();
  }

  /// Takes up to a batch and writes it; the callback starts the next while clicks wait.
  void write_next() {
    std::vector<persistence::click_row> batch;
    {
      std::lock_guard lock{queue_mtx};
      auto n = std::min(queue.size(), std::max<size_t>(cfg.click_batch, 1));
      if (n == 0) {
        writing = false;
        return;
      }
      batch.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue.front()));
        queue.pop_front();
      }
    }
    auto n = batch.size();
    persistence::insert_clicks(db(), std::move(batch), [self = shared_from_this(), n](persistence::result<size_t> r) {
      if (r) {
        self->written.fetch_add(n);
      } else {
        self->failed.fetch_add(n);
        spdlog::warn("affiliate: {} clicks lost: {}", n, r.error().message);
      }
      self->write_next();
    });
  }
};

affiliate_service::affiliate_service(services& svc) : impl_(std::make_shared<impl>(svc)) {}

affiliate_service::~affiliate_service() {
  flush_clicks(std::chrono::seconds(5));
}

affiliate_stats affiliate_service::stats() const {
  affiliate_stats s;
  s.redirects = impl_->redirects.load();
  s.cache_misses = impl_->misses.load();
  s.clicks_queued = impl_->queued.load();
  s.clicks_written = impl_->written.load();
  s.clicks_dropped = impl_->dropped.load();
  s.clicks_failed = impl_->failed.load();
  std::lock_guard lock{impl_->queue_mtx};
  s.queue_depth = impl_->queue.size();
  return s;
}

void affiliate_service::stats_for(principal who, json_answer done) const {
  if (auto no = refused(policy::action::tracking_stats, who, policy::relation::none))
    return done(*no);
  auto s = stats();
  done(json{{"redirects", s.redirects},
            {"cache_misses", s.cache_misses},
            {"clicks_queued", s.clicks_queued},
            {"clicks_written", s.clicks_written},
            {"clicks_dropped", s.clicks_dropped},
            {"clicks_failed", s.clicks_failed},
            {"queue_depth", s.queue_depth}}
         .dump());
}

bool affiliate_service::flush_clicks(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    {
      std::lock_guard lock{impl_->queue_mtx};
      if (impl_->queue.empty() && !impl_->writing)
        return true;
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// -- products ------------------------------------------------------------------------------------

void affiliate_service::create_product(principal who, std::string body_json, json_answer done) {
  if (auto no = refused(policy::action::product_create, who, policy::relation::none))
    return done(*no);
  auto p = product_from_json(body_json);
  if (auto* e = std::get_if<api_error>(&p))
    return done(*e);
  persistence::create_product(impl_->db(), to_row(std::get<tr::product_input>(p), who.user, uuid::v7()),
                              [done](persistence::result<persistence::product_row> r) {
                                if (!r) {
                                  if (r.error().code == persistence::errc::duplicate)
                                    return done(invalid({{"sku", "you already have a product with this sku"}}));
                                  return done(storage_error(r.error()));
                                }
                                done(json{{"product", product_json(*r)}}.dump());
                              });
}

void affiliate_service::list_products(principal who, std::string before, size_t limit, json_answer done) {
  if (auto no = refused(policy::action::product_list, who, policy::relation::none))
    return done(*no);
  uuid cursor{};
  if (!before.empty()) {
    auto c = uuid::parse(before);
    if (!c)
      return done(invalid({{"before", "the next_before of the previous page"}}));
    cursor = *c;
  }
  limit = std::clamp<size_t>(limit, 1, impl_->cfg.list_max);
  persistence::list_products(impl_->db(), who.user, cursor, limit,
                             [done, limit](persistence::result<std::vector<persistence::product_row>> r) {
                               if (!r)
                                 return done(storage_error(r.error()));
                               json list = json::array();
                               for (auto& p : *r)
                                 list.push_back(product_json(p));
                               json body{{"products", std::move(list)}};
                               body["next_before"] = r->size() == limit ? json(r->back().id.str()) : json(nullptr);
                               done(body.dump());
                             });
}

void affiliate_service::get_product(principal who, uuid id, json_answer done) {
  if (auto no = refused(policy::action::product_get, who, policy::relation::none))
    return done(*no);
  persistence::get_product(impl_->db(), who.user, id, [done](persistence::result<persistence::product_row> r) {
    if (!r)
      return done(storage_error(r.error(), "no such product"));
    done(json{{"product", product_json(*r)}}.dump());
  });
}

void affiliate_service::update_product(principal who, uuid id, std::string body_json, json_answer done) {
  if (auto no = refused(policy::action::product_update, who, policy::relation::none))
    return done(*no);
  auto p = product_from_json(body_json);
  if (auto* e = std::get_if<api_error>(&p))
    return done(*e);
  persistence::update_product(impl_->db(), to_row(std::get<tr::product_input>(p), who.user, id),
                              [done, self = impl_](persistence::result<persistence::product_saved> r) {
                                if (!r) {
                                  if (r.error().code == persistence::errc::duplicate)
                                    return done(invalid({{"sku", "you already have a product with this sku"}}));
                                  return done(storage_error(r.error(), "no such product"));
                                }
                                self->invalidate(r->stale_codes);
                                done(json{{"product", product_json(r->product)}}.dump());
                              });
}

void affiliate_service::delete_product(principal who, uuid id, json_answer done) {
  if (auto no = refused(policy::action::product_delete, who, policy::relation::none))
    return done(*no);
  persistence::delete_product(impl_->db(), who.user, id,
                              [done, self = impl_](persistence::result<std::vector<std::string>> r) {
                                if (!r)
                                  return done(storage_error(r.error(), "no such product"));
                                self->invalidate(*r);
                                done(json{{"deleted", true}, {"links_deleted", r->size()}}.dump());
                              });
}

void affiliate_service::import_products(principal who, std::string csv, json_answer done) {
  if (auto no = refused(policy::action::product_import, who, policy::relation::none))
    return done(*no);
  auto max_rows = impl_->cfg.import_max_rows;
  auto parsed = tr::parse_csv(csv, max_rows + 1, 16);
  if (parsed.error) {
    bool too_many = parsed.error->message.rfind("more than", 0) == 0 && parsed.error->message.find("records") != std::string::npos;
    if (too_many)
      return done(make_error(413, error_code::too_large,
                             "at most " + std::to_string(max_rows) + " product rows per import"));
    api_error e = make_error(400, error_code::bad_request, "the body is not valid CSV (RFC 4180)");
    e.fields.emplace_back("line " + std::to_string(parsed.error->line), parsed.error->message);
    return done(e);
  }
  static const std::vector<std::string> header{"sku", "name", "category", "url", "price", "currency"};
  if (parsed.records.empty() || parsed.records[0].fields != header) {
    api_error e = make_error(400, error_code::bad_request, "the first line must be the header sku,name,category,url,price,currency");
    e.fields.emplace_back("line 1", "expected sku,name,category,url,price,currency");
    return done(e);
  }
  if (parsed.records.size() < 2)
    return done(make_error(400, error_code::bad_request, "the file has no product rows"));
  std::vector<persistence::product_row> rows;
  json errors = json::array();
  std::unordered_map<std::string, size_t> seen; // sku -> line
  for (size_t i = 1; i < parsed.records.size(); ++i) {
    auto& rec = parsed.records[i];
    auto line = rec.line;
    if (rec.fields.size() != header.size()) {
      errors.push_back(json{{"line", line}, {"field", nullptr},
                            {"message", "expected 6 fields, found " + std::to_string(rec.fields.size())}});
      continue;
    }
    tr::product_input p{rec.fields[0], rec.fields[1], rec.fields[2], rec.fields[3], 0, rec.fields[5]};
    auto price = tr::parse_price(rec.fields[4]);
    bool price_ok = price.has_value();
    p.price = price.value_or(0);
    auto bad = tr::validate_product(p);
    if (!price_ok)
      bad.emplace_back("price", "whole minor units (digits only)");
    if (auto [it, fresh] = seen.emplace(p.sku, line); !fresh && !p.sku.empty())
      bad.emplace_back("sku", "the same sku is already on line " + std::to_string(it->second));
    for (auto& [field, msg] : bad)
      errors.push_back(json{{"line", line}, {"field", field}, {"message", msg}});
    if (bad.empty())
      rows.push_back(to_row(p, who.user, uuid::v7()));
  }
  if (!errors.empty()) {
    // All problems at once, nothing stored. `fields` also names them for generic clients.
    api_error e = make_error(400, error_code::bad_request,
                             std::to_string(errors.size()) + " problems in the file; nothing was imported");
    for (auto& err : errors)
      e.fields.emplace_back("line " + std::to_string(err["line"].get<size_t>())
                              + (err["field"].is_null() ? "" : "." + err["field"].get<std::string>()),
                            err["message"].get<std::string>());
    return done(e);
  }
  auto count = rows.size();
  persistence::import_products(impl_->db(), who.user, std::move(rows),
                               [done, self = impl_, count](persistence::result<persistence::import_outcome> r) {
                                 if (!r)
                                   return done(storage_error(r.error()));
                                 self->invalidate(r->stale_codes);
                                 done(json{{"rows", count}, {"created", r->created}, {"updated", r->updated}}.dump());
                               });
}

// -- links ---------------------------------------------------------------------------------------

void affiliate_service::create_link(principal who, uuid campaign, std::string body_json, json_answer done) {
  auto j = json::parse(body_json, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return done(make_error(400, error_code::bad_request, "the body must be a JSON object"));
  auto pid = j.contains("product_id") && j["product_id"].is_string() ? uuid::parse(j["product_id"].get<std::string>())
                                                                       : std::nullopt;
  if (!pid)
    return done(invalid({{"product_id", "a product id is required"}}));
  std::optional<uuid> creator;
  if (auto c = j.find("creator_id"); c != j.end() && !c->is_null()) {
    creator = c->is_string() ? uuid::parse(c->get<std::string>()) : std::nullopt;
    if (!creator)
      return done(invalid({{"creator_id", "a user id"}}));
  }
  if (!creator && who.role == "brand")
    return done(invalid({{"creator_id", "the creator the link is for is required"}}));
  // A creator's standing is their own, whatever they name: the policy answers first.
  bool names_other = who.role == "creator" && creator && *creator != who.user;
  auto target_creator = who.role == "creator" ? who.user : creator.value_or(who.user);
  auto self = impl_;
  persistence::campaign_link_context(
    self->db(), campaign, target_creator,
    [self, who, campaign, target_creator, names_other, product = *pid, done](persistence::result<persistence::link_context> ctx) {
      auto rel = policy::relation::stranger;
      if (ctx && who.role == "brand" && ctx->brand == who.user)
        rel = policy::relation::owner;
      else if (ctx && who.role == "creator" && ctx->eligible)
        rel = policy::relation::member;
      if (!ctx && ctx.error().code != persistence::errc::not_found)
        return done(storage_error(ctx.error()));
      if (auto no = refused(policy::action::link_create, who, rel)) {
        audit(self->svc, audit_actor::of(who), "link.create", campaign.str(), std::string{protocol::to_string(no->code)});
        return done(*no);
      }
      if (names_other)
        return done(invalid({{"creator_id", "creators create links for themselves only"}}));
      if (!ctx->eligible)
        return done(invalid({{"creator_id",
                              "this creator has no approved application, accepted invitation or conversation in the campaign"}}));
      persistence::link_row l{new_code(), campaign, target_creator, product, ctx->brand, 0, {}};
      persistence::create_link(self->db(), std::move(l),
                               [done](persistence::result<std::pair<persistence::link_row, bool>> r) {
                                 if (!r) {
                                   if (r.error().code == persistence::errc::not_found)
                                     return done(invalid({{"product_id", "no such product of the campaign's brand"}}));
                                   return done(storage_error(r.error()));
                                 }
                                 auto body = json{{"link", link_json(r->first)}, {"created", r->second}};
                                 done(body.dump());
                               });
    });
}

void affiliate_service::list_links(principal who, uuid campaign, json_answer done) {
  auto self = impl_;
  persistence::campaign_link_context(
    self->db(), campaign, who.user,
    [self, who, campaign, done](persistence::result<persistence::link_context> ctx) {
      if (!ctx && ctx.error().code != persistence::errc::not_found)
        return done(storage_error(ctx.error()));
      auto rel = policy::relation::stranger;
      if (ctx && who.role == "brand" && ctx->brand == who.user)
        rel = policy::relation::owner;
      else if (ctx && who.role == "creator" && ctx->eligible)
        rel = policy::relation::member;
      if (auto no = refused(policy::action::link_list, who, rel))
        return done(*no);
      if (!ctx) // staff asking for a missing campaign
        return done(make_error(404, error_code::not_found, "no such campaign"));
      std::optional<uuid> only;
      if (rel == policy::relation::member)
        only = who.user;
      persistence::list_links(self->db(), campaign, only, self->cfg.list_max,
                              [done](persistence::result<std::vector<persistence::link_row>> r) {
                                if (!r)
                                  return done(storage_error(r.error()));
                                json list = json::array();
                                for (auto& l : *r)
                                  list.push_back(link_json(l));
                                done(json{{"links", std::move(list)}}.dump());
                              });
    });
}

// -- the redirect --------------------------------------------------------------------------------

void affiliate_service::redirect(redirect_request req, std::function<void(expected<std::string, api_error>)> done) {
  auto self = impl_;
  if (!plausible_code(req.code))
    return done(make_error(404, error_code::not_found, "no such link"));
  auto click = [self](const std::string& code, const impl::target& t, redirect_request& rq) {
    persistence::click_row c;
    c.code = code;
    c.campaign = t.campaign;
    c.creator = t.creator;
    c.product = t.product;
    c.at = now_millis();
    c.client_hash = self->hash_address(rq.client_address);
    if (rq.user_agent.size() > self->cfg.user_agent_max)
      rq.user_agent.resize(self->cfg.user_agent_max);
    if (rq.referrer.size() > self->cfg.referrer_max)
      rq.referrer.resize(self->cfg.referrer_max);
    c.user_agent = std::move(rq.user_agent);
    c.referrer = std::move(rq.referrer);
    self->enqueue(std::move(c));
    self->redirects.fetch_add(1, std::memory_order_relaxed);
  };
  if (auto t = self->cached(req.code)) {
    click(req.code, *t, req);
    return done(t->location);
  }
  self->misses.fetch_add(1, std::memory_order_relaxed);
  auto generation = self->generation.load();
  auto code = req.code;
  persistence::resolve_link(self->db(), std::move(code),
                            [self, req = std::move(req), generation, click, done](persistence::result<persistence::link_row> r) mutable {
                              if (!r)
                                return done(storage_error(r.error(), "no such link"));
                              auto t = std::make_shared<impl::target>(impl::target{
                                tr::with_utm(r->url, r->campaign.str(), r->creator.str()), r->campaign, r->creator,
                                r->product});
                              self->fill(req.code, t, generation);
                              click(req.code, *t, req);
                              done(t->location);
                            });
}

// -- conversions ---------------------------------------------------------------------------------

void affiliate_service::rotate_signing_key(principal who, json_answer done) {
  if (auto no = refused(policy::action::signing_key_rotate, who, policy::relation::none))
    return done(*no);
  std::array<unsigned char, 32> key{};
  randombytes_buf(key.data(), key.size());
  std::string raw{reinterpret_cast<const char*>(key.data()), key.size()};
  // The brand signs with the hex text of the key (what it is shown); the server stores that text.
  auto secret = to_hex(raw);
  sodium_memzero(key.data(), key.size());
  auto self = impl_;
  auto master = privacy::master_key::from_bytes(self->svc.cfg.master_key);
  if (!master)
    return done(make_error(500, error_code::internal, "no master key"));
  // Stored sealed under the master key, bound to the brand (docs/security.md, "Secrets at rest").
  auto sealed = master->seal_secret(signing_key_purpose(who.user), secret);
  persistence::set_signing_key(self->db(), who.user, sealed, [self, who, secret, done](persistence::result<millis> r) {
    audit(self->svc, audit_actor::of(who), "signing_key.rotate", who.user.str(), r ? "ok" : "internal");
    if (!r)
      return done(storage_error(r.error()));
    done(json{{"brand_id", who.user.str()}, {"secret", secret}, {"created_at", *r}}.dump());
  });
}

void affiliate_service::conversion(conversion_post post, json_answer done) {
  auto unauthorized = [] { return make_error(401, error_code::unauthorized, "unknown brand or bad signature"); };
  auto brand = uuid::parse(post.brand);
  bool digits = !post.timestamp.empty() && post.timestamp.size() <= 18
                && std::all_of(post.timestamp.begin(), post.timestamp.end(), [](char c) { return c >= '0' && c <= '9'; });
  bool hex = post.signature.size() == 64 && std::all_of(post.signature.begin(), post.signature.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
             });
  if (!digits)
    return done(make_error(401, error_code::unauthorized, "X-Pactum-Timestamp must be Unix seconds"));
  int64_t ts = 0;
  std::from_chars(post.timestamp.data(), post.timestamp.data() + post.timestamp.size(), ts);
  auto now_s = now_millis() / 1000;
  if (ts > now_s + impl_->cfg.conversion_tolerance_s || ts < now_s - impl_->cfg.conversion_tolerance_s)
    return done(make_error(401, error_code::unauthorized, "the timestamp is outside the accepted window"));
  if (!brand || !hex)
    return done(unauthorized());
  auto self = impl_;
  persistence::signing_key(self->db(), *brand, [self, brand = *brand, post = std::move(post), done, unauthorized](
                                                   persistence::result<std::string> key) mutable {
    if (!key && key.error().code != persistence::errc::not_found)
      return done(storage_error(key.error()));
    // An unknown brand is checked against a fixed key, so it costs the same as a bad signature.
    std::optional<std::string> opened;
    if (key)
      opened = open_signing_key(self->svc.cfg.master_key, brand, *key);
    if (key && !opened)
      spdlog::error("conversions: the signing key of brand {} does not open with this master key", brand.str());
    std::string secret = opened ? *opened : std::string(64, '0');
    auto check = payments::verify_webhook(secret, "t=" + post.timestamp + ",v1=" + post.signature, post.body,
                                          now_millis() / 1000, self->cfg.conversion_tolerance_s);
    if (!opened || check != payments::webhook_check::ok) {
      if (check == payments::webhook_check::expired)
        return done(make_error(401, error_code::unauthorized, "the timestamp is outside the accepted window"));
      return done(unauthorized());
    }
    auto j = json::parse(post.body, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      return done(make_error(400, error_code::bad_request, "the body must be a JSON object"));
    persistence::conversion_row c;
    c.brand = brand;
    std::vector<std::pair<std::string, std::string>> bad;
    if (auto i = j.find("order_id"); i == j.end() || !i->is_string() || i->get<std::string>().empty()
                                      || i->get<std::string>().size() > 128)
      bad.emplace_back("order_id", "1 to 128 characters");
    else
      c.order_id = i->get<std::string>();
    if (auto i = j.find("code"); i != j.end() && !i->is_null()) {
      if (!i->is_string() || !plausible_code(i->get<std::string>()))
        bad.emplace_back("code", "an affiliate link code");
      else
        c.code = i->get<std::string>();
    }
    if (auto i = j.find("amount"); i == j.end() || !i->is_number_integer() || i->get<int64_t>() < 0)
      bad.emplace_back("amount", "whole minor units, 0 or more");
    else
      c.amount = i->get<int64_t>();
    if (auto i = j.find("currency"); i != j.end() && i->is_string())
      c.currency = i->get<std::string>();
    if (c.currency.size() != 3
        || !std::all_of(c.currency.begin(), c.currency.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; }))
      bad.emplace_back("currency", "an ISO 4217 code of three capital letters");
    c.at = now_millis();
    if (auto i = j.find("occurred_at"); i != j.end() && !i->is_null()) {
      if (!i->is_number_integer() || i->get<int64_t>() <= 0)
        bad.emplace_back("occurred_at", "milliseconds since the epoch");
      else {
        c.at = i->get<int64_t>();
        c.at_given = true;
      }
    }
    if (auto i = j.find("client_ip"); i != j.end() && !i->is_null()) {
      if (!i->is_string() || i->get<std::string>().empty() || i->get<std::string>().size() > 64)
        bad.emplace_back("client_ip", "the shopper's IP address");
      else
        c.client_hash = self->hash_address(i->get<std::string>());
    }
    if (!bad.empty())
      return done(invalid(std::move(bad)));
    persistence::record_conversion(self->db(), std::move(c), [done](persistence::result<persistence::conversion_saved> r) {
      if (!r) {
        if (r.error().code == persistence::errc::not_found)
          return done(invalid({{"code", "no such affiliate link of this brand"}}));
        return done(storage_error(r.error()));
      }
      auto& row = r->row;
      auto opt = [](const std::optional<uuid>& u) { return u ? json(u->str()) : json(nullptr); };
      json conv{{"id", row.id},
                {"order_id", row.order_id},
                {"code", row.code.empty() ? json(nullptr) : json(row.code)},
                {"campaign_id", opt(row.campaign)},
                {"creator_id", opt(row.creator)},
                {"product_id", opt(row.product)},
                {"amount", row.amount},
                {"currency", row.currency},
                {"occurred_at", row.at},
                {"received_at", row.received_at},
                {"status", "pending"}};
      done(json{{"conversion", std::move(conv)}, {"duplicate", r->duplicate}}.dump());
    });
  });
}

} // namespace pactum::actors
