// End to end: the authorization matrix. A real pactumd with accounts of every role and entities
// in every relation (a conversation between brand B and creator C with a funded, disputed
// contract that a moderator and an admin joined; a second conversation between a stranger brand
// S and a stranger creator T), then EVERY (action, role, relation) cell of the policy table
// (actors/src/policy.cpp) is performed over REST or WebSocket:
//  - an allowed cell must not get the policy's refusal (it may get a business-rule error, such as
//    a conflict with the contract's state or an unverified identity),
//  - a refused cell must get exactly the documented refusal (status, code and message),
//  - a cell that cannot occur ('.') is skipped.
// Driven by the table itself: a row the test cannot perform fails it.

#include <cctype>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pactum/actors/policy.hpp"
#include "pactum/common/time.hpp"
#include "pactum/payments/webhook.hpp"
#include "pactum/protocol/errors.hpp"
#include "pactum/sim/client.hpp"
#include "e2e_fixture.hpp"
#include "mail_outbox.hpp"

using namespace pactum::sim;
namespace policy = pactum::actors::policy;
using policy::action;
using policy::relation;
using policy::role;

namespace {

constexpr const char* good_card = "4242424242424242";
constexpr const char* secret = "matrix-webhook-secret";

/// What one performed cell answered.
struct answer {
  bool ok = false;     ///< a 2xx, or a WebSocket "ok"
  int status = 0;      ///< HTTP status (0 over WebSocket)
  std::string code;    ///< error code when refused
  std::string message; ///< error message when refused
  std::string raw;     ///< for failure messages
};

answer from_http(const http_reply& r) {
  answer a;
  a.status = r.status;
  a.ok = r.status >= 200 && r.status < 300;
  a.raw = r.body;
  auto body = r.json_body();
  if (!a.ok && body.is_object() && body.contains("error")) {
    a.code = body["error"].value("code", "");
    a.message = body["error"].value("message", "");
  }
  return a;
}

answer from_ws(const json& r) {
  answer a;
  a.ok = r.value("type", "") == "ok";
  a.raw = r.dump();
  if (!a.ok) {
    a.code = r.value("code", "");
    a.message = r.value("message", "");
  }
  return a;
}

json terms(int64_t amount) {
  return json{{"amount", amount},
              {"currency", "USD"},
              {"deliverables", json::array({json{{"type", "tiktok_duet"}, {"count", 1}}})},
              {"delivery_days", 7},
              {"revision_rounds", 1}};
}

json creator_profile() {
  return json{{"bio", "Matrix rides."},
              {"niches", {"travel"}},
              {"location", {{"country", "DE"}, {"city", "Berlin"}, {"lat", 52.52}, {"lon", 13.405}}},
              {"languages", {"de"}}};
}

json brand_profile() {
  return json{{"company_name", "Matrix Bikes"},
              {"industry", "Sporting goods"},
              {"contact", {{"name", "Ana Berg"}, {"email", "deals@matrix.example"}}},
              {"country", "DE"}};
}

json campaign_details() {
  return json{{"title", "Matrix rides"},
              {"budget", 100'000},
              {"currency", "USD"},
              {"deliverables", {json{{"type", "tiktok_duet"}, {"count", 1}}}},
              {"pricing", {{"model", "flat"}, {"rate", 0}}}};
}

class AuthzMatrix : public pactum::test_support::server_test {
protected:
  std::vector<std::string> server_args() const override {
    return {"--webhook-secret", secret, "--message-rate-per-s", "0", "--max-pending-offers", "1000",
            "--timer-sweep-ms", "200"};
  }

  void set_role(const std::string& email, const std::string& r) {
    std::string cmd = std::string{std::getenv("PACTUMD_BIN")} + " --database-url '" + url()
                      + "' --log-level warn --set-role " + email + "=" + r;
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }

  ws_client& ws(const account& who) {
    auto& c = sockets_[who.id];
    if (!c)
      c = std::make_unique<ws_client>(ep(), who.token);
    return *c;
  }

  json ask(const account& who, json msg) { return ws(who).request(std::move(msg)); }

  http_reply rest(const account* who, const std::string& method, const std::string& target,
                  const json& body = json()) {
    return http_call(ep(), method, target, body.is_null() ? std::string{} : body.dump(),
                     who ? who->token : std::string{});
  }

  /// A fresh login of `who`: its tokens and login id.
  json login(const account& who) {
    auto r = http_call(ep(), "POST", "/api/v1/users/login",
                       json{{"email", who.email}, {"password", who.password}}.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json_body();
  }

  /// The account acting for `r` when it is a member / owner of B and C's world.
  const account& insider(role r) const {
    switch (r) {
      case role::brand:
        return b_;
      case role::creator:
        return c_;
      case role::moderator:
        return m_;
      default:
        return a_;
    }
  }

  /// The account acting for `r` as a stranger, and the conversation it is a stranger to.
  std::pair<const account*, std::string> stranger(role r) const {
    switch (r) {
      case role::brand:
        return {&s_, conv_};
      case role::creator:
        return {&t_, conv_};
      case role::moderator:
        return {&m_, conv2_};
      default:
        return {&a_, conv2_};
    }
  }

  /// Who acts, and in which conversation, for a conversation-wide cell.
  std::pair<const account*, std::string> in_conversation(role r, relation rel) const {
    if (rel == relation::stranger)
      return stranger(r);
    return {&insider(r), conv_};
  }

  /// A fresh message in `conv` by `author`: its seq.
  int64_t post(const account& author, const std::string& conv) {
    auto r = ask(author, json{{"type", "message.send"}, {"conversation", conv},
                              {"client_id", "m-" + std::to_string(++counter_)}, {"text", "hello there"}});
    EXPECT_EQ(r["type"], "ok") << r.dump();
    return r.value("seq", int64_t{0});
  }

  /// A fresh pending offer in `conv` by `author`: its seq.
  int64_t offer(const account& author, const std::string& conv) {
    auto r = ask(author, json{{"type", "offer.make"}, {"conversation", conv},
                              {"client_id", "o-" + std::to_string(++counter_)}, {"terms", terms(1'000)}});
    EXPECT_EQ(r["type"], "ok") << r.dump();
    return r.value("seq", int64_t{0});
  }

  /// Someone other than `who` who may write in `conv` (a member).
  const account& other_member(const account& who, const std::string& conv) const {
    if (conv == conv2_)
      return who.id == s_.id ? t_ : s_;
    return who.id == b_.id ? c_ : b_;
  }

  /// Performs a message.edit/delete cell: on the caller's own message (owner), another's
  /// (counterparty), or a member's message of a conversation the caller is a stranger to.
  answer message_change(const char* type, role r, relation rel) {
    auto [who, conv] = in_conversation(r, rel);
    const account& author = rel == relation::owner ? *who : other_member(*who, conv);
    auto seq = post(author, conv);
    json msg{{"type", type}, {"conversation", conv}, {"seq", seq}};
    if (std::string{type} == "message.edit")
      msg["text"] = "changed";
    return from_ws(ask(*who, msg));
  }

  /// Performs an offer answer cell: on the caller's own offer (owner), the other member's
  /// (counterparty), a member's offer (moderator), or in a conversation the caller is a stranger to.
  answer offer_answer(const char* type, role r, relation rel) {
    auto [who, conv] = in_conversation(r, rel);
    const account& author = rel == relation::owner ? *who : other_member(*who, conv);
    auto seq = offer(author, conv);
    return from_ws(ask(*who, json{{"type", type}, {"conversation", conv}, {"offer", seq}}));
  }

  /// A contract command over REST: by a party (member) or by a stranger to the contract.
  answer contract_cmd(const std::string& name, role r, relation rel, json body) {
    body["key"] = "k-" + std::to_string(++counter_); // a well-formed command: only who may differ
    if (r == role::anonymous)
      return from_http(rest(nullptr, "POST", "/api/v1/contracts/" + contract_ + "/" + name, body));
    const account& who = rel == relation::member ? insider(r) : *stranger(r).first;
    return from_http(rest(&who, "POST", "/api/v1/contracts/" + contract_ + "/" + name, body));
  }

  /// A campaign cell over REST: the caller's own (brand of camp_, applicant of app_, invitee of
  /// inv_ in camp2_) for `owner`, someone else's for `stranger`, role-only actions otherwise.
  answer campaign_cell(action what, role r, relation rel) {
    const account* who = r == role::anonymous ? nullptr
                         : rel == relation::stranger ? stranger(r).first
                                                     : &insider(r);
    auto key = "ck-" + std::to_string(++counter_);
    auto base = "/api/v1/brands/campaigns/" + camp_;
    switch (what) {
      case action::campaign_create: {
        auto d = campaign_details();
        d["key"] = key;
        return from_http(rest(who, "POST", "/api/v1/brands/campaigns", d));
      }
      case action::campaign_update: {
        auto d = campaign_details();
        d["key"] = key;
        return from_http(rest(who, "PUT", base, d));
      }
      case action::campaign_status:
        return from_http(rest(who, "POST", base + "/status", json{{"key", key}, {"to", "publish"}}));
      case action::campaign_list:
        return from_http(rest(who, "GET", "/api/v1/campaigns"));
      case action::campaign_get:
        return from_http(rest(who, "GET", "/api/v1/campaigns/" + camp_));
      case action::campaign_updates:
        return from_http(rest(who, "GET", "/api/v1/campaigns/" + camp_ + "/updates"));
      case action::campaign_mine:
        return from_http(rest(who, "GET", "/api/v1/brands/campaigns"));
      case action::campaign_fund_escrow:
        return from_http(rest(who, "POST", "/api/v1/payments/campaigns/" + camp_ + "/escrow",
                              json{{"key", key}, {"payment_method", "4242424242424242"}}));
      case action::application_list:
        return from_http(rest(who, "GET", base + "/applications"));
      case action::application_create:
        return from_http(rest(who, "POST", "/api/v1/influencers/campaigns/" + camp_ + "/apply",
                              json{{"key", key}, {"proposal", "matrix"}}));
      case action::application_decide:
        return from_http(rest(who, "PUT", base + "/applications/" + std::to_string(app_),
                              json{{"key", key}, {"outcome", "rejected"}}));
      case action::application_withdraw:
        return from_http(rest(who, "POST", "/api/v1/influencers/campaigns/" + camp_ + "/applications/"
                                             + std::to_string(app_) + "/withdraw",
                              json{{"key", key}}));
      case action::invitation_create:
        return from_http(rest(who, "POST", base + "/invitations",
                              json{{"key", key}, {"creator", t_.id}, {"brief", "matrix"}}));
      case action::invitation_list:
        return from_http(rest(who, "GET", "/api/v1/influencers/invitations"));
      case action::invitation_answer:
        return from_http(rest(who, "PUT", "/api/v1/influencers/campaigns/" + camp2_ + "/invitations/"
                                            + std::to_string(inv_),
                              json{{"key", key}, {"outcome", "denied"}}));
      case action::campaign_matches:
        return from_http(rest(who, "GET", "/api/v1/influencers/campaigns"));
      case action::campaign_match_creators:
        return from_http(rest(who, "GET", base + "/matches"));
      case action::analytics_performance:
        return from_http(rest(who, "GET", "/api/v1/analytics/campaigns/" + camp_ + "/performance"));
      case action::analytics_invalid_traffic:
        return from_http(rest(who, "GET", "/api/v1/analytics/campaigns/" + camp_ + "/invalid-traffic"));
      default:
        break;
    }
    return answer{};
  }

  /// A campaign content cell: B owns camp_, K holds a funded contract in it (member), anyone
  /// else is a stranger to it.
  answer content_cell(action what, role r, relation rel) {
    const account* who = r == role::anonymous ? nullptr
                         : rel == relation::owner ? &b_
                         : rel == relation::member ? &k_
                                                   : stranger(r).first;
    auto key = "ct-" + std::to_string(++counter_);
    auto base = "/api/v1/campaigns/" + camp_ + "/content";
    switch (what) {
      case action::content_submit:
        return from_http(rest(who, "POST", base,
                              json{{"key", key}, {"contract", kcontract_}, {"deliverable", 0},
                                   {"media", json::array({json{{"url", "https://yt.example/c/1"}}})},
                                   {"caption", "#ad matrix"}, {"platform", "youtube"}}));
      case action::content_review:
        return from_http(rest(who, "PUT", base + "/" + std::to_string(sub_) + "/status",
                              json{{"key", key}, {"verdict", "rejected"}, {"reason", "matrix"}}));
      case action::content_list:
        return from_http(rest(who, "GET", base));
      case action::campaign_subscribe:
        return from_ws(ask(*who, json{{"type", "campaign.subscribe"}, {"campaign", camp_}}));
      case action::campaign_room: // K accepted B's invitation: a member of the campaign's room
        return from_ws(ask(*who, json{{"type", "campaign.room"}, {"campaign", camp_}}));
      default:
        break;
    }
    return answer{};
  }

  /// K's funded contract in camp_ (K accepted B's invitation, then B's offer) and a submission.
  void make_campaign_contract() {
    k_ = make_account(ep(), "creator", "CampaignK");
    auto i = rest(&b_, "POST", "/api/v1/brands/campaigns/" + camp_ + "/invitations",
                  json{{"key", "ik"}, {"creator", k_.id}, {"brief", "join"}});
    ASSERT_EQ(i.status, 201) << i.body;
    auto inv = i.json_body().value("invitation", int64_t{0});
    auto acc = rest(&k_, "PUT", "/api/v1/influencers/campaigns/" + camp_ + "/invitations/" + std::to_string(inv),
                    json{{"key", "ak"}, {"outcome", "accepted"}});
    ASSERT_EQ(acc.status, 200) << acc.body;
    auto conv = acc.json_body()["conversation"].get<std::string>();
    auto accepted = ask(k_, json{{"type", "offer.accept"}, {"conversation", conv}, {"offer", offer(b_, conv)}});
    ASSERT_EQ(accepted["type"], "ok") << accepted.dump();
    kcontract_ = accepted["contract"].get<std::string>();
    ASSERT_EQ(rest(&b_, "POST", "/api/v1/contracts/" + kcontract_ + "/fund",
                   json{{"key", "fund"}, {"payment_method", good_card}}).status, 200);
    // The contract reports its funding to the campaign; then K may submit.
    http_reply sub;
    for (int n = 0; n < 100; ++n) {
      sub = rest(&k_, "POST", "/api/v1/campaigns/" + camp_ + "/content",
                 json{{"key", "setup"}, {"contract", kcontract_}, {"deliverable", 0},
                      {"media", json::array({json{{"url", "https://yt.example/c/0"}}})},
                      {"caption", "#ad setup"}, {"platform", "youtube"}});
      if (sub.status == 201)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_EQ(sub.status, 201) << sub.body;
    sub_ = sub.json_body().value("submission", int64_t{0});
  }

  /// A published campaign of B: camp_ (C applied: app_) and camp2_ (C is invited: inv_).
  void make_campaigns() {
    auto publish = [&](const std::string& key) {
      auto d = campaign_details();
      d["key"] = key;
      auto c = rest(&b_, "POST", "/api/v1/brands/campaigns", d);
      EXPECT_EQ(c.status, 201) << c.body;
      auto id = c.json_body()["campaign"]["id"].get<std::string>();
      auto p = rest(&b_, "POST", "/api/v1/brands/campaigns/" + id + "/status", json{{"key", "p"}, {"to", "publish"}});
      EXPECT_EQ(p.status, 200) << p.body;
      return id;
    };
    camp_ = publish("matrix-1");
    camp2_ = publish("matrix-2");
    auto a = rest(&c_, "POST", "/api/v1/influencers/campaigns/" + camp_ + "/apply", json{{"key", "a"}, {"proposal", "me"}});
    EXPECT_EQ(a.status, 201) << a.body;
    app_ = a.json_body().value("application", int64_t{0});
    auto i = rest(&b_, "POST", "/api/v1/brands/campaigns/" + camp2_ + "/invitations",
                  json{{"key", "i"}, {"creator", c_.id}, {"brief", "join"}});
    EXPECT_EQ(i.status, 201) << i.body;
    inv_ = i.json_body().value("invitation", int64_t{0});
  }

  /// The same contract cell over the WebSocket (contract commands exist on both transports);
  /// nullopt for other actions and for anonymous callers (no socket without credentials).
  std::optional<answer> perform_ws_contract(action what, role r, relation rel) {
    static const std::map<action, std::pair<const char*, json>> requests{
      {action::contract_get, {"contract.get", json::object()}},
      {action::contract_fund, {"contract.fund", json{{"payment_method", good_card}}}},
      {action::contract_deliver,
       {"contract.deliver", json{{"items", json::array({json{{"url", "https://yt.example/w/2"}}})}}}},
      {action::contract_approve, {"contract.approve", json::object()}},
      {action::contract_request_revision, {"contract.request_revision", json{{"reason", "redo it"}}}},
      {action::contract_dispute, {"contract.dispute", json{{"reason", "not as agreed"}}}},
      {action::contract_resolve, {"contract.resolve", json{{"to_creator", 10'000}}}},
      {action::contract_cancel, {"contract.cancel", json::object()}},
    };
    auto i = requests.find(what);
    if (i == requests.end() || r == role::anonymous)
      return std::nullopt;
    const account& who = rel == relation::member ? insider(r) : *stranger(r).first;
    auto msg = i->second.second;
    msg["type"] = i->second.first;
    msg["contract"] = contract_;
    if (what != action::contract_get)
      msg["key"] = "ws-" + std::to_string(++counter_);
    return from_ws(ask(who, msg));
  }

  std::string mailed_code(const std::string& email, int64_t after_id) {
    return pactum::test_support::mailed_login_code(url(), email, after_id);
  }

  /// A fresh account with role `r` (moderators and admins are promoted by the admin over REST):
  /// for cells that end the account (erasure).
  account fresh(role r) {
    auto acc = make_account(ep(), r == role::brand ? "brand" : "creator", "Fresh");
    if (r == role::moderator || r == role::admin) {
      auto changed = rest(&a_, "PUT", "/api/v1/admin/users/" + acc.id + "/role",
                          json{{"role", std::string{policy::to_string(r)}}});
      EXPECT_EQ(changed.status, 200) << changed.body;
    }
    return acc;
  }

  /// Performs a profile cell: `own` (PUT/GET .../profile) or a view of `kind`'s profile of the
  /// account in relation `rel` to the caller.
  answer profile_view(const std::string& kind, role r, relation rel) {
    if (r == role::anonymous)
      return from_http(rest(nullptr, "GET", "/api/v1/" + kind + "/" + (kind == "brands" ? b_.id : c_.id)));
    const account& owner = kind == "brands" ? b_ : c_;
    switch (rel) {
      case relation::owner:
        return from_http(rest(&insider(r), "GET", "/api/v1/" + kind + "/" + insider(r).id));
      case relation::member: // a creator who shares a contract with the brand
        return from_http(rest(&c_, "GET", "/api/v1/" + kind + "/" + b_.id));
      default: {
        const account& viewer = r == role::brand ? s_ : r == role::creator ? t_ : insider(r);
        return from_http(rest(&viewer, "GET", "/api/v1/" + kind + "/" + owner.id));
      }
    }
  }

  /// Performs one cell; nullopt when the test does not know the action (a failure).
  std::optional<answer> perform(action what, role r, relation rel) {
    const account* me = r == role::anonymous ? nullptr : &insider(r);
    auto conv_wide = [&](const char* type, json extra = json::object()) {
      auto [who, conv] = in_conversation(r, rel);
      extra["type"] = type;
      extra["conversation"] = conv;
      return from_ws(ask(*who, extra));
    };
    switch (what) {
      case action::health:
        return from_http(rest(nullptr, "GET", "/healthz"));
      case action::user_register:
        return from_http(rest(nullptr, "POST", "/api/v1/users/register",
                              json{{"email", "new" + std::to_string(++counter_) + "@matrix.example"},
                                   {"password", "a long passphrase"},
                                   {"display_name", "New"},
                                   {"role", "brand"}}));
      case action::user_login:
        return from_http(rest(nullptr, "POST", "/api/v1/users/login",
                              json{{"email", b_.email}, {"password", b_.password}}));
      case action::user_refresh:
        return from_http(rest(nullptr, "POST", "/api/v1/users/refresh",
                              json{{"refresh_token", login(b_)["refresh_token"].get<std::string>()}}));
      case action::payment_webhook: {
        auto body = json{{"id", "evt_matrix_" + std::to_string(++counter_)},
                         {"type", "payout.paid"},
                         {"created", 1},
                         {"data", json{{"key", "none"}}}}
                      .dump();
        auto sig = pactum::payments::sign_webhook(secret, pactum::now_millis() / 1000, body);
        return from_http(http_call(ep(), "POST", "/api/v1/webhooks/payments", body, "",
                                   "application/json", {{"Pactum-Signature", sig}}));
      }
      case action::user_logout: {
        if (!me)
          return from_http(rest(nullptr, "POST", "/api/v1/users/logout"));
        auto fresh = login(*me); // logging out the fixture's own token would end the test
        return from_http(http_call(ep(), "POST", "/api/v1/users/logout", "", fresh["token"].get<std::string>()));
      }
      case action::session_list:
        return from_http(rest(me, "GET", "/api/v1/users/me/sessions"));
      case action::session_revoke: {
        if (!me)
          return from_http(rest(nullptr, "DELETE", "/api/v1/users/me/sessions/" + login(b_)["session_id"].get<std::string>()));
        auto target = rel == relation::owner ? login(*me) : login(s_);
        return from_http(rest(me, "DELETE", "/api/v1/users/me/sessions/" + target["session_id"].get<std::string>()));
      }
      case action::session_revoke_all: {
        if (!me)
          return from_http(rest(nullptr, "DELETE", "/api/v1/users/me/sessions"));
        auto leaving = fresh(r); // logging a fixture account out everywhere would end the test
        return from_http(rest(&leaving, "DELETE", "/api/v1/users/me/sessions"));
      }
      case action::password_change: {
        json body{{"current_password", "whatever it is"}, {"new_password", "a brand new passphrase"}};
        if (!me)
          return from_http(rest(nullptr, "PUT", "/api/v1/users/me/password", body));
        auto changing = fresh(r); // its other logins end
        body["current_password"] = changing.password;
        return from_http(rest(&changing, "PUT", "/api/v1/users/me/password", body));
      }
      case action::ws_ticket:
        return from_http(rest(me, "POST", "/api/v1/ws-ticket"));
      case action::balance_get:
        return from_http(rest(me, "GET", "/api/v1/users/me/balance"));
      case action::withdrawal_list:
        return from_http(rest(me, "GET", "/api/v1/users/me/withdrawals"));
      case action::withdrawal_create:
        return from_http(rest(me, "POST", "/api/v1/users/me/withdrawals",
                              json{{"key", "w-" + std::to_string(++counter_)}, {"amount", 100},
                                   {"currency", "USD"}, {"destination", "acct_1"}}));
      case action::guard_queue:
        return from_http(rest(me, "GET", "/api/v1/moderation/guard-hits"));
      case action::guard_review:
        return from_http(rest(me, "POST", "/api/v1/moderation/guard-hits/1/review",
                              json{{"verdict", "dismissed"}}));
      case action::dispute_list:
        return from_http(rest(me, "GET", "/api/v1/moderation/disputes"));
      case action::ledger_check:
        return from_http(rest(me, "GET", "/api/v1/admin/ledger-check"));
      case action::audit_query:
        return from_http(rest(me, "GET", "/api/v1/admin/audit?limit=5"));
      case action::contract_get: {
        if (!me)
          return from_http(rest(nullptr, "GET", "/api/v1/contracts/" + contract_));
        const account& who = rel == relation::member ? insider(r) : *stranger(r).first;
        return from_http(rest(&who, "GET", "/api/v1/contracts/" + contract_));
      }
      case action::contract_fund:
        return contract_cmd("fund", r, rel, json{{"payment_method", good_card}});
      case action::contract_deliver:
        return contract_cmd("deliver", r, rel,
                            json{{"items", json::array({json{{"url", "https://yt.example/w/1"}}})}});
      case action::contract_approve:
        return contract_cmd("approve", r, rel, json::object());
      case action::contract_request_revision:
        return contract_cmd("request-revision", r, rel, json{{"reason", "please redo the intro"}});
      case action::contract_dispute:
        return contract_cmd("dispute", r, rel, json{{"reason", "it is not what we agreed"}});
      case action::contract_resolve:
        return contract_cmd("resolve", r, rel, json{{"to_creator", 10'000}});
      case action::contract_cancel:
        return contract_cmd("cancel", r, rel, json::object());
      case action::ping:
        return from_ws(ask(*me, json{{"type", "ping"}}));
      case action::conversation_open:
        return from_ws(ask(*me, json{{"type", "conversation.open"}, {"with", t_.id}}));
      case action::conversation_list:
        return from_ws(ask(*me, json{{"type", "conversation.list"}}));
      case action::conversation_join:
        return conv_wide("conversation.join");
      case action::subscribe:
        return conv_wide("subscribe", json{{"after", 0}});
      case action::unsubscribe:
        return from_ws(ask(*me, json{{"type", "unsubscribe"}, {"conversation", conv_}}));
      case action::history:
        return conv_wide("history", json{{"limit", 5}});
      case action::message_send:
        return conv_wide("message.send", json{{"client_id", "s-" + std::to_string(++counter_)},
                                              {"text", "a message"}});
      case action::message_edit:
        return message_change("message.edit", r, rel);
      case action::message_delete:
        return message_change("message.delete", r, rel);
      case action::read:
        return conv_wide("read", json{{"seq", 1}});
      case action::delivered:
        return conv_wide("delivered", json{{"seq", 1}});
      case action::typing:
        return conv_wide("typing");
      case action::offer_make:
        return conv_wide("offer.make", json{{"client_id", "om-" + std::to_string(++counter_)},
                                            {"terms", terms(2'000)}});
      case action::offer_accept:
        return offer_answer("offer.accept", r, rel);
      case action::offer_decline:
        return offer_answer("offer.decline", r, rel);
      case action::offer_withdraw:
        return offer_answer("offer.withdraw", r, rel);
      case action::count:
        break;
      case action::creator_profile_put:
        return from_http(rest(me, "PUT", "/api/v1/influencers/profile", creator_profile()));
      case action::creator_profile_get:
        return from_http(rest(me, "GET", "/api/v1/influencers/profile"));
      case action::creator_profile_view:
        return profile_view("influencers", r, rel);
      case action::brand_profile_put:
        return from_http(rest(me, "PUT", "/api/v1/brands/profile", brand_profile()));
      case action::brand_profile_get:
        return from_http(rest(me, "GET", "/api/v1/brands/profile"));
      case action::brand_profile_view:
        return profile_view("brands", r, rel);
      case action::role_change:
        return from_http(rest(me, "PUT", "/api/v1/admin/users/" + victim_.id + "/role",
                              json{{"role", "creator"}}));
      case action::login_code_request: {
        // The answer comes before the code is stored: wait for its mail, so a later cell's code
        // is never replaced by this one's arriving late.
        auto before = pactum::test_support::last_mail_id(url());
        auto asked = from_http(rest(nullptr, "POST", "/api/v1/users/login/code", json{{"email", coder_.email}}));
        if (asked.ok)
          mailed_code(coder_.email, before);
        return asked;
      }
      case action::login_code_verify: {
        auto before = pactum::test_support::last_mail_id(url());
        auto asked = rest(nullptr, "POST", "/api/v1/users/login/code", json{{"email", coder_.email}});
        EXPECT_EQ(asked.status, 202) << asked.body;
        return from_http(rest(nullptr, "POST", "/api/v1/users/login/code/verify",
                              json{{"email", coder_.email}, {"code", mailed_code(coder_.email, before)}}));
      }
      case action::password_reset: {
        auto forgetful = make_account(ep(), "creator", "Forgetful"); // its logins all end
        auto before = pactum::test_support::last_mail_id(url());
        auto asked = rest(nullptr, "POST", "/api/v1/users/login/code", json{{"email", forgetful.email}});
        EXPECT_EQ(asked.status, 202) << asked.body;
        return from_http(rest(nullptr, "POST", "/api/v1/users/password/reset",
                              json{{"email", forgetful.email},
                                   {"code", mailed_code(forgetful.email, before)},
                                   {"new_password", "a brand new passphrase"}}));
      }
      case action::user_export:
        return from_http(rest(me, "GET", "/api/v1/users/me/export"));
      case action::user_erase: {
        if (!me)
          return from_http(rest(nullptr, "DELETE", "/api/v1/users/me", json{{"password", "whatever it is"}}));
        auto gone = fresh(r); // erasing a fixture account would end the test
        return from_http(rest(&gone, "DELETE", "/api/v1/users/me", json{{"password", gone.password}}));
      }
      case action::consents_get:
        return from_http(rest(me, "GET", "/api/v1/users/me/consents"));
      case action::consents_set:
        return from_http(rest(me, "PUT", "/api/v1/users/me/consents",
                              json{{"consents", json{{"marketing", false}}}}));
      case action::creator_search:
        return from_http(rest(me, "GET", "/api/v1/search/influencers?niche=travel&limit=1"));
      case action::campaign_create:
      case action::campaign_update:
      case action::campaign_status:
      case action::campaign_list:
      case action::campaign_get:
      case action::campaign_updates:
      case action::campaign_mine:
      case action::application_list:
      case action::application_create:
      case action::application_decide:
      case action::application_withdraw:
      case action::invitation_create:
      case action::invitation_list:
      case action::invitation_answer:
      case action::campaign_matches:
        return campaign_cell(what, r, rel);
      case action::social_refresh:
        return from_http(rest(me, "POST", "/api/v1/influencers/profile/social/refresh"));
      case action::social_flag_list:
        return from_http(rest(me, "GET", "/api/v1/moderation/social-flags"));
      case action::social_flag_review:
        return from_http(rest(me, "PUT", "/api/v1/moderation/social-flags/1", json{{"status", "cleared"}}));
      case action::match_preview:
        return from_http(rest(me, "POST", "/api/v1/brands/matches",
                              json{{"title", "Preview"}, {"currency", "EUR"},
                                   {"audience", json{{"niches", json::array({"travel"})}}}}));
      case action::pledge_create:
        return from_http(rest(me, "POST", "/api/v1/pledges", pledge_body()));
      case action::pledge_launch: {
        auto draft = new_pledge(false); // a fresh draft of C's each time
        return from_http(rest(pledge_actor(r, rel), "POST", "/api/v1/pledges/" + draft + "/launch",
                              json{{"key", "l-" + std::to_string(++counter_)}}));
      }
      case action::pledge_get:
        return from_http(rest(pledge_actor(r, rel), "GET", "/api/v1/pledges/" + pledge_));
      case action::pledge_list:
        return from_http(rest(me, "GET", "/api/v1/pledges"));
      case action::pledge_back: {
        // Strangers who are allowed would become backers: fresh accounts keep the world as is.
        auto fresh_backer = (rel == relation::stranger && (r == role::brand || r == role::creator))
                              ? std::optional<account>{fresh(r)} : std::nullopt;
        return from_http(rest(fresh_backer ? &*fresh_backer : pledge_actor(r, rel), "POST",
                              "/api/v1/pledges/" + pledge_ + "/pledge",
                              json{{"key", "p-" + std::to_string(++counter_)}, {"tier", 0},
                                   {"payment_method", good_card}}));
      }
      case action::pledge_cancel: {
        // A member cancels a pledge made for the purpose (B and P stay backers for later cells).
        const account* who = pledge_actor(r, rel);
        std::optional<account> fresh_backer;
        if (rel == relation::member) {
          fresh_backer = fresh(r);
          auto backed = rest(&*fresh_backer, "POST", "/api/v1/pledges/" + pledge_ + "/pledge",
                             json{{"key", "p"}, {"tier", 0}, {"payment_method", good_card}});
          EXPECT_EQ(backed.status, 200) << backed.body;
          who = &*fresh_backer;
        }
        return from_http(rest(who, "DELETE", "/api/v1/pledges/" + pledge_ + "/pledge?key=c-" + std::to_string(++counter_)));
      }
      case action::pledge_backers:
        return from_http(rest(pledge_actor(r, rel), "GET", "/api/v1/pledges/" + pledge_ + "/backers"));
      case action::pledge_subscribe:
        return from_ws(ask(*pledge_actor(r, rel), json{{"type", "pledge.subscribe"}, {"campaign", pledge_}}));
      case action::campaign_match_creators:
      case action::campaign_fund_escrow:
        return campaign_cell(what, r, rel);
      case action::content_submit:
      case action::content_review:
      case action::content_list:
      case action::campaign_subscribe:
        return content_cell(what, r, rel);
      case action::analytics_performance:
      case action::analytics_invalid_traffic:
        return campaign_cell(what, r, rel);
      case action::promotion_create:
      case action::promotion_list:
      case action::promotion_get:
      case action::promotion_status:
      case action::promotion_join:
      case action::promotion_codes:
      case action::promotion_code_image:
      case action::promotion_redeem:
      case action::promotion_repost:
      case action::promotion_leaderboard:
      case action::leaderboard_subscribe:
        return promotion_cell(what, r, rel);
      case action::product_create:
      case action::product_list:
      case action::product_get:
      case action::product_update:
      case action::product_delete:
      case action::product_import:
      case action::link_create:
      case action::link_list:
      case action::link_redirect:
      case action::signing_key_rotate:
      case action::conversion_track:
      case action::tracking_stats:
        return affiliate_cell(what, r, rel);
      case action::notification_list:
        return from_http(rest(me, "GET", "/api/v1/notifications"));
      case action::notification_read:
        return from_http(rest(me, "PUT", "/api/v1/notifications/read", json{{"up_to", 1}}));
      case action::notification_prefs_get:
        return from_http(rest(me, "GET", "/api/v1/notifications/preferences"));
      case action::notification_prefs_set:
        return from_http(rest(me, "PUT", "/api/v1/notifications/preferences", json{{"muted", json::array()}}));
      case action::campaign_room:
        return content_cell(what, r, rel);
    }
    return std::nullopt;
  }

  /// B's promotion promo_ in DE:Berlin, joined by C.
  void make_promotion() {
    auto now = pactum::now_millis();
    auto made = rest(&b_, "POST", "/api/v1/promotions", promotion_body(now));
    ASSERT_EQ(made.status, 201) << made.body;
    promo_ = made.json_body()["promotion"]["id"].get<std::string>();
    ASSERT_EQ(rest(&c_, "POST", "/api/v1/promotions/" + promo_ + "/join").status, 200);
  }

  json promotion_body(int64_t now) {
    return json{{"title", "Matrix coffee"}, {"reward", {{"amount", 1}, {"currency", "EUR"}}}, {"budget", 100'000},
                {"valid_until", now + 3'600'000}, {"locality", {{"country", "DE"}, {"city", "Berlin"}}}};
  }

  /// A fresh code of C's in promo_: {nonce, token, png, svg}.
  json promo_code() {
    auto r = rest(&c_, "POST", "/api/v1/promotions/" + promo_ + "/codes", json{{"count", 1}});
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json_body()["codes"][0];
  }

  /// A promotion cell: B owns promo_, C is its promoter (member; owner of its codes, of which B
  /// is a member); strangers are S, T (not joined), M and A.
  answer promotion_cell(action what, role r, relation rel) {
    const account* who = r == role::anonymous ? nullptr
                         : rel == relation::stranger ? stranger(r).first
                                                     : &insider(r);
    auto base = "/api/v1/promotions/" + promo_;
    switch (what) {
      case action::promotion_create:
        return from_http(rest(who, "POST", "/api/v1/promotions", promotion_body(pactum::now_millis())));
      case action::promotion_list:
        return from_http(rest(who, "GET", "/api/v1/promotions?locality=DE:Berlin"));
      case action::promotion_get:
        return from_http(rest(who, "GET", base));
      case action::promotion_status:
        return from_http(rest(who, "POST", base + "/status", json{{"to", "active"}}));
      case action::promotion_join:
        return from_http(rest(who, "POST", base + "/join"));
      case action::promotion_codes:
        return from_http(rest(who, "POST", base + "/codes", json{{"count", 1}}));
      case action::promotion_code_image:
        return from_http(rest(who, "GET", promo_code()["png"].get<std::string>()));
      case action::promotion_redeem:
        return from_http(rest(who, "POST", "/api/v1/promotions/redeem", json{{"token", promo_code()["token"]}}));
      case action::promotion_repost:
        return from_http(rest(who, "POST", base + "/reposts",
                              json{{"platform", "instagram"},
                                   {"url", "https://instagram.example/p/ad-matrix-" + std::to_string(++counter_)}}));
      case action::promotion_leaderboard:
        return from_http(rest(who, "GET", "/api/v1/promotions/leaderboard?locality=DE:Berlin"));
      case action::leaderboard_subscribe:
        return from_ws(ask(*who, json{{"type", "leaderboard.subscribe"}, {"locality", "DE:Berlin"}}));
      default:
        break;
    }
    return answer{};
  }

  /// A product of B's (created once): its id.
  std::string b_product() {
    if (bproduct_.empty()) {
      auto made = rest(&b_, "POST", "/api/v1/brands/products",
                       json{{"sku", "MATRIX"}, {"name", "Matrix bike"}, {"category", "bikes"},
                            {"url", "https://shop.example/matrix"}, {"price", 100}, {"currency", "USD"}});
      EXPECT_EQ(made.status, 201) << made.body;
      bproduct_ = made.json_body()["product"].value("id", std::string{});
    }
    return bproduct_;
  }

  /// An affiliate cell: B owns camp_ (and the products), K (accepted invitation) is a member,
  /// anyone else a stranger; the catalog and key endpoints act on the caller's own.
  answer affiliate_cell(action what, role r, relation rel) {
    const account* me = r == role::anonymous ? nullptr : &insider(r);
    const account* who = r == role::anonymous ? nullptr
                         : rel == relation::owner ? &b_
                         : rel == relation::member ? &k_
                         : rel == relation::stranger ? stranger(r).first
                                                     : me;
    auto sku = "S-" + std::to_string(++counter_);
    json item{{"sku", sku}, {"name", "Bike"}, {"category", "bikes"}, {"url", "https://shop.example/b"},
              {"price", 100}, {"currency", "USD"}};
    // An own product for the brand (any id for others: the policy answers first).
    auto own_product = [&] {
      if (!me || r != role::brand)
        return std::string{"018f0000-0000-7000-8000-000000000000"};
      return rest(me, "POST", "/api/v1/brands/products", item).json_body()["product"].value("id", std::string{});
    };
    auto links = "/api/v1/campaigns/" + camp_ + "/links";
    switch (what) {
      case action::product_create:
        return from_http(rest(me, "POST", "/api/v1/brands/products", item));
      case action::product_list:
        return from_http(rest(me, "GET", "/api/v1/brands/products"));
      case action::product_get:
        return from_http(rest(me, "GET", "/api/v1/brands/products/" + own_product()));
      case action::product_update:
        return from_http(rest(me, "PUT", "/api/v1/brands/products/" + own_product(), item));
      case action::product_delete:
        return from_http(rest(me, "DELETE", "/api/v1/brands/products/" + own_product()));
      case action::product_import:
        return from_http(http_call(ep(), "POST", "/api/v1/brands/products/import",
                                   "sku,name,category,url,price,currency\r\n" + sku + ",Bike,bikes,https://s.example/,1,USD\r\n",
                                   me ? me->token : std::string{}, "text/csv"));
      case action::link_create:
        return from_http(rest(who, "POST", links, json{{"product_id", b_product()}, {"creator_id", k_.id}}));
      case action::link_list:
        return from_http(rest(who, "GET", links));
      case action::link_redirect: {
        auto link = rest(&k_, "POST", links, json{{"product_id", b_product()}});
        EXPECT_EQ(link.status, 200) << link.body;
        auto r302 = http_call(ep(), "GET", "/r/" + link.json_body()["link"].value("code", std::string{}));
        answer a = from_http(r302);
        a.ok = r302.status == 302 && !r302.location.empty();
        return a;
      }
      case action::signing_key_rotate:
        return from_http(rest(me, "POST", "/api/v1/brands/signing-key"));
      case action::conversion_track: {
        auto key = rest(&b_, "POST", "/api/v1/brands/signing-key").json_body().value("secret", std::string{});
        auto body = json{{"order_id", "O-" + sku}, {"amount", 100}, {"currency", "USD"}}.dump();
        auto ts = pactum::now_millis() / 1000;
        auto header = pactum::payments::sign_webhook(key, ts, body);
        return from_http(http_call(ep(), "POST", "/api/v1/track/conversion", body, "", "application/json",
                                   {{"X-Pactum-Brand", b_.id}, {"X-Pactum-Timestamp", std::to_string(ts)},
                                    {"X-Pactum-Signature", header.substr(header.find("v1=") + 3)}}));
      }
      case action::tracking_stats:
        return from_http(rest(me, "GET", "/api/v1/admin/tracking-stats"));
      default:
        break;
    }
    return answer{};
  }

  /// A valid pledge campaign body (ends in an hour).
  json pledge_body() {
    return json{{"key", "pc-" + std::to_string(++counter_)}, {"title", "Matrix game"}, {"goal", 100'000},
                {"currency", "EUR"}, {"end_at", pactum::now_millis() + 3'600'000},
                {"tiers", json::array({json{{"title", "Standard"}, {"price", 1'000}}})}};
  }

  /// A new campaign of C's (launched or a draft): its id.
  std::string new_pledge(bool launch) {
    auto made = rest(&c_, "POST", "/api/v1/pledges", pledge_body());
    EXPECT_EQ(made.status, 201) << made.body;
    auto id = made.json_body().value("campaign", std::string{});
    if (launch) {
      EXPECT_EQ(rest(&c_, "POST", "/api/v1/pledges/" + id + "/launch", json{{"key", "l"}}).status, 200);
    }
    return id;
  }

  /// Who acts on C's campaign for a cell: C (owner), B or P (member brand / creator: backers),
  /// S, T, M, A (strangers), nobody (anonymous).
  const account* pledge_actor(role r, relation rel) const {
    if (r == role::anonymous)
      return nullptr;
    if (rel == relation::owner)
      return &c_;
    if (rel == relation::member)
      return r == role::brand ? &b_ : &p_;
    return stranger(r).first;
  }

  account b_, c_, s_, t_, m_, a_;
  account p_;           ///< a creator who backs C's pledge campaign
  std::string pledge_;  ///< C's live pledge campaign, backed by B and P
  account victim_; ///< whose role the role-change cells set (to what it is)
  account coder_;  ///< who logs in with email codes
  std::string conv_, conv2_, contract_;
  std::string camp_, camp2_; ///< B's published campaigns (make_campaigns)
  int64_t app_ = 0, inv_ = 0;
  account k_;              ///< a creator with a funded contract in camp_ (make_campaign_contract)
  std::string kcontract_;  ///< that contract
  int64_t sub_ = 0;        ///< K's submission in camp_
  std::map<std::string, std::unique_ptr<ws_client>> sockets_;
  int counter_ = 0;
  std::string promo_; ///< B's promotion, joined by C (make_promotion)
  std::string bproduct_; ///< B's product for link cells (b_product)
};

} // namespace

TEST_F(AuthzMatrix, EveryCellOfThePolicyTableHoldsAgainstARunningServer) {
  b_ = make_account(ep(), "brand", "BrandB");
  c_ = make_account(ep(), "creator", "CreatorC");
  s_ = make_account(ep(), "brand", "StrangerS");
  t_ = make_account(ep(), "creator", "StrangerT");
  m_ = make_account(ep(), "creator", "ModeratorM");
  a_ = make_account(ep(), "creator", "AdminA");
  victim_ = make_account(ep(), "creator", "VictimV");
  coder_ = make_account(ep(), "creator", "CoderK");
  set_role(m_.email, "moderator");
  set_role(a_.email, "admin");
  ASSERT_FALSE(HasFatalFailure());
  // The profiles the view cells look at.
  ASSERT_EQ(rest(&b_, "PUT", "/api/v1/brands/profile", brand_profile()).status, 200);
  ASSERT_EQ(rest(&c_, "PUT", "/api/v1/influencers/profile", creator_profile()).status, 200);

  // B and C's deal: a contract, funded and disputed; the moderator and the admin join.
  conv_ = ask(b_, json{{"type", "conversation.open"}, {"with", c_.id}})["conversation"]["id"].get<std::string>();
  conv2_ = ask(s_, json{{"type", "conversation.open"}, {"with", t_.id}})["conversation"]["id"].get<std::string>();
  auto accepted = ask(c_, json{{"type", "offer.accept"}, {"conversation", conv_}, {"offer", offer(b_, conv_)}});
  ASSERT_EQ(accepted["type"], "ok") << accepted.dump();
  contract_ = accepted["contract"].get<std::string>();
  auto funded = rest(&b_, "POST", "/api/v1/contracts/" + contract_ + "/fund",
                     json{{"key", "fund"}, {"payment_method", good_card}});
  ASSERT_EQ(funded.status, 200) << funded.body;
  for (int i = 0; i < 150; ++i) {
    if (rest(&b_, "GET", "/api/v1/contracts/" + contract_).json_body()["status"] == "funded")
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto disputed = rest(&b_, "POST", "/api/v1/contracts/" + contract_ + "/dispute",
                       json{{"key", "dispute"}, {"reason", "the video is missing"}});
  ASSERT_EQ(disputed.status, 200) << disputed.body;
  for (auto* who : {&m_, &a_}) {
    json joined;
    for (int i = 0; i < 50; ++i) {
      joined = ask(*who, json{{"type", "conversation.join"}, {"conversation", conv_}});
      if (joined["type"] == "ok")
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_EQ(joined["type"], "ok") << joined.dump();
  }

  make_campaigns();
  ASSERT_FALSE(HasFailure());
  make_campaign_contract();
  ASSERT_FALSE(HasFailure());
  // C's pledge campaign, backed by B (brand) and P (creator).
  p_ = make_account(ep(), "creator", "BackerP");
  pledge_ = new_pledge(true);
  for (auto* who : {&b_, &p_})
    ASSERT_EQ(rest(who, "POST", "/api/v1/pledges/" + pledge_ + "/pledge",
                   json{{"key", "p"}, {"tier", 0}, {"payment_method", good_card}})
                .status,
              200);
  make_promotion();
  ASSERT_FALSE(HasFailure());

  size_t performed = 0, skipped = 0;
  for (auto& row : policy::rules()) {
    for (size_t rel_i = 0; rel_i < policy::relation_count; ++rel_i) {
      for (size_t role_i = 0; role_i < policy::role_count; ++role_i) {
        auto r = static_cast<role>(role_i);
        auto rel = static_cast<relation>(rel_i);
        auto expected = policy::at(row.what, r, rel);
        if (expected == policy::cell::na) {
          ++skipped;
          continue;
        }
        std::string where = std::string{row.name} + " / " + std::string{policy::to_string(r)} + " / "
                           + std::string{policy::to_string(rel)};
        std::optional<answer> over_rest_or_ws;
        std::optional<answer> over_ws;
        try {
          over_rest_or_ws = perform(row.what, r, rel);
          over_ws = perform_ws_contract(row.what, r, rel);
        } catch (const std::exception& e) {
          ADD_FAILURE() << where << ": " << e.what();
          continue;
        }
        if (!over_rest_or_ws) {
          ADD_FAILURE() << "the matrix test does not know how to perform " << row.name;
          break;
        }
        ++performed;
        std::vector<std::pair<std::string, answer>> answers{{where, *over_rest_or_ws}};
        if (over_ws) {
          ++performed;
          answers.emplace_back(where + " (WebSocket)", *over_ws);
        }
        for (auto& [label, got] : answers) {
          auto refusal = policy::decide(row.what, r, rel);
          auto is_refusal = [&](const answer& a, const policy::refusal& no) {
            return a.code == pactum::protocol::to_string(no.code) && a.message == no.message
                   && (a.status == 0 || a.status == no.status);
          };
          if (expected == policy::cell::allow) {
            EXPECT_NE(got.code, "unauthorized") << label << ": " << got.raw;
            bool policy_refused = false;
            for (auto* no : {&row.denied, &row.denied_stranger})
              policy_refused = policy_refused || (!no->message.empty() && is_refusal(got, *no));
            EXPECT_FALSE(policy_refused) << label << " should be allowed: " << got.raw;
            // Public endpoints have no business rule in the way: they succeed.
            if (r == role::anonymous) {
              EXPECT_TRUE(got.ok) << label << ": " << got.raw;
            }
          } else {
            ASSERT_TRUE(refusal.has_value());
            EXPECT_FALSE(got.ok) << label << " should be refused: " << got.raw;
            EXPECT_TRUE(is_refusal(got, *refusal))
              << label << " should be refused with " << refusal->status << " "
              << pactum::protocol::to_string(refusal->code) << " \"" << refusal->message << "\", got "
              << got.status << " " << got.raw;
          }
        }
      }
    }
  }
  // The view rule under the matrix: the brand's contact is shown to the creator sharing a
  // contract (member), moderators and admins, and hidden from strangers.
  auto contact_shown = [&](const account& viewer) {
    auto r = rest(&viewer, "GET", "/api/v1/brands/" + b_.id);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json_body().contains("contact");
  };
  EXPECT_TRUE(contact_shown(c_));
  EXPECT_TRUE(contact_shown(m_));
  EXPECT_TRUE(contact_shown(a_));
  EXPECT_FALSE(contact_shown(t_));
  EXPECT_FALSE(contact_shown(s_));

  std::cout << "authorization matrix: " << performed << " cells performed, " << skipped
            << " cells that cannot occur skipped\n";
  EXPECT_GT(performed, 100u);
}
