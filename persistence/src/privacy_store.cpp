#include "pactum/persistence/privacy_store.hpp"

#include <algorithm>

#include <pqxx/pqxx>

#include "pool_job.hpp"

namespace pactum::persistence {

namespace {

/// A PostgreSQL array literal of plain tokens (uuids, account ids without commas or quotes).
std::string array_literal(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0)
      out += ',';
    out += '"' + items[i] + '"';
  }
  return out + "}";
}

std::string uuid_array(const std::vector<uuid>& ids) {
  std::vector<std::string> items;
  items.reserve(ids.size());
  for (auto& id : ids)
    items.push_back(id.str());
  return array_literal(items);
}

uuid to_uuid(const pqxx::field& f) {
  auto id = uuid::parse(f.as<std::string>());
  return id ? *id : uuid{};
}



/// The steps of an erasure after the money check, in order, in one transaction. To erase more
/// (e.g. profile tables), add a step here: each gets the plan and the open transaction.
using erasure_step = void (*)(pqxx::work&, const erasure_plan&);

const erasure_step erasure_steps[] = {
  // Proof of the erasure, without personal data. A second erasure hits the primary key.
  [](pqxx::work& tx, const erasure_plan& p) {
    tx.exec_params0("insert into user_erasures (user_id, pseudonym) values ($1, $2)",
                    p.user.str(), p.pseudonym);
  },
  // Mail to the account's address (login codes): emptied, and never sent (a relay claims only
  // unsent rows). Before the next step, which replaces the address it is found by.
  [](pqxx::work& tx, const erasure_plan& p) {
    tx.exec_params0("update mail_outbox set to_address = '', subject = '', body = '',"
                    " sent_at = coalesce(sent_at, now()), last_error = 'recipient erased'"
                    " where to_address = (select email from users where id = $1)",
                    p.user.str());
  },
  // Profiles (company, contact, bio, location, social accounts, rates), login codes, social
  // statistics snapshots and fake-follower flags.
  [](pqxx::work& tx, const erasure_plan& p) {
    tx.exec_params0("delete from brand_profiles where user_id = $1", p.user.str());
    tx.exec_params0("delete from creator_profiles where user_id = $1", p.user.str());
    tx.exec_params0("delete from login_codes where user_id = $1", p.user.str());
    tx.exec_params0("delete from social_snapshots where user_id = $1", p.user.str());
    tx.exec_params0("delete from social_flags where user_id = $1", p.user.str());
  },
  // Notifications (0025): the user's own (they never hold sealed fields such as message text).
  [](pqxx::work& tx, const erasure_plan& p) {
    tx.exec_params0("delete from notifications where user_id = $1", p.user.str());
    tx.exec_params0("delete from notification_prefs where user_id = $1", p.user.str());
  },
  // The account row stays (conversations, contracts and the ledger refer to it), pseudonymous:
  // the email becomes a unique placeholder, the password can never match, the name is the
  // pseudonym.
  [](pqxx::work& tx, const erasure_plan& p) {
    tx.exec_params0("update users set email = 'erased-' || id::text || '@erased.invalid',"
                    " password_hash = '!erased', display_name = $2, last_seen_at = null"
                    " where id = $1",
                    p.user.str(), p.pseudonym);
  },
  // Logins and every token (access, refresh, tickets, pre-login tokens).
  [](pqxx::work& tx, const erasure_plan& p) {
    tx.exec_params0("delete from auth_tokens where user_id = $1", p.user.str());
    tx.exec_params0("delete from auth_sessions where user_id = $1", p.user.str());
  },
  // The data key: everything sealed under it is unreadable from now on (crypto-shredding).
  [](pqxx::work& tx, const erasure_plan& p) {
    tx.exec_params0("delete from user_keys where user_id = $1", p.user.str());
  },
  // Snapshots may hold decrypted personal data (an offer's briefs): they are only a cache of the
  // journal, so they go; the entities re-snapshot from the (sealed) journal.
  [](pqxx::work& tx, const erasure_plan& p) {
    tx.exec_params0("delete from snapshots where entity_id = any($1::uuid[])",
                    uuid_array(p.entities));
  },
  // The contact guard's evidence is the text as written: emptied (the finding itself stays).
  [](pqxx::work& tx, const erasure_plan& p) {
    tx.exec_params0("update guard_hits set original = '' where sender_id = $1", p.user.str());
  },
};

} // namespace

