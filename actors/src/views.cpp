// runtime: views of approved campaign posts (docs/api.md "Analytics", docs/operations.md "View
// polling"). Two halves:
//  - tracking: when content is approved, the campaign actor hands its submission over
//    (`track_approved_content`) and the post is written to `tracked_posts` (migration 0031) on the
//    persistence pool; the campaign repeats it for all approved submissions on every activation,
//    and the first write wins, so every approved post is tracked exactly once even across crashes.
//  - polling: one poller thread of its own that only waits — for its interval, for each pool job
//    and for each platform call on the social client's executor (the same shape as the analytics
//    ticker, analytics.cpp), so no CAF or Asio thread ever blocks. Each round takes the posts of
//    published campaigns polled longest ago, asks the platform for each post's count within the
//    quota (the client's `fetch_post_stats_async` with a reserve: it never waits, never retries
//    and leaves `quota_reserve` tokens of every platform's bucket to the requests users wait
//    for), and records each answer in ONE transaction (views_store.hpp: the post's counts, the
//    delta row, the rollup), then tells the live analytics hub which campaigns changed.
//
// Lifecycle: started once by pactumd after the analytics pipeline (the hub) and the social
// client; the thread is joined when the runtime is destroyed (before the database stops).

#include "views.hpp"

#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>

#include "message_types.hpp"
#include "pactum/actors/runtime.hpp"
#include "pactum/persistence/views_store.hpp"
#include "pactum/protocol/campaign_events.hpp"
#include "pactum/protocol/profiles.hpp"
#include "pactum/social/client.hpp"
#include "services.hpp"

namespace pactum::actors {

namespace {

namespace pr = protocol;

/// Blocks the calling (poller) thread until a pool job or platform call answers.
template <class R, class Start>
R wait_for(Start start) {
  auto p = std::make_shared<std::promise<R>>();
  auto f = p->get_future();
  start([p](R r) { p->set_value(std::move(r)); });
  return f.get();
}

} // namespace

void track_approved_content(services& svc, const uuid& campaign, std::vector<approved_submission> approved) {
  if (!svc.db || approved.empty())
    return;
  std::vector<persistence::approved_post> posts;
  for (auto& a : approved) {
    if (!a.content)
      continue;
    auto ev = pr::decode_campaign_event("content.submitted", pr::campaign_event_version, *a.content);
    if (!ev || !std::holds_alternative<pr::content_submitted>(ev.value()))
      continue;
    auto& c = std::get<pr::content_submitted>(ev.value());
    // Only posts on a platform the adapter knows ("other" has no counts to poll).
    if (c.content.media.empty() || !pr::profiles::is_platform(c.content.platform))
      continue;
    millis approved_at = svc.now();
    if (a.review) {
      auto r = pr::decode_campaign_event("content.reviewed", pr::campaign_event_version, *a.review);
      if (r && std::holds_alternative<pr::content_reviewed>(r.value()))
        approved_at = std::get<pr::content_reviewed>(r.value()).at;
    }
    posts.push_back({campaign, a.submission, c.by, c.content.platform, c.content.media.front().url, approved_at});
  }
  if (posts.empty())
    return;
  persistence::track_approved_posts(*svc.db, std::move(posts), [campaign](persistence::result<size_t> r) {
    if (!r)
      spdlog::warn("campaign {}: approved posts not tracked for views (retried on its next activation): {}",
                   campaign.str(), r.error().message);
    else if (*r > 0)
      spdlog::debug("campaign {}: {} approved post(s) tracked for views", campaign.str(), *r);
  });
}

/// The poller: settings, the client, the hub, and the thread.
struct runtime::views_state {
  views_state(persistence::database& d, social::client& c, caf::actor h, view_poll_settings s)
    : db(d), client(c), hub(std::move(h)), settings(s) {}

  ~views_state() {
    {
      std::lock_guard<std::mutex> guard{mtx};
      stopping = true;
    }
    cv.notify_all();
    if (poller.joinable())
      poller.join();
  }

  bool pause(std::chrono::milliseconds d) {
    std::unique_lock<std::mutex> lock{mtx};
    return !cv.wait_for(lock, d, [this] { return stopping; });
  }

  bool stopped() {
    std::lock_guard<std::mutex> guard{mtx};
    return stopping;
  }

  /// One round: at most `batch` posts, oldest poll first; a platform whose quota (above the
  /// reserve) is used up is skipped for the rest of the round, its posts stay first in line.
  void round() {
    auto due = wait_for<persistence::result<std::vector<persistence::tracked_post>>>(
      [&](auto done) { persistence::posts_to_poll(db, settings.batch, std::move(done)); });
    if (!due) {
      spdlog::warn("views: tracked posts could not be read: {}", due.error().message);
      return;
    }
    if (!due->empty())
      spdlog::debug("views: polling {} post(s)", due->size());
    std::set<std::string> exhausted;
    for (auto& p : *due) {
      if (stopped())
        return;
      if (exhausted.count(p.platform))
        continue;
      auto r = wait_for<expected<social::post_stats, social::error>>([&](auto done) {
        client.fetch_post_stats_async(p.platform, p.post, settings.quota_reserve, std::move(done));
      });
      if (!r) {
        auto& e = r.error();
        if (e.code == social::errc::rate_limited) {
          spdlog::debug("views: {} quota kept for user requests; polled again next round", p.platform);
          exhausted.insert(p.platform);
          continue;
        }
        if (stopped())
          return;
        bool retire = e.code == social::errc::not_found || e.code == social::errc::invalid_handle;
        if (retire)
          spdlog::info("views: campaign {} submission {}: {} post {} is no longer polled: {}", p.campaign.str(),
                       p.submission, p.platform, p.post, e.message);
        auto w = wait_for<persistence::result<persistence::unit>>([&](auto done) {
          persistence::record_post_failure(db, p, retire, std::string{social::to_string(e.code)} + ": " + e.message,
                                           std::move(done));
        });
        if (!w)
          spdlog::warn("views: a failed poll was not recorded: {}", w.error().message);
        continue;
      }
      auto obs = wait_for<persistence::result<persistence::view_observation>>([&](auto done) {
        persistence::record_post_views(db, p, r->views, r->fetched_at, std::move(done));
      });
      if (!obs) {
        spdlog::warn("views: the count of {} post {} was not recorded (polled again later): {}", p.platform, p.post,
                     obs.error().message);
        continue;
      }
      if (obs->changed && hub)
        caf::anon_send(hub, achanged_atom_v, p.campaign);
    }
  }

  void run() {
    while (pause(settings.interval))
      round();
  }

  persistence::database& db;
  social::client& client;
  caf::actor hub;
  view_poll_settings settings;
  std::mutex mtx;
  std::condition_variable cv;
  bool stopping = false;
  std::thread poller;
};

void runtime::start_view_polling(social::client* client, view_poll_settings settings) {
  if (views_ || settings.interval.count() <= 0)
    return;
  if (!client) {
    spdlog::info("views: no social platform provider; views are not polled");
    return;
  }
  views_ = std::make_shared<views_state>(database_(), *client, services_().analytics, settings);
  auto* st = views_.get();
  st->poller = std::thread{[st] { st->run(); }};
  spdlog::info("views: approved posts are polled every {} ms, at most {} per round, {} tokens per platform kept",
               settings.interval.count(), settings.batch, settings.quota_reserve);
}

} // namespace pactum::actors
