// The runtime's pledge-campaign operations (REST; docs/api.md) and the routing of their payment
// webhooks. Each asks the campaign's actor (activated through the directory) from a one-shot
// actor, so no caller thread blocks; the listing reads the read model on the persistence pool.

#include "pledge_api.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "ask_entity.hpp"
#include "audit.hpp"
#include "message_types.hpp"
#include "pactum/actors/policy.hpp"
#include "pactum/persistence/pledge_store.hpp"
#include "services.hpp"
#include "webhook_apply.hpp"

namespace pactum::actors {

namespace {

using protocol::error_code;
using json_done = std::function<void(expected<std::string, api_error>)>;



template <class Reply>
void ask_pledge(services& svc, uuid id, caf::message msg, std::function<void(expected<Reply, api_error>)> done) {
  ask_entity<Reply>(svc.directory->home_system(), svc, id, entity_kind::pledge, std::move(msg), std::move(done));
}

json_done audited_json(services* svc, const principal& who, std::string action, std::string target, json_done done) {
  return [svc, by = audit_actor::of(who), action = std::move(action), target = std::move(target),
          done = std::move(done)](expected<std::string, api_error> r) {
    audit(*svc, by, action, target, audit_outcome(r ? nullptr : &r.error()));
    done(std::move(r));
  };
}

std::optional<api_error> refused_untargeted(policy::action a, const principal& who) {
  if (auto no = policy::decide(a, policy::parse_role(who.role), policy::relation::none))
    return api_error{no->status, no->code, std::string{no->message}, {}};
  return std::nullopt;
}

std::string role_of(const principal& who) {
  return who.role.empty() ? std::string{"anonymous"} : who.role;
}

} // namespace

void runtime::pledge_create(principal who, pledge_create_request req, json_done done) {
  auto& svc = services_();
  if (auto no = refused_untargeted(policy::action::pledge_create, who)) {
    audit(svc, audit_actor::of(who), "pledge.create", "", audit_outcome(&*no));
    return done(std::move(*no));
  }
  if (req.key.empty() || req.key.size() > svc.cfg.pledge_rules.max_key_bytes)
    return done(api_error{400, error_code::bad_request, "key must be 1 to 128 bytes", {{"key", "1 to 128 bytes"}}});
  // The key claims the campaign id first, so that a retried create reaches the same campaign
  // (whose machine then answers the first result, or idempotency_mismatch).
  persistence::pledge_campaign_row claim{uuid::v7(), who.user, req.title, "draft", req.goal,
                                         req.currency, req.end_at, 0, 0, req.key};
  auto* s = &svc;
  persistence::claim_pledge_campaign(
    database_(), std::move(claim),
    [s, who, req = std::move(req), done = std::move(done)](persistence::result<uuid> id) mutable {
      if (!id)
        return done(api_error{503, error_code::unavailable, "storage is unavailable; retry shortly", {}});
      auto audited = audited_json(s, who, "pledge.create", id.value().str(), std::move(done));
      pledge::create cmd{who.user, std::move(req.key), std::move(req.title), std::move(req.description),
                         req.goal, std::move(req.currency), req.end_at, std::move(req.tiers)};
      ask_pledge<std::string>(*s, id.value(),
                              caf::make_message(pledge_atom_v, pledge_command{std::move(cmd), role_of(who)}),
                              std::move(audited));
    });
}

void runtime::pledge_launch(principal who, uuid campaign, std::string key, json_done done) {
  auto& svc = services_();
  done = audited_json(&svc, who, "pledge.launch", campaign.str(), std::move(done));
  ask_pledge<std::string>(
    svc, campaign,
    caf::make_message(pledge_atom_v, pledge_command{pledge::launch{who.user, std::move(key)}, role_of(who)}),
    std::move(done));
}

void runtime::pledge_get(principal who, uuid campaign, json_done done) {
  auto& svc = services_();
  ask_pledge<std::string>(svc, campaign,
                          caf::make_message(pledge_atom_v, pledge_query{who.user, role_of(who), false}),
                          std::move(done));
}

void runtime::pledge_backers(principal who, uuid campaign, json_done done) {
  auto& svc = services_();
  ask_pledge<std::string>(svc, campaign,
                          caf::make_message(pledge_atom_v, pledge_query{who.user, role_of(who), true}),
                          std::move(done));
}

void runtime::pledge_list(principal who, uuid after, size_t limit, json_done done) {
  if (auto no = refused_untargeted(policy::action::pledge_list, who))
    return done(std::move(*no));
  limit = std::clamp<size_t>(limit, 1, 100);
  persistence::list_live_pledge_campaigns(
    database_(), after, limit, [done, limit](persistence::result<std::vector<persistence::pledge_campaign_row>> r) {
      if (!r) {
        auto code = r.error().code == persistence::errc::overloaded ? error_code::overloaded : error_code::unavailable;
        return done(api_error{503, code, "storage is unavailable; retry shortly", {}});
      }
      nlohmann::json list = nlohmann::json::array();
      for (auto& c : r.value())
        list.push_back({{"id", c.id.str()},
                        {"creator", c.creator.str()},
                        {"title", c.title},
                        {"status", c.status},
                        {"goal", c.goal},
                        {"currency", c.currency},
                        {"end_at", c.end_at},
                        {"pledged", c.pledged},
                        {"backers", c.backers}});
      nlohmann::json body{{"pledges", list}};
      body["next_after"] = r.value().size() == limit ? nlohmann::json(r.value().back().id.str()) : nlohmann::json(nullptr);
      done(body.dump());
    });
}

void runtime::pledge_back(principal who, uuid campaign, pledge_back_request req, json_done done) {
  auto& svc = services_();
  done = audited_json(&svc, who, "pledge.back", campaign.str(), std::move(done));
  pledge::pledge_cmd cmd{who.user, std::move(req.key), req.tier, req.amount, std::move(req.payment_method)};
  ask_pledge<std::string>(svc, campaign, caf::make_message(pledge_atom_v, pledge_command{std::move(cmd), role_of(who)}),
                          std::move(done));
}

void runtime::pledge_cancel(principal who, uuid campaign, std::string key, json_done done) {
  auto& svc = services_();
  done = audited_json(&svc, who, "pledge.cancel", campaign.str(), std::move(done));
  ask_pledge<std::string>(
    svc, campaign,
    caf::make_message(pledge_atom_v, pledge_command{pledge::withdraw{who.user, std::move(key)}, role_of(who)}),
    std::move(done));
}

bool is_pledge_intent(const std::string& intent) {
  return intent.rfind("pledge:", 0) == 0;
}

void pledge_webhook(caf::actor_system&, services& svc, std::string event_id, std::string type, uuid campaign,
                    std::string intent, std::string key, std::string reason, std::string failure_code,
                    std::function<void(expected<bool, api_error>)> done) {
  std::optional<pledge_command> cmd;
  if (type == "payment_intent.authorized" || type == "payment_intent.succeeded")
    cmd = pledge_command{pledge::authorization_result{intent, true, {}}};
  else if (type == "payment_intent.failed")
    cmd = pledge_command{pledge::authorization_result{intent, false, failure_code}};
  else if (type == "payment_intent.captured")
    cmd = pledge_command{pledge::capture_result{key, true, {}}};
  else if (type == "payment_intent.canceled" && reason == "expired")
    cmd = pledge_command{pledge::authorization_lapsed{intent}};
  else if (type == "payment_intent.canceled")
    cmd = pledge_command{pledge::confirm_call{key}};
  if (!cmd) {
    spdlog::info("payments: webhook {} ({}) needs no action", event_id, type);
    return done(true);
  }
  auto* s = &svc;
  record_then_apply(
    svc, event_id, type, campaign.str(),
    [s, campaign, cmd = std::move(*cmd)](auto applied) {
      ask_pledge<std::string>(*s, campaign, caf::make_message(pledge_atom_v, cmd),
                              [applied](expected<std::string, api_error> r) {
                                applied(r ? std::nullopt : std::optional<api_error>{r.error()});
                              });
    },
    [](const persistence::failure& f) { return api_error{503, error_code::unavailable, f.message, {}}; },
    std::move(done));
}

} // namespace pactum::actors
