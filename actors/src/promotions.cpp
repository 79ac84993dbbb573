// Local promotions (docs/api.md, "Local promotions"; promotions.hpp): validation, authorization
// (policy::decide with the caller's relation to the promotion or code), the signing keys, and
// the live leaderboard hub.
//
// Threads: the service's operations run on the caller's thread (gateway I/O) only up to their
// first asynchronous step; storage runs on the persistence pool, post checks on the social
// client's threads; nothing blocks. The hub is an actor: it owns the subscriptions and the push
// timers, asks the persistence pool for a locality's board and gets the answer as a message.

#include "pactum/actors/promotions.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include "audit.hpp"
#include "entity_support.hpp"
#include "message_types.hpp"
#include "pactum/actors/policy.hpp"
#include "pactum/actors/promo_token.hpp"
#include "pactum/actors/sealer.hpp"
#include "pactum/persistence/promo_store.hpp"
#include "pactum/social/adapter.hpp"
#include "services.hpp"

namespace pactum::actors {

namespace {

using json = nlohmann::json;
using protocol::error_code;
namespace ps = persistence;

constexpr size_t max_title_chars = 120;
constexpr size_t max_city_bytes = 100;
constexpr size_t max_url_bytes = 500;
constexpr int64_t max_amount = 1'000'000'000'000; // 10^12 minor units
/// The hub's name in the actor system's registry (session actors look it up).
const caf::atom_value hub_name = caf::atom("promohub");

api_error make_error(int status, error_code code, std::string msg) {
  return api_error{status, code, std::move(msg), {}};
}

api_error field_error(std::string field, std::string why) {
  auto e = make_error(400, error_code::bad_request, "some fields are invalid");
  e.fields.emplace_back(std::move(field), std::move(why));
  return e;
}

std::optional<api_error> refused(policy::action what, const principal& who, policy::relation rel) {
  auto no = policy::decide(what, policy::parse_role(who.role), rel);
  if (!no)
    return std::nullopt;
  return make_error(no->status, no->code, std::string{no->message});
}

api_error storage_error(const ps::failure& f) {
  switch (f.code) {
    case ps::errc::overloaded:
      return make_error(503, error_code::overloaded, "the server is busy; retry shortly");
    case ps::errc::unavailable:
      return make_error(503, error_code::unavailable, "storage is unavailable; retry shortly");
    default:
      return make_error(500, error_code::internal, "internal error");
  }
}

api_error not_found_promotion() {
  return make_error(404, error_code::not_found, "no such promotion");
}

api_error invalid_code() {
  // The policy's stranger refusal for promotion.redeem: forged, altered, unknown and someone
  // else's codes all get exactly this.
  auto no = policy::decide(policy::action::promotion_redeem, policy::role::brand, policy::relation::stranger);
  return make_error(no->status, no->code, std::string{no->message});
}

bool active_now(const ps::promotion_row& p, millis now) {
  return p.status == "active" && p.valid_from <= now && now < p.valid_until;
}

json promotion_json(const ps::promotion_row& p) {
  return json{{"id", p.id.str()},
              {"brand", json{{"id", p.brand.str()}, {"display_name", p.brand_name}}},
              {"title", p.title},
              {"reward", json{{"amount", p.reward_amount}, {"currency", p.currency}}},
              {"budget", p.budget},
              {"budget_left", p.budget_left},
              {"valid_from", p.valid_from},
              {"valid_until", p.valid_until},
              {"locality", json{{"country", p.country}, {"city", p.city}, {"key", p.country + ":" + p.city}}},
              {"status", p.status},
              {"redemptions", p.redemptions},
              {"promoters", p.promoters},
              {"joined", p.joined},
              {"created_at", p.created_at}};
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json leaderboard_json(const locality& loc, const std::vector<ps::leader_row>& rows, millis now) {
  json entries = json::array();
  int64_t rank = 0;
  for (auto& r : rows)
    entries.push_back(json{{"rank", ++rank},
                           {"promoter", json{{"id", r.promoter.str()}, {"display_name", r.display_name}}},
                           {"points", r.points},
                           {"redemptions", r.redemptions},
                           {"reposts", r.reposts}});
  return json{{"locality", json{{"country", loc.country}, {"city", loc.city}, {"key", loc.key()}}},
              {"entries", std::move(entries)},
              {"at", now}};
}

/// An integer member; nullopt when absent or not an integer.
std::optional<int64_t> int_member(const json& j, const char* key) {
  auto i = j.find(key);
  if (i == j.end() || !i->is_number_integer())
    return std::nullopt;
  if (i->is_number_unsigned() && i->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
    return std::nullopt;
  return i->get<int64_t>();
}

std::string str_member(const json& j, const char* key) {
  auto i = j.find(key);
  return i != j.end() && i->is_string() ? i->get<std::string>() : std::string{};
}

size_t utf8_chars(const std::string& s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// -- the live leaderboard hub ---------------------------------------------------------------------

/// One locality's subscribers and push state.
struct board {
  std::map<caf::actor_addr, caf::actor> subscribers;
  std::vector<caf::typed_response_promise<std::string>> waiting; ///< joins awaiting the board
  millis last_push = 0;
  bool dirty = false;   ///< points changed since the last load
  bool timer = false;   ///< a tick is scheduled
  bool loading = false; ///< a load is in flight
};

struct hub_state {
  static inline const char* name = "promo_hub";
  services* svc = nullptr;
  std::map<std::string, board> boards; ///< by locality key
  std::map<caf::actor_addr, std::set<std::string>> by_session;
};

using hub_ptr = caf::stateful_actor<hub_state>*;

void start_load(hub_ptr self, const std::string& key) {
  auto& b = self->state.boards[key];
  b.loading = true;
  bool push = b.dirty;
  b.dirty = false;
  auto loc = parse_locality(key);
  auto hub = caf::actor_cast<caf::actor>(self);
  auto now = self->state.svc->now();
  ps::promo_leaderboard(*self->state.svc->db, loc->country, loc->city, self->state.svc->cfg.promo_leaderboard_max,
                        [hub, key, loc = *loc, push, now](ps::result<std::vector<ps::leader_row>> r) {
                          std::string view = r ? dump(leaderboard_json(loc, *r, now)) : std::string{};
                          caf::anon_send(hub, caf::ok_atom_v, key, std::move(view), push);
                        });
}

/// Loads and pushes now, or once the interval since the last push has passed.
void maybe_flush(hub_ptr self, const std::string& key) {
  auto& b = self->state.boards[key];
  if (b.loading || b.timer || !b.dirty)
    return;
  auto interval = static_cast<millis>(self->state.svc->cfg.promo_push_interval.count());
  auto since = self->state.svc->now() - b.last_push;
  if (since >= interval)
    return start_load(self, key);
  b.timer = true;
  self->delayed_send(self, std::chrono::milliseconds(interval - since), caf::tick_atom_v, key);
}

void drop_subscriber(hub_ptr self, const std::string& key, const caf::actor_addr& who) {
  auto i = self->state.boards.find(key);
  if (i == self->state.boards.end())
    return;
  i->second.subscribers.erase(who);
  if (i->second.subscribers.empty() && i->second.waiting.empty() && !i->second.loading && !i->second.timer)
    self->state.boards.erase(i);
}

caf::behavior promo_hub(hub_ptr self, services* svc) {
  self->state.svc = svc;
  self->set_down_handler([=](caf::down_msg& dm) {
    auto i = self->state.by_session.find(dm.source);
    if (i == self->state.by_session.end())
      return;
    for (auto& key : i->second)
      drop_subscriber(self, key, dm.source);
    self->state.by_session.erase(i);
  });
  return {
    [=](caf::join_atom, const std::string& text, const caf::actor& session) -> caf::result<std::string> {
      std::string why;
      auto loc = parse_locality(text, &why);
      if (!loc)
        return refuse(error_code::bad_request, "locality: " + why);
      auto key = loc->key();
      auto& b = self->state.boards[key];
      if (b.subscribers.size() >= self->state.svc->cfg.promo_max_subscribers
          && !b.subscribers.count(session.address()))
        return refuse(error_code::limit_reached, "this locality has the most live subscribers it takes");
      auto& mine = self->state.by_session[session.address()];
      if (mine.empty())
        self->monitor(session);
      mine.insert(key);
      b.subscribers.emplace(session.address(), session);
      auto rp = self->make_response_promise<std::string>();
      b.waiting.push_back(rp);
      if (!b.loading)
        start_load(self, key);
      return rp;
    },
    [=](caf::leave_atom, const std::string& text, const caf::actor& session) -> caf::result<std::string> {
      std::string why;
      auto loc = parse_locality(text, &why);
      if (!loc)
        return refuse(error_code::bad_request, "locality: " + why);
      auto key = loc->key();
      if (auto i = self->state.by_session.find(session.address()); i != self->state.by_session.end()) {
        i->second.erase(key);
        if (i->second.empty()) {
          self->demonitor(session);
          self->state.by_session.erase(i);
        }
      }
      drop_subscriber(self, key, session.address());
      return dump(json{{"locality", json{{"country", loc->country}, {"city", loc->city}, {"key", key}}},
                       {"unsubscribed", true}});
    },
    [=](caf::update_atom, const std::string& key) {
      auto i = self->state.boards.find(key);
      if (i == self->state.boards.end() || i->second.subscribers.empty())
        return; // nobody watches: nothing to push
      i->second.dirty = true;
      maybe_flush(self, key);
    },
    [=](caf::tick_atom, const std::string& key) {
      auto i = self->state.boards.find(key);
      if (i == self->state.boards.end())
        return;
      i->second.timer = false;
      if (i->second.subscribers.empty() && i->second.waiting.empty() && !i->second.loading) {
        self->state.boards.erase(i);
        return;
      }
      maybe_flush(self, key);
    },
    [=](caf::ok_atom, const std::string& key, std::string& view, bool push) {
      auto i = self->state.boards.find(key);
      if (i == self->state.boards.end())
        return;
      auto& b = i->second;
      b.loading = false;
      for (auto& rp : b.waiting) {
        if (view.empty())
          rp.deliver(refuse(error_code::unavailable, "storage is unavailable; retry shortly"));
        else
          rp.deliver(view);
      }
      b.waiting.clear();
      if (push && !view.empty() && !b.subscribers.empty()) {
        // Encoded once, shared by every subscriber's session.
        auto event = json::to_msgpack(json{{"type", "leaderboard.updated"}, {"leaderboard", json::parse(view)}});
        auto bytes = std::make_shared<const std::string>(event.begin(), event.end());
        auto frame = std::make_shared<protocol::push_frame>("leaderboard:" + key, 0, bytes);
        protocol::push_frame_ptr shared = frame;
        for (auto& [addr, session] : b.subscribers)
          self->send(session, notify_atom_v, shared);
        b.last_push = self->state.svc->now();
      } else if (push && view.empty()) {
        b.dirty = true; // try again at the next tick
      }
      if (b.dirty)
        maybe_flush(self, key);
      if (b.subscribers.empty() && b.waiting.empty() && !b.loading && !b.timer)
        self->state.boards.erase(i);
    },
  };
}

} // namespace

// -- localities -----------------------------------------------------------------------------------

std::optional<locality> normalise_locality(std::string_view country, std::string_view city, std::string* why) {
  auto fail = [&](const char* reason) -> std::optional<locality> {
    if (why)
      *why = reason;
    return std::nullopt;
  };
  locality out;
  if (country.size() != 2 || !std::isalpha(static_cast<unsigned char>(country[0]))
      || !std::isalpha(static_cast<unsigned char>(country[1])))
    return fail("country must be an ISO 3166-1 alpha-2 code (two letters)");
  for (char c : country)
    out.country += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  bool space = false;
  for (char c : city) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 && !std::isspace(u))
      return fail("city must not contain control characters");
    if (std::isspace(u)) {
      space = !out.city.empty();
      continue;
    }
    if (space)
      out.city += ' ';
    space = false;
    out.city += u < 0x80 ? static_cast<char>(std::tolower(u)) : c;
  }
  if (out.city.empty())
    return fail("city must not be empty");
  if (out.city.size() > max_city_bytes)
    return fail("city must be at most 100 bytes");
  return out;
}

std::optional<locality> parse_locality(std::string_view text, std::string* why) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    if (why)
      *why = "must be COUNTRY:City, e.g. DE:Berlin";
    return std::nullopt;
  }
  return normalise_locality(text.substr(0, colon), text.substr(colon + 1), why);
}

