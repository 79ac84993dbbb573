#include "pactum/persistence/settlement_store.hpp"

#include <algorithm>

#include <pqxx/pqxx>

#include "store_support.hpp"

namespace pactum::persistence {

namespace {

using detail::submit;
using detail::to_uuid;

#define PACTUM_MS(expr) "floor(extract(epoch from " expr ") * 1000)::bigint"
#define PACTUM_TS(param) "('epoch'::timestamptz + " param "::bigint * interval '1 millisecond')"

} // namespace

void performance_pricing(database& db, uuid conversation,
                         std::function<void(result<std::optional<campaign_pricing>>)> done) {
  submit<std::optional<campaign_pricing>>(
    db, "performance_pricing", std::move(done),
    [conversation](pqxx::connection& conn) -> result<std::optional<campaign_pricing>> {
      pqxx::read_transaction tx{conn};
      // The most recently linked campaign (report_campaign_budget's rule), then its pricing.
      auto rows = tx.exec_params(
        "select c.id::text, c.pricing_model, c.rate, c.currency, coalesce(" PACTUM_MS("c.ends_at") ", 0)"
        " from campaign_conversations cc join campaigns c on c.id = cc.campaign_id"
        " where cc.conversation_id = $1 order by cc.created_at desc, cc.campaign_id desc limit 1",
        conversation.str());
      if (rows.empty())
        return std::optional<campaign_pricing>{};
      const auto& r = rows[0];
      campaign_pricing p{to_uuid(r[0]), r[1].as<std::string>(), r[2].as<int64_t>(),
                         r[3].as<std::string>(), r[4].as<int64_t>()};
      if ((p.model != "cpc" && p.model != "cpv") || p.rate <= 0)
        return std::optional<campaign_pricing>{};
      return std::optional<campaign_pricing>{std::move(p)};
    });
}

void claim_unbilled(database& db, unbilled_query q, std::function<void(result<unbilled_units>)> done) {
  submit<unbilled_units>(db, "claim_unbilled", std::move(done), [q = std::move(q)](pqxx::connection& conn) -> result<unbilled_units> {
    pqxx::work tx{conn};
    const auto n = static_cast<int64_t>(std::clamp<size_t>(q.limit, 1, 1'000'000));
    const int64_t until = q.until > 0 ? q.until : int64_t{253'402'300'799'999}; // 0: 9999-12-31
    const bool cpc = q.model == "cpc";
    const std::string table = cpc ? "link_clicks" : "content_view_deltas";
    // The contract's unbilled rows in range ($1 campaign, $2 creator, $3 above, $4 since, $5
    // until, $6 contract): unclaimed or its own.
    const std::string mine = " from " + table + " where campaign_id = $1 and creator_id = $2 and billed_at is null"
                             " and id > $3 and at >= " PACTUM_TS("$4") " and at < " PACTUM_TS("$5");
    const std::string unclaimed_or_mine = " and (claimed_by is null or claimed_by = $6)";
    // The rows are locked in id order (every claimer orders the same way, so two claimers wait
    // for each other instead of deadlocking); a row another contract claimed meanwhile is
    // re-checked after its claimer's commit and left out. Clicks: valid ones only, below the
    // oldest click still awaiting its verdict.
    auto rows = tx.exec_params(
      "with picked as (select id" + mine + unclaimed_or_mine
        + (cpc ? " and verdict = 'valid' and id < coalesce((select min(id) from link_clicks where verdict = 'pending'),"
                 " 9223372036854775807)"
               : "")
        + " order by id limit $7 for update),"
          " claimed as (update " + table + " t set claimed_by = $6 from picked where t.id = picked.id"
          " returning t.id" + (cpc ? ", 1::bigint as units" : ", t.views as units") + ")"
          " select coalesce(max(id), 0), coalesce(sum(units), 0)::bigint, count(*) from claimed",
      q.campaign.str(), q.creator.str(), q.after, q.since, until, q.contract.str(), n);
    unbilled_units out{rows[0][0].as<int64_t>(), rows[0][1].as<int64_t>(), rows[0][2].as<int64_t>()};
    if (q.check_complete) {
      // Anything of the contract's in range above what this count reached: a click still
      // awaiting its verdict, a valid one held back behind another campaign's pending click, or
      // rows beyond the limit. (This transaction sees its own claims: those rows are below.)
      const int64_t above = out.rows > 0 ? out.through : q.after;
      auto left = tx.exec_params(
        "select exists (select 1" + mine
          + (cpc ? " and (verdict = 'pending' or (verdict = 'valid'" + unclaimed_or_mine + "))" : unclaimed_or_mine) + ")",
        q.campaign.str(), q.creator.str(), above, q.since, until, q.contract.str());
      out.complete = !left[0][0].as<bool>();
    }
    tx.commit();
    return out;
  });
}

void mark_billed(database& db, uuid contract, uuid campaign, uuid creator, std::string model,
                 millis since, int64_t through, std::function<void(result<int64_t>)> done) {
  submit<int64_t>(
    db, "mark_billed", std::move(done),
    [contract, campaign, creator, model = std::move(model), since,
     through](pqxx::connection& conn) -> result<int64_t> {
      pqxx::work tx{conn};
      // Unclaimed rows in range are rows billed before migration 0035 when they are older than
      // migration 0037 (until then a claim left none behind it); a newer one lies after the
      // contract's end (counts stop there) and is not the contract's.
      const char* table = model == "cpc" ? "link_clicks" : "content_view_deltas";
      auto r = tx.exec_params(std::string{"update "} + table + " set billed_at = now() where campaign_id = $1"
                                + " and creator_id = $2 and billed_at is null"
                                + (model == "cpc" ? " and verdict = 'valid'" : "")
                                + " and (claimed_by = $5 or (claimed_by is null and at < (select at from"
                                  " settlement_epochs where name = 'bounded_counts')))"
                                + " and id <= $3 and at >= " PACTUM_TS("$4"),
                              campaign.str(), creator.str(), through, since, contract.str());
      tx.commit();
      return static_cast<int64_t>(r.affected_rows());
    });
}

void contracts_with_unbilled_units(database& db, size_t limit,
                                   std::function<void(result<std::vector<std::string>>)> done) {
  submit<std::vector<std::string>>(
    db, "contracts_with_unbilled_units", std::move(done),
    [limit](pqxx::connection& conn) -> result<std::vector<std::string>> {
      pqxx::read_transaction tx{conn};
      auto rows = tx.exec_params(
        "with due as ("
        "  select distinct l.campaign_id, l.creator_id from link_clicks l"
        "   join campaigns c on c.id = l.campaign_id"
        "   where c.pricing_model = 'cpc' and l.verdict = 'valid' and l.billed_at is null"
        "  union"
        "  select distinct d.campaign_id, d.creator_id from content_view_deltas d"
        "   join campaigns c on c.id = d.campaign_id"
        "   where c.pricing_model = 'cpv' and d.billed_at is null)"
        " select j.payload from due"
        " join conversations cv on cv.creator_id = due.creator_id"
        " join campaign_conversations cc on cc.conversation_id = cv.id and cc.campaign_id = due.campaign_id"
        " join journal j on j.entity_id = cc.conversation_id and j.event_type = 'offer.accepted'"
        " where not exists (select 1 from campaign_conversations later"
        "   where later.conversation_id = cc.conversation_id"
        "   and (later.created_at, later.campaign_id) > (cc.created_at, cc.campaign_id))"
        " order by j.recorded_at, j.entity_id, j.seq limit $1",
        static_cast<int64_t>(std::clamp<size_t>(limit, 1, 100'000)));
      std::vector<std::string> out;
      out.reserve(rows.size());
      for (const auto& row : rows)
        out.push_back(pqxx::binarystring{row[0]}.str());
      return out;
    });
}

} // namespace pactum::persistence