void privacy_store::user_keys(
  std::vector<uuid> users, std::vector<std::pair<uuid, std::string>> create,
  std::function<void(result<std::vector<std::pair<uuid, std::string>>>)> done) {
  using answer = std::vector<std::pair<uuid, std::string>>;
  detail::submit_pool<answer>(
    db_, "user_keys", std::move(done),
    [users = std::move(users), create = std::move(create)](pqxx::connection& conn) -> result<answer> {
      pqxx::work tx{conn};
      for (auto& [user, wrapped] : create)
        tx.exec_params0("insert into user_keys (user_id, wrapped) select $1, $2"
                        " where not exists (select 1 from user_erasures where user_id = $1)"
                        " on conflict (user_id) do nothing",
                        user.str(), pqxx::binarystring{wrapped});
      auto rows = tx.exec_params("select user_id::text, wrapped from user_keys"
                                 " where user_id = any($1::uuid[])",
                                 uuid_array(users));
      answer out;
      for (const auto& row : rows)
        out.emplace_back(to_uuid(row[0]), pqxx::binarystring{row[1]}.str());
      tx.commit();
      return out;
    });
}

void privacy_store::record_consents(uuid user, std::vector<consent_row> rows,
                                    std::function<void(result<unit>)> done) {
  detail::submit_pool<unit>(db_, "record_consents", std::move(done),
                            [user, rows = std::move(rows)](pqxx::connection& conn) -> result<unit> {
                              pqxx::work tx{conn};
                              for (auto& r : rows)
                                tx.exec_params0("insert into user_consents (user_id, kind, version,"
                                                " granted) values ($1, $2, $3, $4)",
                                                user.str(), r.kind, r.version, r.granted);
                              tx.commit();
                              return unit{};
                            });
}

void privacy_store::consents(uuid user,
                             std::function<void(result<std::vector<consent_row>>)> done) {
  detail::submit_pool<std::vector<consent_row>>(
    db_, "consents", std::move(done),
    [user](pqxx::connection& conn) -> result<std::vector<consent_row>> {
      pqxx::read_transaction tx{conn};
      // The newest 1,000 changes, oldest first: readers take the last row per kind as the
      // current state, so the cut must drop the oldest, never the newest.
      auto rows = tx.exec_params(
        "select kind, version, granted, floor(extract(epoch from recorded_at) * 1000)::bigint"
        " from (select * from user_consents where user_id = $1 order by id desc limit 1000) newest"
        " order by id",
        user.str());
      std::vector<consent_row> out;
      for (const auto& row : rows)
        out.push_back(consent_row{row[0].as<std::string>(), row[1].as<std::string>(),
                                  row[2].as<bool>(), row[3].as<int64_t>()});
      return out;
    });
}

void privacy_store::erasure(
  uuid user, std::function<void(result<std::optional<std::pair<std::string, millis>>>)> done) {
  using answer = std::optional<std::pair<std::string, millis>>;
  detail::submit_pool<answer>(db_, "erasure", std::move(done),
                              [user](pqxx::connection& conn) -> result<answer> {
                                pqxx::read_transaction tx{conn};
                                auto rows = tx.exec_params(
                                  "select pseudonym, floor(extract(epoch from erased_at) * 1000)::bigint"
                                  " from user_erasures where user_id = $1",
                                  user.str());
                                if (rows.empty())
                                  return answer{};
                                return answer{std::pair{rows[0][0].as<std::string>(),
                                                        rows[0][1].as<int64_t>()}};
                              });
}