// -- the service ----------------------------------------------------------------------------------

struct promotion_service::impl : std::enable_shared_from_this<impl> {
  impl(services& s, caf::actor_system& sys, runtime& r) : svc(s), rt(r) {
    if (!svc.cfg.promo_signing_seed.empty() && svc.cfg.promo_signing_seed.size() != 32)
      throw std::runtime_error("the promotion signing key file must hold 32 bytes");
    hub = sys.spawn(promo_hub, &svc);
    sys.registry().put(hub_name, hub);
  }

  services& svc;
  runtime& rt;
  caf::actor hub;

  std::mutex keys_mtx;
  /// Held while a storage callback reads the runtime's services; `stopped` (set by the service's
  /// destructor under it) makes a callback that arrives after the runtime is gone do nothing.
  std::mutex life_mtx;
  bool stopped = false;
  std::optional<promo::key_pair> signer;            ///< signs new codes
  std::map<uint32_t, promo::public_key> verifiers; ///< every known public key, by id

  ps::database& db() { return *svc.db; }
  millis now() const { return svc.now(); }

  void changed(const std::string& country, const std::string& city) {
    caf::anon_send(hub, caf::update_atom_v, country + ":" + city);
  }

  /// Runs `next` once the signing keys are loaded (loading, and on first start generating, them
  /// when needed); `next` gets an error when storage failed.
  void with_keys(std::function<void(std::optional<api_error>)> next) {
    bool loaded = false;
    {
      std::lock_guard<std::mutex> guard{keys_mtx};
      loaded = signer.has_value();
    }
    if (loaded)
      return next(std::nullopt); // outside the lock: `next` takes it again
    auto self = shared_from_this();
    ps::load_promo_keys(db(), [self, next](ps::result<std::vector<ps::promo_key_row>> rows) {
      std::lock_guard<std::mutex> life{self->life_mtx};
      if (self->stopped)
        return; // the runtime (and its services) is gone: a load at start-up outlived it
      if (!rows)
        return next(storage_error(rows.error()));
      std::optional<promo::key_pair> chosen;
      bool reseal = false;
      std::map<uint32_t, promo::public_key> pks;
      for (auto& r : *rows) {
        promo::public_key key{};
        if (r.public_hex.size() != 64)
          continue;
        for (size_t i = 0; i < 32; ++i)
          key[i] = static_cast<uint8_t>(std::stoi(r.public_hex.substr(2 * i, 2), nullptr, 16));
        pks[static_cast<uint32_t>(r.key_id)] = key;
        if (!chosen && r.active && !r.secret_hex.empty() && self->svc.cfg.promo_signing_seed.empty()) {
          // Stored sealed under the master key; a row written before migration 0034 holds the
          // 64 bytes in the clear: it is used once more and stored sealed below.
          auto secret = self->open_secret(r.key_id, from_hex(r.secret_hex));
          if (secret && secret->size() == 64) {
            promo::key_pair kp;
            kp.key_id = static_cast<uint32_t>(r.key_id);
            kp.pk = key;
            std::copy_n(secret->begin(), 64, kp.sk.begin());
            sodium_memzero(secret->data(), secret->size());
            chosen = kp;
            reseal = r.secret_hex.size() == 128;
          } else {
            spdlog::warn("promotions: signing key {} does not open with this master key; a new key signs from "
                         "now on (codes of key {} still verify with its public key)",
                         r.key_id, r.key_id);
          }
        }
      }
      bool store = reseal;
      if (!self->svc.cfg.promo_signing_seed.empty()) {
        std::array<uint8_t, 32> seed{};
        std::copy_n(self->svc.cfg.promo_signing_seed.begin(), 32, seed.begin());
        chosen = promo::key_from_seed(seed);
        store = true; // its public key, for verification after a rotation; never its secret
      } else if (!chosen) {
        chosen = promo::generate_key();
        store = true;
        spdlog::info("promotions: generated signing key {}", chosen->key_id);
      }
      pks[chosen->key_id] = chosen->pk;
      auto publish = [self, chosen, pks, next]() {
        {
          std::lock_guard<std::mutex> guard{self->keys_mtx};
          self->signer = chosen;
          self->verifiers = pks;
        }
        next(std::nullopt);
      };
      if (!store)
        return publish();
      ps::promo_key_row row;
      row.key_id = chosen->key_id;
      row.public_hex = hex(chosen->pk.data(), chosen->pk.size());
      if (self->svc.cfg.promo_signing_seed.empty()) {
        auto sealed = self->seal_secret(chosen->key_id,
                                        std::string_view{reinterpret_cast<const char*>(chosen->sk.data()),
                                                         chosen->sk.size()});
        row.secret_hex = hex(reinterpret_cast<const uint8_t*>(sealed.data()), sealed.size());
      }
      ps::save_promo_key(self->db(), row, [publish, next](ps::result<ps::unit> saved) {
        if (!saved)
          return next(storage_error(saved.error()));
        publish();
      });
    });
  }

