// Export, erasure and consents (docs/security.md, "Privacy"; wire in docs/protocol.md).
//
// None of it runs on CAF threads: database work goes through the persistence pool, the password
// check through the runtime's `cpu` executor, journal reads through the sealing store (so the
// export sees decrypted events, and an erased user's fields as erased). Callbacks chain from one
// persistence thread to the next; each step only builds JSON and submits the next request.

#include "privacy.hpp"
#include "rooms.hpp"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include "audit.hpp"
#include "auth_cache.hpp"
#include "message_types.hpp"
#include "pactum/actors/policy.hpp"
#include "pactum/common/executor.hpp"
#include "pactum/protocol/events.hpp"
#include "services.hpp"

namespace pactum::actors {

using json = nlohmann::json;
using protocol::error_code;

namespace {

api_error failed(const persistence::failure& f) {
  switch (f.code) {
    case persistence::errc::overloaded:
      return api_error{503, error_code::overloaded, "the server is busy; retry shortly", {}};
    case persistence::errc::unavailable:
      return api_error{503, error_code::unavailable, "storage is unavailable; retry shortly", {}};
    case persistence::errc::not_found:
      return api_error{401, error_code::unauthorized, "no such account", {}};
    default:
      return api_error{500, error_code::internal, "internal error", {}};
  }
}

/// The policy's refusal of `who` acting on their own account (nullopt: allowed).
std::optional<api_error> refused(policy::action what, const principal& who) {
  auto no = policy::decide(what, policy::parse_role(who.role), policy::relation::owner);
  if (!no)
    return std::nullopt;
  return api_error{no->status, no->code, std::string{no->message}, {}};
}

std::vector<consent_change> to_changes(const std::vector<persistence::consent_row>& rows) {
  std::vector<consent_change> out;
  out.reserve(rows.size());
  for (auto& r : rows)
    out.push_back(consent_change{r.kind, r.version, r.granted, r.at});
  return out;
}

/// The contracts named by `offer.accepted` payloads (plaintext: they carry no personal data).
std::vector<uuid> contracts_of(const std::vector<std::string>& payloads) {
  std::vector<uuid> out;
  for (auto& p : payloads) {
    auto ev = protocol::decode_event("offer.accepted", 1, p);
    if (!ev)
      continue;
    auto& acc = std::get<protocol::offer_accepted>(ev.value());
    if (std::find(out.begin(), out.end(), acc.contract) == out.end())
      out.push_back(acc.contract);
  }
  return out;
}

json events_json(const std::vector<persistence::event_record>& rows) {
  auto list = json::array();
  for (auto& r : rows) {
    auto ev = json::parse(protocol::event_to_json(r.payload), nullptr, false);
    list.push_back(json{{"seq", r.seq}, {"recorded_at", r.recorded_at}, {"event", std::move(ev)}});
  }
  return list;
}

/// One export in progress: a chain of reads, each submitting the next from its callback.
/// Bounded by `budget` journal events in total; beyond that the document says `truncated`.
struct export_job : std::enable_shared_from_this<export_job> {
  export_job(services& s, persistence::privacy_store& p, principal w,
             std::function<void(expected<std::string, api_error>)> d)
    : svc(s), store(p), who(std::move(w)), done(std::move(d)), budget(s.cfg.export_max_events) {}

  services& svc;
  persistence::privacy_store& store;
  principal who;
  std::function<void(expected<std::string, api_error>)> done;
  size_t budget;
  json doc = json::object();
  std::vector<uuid> conversations;
  std::vector<uuid> contracts;
  size_t next = 0;

  /// Calls `then` with the value, or ends the export with the error.
  template <class T, class F>
  auto step(F then) {
    return [self = shared_from_this(), then = std::move(then)](persistence::result<T> r) mutable {
      if (!r)
        return self->done(failed(r.error()));
      then(*self, std::move(r.value()));
    };
  }

