// runtime: analytics (docs/api.md, "Analytics"): the pipeline that classifies the raw tracking
// events (migration 0022) with the fraud detector and folds the valid ones into the rollups
// (migration 0027), and the campaign reports over those rollups.
//
// Threads: the pipeline has one ticker thread of its own that only waits — for its interval and
// for each batch's pool job. Every query, and the detector itself, runs inside the persistence
// pool jobs, one at a time (the ticker waits for each), so the detector needs no lock and no
// CAF or Asio thread ever blocks. Reports run on the pool too; policy checks are inline.

#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "pactum/actors/fraud.hpp"
#include "pactum/actors/policy.hpp"
#include "pactum/actors/runtime.hpp"
#include "pactum/persistence/analytics_store.hpp"
#include "pactum/persistence/database.hpp"

namespace pactum::actors {

namespace {

using json = nlohmann::json;
using protocol::error_code;
using answer = std::function<void(expected<std::string, api_error>)>;

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
};

void runtime::start_analytics(analytics_settings settings) {
  if (analytics_)
    return;
  analytics_ = std::make_shared<analytics_state>(database_(), std::move(settings));
  auto* st = analytics_.get();
  st->ticker = std::thread{[st] { st->run(); }};
}

void runtime::campaign_performance(principal who, uuid campaign, int64_t from, int64_t to, std::string bucket,
                                   answer done) {
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
                                       answer done) {
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