  /// The signing key's secret as stored: sealed under the server's master key, bound to its key id
  /// (docs/security.md, "Secrets at rest").
  std::string seal_secret(int64_t key_id, std::string_view secret) const {
    auto master = privacy::master_key::from_bytes(svc.cfg.master_key);
    if (!master)
      throw std::logic_error("promotions: no master key");
    return master->seal_secret("promo-signing-key:" + std::to_string(key_id), secret);
  }

  /// The stored secret in the clear: a sealed one opened (nullopt: another master key or altered);
  /// 64 bytes stored before sealing existed, as they are.
  std::optional<std::string> open_secret(int64_t key_id, const std::string& stored) const {
    if (stored.size() == 64)
      return stored;
    auto master = privacy::master_key::from_bytes(svc.cfg.master_key);
    if (!master)
      return std::nullopt;
    return master->open_secret("promo-signing-key:" + std::to_string(key_id), stored);
  }

  static std::string from_hex(const std::string& h) {
    std::string out;
    out.reserve(h.size() / 2);
    for (size_t i = 0; i + 1 < h.size(); i += 2)
      out += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
    return out;
  }

  static std::string hex(const uint8_t* p, size_t n) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < n; ++i) {
      out += digits[p[i] >> 4];
      out += digits[p[i] & 15];
    }
    return out;
  }
};

