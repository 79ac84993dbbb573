#include "pactum/payments/sandbox.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include "http_post.hpp"
#include "pactum/common/executor.hpp"
#include "pactum/common/time.hpp"
#include "pactum/common/uuid.hpp"
#include "pactum/payments/webhook.hpp"
#include "pactum/persistence/sandbox_store.hpp"

namespace pactum::payments {

namespace {

using nlohmann::json;
using persistence::sandbox_call_kind;
using persistence::sandbox_call_outcome;
using persistence::sandbox_call_state;
using persistence::sandbox_decider;
using persistence::sandbox_decision;
using persistence::sandbox_event;
using persistence::sandbox_object;

/// Outbox rows (and lapsed authorizations) handled per poll, beyond the rows already being sent.
constexpr size_t delivery_batch = 200;

/// The longest the deliverer sleeps without being told about new work. Everything the sandbox
/// itself schedules wakes it in time; this only bounds how long a row written by another process
/// (a previous run that crashed mid-transaction, say) may wait.
constexpr millis idle_poll_ms = 5'000;

/// How long to wait before polling again when the database does not answer.
constexpr millis store_retry_ms = 1'000;

/// The network-error card fails this many times per key before it behaves like the success card.
constexpr int network_error_failures = 2;

/// Longest accepted key, intent key, reference or destination.
constexpr size_t max_text = 255;

enum class card { success, declined, insufficient_funds, network_error, late_webhook, short_auth };

std::optional<card> classify(std::string_view method) {
  if (method == test_cards::success)
    return card::success;
  if (method == test_cards::declined)
    return card::declined;
  if (method == test_cards::insufficient_funds)
    return card::insufficient_funds;
  if (method == test_cards::network_error)
    return card::network_error;
  if (method == test_cards::late_webhook)
    return card::late_webhook;
  if (method == test_cards::short_authorization)
    return card::short_auth;
  return std::nullopt;
}

call_result accepted() {
  call_result r;
  r.ok = true;
  r.status = "pending";
  return r;
}

call_result refused(std::string code, std::string message, std::string status = {},
                    bool retryable = false) {
  call_result r;
  r.retryable = retryable;
  r.code = std::move(code);
  r.message = std::move(message);
  r.status = std::move(status);
  return r;
}

call_result unavailable(std::string message) {
  return refused("unavailable", std::move(message), {}, true);
}

std::string encode(const call_result& r) {
  return json{{"ok", r.ok},           {"retryable", r.retryable}, {"code", r.code},
              {"message", r.message}, {"status", r.status}}
    .dump();
}

call_result decode(const std::string& text) {
  try {
    auto j = json::parse(text);
    call_result r;
    r.ok = j.at("ok").get<bool>();
    r.retryable = j.at("retryable").get<bool>();
    r.code = j.at("code").get<std::string>();
    r.message = j.at("message").get<std::string>();
    r.status = j.at("status").get<std::string>();
    return r;
  } catch (const std::exception& e) {
    spdlog::error("sandbox: stored answer unreadable ({}): {}", e.what(), text);
    return unavailable("stored answer unreadable");
  }
}

/// Keys, references and destinations are printable ASCII: they are stored as text and echoed in
/// JSON, and no real identifier needs more.
bool printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

bool valid_key(std::string_view s) {
  return !s.empty() && s.size() <= max_text && printable(s);
}

bool valid_currency(std::string_view s) {
  return s.size() == 3
         && std::all_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

/// The canonical form of a call's parameters: each field length-prefixed, so no two different
/// parameter lists can spell the same string.
std::string fingerprint(std::initializer_list<std::string_view> fields) {
  std::string out;
  for (auto f : fields) {
    out += std::to_string(f.size());
    out += ':';
    out += f;
    out += '|';
  }
  return out;
}

/// One outbox row reporting a change of `o` caused by the call `call_key`.
sandbox_event make_event(const std::string& type, const sandbox_object& o,
                         const std::string& call_key, int64_t amount, millis now, millis due_at,
                         const std::string& failure_code = {}, const std::string& reason = {}) {
  json data = {{"intent", o.key},     {"key", call_key},         {"reference", o.reference},
               {"amount", amount},    {"currency", o.currency}};
  if (!failure_code.empty())
    data["failure_code"] = failure_code;
  if (!reason.empty())
    data["reason"] = reason;
  sandbox_event ev;
  ev.id = "evt_" + uuid::v7().str();
  ev.object_key = o.key;
  ev.type = type;
  ev.body = json{{"id", ev.id}, {"type", type}, {"created", now}, {"data", std::move(data)}}.dump();
  ev.due_at = due_at;
  return ev;
}

bool lapsed(const sandbox_object& o, millis now) {
  return o.status == "requires_capture" && o.expires_at != 0 && o.expires_at <= now;
}

/// Cancels the lapsed authorization `o` in `d`, with its webhook (its key: the intent's, since
/// no call caused it).
void lapse(sandbox_decision& d, sandbox_object o, millis now) {
  o.status = "canceled";
  o.cancel_reason = "expired";
  d.events.push_back(make_event("payment_intent.canceled", o, o.key, o.amount, now, now, {},
                                "expired"));
  d.write = std::move(o);
}

bool expired_authorization(const sandbox_object& o) {
  return o.status == "canceled" && o.cancel_reason == "expired";
}

/// True when `o` is an authorization that can still be captured or canceled (`verb`); otherwise
/// `d` holds the refusal. A lapsed authorization is void already: the caller learns it the same
/// way whether or not the deliverer got there first, and the lapse is reported once either way.
bool still_authorized(sandbox_decision& d, const sandbox_object& o, millis now, const char* verb) {
  if (lapsed(o, now)) {
    lapse(d, o, now);
    d.result = encode(refused("invalid_state", "authorization_expired", "canceled"));
    return false;
  }
  if (expired_authorization(o)) {
    d.result = encode(refused("invalid_state", "authorization_expired", o.status));
    return false;
  }
  if (o.status != "requires_capture") {
    d.result = encode(refused("invalid_state", std::string{"only an authorized intent can be "} + verb,
                              o.status));
    return false;
  }
  return true;
}

/// Looks up the payment intent a follow-up call names; nullopt with `d` filled when there is
/// none.
const sandbox_object* find_payment(const sandbox_call_state& s, sandbox_decision& d) {
  if (!s.object || s.object->kind != "payment") {
    d.result = encode(refused("not_found", "no payment intent with this key"));
    return nullptr;
  }
  return &*s.object;
}

// -- the provider ---------------------------------------------------------------------------------

/// The sandbox provider.
///
/// Lifecycle: constructed running; `stop()` (also from the destructor) joins the deliverer, then
/// drains the store, then the answer thread. Threading: calls from any thread; decisions and
/// call callbacks run on the store's thread; refusals decided before the store (bad arguments, a
/// full queue) are answered on `answers_`. Webhooks: `deliverer_` polls the outbox for due rows
/// (each the oldest undelivered row of its object) and queues those not already being sent
/// (`sending_`); `delivery_concurrency` poster threads (one kept-alive connection each, in
/// `posters_`) take them from the queue and POST them, and record the outcome without waiting for
/// it. A row stays in `sending_` until its outcome is recorded, so the next row of its object can
/// only be polled after that: order per object holds, and the posters never wait for one another
/// (the old design waited for a whole round of deliveries before polling again).
class sandbox final : public provider {
public:
  explicit sandbox(sandbox_config cfg)
    : cfg_(std::move(cfg)),
      url_(detail::parse_loopback_url(cfg_.webhook_url)),
      store_(persistence::sandbox_store_config{cfg_.database_url}),
      answers_("pactum-sbx-ans", 1, 10'000) {
    for (size_t i = 0; i < std::max<size_t>(cfg_.delivery_concurrency, 1); ++i)
      posters_.push_back(std::make_unique<detail::http_poster>());
    for (auto& poster : posters_)
      poster_threads_.emplace_back([this, p = poster.get()] {
        pthread_setname_np(pthread_self(), "pactum-sbx-post");
        post_loop(*p);
      });
    deliverer_ = std::thread{[this] {
      pthread_setname_np(pthread_self(), "pactum-sbx-dlv");
      deliver_loop();
    }};
  }

  ~sandbox() override { stop(); }

  void create_intent(intent_request req, std::function<void(call_result)> done) override {
    if (auto bad = check(req.key, req.amount, req.currency, req.reference))
      return answer(std::move(done), std::move(*bad));
    auto kind = classify(req.payment_method);
    // A number that is not a test card is never stored, not even in the fingerprint.
    auto fp = fingerprint({"create_intent", std::to_string(req.amount), req.currency,
                           kind ? std::string_view{req.payment_method} : "<rejected>",
                           req.capture ? "capture" : "authorize", req.reference});
    auto key = req.key;
    auto decide = [cfg = settings(), req = std::move(req),
                   kind](const sandbox_call_state& s) -> sandbox_decision {
      sandbox_decision d;
      if (!kind) {
        d.result = encode(refused("invalid_payment_method",
                                  "the sandbox accepts only its test card numbers"));
        return d;
      }
      if (*kind == card::network_error && s.attempts < network_error_failures) {
        d.final = false;
        d.result = encode(refused("network_error", "simulated network error", {}, true));
        return d;
      }
      if (s.object) { // only if the key was reused by hand in the database
        d.result = encode(refused("invalid_state", "intent exists", s.object->status));
        return d;
      }
      auto now = now_millis();
      sandbox_object o;
      o.key = req.key;
      o.kind = "payment";
      o.amount = req.amount;
      o.currency = req.currency;
      o.method = req.payment_method;
      o.reference = req.reference;
      o.created_at = now;
      auto due = now + (*kind == card::late_webhook ? cfg.late_ms : cfg.outcome_ms);
      if (*kind == card::declined || *kind == card::insufficient_funds) {
        o.status = "failed";
        o.failure_code = *kind == card::declined ? "card_declined" : "insufficient_funds";
        d.events.push_back(make_event("payment_intent.failed", o, req.key, o.amount, now, due,
                                      o.failure_code));
      } else if (req.capture) {
        o.status = "succeeded";
        o.captured = o.amount;
        d.events.push_back(
          make_event("payment_intent.succeeded", o, req.key, o.amount, now, due));
      } else {
        o.status = "requires_capture";
        o.expires_at = now + (*kind == card::short_auth ? cfg.short_validity_ms : cfg.validity_ms);
        d.events.push_back(
          make_event("payment_intent.authorized", o, req.key, o.amount, now, due));
      }
      d.write = std::move(o);
      d.result = encode(accepted());
      return d;
    };
    run_call(std::move(key), std::move(fp), {}, std::move(decide), std::move(done));
  }

  void capture(std::string key, std::string intent_key,
               std::function<void(call_result)> done) override {
    if (auto bad = check_follow_up(key, intent_key))
      return answer(std::move(done), std::move(*bad));
    auto fp = fingerprint({"capture", intent_key});
    auto decide = [cfg = settings(), key](const sandbox_call_state& s) -> sandbox_decision {
      sandbox_decision d;
      const auto* found = find_payment(s, d);
      if (!found)
        return d;
      auto now = now_millis();
      if (!still_authorized(d, *found, now, "captured"))
        return d;
      auto o = *found;
      o.status = "succeeded";
      o.captured = o.amount;
      o.expires_at = 0;
      d.events.push_back(
        make_event("payment_intent.captured", o, key, o.amount, now, now + cfg.outcome_ms));
      d.write = std::move(o);
      d.result = encode(accepted());
      return d;
    };
    run_call(std::move(key), std::move(fp), std::move(intent_key), std::move(decide),
             std::move(done));
  }

  void cancel(std::string key, std::string intent_key,
              std::function<void(call_result)> done) override {
    if (auto bad = check_follow_up(key, intent_key))
      return answer(std::move(done), std::move(*bad));
    auto fp = fingerprint({"cancel", intent_key});
    auto decide = [cfg = settings(), key](const sandbox_call_state& s) -> sandbox_decision {
      sandbox_decision d;
      const auto* found = find_payment(s, d);
      if (!found)
        return d;
      auto now = now_millis();
      if (!still_authorized(d, *found, now, "canceled"))
        return d;
      auto o = *found;
      o.status = "canceled";
      o.cancel_reason = "requested";
      o.expires_at = 0;
      d.events.push_back(make_event("payment_intent.canceled", o, key, o.amount, now,
                                    now + cfg.outcome_ms, {}, "requested"));
      d.write = std::move(o);
      d.result = encode(accepted());
      return d;
    };
    run_call(std::move(key), std::move(fp), std::move(intent_key), std::move(decide),
             std::move(done));
  }

  void refund(std::string key, std::string intent_key, int64_t amount,
              std::function<void(call_result)> done) override {
    if (auto bad = check_follow_up(key, intent_key))
      return answer(std::move(done), std::move(*bad));
    if (amount <= 0)
      return answer(std::move(done), refused("invalid_request", "amount must be positive"));
    auto fp = fingerprint({"refund", intent_key, std::to_string(amount)});
    auto decide = [cfg = settings(), key, amount](const sandbox_call_state& s) -> sandbox_decision {
      sandbox_decision d;
      const auto* found = find_payment(s, d);
      if (!found)
        return d;
      if (found->status != "succeeded" && found->status != "refunded") {
        d.result = encode(
          refused("invalid_state", "only a captured intent can be refunded", found->status));
        return d;
      }
      if (amount > found->captured - found->refunded) {
        d.result = encode(refused("invalid_state", "refund exceeds the captured amount not yet "
                                                   "refunded",
                                  found->status));
        return d;
      }
      auto now = now_millis();
      auto o = *found;
      o.refunded += amount;
      o.status = o.refunded == o.captured ? "refunded" : "succeeded";
      d.events.push_back(make_event("refund.succeeded", o, key, amount, now, now + cfg.outcome_ms));
      d.write = std::move(o);
      d.result = encode(accepted());
      return d;
    };
    run_call(std::move(key), std::move(fp), std::move(intent_key), std::move(decide),
             std::move(done));
  }

  void payout(payout_request req, std::function<void(call_result)> done) override {
    if (auto bad = check(req.key, req.amount, req.currency, req.reference))
      return answer(std::move(done), std::move(*bad));
    if (!valid_key(req.destination))
      return answer(std::move(done),
                    refused("invalid_request", "destination must be 1-255 printable ASCII"));
    auto fp = fingerprint({"payout", std::to_string(req.amount), req.currency, req.destination,
                           req.reference});
    auto key = req.key;
    auto decide = [cfg = settings(), req = std::move(req)](const sandbox_call_state& s) {
      sandbox_decision d;
      if (s.object) { // only if the key was reused by hand in the database
        d.result = encode(refused("invalid_state", "payout exists", s.object->status));
        return d;
      }
      auto now = now_millis();
      sandbox_object o;
      o.key = req.key;
      o.kind = "payout";
      o.amount = req.amount;
      o.currency = req.currency;
      o.method = req.destination;
      o.reference = req.reference;
      o.created_at = now;
      if (req.destination == failing_payout_destination) {
        o.status = "failed";
        o.failure_code = "account_closed";
        d.events.push_back(make_event("payout.failed", o, req.key, o.amount, now,
                                      now + cfg.outcome_ms, o.failure_code));
      } else {
        o.status = "paid";
        d.events.push_back(
          make_event("payout.paid", o, req.key, o.amount, now, now + cfg.outcome_ms));
      }
      d.write = std::move(o);
      d.result = encode(accepted());
      return d;
    };
    run_call(std::move(key), std::move(fp), {}, std::move(decide), std::move(done));
  }

  void stop() override {
    std::lock_guard<std::mutex> lifecycle{lifecycle_mtx_};
    {
      std::lock_guard<std::mutex> guard{mtx_};
      stopping_ = true;
    }
    cv_.notify_all();
    work_cv_.notify_all();
    for (auto& poster : posters_)
      poster->abort();
    if (deliverer_.joinable())
      deliverer_.join();
    for (auto& t : poster_threads_)
      if (t.joinable())
        t.join();
    store_.stop();
    answers_.stop();
  }

private:
  /// The configuration as plain milliseconds, copied into decisions.
  struct timing {
    millis outcome_ms = 0;
    millis late_ms = 0;
    millis validity_ms = 0;
    millis short_validity_ms = 0;
  };

  timing settings() const {
    auto ms = [](std::chrono::milliseconds d) { return std::max<millis>(d.count(), 0); };
    return {ms(cfg_.outcome_delay), ms(cfg_.late_webhook_delay), ms(cfg_.authorization_validity),
            ms(cfg_.short_authorization_validity)};
  }

  static std::optional<call_result> check(const std::string& key, int64_t amount,
                                          const std::string& currency,
                                          const std::string& reference) {
    if (!valid_key(key))
      return refused("invalid_request", "key must be 1-255 printable ASCII");
    if (amount <= 0)
      return refused("invalid_request", "amount must be positive");
    if (!valid_currency(currency))
      return refused("invalid_request", "currency must be an ISO 4217 code (e.g. USD)");
    if (reference.size() > max_text || !printable(reference))
      return refused("invalid_request", "reference must be at most 255 printable ASCII");
    return std::nullopt;
  }

  static std::optional<call_result> check_follow_up(const std::string& key,
                                                    const std::string& intent_key) {
    if (!valid_key(key))
      return refused("invalid_request", "key must be 1-255 printable ASCII");
    if (!valid_key(intent_key))
      return refused("invalid_request", "intent_key must be 1-255 printable ASCII");
    return std::nullopt;
  }

  /// Hands `r` to `done` on the answer thread (on this thread only once stopped: there is no
  /// other left).
  void answer(std::function<void(call_result)> done, call_result r) {
    auto job = [done = std::move(done), r = std::move(r)] { invoke(done, r); };
    if (!answers_.post(job))
      job();
  }

  static void invoke(const std::function<void(call_result)>& done, const call_result& r) {
    try {
      done(r);
    } catch (const std::exception& e) {
      spdlog::error("sandbox: a callback threw: {}", e.what());
    }
  }

  void run_call(std::string key, std::string fp, std::string object_key, sandbox_decider decide,
                std::function<void(call_result)> done) {
    auto shared_done = std::make_shared<std::function<void(call_result)>>(std::move(done));
    auto on_done = [this, shared_done](persistence::result<sandbox_call_outcome> r) {
      if (!r) {
        invoke(*shared_done, unavailable(std::string{"sandbox database: "} + r.error().message));
        return;
      }
      switch (r->kind) {
        case sandbox_call_kind::mismatch:
          invoke(*shared_done, refused("idempotency_mismatch",
                                       "this key was used before with other parameters"));
          return;
        case sandbox_call_kind::replayed:
          invoke(*shared_done, decode(r->result));
          return;
        case sandbox_call_kind::fresh:
          wake_deliverer();
          invoke(*shared_done, decode(r->result));
          return;
      }
    };
    if (object_key.empty())
      object_key = key; // a creating call names the object it creates
    if (!store_.call(std::move(key), std::move(fp), std::move(object_key), std::move(decide),
                     std::move(on_done)))
      answer(*shared_done, unavailable("the sandbox is stopped or overloaded"));
  }

  // -- delivery -----------------------------------------------------------------------------------

  void wake_deliverer() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      wake_ = true;
    }
    cv_.notify_all();
  }