  void start() {
    svc.db->find_user(who.user, step<persistence::user_row>([](export_job& j, persistence::user_row u) {
      j.doc["format"] = "pactum.export.v1";
      j.doc["exported_at"] = now_millis();
      j.doc["account"] = json{{"id", u.id.str()},
                              {"email", u.email},
                              {"display_name", u.display_name},
                              {"role", u.role},
                              {"created_at", u.created_at}};
      j.store.consents(j.who.user, j.step<std::vector<persistence::consent_row>>(
                                     [](export_job& j, std::vector<persistence::consent_row> rows) {
                                       auto list = json::array();
                                       for (auto& c : rows)
                                         list.push_back(json{{"kind", c.kind},
                                                             {"version", c.version},
                                                             {"granted", c.granted},
                                                             {"at", c.at}});
                                       j.doc["consents"] = std::move(list);
                                       j.sessions();
                                     }));
    }));
  }

  void sessions() {
    svc.db->list_logins(who.user, step<std::vector<persistence::login_row>>(
                                    [](export_job& j, std::vector<persistence::login_row> rows) {
                                      auto list = json::array();
                                      for (auto& l : rows) // no token material: ids and times
                                        list.push_back(json{{"id", l.id.str()},
                                                            {"created_at", l.created_at},
                                                            {"last_used_at", l.last_used_at},
                                                            {"user_agent", l.user_agent}});
                                      j.doc["sessions"] = std::move(list);
                                      j.list_conversations();
                                    }));
  }

  void list_conversations() {
    svc.db->list_conversations(
      who.user, 10'000,
      step<std::vector<persistence::conversation_row>>(
        [](export_job& j, std::vector<persistence::conversation_row> rows) {
          j.doc["conversations"] = json::array();
          for (auto& c : rows)
            j.conversations.push_back(c.id);
          j.list_rooms();
        }));
  }

  /// The campaign rooms the user may be in (rooms.hpp), exported beside the conversations when
  /// they exist (a room never opened has no journal and is left out).
  void list_rooms() {
    store.campaigns_of(who.user, 10'000,
                       step<std::vector<uuid>>([](export_job& j, std::vector<uuid> campaigns) {
                         for (auto& c : campaigns)
                           j.conversations.push_back(room_id_for(c));
                         j.next = 0;
                         j.read_conversation();
                       }));
  }

  /// Reads up to the remaining budget of `entity`'s journal; `then(job, events, truncated)`.
  template <class F>
  void read_journal(const uuid& entity, F then) {
    if (budget == 0) {
      doc["truncated"] = true;
      return then(*this, std::vector<persistence::event_record>{});
    }
    svc.store.read_events(entity, 0, 0, budget + 1,  false,
                          step<std::vector<persistence::event_record>>(
                            [then](export_job& j, std::vector<persistence::event_record> rows) {
                              if (rows.size() > j.budget) {
                                rows.resize(j.budget);
                                j.doc["truncated"] = true;
                              }
                              j.budget -= rows.size();
                              then(j, std::move(rows));
                            }));
  }

  void read_conversation() {
    if (next >= conversations.size())
      return find_contracts();
    auto id = conversations[next++];
    read_journal(id, [id](export_job& j, std::vector<persistence::event_record> rows) {
      if (!rows.empty()) // a campaign room that was never opened has no journal
        j.doc["conversations"].push_back(json{{"id", id.str()}, {"events", events_json(rows)}});
      j.read_conversation();
    });
  }

  void find_contracts() {
    store.accepted_offers(who.user, 10'000,
                          step<std::vector<std::string>>([](export_job& j, std::vector<std::string> p) {
                            j.contracts = contracts_of(p);
                            j.doc["contracts"] = json::array();
                            j.next = 0;
                            j.read_contract();
                          }));
  }

  void read_contract() {
    if (next >= contracts.size())
      return read_wallet();
    auto id = contracts[next++];
    read_journal(id, [id](export_job& j, std::vector<persistence::event_record> rows) {
      j.doc["contracts"].push_back(json{{"id", id.str()}, {"timeline", events_json(rows)}});
      j.read_contract();
    });
  }

  void read_wallet() {
    read_journal(who.user, [](export_job& j, std::vector<persistence::event_record> rows) {
      j.doc["withdrawals"] = events_json(rows);
      j.balances();
    });
  }