promotion_service::promotion_service(services& svc, caf::actor_system& sys, runtime& rt)
  : impl_(std::make_shared<impl>(svc, sys, rt)) {
  impl_->with_keys([](std::optional<api_error> e) {
    if (e)
      spdlog::warn("promotions: signing keys not loaded yet ({}); retried on first use", e->message);
  });
}

promotion_service::~promotion_service() {
  {
    std::lock_guard<std::mutex> life{impl_->life_mtx};
    impl_->stopped = true;
  }
  impl_->hub.home_system().registry().erase(hub_name);
  caf::anon_send_exit(impl_->hub, caf::exit_reason::user_shutdown);
}

void promotion_service::create(principal who, std::string body_json, json_answer done) {
  done = [svc = &impl_->svc, by = audit_actor::of(who), done = std::move(done)](expected<std::string, api_error> r) {
    std::string target;
    if (r) {
      auto j = json::parse(r.value(), nullptr, false);
      if (j.is_object() && j.contains("promotion"))
        target = j["promotion"].value("id", "");
    }
    audit(*svc, by, "promotion.create", target, audit_outcome(r ? nullptr : &r.error()));
    done(std::move(r));
  };
  if (auto no = refused(policy::action::promotion_create, who, policy::relation::none))
    return done(std::move(*no));
  auto body = json::parse(body_json, nullptr, false);
  if (!body.is_object())
    return done(make_error(400, error_code::bad_request, "the body must be a JSON object"));
  api_error errs = make_error(400, error_code::bad_request, "some fields are invalid");
  auto bad = [&](std::string f, std::string why) { errs.fields.emplace_back(std::move(f), std::move(why)); };
  ps::promotion_row row;
  row.id = uuid::v7();
  row.brand = who.user;
  row.title = str_member(body, "title");
  if (row.title.empty() || utf8_chars(row.title) > max_title_chars)
    bad("title", "must be 1 to 120 characters");
  auto reward = body.find("reward");
  if (reward == body.end() || !reward->is_object()) {
    bad("reward", "must be {amount, currency}");
  } else {
    auto amount = int_member(*reward, "amount");
    if (!amount || *amount <= 0 || *amount > max_amount)
      bad("reward.amount", "must be a positive integer amount in minor units");
    else
      row.reward_amount = *amount;
    row.currency = str_member(*reward, "currency");
    if (row.currency.size() != 3
        || !std::all_of(row.currency.begin(), row.currency.end(), [](char c) { return c >= 'A' && c <= 'Z'; }))
      bad("reward.currency", "must be an ISO 4217 code (three capital letters)");
  }
  auto budget = int_member(body, "budget");
  if (!budget || *budget <= 0 || *budget > max_amount)
    bad("budget", "must be a positive integer amount in minor units");
  else if (row.reward_amount > 0 && *budget < row.reward_amount)
    bad("budget", "must cover at least one reward");
  else
    row.budget = *budget;
  auto now = impl_->now();
  auto from = body.contains("valid_from") && !body["valid_from"].is_null() ? int_member(body, "valid_from")
                                                                           : std::optional<int64_t>{now};
  auto until = int_member(body, "valid_until");
  if (!from || *from < 0)
    bad("valid_from", "must be a time in ms since the epoch");
  if (!until)
    bad("valid_until", "must be a time in ms since the epoch");
  else if (from && *until <= *from)
    bad("valid_until", "must be after valid_from");
  else if (*until <= now)
    bad("valid_until", "must be in the future");
  if (from && until) {
    row.valid_from = *from;
    row.valid_until = *until;
  }
  auto loc_j = body.find("locality");
  if (loc_j == body.end() || !loc_j->is_object()) {
    bad("locality", "must be {country, city}");
  } else {
    std::string why;
    auto loc = normalise_locality(str_member(*loc_j, "country"), str_member(*loc_j, "city"), &why);
    if (!loc)
      bad(why.rfind("country", 0) == 0 ? "locality.country" : "locality.city", why);
    else {
      row.country = loc->country;
      row.city = loc->city;
    }
  }
  if (!errs.fields.empty())
    return done(std::move(errs));
  ps::create_promotion(impl_->db(), std::move(row), [done](ps::result<ps::promotion_row> r) {
    if (!r)
      return done(storage_error(r.error()));
    done(dump(json{{"promotion", promotion_json(*r)}}));
  });
}

