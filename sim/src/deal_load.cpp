#include "pactum/sim/deal_load.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <unordered_map>

#include <sys/wait.h>

#include <boost/asio.hpp>

#include "async_common.hpp"
#include "pactum/sim/histogram.hpp"

// How the engine is organised: as the chat engine (chat_load.cpp). Each deal belongs to one
// engine thread (its worker, one io_context), and so do its two sessions; every handler of a deal
// runs there, so a deal's state needs no lock. The main thread creates the accounts, starts the
// workers, waits, then runs the end check and the ledger check. A deal is a chain of operations;
// each is issued when the one before it completed (or, for the first, at the deal's scheduled
// time) and its latency counts from that moment, retries of documented retryable refusals
// included. A refusal that is not retryable, or a dropped session, fails the deal (this scenario
// does not reconnect; `storm` is the one that measures resumption).

namespace pactum::sim {

namespace net = boost::asio;
using namespace detail;

namespace {

constexpr const char* good_card = "4242424242424242";

enum op : int {
  op_campaign_create,
  op_campaign_publish,
  op_apply,
  op_approve_application,
  op_subscribe,
  op_offer,
  op_counter,
  op_accept,
  op_fund,
  op_funded,
  op_deliver,
  op_approve,
  op_released,
  op_refunded,
  op_deal,
  op_notify,
  op_count
};

const char* const op_names[op_count] = {"campaign_create", "campaign_publish", "apply",   "approve_application",
                                        "subscribe",       "offer",            "counter", "accept",
                                        "fund",            "funded",           "deliver", "approve",
                                        "released",        "refunded",         "deal",
                                        "notification"};

/// What one session saw of one stream (seq-ordered, after dropping seqs already processed).
struct stream_view {
  int64_t last = 0;
  int64_t first = 0;
  int64_t gaps = 0;
  // Contract streams are pushed without subscribing; what a session missed (a gap) it reads with
  // contract.get after its last seq, as docs/protocol.md says. Pushed events beyond the gap wait here.
  std::map<int64_t, nlohmann::json> held;
  bool fetching = false;
  int64_t fetched = 0; ///< events this session got from contract.get rather than as pushes
};

struct side {
  account user;
  std::shared_ptr<ws_session> ws;
  std::unordered_map<std::string, stream_view> streams;
  int64_t duplicates = 0;
  /// Notifications received (pushed live, or in notifications.missed): id -> type, and how many
  /// arrived again with an `updated_at` already seen (a duplicate delivery).
  std::map<int64_t, std::string> notifications;
  std::map<int64_t, int64_t> notification_updated;
  int64_t notification_duplicates = 0;
  int64_t conversation_head = -1; ///< from the end check's subscribe
};

struct worker;

struct deal {
  int index = 0;
  bool refund = false;
  worker* home = nullptr;
  side brand, creator;
  int64_t scheduled = 0;
  int64_t due = 0; ///< when the current operation became due
  enum class phase { waiting, running, done, failed } ph = phase::waiting;
  std::string at = "start"; ///< the current step, for failures
  std::string failure;
  int64_t finished = 0;

  std::string campaign, conversation, contract;
  int64_t application = 0;
  int64_t amount = 0;
  int64_t last_offer = 0;
  bool last_by_brand = false;
  int counters_done = 0;
  int offers_by_brand = 0, offers_by_creator = 0;
  // Replies and events can arrive in either order: a step that needs both waits for both.
  int64_t fund_sent = 0, approve_sent = 0, funded_at = 0;
  bool fund_ok = false, funded_seen = false, approve_ok = false, released_seen = false;
  bool refunded_seen = false;

  std::string expected; ///< terminal contract status
  std::string final_status;
  int64_t contract_head = -1;
  int checks_pending = 0;
};

struct worker {
  net::io_context ioc{1};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::thread thread;
  std::vector<deal*> deals; // in scheduled order
  size_t next_start = 0;
  std::optional<net::steady_timer> tick;
  std::optional<net::steady_timer> watchdog;
  bool closing = false;
  std::mt19937 rng{std::random_device{}()};

  std::vector<log_histogram> hist = std::vector<log_histogram>(op_count);
  error_counts errors;
  error_counts fetched_types; // contract events read with contract.get (not seen pushed), by type
  std::vector<std::string> violations;
  int64_t retries = 0;

  void violation(std::string v) {
    if (violations.size() < 100)
      violations.push_back(std::move(v));
    else if (violations.size() == 100)
      violations.push_back("... more violations not listed");
  }
};

class engine {
public:
  explicit engine(const deal_load_config& cfg) : cfg_(cfg) {}
  nlohmann::json run();

private:
  void say(const std::string& line) {
    if (cfg_.progress)
      *cfg_.progress << line << std::endl;
  }
  void post_all(const std::function<void(worker&)>& fn) {
    for (auto& w : workers_)
      net::post(w->ioc, [fn, wp = w.get()] { fn(*wp); });
  }
  void create_accounts();
  void tick(worker& w);
  void watchdog(worker& w);

