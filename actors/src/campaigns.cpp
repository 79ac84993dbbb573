// runtime: campaign operations (actors/include/pactum/actors/campaigns.hpp; docs/api.md,
// "Campaigns").
//
// Commands and single-campaign reads go to the campaign's actor through the directory (a
// one-shot actor makes the two requests, so no caller thread blocks). Lists come from the read
// model on the persistence pool. The authorization policy is asked here for the role-only
// actions (create, lists, apply) and by the campaign actor for everything that depends on the
// caller's relation to a campaign.

#include "pactum/actors/campaigns.hpp"

#include <algorithm>
#include <limits>


#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "ask_entity.hpp"
#include "audit.hpp"
#include "campaign_matching.hpp"
#include "message_types.hpp"
#include "name_uuid.hpp"
#include "pactum/actors/policy.hpp"
#include "pactum/persistence/campaign_store.hpp"
#include "pactum/protocol/campaign_events.hpp"
#include "pactum/protocol/codec.hpp"
#include "pactum/protocol/events.hpp"
#include "services.hpp"

namespace pactum::actors {

namespace {

using json = nlohmann::json;
using protocol::error_code;

api_error make_error(int status, error_code code, std::string msg) {
  return api_error{status, code, std::move(msg), {}};
}



api_error storage_error(const persistence::failure& f) {
  switch (f.code) {
    case persistence::errc::overloaded:
      return make_error(503, error_code::overloaded, "the server is busy; retry shortly");
    case persistence::errc::unavailable:
      return make_error(503, error_code::unavailable, "storage is unavailable; retry shortly");
    case persistence::errc::refused:
      return make_error(400, error_code::bad_request, f.message);
    default:
      return make_error(500, error_code::internal, "internal error");
  }
}

std::optional<api_error> refused(policy::action what, const principal& who, policy::relation rel) {
  if (auto no = policy::decide(what, policy::parse_role(who.role), rel))
    return make_error(no->status, no->code, std::string{no->message});
  return std::nullopt;
}

/// Sends `msg` to campaign `id` (activated on demand) and hands its JSON answer to `done`.
void ask_campaign(caf::actor_system& sys, services& svc, uuid id, caf::message msg, json_answer done) {
  ask_entity<std::string>(sys, svc, id, entity_kind::campaign, std::move(msg), std::move(done));
}

void command(caf::actor_system& sys, services& svc, const principal& who, uuid id,
             campaign_command cmd, json_answer done) {
  cmd.role = who.role.empty() ? std::string{"anonymous"} : who.role;
  ask_campaign(sys, svc, id, caf::make_message(campaign_atom_v, std::move(cmd)), std::move(done));
}

/// A campaign's id from its brand and the create command's idempotency key: a retried create
/// (also one racing the first) names the same journal, so it cannot make a second campaign. A
/// name-based (version 8) UUID rather than a v7: the id must not depend on when it is asked.
uuid campaign_id_for(const uuid& brand, const std::string& key) {
  return name_uuid("pactum.campaign|" + brand.str() + "|" + key);
}

std::optional<api_error> parse_details(const std::string& text, protocol::campaign_details& out) {
  auto d = protocol::campaign_details_from_json(text);
  if (d) {
    out = std::move(d.value());
    return std::nullopt;
  }
  auto e = make_error(400, error_code::bad_request, "some fields are invalid");
  for (auto& f : d.error()) {
    if (f.field.empty())
      e.message = f.message;
    else
      e.fields.emplace_back(f.field, f.message);
  }
  return e;
}

json row_json(const persistence::campaign_row& c) {
  auto ms = [](millis t) { return t > 0 ? json(t) : json(nullptr); };
  return json{{"id", c.id.str()},
              {"brand", c.brand.str()},
              {"status", c.status},
              {"title", c.title},
              {"currency", c.currency},
              {"budget", c.budget},
              {"committed", c.committed},
              {"spent", c.spent},
              {"remaining", c.budget - c.committed - c.spent},
              {"starts_at", ms(c.starts_at)},
              {"ends_at", ms(c.ends_at)},
              {"pricing_model", c.pricing_model},
              {"rate", c.rate},
              {"niches", c.niches},
              {"countries", c.countries},
              {"min_followers", c.min_followers},
              {"created_at", c.created_at},
              {"updated_at", c.updated_at}};
}

std::function<void(persistence::result<persistence::campaign_page>)> page_answer(json_answer done) {
  return [done = std::move(done)](persistence::result<persistence::campaign_page> r) {
    if (!r)
      return done(storage_error(r.error()));
    json list = json::array();
    for (auto& c : r->rows)
      list.push_back(row_json(c));
    json body{{"campaigns", std::move(list)}};
    body["next_before"] = r->next.empty() ? json(nullptr) : json(r->next);
    done(body.dump());
  };
}

std::optional<api_error> to_filter(const campaign_list_params& p, persistence::campaign_filter& f) {
  auto bad = [](std::string field, std::string msg) {
    auto e = make_error(400, error_code::bad_request, "some query parameters are invalid");
    e.fields.emplace_back(std::move(field), std::move(msg));
    return e;
  };
  if (p.limit < 1 || p.limit > 100)
    return bad("limit", "from 1 to 100");
  if (!p.sort.empty() && p.sort != "newest" && p.sort != "budget" && p.sort != "ending")
    return bad("sort", "newest, budget or ending");
  if (!p.pricing_model.empty() && p.pricing_model != "flat" && p.pricing_model != "cpc"
      && p.pricing_model != "cpv" && p.pricing_model != "per_post" && p.pricing_model != "per_call")
    return bad("pricing_model", "flat, cpc, cpv, per_post or per_call");
  if ((p.min_budget && *p.min_budget < 0) || (p.max_budget && *p.max_budget < 0))
    return bad(p.min_budget && *p.min_budget < 0 ? "min_budget" : "max_budget", "not negative");
  if (p.q.size() > 200)
    return bad("q", "at most 200 characters");
  std::string niche;
  for (size_t i = 0; i <= p.niche.size(); ++i) {
    if (i == p.niche.size() || p.niche[i] == ',') {
      if (!niche.empty())
        f.niches.push_back(niche);
      niche.clear();
    } else {
      niche += p.niche[i];
    }
  }
  if (f.niches.size() > 20)
    return bad("niche", "at most 20 niches");
  f.country = p.country;
  f.pricing_model = p.pricing_model;
  f.currency = p.currency;
  f.min_budget = p.min_budget;
  f.max_budget = p.max_budget;
  f.text = p.q;
  f.sort = p.sort.empty() ? "newest" : p.sort;
  f.after = p.before;
  f.limit = p.limit;
  return std::nullopt;
}

} // namespace

json campaign_row_json(const persistence::campaign_row& c) { return row_json(c); }

campaign_service::campaign_service(services& svc, caf::actor_system& sys) : svc_(svc), sys_(sys) {}

campaign_service::~campaign_service() = default;

void campaign_service::create(principal who, std::string key, std::string details_json,
                              json_answer done) {
  if (auto no = refused(policy::action::campaign_create, who, policy::relation::owner))
    return done(*no);
  if (key.empty() || key.size() > 200)
    return done(make_error(400, error_code::bad_request,
                           "an idempotency key (Idempotency-Key header or `key`, 1-200 characters) is required"));
  campaign::create c{who.user, key, {}};
  if (auto bad = parse_details(details_json, c.details))
    return done(*bad);
  auto id = campaign_id_for(who.user, key);
  command(sys_, svc_, who, id, campaign_command{std::move(c)}, std::move(done));
}

void campaign_service::update(principal who, uuid id, std::string key, std::string details_json,
                              json_answer done) {
  campaign::update c{who.user, std::move(key), {}};
  if (auto bad = parse_details(details_json, c.details))
    return done(*bad);
  command(sys_, svc_, who, id, campaign_command{std::move(c)}, std::move(done));
}

void campaign_service::change_status(principal who, uuid id, std::string key, std::string to,
                                     json_answer done) {
  // Publishing and ending a campaign decide about the brand's budget: audited. A publish the
  // details do not allow is refused by the machine as "field: problem; field: problem": shown
  // per field, so a form can mark them.
  done = [svc = &svc_, by = audit_actor::of(who), id, to, done = std::move(done)](
           expected<std::string, api_error> r) {
    if (!r && to == "publish" && r.error().code == error_code::bad_request) {
      auto& e = r.error();
      std::string_view rest = e.message;
      while (!rest.empty()) {
        auto end = rest.find("; ");
        auto part = rest.substr(0, end);
        if (auto colon = part.find(": "); colon != std::string_view::npos)
          e.fields.emplace_back(std::string{part.substr(0, colon)}, std::string{part.substr(colon + 2)});
        rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 2);
      }
      e.message = "the campaign cannot be published yet";
    }
    audit(*svc, by, "campaign.status", id.str(), audit_outcome(r ? nullptr : &r.error()),
          {{"to", to}});
    done(std::move(r));
  };
  command(sys_, svc_, who, id, campaign_command{campaign::change_status{who.user, std::move(key), std::move(to)}},
          std::move(done));
}

