// runtime: analytics (docs/api.md, "Analytics"): the pipeline that classifies the raw tracking
// events (migration 0022) with the fraud detector and folds the valid ones into the rollups
// (migration 0027), and the campaign reports over those rollups.
//
// Threads: the pipeline has one ticker thread of its own that only waits — for its interval and
// for each batch's pool job. Every query, and the detector itself, runs inside the persistence
// pool jobs, one at a time (the ticker waits for each), so the detector needs no lock and no
// CAF or Asio thread ever blocks. Reports run on the pool too; policy checks are inline.
//
// Live figures (analytics.subscribe, docs/protocol.md "Analytics"): one hub actor holds the
// subscriptions (campaign -> sessions, monitored). The ticker tells it which campaigns a batch
// changed; it reloads their figures on the pool, at most once per `push_interval` per campaign
// (a burst of batches coalesces into one push), and sends each subscriber the frame.

#include <algorithm>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "pactum/actors/fraud.hpp"
#include "pactum/actors/policy.hpp"
#include "pactum/actors/runtime.hpp"
#include "pactum/persistence/analytics_store.hpp"
#include "pactum/persistence/database.hpp"
#include "entity_support.hpp"
#include "services.hpp"

namespace pactum::actors {

namespace {

using json = nlohmann::json;
using protocol::error_code;
using json_answer = std::function<void(expected<std::string, api_error>)>;

api_error make_error(int status, error_code code, std::string msg) {
  return api_error{status, code, std::move(msg), {}};
}

api_error bad_param(std::string field, std::string msg) {
  auto e = make_error(400, error_code::bad_request, "some fields are invalid");
  e.fields.emplace_back(std::move(field), std::move(msg));
  return e;
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

fraud::click to_click(const persistence::tracked_click& c) {
  return fraud::click{c.id, c.at, c.code, c.creator.str(), c.client_hash, c.user_agent};
}

fraud::reason parse_reason(const std::string& text) {
  for (auto r : {fraud::reason::bot_agent, fraud::reason::repeat_click, fraud::reason::velocity_client,
                 fraud::reason::velocity_agent, fraud::reason::velocity_creator})
    if (fraud::to_string(r) == text)
      return r;
  return fraud::reason::none;
}

/// Blocks the calling (ticker) thread until a pool job answers.
template <class T, class Start>
persistence::result<T> wait_for(Start start) {
  auto p = std::make_shared<std::promise<persistence::result<T>>>();
  auto f = p->get_future();
  start([p](persistence::result<T> r) { p->set_value(std::move(r)); });
  return f.get();
}

struct figures {
  int64_t clicks = 0, unique_clicks = 0, views = 0, conversions = 0, revenue = 0, spend = 0;
  int64_t invalid_clicks = 0, invalid_conversions = 0;
  void add(const persistence::rollup_row& r) {
    clicks += r.clicks;
    unique_clicks += r.unique_clicks;
    views += r.views;
    conversions += r.conversions;
    revenue += r.revenue;
    spend += r.spend;
    invalid_clicks += r.invalid_clicks;
    invalid_conversions += r.invalid_conversions;
  }
  json to_json() const {
    auto ratio = [](double a, int64_t b) { return b == 0 ? json(nullptr) : json(a / static_cast<double>(b)); };
    return json{{"clicks", clicks},
                {"unique_clicks", unique_clicks},
                {"views", views},
                {"conversions", conversions},
                {"revenue", revenue},
                {"spend", spend},
                {"invalid_clicks", invalid_clicks},
                {"invalid_conversions", invalid_conversions},
                {"cpc", ratio(static_cast<double>(spend), clicks)},
                {"cpv", ratio(static_cast<double>(spend), views)},
                {"cpa", ratio(static_cast<double>(spend), conversions)},
                {"roi", ratio(static_cast<double>(revenue - spend), spend)}};
  }
};

/// The live view of a campaign: `totals` and `creators` as the performance report has them, over
/// all of the campaign's rollups.
json live_figures(const uuid& campaign, const std::vector<persistence::rollup_row>& rows) {
  figures total;
  std::map<std::string, std::pair<std::string, figures>> per_creator;
  for (auto& r : rows) {
    total.add(r);
    auto& pc = per_creator[r.creator.str()];
    pc.first = r.display_name;
    pc.second.add(r);
  }
  json creators = json::array();
  for (auto& [id, pc] : per_creator) {
    auto j = pc.second.to_json();
    j["creator"] = json{{"id", id}, {"display_name", pc.first}};
    creators.push_back(std::move(j));
  }
  return json{{"campaign", campaign.str()}, {"totals", total.to_json()}, {"creators", std::move(creators)}};
}

constexpr millis all_time_end = 253'402'300'799'000; // 9999-12-31T23:59:59Z

/// Loads the live view of `campaign` on the pool; `done` runs on a pool thread.
void load_live_figures(persistence::database& db, uuid campaign,
                       std::function<void(expected<std::string, caf::error>)> done) {
  persistence::load_rollups(db, campaign, 0, all_time_end, "day",
                            [campaign, done](persistence::result<std::vector<persistence::rollup_row>> rows) {
                              if (!rows)
                                return done(refuse(from_persistence(rows.error().code),
                                                   "could not read the campaign's figures; retry"));
                              done(live_figures(campaign, *rows).dump(-1, ' ', false, json::error_handler_t::replace));
                            });
}

/// The hub of live analytics subscriptions.
struct hub_state {
  static inline const char* name = "analytics-hub";
  struct campaign_subs {
    std::set<caf::actor> sessions;
    caf::actor_clock::time_point last_push{};
    bool scheduled = false; ///< an apush timer is pending
    bool loading = false;   ///< figures are being read for a push
    bool dirty = false;     ///< changed since the last read started
  };
  struct pending_sub {
    caf::response_promise rp;
    uuid campaign;
    caf::actor subscriber;
    uint64_t changes_at_start = 0;
  };
  services* svc = nullptr;
  caf::timespan interval{};
  size_t max_per_session = 0;
  std::map<uuid, campaign_subs> campaigns;
  std::map<caf::actor, std::set<uuid>> sessions;
  std::map<uint64_t, pending_sub> pending;
  uint64_t next_ticket = 0;
  uint64_t changes = 0; ///< change notices received, to catch one that raced a subscribe's read
};

using hub_ptr = caf::stateful_actor<hub_state>*;

void unsubscribe_session(hub_ptr self, const caf::actor& session, const uuid& campaign) {
  auto& st = self->state;
  if (auto c = st.campaigns.find(campaign); c != st.campaigns.end()) {
    c->second.sessions.erase(session);
    if (c->second.sessions.empty() && !c->second.loading && !c->second.scheduled)
      st.campaigns.erase(c);
  }
  if (auto s = st.sessions.find(session); s != st.sessions.end()) {
    s->second.erase(campaign);
    if (s->second.empty()) {
      self->demonitor(session);
      st.sessions.erase(s);
    }
  }
}

void start_push(hub_ptr self, const uuid& campaign) {
  auto& c = self->state.campaigns[campaign];
  c.dirty = false;
  c.loading = true;
  auto me = caf::actor_cast<caf::actor>(self);
  load_live_figures(*self->state.svc->db, campaign, [me, campaign](expected<std::string, caf::error> v) {
    caf::anon_send(me, afigures_atom_v, campaign, v ? std::move(*v) : std::string{});
  });
}

/// A push is due for `campaign`: now if the last one is older than the interval, else when it is.
void push_due(hub_ptr self, const uuid& campaign) {
  auto& st = self->state;
  auto i = st.campaigns.find(campaign);
  if (i == st.campaigns.end() || i->second.sessions.empty())
    return;
  auto& c = i->second;
  c.dirty = true;
  if (c.loading || c.scheduled)
    return; // the read in progress is followed by another (dirty); the timer will read
  auto since = self->clock().now() - c.last_push;
  if (since >= st.interval)
    return start_push(self, campaign);
  c.scheduled = true;
  self->delayed_send(self, st.interval - since, apush_atom_v, campaign);
}

caf::behavior analytics_hub(hub_ptr self, services* svc, caf::timespan interval, size_t max_per_session) {
  auto& st = self->state;
  st.svc = svc;
  st.interval = interval;
  st.max_per_session = max_per_session;
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    auto s = std::find_if(st.sessions.begin(), st.sessions.end(),
                          [&](const auto& kv) { return kv.first.address() == dm.source; });
    if (s == st.sessions.end())
      return;
    auto who = s->first;
    auto subscribed = s->second;
    for (auto& campaign : subscribed)
      unsubscribe_session(self, who, campaign);
  });
  return {
    [=](analytics_atom, analytics_subscribe& s) -> caf::result<std::string> {
      auto& st = self->state;
      if (s.unsubscribe) {
        unsubscribe_session(self, s.subscriber, s.campaign);
        return json{{"campaign", s.campaign.str()}}.dump();
      }
      auto have = st.sessions.find(s.subscriber);
      size_t holding = have == st.sessions.end() ? 0 : have->second.size();
      bool already = have != st.sessions.end() && have->second.count(s.campaign) > 0;
      if (!already && holding >= st.max_per_session)
        return refuse(error_code::limit_reached, "at most " + std::to_string(st.max_per_session)
                                                   + " analytics subscriptions per connection");
      auto rp = self->make_response_promise();
      auto ticket = ++st.next_ticket;
      st.pending.emplace(ticket, hub_state::pending_sub{rp, s.campaign, s.subscriber, st.changes});
      auto me = caf::actor_cast<caf::actor>(self);
      auto* db = st.svc->db;
      auto campaign = s.campaign;
      auto user = s.user;
      auto role = policy::parse_role(s.role);
      auto fail = [me, ticket](caf::error e) { caf::anon_send(me, aloaded_atom_v, ticket, std::move(e)); };
      persistence::load_analytics_campaign(
        *db, campaign,
        [=](persistence::result<std::optional<persistence::analytics_campaign>> c) {
          if (!c)
            return fail(refuse(from_persistence(c.error().code), "could not read the campaign; retry"));
          if (!c.value())
            return fail(refuse(error_code::not_found, "no such campaign"));
          auto rel = (*c)->brand == user ? policy::relation::owner : policy::relation::stranger;
          if (auto no = policy::decide(policy::action::analytics_performance, role, rel))
            return fail(refuse(no->code, std::string{no->message}));
          load_live_figures(*db, campaign, [me, ticket, fail](expected<std::string, caf::error> v) {
            if (!v)
              return fail(v.error());
            caf::anon_send(me, aloaded_atom_v, ticket, std::move(*v));
          });
        });
      return rp;
    },
    [=](aloaded_atom, uint64_t ticket, std::string& view) {
      auto& st = self->state;
      auto p = st.pending.find(ticket);
      if (p == st.pending.end())
        return;
      auto sub = std::move(p->second);
      st.pending.erase(p);
      auto& mine = st.sessions[sub.subscriber];
      if (!mine.count(sub.campaign) && mine.size() >= st.max_per_session) {
        if (mine.empty())
          st.sessions.erase(sub.subscriber);
        sub.rp.deliver(refuse(error_code::limit_reached, "at most " + std::to_string(st.max_per_session)
                                                           + " analytics subscriptions per connection"));
        return;
      }
      if (mine.empty())
        self->monitor(sub.subscriber);
      mine.insert(sub.campaign);
      st.campaigns[sub.campaign].sessions.insert(sub.subscriber);
      sub.rp.deliver(std::move(view));
      // A batch that committed while the view was read may be missing from it: push again.
      if (st.changes != sub.changes_at_start)
        push_due(self, sub.campaign);
    },
    [=](aloaded_atom, uint64_t ticket, caf::error& err) {
      auto& st = self->state;
      auto p = st.pending.find(ticket);
      if (p == st.pending.end())
        return;
      p->second.rp.deliver(std::move(err));
      st.pending.erase(p);
    },
    [=](achanged_atom, const uuid& campaign) {
      ++self->state.changes;
      push_due(self, campaign);
    },
    [=](apush_atom, const uuid& campaign) {
      auto i = self->state.campaigns.find(campaign);
      if (i == self->state.campaigns.end())
        return;
      i->second.scheduled = false;
      if (i->second.sessions.empty()) {
        if (!i->second.loading)
          self->state.campaigns.erase(i);
        return;
      }
      start_push(self, campaign);
    },
    [=](afigures_atom, const uuid& campaign, const std::string& view) {
      auto& st = self->state;
      auto i = st.campaigns.find(campaign);
      if (i == st.campaigns.end())
        return;
      auto& c = i->second;
      c.loading = false;
      if (c.sessions.empty()) {
        if (!c.scheduled)
          st.campaigns.erase(i);
        return;
      }
      if (view.empty()) {
        spdlog::warn("analytics: live figures of campaign {} could not be read", campaign.str());
      } else {
        auto ev = json::parse(view);
        ev["type"] = "analytics.updated";
        auto bytes = json::to_msgpack(ev);
        auto frame = std::make_shared<protocol::push_frame>(
          "analytics:" + campaign.str(), 0, std::make_shared<const std::string>(bytes.begin(), bytes.end()));
        for (auto& s : c.sessions)
          self->send(s, notify_atom_v, protocol::push_frame_ptr{frame});
      }
      c.last_push = self->clock().now();
      if (c.dirty) {
        c.dirty = false;
        push_due(self, campaign); // schedules the next read one interval after this push
      }
    },
  };
}

millis bucket_length(const std::string& unit) {
  if (unit == "minute")
    return 60'000;
  if (unit == "hour")
    return 3'600'000;
  if (unit == "day")
    return 86'400'000;
  return 0;
}

} // namespace

