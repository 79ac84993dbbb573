// runtime: owns the CAF actor system, the services the actors share, and the account service.
//
// Accounts run outside CAF: validation inline, argon2id hashing on the `cpu_` executor, storage
// through the persistence pool. None of it blocks a CAF or Asio thread.

#include "pactum/actors/runtime.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstring>
#include <list>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <nlohmann/json.hpp>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include "ask_entity.hpp"
#include "webhook_apply.hpp"
#include "audit.hpp"
#include "auth_cache.hpp"
#include "pledge_api.hpp"
#include "message_types.hpp"
#include "pactum/actors/campaigns.hpp"
#include "pactum/actors/promotions.hpp"
#include "pactum/actors/affiliate.hpp"
#include "pactum/actors/policy.hpp"
#include "pactum/common/executor.hpp"
#include "privacy.hpp"
#include "notifications.hpp"
#include "services.hpp"

namespace pactum::actors {

protocol::error_code to_protocol_code(const caf::error& err) {
  if (err.category() == caf::atom("pactum"))
    return static_cast<protocol::error_code>(err.code());
  if (err == caf::sec::request_timeout)
    return protocol::error_code::timeout;
  if (err == caf::sec::request_receiver_down)
    return protocol::error_code::unavailable;
  return protocol::error_code::internal;
}

std::string error_text(const caf::error& err) {
  auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  if (err == caf::sec::request_timeout)
    return "no answer in time; retry with the same ids";
  if (err == caf::sec::request_receiver_down)
    return "the entity restarted; retry with the same ids";
  return "internal error";
}

namespace {

using protocol::error_code;

api_error make_api_error(int status, error_code code, std::string msg) {
  return api_error{status, code, std::move(msg), {}};
}

/// argon2id of `password` with the configured costs, on the calling thread; wipes `password`.
expected<std::string, api_error> argon2id(std::string& password, const runtime_config& cfg) {
  char buf[crypto_pwhash_STRBYTES];
  int rc = crypto_pwhash_str_alg(buf, password.data(), password.size(), cfg.pwhash_opslimit, cfg.pwhash_memlimit,
                                 crypto_pwhash_ALG_ARGON2ID13);
  sodium_memzero(password.data(), password.size());
  if (rc != 0)
    return make_api_error(503, error_code::overloaded, "out of memory; retry shortly");
  return std::string{buf};
}

/// The policy's refusal of `who` doing `what` in relation `rel`, as an api_error (nullopt: allowed).
std::optional<api_error> refused(policy::action what, const principal& who,
                                 policy::relation rel = policy::relation::none) {
  auto no = policy::decide(what, policy::parse_role(who.role), rel);
  if (!no)
    return std::nullopt;
  return make_api_error(no->status, no->code, std::string{no->message});
}

/// Wraps `done` so that its outcome is recorded in the audit log as `action` on `target`.
template <class T>
std::function<void(expected<T, api_error>)> audited(services* svc, audit_actor by, std::string action,
                                                    std::string target,
                                                    std::function<void(expected<T, api_error>)> done) {
  return [svc, by = std::move(by), action = std::move(action), target = std::move(target),
          done = std::move(done)](expected<T, api_error> r) {
    audit(*svc, by, action, target, audit_outcome(r ? nullptr : &r.error()));
    done(std::move(r));
  };
}

api_error from_persistence(const persistence::failure& f) {
  switch (f.code) {
    case persistence::errc::overloaded:
      return make_api_error(503, error_code::overloaded, "the server is busy; retry shortly");
    case persistence::errc::unavailable:
      return make_api_error(503, error_code::unavailable, "storage is unavailable; retry shortly");
    default:
      return make_api_error(500, error_code::internal, "internal error");
  }
}

std::string normalise_email(std::string email) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  email.erase(email.begin(), std::find_if(email.begin(), email.end(), not_space));
  email.erase(std::find_if(email.rbegin(), email.rend(), not_space).base(), email.end());
  std::transform(email.begin(), email.end(), email.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return email;
}

bool plausible_email(const std::string& e) {
  if (e.size() < 3 || e.size() > 254)
    return false;
  auto at = e.find('@');
  if (at == std::string::npos || at == 0 || e.find('@', at + 1) != std::string::npos)
    return false;
  auto domain = e.substr(at + 1);
  auto dot = domain.find('.');
  if (dot == std::string::npos || dot == 0 || domain.back() == '.')
    return false;
  return std::none_of(e.begin(), e.end(), [](unsigned char c) { return std::isspace(c) || c < 0x20; });
}

size_t utf8_chars(const std::string& s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](unsigned char c) {
    return (c & 0xC0) != 0x80;
  }));
}

std::string hash_token(const std::string& token) {
  std::string out(crypto_generichash_BYTES, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                     reinterpret_cast<const unsigned char*>(token.data()), token.size(), nullptr, 0);
  return out;
}

