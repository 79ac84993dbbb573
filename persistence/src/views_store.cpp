#include "pactum/persistence/views_store.hpp"

#include <pqxx/pqxx>

#include "store_support.hpp"

namespace pactum::persistence {

namespace {

using detail::submit;
using detail::to_uuid;

#define PACTUM_TS(param) "('epoch'::timestamptz + " param "::bigint * interval '1 millisecond')"

} // namespace

void track_approved_posts(database& db, std::vector<approved_post> posts, std::function<void(result<size_t>)> done) {
  submit<size_t>(db, "track_approved_posts", std::move(done),
                 [posts = std::move(posts)](pqxx::connection& conn) -> result<size_t> {
                   if (posts.empty())
                     return size_t{0};
                   pqxx::work tx{conn};
                   std::vector<std::string> campaigns, creators, platforms, refs, subs, ats;
                   for (auto& p : posts) {
                     campaigns.push_back(p.campaign.str());
                     subs.push_back(std::to_string(p.submission));
                     creators.push_back(p.creator.str());
                     platforms.push_back(p.platform);
                     refs.push_back(p.post);
                     ats.push_back(std::to_string(p.approved_at));
                   }
                   auto r = tx.exec_params(
                     "insert into tracked_posts (campaign_id, submission, creator_id, platform, post, approved_at)"
                     " select c::uuid, s::bigint, u::uuid, p, r, " PACTUM_TS("a")
                     " from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])"
                     " as v(c, s, u, p, r, a)"
                     " on conflict (campaign_id, submission) do nothing",
                     detail::array_literal(campaigns), detail::array_literal(subs), detail::array_literal(creators),
                     detail::array_literal(platforms), detail::array_literal(refs), detail::array_literal(ats));
                   tx.commit();
                   return static_cast<size_t>(r.affected_rows());
                 });
}

void posts_to_poll(database& db, size_t limit, std::function<void(result<std::vector<tracked_post>>)> done) {
  submit<std::vector<tracked_post>>(
    db, "posts_to_poll", std::move(done), [limit](pqxx::connection& conn) -> result<std::vector<tracked_post>> {
      pqxx::read_transaction tx{conn};
      auto rows = tx.exec_params(
        "select t.campaign_id::text, t.submission, t.creator_id::text, t.platform, t.post"
        " from tracked_posts t join campaigns c on c.id = t.campaign_id"
        " where t.status = 'active' and c.status = 'published'"
        " order by t.polled_at nulls first, t.campaign_id, t.submission limit $1",
        static_cast<int64_t>(limit));
      std::vector<tracked_post> out;
      out.reserve(rows.size());
      for (const auto& r : rows)
        out.push_back(tracked_post{to_uuid(r[0]), r[1].as<int64_t>(), to_uuid(r[2]), r[3].as<std::string>(),
                                   r[4].as<std::string>()});
      return out;
    });
}

void record_post_views(database& db, tracked_post post, int64_t total, millis at,
                       std::function<void(result<view_observation>)> done) {
  submit<view_observation>(
    db, "record_post_views", std::move(done),
    [post = std::move(post), total, at](pqxx::connection& conn) -> result<view_observation> {
      pqxx::work tx{conn};
      view_observation out;
      // The row is locked: two pollers (or a poller and its restarted self) never count one
      // increase twice.
      auto cur = tx.exec_params(
        "select t.first_total, t.last_total, coalesce(c.pricing_model, ''), coalesce(c.rate, 0)"
        " from tracked_posts t left join campaigns c on c.id = t.campaign_id"
        " where t.campaign_id = $1 and t.submission = $2 and t.status = 'active' for update of t",
        post.campaign.str(), post.submission);
      if (cur.empty())
        return out; // retired meanwhile
      if (cur[0][0].is_null() || cur[0][1].is_null()) {
        tx.exec_params0("update tracked_posts set first_total = $3, last_total = $3, observed_total = $3,"
                        " polled_at = now(), observed_at = " PACTUM_TS("$4") ", failures = 0, last_error = null"
                        " where campaign_id = $1 and submission = $2",
                        post.campaign.str(), post.submission, total, at);
        tx.commit();
        return out;
      }
      auto first = cur[0][0].as<int64_t>();
      auto high = cur[0][1].as<int64_t>();
      auto model = cur[0][2].as<std::string>();
      auto rate = cur[0][3].as<int64_t>();
      if (total > high) {
        out.views = total - high;
        out.changed = true;
        if (model == "cpv")
          // Rounded down over the post's whole counted total, so the sum of the deltas' spend is
          // exactly rate × views / 1,000 (rounded down) whatever the polls' granularity.
          out.spend = tx.exec_params1("select (floor($1::numeric * ($2::bigint - $4::bigint) / 1000)"
                                      " - floor($1::numeric * ($3::bigint - $4::bigint) / 1000))::bigint",
                                      rate, total, high, first)[0]
                        .as<int64_t>();
        tx.exec_params0("insert into content_view_deltas (campaign_id, creator_id, submission, platform, post, at,"
                        " views, total) values ($1, $2, $3, $4, $5, " PACTUM_TS("$6") ", $7, $8)",
                        post.campaign.str(), post.creator.str(), post.submission, post.platform, post.post, at,
                        out.views, total);
        tx.exec_params0("insert into analytics_rollups (campaign_id, creator_id, bucket, views, spend)"
                        " values ($1, $2, date_trunc('minute', " PACTUM_TS("$3") "), $4, $5)"
                        " on conflict (campaign_id, bucket, creator_id) do update set"
                        " views = analytics_rollups.views + excluded.views,"
                        " spend = analytics_rollups.spend + excluded.spend",
                        post.campaign.str(), post.creator.str(), at, out.views, out.spend);
      }
      // A decrease (a platform correcting its count) is no delta: the highest count stays, and
      // views are counted again only above it.
      tx.exec_params0("update tracked_posts set last_total = greatest(last_total, $3), observed_total = $3,"
                      " polled_at = now(), observed_at = " PACTUM_TS("$4") ", failures = 0, last_error = null"
                      " where campaign_id = $1 and submission = $2",
                      post.campaign.str(), post.submission, total, at);
      tx.commit();
      return out;
    });
}

void record_post_failure(database& db, tracked_post post, bool retire, std::string message,
                         std::function<void(result<unit>)> done) {
  submit<unit>(db, "record_post_failure", std::move(done),
               [post = std::move(post), retire, message = std::move(message)](pqxx::connection& conn) -> result<unit> {
                 pqxx::work tx{conn};
                 tx.exec_params0("update tracked_posts set status = case when $3 then 'gone' else status end,"
                                 " polled_at = now(), failures = failures + 1, last_error = left($4, 500)"
                                 " where campaign_id = $1 and submission = $2",
                                 post.campaign.str(), post.submission, retire, message);
                 tx.commit();
                 return unit{};
               });
}

} // namespace pactum::persistence