void campaign_service::apply(principal who, uuid id, std::string key, std::string proposal,
                             int64_t amount, json_answer done) {
  command(sys_, svc_, who, id,
          campaign_command{campaign::apply{who.user, std::move(key), std::move(proposal), amount}},
          std::move(done));
}

void campaign_service::decide_application(principal who, uuid id, int64_t application,
                                          std::string key, std::string outcome, std::string reason,
                                          json_answer done) {
  if (outcome != "approved" && outcome != "rejected")
    return done(api_error{400, error_code::bad_request, "outcome must be approved or rejected",
                          {{"outcome", "approved or rejected"}}});
  command(sys_, svc_, who, id,
          campaign_command{campaign::decide_application{who.user, std::move(key), application,
                                                        std::move(outcome), std::move(reason), {}}},
          std::move(done));
}

void campaign_service::withdraw_application(principal who, uuid id, int64_t application,
                                            std::string key, json_answer done) {
  command(sys_, svc_, who, id,
          campaign_command{campaign::decide_application{who.user, std::move(key), application,
                                                        "withdrawn", {}, {}}},
          std::move(done));
}

void campaign_service::invite(principal who, uuid id, std::string key, uuid creator,
                              std::string brief, json_answer done) {
  if (!svc_.db)
    return command(sys_, svc_, who, id,
                   campaign_command{campaign::invite{who.user, std::move(key), creator, std::move(brief)}},
                   std::move(done));
  // Only an existing creator can be invited; the lookup runs on the pool, then the command goes.
  auto* sys = &sys_;
  auto* svc = &svc_;
  svc_.db->find_user(creator, [=, key = std::move(key), brief = std::move(brief),
                               done = std::move(done)](persistence::result<persistence::user_row> u) mutable {
    if (!u && u.error().code != persistence::errc::not_found)
      return done(storage_error(u.error()));
    if (!u || u->role != "creator")
      return done(api_error{404, error_code::not_found, "no creator with this id",
                            {{"creator", "no creator with this id"}}});
    command(*sys, *svc, who, id,
            campaign_command{campaign::invite{who.user, std::move(key), creator, std::move(brief)}},
            std::move(done));
  });
}