std::string new_token() {
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  std::string out(sodium_base64_ENCODED_LEN(sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                  '\0');
  sodium_bin2base64(out.data(), out.size(), raw, sizeof raw,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::strlen(out.c_str()));
  return out;
}

bool plausible_token(const std::string& t) {
  return t.size() == 43 && std::all_of(t.begin(), t.end(), [](unsigned char c) {
           return std::isalnum(c) || c == '-' || c == '_';
         });
}

api_error unauthorized(std::string msg) {
  return make_api_error(401, error_code::unauthorized, std::move(msg));
}

int64_t millis_from_now(std::chrono::milliseconds d) {
  return now_millis() + d.count();
}

/// Failed-login bookkeeping, in memory and per process. Keys are "a:<normalised email>" and
/// "i:<client address>"; the same rules apply whether or not the account exists, so throttling
/// tells nothing about which emails are registered. Bounded: at most `max_entries` keys, the least
/// recently touched evicted first. Thread-safe (a mutex; every operation is O(1)).
///
/// A password check takes an argon2id job, far longer than the check of the counters, so an
/// attempt is also counted while it is in flight: an account has at most as many password checks
/// in flight as it has free failures left (at least one). Without that a burst of parallel
/// guesses would all pass the counters before the first of them failed.
class login_throttle : public std::enable_shared_from_this<login_throttle> {
public:
  using clock = std::chrono::steady_clock;

  explicit login_throttle(const runtime_config& c) : cfg_(c) {}

  /// Seconds until an attempt for this account from this address may be made (0: now).
  int64_t retry_after(const std::string& account, const std::string& address) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto now = clock::now();
    return std::max(wait_s(find("a:" + account, now), now), wait_s(find("i:" + address, now), now));
  }

  /// An admitted password check, counted in flight until `finish()` (called once the check is
  /// answered, after a failure was counted) or, failing that, until the last copy is gone.
  class ticket {
  public:
    ticket(std::weak_ptr<login_throttle> owner, std::string key) : owner_(std::move(owner)), key_(std::move(key)) {}
    ticket(const ticket&) = delete;
    ticket& operator=(const ticket&) = delete;
    ~ticket() { finish(); }
    void finish() {
      if (!done_.exchange(true))
        if (auto owner = owner_.lock())
          owner->release(key_);
    }

  private:
    std::weak_ptr<login_throttle> owner_;
    std::string key_;
    std::atomic<bool> done_{false};
  };

  /// Admitted: `hold` set. Not admitted: `wait_s` > 0 (blocked, or as many checks of this
  /// account in flight as it has free failures left: retry in a second).
  struct admission {
    int64_t wait_s = 0;
    std::shared_ptr<ticket> hold;
  };
  admission admit(const std::string& account, const std::string& address) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto now = clock::now();
    auto key = "a:" + account;
    auto* a = find(key, now);
    if (auto w = std::max(wait_s(a, now), wait_s(find("i:" + address, now), now)); w > 0)
      return {w, nullptr};
    const size_t failures = a ? a->failures : 0;
    const size_t allowed = failures < cfg_.login_free_failures ? cfg_.login_free_failures - failures : 1;
    if (a && a->in_flight >= allowed)
      return {1, nullptr};
    if (!a)
      a = touch(key);
    ++a->in_flight;
    return {0, std::make_shared<ticket>(weak_from_this(), key)};
  }

  void failed(const std::string& account, const std::string& address) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto now = clock::now();
    bump("a:" + account, cfg_.login_free_failures, now);
    bump("i:" + address, cfg_.login_free_failures_per_address, now);
  }

  void succeeded(const std::string& account) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = table_.find("a:" + account); i != table_.end()) {
      i->second.failures = 0;
      i->second.blocked_until = {};
      forget_if_idle(i);
    }
  }

private:
  struct entry {
    size_t failures = 0;
    size_t in_flight = 0; ///< admitted password checks not yet answered
    clock::time_point last_failure;
    clock::time_point blocked_until;
    std::list<std::string>::iterator lru;
  };

  entry* find(const std::string& key, clock::time_point now) {
    auto i = table_.find(key);
    if (i == table_.end())
      return nullptr;
    if (now - i->second.last_failure > 4 * cfg_.login_backoff_max) { // quiet long enough: forget
      i->second.failures = 0;
      i->second.blocked_until = {};
      if (forget_if_idle(i))
        return nullptr;
    }
    return &i->second;
  }

  /// Drops an entry that counts nothing (no failure, nothing in flight); true if dropped.
  bool forget_if_idle(std::unordered_map<std::string, entry>::iterator i) {
    if (i->second.failures > 0 || i->second.in_flight > 0)
      return false;
    lru_.erase(i->second.lru);
    table_.erase(i);
    return true;
  }

  void release(const std::string& key) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = table_.find(key); i != table_.end() && i->second.in_flight > 0) {
      --i->second.in_flight;
      forget_if_idle(i);
    }
  }

  /// The entry of `key`, made (evicting the least recently touched when full) or moved to the front.
  entry* touch(const std::string& key) {
    if (auto i = table_.find(key); i != table_.end()) {
      lru_.splice(lru_.begin(), lru_, i->second.lru);
      return &i->second;
    }
    if (table_.size() >= std::max<size_t>(cfg_.login_throttle_entries, 2)) {
      table_.erase(lru_.back());
      lru_.pop_back();
    }
    lru_.push_front(key);
    auto* e = &table_[key];
    e->lru = lru_.begin();
    return e;
  }

  static int64_t wait_s(const entry* e, clock::time_point now) {
    if (!e || e->blocked_until <= now)
      return 0;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(e->blocked_until - now).count();
    return (ms + 999) / 1000;
  }

  void bump(const std::string& key, size_t free, clock::time_point now) {
    find(key, now); // forgets a quiet count first
    auto* e = touch(key);
    ++e->failures;
    e->last_failure = now;
    if (e->failures >= free) {
      auto doublings = std::min<size_t>(e->failures - free, 30);
      auto delay = cfg_.login_backoff_base * (int64_t{1} << doublings);
      e->blocked_until = now + std::min(delay, cfg_.login_backoff_max);
    }
  }

  const runtime_config& cfg_;
  std::mutex mtx_;
  std::unordered_map<std::string, entry> table_;
  std::list<std::string> lru_; ///< most recently touched first
};

api_error throttled(int64_t seconds) {
  auto e = make_api_error(429, error_code::rate_limited, "too many failed logins; retry later");
  e.retry_after_s = seconds;
  return e;
}

principal to_principal(const persistence::token_owner& o) {
  return principal{o.user.id, o.user.role, o.user.display_name, o.login ? o.login->str() : ""};
}

/// Session handle given to the gateway: forwards requests; its end ends the session actor.
class session_handle final : public session {
public:
  explicit session_handle(caf::actor a) : actor_(std::move(a)) {}
  ~session_handle() override { caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown); }
  void handle(protocol::request req, protocol::encoding enc) override {
    caf::anon_send(actor_, client_command{std::move(req), enc});
  }

private:
  caf::actor actor_;
};

} // namespace