  bool stopping() {
    std::lock_guard<std::mutex> guard{mtx_};
    return stopping_;
  }

  /// Runs a store operation and waits for its answer (only the deliverer may block like this).
  template <class T, class Submit>
  std::optional<T> wait_for_store(const char* what, Submit submit) {
    auto promise = std::make_shared<std::promise<persistence::result<T>>>();
    auto future = promise->get_future();
    if (!submit([promise](persistence::result<T> r) { promise->set_value(std::move(r)); }))
      return std::nullopt;
    auto r = future.get();
    if (!r) {
      spdlog::warn("sandbox: {}: {}", what, r.error().message);
      return std::nullopt;
    }
    return std::move(r).value();
  }

  void deliver_loop() {
    std::unique_lock<std::mutex> guard{mtx_};
    while (!stopping_) {
      wake_ = false;
      guard.unlock();
      auto wake_at = run_round();
      guard.lock();
      if (stopping_ || wake_)
        continue;
      auto now = now_millis();
      auto wait_ms =
        wake_at == 0 ? idle_poll_ms : std::clamp<millis>(wake_at - now, 0, idle_poll_ms);
      if (wait_ms > 0)
        cv_.wait_for(guard, std::chrono::milliseconds{wait_ms},
                     [this] { return stopping_ || wake_; });
    }
  }

