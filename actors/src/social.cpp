// runtime: social platforms (docs/api.md, "Social platforms"): a creator refreshes the figures
// of their declared accounts from the platforms, fake-follower signals raise flags for review,
// moderators list and close the flags, and other code verifies posts.
//
// Nothing here blocks: platform calls run on the social client's own executor (its callbacks
// arrive on those threads), storage on the persistence pool; policy checks are inline.

#include <mutex>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "audit.hpp"
#include "pactum/actors/policy.hpp"
#include "pactum/actors/rate_limiter.hpp"
#include "pactum/actors/runtime.hpp"
#include "pactum/persistence/profile_store.hpp"
#include "pactum/persistence/social_store.hpp"
#include "pactum/protocol/profiles.hpp"
#include "pactum/social/client.hpp"
#include "pactum/social/json.hpp"
#include "pactum/social/signals.hpp"

namespace pactum::actors {

namespace {

using json = nlohmann::json;
using protocol::error_code;
namespace pp = protocol::profiles;

api_error make_error(int status, error_code code, std::string msg) {
  return api_error{status, code, std::move(msg), {}};
}

std::optional<api_error> refused(policy::action what, const principal& who, policy::relation rel) {
  auto no = policy::decide(what, policy::parse_role(who.role), rel);
  if (!no)
    return std::nullopt;
  return make_error(no->status, no->code, std::string{no->message});
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

api_error not_configured() {
  return make_error(503, error_code::unavailable, "no social platform provider is configured");
}

/// A platform's refusal as the REST answer (`field`: where an account's error is shown).
api_error platform_error(const social::error& e, const std::string& field = {}) {
  switch (e.code) {
    case social::errc::not_found:
    case social::errc::invalid_handle: {
      if (field.empty())
        return make_error(e.code == social::errc::not_found ? 404 : 400,
                          e.code == social::errc::not_found ? error_code::not_found : error_code::bad_request,
                          e.message);
      auto err = make_error(400, error_code::bad_request, "some accounts could not be found");
      err.fields.emplace_back(field, e.message);
      return err;
    }
    case social::errc::rate_limited: {
      auto err = make_error(429, error_code::rate_limited,
                            "the platform's request quota is used up; retry later");
      err.retry_after_s = std::max<int64_t>((e.retry_after_ms + 999) / 1000, 1);
      return err;
    }
    case social::errc::overloaded:
      return make_error(503, error_code::overloaded, "too many platform requests; retry shortly");
    case social::errc::unavailable:
      break;
  }
  return make_error(503, error_code::unavailable, "the platform did not answer; retry shortly");
}

social_flag_info to_info(persistence::social_flag_row r) {
  social_flag_info f;
  f.id = r.id;
  f.user = r.user;
  f.display_name = std::move(r.display_name);
  f.platform = std::move(r.platform);
  f.handle = std::move(r.handle);
  f.signals = std::move(r.signals);
  f.snapshot = std::move(r.snapshot);
  f.status = std::move(r.status);
  f.reviewer = r.reviewer ? r.reviewer->str() : std::string{};
  f.created_at = r.created_at;
  f.updated_at = r.updated_at;
  f.reviewed_at = r.reviewed_at.value_or(0);
  return f;
}

std::string own_view(const persistence::creator_profile_row& r) {
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
  return pp::creator_profile_json(pp::profile_meta{r.user, r.display_name, r.version, r.updated_at}, p,
                                  true);
}

/// What a refresh gathers while its accounts are fetched in parallel.
struct refresh_job {
  persistence::creator_profile_row profile;
  json accounts; ///< as stored: [{platform, handle, followers, average_views, engagement_rate}]
  std::vector<std::optional<expected<social::profile_stats, social::error>>> results;
  size_t pending = 0;
  std::mutex mtx;
};

} // namespace

/// The client and the per-creator refresh limit (one token per interval).
struct runtime::social_state {
  social_state(social::client* c, social_settings s)
    : client(c), settings(s),
      refreshes({s.refresh_interval.count() > 0 ? 1000.0 / static_cast<double>(s.refresh_interval.count()) : 0.0,
                 1, 100'000}) {}
  social::client* client;
  social_settings settings;
  rate_limiter refreshes;
};

void runtime::set_social_client(social::client* client, social_settings settings) {
  if (!client)
    return;
  social_owner_ = std::make_shared<social_state>(client, settings);
  social_.store(social_owner_.get());
}

void runtime::refresh_social_stats(principal who,
                                   std::function<void(expected<std::string, api_error>)> done) {
  if (auto no = refused(policy::action::social_refresh, who, policy::relation::owner))
    return done(std::move(*no));
  auto* st = social_.load();
  if (!st)
    return done(not_configured());
  if (auto wait = st->refreshes.take(who.user, now_millis()); wait > 0) {
    auto e = make_error(429, error_code::rate_limited, "statistics were refreshed recently; retry later");
    e.retry_after_s = (wait + 999) / 1000;
    return done(std::move(e));
  }
  auto* db = &database_();
  auto* client = st->client;
  persistence::load_creator_profile(
    *db, who.user, [db, client, done](persistence::result<persistence::creator_profile_row> r) {
      if (!r)
        return done(r.error().code == persistence::errc::not_found
                      ? make_error(404, error_code::not_found, "no creator profile yet: PUT one first")
                      : storage_error(r.error()));
      auto job = std::make_shared<refresh_job>();
      job->profile = std::move(*r);
      job->accounts = json::parse(job->profile.social_accounts, nullptr, false);
      if (!job->accounts.is_array() || job->accounts.empty()) {
        auto e = make_error(400, error_code::bad_request, "the profile lists no social accounts");
        e.fields.emplace_back("social_accounts", "add the accounts to refresh to the profile first");
        return done(std::move(e));
      }
      job->results.resize(job->accounts.size());
      job->pending = job->accounts.size();
      // Runs once, on the thread of the last answer: store what came back, or say what failed.
      auto finish = [db, client, job, done]() {
        std::optional<api_error> failed;
        std::vector<persistence::social_account_refresh> rows;
        std::vector<std::vector<social::fraud_signal>> found;
        int64_t total = 0;
        for (size_t i = 0; i < job->results.size(); ++i) {
          auto& res = *job->results[i];
          if (!res) {
            auto e = platform_error(res.error(), "social_accounts[" + std::to_string(i) + "].handle");
            // An account error is reported with the others; a platform failure wins (retry all).
            if (!failed || (failed->status == 400 && e.status != 400))
              failed = std::move(e);
            else if (failed->status == 400 && e.status == 400)
              failed->fields.insert(failed->fields.end(), e.fields.begin(), e.fields.end());
            continue;
          }
          auto& s = res.value();
          auto& a = job->accounts[i];
          a["followers"] = std::clamp<int64_t>(s.followers, 0, pp::max_followers);
          a["average_views"] = std::clamp<int64_t>(s.average_views, 0, pp::max_average_views);
          a["engagement_rate"] = std::clamp(s.engagement_rate, 0.0, 100.0);
          total += a["followers"].get<int64_t>();
          found.push_back(social::assess(s));
          rows.push_back({a.value("platform", ""), a.value("handle", ""), social::stats_json(s),
                          social::signals_json(found.back()), s.fetched_at});
        }
        if (failed)
          return done(std::move(*failed));
        persistence::save_social_refresh(
          *db, job->profile.user, job->profile.version, job->accounts.dump(), total, rows,
          [db, client, job, rows, done](persistence::result<persistence::social_refresh_saved> saved) {
            if (!saved)
              return done(saved.error().code == persistence::errc::conflict
                            ? make_error(409, error_code::conflict,
                                         "the profile changed during the refresh; refresh again")
                            : saved.error().code == persistence::errc::not_found
                              ? make_error(404, error_code::not_found, "no creator profile")
                              : storage_error(saved.error()));
            json accounts = json::array();
            size_t flagged = 0;
            for (size_t i = 0; i < rows.size(); ++i) {
              auto flag = saved->flags[i];
              flagged += flag ? 1 : 0;
              accounts.push_back(json{{"platform", rows[i].platform},
                                      {"handle", rows[i].handle},
                                      {"statistics", json::parse(rows[i].stats)},
                                      {"signals", json::parse(rows[i].signals)},
                                      {"flag", flag ? json(*flag) : json(nullptr)}});
            }
            if (flagged > 0)
              spdlog::info("social: {} account(s) of creator {} flagged for review", flagged,
                           job->profile.user.str());
            persistence::load_creator_profile(
              *db, job->profile.user,
              [client, accounts, done](persistence::result<persistence::creator_profile_row> r) {
                if (!r)
                  return done(storage_error(r.error()));
                done(json{{"profile", json::parse(own_view(*r))},
                          {"accounts", accounts},
                          {"provider", std::string{client->provider_name()}}}
                       .dump(-1, ' ', false, json::error_handler_t::replace));
              });
          });
      };
      for (size_t i = 0; i < job->accounts.size(); ++i) {
        auto& a = job->accounts[i];
        client->fetch_profile_async(
          a.value("platform", ""), a.value("handle", ""),
          [job, i, finish](expected<social::profile_stats, social::error> r) {
            bool last = false;
            {
              std::lock_guard<std::mutex> guard{job->mtx};
              job->results[i].emplace(std::move(r));
              last = --job->pending == 0;
            }
            if (last)
              finish();
          });
      }
    });
}

void runtime::social_flags(principal who, social_flag_query q,
                           std::function<void(expected<std::vector<social_flag_info>, api_error>)> done) {
  if (auto no = refused(policy::action::social_flag_list, who, policy::relation::none))
    return done(std::move(*no));
  auto bad = [&](const char* field, const char* why) {
    auto e = make_error(400, error_code::bad_request, "invalid query");
    e.fields.emplace_back(field, why);
    done(std::move(e));
  };
  if (!q.status.empty() && q.status != "open" && q.status != "cleared" && q.status != "confirmed")
    return bad("status", "must be open, cleared or confirmed");
  if (q.limit < 1 || q.limit > 200)
    return bad("limit", "must be 1..200");
  if (q.before < 0)
    return bad("before", "must be a flag id (>= 0)");
  persistence::list_social_flags(
    database_(), persistence::social_flag_filter{q.status, q.before, q.limit},
    [done](persistence::result<std::vector<persistence::social_flag_row>> r) {
      if (!r)
        return done(storage_error(r.error()));
      std::vector<social_flag_info> out;
      out.reserve(r->size());
      for (auto& row : *r)
        out.push_back(to_info(std::move(row)));
      done(std::move(out));
    });
}

void runtime::review_social_flag(principal who, int64_t id, std::string status,
                                 std::function<void(expected<social_flag_info, api_error>)> done) {
  done = [svc = &services_(), by = audit_actor::of(who), target = std::to_string(id), status,
          done = std::move(done)](expected<social_flag_info, api_error> r) {
    audit(*svc, by, "social_flag.review", target, audit_outcome(r ? nullptr : &r.error()),
          {{"status", status.size() <= 16 ? status : status.substr(0, 16)}});
    done(std::move(r));
  };
  if (auto no = refused(policy::action::social_flag_review, who, policy::relation::none))
    return done(std::move(*no));
  if (status != "cleared" && status != "confirmed") {
    auto e = make_error(400, error_code::bad_request, "some fields are invalid");
    e.fields.emplace_back("status", "must be cleared or confirmed");
    return done(std::move(e));
  }
  persistence::review_social_flag(
    database_(), id, who.user, status, [done](persistence::result<persistence::social_flag_row> r) {
      if (!r) {
        if (r.error().code == persistence::errc::not_found)
          return done(make_error(404, error_code::not_found, "no such flag"));
        if (r.error().code == persistence::errc::conflict)
          return done(make_error(409, error_code::conflict, "the flag was already reviewed"));
        return done(storage_error(r.error()));
      }
      done(to_info(std::move(*r)));
    });
}

void runtime::verify_post(std::string platform, std::string post, std::string required_disclosure,
                          std::function<void(expected<social::post_check, api_error>)> done) {
  social::disclosure required{};
  if (!social::parse_disclosure(required_disclosure, required)) {
    auto e = make_error(400, error_code::bad_request, "some fields are invalid");
    e.fields.emplace_back("required_disclosure", "must be none, any, #ad, #sponsored or paid_partnership");
    return done(std::move(e));
  }
  auto* st = social_.load();
  if (!st)
    return done(not_configured());
  st->client->verify_post_async(std::move(platform), std::move(post), required,
                                [done](expected<social::post_check, social::error> r) {
                                  if (!r)
                                    return done(platform_error(r.error()));
                                  done(std::move(r.value()));
                                });
}

} // namespace pactum::actors