/// The pipeline: settings, the detector (touched only inside pool jobs, one at a time), and the
/// ticker thread.
struct runtime::analytics_state {
  analytics_state(persistence::database& d, analytics_settings s)
    : db(d), settings(std::move(s)), detector(settings.fraud) {}

  ~analytics_state() {
    {
      std::lock_guard<std::mutex> guard{mtx};
      stopping = true;
    }
    cv.notify_all();
    if (ticker.joinable())
      ticker.join();
    if (hub)
      caf::anon_send_exit(hub, caf::exit_reason::user_shutdown);
  }

  /// Tells the hub which campaigns a committed batch changed.
  void changed(const std::vector<uuid>& campaigns) {
    if (hub)
      for (auto& c : campaigns)
        caf::anon_send(hub, achanged_atom_v, c);
  }

  /// Sleeps `d` unless stopping; false when stopping.
  bool pause(std::chrono::milliseconds d) {
    std::unique_lock<std::mutex> lock{mtx};
    return !cv.wait_for(lock, d, [this] { return stopping; });
  }

  bool stopped() {
    std::lock_guard<std::mutex> guard{mtx};
    return stopping;
  }

  void rebuild() {
    auto since = now_millis() - static_cast<millis>(settings.rebuild_window.count());
    auto rows = wait_for<std::vector<persistence::tracked_click>>([&](auto done) {
      persistence::recent_classified_clicks(db, since, settings.rebuild_max, std::move(done));
    });
    if (!rows) {
      spdlog::warn("analytics: the detector starts empty; recent clicks did not load: {}", rows.error().message);
      return;
    }
    for (auto& c : *rows)
      detector.replay(to_click(c), parse_reason(c.reason));
    spdlog::info("analytics: the fraud detector replayed {} recent clicks", rows->size());
  }