struct runtime::impl {
  impl(runtime_config c, persistence::database& db)
    : privacy_db(db),
      keys(make_keys(c, privacy_db)),
      store(make_sealing_store(make_database_store(db), *keys)),
      svc{std::move(c), &db, *store, {}, {}, {}},
      cpu("pactum-cpu", svc.cfg.cpu_threads, svc.cfg.cpu_queue_limit),
      sys(configure(caf_cfg, svc.cfg)),
      throttle(std::make_shared<login_throttle>(svc.cfg)) {
    svc.message_rate = std::make_unique<rate_limiter>(
      rate_limiter::config{svc.cfg.message_rate_per_s, svc.cfg.message_burst, 100'000});
    svc.directory = spawn_directory(sys, &svc);
    svc.registry = spawn_registry(sys, &svc);
    svc.notifier = spawn_notifier_hub(sys, &svc);
    if (svc.cfg.timer_sweep_interval.count() > 0)
      sweeper = spawn_timer_sweeper(sys, &svc);
    // A fixed hash to verify against when the email is unknown, so that the answer takes as long
    // as for a wrong password (no user enumeration by timing).
    std::string pw = new_token();
    auto dummy = argon2id(pw, svc.cfg);
    if (!dummy)
      throw std::runtime_error("argon2id: out of memory");
    dummy_hash = std::move(*dummy);
    privacy = std::make_unique<privacy_service>(svc, privacy_db, *keys, cpu);
    campaigns = std::make_unique<campaign_service>(svc, sys);
    campaigns->heal_read_model();
    affiliate = std::make_unique<affiliate_service>(svc);
    svc.tokens = std::make_shared<auth_cache>(svc.cfg.auth_cache_ttl, svc.cfg.auth_cache_entries);
    if (svc.cfg.billing_interval.count() > 0 && svc.db)
      settlement = spawn_settlement(sys, &svc);
  }

  static std::unique_ptr<key_service> make_keys(const runtime_config& c,
                                                persistence::privacy_store& store) {
    privacy::data_key k{};
    if (c.master_key.size() != k.size())
      throw std::runtime_error("a 32-byte master key is required (--master-key-file)");
    std::memcpy(k.data(), c.master_key.data(), k.size());
    return std::make_unique<key_service>(store, privacy::master_key{k}, c.key_cache);
  }

  ~impl() {
    if (sweeper)
      caf::anon_send_exit(sweeper, caf::exit_reason::user_shutdown);
    if (settlement)
      caf::anon_send_exit(settlement, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(svc.directory, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(svc.registry, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(svc.notifier, caf::exit_reason::user_shutdown);
    cpu.stop();
  }

  static caf::actor_system_config& configure(caf::actor_system_config& cfg,
                                             const runtime_config& c) {
    cfg.set("scheduler.max-threads", c.scheduler_threads);
    cfg.set("logger.verbosity", caf::atom("quiet"));
    return cfg;
  }

  persistence::privacy_store privacy_db;
  std::unique_ptr<key_service> keys; ///< per-user data keys (sealing store, privacy service)
  std::unique_ptr<entity_store> store;
  services svc;
  executor cpu;
  caf::actor_system_config caf_cfg; // CAF keeps a reference: must outlive `sys`
  caf::actor_system sys;
  std::string dummy_hash;
  std::shared_ptr<login_throttle> throttle; ///< shared: an admission's release may outlive the runtime
  caf::actor sweeper; ///< durable timers (none when the interval is 0)
  std::unique_ptr<campaign_service> campaigns;
  std::unique_ptr<promotion_service> promotions; ///< created by runtime's constructor (needs the runtime)
  std::unique_ptr<privacy_service> privacy;
  std::unique_ptr<affiliate_service> affiliate; ///< last: destroyed first (writes queued clicks)
  caf::actor settlement; ///< cpc/cpv billing (none when the interval is 0)

  /// Closes the WebSockets opened with this login (4003).
  void kick(const uuid& user, const std::string& login, std::string reason) {
    svc.tokens->drop_login(user, login); // before the revocation is answered
    caf::anon_send(svc.registry, kick_atom_v, user, login, protocol::close_code::session_revoked,
                   std::move(reason));
  }

  /// A fresh access + refresh pair: the tokens to hand out and the grants (hashes) to store.
  struct token_pair {
    std::string access;
    std::string refresh;
    int64_t access_expires_at = 0;
    int64_t refresh_expires_at = 0;
    std::vector<persistence::token_grant> grants;
  };
  token_pair new_pair() const {
    token_pair p;
    p.access = new_token();
    p.refresh = new_token();
    p.access_expires_at = millis_from_now(svc.cfg.access_ttl);
    p.refresh_expires_at = millis_from_now(svc.cfg.refresh_ttl);
    p.grants.push_back(persistence::token_grant{hash_token(p.access), "access", p.access_expires_at});
    p.grants.push_back(
      persistence::token_grant{hash_token(p.refresh), "refresh", p.refresh_expires_at});
    return p;
  }
};

runtime::runtime(runtime_config cfg, persistence::database& db)
  : impl_(std::make_unique<impl>(std::move(cfg), db)),
    code_limits_(make_code_limits(impl_->svc.cfg)) {
  impl_->promotions = std::make_unique<promotion_service>(impl_->svc, impl_->sys, *this);
}

runtime::~runtime() = default;

const runtime_config& runtime::config() const noexcept {
  return impl_->svc.cfg;
}

void runtime::register_user(registration in,
                            std::function<void(expected<principal, api_error>)> done) {
  done = [svc = &impl_->svc, addr = in.client_address,
          done = std::move(done)](expected<principal, api_error> r) {
    if (r)
      audit(*svc, {r->user, r->role, addr}, "user.register", r->user.str(), "ok");
    else
      audit(*svc, audit_actor::anonymous(addr), "user.register", "", audit_outcome(&r.error()));
    done(std::move(r));
  };
  auto err = make_api_error(400, error_code::bad_request, "some fields are invalid");
  in.email = normalise_email(in.email);
  if (!plausible_email(in.email))
    err.fields.emplace_back("email", "must be an email address like name@example.com");
  if (auto bad = password_problem(in.password, in.email))
    err.fields.emplace_back("password", std::move(*bad));
  auto name_len = utf8_chars(in.display_name);
  if (name_len < 1 || name_len > 80)
    err.fields.emplace_back("display_name", "must be 1 to 80 characters long");
  if (in.role != "brand" && in.role != "creator")
    err.fields.emplace_back("role", "must be \"brand\" or \"creator\"");
  if (auto bad = privacy_service::invalid_consents(in.consents))
    err.fields.emplace_back("consents", *bad);
  if (!err.fields.empty())
    return done(std::move(err));
  auto* self = impl_.get();
  auto job = [self, in = std::move(in), done]() mutable {
    auto hash = argon2id(in.password, self->svc.cfg);
    if (!hash)
      return done(hash.error());
    persistence::user_row row{uuid::v7(), in.email, std::move(*hash), in.display_name, in.role, now_millis()};
    principal who{row.id, row.role, row.display_name, {}};
    auto consents = std::move(in.consents);
    self->svc.db->create_user(std::move(row), [self, who, consents, done](
                                                persistence::result<persistence::unit> r) {
      if (r && !consents.empty())
        return self->privacy->set_consents(who, consents, [who, done](auto c) {
          if (!c)
            return done(c.error());
          done(who);
        });
      if (r)
        return done(who);
      if (r.error().code == persistence::errc::duplicate) {
        auto e = make_api_error(409, error_code::conflict, "this email is already registered");
        e.fields.emplace_back("email", "is already registered");
        return done(std::move(e));
      }
      done(from_persistence(r.error()));
    });
  };
  if (!self->cpu.post(std::move(job)))
    done(make_api_error(503, error_code::overloaded, "the server is busy; retry shortly"));
}

void runtime::login(std::string email, std::string password, login_context ctx,
                    std::function<void(expected<login_result, api_error>)> done) {
  auto* self = impl_.get();
  email = normalise_email(email);
  // Throttled before anything else, by the email as given (registered or not), so the 429 and its
  // Retry-After are the same for unknown and known accounts.
  auto failed_login = [self, email, addr = ctx.client_address](const char* outcome) {
    audit(self->svc, audit_actor::anonymous(addr), "user.login", "", outcome,
          {{"email_hash", email_hash(email)}});
  };
  auto admitted = self->throttle->admit(email, ctx.client_address);
  if (admitted.wait_s > 0) {
    failed_login("rate_limited");
    return done(throttled(admitted.wait_s));
  }
  // The failure is counted before the check's slot is freed, and both before the answer: the
  // client's next attempt sees them.
  auto fail = [self, email, addr = ctx.client_address, done, failed_login, hold = admitted.hold]() {
    self->throttle->failed(email, addr);
    hold->finish();
    failed_login("unauthorized");
    done(unauthorized("wrong email or password"));
  };
  if (email.empty() || password.empty() || password.size() > 1024)
    return fail();
  auto agent = ctx.user_agent.substr(0, 256);
  auto addr = ctx.client_address;
  // The admission is held until the password check is answered.
  self->svc.db->find_user_by_email(email, [self, email, password, agent, fail, done, addr, hold = admitted.hold](
                                           persistence::result<persistence::user_row> user) {
    if (!user && user.error().code != persistence::errc::not_found) {
      hold->finish();
      return done(from_persistence(user.error()));
    }
    std::optional<persistence::user_row> found;
    if (user)
      found = std::move(user.value());
    auto job = [self, email, password, agent, fail, done, found, addr, hold]() {
      // Verify even when the user is unknown, so both cases cost the same time.
      auto& hash = found ? found->password_hash : self->dummy_hash;
      bool ok = crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
      if (!ok || !found)
        return fail();
      self->throttle->succeeded(email);
      hold->finish();
      auto pair = self->new_pair();
      persistence::login_row login{uuid::v7(), found->id, 0, 0, agent, pair.refresh_expires_at};
      principal who{found->id, found->role, found->display_name, login.id.str()};
      login_result out{who, pair.access, pair.access_expires_at, pair.refresh,
                       pair.refresh_expires_at};
      self->svc.db->create_login(
        std::move(login), std::move(pair.grants),
        [self, out, done, addr, fail](persistence::result<persistence::unit> r) {
          // `conflict`: the password was changed while this one was being verified.
          if (!r && r.error().code == persistence::errc::conflict)
            return fail();
          if (!r)
            return done(from_persistence(r.error()));
          audit(self->svc, {out.who.user, out.who.role, addr}, "user.login", out.who.session_id, "ok");
          done(out);
        },
        hash);
    };
    if (!self->cpu.post(std::move(job))) {
      hold->finish();
      done(make_api_error(503, error_code::overloaded, "the server is busy; retry shortly"));
    }
  });
}

void runtime::refresh(std::string refresh_token,
                      std::function<void(expected<login_result, api_error>)> done,
                      std::string client_address) {
  if (!plausible_token(refresh_token))
    return done(unauthorized("invalid or expired refresh token"));
  auto* self = impl_.get();
  auto pair = self->new_pair();
  auto grants = pair.grants;
  self->svc.db->rotate_refresh(
    hash_token(refresh_token), std::move(grants), pair.refresh_expires_at,
    [self, pair, done, client_address](persistence::result<persistence::refresh_result> r) {
      if (!r)
        return done(from_persistence(r.error()));
      switch (r->outcome) {
        case persistence::refresh_outcome::rotated: {
          auto who = to_principal(*r->owner);
          return done(login_result{who, pair.access, pair.access_expires_at, pair.refresh,
                                   pair.refresh_expires_at});
        }
        case persistence::refresh_outcome::reused:
          spdlog::warn("refresh token reused: login {} of user {} revoked",
                       r->owner->login->str(), r->owner->user.id.str());
          self->kick(r->owner->user.id, r->owner->login->str(),
                     "refresh token reused; this login was revoked");
          audit(self->svc, {r->owner->user.id, r->owner->user.role, client_address}, "user.refresh",
                r->owner->login->str(), "unauthorized",
                {{"reason", "refresh token reused; login revoked"}});
          return done(unauthorized("this refresh token was already used; the login was revoked"));
        case persistence::refresh_outcome::invalid:
          break;
      }
      done(unauthorized("invalid or expired refresh token"));
    });
}

void runtime::authenticate(std::string token,
                           std::function<void(expected<principal, api_error>)> done) {
  if (!plausible_token(token))
    return done(unauthorized("missing or invalid token"));
  impl_->svc.db->find_access_token(hash_token(token),
                                   [done](persistence::result<persistence::token_owner> owner) {
                                     if (owner)
                                       return done(to_principal(*owner));
                                     if (owner.error().code == persistence::errc::not_found)
                                       return done(unauthorized("missing or invalid token"));
                                     done(from_persistence(owner.error()));
                                   });
}

void runtime::authenticate_upgrade(std::string token,
                                   std::function<void(expected<principal, api_error>)> done) {
  auto tokens = impl_->svc.tokens;
  if (!plausible_token(token) || !tokens->enabled())
    return authenticate(std::move(token), std::move(done));
  auto hash = hash_token(token);
  if (auto cached = tokens->find(hash, now_millis()))
    return done(std::move(*cached)); // a reconnect: no database round trip
  auto gen = tokens->generation();   // revocations from now on win over this read's answer
  impl_->svc.db->find_access_token(
    hash, [done, tokens, hash, gen](persistence::result<persistence::token_owner> owner) {
      if (owner) {
        auto who = to_principal(*owner);
        tokens->put(hash, who, owner->expires_at, gen);
        return done(std::move(who));
      }
      if (owner.error().code == persistence::errc::not_found)
        return done(unauthorized("missing or invalid token"));
      done(from_persistence(owner.error()));
    });
}

void runtime::authenticate_ticket(std::string ticket,
                                  std::function<void(expected<principal, api_error>)> done) {
  if (!plausible_token(ticket))
    return done(unauthorized("invalid or expired ticket"));
  impl_->svc.db->consume_ticket(hash_token(ticket),
                                [done](persistence::result<persistence::token_owner> owner) {
                                  if (owner)
                                    return done(to_principal(*owner));
                                  if (owner.error().code == persistence::errc::not_found)
                                    return done(unauthorized("invalid or expired ticket"));
                                  done(from_persistence(owner.error()));
                                });
}

void runtime::logout(principal who, std::function<void(expected<bool, api_error>)> done) {
  if (auto no = refused(policy::action::user_logout, who, policy::relation::owner))
    return done(std::move(*no));
  if (who.session_id.empty())
    return done(true); // a token from before logins existed: nothing to revoke but itself
  revoke_login(who, who.session_id, std::move(done));
}

void runtime::list_logins(principal who,
                          std::function<void(expected<std::vector<login_info>, api_error>)> done) {
  if (auto no = refused(policy::action::session_list, who, policy::relation::owner))
    return done(std::move(*no));
  impl_->svc.db->list_logins(
    who.user, [who, done](persistence::result<std::vector<persistence::login_row>> rows) {
      if (!rows)
        return done(from_persistence(rows.error()));
      std::vector<login_info> out;
      for (auto& row : *rows) {
        auto id = row.id.str();
        bool current = id == who.session_id;
        out.push_back(login_info{std::move(id), row.created_at, row.last_used_at,
                                 std::move(row.user_agent), current});
      }
      done(std::move(out));
    });
}

void runtime::revoke_login(principal who, std::string login_id,
                           std::function<void(expected<bool, api_error>)> done) {
  // Revoking the login one is using is a logout; any other is a revocation.
  done = audited<bool>(&impl_->svc, audit_actor::of(who),
                       login_id == who.session_id ? "user.logout" : "session.revoke", login_id,
                       std::move(done));
  // Whose login it is only the database knows: not a live login of `who` makes them a stranger.
  auto stranger = [who, done] {
    done(*refused(policy::action::session_revoke, who, policy::relation::stranger));
  };
  if (auto no = refused(policy::action::session_revoke, who, policy::relation::owner))
    return done(std::move(*no));
  auto id = uuid::parse(login_id);
  if (!id)
    return stranger();
  auto* self = impl_.get();
  self->svc.db->revoke_login(who.user, *id,
                             [self, who, id = *id, done, stranger](persistence::result<bool> r) {
                               if (!r)
                                 return done(from_persistence(r.error()));
                               if (!*r)
                                 return stranger();
                               self->kick(who.user, id.str(), "session revoked");
                               done(true);
                             });
}

void runtime::revoke_all_logins(principal who, std::function<void(expected<bool, api_error>)> done) {
  done = audited<bool>(&impl_->svc, audit_actor::of(who), "session.revoke_all", who.user.str(),
                       std::move(done));
  if (auto no = refused(policy::action::session_revoke_all, who, policy::relation::owner))
    return done(std::move(*no));
  auto* self = impl_.get();
  self->svc.db->revoke_logins(
    who.user, std::nullopt, std::nullopt,
    [self, who, done](persistence::result<std::vector<uuid>> r) {
      if (!r)
        return done(from_persistence(r.error()));
      // Every socket of the user, also one opened with a token from before logins existed.
      self->kick(who.user, "", "logged out everywhere");
      spdlog::info("accounts: user {} logged out everywhere ({} logins)", who.user.str(), r->size());
      done(true);
    });
}

std::optional<std::string> runtime::password_problem(const std::string& password, const std::string& email) {
  auto length = utf8_chars(password);
  if (length < 10 || length > 128)
    return "must be 10 to 128 characters long";
  if (std::all_of(password.begin(), password.end(), [&](char c) { return c == password[0]; }))
    return "must not be one character repeated";
  if (normalise_email(password) == email)
    return "must not be your email address";
  return std::nullopt;
}

void runtime::hash_password(std::string password, std::function<void(expected<std::string, api_error>)> done) {
  auto* self = impl_.get();
  auto job = [self, password = std::move(password), done]() mutable { done(argon2id(password, self->svc.cfg)); };
  if (!self->cpu.post(std::move(job)))
    done(make_api_error(503, error_code::overloaded, "the server is busy; retry shortly"));
}

void runtime::replace_password(uuid user, std::string expected_hash, std::string new_hash,
                               std::optional<uuid> keep, std::string reason,
                               std::function<void(expected<bool, api_error>)> done) {
  auto* self = impl_.get();
  self->svc.db->revoke_logins(
    user, keep, persistence::database::password_swap{std::move(expected_hash), std::move(new_hash)},
    [self, user, keep, reason, done](persistence::result<std::vector<uuid>> r) {
      if (!r && r.error().code == persistence::errc::conflict)
        return done(make_api_error(409, error_code::conflict,
                                   "the password or this login changed meanwhile; log in again"));
      if (!r)
        return done(from_persistence(r.error()));
      if (keep) {
        for (const auto& login : *r)
          self->kick(user, login.str(), reason);
      } else {
        self->kick(user, "", reason); // every socket, also one of a token from before logins
      }
      spdlog::info("accounts: password of user {} replaced; {} logins revoked", user.str(), r->size());
      done(true);
    });
}

void runtime::change_password(principal who, std::string current, std::string next,
                              std::function<void(expected<bool, api_error>)> done) {
  done = audited<bool>(&impl_->svc, audit_actor::of(who), "password.change",
                       who.user.str(), std::move(done));
  if (auto no = refused(policy::action::password_change, who, policy::relation::owner))
    return done(std::move(*no));
  auto* self = impl_.get();
  self->svc.db->find_user(who.user, [this, self, who, current = std::move(current), next = std::move(next),
                                     done](persistence::result<persistence::user_row> found) mutable {
    if (!found)
      return done(from_persistence(found.error()));
    auto email = found->email;
    auto err = make_api_error(400, error_code::bad_request, "some fields are invalid");
    if (current.empty() || current.size() > 1024)
      err.fields.emplace_back("current_password", "is required");
    if (auto bad = password_problem(next, email))
      err.fields.emplace_back("new_password", std::move(*bad));
    else if (next == current)
      err.fields.emplace_back("new_password", "must differ from the current password");
    if (!err.fields.empty())
      return done(std::move(err));
    auto keep = uuid::parse(who.session_id);
    if (!keep) // the login that asks stays: a token from before logins has none
      return done(make_api_error(401, error_code::unauthorized, "this token predates logins; log in again"));
    // Guessing the current password with a stolen access token is throttled like a login.
    auto admitted = self->throttle->admit(email, who.address);
    if (admitted.wait_s > 0)
      return done(throttled(admitted.wait_s));
    auto job = [this, self, who, hash = found->password_hash, email, current = std::move(current),
                next = std::move(next), keep, done, hold = admitted.hold]() mutable {
      bool ok = crypto_pwhash_str_verify(hash.c_str(), current.data(), current.size()) == 0;
      sodium_memzero(current.data(), current.size());
      if (!ok) {
        self->throttle->failed(email, who.address);
        hold->finish(); // after the failure is counted
        return done(make_api_error(403, error_code::forbidden, "wrong password"));
      }
      hold->finish();
      // Still on the CPU pool: the new hash in the same job (not a second trip through the queue).
      auto fresh = argon2id(next, self->svc.cfg);
      if (!fresh)
        return done(fresh.error());
      replace_password(who.user, hash, std::move(*fresh), keep, "the password was changed", done);
    };
    if (!self->cpu.post(std::move(job))) {
      admitted.hold->finish();
      done(make_api_error(503, error_code::overloaded, "the server is busy; retry shortly"));
    }
  });
}

void runtime::issue_ws_ticket(principal who,
                              std::function<void(expected<ws_ticket, api_error>)> done) {
  if (auto no = refused(policy::action::ws_ticket, who, policy::relation::owner))
    return done(std::move(*no));
  auto login = uuid::parse(who.session_id);
  if (!login)
    return done(unauthorized("this token predates tickets; log in again"));
  auto ticket = new_token();
  auto expires = millis_from_now(impl_->svc.cfg.ticket_ttl);
  impl_->svc.db->add_login_token(
    who.user, *login, persistence::token_grant{hash_token(ticket), "ticket", expires},
    [ticket, expires, done](persistence::result<persistence::unit> r) {
      if (r)
        return done(ws_ticket{ticket, expires});
      if (r.error().code == persistence::errc::not_found)
        return done(unauthorized("this login was revoked"));
      done(from_persistence(r.error()));
    });
}

void runtime::guard_queue(principal who, size_t limit,
                          std::function<void(expected<std::vector<guard_hit_info>, api_error>)> done) {
  if (auto no = refused(policy::action::guard_queue, who))
    return done(std::move(*no));
  impl_->svc.db->guard_queue(limit, [done](persistence::result<std::vector<persistence::guard_hit_row>> r) {
    if (!r)
      return done(from_persistence(r.error()));
    std::vector<guard_hit_info> out;
    for (auto& h : r.value())
      out.push_back({h.id, h.conversation, h.sender, h.seq, std::move(h.action),
                     std::move(h.categories), std::move(h.original), h.created_at, h.strikes});
    done(std::move(out));
  });
}

void runtime::review_guard_hit(principal who, int64_t id, std::string verdict,
                               std::function<void(expected<bool, api_error>)> done) {
  done = audited<bool>(&impl_->svc, audit_actor::of(who), "guard.review", std::to_string(id),
                       std::move(done));
  if (auto no = refused(policy::action::guard_review, who))
    return done(std::move(*no));
  if (verdict != "confirmed" && verdict != "dismissed") {
    auto e = make_api_error(400, error_code::bad_request, "invalid review");
    e.fields.emplace_back("verdict", "must be confirmed or dismissed");
    return done(e);
  }
  impl_->svc.db->review_guard_hit(id, who.user, std::move(verdict),
                                  [done](persistence::result<persistence::unit> r) {
                                    if (r)
                                      return done(true);
                                    if (r.error().code == persistence::errc::not_found)
                                      return done(make_api_error(404, error_code::not_found,
                                                                 "no such unreviewed finding"));
                                    done(from_persistence(r.error()));
                                  });
}

// -- contracts ------------------------------------------------------------------------------------

// -- asking entities (ask_entity.hpp) ------------------------------------------------------

int http_status_of(error_code code) {
  switch (code) {
    case error_code::bad_frame:
    case error_code::bad_request:
      return 400;
    case error_code::unauthorized:
      return 401;
    case error_code::forbidden:
      return 403;
    case error_code::not_found:
    case error_code::unknown_type:
      return 404;
    case error_code::conflict:
    case error_code::limit_reached:
    case error_code::idempotency_mismatch:
    case error_code::sold_out:
    case error_code::already_redeemed:
    case error_code::budget_exhausted:
    case error_code::promotion_inactive:
      return 409;
    case error_code::expired:
      return 410;
    case error_code::too_large:
      return 413;
    case error_code::content_blocked:
    case error_code::invalid_code:
      return 422;
    case error_code::rate_limited:
      return 429;
    case error_code::overloaded:
    case error_code::unavailable:
      return 503;
    case error_code::timeout:
      return 504;
    case error_code::internal:
      break;
  }
  return 500;
}

api_error api_error_of(const caf::error& err) {
  auto code = to_protocol_code(err);
  return make_api_error(http_status_of(code), code, error_text(err));
}

void runtime::set_payment_provider(payments::provider* provider) {
  impl_->svc.provider.store(provider);
}

void runtime::contract_command(principal who, protocol::contract_command_req req,
                               std::function<void(expected<protocol::contract_ack_reply, api_error>)> done) {
  auto id = req.contract;
  done = audited<protocol::contract_ack_reply>(&impl_->svc, audit_actor::of(who),
                                               contract_action_name(req.action), id.str(),
                                               std::move(done));
  ask_entity<protocol::contract_ack_reply>(
    impl_->sys, impl_->svc, id, entity_kind::contract,
    caf::make_message(contract_atom_v, make_contract_command(who, std::move(req))), std::move(done));
}

void runtime::get_contract(principal who, uuid contract, int64_t after,
                           std::function<void(expected<protocol::contract_reply, api_error>)> done) {
  ask_entity<protocol::contract_reply>(
    impl_->sys, impl_->svc, contract, entity_kind::contract,
    caf::make_message(contract_atom_v, contract_query{who.user, who.role, after}), std::move(done));
}

void runtime::payment_webhook(std::string body, std::function<void(expected<bool, api_error>)> done) {
  auto ev = nlohmann::json::parse(body, nullptr, false);
  if (ev.is_object() && ev.contains("id") && ev["id"].is_string() && ev.contains("type")
      && ev["type"].is_string() && ev.contains("data") && ev["data"].is_object()) {
    // A settlement the provider reports moves money: recorded as the system's action on the
    // contract or wallet it names (a replay is recorded as "replay").
    auto ref = ev["data"].value("reference", std::string{});
    done = [svc = &impl_->svc, ref, type = ev["type"].get<std::string>(),
            event = ev["id"].get<std::string>(), done = std::move(done)](expected<bool, api_error> r) {
      audit(*svc, audit_actor::system(), "payment.webhook", uuid::parse(ref) ? ref : std::string{},
            r ? (r.value() ? "ok" : "replay") : audit_outcome(&r.error()),
            {{"type", type}, {"event", event}});
      done(std::move(r));
    };
  }
  auto bad = [&](std::string why) { done(make_api_error(400, error_code::bad_request, std::move(why))); };
  if (ev.is_discarded() || !ev.is_object() || !ev.contains("id") || !ev["id"].is_string()
      || !ev.contains("type") || !ev["type"].is_string() || !ev.contains("data")
      || !ev["data"].is_object())
    return bad("a webhook is a JSON object with id, type and data");
  auto event_id = ev["id"].get<std::string>();
  auto type = ev["type"].get<std::string>();
  auto& data = ev["data"];
  auto str = [&](const char* key) {
    auto i = data.find(key);
    return i != data.end() && i->is_string() ? i->get<std::string>() : std::string{};
  };
  auto reference = uuid::parse(str("reference"));
  // What the event means to the contract it names; other event types are acknowledged unused.
  std::optional<actors::contract_command> cmd;
  if (type == "payment_intent.succeeded")
    cmd = actors::contract_command{contract::payment_result{str("intent"), true, {}}};
  else if (type == "payment_intent.failed")
    cmd = actors::contract_command{contract::payment_result{str("intent"), false, str("failure_code")}};
  else if (type == "refund.succeeded")
    cmd = actors::contract_command{contract::confirm_call{str("key")}};
  // authorize_capture: an authorization (funding or renewal), its capture, its cancellation on
  // request (a confirmed cancel call) or its lapse at the provider.
  else if (type == "payment_intent.authorized")
    cmd = actors::contract_command{contract::payment_result{str("intent"), true, {}}};
  else if (type == "payment_intent.captured")
    cmd = actors::contract_command{contract::capture_result{str("key"), true, {}}};
  else if (type == "payment_intent.canceled" && str("reason") == "expired")
    cmd = actors::contract_command{contract::authorization_lapsed{str("intent")}};
  else if (type == "payment_intent.canceled")
    cmd = actors::contract_command{contract::confirm_call{str("key")}};
  if ((type == "payout.paid" || type == "payout.failed") && reference) {
    // A withdrawal's outcome: for the wallet of the user named as the reference.
    auto* svc = &impl_->svc;
    auto* sys = &impl_->sys;
    wallet_command wc{wallet::payout_result{str("key"), type == "payout.paid", str("failure_code")}};
    record_then_apply(
      *svc, event_id, type, reference->str(),
      [svc, sys, id = *reference, wc = std::move(wc)](auto applied) {
        ask_entity<bool>(*sys, *svc, id, entity_kind::wallet, caf::make_message(wallet_atom_v, wc),
                         [applied](expected<bool, api_error> r) {
                           applied(r ? std::nullopt : std::optional<api_error>{r.error()});
                         });
      },
      from_persistence, std::move(done));
    return;
  }
  if (reference && is_pledge_intent(str("intent"))) // a pledge campaign's authorization
    return pledge_webhook(impl_->sys, impl_->svc, event_id, type, *reference, str("intent"), str("key"),
                          str("reason"), str("failure_code"), std::move(done));
  if (!cmd || !reference) {
    spdlog::info("payments: webhook {} ({}) needs no action", event_id, type);
    return done(true);
  }
  auto* svc = &impl_->svc;
  auto* sys = &impl_->sys;
  record_then_apply(
    *svc, event_id, type, reference->str(),
    [svc, sys, id = *reference, cmd = std::move(*cmd)](auto applied) {
      ask_entity<protocol::contract_ack_reply>(
        *sys, *svc, id, entity_kind::contract, caf::make_message(contract_atom_v, cmd),
        [applied](expected<protocol::contract_ack_reply, api_error> r) {
          applied(r ? std::nullopt : std::optional<api_error>{r.error()});
        });
    },
    from_persistence, std::move(done));
}

void runtime::open_disputes(
  principal who, size_t limit,
  std::function<void(expected<std::vector<std::pair<uuid, millis>>, api_error>)> done) {
  if (auto no = refused(policy::action::dispute_list, who))
    return done(std::move(*no));
  impl_->svc.db->open_disputes(limit, [done](persistence::result<std::vector<std::pair<uuid, millis>>> r) {
    if (!r)
      return done(from_persistence(r.error()));
    done(std::move(r.value()));
  });
}

void runtime::ledger_check(principal who,
                           std::function<void(expected<std::vector<std::string>, api_error>)> done) {
  done = audited<std::vector<std::string>>(&impl_->svc, audit_actor::of(who), "ledger.check", "",
                                           std::move(done));
  if (auto no = refused(policy::action::ledger_check, who))
    return done(std::move(*no));
  impl_->svc.db->ledger_check([done](persistence::result<persistence::ledger_report> r) {
    if (!r)
      return done(from_persistence(r.error()));
    done(std::move(r.value().violations));
  });
}

void runtime::audit_query(principal who, audit_query_params q,
                          std::function<void(expected<std::vector<audit_entry>, api_error>)> done) {
  done = audited<std::vector<audit_entry>>(&impl_->svc, audit_actor::of(who), "audit.query", "",
                                           std::move(done));
  if (auto no = refused(policy::action::audit_query, who))
    return done(std::move(*no));
  persistence::audit_filter f;
  if (!q.actor.empty()) {
    f.actor = uuid::parse(q.actor);
    if (!f.actor) {
      auto e = make_api_error(400, error_code::bad_request, "invalid query");
      e.fields.emplace_back("actor", "must be a user id");
      return done(std::move(e));
    }
  }
  if (q.limit < 1 || q.limit > 1000 || q.before < 0) {
    auto e = make_api_error(400, error_code::bad_request, "invalid query");
    e.fields.emplace_back(q.before < 0 ? "before" : "limit",
                          q.before < 0 ? "must be an id (>= 0)" : "must be 1..1000");
    return done(std::move(e));
  }
  f.action = std::move(q.action);
  f.before = q.before;
  f.limit = q.limit;
  impl_->svc.db->audit_query(std::move(f), [done](persistence::result<std::vector<persistence::audit_row>> r) {
    if (!r)
      return done(from_persistence(r.error()));
    std::vector<audit_entry> out;
    for (auto& row : r.value()) {
      auto& a = row.record;
      out.push_back({row.id, a.at, a.actor ? a.actor->str() : std::string{}, std::move(a.actor_role),
                     std::move(a.address), std::move(a.action), std::move(a.target),
                     std::move(a.outcome), std::move(a.detail)});
    }
    done(std::move(out));
  });
}

void runtime::balances(
  principal who,
  std::function<void(expected<std::vector<std::pair<std::string, int64_t>>, api_error>)> done) {
  if (auto no = refused(policy::action::balance_get, who, policy::relation::owner))
    return done(std::move(*no));
  impl_->svc.db->ledger_balances(
    {contract::account::user(who.user, "") + "*"},
    [done](persistence::result<std::vector<persistence::ledger_balance>> r) {
      if (!r)
        return done(from_persistence(r.error()));
      std::vector<std::pair<std::string, int64_t>> out;
      for (auto& b : r.value())
        out.emplace_back(b.currency, b.available);
      done(std::move(out));
    });
}

void runtime::withdraw(principal who, withdrawal_request req,
                       std::function<void(expected<withdrawal_info, api_error>)> done) {
  done = [svc = &impl_->svc, by = audit_actor::of(who), amount = req.amount, currency = req.currency,
          done = std::move(done)](expected<withdrawal_info, api_error> r) {
    audit(*svc, by, "withdrawal.create", r ? r->payout : std::string{},
          audit_outcome(r ? nullptr : &r.error()), {{"amount", amount}, {"currency", currency}});
    done(std::move(r));
  };
  if (auto no = refused(policy::action::withdrawal_create, who, policy::relation::owner))
    return done(std::move(*no));
  wallet::withdraw cmd;
  cmd.key = std::move(req.key);
  cmd.amount = req.amount;
  cmd.currency = std::move(req.currency);
  cmd.destination = std::move(req.destination);
  ask_entity<withdrawal_info>(impl_->sys, impl_->svc, who.user, entity_kind::wallet,
                              caf::make_message(wallet_atom_v, wallet_command{std::move(cmd)}),
                              std::move(done));
}

void runtime::withdrawals(principal who,
                          std::function<void(expected<std::vector<withdrawal_info>, api_error>)> done) {
  if (auto no = refused(policy::action::withdrawal_list, who, policy::relation::owner))
    return done(std::move(*no));
  ask_entity<std::vector<withdrawal_info>>(impl_->sys, impl_->svc, who.user, entity_kind::wallet,
                                           caf::make_message(wallet_atom_v), std::move(done));
}

void runtime::check_health(std::function<void(bool, std::string)> done) {
  impl_->svc.db->ping([done](persistence::result<persistence::unit> r) {
    if (r)
      done(true, "ok");
    else
      done(false, std::string{"database: "} + persistence::to_string(r.error().code));
  });
}

std::unique_ptr<session> runtime::open_session(principal who, std::shared_ptr<session_sink> sink) {
  return std::make_unique<session_handle>(
    spawn_session(impl_->sys, &impl_->svc, std::move(who), std::move(sink)));
}

void runtime::close_user_sessions(const uuid& user, const std::string& session_id,
                                  protocol::close_code code, std::string reason) {
  impl_->svc.tokens->drop_login(user, session_id); // e.g. a role change: re-read on next use
  caf::anon_send(impl_->svc.registry, kick_atom_v, user, session_id, code, std::move(reason));
}

size_t runtime::in_flight() const noexcept {
  return impl_->svc.in_flight.load();
}

campaign_service& runtime::campaigns() {
  return *impl_->campaigns;
}

promotion_service& runtime::promotions() {
  return *impl_->promotions;
}

affiliate_service& runtime::affiliate() {
  return *impl_->affiliate;
}

// -- for profiles.cpp ------------------------------------------------------------------------------

persistence::database& runtime::database_() const noexcept {
  return *impl_->svc.db;
}

services& runtime::services_() const noexcept {
  return impl_->svc;
}

int64_t runtime::login_wait(const std::string& email, const std::string& address) {
  return impl_->throttle->retry_after(email, address);
}

void runtime::login_failed(const std::string& email, const std::string& address) {
  impl_->throttle->failed(email, address);
}

void runtime::login_succeeded(const std::string& email) {
  impl_->throttle->succeeded(email);
}

void runtime::open_login(uuid user, std::string role, std::string display_name,
                         std::string user_agent, std::string current_hash,
                         std::function<void(expected<login_result, api_error>)> done) {
  auto pair = impl_->new_pair();
  persistence::login_row login{uuid::v7(), user, 0, 0, user_agent.substr(0, 256),
                               pair.refresh_expires_at};
  principal who{user, std::move(role), std::move(display_name), login.id.str()};
  login_result out{who, pair.access, pair.access_expires_at, pair.refresh, pair.refresh_expires_at};
  impl_->svc.db->create_login(
    std::move(login), std::move(pair.grants),
    [out, done](persistence::result<persistence::unit> r) {
      if (!r && r.error().code == persistence::errc::conflict)
        return done(make_api_error(401, error_code::unauthorized,
                                   "the account changed while logging in; log in again"));
      if (!r)
        return done(from_persistence(r.error()));
      done(out);
    },
    std::move(current_hash));
}

bool runtime::drain(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (impl_->svc.in_flight.load() == 0 && impl_->svc.db->pending_appends() == 0
        && impl_->affiliate->flush_clicks(std::chrono::milliseconds(0)))
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// -- privacy: actors/src/privacy.cpp ----------------------------------------------------------

void runtime::export_user(principal who,
                          std::function<void(expected<std::string, api_error>)> done) {
  impl_->privacy->export_user(std::move(who), std::move(done));
}

void runtime::erase_user(principal who, std::string password,
                         std::function<void(expected<std::string, api_error>)> done) {
  impl_->privacy->erase_user(std::move(who), std::move(password), std::move(done));
}

void runtime::consents(principal who,
                       std::function<void(expected<std::vector<consent_change>, api_error>)> done) {
  impl_->privacy->consents(std::move(who), std::move(done));
}

void runtime::set_consents(
  principal who, std::vector<consent_change> changes,
  std::function<void(expected<std::vector<consent_change>, api_error>)> done) {
  impl_->privacy->set_consents(std::move(who), std::move(changes), std::move(done));
}

} // namespace pactum::actors