void promotion_service::list(principal who, std::string locality_text, size_t limit, json_answer done) {
  if (auto no = refused(policy::action::promotion_list, who, policy::relation::none))
    return done(std::move(*no));
  std::string why;
  auto loc = parse_locality(locality_text, &why);
  if (!loc)
    return done(field_error("locality", why));
  if (limit < 1 || limit > 100)
    return done(field_error("limit", "must be 1 to 100"));
  ps::list_promotions(impl_->db(), loc->country, loc->city, limit, who.user,
                      [done, loc = *loc](ps::result<std::vector<ps::promotion_row>> r) {
                        if (!r)
                          return done(storage_error(r.error()));
                        json list = json::array();
                        for (auto& p : *r)
                          list.push_back(promotion_json(p));
                        done(dump(json{{"locality", loc.key()}, {"promotions", std::move(list)}}));
                      });
}

void promotion_service::get(principal who, uuid id, json_answer done) {
  if (auto no = refused(policy::action::promotion_get, who, policy::relation::none))
    return done(std::move(*no));
  ps::get_promotion(impl_->db(), id, who.user, [done](ps::result<ps::promotion_row> r) {
    if (!r)
      return done(r.error().code == ps::errc::not_found ? not_found_promotion() : storage_error(r.error()));
    done(dump(json{{"promotion", promotion_json(*r)}}));
  });
}