  /// One round: clicks until caught up, then the conversions received before that point.
  void tick() {
    millis caught_up_at = 0;
    while (!stopped()) {
      auto r = wait_for<persistence::analytics_batch>([&](auto done) {
        persistence::classify_pending_clicks(
          db, settings.batch,
          [this](const std::vector<persistence::tracked_click>& clicks) {
            std::vector<std::string> reasons;
            reasons.reserve(clicks.size());
            for (auto& c : clicks)
              reasons.emplace_back(fraud::to_string(detector.classify(to_click(c))));
            return reasons;
          },
          std::move(done));
      });
      if (!r) {
        // The detector learned from a batch that did not commit: forget it, and learn again from
        // what is stored, so those clicks are judged afresh (not as repeats of themselves).
        spdlog::warn("analytics: classifying clicks failed: {}", r.error().message);
        detector = fraud::detector{settings.fraud};
        rebuild();
        return;
      }
      if (r->processed > 0)
        spdlog::debug("analytics: {} clicks classified, {} invalid", r->processed, r->invalid);
      changed(r->campaigns);
      if (r->processed < settings.batch) {
        caught_up_at = r->read_at;
        break;
      }
    }
    // A conversion is posted after its click was served: every conversion received before the
    // moment the click backlog was empty finds its click already classified.
    while (caught_up_at > 0 && !stopped()) {
      auto r = wait_for<persistence::analytics_batch>([&](auto done) {
        persistence::attribute_pending_conversions(db, settings.batch, caught_up_at,
                                                   settings.fraud.attribution_window, std::move(done));
      });
      if (!r) {
        spdlog::warn("analytics: attributing conversions failed: {}", r.error().message);
        return;
      }
      changed(r->campaigns);
      if (r->processed < settings.batch)
        break;
    }
  }