void campaign_service::answer_invitation(principal who, uuid id, int64_t invitation,
                                         std::string key, std::string outcome, std::string reason,
                                         json_answer done) {
  if (outcome != "accepted" && outcome != "denied")
    return done(api_error{400, error_code::bad_request, "outcome must be accepted or denied",
                          {{"outcome", "accepted or denied"}}});
  command(sys_, svc_, who, id,
          campaign_command{campaign::answer_invitation{who.user, std::move(key), invitation,
                                                       std::move(outcome), std::move(reason), {}}},
          std::move(done));
}

void campaign_service::get(principal who, uuid id, json_answer done) {
  ask_campaign(sys_, svc_, id, caf::make_message(campaign_atom_v, campaign_query{who.user, who.role, "view"}),
               std::move(done));
}

void campaign_service::updates(principal who, uuid id, int64_t after, size_t limit, json_answer done) {
  if (limit < 1 || limit > 500)
    return done(api_error{400, error_code::bad_request, "limit must be from 1 to 500", {{"limit", "from 1 to 500"}}});
  ask_campaign(sys_, svc_, id,
               caf::make_message(campaign_atom_v, campaign_query{who.user, who.role, "updates", after, limit}),
               std::move(done));
}

void campaign_service::applications(principal who, uuid id, int64_t before, size_t limit,
                                    json_answer done) {
  if (limit < 1 || limit > 100)
    return done(api_error{400, error_code::bad_request, "limit must be from 1 to 100", {{"limit", "from 1 to 100"}}});
  ask_campaign(sys_, svc_, id,
               caf::make_message(campaign_atom_v,
                                 campaign_query{who.user, who.role, "applications", before, limit}),
               std::move(done));
}