void promotion_service::set_status(principal who, uuid id, std::string to, json_answer done) {
  done = [svc = &impl_->svc, by = audit_actor::of(who), target = id.str(), to,
          done = std::move(done)](expected<std::string, api_error> r) {
    audit(*svc, by, "promotion.status", target, audit_outcome(r ? nullptr : &r.error()),
          {{"to", to.size() <= 16 ? to : to.substr(0, 16)}});
    done(std::move(r));
  };
  if (who.role.empty() || policy::parse_role(who.role) == policy::role::anonymous)
    return done(*refused(policy::action::promotion_status, who, policy::relation::none));
  auto self = impl_;
  ps::get_promotion(self->db(), id, who.user, [self, who, id, to, done](ps::result<ps::promotion_row> r) {
    if (!r && r.error().code != ps::errc::not_found)
      return done(storage_error(r.error()));
    auto rel = r && r->brand == who.user ? policy::relation::owner : policy::relation::stranger;
    if (auto no = refused(policy::action::promotion_status, who, rel))
      return done(std::move(*no));
    if (to != "active" && to != "paused" && to != "closed")
      return done(field_error("to", "must be active, paused or closed"));
    ps::set_promotion_status(self->db(), id, who.user, to, [self, done](ps::result<ps::promotion_row> s) {
      if (!s) {
        if (s.error().code == ps::errc::not_found)
          return done(not_found_promotion());
        if (s.error().code == ps::errc::refused)
          return done(make_error(409, error_code::promotion_inactive, "the promotion is closed for good"));
        return done(storage_error(s.error()));
      }
      done(dump(json{{"promotion", promotion_json(*s)}}));
    });
  });
}

void promotion_service::join(principal who, uuid id, json_answer done) {
  if (auto no = refused(policy::action::promotion_join, who, policy::relation::none))
    return done(std::move(*no));
  auto self = impl_;
  ps::join_promotion(self->db(), id, who.user, [self, who, id, done](ps::result<bool> r) {
    if (!r) {
      if (r.error().code == ps::errc::not_found)
        return done(not_found_promotion());
      if (r.error().code == ps::errc::refused)
        return done(make_error(409, error_code::promotion_inactive, "the promotion is closed"));
      return done(storage_error(r.error()));
    }
    bool joined_now = *r;
    ps::get_promotion(self->db(), id, who.user, [done, joined_now](ps::result<ps::promotion_row> p) {
      if (!p)
        return done(storage_error(p.error()));
      done(dump(json{{"promotion", promotion_json(*p)}, {"joined_now", joined_now}}));
    });
  });
}