  // The deal's chain.
  void start(deal& d);
  void publish(deal& d);
  void apply(deal& d);
  void approve_application(deal& d);
  void subscribe(deal& d);
  void offer(deal& d);
  void counter_or_accept(deal& d);
  void fund(deal& d);
  void after_funding(deal& d);
  void deliver(deal& d);
  void approve(deal& d);
  void maybe_released(deal& d);
  void finish(deal& d);
  void fail(deal& d, const std::string& why);
  void on_event(deal& d, side& s, const nlohmann::json& f);
  void on_notification(deal& d, side& s, const nlohmann::json& n);
  /// The notifications `s` must have received for `d` (docs/protocol.md, "Notifications"), by type.
  std::map<std::string, int64_t> expected_notifications(const deal& d, const side& s) const;
  /// Types of `expected` that `s` has not received as often (empty: complete).
  static std::string missing_notifications(const side& s, const std::map<std::string, int64_t>& expected);
  void fill_gap(deal& d, side& s, const std::string& stream);
  void drain_held(deal& d, side& s, const std::string& stream);
  void process(deal& d, side& s, const std::string& stream, int64_t seq, const nlohmann::json& ev);
  void final_check(deal& d);

  /// Completes operation `o` of `d`: records its latency from `d.due`; the next one is due now.
  void completed(deal& d, op o) {
    auto now = now_ns();
    d.home->hist[static_cast<size_t>(o)].record(now - d.due);
    d.due = now;
  }

  /// A WebSocket request of step `o`, retried after documented retryable refusals.
  void ws_op(deal& d, side& s, nlohmann::json msg, op o, std::function<void(const nlohmann::json&)> next);
  /// A REST call of step `o` (2xx: `next(body)`), retried after 429/503/504.
  void rest_op(deal& d, side& s, const std::string& method, const std::string& target, nlohmann::json body, op o,
               std::function<void(const nlohmann::json&)> next);
  void later(deal& d, std::function<void()> fn);

  nlohmann::json terms(int64_t amount) const {
    return {{"amount", amount},
            {"currency", "USD"},
            {"deliverables", nlohmann::json::array({{{"type", "tiktok_duet"}, {"count", 1}}})},
            {"delivery_days", cfg_.delivery_days},
            {"revision_rounds", 1}};
  }