void campaign_service::list_published(principal who, campaign_list_params p, json_answer done) {
  if (auto no = refused(policy::action::campaign_list, who, policy::relation::owner))
    return done(*no);
  persistence::campaign_filter f;
  if (auto bad = to_filter(p, f))
    return done(*bad);
  f.status = "published";
  persistence::list_campaigns(*svc_.db, std::move(f), page_answer(std::move(done)));
}

void campaign_service::list_mine(principal who, campaign_list_params p, json_answer done) {
  if (auto no = refused(policy::action::campaign_mine, who, policy::relation::owner))
    return done(*no);
  persistence::campaign_filter f;
  if (auto bad = to_filter(p, f))
    return done(*bad);
  if (!p.status.empty()) {
    if (p.status != "draft" && p.status != "published" && p.status != "paused"
        && p.status != "completed" && p.status != "cancelled")
      return done(api_error{400, error_code::bad_request, "some query parameters are invalid",
                            {{"status", "draft, published, paused, completed or cancelled"}}});
    f.status = p.status;
  }
  f.brand = who.user;
  persistence::list_campaigns(*svc_.db, std::move(f), page_answer(std::move(done)));
}

void campaign_service::invitations(principal who, std::string before, size_t limit, json_answer done) {
  if (auto no = refused(policy::action::invitation_list, who, policy::relation::owner))
    return done(*no);
  if (limit < 1 || limit > 100)
    return done(api_error{400, error_code::bad_request, "limit must be from 1 to 100", {{"limit", "from 1 to 100"}}});
  persistence::list_invitations(
    *svc_.db, who.user, std::move(before), limit,
    [done = std::move(done)](persistence::result<std::pair<std::vector<persistence::invitation_row>, std::string>> r) {
      if (!r)
        return done(storage_error(r.error()));
      json list = json::array();
      for (auto& i : r->first) {
        json j{{"campaign", i.campaign.str()},
               {"campaign_title", i.campaign_title},
               {"id", i.invitation},
               {"brand", i.brand.str()},
               {"brief", i.brief},
               {"outcome", i.outcome},
               {"created_at", i.created_at},
               {"updated_at", i.updated_at}};
        j["conversation"] = i.conversation ? json(i.conversation->str()) : json(nullptr);
        list.push_back(std::move(j));
      }
      json body{{"invitations", std::move(list)}};
      body["next_before"] = r->second.empty() ? json(nullptr) : json(r->second);
      done(body.dump());
    });
}