void promotion_service::issue_codes(principal who, uuid id, int64_t count, json_answer done) {
  if (policy::parse_role(who.role) == policy::role::anonymous)
    return done(*refused(policy::action::promotion_codes, who, policy::relation::none));
  auto self = impl_;
  ps::get_promotion(self->db(), id, who.user, [self, who, id, count, done](ps::result<ps::promotion_row> r) {
    if (!r && r.error().code != ps::errc::not_found)
      return done(storage_error(r.error()));
    auto rel = r && r->joined ? policy::relation::member : policy::relation::stranger;
    if (auto no = refused(policy::action::promotion_codes, who, rel))
      return done(std::move(*no));
    auto max = static_cast<int64_t>(self->svc.cfg.promo_max_codes);
    if (count < 1 || count > max)
      return done(field_error("count", "must be 1 to " + std::to_string(max)));
    auto now = self->now();
    if (!active_now(*r, now))
      return done(make_error(409, error_code::promotion_inactive, "the promotion is not active"));
    auto promotion = *r;
    self->with_keys([self, who, promotion, count, now, done](std::optional<api_error> e) {
      if (e)
        return done(std::move(*e));
      promo::key_pair key;
      {
        std::lock_guard<std::mutex> guard{self->keys_mtx};
        key = *self->signer;
      }
      auto ttl = static_cast<millis>(self->svc.cfg.promo_code_ttl.count()) * 1000;
      auto expires = std::min(now + ttl, promotion.valid_until);
      std::vector<ps::promo_code_row> rows;
      json codes = json::array();
      auto base = "/api/v1/promotions/" + promotion.id.str() + "/codes/";
      for (int64_t i = 0; i < count; ++i) {
        promo::claims c{key.key_id, promotion.id, who.user, promo::random_nonce(), expires};
        ps::promo_code_row row;
        row.nonce_hex = promo::nonce_hex(c.nonce);
        row.promotion = promotion.id;
        row.promoter = who.user;
        row.key_id = key.key_id;
        row.token = promo::sign(c, key);
        row.expires_at = expires;
        codes.push_back(json{{"nonce", row.nonce_hex},
                             {"token", row.token},
                             {"expires_at", expires},
                             {"png", base + row.nonce_hex + ".png"},
                             {"svg", base + row.nonce_hex + ".svg"}});
        rows.push_back(std::move(row));
      }
      ps::save_promo_codes(self->db(), std::move(rows), [done, codes, id = promotion.id](ps::result<ps::unit> s) {
        if (!s)
          return done(storage_error(s.error()));
        done(dump(json{{"promotion", id.str()}, {"codes", codes}}));
      });
    });
  });
}

void promotion_service::code_token(principal who, uuid id, std::string nonce_hex,
                                   std::function<void(expected<std::string, api_error>)> done) {
  if (policy::parse_role(who.role) == policy::role::anonymous)
    return done(*refused(policy::action::promotion_code_image, who, policy::relation::none));
  auto nonce = promo::nonce_from_hex(nonce_hex);
  auto rel_of = [who](const ps::promo_code_row& c) {
    if (c.promoter == who.user)
      return policy::relation::owner;
    if (c.brand == who.user)
      return policy::relation::member;
    return policy::relation::stranger;
  };
  if (!nonce)
    return done(*refused(policy::action::promotion_code_image, who, policy::relation::stranger));
  ps::get_promo_code(impl_->db(), id, nonce_hex, [who, done, rel_of](ps::result<ps::promo_code_row> r) {
    if (!r && r.error().code != ps::errc::not_found)
      return done(storage_error(r.error()));
    auto rel = r ? rel_of(*r) : policy::relation::stranger;
    if (auto no = refused(policy::action::promotion_code_image, who, rel))
      return done(std::move(*no));
    done(r->token);
  });
}

void promotion_service::redeem(principal who, std::string token, json_answer done) {
  done = [svc = &impl_->svc, by = audit_actor::of(who), done = std::move(done)](expected<std::string, api_error> r) {
    std::string target;
    if (r) {
      auto j = json::parse(r.value(), nullptr, false);
      if (j.is_object())
        target = j.value("nonce", "");
    }
    audit(*svc, by, "promotion.redeem", target, audit_outcome(r ? nullptr : &r.error()));
    done(std::move(r));
  };
  if (policy::parse_role(who.role) == policy::role::anonymous)
    return done(*refused(policy::action::promotion_redeem, who, policy::relation::none));
  if (token.empty())
    return done(field_error("token", "the scanned code's token is required"));
  auto self = impl_;
  self->with_keys([self, who, token, done](std::optional<api_error> e) {
    if (e)
      return done(std::move(*e));
    auto peeked = promo::peek(token);
    if (!peeked)
      return done(invalid_code());
    std::optional<promo::public_key> pk;
    {
      std::lock_guard<std::mutex> guard{self->keys_mtx};
      if (auto i = self->verifiers.find(peeked->key_id); i != self->verifiers.end())
        pk = i->second;
    }
    auto claims = pk ? promo::verify(token, *pk) : std::nullopt;
    if (!claims)
      return done(invalid_code());
    ps::get_promotion(self->db(), claims->promotion, who.user, [self, who, c = *claims, done](ps::result<ps::promotion_row> r) {
      if (!r && r.error().code != ps::errc::not_found)
        return done(storage_error(r.error()));
      auto rel = r && r->brand == who.user ? policy::relation::owner : policy::relation::stranger;
      if (auto no = refused(policy::action::promotion_redeem, who, rel))
        return done(std::move(*no));
      if (c.expires_at <= self->now())
        return done(make_error(410, error_code::expired, "this code has expired"));
      auto nonce = promo::nonce_hex(c.nonce);
      ps::redeem_promo_code(
        self->db(), c.promotion, c.promoter, nonce, who.user, self->svc.cfg.promo_points_redemption,
        [self, c, nonce, done](ps::result<ps::redeem_outcome> out) {
          if (!out)
            return done(storage_error(out.error()));
          switch (out->status) {
            case ps::redeem_status::unknown:
              return done(invalid_code());
            case ps::redeem_status::already_redeemed:
              return done(make_error(409, error_code::already_redeemed, "this code was redeemed already"));
            case ps::redeem_status::inactive:
              return done(make_error(409, error_code::promotion_inactive,
                                     "the promotion is paused, closed or outside its validity"));
            case ps::redeem_status::budget_exhausted:
              return done(make_error(409, error_code::budget_exhausted, "the promotion's budget is used up"));
            case ps::redeem_status::redeemed:
              break;
          }
          self->changed(out->country, out->city);
          done(dump(json{{"redeemed", true},
                         {"nonce", nonce},
                         {"promotion", c.promotion.str()},
                         {"promoter", c.promoter.str()},
                         {"reward", json{{"amount", out->reward_amount}, {"currency", out->currency}}},
                         {"budget_left", out->budget_left},
                         {"points", out->points}}));
        });
    });
  });
}