  void balances() {
    svc.db->ledger_balances(
      {"user:" + who.user.str() + ":*"},
      step<std::vector<persistence::ledger_balance>>(
        [](export_job& j, std::vector<persistence::ledger_balance> rows) {
          auto list = json::array();
          for (auto& b : rows)
            list.push_back(json{{"account", b.account},
                                {"currency", b.currency},
                                {"posted", b.posted},
                                {"available", b.available},
                                {"pending_in", b.pending_in}});
          j.doc["balances"] = std::move(list);
          j.transfers();
        }));
  }

  void transfers() {
    store.user_transfers(
      who.user, 100'000,
      step<std::vector<persistence::ledger_transfer_row>>(
        [](export_job& j, std::vector<persistence::ledger_transfer_row> rows) {
          auto list = json::array();
          for (auto& t : rows)
            list.push_back(json{{"id", t.id},
                                {"debit", t.debit},
                                {"credit", t.credit},
                                {"amount", t.amount},
                                {"currency", t.currency},
                                {"state", t.state},
                                {"entity", t.entity.str()},
                                {"entity_seq", t.entity_seq}});
          j.doc["transfers"] = std::move(list);
          if (!j.doc.contains("truncated"))
            j.doc["truncated"] = false;
          j.done(j.doc.dump(-1, ' ', false, json::error_handler_t::replace));
        }));
  }
};

} // namespace

// -- consents ---------------------------------------------------------------------------------

std::optional<std::string> privacy_service::invalid_consents(
  const std::vector<consent_change>& changes) {
  if (changes.size() > 16)
    return "at most 16 consents at once";
  for (auto& c : changes) {
    bool kind_ok = !c.kind.empty() && c.kind.size() <= 32 && std::islower(static_cast<unsigned char>(c.kind[0]))
                   && std::all_of(c.kind.begin(), c.kind.end(), [](unsigned char ch) {
                        return std::islower(ch) || std::isdigit(ch) || ch == '_';
                      });
    if (!kind_ok)
      return "a consent kind is 1 to 32 characters: a-z, 0-9 and _, starting with a letter";
    if (c.version.size() > 32
        || !std::all_of(c.version.begin(), c.version.end(),
                        [](unsigned char ch) { return ch > 0x20 && ch < 0x7f; }))
      return "a consent version is at most 32 printable ASCII characters without spaces";
  }
  return std::nullopt;
}

void privacy_service::consents(
  principal who, std::function<void(expected<std::vector<consent_change>, api_error>)> done) {
  if (auto no = refused(policy::action::consents_get, who))
    return done(std::move(*no));
  store_.consents(who.user, [done](persistence::result<std::vector<persistence::consent_row>> r) {
    if (!r)
      return done(failed(r.error()));
    done(to_changes(r.value()));
  });
}

void privacy_service::set_consents(
  principal who, std::vector<consent_change> changes,
  std::function<void(expected<std::vector<consent_change>, api_error>)> done) {
  if (auto no = refused(policy::action::consents_set, who))
    return done(std::move(*no));
  if (auto bad = invalid_consents(changes)) {
    api_error e{400, error_code::bad_request, "some fields are invalid", {}};
    e.fields.emplace_back("consents", *bad);
    return done(std::move(e));
  }
  if (changes.empty())
    return consents(std::move(who), std::move(done));
  std::vector<persistence::consent_row> rows;
  for (auto& c : changes)
    rows.push_back(persistence::consent_row{c.kind, c.version, c.granted, 0});
  store_.record_consents(who.user, std::move(rows),
                         [this, who, done](persistence::result<persistence::unit> r) {
                           if (!r)
                             return done(failed(r.error()));
                           consents(who, done);
                         });
}

// -- export -----------------------------------------------------------------------------------

void privacy_service::export_user(principal who,
                                  std::function<void(expected<std::string, api_error>)> done) {
  // Every export is recorded, with its outcome (the document itself is not).
  done = [svc = &svc_, by = audit_actor::of(who), target = who.user.str(),
          done = std::move(done)](expected<std::string, api_error> r) {
    audit(*svc, by, "user.export", target, audit_outcome(r ? nullptr : &r.error()));
    done(std::move(r));
  };
  if (auto no = refused(policy::action::user_export, who))
    return done(std::move(*no));
  std::make_shared<export_job>(svc_, store_, std::move(who), std::move(done))->start();
}

// -- erasure ----------------------------------------------------------------------------------

void privacy_service::erase_user(principal who, std::string password,
                                 std::function<void(expected<std::string, api_error>)> done) {
  // Every erasure attempt is recorded without personal data: the account id, its role and the
  // outcome; no address, no name, no email (the pseudonym is not recorded either).
  done = [svc = &svc_, by = audit_actor{who.user, who.role, ""}, target = who.user.str(),
          done = std::move(done)](expected<std::string, api_error> r) {
    audit(*svc, by, "user.erase", target, audit_outcome(r ? nullptr : &r.error()));
    done(std::move(r));
  };
  if (auto no = refused(policy::action::user_erase, who))
    return done(std::move(*no));
  if (password.empty() || password.size() > 1024) {
    api_error e{400, error_code::bad_request, "confirm with your password", {}};
    e.fields.emplace_back("password", "is required");
    return done(std::move(e));
  }
  auto user = who.user;
  svc_.db->find_user(user, [this, user, password = std::move(password), done](
                             persistence::result<persistence::user_row> found) mutable {
    if (!found)
      return done(failed(found.error()));
    auto hash = found.value().password_hash;
    auto job = [this, user, hash, password, done]() mutable {
      bool ok = crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
      sodium_memzero(password.data(), password.size());
      if (!ok)
        return done(api_error{403, error_code::forbidden, "wrong password", {}});
      erase_checked(user, done);
    };
    if (!cpu_.post(std::move(job)))
      done(api_error{503, error_code::overloaded, "the server is busy; retry shortly", {}});
  });
}

void privacy_service::erase_checked(uuid user,
                                    std::function<void(expected<std::string, api_error>)> done) {
  store_.accepted_offers(user, 1'000'000, [this, user, done](persistence::result<std::vector<std::string>> acc) {
    if (!acc)
      return done(failed(acc.error()));
    auto contracts = contracts_of(acc.value());
    svc_.db->list_conversations(user, 1'000'000, [this, user, contracts, done](
                                                   persistence::result<std::vector<persistence::conversation_row>> convs) {
      if (!convs)
        return done(failed(convs.error()));
      store_.campaigns_of(user, 1'000'000, [this, user, contracts, convs, done](
                                             persistence::result<std::vector<uuid>> campaigns) {
      if (!campaigns)
        return done(failed(campaigns.error()));
      persistence::erasure_plan plan;
      plan.user = user;
      auto id = user.str();
      plan.pseudonym = "Deleted user " + id.substr(id.size() - 4);
      for (auto& c : convs.value())
        plan.entities.push_back(c.id);
      for (auto& c : campaigns.value()) // the campaign rooms the user may be in (rooms.hpp)
        plan.entities.push_back(room_id_for(c));
      plan.entities.insert(plan.entities.end(), contracts.begin(), contracts.end());
      plan.entities.push_back(user); // the wallet
      plan.contracts = contracts;
      auto entities = plan.entities;
      auto pseudonym = plan.pseudonym;
      store_.erase_user(std::move(plan), [this, user, entities, pseudonym, done](
                                           persistence::result<persistence::erasure_outcome> r) {
        if (!r && r.error().code == persistence::errc::duplicate)
          return done(api_error{409, error_code::conflict, "this account is already erased", {}});
        if (!r)
          return done(failed(r.error()));
        if (!r.value().erased)
          return done(api_error{409, error_code::conflict, r.value().blocked, {}});
        // The key is gone from storage; now from memory, then from every live entity that may
        // hold decrypted data of this user, then the user's sockets.
        keys_.forget(user);
        if (svc_.tokens)
          svc_.tokens->drop_user(user);
        for (auto& e : entities)
          caf::anon_send(svc_.directory, forget_atom_v, e);
        caf::anon_send(svc_.registry, kick_atom_v, user, std::string{},
                       protocol::close_code::session_revoked, std::string{"account erased"});
        spdlog::info("privacy: account {} erased ({} entities restarted)", user.str(),
                     entities.size());
        done(pseudonym);
      });
      });
    });
  });
}

} // namespace pactum::actors