void campaign_service::eligible(principal who, std::string before, size_t limit, json_answer done) {
  if (auto no = refused(policy::action::campaign_matches, who, policy::relation::owner))
    return done(*no);
  if (limit < 1 || limit > 100)
    return done(api_error{400, error_code::bad_request, "limit must be from 1 to 100", {{"limit", "from 1 to 100"}}});
  persistence::eligible_campaigns(
    *svc_.db, who.user, std::move(before), limit,
    [done = std::move(done)](persistence::result<persistence::campaign_page> r) {
      if (!r && r.error().code == persistence::errc::not_found)
        return done(make_error(409, error_code::conflict,
                               "create your creator profile first: eligibility follows from it"));
      page_answer(done)(std::move(r));
    });
}

namespace {

/// The content a submission's body describes, or a 400 naming each bad field.
expected<campaign::submit_content, api_error> parse_submission(const principal& who, std::string key,
                                                               const std::string& text) {
  auto body = json::parse(text, nullptr, false);
  api_error bad = make_error(400, error_code::bad_request, "some fields are invalid");
  if (!body.is_object())
    return make_error(400, error_code::bad_request, "the body must be a JSON object");
  campaign::submit_content cmd{who.user, std::move(key), {}, 0, {}};
  auto contract = body.contains("contract") && body["contract"].is_string()
                    ? uuid::parse(body["contract"].get<std::string>())
                    : std::nullopt;
  if (!contract)
    bad.fields.emplace_back("contract", "the contract's id");
  else
    cmd.contract = *contract;
  if (!body.contains("deliverable") || !body["deliverable"].is_number_integer()
      || body["deliverable"].get<int64_t>() < 0)
    bad.fields.emplace_back("deliverable", "the deliverable's index, from 0");
  else
    cmd.deliverable = body["deliverable"].get<int64_t>();
  auto& c = cmd.content;
  if (!body.contains("media") || !body["media"].is_array() || body["media"].empty()) {
    bad.fields.emplace_back("media", "at least one media reference");
  } else {
    for (size_t i = 0; i < body["media"].size(); ++i) {
      auto& m = body["media"][i];
      auto name = "media[" + std::to_string(i) + "]";
      if (!m.is_object() || !m.contains("url") || !m["url"].is_string()) {
        bad.fields.emplace_back(name + ".url", "an http(s) URL");
        continue;
      }
      protocol::attachment a;
      a.url = m["url"].get<std::string>();
      if ((!a.url.starts_with("https://") && !a.url.starts_with("http://")) || a.url.size() > 2048)
        bad.fields.emplace_back(name + ".url", "an http(s) URL of at most 2048 characters");
      auto num = [&](const char* f) -> int64_t {
        return m.contains(f) && m[f].is_number_integer() ? m[f].get<int64_t>() : 0;
      };
      a.type = m.contains("type") && m["type"].is_string() ? m["type"].get<std::string>() : std::string{};
      a.size = num("size");
      a.width = num("width");
      a.height = num("height");
      c.media.push_back(std::move(a));
    }
  }
  if (body.contains("caption") && !body["caption"].is_string())
    bad.fields.emplace_back("caption", "a string");
  else if (body.contains("caption"))
    c.caption = body["caption"].get<std::string>();
  if (c.caption.size() > 20'000)
    bad.fields.emplace_back("caption", "at most 20000 bytes");
  if (!body.contains("platform") || !body["platform"].is_string()) {
    bad.fields.emplace_back("platform", "tiktok, instagram, youtube or other");
  } else {
    c.platform = body["platform"].get<std::string>();
    if (c.platform != "tiktok" && c.platform != "instagram" && c.platform != "youtube" && c.platform != "other")
      bad.fields.emplace_back("platform", "tiktok, instagram, youtube or other");
  }
  if (body.contains("categories")) {
    if (!body["categories"].is_array() || body["categories"].size() > 20)
      bad.fields.emplace_back("categories", "at most 20 strings");
    else
      for (auto& x : body["categories"])
        if (x.is_string() && x.get<std::string>().size() <= 60)
          c.categories.push_back(x.get<std::string>());
        else
          bad.fields.emplace_back("categories", "strings of at most 60 characters");
  }
  if (body.contains("paid_partnership")) {
    if (!body["paid_partnership"].is_boolean())
      bad.fields.emplace_back("paid_partnership", "true or false");
    else
      c.paid_partnership = body["paid_partnership"].get<bool>();
  }
  if (!bad.fields.empty())
    return bad;
  return cmd;
}

} // namespace

void campaign_service::submit_content(principal who, uuid id, std::string key, std::string body_json,
                                      json_answer done) {
  if (key.empty() || key.size() > 200)
    return done(make_error(400, error_code::bad_request,
                           "an idempotency key (Idempotency-Key header or `key`, 1-200 characters) is required"));
  auto cmd = parse_submission(who, std::move(key), body_json);
  if (!cmd)
    return done(cmd.error());
  command(sys_, svc_, who, id, campaign_command{std::move(cmd.value())}, std::move(done));
}

void campaign_service::review_content(principal who, uuid id, int64_t submission, std::string key,
                                      std::string verdict, std::string reason, json_answer done) {
  if (verdict != "approved" && verdict != "rejected" && verdict != "revision_requested")
    return done(api_error{400, error_code::bad_request,
                          "verdict must be approved, rejected or revision_requested",
                          {{"verdict", "approved, rejected or revision_requested"}}});
  if (key.empty() || key.size() > 200)
    return done(make_error(400, error_code::bad_request,
                           "an idempotency key (Idempotency-Key header or `key`, 1-200 characters) is required"));
  // A review can release the contract's money: audited.
  done = [svc = &svc_, by = audit_actor::of(who), id, submission, verdict, done = std::move(done)](
           expected<std::string, api_error> r) {
    audit(*svc, by, "content.review", id.str(), audit_outcome(r ? nullptr : &r.error()),
          {{"submission", submission}, {"verdict", verdict}});
    done(std::move(r));
  };
  bool moderator = policy::parse_role(who.role) == policy::role::moderator
                   || policy::parse_role(who.role) == policy::role::admin;
  command(sys_, svc_, who, id,
          campaign_command{campaign::review_content{campaign::actor_ref{who.user, moderator}, std::move(key),
                                                    submission, std::move(verdict), std::move(reason)}},
          std::move(done));
}

void campaign_service::content(principal who, uuid id, int64_t after, size_t limit, json_answer done) {
  if (limit < 1 || limit > 100)
    return done(api_error{400, error_code::bad_request, "limit must be from 1 to 100", {{"limit", "from 1 to 100"}}});
  ask_campaign(sys_, svc_, id,
               caf::make_message(campaign_atom_v, campaign_query{who.user, who.role, "content", after, limit}),
               std::move(done));
}

void report_campaign_budget(caf::actor_system& sys, services* svc, uuid conversation,
                            campaign_command cmd) {
  if (!svc->db)
    return;
  auto* sysp = &sys;
  persistence::conversation_campaigns(
    *svc->db, conversation,
    [sysp, svc, conversation, cmd = std::move(cmd)](persistence::result<std::vector<uuid>> r) {
      if (!r) {
        spdlog::warn("conversation {}: its campaign not found for a budget report: {}",
                     conversation.str(), r.error().message);
        return;
      }
      if (r->empty())
        return; // a deal outside any campaign
      auto campaign = r->back();
      ask_campaign(*sysp, *svc, campaign, caf::make_message(campaign_atom_v, cmd),
                   [campaign](expected<std::string, api_error> a) {
                     if (!a)
                       spdlog::warn("campaign {}: budget report refused: {}", campaign.str(), a.error().message);
                   });
    });
}

void campaign_service::heal_read_model() {
  if (!svc_.db)
    return;
  auto* sys = &sys_;
  auto* svc = &svc_;
  persistence::stale_campaigns(*svc_.db, 10'000, [sys, svc](persistence::result<std::vector<uuid>> r) {
    if (!r) {
      spdlog::warn("campaigns: stale read-model rows not found: {}", r.error().message);
      return;
    }
    for (auto& id : r.value()) {
      spdlog::info("campaign {}: re-projecting its read-model row", id.str());
      // Activation re-projects; the view read is just a way to activate it.
      ask_campaign(*sys, *svc, id, caf::make_message(campaign_atom_v, campaign_query{uuid{}, "admin", "view"}),
                   [](expected<std::string, api_error>) {});
    }
  });
}

} // namespace pactum::actors