void privacy_store::user_transfers(
  uuid user, size_t limit, std::function<void(result<std::vector<ledger_transfer_row>>)> done) {
  detail::submit_pool<std::vector<ledger_transfer_row>>(
    db_, "user_transfers", std::move(done),
    [user, limit](pqxx::connection& conn) -> result<std::vector<ledger_transfer_row>> {
      pqxx::read_transaction tx{conn};
      auto pattern = "user:" + user.str() + ":%";
      auto rows = tx.exec_params(
        "select id, debit_account, credit_account, amount, currency, state, entity_id::text,"
        " entity_seq, coalesce(resolved_seq, 0) from ledger_transfers"
        " where debit_account like $1 or credit_account like $1"
        " order by created_at, id limit $2",
        pattern, static_cast<int64_t>(std::min<size_t>(limit, 1'000'000)));
      std::vector<ledger_transfer_row> out;
      for (const auto& row : rows) {
        ledger_transfer_row t;
        t.id = row[0].as<std::string>();
        t.debit = row[1].as<std::string>();
        t.credit = row[2].as<std::string>();
        t.amount = row[3].as<int64_t>();
        t.currency = row[4].as<std::string>();
        t.state = row[5].as<std::string>();
        t.entity = to_uuid(row[6]);
        t.entity_seq = row[7].as<int64_t>();
        t.resolved_seq = row[8].as<int64_t>();
        out.push_back(std::move(t));
      }
      return out;
    });
}

void privacy_store::accepted_offers(uuid user, size_t limit,
                                    std::function<void(result<std::vector<std::string>>)> done) {
  detail::submit_pool<std::vector<std::string>>(
    db_, "accepted_offers", std::move(done),
    [user, limit](pqxx::connection& conn) -> result<std::vector<std::string>> {
      pqxx::read_transaction tx{conn};
      auto rows = tx.exec_params(
        "select j.payload from conversations c join journal j on j.entity_id = c.id"
        " where (c.brand_id = $1 or c.creator_id = $1) and j.event_type = 'offer.accepted'"
        " order by j.recorded_at limit $2",
        user.str(), static_cast<int64_t>(std::min<size_t>(limit, 1'000'000)));
      std::vector<std::string> out;
      for (const auto& row : rows)
        out.push_back(pqxx::binarystring{row[0]}.str());
      return out;
    });
}

void privacy_store::campaigns_of(uuid user, size_t limit,
                                 std::function<void(result<std::vector<uuid>>)> done) {
  detail::submit_pool<std::vector<uuid>>(
    db_, "campaigns_of", std::move(done),
    [user, limit](pqxx::connection& conn) -> result<std::vector<uuid>> {
      pqxx::read_transaction tx{conn};
      auto rows = tx.exec_params(
        "select id::text from campaigns where brand_id = $1"
        " union select cc.campaign_id::text from campaign_conversations cc"
        " join conversations c on c.id = cc.conversation_id where c.creator_id = $1"
        " limit $2",
        user.str(), static_cast<int64_t>(std::min<size_t>(limit, 1'000'000)));
      std::vector<uuid> out;
      for (const auto& row : rows)
        if (auto id = uuid::parse(row[0].c_str()))
          out.push_back(*id);
      return out;
    });
}

void privacy_store::erase_user(erasure_plan plan,
                               std::function<void(result<erasure_outcome>)> done) {
  detail::submit_pool<erasure_outcome>(
    db_, "erase_user", std::move(done),
    [plan = std::move(plan)](pqxx::connection& conn) -> result<erasure_outcome> {
      pqxx::work tx{conn};
      // The account row locked first: logins, refreshes and a second erasure wait for us.
      auto user = tx.exec_params("select 1 from users where id = $1 for update", plan.user.str());
      if (user.empty())
        return failure{errc::not_found, "no such user"};
      std::vector<std::string> escrows;
      for (auto& c : plan.contracts)
        escrows.push_back("escrow:" + c.str());
      auto money = tx.exec_params(
        "select (select count(*) from ledger_transfers where state = 'pending'"
        "         and (debit_account like $1 or credit_account like $1)),"
        "       (select count(*) from ledger_accounts where id = any($2::text[])"
        "         and (credits_posted <> debits_posted or credits_pending <> 0"
        "              or debits_pending <> 0))"
        "     + (select count(*) from ledger_transfers where state = 'pending'"
        "         and entity_id = any($3::uuid[]))",
        "user:" + plan.user.str() + ":%", array_literal(escrows), uuid_array(plan.contracts));
      if (money[0][0].as<int64_t>() > 0)
        return erasure_outcome{false, "a withdrawal is pending; erase the account once it is paid"};
      if (money[0][1].as<int64_t>() > 0)
        return erasure_outcome{false, "a contract holds money; erase the account once it is settled"};
      for (auto step : erasure_steps)
        step(tx, plan);
      tx.commit();
      return erasure_outcome{true, {}};
    });
}

} // namespace pactum::persistence