  const deal_load_config& cfg_;
  std::vector<std::unique_ptr<worker>> workers_;
  std::vector<std::unique_ptr<deal>> deals_;
  std::atomic<int64_t> connected_{0}, connect_failures_{0}, finished_{0}, checked_{0};
  std::mutex failure_mtx_;
  std::string connect_failure_;
};

void engine::create_accounts() {
  int total = 2 * cfg_.deals;
  std::atomic<int> next{0};
  std::mutex mtx;
  std::string failure;
  auto body = [&] {
    for (int i = next++; i < total; i = next++) {
      auto& d = *deals_[static_cast<size_t>(i / 2)];
      bool brand = i % 2 == 0;
      for (int attempt = 0;; ++attempt) {
        try {
          (brand ? d.brand : d.creator).user =
            make_account(cfg_.ep, brand ? "brand" : "creator",
                         (brand ? "deal-brand-" : "deal-creator-") + std::to_string(d.index));
          break;
        } catch (const std::exception& ex) {
          if (attempt < 5) {
            std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
            continue;
          }
          std::lock_guard<std::mutex> g{mtx};
          failure = ex.what();
          return;
        }
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < std::max(1, std::min(cfg_.setup_threads, total)); ++t)
    pool.emplace_back(body);
  for (auto& t : pool)
    t.join();
  if (!failure.empty())
    throw std::runtime_error("setup: creating accounts failed: " + failure);
}

void engine::later(deal& d, std::function<void()> fn) {
  auto& w = *d.home;
  ++w.retries;
  auto t = std::make_shared<net::steady_timer>(w.ioc, std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 200)(w.rng)));
  t->async_wait([t, &d, fn = std::move(fn)](boost::system::error_code) {
    if (d.ph == deal::phase::running && !d.home->closing)
      fn();
  });
}

void engine::ws_op(deal& d, side& s, nlohmann::json msg, op o, std::function<void(const nlohmann::json&)> next) {
  d.at = op_names[o];
  s.ws->request(msg, [this, &d, &s, msg, o, next](const nlohmann::json& r) {
    if (d.ph != deal::phase::running)
      return;
    if (r.value("type", "") == "ok") {
      completed(d, o);
      return next(r);
    }
    auto code = r.value("code", "error");
    ++d.home->errors[code];
    if (retryable(code))
      return later(d, [this, &d, &s, msg, o, next] { ws_op(d, s, msg, o, next); });
    fail(d, std::string{op_names[o]} + " refused: " + code + " " + r.value("message", ""));
  });
}

void engine::rest_op(deal& d, side& s, const std::string& method, const std::string& target, nlohmann::json body, op o,
                     std::function<void(const nlohmann::json&)> next) {
  d.at = op_names[o];
  http_async(d.home->ioc, cfg_.ep, method, target, body.dump(), s.user.token,
             [this, &d, &s, method, target, body, o, next](int status, nlohmann::json r, std::string net_error) {
               if (d.ph != deal::phase::running)
                 return;
               if (status >= 200 && status < 300) {
                 completed(d, o);
                 return next(r);
               }
               std::string code = !net_error.empty() ? net_error
                                  : r.is_object() && r.contains("error")
                                    ? r["error"].value("code", "http " + std::to_string(status))
                                    : "http " + std::to_string(status);
               ++d.home->errors[code];
               if (status == 429 || status == 503 || status == 504 || retryable(code))
                 return later(d, [this, &d, &s, method, target, body, o, next] {
                   rest_op(d, s, method, target, body, o, next);
                 });
               fail(d, std::string{op_names[o]} + ": " + std::to_string(status) + " " + (r.is_null() ? net_error : r.dump()));
             });
}

void engine::fail(deal& d, const std::string& why) {
  if (d.ph != deal::phase::running)
    return;
  d.ph = deal::phase::failed;
  d.failure = why;
  d.finished = now_ns();
  d.home->violation("deal " + std::to_string(d.index) + ": " + why);
  ++finished_;
}

void engine::finish(deal& d) {
  if (d.ph != deal::phase::running)
    return;
  d.ph = deal::phase::done;
  d.finished = now_ns();
  d.home->hist[op_deal].record(d.finished - d.scheduled);
  ++finished_;
}

// ---- the chain -----------------------------------------------------------------------------

void engine::start(deal& d) {
  d.ph = deal::phase::running;
  d.due = d.scheduled;
  auto i = std::to_string(d.index);
  nlohmann::json details{{"title", "Sim deal " + i},
                         {"description", "A campaign of the pactum-sim deal scenario"},
                         {"goals", {"awareness"}},
                         {"budget", d.amount * 2},
                         {"currency", "USD"},
                         {"deliverables", nlohmann::json::array({{{"type", "tiktok_duet"}, {"count", 1}}})},
                         {"collaboration_types", {"tiktok_duet"}},
                         {"pricing", {{"model", "flat"}, {"rate", 0}}},
                         {"brief", "Show the product"},
                         {"key", "sim-c-" + i}};
  rest_op(d, d.brand, "POST", "/api/v1/brands/campaigns", details, op_campaign_create, [this, &d](const nlohmann::json& r) {
    d.campaign = r.at("campaign").at("id").get<std::string>();
    publish(d);
  });
}

void engine::publish(deal& d) {
  rest_op(d, d.brand, "POST", "/api/v1/brands/campaigns/" + d.campaign + "/status",
          {{"to", "publish"}, {"key", "sim-p-" + std::to_string(d.index)}}, op_campaign_publish,
          [this, &d](const nlohmann::json&) { apply(d); });
}

void engine::apply(deal& d) {
  rest_op(d, d.creator, "POST", "/api/v1/influencers/campaigns/" + d.campaign + "/apply",
          {{"proposal", "One duet"}, {"amount", d.amount}, {"key", "sim-a-" + std::to_string(d.index)}}, op_apply,
          [this, &d](const nlohmann::json& r) {
            d.application = r.at("application").get<int64_t>();
            approve_application(d);
          });
}

void engine::approve_application(deal& d) {
  rest_op(d, d.brand, "PUT",
          "/api/v1/brands/campaigns/" + d.campaign + "/applications/" + std::to_string(d.application),
          {{"outcome", "approved"}, {"key", "sim-d-" + std::to_string(d.index)}}, op_approve_application,
          [this, &d](const nlohmann::json& r) {
            d.conversation = r.at("conversation").get<std::string>();
            subscribe(d);
          });
}

void engine::subscribe(deal& d) {
  ws_op(d, d.brand, {{"type", "subscribe"}, {"conversation", d.conversation}, {"after", 0}}, op_subscribe,
        [this, &d](const nlohmann::json&) {
          ws_op(d, d.creator, {{"type", "subscribe"}, {"conversation", d.conversation}, {"after", 0}}, op_subscribe,
                [this, &d](const nlohmann::json&) { offer(d); });
        });
}

void engine::offer(deal& d) {
  ws_op(d, d.brand,
        {{"type", "offer.make"}, {"conversation", d.conversation}, {"client_id", "sim-o-" + std::to_string(d.index) + "-0"},
         {"terms", terms(d.amount)}},
        op_offer, [this, &d](const nlohmann::json& r) {
          d.last_offer = r.at("seq").get<int64_t>();
          d.last_by_brand = true;
          ++d.offers_by_brand;
          counter_or_accept(d);
        });
}

void engine::counter_or_accept(deal& d) {
  // The member who did not make the pending offer answers it.
  auto& by = d.last_by_brand ? d.creator : d.brand;
  if (d.counters_done < cfg_.counters) {
    auto n = ++d.counters_done;
    // The creator asks 1 % more, the brand meets them halfway.
    d.amount += d.last_by_brand ? d.amount / 100 : -(d.amount / 200);
    ws_op(d, by,
          {{"type", "offer.make"}, {"conversation", d.conversation},
           {"client_id", "sim-o-" + std::to_string(d.index) + "-" + std::to_string(n)}, {"terms", terms(d.amount)},
           {"counter_to", d.last_offer}},
          op_counter, [this, &d](const nlohmann::json& r) {
            d.last_offer = r.at("seq").get<int64_t>();
            d.last_by_brand = !d.last_by_brand;
            ++(d.last_by_brand ? d.offers_by_brand : d.offers_by_creator);
            counter_or_accept(d);
          });
    return;
  }
  ws_op(d, by, {{"type", "offer.accept"}, {"conversation", d.conversation}, {"offer", d.last_offer}}, op_accept,
        [this, &d](const nlohmann::json& r) {
          d.contract = r.at("contract").get<std::string>();
          if (cfg_.stop_at == "accept") {
            d.expected = "awaiting_funding";
            return finish(d);
          }
          fund(d);
        });
}

void engine::fund(deal& d) {
  d.expected = d.refund ? "refunded" : "released";
  d.fund_sent = now_ns();
  ws_op(d, d.brand,
        {{"type", "contract.fund"}, {"contract", d.contract}, {"key", "sim-f-" + std::to_string(d.index)},
         {"payment_method", good_card}},
        op_fund, [this, &d](const nlohmann::json&) {
          d.fund_ok = true;
          d.at = "funded";
          after_funding(d);
        });
}

void engine::after_funding(deal& d) {
  if (!d.fund_ok || !d.funded_seen)
    return; // the other half is still to come
  d.home->hist[op_funded].record(d.funded_at - d.fund_sent);
  d.due = std::max(d.due, d.funded_at);
  if (d.refund) {
    d.at = "refunded (waiting for the delivery deadline)";
    if (d.refunded_seen)
      finish(d);
    return;
  }
  deliver(d);
}

void engine::deliver(deal& d) {
  ws_op(d, d.creator,
        {{"type", "contract.deliver"}, {"contract", d.contract}, {"key", "sim-v-" + std::to_string(d.index)},
         {"items", nlohmann::json::array({{{"url", "https://tiktok.example/v/" + std::to_string(d.index)}}})}},
        op_deliver, [this, &d](const nlohmann::json&) { approve(d); });
}

void engine::approve(deal& d) {
  d.approve_sent = now_ns();
  ws_op(d, d.brand, {{"type", "contract.approve"}, {"contract", d.contract}, {"key", "sim-r-" + std::to_string(d.index)}},
        op_approve, [this, &d](const nlohmann::json&) {
          d.approve_ok = true;
          d.at = "released";
          maybe_released(d);
        });
}

void engine::maybe_released(deal& d) {
  if (d.approve_ok && d.released_seen)
    finish(d);
}

void engine::on_notification(deal& d, side& s, const nlohmann::json& n) {
  if (!n.is_object() || !n.contains("id") || !n.at("id").is_number_integer())
    return;
  auto id = n.at("id").get<int64_t>();
  auto updated = n.value("updated_at", int64_t{0});
  auto [it, fresh] = s.notification_updated.emplace(id, updated);
  if (!fresh && it->second >= updated) {
    ++s.notification_duplicates; // the same version of a notification came twice
    return;
  }
  it->second = updated;
  s.notifications[id] = n.value("type", "");
  // Latency from the moment the server created it (one machine, one clock) to its arrival here.
  if (fresh) {
    auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
    auto created = n.value("created_at", now_ms);
    d.home->hist[op_notify].record(std::max<int64_t>(0, now_ms - created) * 1'000'000);
  }
}

void engine::on_event(deal& d, side& s, const nlohmann::json& f) {
  if (f.value("type", "") == "event" && f.value("stream", "").rfind("user:", 0) == 0) {
    auto ev = f.value("event", nlohmann::json::object());
    auto type = ev.value("type", "");
    if (type == "notification")
      on_notification(d, s, ev.value("notification", ev));
    else if (type == "notifications.missed")
      for (auto& n : ev.value("notifications", nlohmann::json::array()))
        on_notification(d, s, n);
    return;
  }
  if (f.value("type", "") != "event" || !f.contains("seq") || !f.at("seq").is_number_integer())
    return;
  auto stream = f.value("stream", "");
  bool conv = stream.rfind("conversation:", 0) == 0;
  bool contract = stream.rfind("contract:", 0) == 0;
  if (!conv && !contract)
    return; // campaign streams: each side sees only the events about itself, by design
  auto seq = f.at("seq").get<int64_t>();
  auto& v = s.streams[stream];
  if (seq <= v.last || v.held.count(seq)) {
    ++s.duplicates;
    return;
  }
  auto ev = f.contains("event") ? f.at("event") : nlohmann::json::object();
  if (seq == v.last + 1) {
    process(d, s, stream, seq, ev);
    drain_held(d, s, stream);
    return;
  }
  if (conv) { // a subscribed stream has no gaps (docs/protocol.md, delivery guarantees)
    ++v.gaps;
    d.home->violation("deal " + std::to_string(d.index) + ", " + (&s == &d.brand ? "brand" : "creator") + ", "
                      + stream + ": after seq " + std::to_string(v.last) + " came " + std::to_string(seq) + " (a gap)");
    process(d, s, stream, seq, ev);
    return;
  }
  v.held.emplace(seq, std::move(ev));
  fill_gap(d, s, stream);
}

std::map<std::string, int64_t> engine::expected_notifications(const deal& d, const side& s) const {
  bool brand = &s == &d.brand;
  std::map<std::string, int64_t> e;
  e[brand ? "application.received" : "application.decided"] = 1;
  auto offers_to_me = brand ? d.offers_by_creator : d.offers_by_brand;
  if (offers_to_me > 0)
    e["offer.made"] = offers_to_me;
  if (!d.contract.empty() && d.last_by_brand == brand)
    e["offer.accepted"] = 1; // the accepted offer was mine
  if (d.expected == "released" || d.expected == "refunded") {
    e["contract.funded"] = 1;
    e["contract." + d.expected] = 1;
  }
  return e;
}

std::string engine::missing_notifications(const side& s, const std::map<std::string, int64_t>& expected) {
  std::map<std::string, int64_t> got;
  for (auto& [id, type] : s.notifications)
    ++got[type];
  std::string out;
  for (auto& [type, n] : expected)
    if (got[type] != n)
      out += (out.empty() ? "" : ", ") + type + " " + std::to_string(got[type]) + "/" + std::to_string(n);
  return out;
}

void engine::fill_gap(deal& d, side& s, const std::string& stream) {
  auto& v = s.streams[stream];
  if (v.fetching || d.home->closing)
    return;
  v.fetching = true;
  s.ws->request({{"type", "contract.get"}, {"contract", stream.substr(9)}, {"after", v.last}},
                [this, &d, &s, stream](const nlohmann::json& r) {
                  auto& v = s.streams[stream];
                  v.fetching = false;
                  if (r.value("type", "") != "ok") {
                    ++d.home->errors["contract.get: " + r.value("code", "error")];
                    return;
                  }
                  for (auto& e : r.value("events", nlohmann::json::array())) {
                    auto seq = e.value("seq", int64_t{0});
                    if (seq == v.last + 1) {
                      v.held.erase(seq);
                      ++v.fetched;
                      ++d.home->fetched_types[e.value("event", nlohmann::json::object()).value("type", "?")];
                      process(d, s, stream, seq, e.value("event", nlohmann::json::object()));
                    }
                  }
                  drain_held(d, s, stream);
                  if (!v.held.empty()) { // the server's own timeline lacks what it pushed
                    ++v.gaps;
                    d.home->violation("deal " + std::to_string(d.index) + ", " + stream + ": seq "
                                      + std::to_string(v.held.begin()->first) + " pushed, but contract.get after "
                                      + std::to_string(v.last) + " does not lead to it");
                    auto [seq, ev] = *v.held.begin();
                    v.held.erase(v.held.begin());
                    process(d, s, stream, seq, ev);
                    drain_held(d, s, stream);
                  }
                });
}

void engine::drain_held(deal& d, side& s, const std::string& stream) {
  auto& v = s.streams[stream];
  while (!v.held.empty() && v.held.begin()->first == v.last + 1) {
    auto [seq, ev] = *v.held.begin();
    v.held.erase(v.held.begin());
    process(d, s, stream, seq, ev);
  }
  if (!v.held.empty())
    fill_gap(d, s, stream);
}

void engine::process(deal& d, side& s, const std::string& stream, int64_t seq, const nlohmann::json& ev) {
  auto& v = s.streams[stream];
  if (v.first == 0)
    v.first = seq;
  v.last = seq;
  if (stream.rfind("contract:", 0) != 0 || d.ph != deal::phase::running)
    return;
  auto type = ev.value("type", "");
  auto now = now_ns();
  if (&s == &d.brand && type == "contract.funded" && !d.funded_seen) {
    d.funded_seen = true;
    d.funded_at = now;
    after_funding(d);
  } else if (&s == &d.brand && type == "contract.refunded" && !d.refunded_seen) {
    d.refunded_seen = true;
    d.home->hist[op_refunded].record(now - (d.funded_at ? d.funded_at : d.fund_sent));
    if (d.funded_seen && d.fund_ok)
      finish(d);
  } else if (&s == &d.creator && type == "contract.released" && !d.released_seen) {
    d.released_seen = true;
    d.home->hist[op_released].record(now - (d.approve_sent ? d.approve_sent : now));
    maybe_released(d);
  }
}

// ---- the end check -------------------------------------------------------------------------

void engine::final_check(deal& d) {
  // What the server holds: the contract's status and head, and the conversation's head (the
  // subscribe reply; replayed events beyond what a side processed go through on_event).
  auto done = [this, &d] {
    if (--d.checks_pending == 0)
      ++checked_;
  };
  d.checks_pending = 2 + (d.contract.empty() ? 0 : 1);
  for (side* s : {&d.brand, &d.creator}) {
    auto after = s->streams["conversation:" + d.conversation].last;
    s->ws->request({{"type", "subscribe"}, {"conversation", d.conversation}, {"after", after}},
                   [s, done](const nlohmann::json& r) {
                     if (r.value("type", "") == "ok")
                       s->conversation_head = r.value("head", int64_t{-1});
                     done();
                   });
  }
  if (!d.contract.empty())
    d.brand.ws->request({{"type", "contract.get"}, {"contract", d.contract}}, [&d, done](const nlohmann::json& r) {
      if (r.value("type", "") == "ok" && r.contains("contract")) {
        d.final_status = r["contract"].value("status", "");
        d.contract_head = r["contract"].value("head", int64_t{-1});
      }
      done();
    });
}

void engine::tick(worker& w) {
  if (w.closing)
    return;
  auto now = now_ns();
  while (w.next_start < w.deals.size() && w.deals[w.next_start]->scheduled <= now)
    start(*w.deals[w.next_start++]);
  if (w.next_start >= w.deals.size())
    return;
  w.tick->expires_at(at_ns(w.deals[w.next_start]->scheduled));
  w.tick->async_wait([this, &w](boost::system::error_code ec) {
    if (!ec)
      tick(w);
  });
}

void engine::watchdog(worker& w) {
  if (w.closing)
    return;
  auto now = now_ns();
  auto limit = static_cast<int64_t>(cfg_.deal_timeout_seconds * 1e9);
  for (auto* d : w.deals)
    if (d->ph == deal::phase::running && now - d->scheduled > limit)
      fail(*d, "not finished " + std::to_string(cfg_.deal_timeout_seconds) + " s after its start (waiting at " + d->at + ")");
  w.watchdog->expires_after(std::chrono::milliseconds(200));
  w.watchdog->async_wait([this, &w](boost::system::error_code ec) {
    if (!ec)
      watchdog(w);
  });
}

nlohmann::json engine::run() {
  auto since = [](int64_t t) { return static_cast<double>(now_ns() - t) / 1e9; };
  if (cfg_.deals < 1 || cfg_.rate <= 0 || cfg_.counters < 0 || cfg_.refund_share < 0 || cfg_.refund_share > 1)
    throw std::runtime_error("bad configuration");
  auto t0 = now_ns();
  int refunds = static_cast<int>(cfg_.refund_share * cfg_.deals + 0.5);
  for (int i = 0; i < cfg_.deals; ++i) {
    auto d = std::make_unique<deal>();
    d->index = i;
    d->amount = cfg_.amount;
    // Spread the refund deals evenly over the run.
    d->refund = cfg_.stop_at.empty() && refunds > 0
                && (static_cast<int64_t>(i + 1) * refunds / cfg_.deals) != (static_cast<int64_t>(i) * refunds / cfg_.deals);
    deals_.push_back(std::move(d));
  }
  say("setup: " + std::to_string(2 * cfg_.deals) + " accounts for " + std::to_string(cfg_.deals) + " deals");
  create_accounts();
  auto accounts_s = since(t0);
  say("setup: accounts created in " + std::to_string(accounts_s) + " s");

  int nthreads = std::max(1, cfg_.threads);
  for (int t = 0; t < nthreads; ++t) {
    auto w = std::make_unique<worker>();
    w->work.emplace(net::make_work_guard(w->ioc));
    w->tick.emplace(w->ioc);
    w->watchdog.emplace(w->ioc);
    workers_.push_back(std::move(w));
  }
  for (auto& d : deals_) {
    d->home = workers_[static_cast<size_t>(d->index % nthreads)].get();
    d->home->deals.push_back(d.get());
  }
  for (auto& w : workers_)
    w->thread = std::thread([wp = w.get()] {
      for (;;) {
        try {
          wp->ioc.run();
          return;
        } catch (const std::exception& ex) { // a reply of an unexpected shape: noted, and go on
          wp->violation(std::string{"unexpected frame: "} + ex.what());
        }
      }
    });

  auto shutdown = [&] {
    std::atomic<int> closed{0};
    post_all([this, &closed](worker& w) {
      w.closing = true;
      w.tick->cancel();
      w.watchdog->cancel();
      for (auto* d : w.deals)
        for (side* s : {&d->brand, &d->creator})
          if (s->ws)
            s->ws->close(true);
      ++closed;
    });
    while (closed.load() < static_cast<int>(workers_.size()))
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    for (auto& w : workers_) {
      w->work.reset();
      w->ioc.stop();
    }
    for (auto& w : workers_)
      if (w->thread.joinable())
        w->thread.join();
  };

  double load_s = 0, cpu = 0;
  int ledger_status = -1;
  try {
    auto t1 = now_ns();
    post_all([this](worker& w) {
      for (auto* d : w.deals)
        for (side* s : {&d->brand, &d->creator}) {
          s->ws = ws_session::make(w.ioc, cfg_.ep, s->user.token);
          s->ws->on_event([this, d, s](const nlohmann::json& f) { on_event(*d, *s, f); });
          s->ws->on_closed([this, d](const std::string& why) {
            if (!d->home->closing) {
              ++d->home->errors["disconnected: " + why];
              fail(*d, "session dropped: " + why);
            }
          });
          s->ws->connect([this](const std::string& err) {
            if (err.empty()) {
              ++connected_;
            } else {
              std::lock_guard<std::mutex> g{failure_mtx_};
              connect_failure_ = err;
              ++connect_failures_;
            }
          });
        }
    });
    auto sockets = 2 * static_cast<int64_t>(cfg_.deals);
    auto deadline = now_ns() + static_cast<int64_t>((60 + static_cast<double>(sockets) / 100) * 1e9);
    while (connected_.load() + connect_failures_.load() < sockets && now_ns() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (connected_.load() < sockets) {
      std::lock_guard<std::mutex> g{failure_mtx_};
      throw std::runtime_error("setup: " + std::to_string(sockets - connected_.load())
                               + " sockets did not connect: " + connect_failure_);
    }
    say("setup: " + std::to_string(sockets) + " sockets connected in " + std::to_string(since(t1)) + " s");

    auto start = now_ns() + 50'000'000;
    for (auto& d : deals_)
      d->scheduled = start + static_cast<int64_t>(static_cast<double>(d->index) * 1e9 / cfg_.rate);
    auto cpu0 = cpu_seconds();
    post_all([this](worker& w) {
      tick(w);
      watchdog(w);
    });
    say("load: " + std::to_string(cfg_.deals) + " deals at " + std::to_string(cfg_.rate) + " deals/s");
    auto last_scheduled = deals_.back()->scheduled;
    auto hard_end = last_scheduled + static_cast<int64_t>((cfg_.deal_timeout_seconds + 5) * 1e9);
    auto next_say = now_ns() + 1'000'000'000;
    while (finished_.load() < cfg_.deals && now_ns() < hard_end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      if (now_ns() >= next_say) {
        next_say += 1'000'000'000;
        say("load:   finished " + std::to_string(finished_.load()) + " of " + std::to_string(cfg_.deals));
      }
    }
    load_s = since(start);
    cpu = cpu_seconds() - cpu0;

    // The end check: the server's view of each deal, and both sides caught up with it.
    post_all([this](worker& w) {
      w.tick->cancel();
      w.watchdog->cancel();
      for (auto* d : w.deals)
        if (d->ph == deal::phase::running)
          fail(*d, "still running at the end (waiting at " + d->at + ")");
      for (auto* d : w.deals)
        if (d->ph == deal::phase::done)
          final_check(*d);
        else
          ++checked_;
    });
    auto t3 = now_ns();
    while (checked_.load() < cfg_.deals && since(t3) < 30)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    // Give pushed events that are still on their way a moment to arrive.
    auto caught_up = [this] {
      std::atomic<int64_t> behind{0};
      std::atomic<int> answered{0};
      post_all([&](worker& w) {
        int64_t b = 0;
        for (auto* d : w.deals) {
          if (d->ph != deal::phase::done)
            continue;
          for (side* s : {&d->brand, &d->creator}) {
            if (s->streams["conversation:" + d->conversation].last < s->conversation_head)
              ++b;
            if (!d->contract.empty() && s->streams["contract:" + d->contract].last < d->contract_head)
              ++b;
            if (!d->contract.empty() && s->streams["contract:" + d->contract].last < 1)
              fill_gap(*d, *s, "contract:" + d->contract); // nothing was pushed at all
            if (!missing_notifications(*s, expected_notifications(*d, *s)).empty())
              ++b;
          }
        }
        behind += b;
        ++answered;
      });
      while (answered.load() < static_cast<int>(workers_.size()))
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      return behind.load() == 0;
    };
    while (!caught_up() && since(t3) < 35)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));

    if (!cfg_.ledger_check_cmd.empty()) {
      say("check: " + cfg_.ledger_check_cmd);
      int rc = std::system(cfg_.ledger_check_cmd.c_str());
      ledger_status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    }
  } catch (...) {
    shutdown();
    throw;
  }
  shutdown();