  void run() {
    rebuild();
    while (pause(settings.interval))
      tick();
  }

  persistence::database& db;
  analytics_settings settings;
  fraud::detector detector;
  std::mutex mtx;
  std::condition_variable cv;
  bool stopping = false;
  std::thread ticker;
  caf::actor hub; ///< live figures (set before the ticker starts)
};

void runtime::start_analytics(analytics_settings settings) {
  if (analytics_)
    return;
  analytics_ = std::make_shared<analytics_state>(database_(), std::move(settings));
  auto* st = analytics_.get();
  auto& svc = services_();
  auto interval = std::chrono::duration_cast<caf::timespan>(st->settings.push_interval);
  st->hub = svc.directory->home_system().spawn(analytics_hub, &svc, interval,
                                               std::max<size_t>(st->settings.max_subscriptions, 1));
  svc.analytics = st->hub;
  st->ticker = std::thread{[st] { st->run(); }};
}

void runtime::campaign_performance(principal who, uuid campaign, int64_t from, int64_t to, std::string bucket,
                                   json_answer done) {
  auto len = bucket_length(bucket);
  if (len == 0)
    return done(bad_param("bucket", "must be minute, hour or day"));
  if (from < 0 || to <= from)
    return done(bad_param("from", "must be before to"));
  auto max_points = analytics_ ? analytics_->settings.report_max_points : analytics_settings{}.report_max_points;
  if ((to - from) / len + 1 > static_cast<int64_t>(max_points))
    return done(bad_param("bucket", "the range spans more than " + std::to_string(max_points)
                                      + " buckets: use a larger bucket or a shorter range"));
  auto* db = &database_();
  persistence::load_analytics_campaign(
    *db, campaign,
    [db, who, campaign, from, to, bucket, done](persistence::result<std::optional<persistence::analytics_campaign>> c) {
      if (!c)
        return done(storage_error(c.error()));
      auto role = policy::parse_role(who.role);
      if (!c.value()) {
        if (role == policy::role::anonymous)
          return done(make_error(401, error_code::unauthorized, "missing or invalid token"));
        return done(make_error(404, error_code::not_found, "no such campaign"));
      }
      auto info = **c;
      auto rel = info.brand == who.user ? policy::relation::owner : policy::relation::stranger;
      if (auto no = policy::decide(policy::action::analytics_performance, role, rel))
        return done(make_error(no->status, no->code, std::string{no->message}));
      persistence::load_rollups(
        *db, campaign, from, to, bucket,
        [campaign, info, from, to, bucket, done](persistence::result<std::vector<persistence::rollup_row>> rows) {
          if (!rows)
            return done(storage_error(rows.error()));
          figures total;
          std::map<std::string, std::pair<std::string, figures>> per_creator;
          std::map<millis, figures> series;
          for (auto& r : *rows) {
            total.add(r);
            auto& pc = per_creator[r.creator.str()];
            pc.first = r.display_name;
            pc.second.add(r);
            series[r.bucket].add(r);
          }
          json creators = json::array();
          for (auto& [id, pc] : per_creator) {
            auto j = pc.second.to_json();
            j["creator"] = json{{"id", id}, {"display_name", pc.first}};
            creators.push_back(std::move(j));
          }
          json points = json::array();
          for (auto& [b, f] : series) {
            auto j = f.to_json();
            j["bucket"] = b;
            points.push_back(std::move(j));
          }
          json out{{"campaign", campaign.str()},
                   {"pricing_model", info.pricing_model},
                   {"rate", info.rate},
                   {"currency", info.currency},
                   {"from", from},
                   {"to", to},
                   {"bucket", bucket},
                   {"totals", total.to_json()},
                   {"creators", std::move(creators)},
                   {"series", std::move(points)}};
          done(out.dump(-1, ' ', false, json::error_handler_t::replace));
        });
    });
}

