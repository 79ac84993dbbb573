// runtime: owns the CAF actor system, the services the actors share, and the account service.
//
// Accounts run outside CAF: validation inline, argon2id hashing on the `cpu_` executor, storage
// through the persistence pool. None of it blocks a CAF or Asio thread.

#include "pactum/actors/runtime.hpp"

#include <algorithm>
#include <cctype>
#include <thread>

#include <sodium.h>
#include <spdlog/spdlog.h>

#include "message_types.hpp"
#include "pactum/common/executor.hpp"
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

namespace {

using protocol::error_code;

api_error make_api_error(int status, error_code code, std::string msg) {
  return api_error{status, code, std::move(msg), {}};
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
    : store(make_database_store(db)),
      svc{std::move(c), &db, *store, {}, {}, {}},
      cpu("pactum-cpu", svc.cfg.cpu_threads, svc.cfg.cpu_queue_limit),
      sys(configure(caf_cfg, svc.cfg)) {
    svc.directory = spawn_directory(sys, &svc);
    svc.registry = spawn_registry(sys);
    // A fixed hash to verify against when the email is unknown, so that the answer takes as long
    // as for a wrong password (no user enumeration by timing).
    char buf[crypto_pwhash_STRBYTES];
    std::string pw = new_token();
    if (crypto_pwhash_str_alg(buf, pw.data(), pw.size(), svc.cfg.pwhash_opslimit,
                              svc.cfg.pwhash_memlimit, crypto_pwhash_ALG_ARGON2ID13)
        != 0)
      throw std::runtime_error("argon2id: out of memory");
    dummy_hash = buf;
  }

  ~impl() {
    caf::anon_send_exit(svc.directory, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(svc.registry, caf::exit_reason::user_shutdown);
    cpu.stop();
  }

  static caf::actor_system_config& configure(caf::actor_system_config& cfg,
                                             const runtime_config& c) {
    cfg.set("scheduler.max-threads", c.scheduler_threads);
    cfg.set("logger.verbosity", caf::atom("quiet"));
    return cfg;
  }

  std::unique_ptr<entity_store> store;
  services svc;
  executor cpu;
  caf::actor_system_config caf_cfg; // CAF keeps a reference: must outlive `sys`
  caf::actor_system sys;
  std::string dummy_hash;
};

runtime::runtime(runtime_config cfg, persistence::database& db)
  : impl_(std::make_unique<impl>(std::move(cfg), db)) {}

runtime::~runtime() = default;

const runtime_config& runtime::config() const noexcept {
  return impl_->svc.cfg;
}

void runtime::register_user(registration in,
                            std::function<void(expected<principal, api_error>)> done) {
  auto err = make_api_error(400, error_code::bad_request, "some fields are invalid");
  in.email = normalise_email(in.email);
  if (!plausible_email(in.email))
    err.fields.emplace_back("email", "must be an email address like name@example.com");
  auto pw_len = utf8_chars(in.password);
  if (pw_len < 10 || pw_len > 128)
    err.fields.emplace_back("password", "must be 10 to 128 characters long");
  else if (std::all_of(in.password.begin(), in.password.end(),
                       [&](char c) { return c == in.password[0]; }))
    err.fields.emplace_back("password", "must not be one character repeated");
  else if (normalise_email(in.password) == in.email)
    err.fields.emplace_back("password", "must not be your email address");
  auto name_len = utf8_chars(in.display_name);
  if (name_len < 1 || name_len > 80)
    err.fields.emplace_back("display_name", "must be 1 to 80 characters long");
  if (in.role != "brand" && in.role != "creator")
    err.fields.emplace_back("role", "must be \"brand\" or \"creator\"");
  if (!err.fields.empty())
    return done(std::move(err));
  auto* self = impl_.get();
  auto job = [self, in = std::move(in), done]() mutable {
    char buf[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(buf, in.password.data(), in.password.size(),
                              self->svc.cfg.pwhash_opslimit, self->svc.cfg.pwhash_memlimit,
                              crypto_pwhash_ALG_ARGON2ID13)
        != 0)
      return done(make_api_error(503, error_code::overloaded, "out of memory; retry shortly"));
    persistence::user_row row{uuid::v7(), in.email, buf, in.display_name, in.role, now_millis()};
    principal who{row.id, row.role, row.display_name};
    self->svc.db->create_user(std::move(row), [who, done](persistence::result<persistence::unit> r) {
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

void runtime::login(std::string email, std::string password,
                    std::function<void(expected<login_result, api_error>)> done) {
  auto* self = impl_.get();
  email = normalise_email(email);
  if (email.empty() || password.empty() || password.size() > 1024)
    return done(make_api_error(401, error_code::unauthorized, "wrong email or password"));
  self->svc.db->find_user_by_email(email, [self, password, done](
                                           persistence::result<persistence::user_row> user) {
    if (!user && user.error().code != persistence::errc::not_found)
      return done(from_persistence(user.error()));
    std::optional<persistence::user_row> found;
    if (user)
      found = std::move(user.value());
    auto job = [self, password, done, found]() {
      // Verify even when the user is unknown, so both cases cost the same time.
      auto& hash = found ? found->password_hash : self->dummy_hash;
      bool ok = crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
      if (!ok || !found)
        return done(make_api_error(401, error_code::unauthorized, "wrong email or password"));
      auto token = new_token();
      auto expires = now_millis()
                     + std::chrono::duration_cast<std::chrono::milliseconds>(self->svc.cfg.token_ttl)
                         .count();
      principal who{found->id, found->role, found->display_name};
      self->svc.db->insert_token(hash_token(token), found->id, expires,
                                [who, token, expires, done](persistence::result<persistence::unit> r) {
                                  if (!r)
                                    return done(from_persistence(r.error()));
                                  done(login_result{who, token, expires});
                                });
    };
    if (!self->cpu.post(std::move(job)))
      done(make_api_error(503, error_code::overloaded, "the server is busy; retry shortly"));
  });
}

void runtime::authenticate(std::string token,
                           std::function<void(expected<principal, api_error>)> done) {
  if (!plausible_token(token))
    return done(make_api_error(401, error_code::unauthorized, "missing or invalid token"));
  impl_->svc.db->find_user_by_token(hash_token(token),
                                   [done](persistence::result<persistence::user_row> user) {
                                     if (user)
                                       return done(principal{user->id, user->role,
                                                             user->display_name});
                                     if (user.error().code == persistence::errc::not_found)
                                       return done(make_api_error(401, error_code::unauthorized,
                                                                  "missing or invalid token"));
                                     done(from_persistence(user.error()));
                                   });
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

size_t runtime::in_flight() const noexcept {
  return impl_->svc.in_flight.load();
}

bool runtime::drain(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (impl_->svc.in_flight.load() == 0 && impl_->svc.db->pending_appends() == 0)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

} // namespace pactum::actors