  // ---- the verdict, single-threaded now ----
  error_counts errors;
  std::vector<std::string> violations;
  std::vector<log_histogram> hist(op_count);
  int64_t retries = 0;
  error_counts fetched_types;
  for (auto& w : workers_) {
    for (auto& [k, v] : w->fetched_types)
      fetched_types[k] += v;
    for (auto& [k, v] : w->errors)
      errors[k] += v;
    for (auto& v : w->violations)
      if (violations.size() < 100)
        violations.push_back(v);
    for (size_t o = 0; o < op_count; ++o)
      hist[o].merge(w->hist[o]);
    retries += w->retries;
  }
  auto note = [&](const std::string& v) {
    if (violations.size() < 100)
      violations.push_back(v);
  };
  int64_t completed = 0, failed = 0, released = 0, refunded = 0, accepted = 0, wrong_state = 0, behind = 0,
          gaps = 0, duplicates = 0, streams_checked = 0, fetched = 0, notifications = 0,
          notifications_missing = 0, notification_duplicates = 0;
  int64_t first_start = deals_.front()->scheduled, last_finish = first_start;
  for (auto& dp : deals_) {
    auto& d = *dp;
    for (side* s : {&d.brand, &d.creator}) {
      duplicates += s->duplicates;
      notification_duplicates += s->notification_duplicates;
      notifications += static_cast<int64_t>(s->notifications.size());
      for (auto& [name, v] : s->streams)
        gaps += v.gaps;
    }
    if (d.ph != deal::phase::done) {
      ++failed;
      continue;
    }
    ++completed;
    last_finish = std::max(last_finish, d.finished);
    if (d.final_status != d.expected) {
      ++wrong_state;
      note("deal " + std::to_string(d.index) + ": contract " + d.contract + " is '" + d.final_status + "', expected '"
           + d.expected + "'");
    } else {
      released += d.expected == "released";
      refunded += d.expected == "refunded";
      accepted += d.expected == "awaiting_funding";
    }
    for (side* s : {&d.brand, &d.creator}) {
      const char* who = s == &d.brand ? "brand" : "creator";
      auto& cv = s->streams["conversation:" + d.conversation];
      ++streams_checked;
      if (s->conversation_head < 1 || cv.last < s->conversation_head || cv.first != 1 || !cv.held.empty()) {
        ++behind;
        note("deal " + std::to_string(d.index) + ", " + who + ": conversation seen " + std::to_string(cv.first) + ".."
             + std::to_string(cv.last) + ", head " + std::to_string(s->conversation_head));
      }
      if (auto missing = missing_notifications(*s, expected_notifications(d, *s)); !missing.empty()) {
        ++notifications_missing;
        note("deal " + std::to_string(d.index) + ", " + who + ": notifications received/expected: " + missing);
      }
      if (d.contract.empty())
        continue;
      auto& ct = s->streams["contract:" + d.contract];
      ++streams_checked;
      // Contract events are pushed without subscribing; what was missed was read with contract.get.
      fetched += ct.fetched;
      if (d.contract_head < 1 || ct.last < d.contract_head || ct.first != 1 || !ct.held.empty()) {
        ++behind;
        note("deal " + std::to_string(d.index) + ", " + who + ": contract seen " + std::to_string(ct.first) + ".."
             + std::to_string(ct.last) + ", head " + std::to_string(d.contract_head));
      }
    }
  }
  auto window = static_cast<double>(last_finish - first_start) / 1e9;
  nlohmann::json ops = nlohmann::json::object();
  for (size_t o = 0; o < op_count; ++o) {
    if (hist[o].count() == 0)
      continue;
    auto s = hist[o].summary_ms();
    s["throughput_per_s"] = window > 0 ? static_cast<double>(hist[o].count()) / window : 0.0;
    ops[op_names[o]] = s;
  }
  int64_t refused = 0;
  for (auto& [code, n] : errors)
    if (code.rfind("connect:", 0) != 0 && code.rfind("disconnected:", 0) != 0 && code.rfind("http:", 0) != 0
        && !retryable(code) && code.rfind("http 5", 0) != 0)
      refused += n;
  nlohmann::json report{
    {"scenario", cfg_.stop_at == "accept" ? "negotiate" : "deal"},
    {"deals", cfg_.deals},
    {"target_rate", cfg_.rate},
    {"counters", cfg_.counters},
    {"refund_share", cfg_.refund_share},
    {"stop_at", cfg_.stop_at.empty() ? "end" : cfg_.stop_at},
    {"threads", workers_.size()},
    {"sockets", 2 * cfg_.deals},
    {"accounts_seconds", accounts_s},
    {"load_seconds", load_s},
    {"completed", completed},
    {"failed", failed},
    {"released", released},
    {"refunded", refunded},
    {"accepted", accepted},
    {"wrong_state", wrong_state},
    {"completed_per_s", window > 0 ? static_cast<double>(completed) / window : 0.0},
    {"streams_checked", streams_checked},
    {"streams_incomplete", behind},
    {"gaps", gaps},
    {"duplicates_dropped", duplicates},
    {"contract_events_fetched", fetched},
    {"notifications", notifications},
    {"notifications_incomplete", notifications_missing},
    {"notification_duplicates", notification_duplicates},
    {"contract_events_fetched_by_type", fetched_types},
    {"retries", retries},
    {"non_retryable_errors", refused},
    {"operations", ops},
    {"errors", errors},
    {"ledger_check", cfg_.ledger_check_cmd.empty() ? nlohmann::json("not run")
                                                   : nlohmann::json(ledger_status == 0 ? "clean" : "FAILED")},
    {"ledger_check_status", ledger_status},
    {"ledger_check_required", cfg_.require_ledger_check && cfg_.stop_at.empty()},
    {"generator_cpu_seconds", cpu},
    {"generator_cpu_share", load_s > 0 ? cpu / load_s : 0.0},
    {"violations", violations},
  };
  report["passed"] = deal_load_passed(report);
  return report;
}

} // namespace

