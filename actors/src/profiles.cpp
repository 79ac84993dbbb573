// runtime: profiles, role changes and one-time email login codes (docs/api.md, docs/security.md).
//
// Like the other account operations these run outside CAF: validation inline (pure, in
// protocol/profiles), storage on the persistence pool (persistence/profile_store), callbacks on
// its threads. Nothing here blocks a CAF or Asio thread.

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <memory>

#include <sodium.h>
#include <spdlog/spdlog.h>

#include "audit.hpp"
#include "pactum/actors/policy.hpp"
#include "pactum/actors/rate_limiter.hpp"
#include "pactum/actors/runtime.hpp"
#include "pactum/persistence/database.hpp"
#include "pactum/persistence/profile_store.hpp"
#include "pactum/protocol/profiles.hpp"

namespace pactum::actors {

namespace {

using protocol::error_code;
namespace pp = protocol::profiles;

api_error make_error(int status, error_code code, std::string msg) {
  return api_error{status, code, std::move(msg), {}};
}

api_error storage_error(const persistence::failure& f) {
  switch (f.code) {
    case persistence::errc::overloaded:
      return make_error(503, error_code::overloaded, "the server is busy; retry shortly");
    case persistence::errc::unavailable:
      return make_error(503, error_code::unavailable, "storage is unavailable; retry shortly");
    default:
      return make_error(500, error_code::internal, "internal error");
  }
}

/// The policy's refusal of `who` doing `what` in relation `rel` (nullopt: allowed).
std::optional<api_error> refused(policy::action what, const principal& who, policy::relation rel) {
  auto no = policy::decide(what, policy::parse_role(who.role), rel);
  if (!no)
    return std::nullopt;
  return make_error(no->status, no->code, std::string{no->message});
}

/// How `who` stands to the profile of `owner` when nothing else is known.
policy::relation relation_to(const principal& who, const uuid& owner) {
  return who.user == owner ? policy::relation::owner : policy::relation::stranger;
}

/// Whether `who` in relation `rel` sees the profile's private fields (policy's view rule).
bool sees_private(const principal& who, policy::relation rel) {
  return policy::sees_private_fields(policy::parse_role(who.role), rel);
}

api_error invalid_fields(std::vector<pp::field_error> errors) {
  auto e = make_error(400, error_code::bad_request, "some fields are invalid");
  for (auto& f : errors) {
    if (f.field.empty())
      e.message = f.message; // about the body as a whole
    else
      e.fields.emplace_back(std::move(f.field), std::move(f.message));
  }
  return e;
}

api_error save_error(const persistence::failure& f) {
  if (f.code == persistence::errc::conflict)
    return make_error(409, error_code::conflict,
                      "the profile was changed since the version you sent; reload it");
  return storage_error(f);
}

api_error no_profile(const char* what) {
  return make_error(404, error_code::not_found, std::string{"no such "} + what + " profile");
}

// -- rows <-> profiles ----------------------------------------------------------------------------

persistence::brand_profile_row to_row(const uuid& user, const pp::brand_profile& p) {
  persistence::brand_profile_row r;
  r.user = user;
  r.company_name = p.company_name;
  r.industry = p.industry;
  r.website = p.website;
  if (p.has_budget) {
    r.budget_min = p.budget_min;
    r.budget_max = p.budget_max;
    r.budget_currency = p.budget_currency;
  }
  // The contact is stored as JSONB; build it with the protocol's own view to keep one spelling.
  r.contact = pp::brand_contact_json(p);
  r.country = p.country;
  return r;
}

std::pair<pp::profile_meta, pp::brand_profile> from_row(const persistence::brand_profile_row& r) {
  pp::brand_profile p;
  p.company_name = r.company_name;
  p.industry = r.industry;
  p.website = r.website;
  p.has_budget = r.budget_min.has_value();
  p.budget_min = r.budget_min.value_or(0);
  p.budget_max = r.budget_max.value_or(0);
  p.budget_currency = r.budget_currency;
  pp::read_brand_contact(r.contact, p);
  p.country = r.country;
  return {pp::profile_meta{r.user, r.display_name, r.version, r.updated_at}, std::move(p)};
}

persistence::creator_profile_row to_row(const uuid& user, const pp::creator_profile& p) {
  persistence::creator_profile_row r;
  r.user = user;
  r.bio = p.bio;
  r.niches = p.niches;
  r.social_accounts = p.social_accounts;
  r.follower_total = p.follower_total;
  r.audience = p.audience;
  r.country = p.country;
  r.city = p.city;
  r.lat = p.lat;
  r.lon = p.lon;
  r.languages = p.languages;
  r.rates = p.rates;
  r.media_kit_url = p.media_kit_url;
  return r;
}

std::pair<pp::profile_meta, pp::creator_profile> from_row(const persistence::creator_profile_row& r) {
  pp::creator_profile p;
  p.bio = r.bio;
  p.niches = r.niches;
  p.social_accounts = r.social_accounts;
  p.follower_total = r.follower_total;
  p.audience = r.audience;
  p.country = r.country;
  p.city = r.city;
  p.lat = r.lat;
  p.lon = r.lon;
  p.languages = r.languages;
  p.rates = r.rates;
  p.media_kit_url = r.media_kit_url;
  p.stats_verified_at = r.stats_verified_at;
  return {pp::profile_meta{r.user, r.display_name, r.version, r.updated_at}, std::move(p)};
}

// -- login codes ----------------------------------------------------------------------------------

std::string normalised_email(std::string email) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  email.erase(email.begin(), std::find_if(email.begin(), email.end(), not_space));
  email.erase(std::find_if(email.rbegin(), email.rend(), not_space).base(), email.end());
  std::transform(email.begin(), email.end(), email.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return email;
}

/// The stored form of a code: BLAKE2b over a label, the account's email and the code, so equal
/// codes of different accounts hash differently.
std::string code_hash(const std::string& email, const std::string& code) {
  std::string input = "pactum-login-code\n" + email + "\n" + code;
  std::string out(crypto_generichash_BYTES, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                     reinterpret_cast<const unsigned char*>(input.data()), input.size(), nullptr, 0);
  return out;
}

/// Six decimal digits, uniformly random (libsodium).
std::string new_code() {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%06u", static_cast<unsigned>(randombytes_uniform(1'000'000)));
  return buf;
}

bool plausible_code(const std::string& code) {
  return code.size() == 6 && std::all_of(code.begin(), code.end(), [](unsigned char c) {
           return c >= '0' && c <= '9';
         });
}

/// A string key as a rate-limiter key (the limiter is keyed by uuid): 128 bits of its BLAKE2b.
uuid limiter_key(const std::string& text) {
  uuid key;
  crypto_generichash(key.bytes.data(), key.bytes.size(),
                     reinterpret_cast<const unsigned char*>(text.data()), text.size(), nullptr, 0);
  return key;
}

} // namespace

/// Token buckets for code requests: per email (known or not, so a 429 says nothing about which
/// emails are registered) and per client address. In memory, per process, bounded.
struct runtime::code_limits {
  explicit code_limits(const runtime_config& c)
    : per_email({c.login_codes_per_email_hour / 3600.0, std::max(c.login_codes_per_email_hour, 1.0),
                 100'000}),
      per_address({c.login_codes_per_address_hour / 3600.0,
                   std::max(c.login_codes_per_address_hour, 1.0), 100'000}) {}
  rate_limiter per_email;
  rate_limiter per_address;
};

std::shared_ptr<runtime::code_limits> runtime::make_code_limits(const runtime_config& cfg) {
  return std::make_shared<code_limits>(cfg);
}

// -- profiles -------------------------------------------------------------------------------------

void runtime::put_brand_profile(principal who, std::string body,
                                std::function<void(expected<std::string, api_error>)> done) {
  if (auto no = refused(policy::action::brand_profile_put, who, policy::relation::owner))
    return done(std::move(*no));
  auto v = pp::parse_brand_profile(body);
  if (auto* errors = std::get_if<std::vector<pp::field_error>>(&v))
    return done(invalid_fields(std::move(*errors)));
  auto& p = std::get<pp::brand_profile>(v);
  persistence::save_brand_profile(database_(), to_row(who.user, p), p.expected_version,
                                  [done](persistence::result<persistence::brand_profile_row> r) {
                                    if (!r)
                                      return done(save_error(r.error()));
                                    auto [meta, saved] = from_row(*r);
                                    done(pp::brand_profile_json(meta, saved, true));
                                  });
}

void runtime::put_creator_profile(principal who, std::string body,
                                  std::function<void(expected<std::string, api_error>)> done) {
  if (auto no = refused(policy::action::creator_profile_put, who, policy::relation::owner))
    return done(std::move(*no));
  auto v = pp::parse_creator_profile(body);
  if (auto* errors = std::get_if<std::vector<pp::field_error>>(&v))
    return done(invalid_fields(std::move(*errors)));
  auto& p = std::get<pp::creator_profile>(v);
  persistence::save_creator_profile(database_(), to_row(who.user, p), p.expected_version,
                                    [done](persistence::result<persistence::creator_profile_row> r) {
                                      if (!r)
                                        return done(save_error(r.error()));
                                      auto [meta, saved] = from_row(*r);
                                      done(pp::creator_profile_json(meta, saved, true));
                                    });
}

void runtime::brand_profile(principal who, uuid brand,
                            std::function<void(expected<std::string, api_error>)> done) {
  auto* db = &database_();
  persistence::load_brand_profile(
    *db, brand, [db, who, done](persistence::result<persistence::brand_profile_row> r) {
      if (!r)
        return done(r.error().code == persistence::errc::not_found ? no_profile("brand")
                                                                   : storage_error(r.error()));
      auto view = from_row(*r);
      auto answer = [who, view, done](policy::relation rel) {
        if (auto no = refused(policy::action::brand_profile_view, who, rel))
          return done(std::move(*no));
        done(pp::brand_profile_json(view.first, view.second, sees_private(who, rel)));
      };
      auto rel = relation_to(who, view.first.user);
      // Only a creator can be a party to a contract with the brand (relation `member`); ask the
      // database only when that would change what the caller sees.
      if (rel != policy::relation::stranger || sees_private(who, rel)
          || policy::parse_role(who.role) != policy::role::creator)
        return answer(rel);
      persistence::share_contract(*db, view.first.user, who.user,
                                  [answer, done](persistence::result<bool> shared) {
                                    if (!shared)
                                      return done(storage_error(shared.error()));
                                    answer(*shared ? policy::relation::member : policy::relation::stranger);
                                  });
    });
}

void runtime::creator_profile(principal who, uuid creator,
                              std::function<void(expected<std::string, api_error>)> done) {
  persistence::load_creator_profile(
    database_(), creator, [who, done](persistence::result<persistence::creator_profile_row> r) {
      if (!r)
        return done(r.error().code == persistence::errc::not_found ? no_profile("creator")
                                                                   : storage_error(r.error()));
      auto [meta, p] = from_row(*r);
      auto rel = relation_to(who, meta.user);
      if (auto no = refused(policy::action::creator_profile_view, who, rel))
        return done(std::move(*no));
      done(pp::creator_profile_json(meta, p, sees_private(who, rel)));
    });
}

// -- role changes ---------------------------------------------------------------------------------

void runtime::change_role(principal who, uuid user, std::string role,
                          std::function<void(expected<principal, api_error>)> done) {
  // Recorded allowed or refused: the admin, the target user, the role asked for.
  done = [svc = &services_(), by = audit_actor::of(who), target = user.str(), role,
          done = std::move(done)](expected<principal, api_error> r) {
    audit(*svc, by, "role.change", target, audit_outcome(r ? nullptr : &r.error()),
          {{"role", role.size() <= 16 ? role : role.substr(0, 16)}});
    done(std::move(r));
  };
  if (auto no = refused(policy::action::role_change, who, policy::relation::none))
    return done(std::move(*no));
  if (role != "brand" && role != "creator" && role != "moderator" && role != "admin") {
    auto e = make_error(400, error_code::bad_request, "some fields are invalid");
    e.fields.emplace_back("role", "must be brand, creator, moderator or admin");
    return done(std::move(e));
  }
  persistence::set_role_by_id(
    database_(), user, role, [this, done](persistence::result<persistence::user_row> r) {
      if (!r)
        return done(r.error().code == persistence::errc::not_found
                      ? make_error(404, error_code::not_found, "no such user")
                      : storage_error(r.error()));
      // Tokens carry no role (each request reads it), but a live session acts with the role it
      // was opened with: close them all so that the user reconnects as who they are now.
      close_user_sessions(r->id, "", protocol::close_code::role_changed, "your role changed");
      spdlog::info("accounts: role of user {} changed to {}", r->id.str(), r->role);
      done(principal{r->id, r->role, r->display_name, {}});
    });
}

// -- email-code logins ----------------------------------------------------------------------------

void runtime::request_login_code(std::string email, login_context ctx,
                                 std::function<void(expected<bool, api_error>)> done) {
  auto& cfg = config();
  if (!cfg.login_codes)
    return done(make_error(404, error_code::not_found, "login by email code is not enabled"));
  email = normalised_email(std::move(email));
  if (email.empty() || email.size() > 254 || email.find('@') == std::string::npos) {
    auto e = make_error(400, error_code::bad_request, "some fields are invalid");
    e.fields.emplace_back("email", "must be an email address like name@example.com");
    return done(std::move(e));
  }
  auto now = now_millis();
  // The email's bucket first: requests from many addresses for one email stop there.
  auto wait_ms = code_limits_->per_email.take(limiter_key("e:" + email), now);
  if (wait_ms == 0)
    wait_ms = code_limits_->per_address.take(limiter_key("a:" + ctx.client_address), now);
  if (wait_ms > 0) {
    auto e = make_error(429, error_code::rate_limited, "too many code requests; retry later");
    e.retry_after_s = (wait_ms + 999) / 1000;
    return done(std::move(e));
  }
  auto code = new_code();
  auto minutes = std::max<int64_t>(cfg.login_code_ttl.count() / 60, 1);
  persistence::outbox_mail mail{
    email, "Your Pactum login code",
    "Your Pactum login code is " + code + ".\n\nIt works once and expires in "
      + std::to_string(minutes) + (minutes == 1 ? " minute" : " minutes")
      + ". It logs you in, or sets a new password if you forgot yours. If you did not ask for"
        " it, ignore this email: nobody can log in without it.\n"};
  auto hash = code_hash(email, code);
  sodium_memzero(code.data(), code.size());
  // The answer does not wait for the database, so neither its content nor its timing tells
  // whether the email belongs to an account. A failure is logged; the user asks again.
  persistence::issue_login_code(
    database_(), email, std::move(hash), now + std::chrono::milliseconds(cfg.login_code_ttl).count(),
    std::move(mail), [](persistence::result<std::optional<int64_t>> r) {
      if (!r)
        spdlog::warn("accounts: a login code could not be queued: {}", persistence::to_string(r.error().code));
      else if (*r)
        spdlog::info("accounts: login code queued as mail_outbox row {}", **r);
      else
        spdlog::debug("accounts: login code requested for an email with no account");
    });
  done(true);
}

namespace {
/// An emailed-code refusal in the audit log: anonymous, by the email's hash.
void audit_code_refusal(services& svc, const char* action, const std::string& email, const std::string& address,
                        const char* outcome) {
  audit(svc, audit_actor::anonymous(address), action, "", outcome, {{"email_hash", email_hash(email)}});
}
} // namespace

void runtime::use_emailed_code(std::string email, std::string code, std::string address, const char* action,
                               std::function<void(api_error)> refuse,
                               std::function<void(std::function<void()>)> prepare,
                               std::function<void(persistence::user_row)> accepted) {
  // The password login's throttle: a wrong code is a failed login for this email and address.
  if (auto wait = login_wait(email, address); wait > 0) {
    audit_code_refusal(services_(), action, email, address, "rate_limited");
    auto e = make_error(429, error_code::rate_limited, "too many failed logins; retry later");
    e.retry_after_s = wait;
    return refuse(std::move(e));
  }
  auto fail = [this, email, address, action, refuse]() {
    login_failed(email, address);
    audit_code_refusal(services_(), action, email, address, "unauthorized");
    refuse(make_error(401, error_code::unauthorized, "wrong or expired code"));
  };
  if (email.empty() || email.size() > 254 || !plausible_code(code))
    return fail();
  auto spend = [this, email, code = std::move(code), fail, refuse, accepted = std::move(accepted)]() {
    persistence::use_login_code(
      database_(), email, code_hash(email, code), config().login_code_attempts,
      [this, email, fail, refuse, accepted](persistence::result<persistence::code_check> r) {
        if (!r)
          return refuse(storage_error(r.error()));
        if (r->outcome != persistence::code_outcome::accepted)
          return fail();
        login_succeeded(email);
        accepted(std::move(*r->user));
      });
  };
  if (prepare)
    prepare(std::move(spend));
  else
    spend();
}

void runtime::login_with_code(std::string email, std::string code, login_context ctx,
                              std::function<void(expected<login_result, api_error>)> done) {
  if (!config().login_codes)
    return done(make_error(404, error_code::not_found, "login by email code is not enabled"));
  // Every attempt is audited like a password login.
  use_emailed_code(
    normalised_email(std::move(email)), std::move(code), ctx.client_address, "login_code.verify",
    [done](api_error e) { done(std::move(e)); }, nullptr,
    [this, agent = ctx.user_agent, addr = ctx.client_address, done](persistence::user_row u) {
      open_login(u.id, u.role, u.display_name, agent, u.password_hash,
                 [svc = &services_(), addr, done](expected<login_result, api_error> in) {
                   if (in)
                     audit(*svc, {in->who.user, in->who.role, addr}, "login_code.verify",
                           in->who.session_id, "ok");
                   done(std::move(in));
                 });
    });
}

void runtime::reset_password(std::string email, std::string code, std::string next, login_context ctx,
                             std::function<void(expected<bool, api_error>)> done) {
  if (!config().login_codes)
    return done(make_error(404, error_code::not_found, "login by email code is not enabled"));
  email = normalised_email(std::move(email));
  // The rules first, so a refused password does not use up the code.
  if (auto bad = password_problem(next, email)) {
    auto e = make_error(400, error_code::bad_request, "some fields are invalid");
    e.fields.emplace_back("new_password", std::move(*bad));
    audit_code_refusal(services_(), "password.reset", email, ctx.client_address, "bad_request");
    return done(std::move(e));
  }
  // The new hash before the code is spent, so that once it is spent only the database can fail
  // the reset.
  auto fresh = std::make_shared<std::string>();
  auto prepare = [this, next = std::move(next), fresh, done](std::function<void()> spend) mutable {
    hash_password(std::move(next), [fresh, spend = std::move(spend), done](expected<std::string, api_error> h) {
      if (!h)
        return done(h.error());
      *fresh = std::move(*h);
      spend();
    });
  };
  use_emailed_code(
    email, std::move(code), ctx.client_address, "password.reset", [done](api_error e) { done(std::move(e)); },
    std::move(prepare), [this, fresh, addr = ctx.client_address, done](persistence::user_row u) {
      replace_password(u.id, u.password_hash, std::move(*fresh), std::nullopt, "the password was reset",
                       [svc = &services_(), user = u.id, role = u.role, addr, done](expected<bool, api_error> in) {
                         audit(*svc, {user, role, addr}, "password.reset", user.str(),
                               audit_outcome(in ? nullptr : &in.error()));
                         done(std::move(in));
                       });
    });
}

} // namespace pactum::actors