void runtime::campaign_invalid_traffic(principal who, uuid campaign, std::string kind, int64_t before, size_t limit,
                                       json_answer done) {
  if (kind.empty())
    kind = "click";
  if (kind != "click" && kind != "conversion")
    return done(bad_param("kind", "must be click or conversion"));
  auto page_max = analytics_ ? analytics_->settings.invalid_page_max : analytics_settings{}.invalid_page_max;
  if (limit < 1 || limit > page_max)
    return done(bad_param("limit", "must be a whole number from 1 to " + std::to_string(page_max)));
  if (before < 0)
    return done(bad_param("before", "must be a positive id"));
  auto* db = &database_();
  persistence::load_analytics_campaign(
    *db, campaign,
    [db, who, campaign, kind, before, limit, done](persistence::result<std::optional<persistence::analytics_campaign>> c) {
      if (!c)
        return done(storage_error(c.error()));
      auto role = policy::parse_role(who.role);
      if (!c.value()) {
        if (role == policy::role::anonymous)
          return done(make_error(401, error_code::unauthorized, "missing or invalid token"));
        return done(make_error(404, error_code::not_found, "no such campaign"));
      }
      auto rel = (*c)->brand == who.user ? policy::relation::owner : policy::relation::stranger;
      if (auto no = policy::decide(policy::action::analytics_invalid_traffic, role, rel))
        return done(make_error(no->status, no->code, std::string{no->message}));
      persistence::load_invalid_events(
        *db, campaign, kind, before, limit,
        [campaign, kind, done](persistence::result<std::vector<persistence::invalid_event_row>> rows) {
          if (!rows)
            return done(storage_error(rows.error()));
          json events = json::array();
          for (auto& e : *rows) {
            json j{{"id", e.id},
                   {"kind", e.kind},
                   {"at", e.at},
                   {"creator", e.creator.is_nil() ? json(nullptr) : json(e.creator.str())},
                   {"code", e.code},
                   {"reason", e.reason}};
            if (e.kind == "click") {
              j["user_agent"] = e.user_agent;
              j["referrer"] = e.referrer;
            } else {
              j["order_id"] = e.order_id;
              j["amount"] = e.amount;
              j["currency"] = e.currency;
            }
            events.push_back(std::move(j));
          }
          json out{{"campaign", campaign.str()}, {"kind", kind}, {"events", std::move(events)}};
          out["next_before"] = rows->empty() ? json(nullptr) : json(rows->back().id);
          done(out.dump(-1, ' ', false, json::error_handler_t::replace));
        });
    });
}

} // namespace pactum::actors