nlohmann::json run_deal_load(const deal_load_config& cfg) {
  engine e{cfg};
  return e.run();
}

bool deal_load_passed(const nlohmann::json& r) {
  bool ledger_ok = r.value("ledger_check_status", -1) == 0
                   || (!r.value("ledger_check_required", true) && r.value("ledger_check", "") == "not run");
  return r.value("violations", nlohmann::json::array()).empty() && r.value("failed", 1) == 0
         && r.value("completed", -1) == r.value("deals", -2) && r.value("wrong_state", 1) == 0
         && r.value("streams_incomplete", 1) == 0 && r.value("gaps", 1) == 0
         && r.value("notifications_incomplete", 1) == 0 && r.value("notification_duplicates", 1) == 0 && ledger_ok;
}

void print_deal_load_summary(const nlohmann::json& r, std::ostream& out) {
  char buf[300];
  std::snprintf(buf, sizeof buf, "pactum-sim %s: %lld deals at %.1f/s, %lld counter-offers each, refund share %.2f\n",
                r.value("scenario", "deal").c_str(), static_cast<long long>(r.value("deals", 0)),
                r.value("target_rate", 0.0), static_cast<long long>(r.value("counters", 0)), r.value("refund_share", 0.0));
  out << buf;
  std::snprintf(buf, sizeof buf,
                "  completed %lld (released %lld, refunded %lld, accepted %lld), failed %lld, wrong state %lld: %.2f deals/s\n",
                static_cast<long long>(r.value("completed", 0)), static_cast<long long>(r.value("released", 0)),
                static_cast<long long>(r.value("refunded", 0)), static_cast<long long>(r.value("accepted", 0)),
                static_cast<long long>(r.value("failed", 0)), static_cast<long long>(r.value("wrong_state", 0)),
                r.value("completed_per_s", 0.0));
  out << buf;
  for (auto& [name, h] : r["operations"].items()) {
    std::snprintf(buf, sizeof buf, "  %-20s n=%-6lld p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f ms\n", name.c_str(),
                  static_cast<long long>(h.value("count", 0)), h.value("p50_ms", 0.0), h.value("p90_ms", 0.0),
                  h.value("p99_ms", 0.0), h.value("p99_9_ms", 0.0), h.value("max_ms", 0.0));
    out << buf;
  }
  out << "  streams checked " << r["streams_checked"] << ", incomplete " << r["streams_incomplete"] << ", gaps "
      << r["gaps"] << ", duplicates dropped " << r["duplicates_dropped"] << ", contract events read with contract.get "
      << r["contract_events_fetched"] << ", retries " << r["retries"] << "\n";
  out << "  notifications received " << r["notifications"] << ", sides missing some " << r["notifications_incomplete"]
      << ", delivered twice " << r["notification_duplicates"] << "\n";
  out << "  ledger check: " << r["ledger_check"].get<std::string>();
  if (r.value("ledger_check", "") == "not run" && r.value("ledger_check_required", false))
    out << " (a whole-deal run needs one: --ledger-check-cmd or PACTUM_LEDGER_CHECK_CMD, or --no-ledger-check)";
  out << "\n";
  for (auto& [code, n] : r["errors"].items())
    out << "  error " << code << ": " << n << "\n";
  for (auto& v : r["violations"])
    out << "  VIOLATION " << v.get<std::string>() << "\n";
  out << (deal_load_passed(r) ? "  all checks passed\n" : "  CHECKS FAILED\n");
}

} // namespace pactum::sim