void promotion_service::repost(principal who, uuid id, std::string platform, std::string url, json_answer done) {
  if (policy::parse_role(who.role) == policy::role::anonymous)
    return done(*refused(policy::action::promotion_repost, who, policy::relation::none));
  auto self = impl_;
  ps::get_promotion(self->db(), id, who.user, [self, who, id, platform, url, done](ps::result<ps::promotion_row> r) {
    if (!r && r.error().code != ps::errc::not_found)
      return done(storage_error(r.error()));
    auto rel = r && r->joined ? policy::relation::member : policy::relation::stranger;
    if (auto no = refused(policy::action::promotion_repost, who, rel))
      return done(std::move(*no));
    if (url.empty() || url.size() > max_url_bytes)
      return done(field_error("url", "must be 1 to 500 bytes"));
    if (platform.empty())
      return done(field_error("platform", "is required"));
    if (!active_now(*r, self->now()))
      return done(make_error(409, error_code::promotion_inactive, "the promotion is not active"));
    ps::promo_repost_known(self->db(), url, [self, who, id, platform, url, done](ps::result<bool> known) {
      if (!known)
        return done(storage_error(known.error()));
      if (*known)
        return done(make_error(409, error_code::conflict, "this post has earned points already"));
      self->rt.verify_post(
        platform, url, "any", [self, who, id, platform, url, done](expected<social::post_check, api_error> check) {
          if (!check) {
            auto e = check.error();
            if (e.status == 400 && e.fields.empty())
              e.fields.emplace_back("url", e.message);
            return done(std::move(e));
          }
          if (!check->disclosed) {
            auto e = field_error("url", "the post does not disclose the promotion (#ad, #sponsored or the "
                                        "platform's paid-partnership label)");
            e.status = 422;
            return done(std::move(e));
          }
          auto post_id = check->post_id;
          ps::save_promo_repost(
            self->db(), id, who.user, url, platform, post_id, self->svc.cfg.promo_points_repost,
            [self, url, platform, post_id, done](ps::result<ps::repost_outcome> saved) {
              if (!saved)
                return done(storage_error(saved.error()));
              if (!saved->credited)
                return done(make_error(409, error_code::conflict, "this post has earned points already"));
              self->changed(saved->country, saved->city);
              done(dump(json{{"repost", json{{"url", url}, {"platform", platform}, {"post_id", post_id}}},
                             {"points", saved->points}}));
            });
        });
    });
  });
}

void promotion_service::leaderboard(principal who, std::string locality_text, size_t limit, json_answer done) {
  if (auto no = refused(policy::action::promotion_leaderboard, who, policy::relation::none))
    return done(std::move(*no));
  std::string why;
  auto loc = parse_locality(locality_text, &why);
  if (!loc)
    return done(field_error("locality", why));
  if (limit < 1 || limit > impl_->svc.cfg.promo_leaderboard_max)
    return done(field_error("limit", "must be 1 to " + std::to_string(impl_->svc.cfg.promo_leaderboard_max)));
  auto now = impl_->now();
  ps::promo_leaderboard(impl_->db(), loc->country, loc->city, limit,
                        [done, loc = *loc, now](ps::result<std::vector<ps::leader_row>> r) {
                          if (!r)
                            return done(storage_error(r.error()));
                          done(dump(leaderboard_json(loc, *r, now)));
                        });
}

} // namespace pactum::actors