// -- campaign escrow: fund the campaign's accepted contracts --------------------------------------

namespace pactum::actors {

namespace {

/// The most contracts one escrow request walks (documented).
constexpr size_t max_escrow_contracts = 1'000;

/// One `fund_escrow` request: walks the campaign's contracts one after the other (so the budget
/// check sees every earlier funding), then answers. Callbacks run on actor or persistence threads,
/// one at a time.
struct escrow_job : std::enable_shared_from_this<escrow_job> {
  caf::actor_system& sys;
  services& svc;
  principal who;
  uuid campaign;
  std::string key;
  std::string payment_method;
  json_answer done;
  std::string currency;
  int64_t remaining = 0;
  std::vector<uuid> contracts;
  size_t next = 0;
  int64_t requested_amount = 0;
  size_t requested = 0;
  json results = json::array();

  escrow_job(caf::actor_system& s, services& v, principal w, uuid c, std::string k, std::string pm, json_answer d)
    : sys(s), svc(v), who(std::move(w)), campaign(c), key(std::move(k)), payment_method(std::move(pm)),
      done(std::move(d)) {}

  void start() {
    auto self = shared_from_this();
    ask_campaign(sys, svc, campaign, caf::make_message(campaign_atom_v, campaign_query{who.user, who.role, "view"}),
                 [self](expected<std::string, api_error> r) {
                   if (!r)
                     return self->finish_error(std::move(r.error()));
                   self->on_campaign(r.value());
                 });
  }