  /// Lapses due authorizations and delivers due webhooks once. Returns when to look again (0:
  /// nothing scheduled; now: at once).
  millis run_round() {
    auto now = now_millis();
    size_t limit = delivery_batch;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      limit += sending_.size();
    }
    auto polled = wait_for_store<persistence::sandbox_poll>(
      "poll", [&](auto cb) { return store_.poll(now, limit, std::move(cb)); });
    if (!polled)
      return now + store_retry_ms;
    for (const auto& key : polled->expired) {
      wait_for_store<std::string>("expire", [&](auto cb) {
        return store_.update(key, expire_decider(), std::move(cb));
      });
    }
    // The batch holds one row per object (the oldest undelivered), so its rows may go out at
    // once; a row still being sent (or its outcome still being recorded) is polled again and
    // skipped.
    size_t queued = 0;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      for (auto& d : polled->deliveries)
        if (sending_.insert(d.seq).second) {
          work_.push_back(std::move(d));
          ++queued;
        }
    }
    // One poster per row: waking all of them for one row only costs context switches.
    for (size_t i = 0; i < queued; ++i)
      work_cv_.notify_one();
    if (stopping())
      return now;
    // Lapses enqueue webhooks due now, and a full batch may have left rows behind: look again at
    // once. Otherwise the next due time; a recorded outcome (which may uncover the next row of
    // its object) wakes the deliverer earlier.
    if (!polled->expired.empty() || (queued > 0 && polled->deliveries.size() >= limit))
      return now;
    return polled->next_wake;
  }

  /// A poster thread: takes queued rows and POSTs them on its own connection until stopped.
  void post_loop(detail::http_poster& poster) {
    std::unique_lock<std::mutex> guard{mtx_};
    while (true) {
      work_cv_.wait(guard, [this] { return stopping_ || !work_.empty(); });
      if (stopping_)
        return;
      auto d = std::move(work_.front());
      work_.pop_front();
      guard.unlock();
      deliver(d, poster);
      guard.lock();
    }
  }

  /// Forgets that row `seq` is being sent (its outcome is recorded, or could not be) and wakes
  /// the deliverer, which may now send the next row of its object.
  void sent(int64_t seq) {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      sending_.erase(seq);
      wake_ = true;
    }
    cv_.notify_all();
  }

  sandbox_decider expire_decider() const {
    return [](const sandbox_call_state& s) {
      sandbox_decision d;
      auto now = now_millis();
      if (s.object && lapsed(*s.object, now))
        lapse(d, *s.object, now);
      return d;
    };
  }

  /// POSTs one webhook and has its outcome recorded (without waiting: `sent` runs when it is).
  void deliver(const persistence::sandbox_delivery& d, detail::http_poster& poster) {
    auto signature = sign_webhook(cfg_.webhook_secret, now_millis() / 1000, d.body);
    auto out = poster.post(url_, d.body, signature, cfg_.delivery_timeout);
    if (stopping())
      return; // cut short by stop(): the row stays due and is sent again after a restart
    auto seq = d.seq;
    auto recorded = [this, seq, id = d.id](const char* what) {
      return [this, seq, id, what](persistence::result<persistence::unit> r) {
        if (!r)
          spdlog::warn("sandbox: {} of webhook {}: {}", what, id, r.error().message);
        sent(seq); // unrecorded, the row is still due: it is sent again (at least once)
      };
    };
    if (out.status >= 200 && out.status < 300) {
      if (!store_.mark_delivered(seq, recorded("mark_delivered")))
        sent(seq);
      return;
    }
    auto error = out.status != 0 ? "HTTP " + std::to_string(out.status) : out.error;
    auto delay = backoff(d.attempts + 1);
    spdlog::info("sandbox: webhook {} not delivered (attempt {}: {}), retrying in {} ms", d.id,
                 d.attempts + 1, error, delay);
    if (!store_.mark_failed(seq, now_millis() + delay, error, recorded("mark_failed")))
      sent(seq);
  }

  /// The delay after the `attempt`-th failed delivery: start, doubling, at most max.
  millis backoff(int attempt) const {
    auto max = std::max<millis>(cfg_.retry_backoff_max.count(), 1);
    auto delay = std::clamp<millis>(cfg_.retry_backoff_start.count(), 1, max);
    for (int i = 1; i < attempt && delay < max; ++i)
      delay = std::min(delay * 2, max);
    return delay;
  }

  sandbox_config cfg_;
  detail::loopback_url url_;
  std::vector<std::unique_ptr<detail::http_poster>> posters_; ///< one per poster thread
  std::vector<std::thread> poster_threads_;
  std::mutex lifecycle_mtx_;
  std::mutex mtx_; // guards stopping_, wake_, work_ and sending_
  std::condition_variable cv_;      ///< wakes the deliverer
  std::condition_variable work_cv_; ///< wakes the posters
  std::deque<persistence::sandbox_delivery> work_; ///< rows to POST, oldest due first
  std::set<int64_t> sending_; ///< rows queued or being sent, until their outcome is recorded
  bool stopping_ = false;
  bool wake_ = false;
  persistence::sandbox_store store_;
  executor answers_;
  std::thread deliverer_;
};

} // namespace

std::unique_ptr<provider> make_sandbox(sandbox_config cfg) {
  if (cfg.webhook_secret.empty())
    throw std::invalid_argument("sandbox: webhook_secret must not be empty");
  if (cfg.database_url.empty())
    throw std::invalid_argument("sandbox: database_url must not be empty");
  return std::make_unique<sandbox>(std::move(cfg));
}

} // namespace pactum::payments