  void on_campaign(const std::string& text) {
    auto v = json::parse(text, nullptr, false);
    if (!v.is_object())
      return finish_error(make_error(500, error_code::internal, "internal error"));
    auto brand = uuid::parse(v.value("brand", std::string{}));
    auto rel = brand && *brand == who.user ? policy::relation::owner : policy::relation::stranger;
    if (auto no = refused(policy::action::campaign_fund_escrow, who, rel))
      return finish_error(std::move(*no));
    auto status = v.value("status", std::string{});
    if (status != "published" && status != "paused")
      return finish_error(make_error(409, error_code::conflict,
                                     "the campaign is " + status + "; only a published or paused campaign's contracts are funded"));
    currency = v.value("currency", std::string{});
    remaining = v.value("remaining", int64_t{0});
    auto self = shared_from_this();
    persistence::campaign_accepted_offers(
      *svc.db, campaign, max_escrow_contracts, [self](persistence::result<std::vector<std::string>> r) {
        if (!r)
          return self->finish_error(storage_error(r.error()));
        for (auto& p : r.value()) {
          auto ev = protocol::decode_event("offer.accepted", 1, p);
          if (!ev)
            continue;
          auto id = std::get<protocol::offer_accepted>(ev.value()).contract;
          if (std::find(self->contracts.begin(), self->contracts.end(), id) == self->contracts.end())
            self->contracts.push_back(id);
        }
        self->step();
      });
  }

  void step() {
    if (next >= contracts.size())
      return finish();
    auto id = contracts[next++];
    auto self = shared_from_this();
    ask_entity<protocol::contract_reply>(
      sys, svc, id, entity_kind::contract, caf::make_message(contract_atom_v, contract_query{who.user, who.role, std::numeric_limits<int64_t>::max()}),
      [self, id](expected<protocol::contract_reply, api_error> r) {
        if (!r)
          return self->record(id, json{{"outcome", "failed"}, {"error", to_json(r.error())}});
        self->on_contract(id, json::parse(protocol::contract_reply_json(r.value()), nullptr, false));
      });
  }

  static json to_json(const api_error& e) {
    return json{{"code", std::string{protocol::to_string(e.code)}}, {"message", e.message}};
  }

  void on_contract(uuid id, const json& c) {
    if (!c.is_object())
      return record(id, json{{"outcome", "failed"}, {"error", {{"code", "internal"}, {"message", "unreadable contract"}}}});
    auto status = c.value("status", std::string{});
    auto amount = c.value("amount", int64_t{0});
    auto cur = c.value("currency", std::string{});
    json row{{"amount", amount}, {"currency", cur}, {"status", status}};
    if (status != "awaiting_funding") {
      row["outcome"] = "skipped";
      return record(id, std::move(row));
    }
    if (cur != currency) {
      row["outcome"] = "currency_mismatch";
      return record(id, std::move(row));
    }
    if (amount > remaining) {
      row["outcome"] = "budget_exceeded";
      return record(id, std::move(row));
    }
    protocol::contract_command_req req;
    req.contract = id;
    req.action = protocol::contract_action::fund;
    req.key = key + ":" + id.str();
    req.payment_method = payment_method;
    auto self = shared_from_this();
    ask_entity<protocol::contract_ack_reply>(
      sys, svc, id, entity_kind::contract, caf::make_message(contract_atom_v, make_contract_command(who, std::move(req))),
      [self, id, amount, row = std::move(row)](expected<protocol::contract_ack_reply, api_error> r) mutable {
        audit(self->svc, audit_actor::of(self->who), "contract.fund", id.str(),
              r ? (r.value().duplicate ? "duplicate" : "ok") : audit_outcome(&r.error()),
              {{"campaign", self->campaign.str()}});
        if (!r) {
          row["outcome"] = "failed";
          row["error"] = to_json(r.error());
          return self->record(id, std::move(row));
        }
        self->remaining -= amount;
        self->requested_amount += amount;
        ++self->requested;
        row["outcome"] = "funding_requested";
        row["status"] = r.value().status;
        row["seq"] = r.value().seq;
        row["duplicate"] = r.value().duplicate;
        self->record(id, std::move(row));
      });
  }

  void record(uuid id, json row) {
    row["contract"] = id.str();
    results.push_back(std::move(row));
    step();
  }

  void finish() {
    audit(svc, audit_actor::of(who), "campaign.fund_escrow", campaign.str(), "ok",
          {{"contracts", results.size()}, {"requested", requested}});
    done(json{{"campaign", campaign.str()},
              {"currency", currency},
              {"requested", requested},
              {"requested_amount", requested_amount},
              {"remaining_after", remaining},
              {"contracts", std::move(results)}}
           .dump());
  }

  void finish_error(api_error e) {
    audit(svc, audit_actor::of(who), "campaign.fund_escrow", campaign.str(), audit_outcome(&e));
    done(std::move(e));
  }
};

} // namespace

void campaign_service::fund_escrow(principal who, uuid id, std::string key, std::string payment_method,
                                   json_answer done) {
  std::vector<std::pair<std::string, std::string>> bad;
  if (key.empty() || key.size() > 100)
    bad.emplace_back("key", "1 to 100 bytes");
  if (payment_method.empty() || payment_method.size() > 256)
    bad.emplace_back("payment_method", "1 to 256 bytes");
  if (!bad.empty())
    return done(api_error{400, error_code::bad_request, "some fields are invalid", std::move(bad)});
  if (!svc_.db)
    return done(make_error(503, error_code::unavailable, "storage is unavailable; retry shortly"));
  std::make_shared<escrow_job>(sys_, svc_, std::move(who), id, std::move(key), std::move(payment_method),
                               std::move(done))
    ->start();
}

} // namespace pactum::actors
