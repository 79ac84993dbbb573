#include "pactum/payments/sandbox.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <pqxx/pqxx>
#include <sys/socket.h>
#include <unistd.h>

#include "pactum/payments/webhook.hpp"
#include "pactum/persistence/database.hpp"

#include "test_database.hpp"

namespace pactum::payments {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using clock_type = std::chrono::steady_clock;

constexpr const char* secret = "whsec_sandbox_test";
constexpr auto answer_timeout = 30s;
constexpr auto delivery_timeout = 20s;

/// A tiny HTTP/1.1 server on 127.0.0.1 standing in for pactumd's webhook endpoint: it reads one
/// request per connection, records it, and answers 200 (or 500 while `fail_next` lasts).
/// Lifecycle: listens from construction to destruction; the destructor stops and joins its
/// thread. Threading: the accessors may be called from any thread.
class webhook_receiver {
public:
  struct request {
    std::string target;
    std::string signature;    ///< the Pactum-Signature header
    std::string content_type;
    std::string body;
    int answered = 0;         ///< the status we answered
    clock_type::time_point at;
  };

  /// Listens on `port` (0: any free port).
  explicit webhook_receiver(uint16_t port = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0)
      throw std::runtime_error("socket failed");
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0
        || ::listen(fd_, 16) != 0) {
      ::close(fd_);
      throw std::runtime_error(std::string{"bind/listen failed: "} + std::strerror(errno));
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread{[this] { run(); }};
  }

  ~webhook_receiver() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }

  webhook_receiver(const webhook_receiver&) = delete;
  webhook_receiver& operator=(const webhook_receiver&) = delete;

  uint16_t port() const { return port_; }

  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/api/v1/webhooks/payments";
  }

  /// Answers 500 to the next `n` requests.
  void fail_next(int n) {
    std::lock_guard<std::mutex> guard{mtx_};
    fail_next_ = n;
  }

  /// Every request received so far.
  std::vector<request> requests() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return requests_;
  }

  /// The requests answered 200, in arrival order.
  std::vector<request> delivered() const {
    std::lock_guard<std::mutex> guard{mtx_};
    std::vector<request> out;
    for (const auto& r : requests_)
      if (r.answered == 200)
        out.push_back(r);
    return out;
  }

  /// Waits until `n` requests were answered 200; returns them (fewer on timeout).
  std::vector<request> await_delivered(size_t n, std::chrono::milliseconds timeout =
                                                   delivery_timeout) {
    std::unique_lock<std::mutex> guard{mtx_};
    cv_.wait_for(guard, timeout, [&] { return delivered_ >= n; });
    guard.unlock();
    return delivered();
  }

private:
  void run() {
    while (!stop_) {
      pollfd pfd{fd_, POLLIN, 0};
      if (::poll(&pfd, 1, 50) <= 0)
        continue;
      int conn = ::accept(fd_, nullptr, nullptr);
      if (conn < 0)
        continue;
      timeval tv{5, 0};
      ::setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      serve(conn);
      ::close(conn);
    }
  }

  static std::string header_value(const std::string& head, std::string name) {
    std::string lower = head;
    for (auto& c : lower)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (auto& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto pos = lower.find("\r\n" + name + ":");
    if (pos == std::string::npos)
      return {};
    auto start = pos + 2 + name.size() + 1;
    auto end = head.find("\r\n", start);
    auto value = head.substr(start, end - start);
    value.erase(0, value.find_first_not_of(' '));
    value.erase(value.find_last_not_of(' ') + 1);
    return value;
  }

  void serve(int conn) {
    std::string data;
    char buf[4096];
    size_t head_end = std::string::npos;
    while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
      auto n = ::recv(conn, buf, sizeof buf, 0);
      if (n <= 0)
        return;
      data.append(buf, static_cast<size_t>(n));
    }
    auto head = data.substr(0, head_end);
    size_t length = std::stoul("0" + header_value(head, "Content-Length"));
    std::string body = data.substr(head_end + 4);
    while (body.size() < length) {
      auto n = ::recv(conn, buf, sizeof buf, 0);
      if (n <= 0)
        return;
      body.append(buf, static_cast<size_t>(n));
    }
    request r;
    auto first_space = head.find(' ');
    r.target = head.substr(first_space + 1, head.find(' ', first_space + 1) - first_space - 1);
    r.signature = header_value(head, std::string{signature_header});
    r.content_type = header_value(head, "Content-Type");
    r.body = body;
    r.at = clock_type::now();
    {
      std::lock_guard<std::mutex> guard{mtx_};
      r.answered = fail_next_ > 0 ? 500 : 200;
      if (fail_next_ > 0)
        --fail_next_;
    }
    // A large body on success: the sender must judge by the status line alone.
    std::string answer =
      r.answered == 200
        ? "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n"
            + std::string(100'000, 'x')
        : "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    ::send(conn, answer.data(), answer.size(), MSG_NOSIGNAL);
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (r.answered == 200)
        ++delivered_;
      requests_.push_back(std::move(r));
    }
    cv_.notify_all();
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<request> requests_;
  size_t delivered_ = 0;
  int fail_next_ = 0;
  std::thread thread_;
};

/// Calls a provider operation and waits for its answer, checking it arrives once and not on the
/// calling thread.
template <class Call>
call_result await_call(Call&& call) {
  auto promise = std::make_shared<std::promise<call_result>>();
  auto future = promise->get_future();
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto caller = std::this_thread::get_id();
  auto on_caller_thread = std::make_shared<std::atomic<bool>>(false);
  call([promise, calls, caller, on_caller_thread](call_result r) {
    if (std::this_thread::get_id() == caller)
      on_caller_thread->store(true);
    if (calls->fetch_add(1) == 0)
      promise->set_value(std::move(r));
  });
  if (future.wait_for(answer_timeout) != std::future_status::ready)
    throw std::runtime_error("no answer within the timeout");
  auto r = future.get();
  EXPECT_FALSE(on_caller_thread->load()) << "callback ran on the caller's thread";
  std::this_thread::sleep_for(5ms);
  EXPECT_EQ(calls->load(), 1) << "callback ran more than once";
  return r;
}

json body_of(const webhook_receiver::request& r) {
  return json::parse(r.body);
}

std::vector<std::string> types_of(const std::vector<webhook_receiver::request>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs)
    out.push_back(body_of(r).at("type").get<std::string>());
  return out;
}

intent_request make_intent(std::string key, std::string_view card, bool capture = true,
                           int64_t amount = 12'500) {
  intent_request req;
  req.key = std::move(key);
  req.amount = amount;
  req.currency = "USD";
  req.payment_method = std::string{card};
  req.capture = capture;
  req.reference = "contract:0192a7c4-0000-7000-8000-000000000001";
  return req;
}

class SandboxTest : public test_support::database_test {
protected:
  void SetUp() override {
    database_test::SetUp();
    if (HasFatalFailure())
      return;
    persistence::config c;
    c.url = url();
    persistence::database{c}.migrate();
    receiver_ = std::make_unique<webhook_receiver>();
  }

  void TearDown() override {
    sandbox_.reset();
    receiver_.reset();
    database_test::TearDown();
  }

  sandbox_config config() const {
    sandbox_config cfg;
    cfg.database_url = url();
    cfg.webhook_url = receiver_->url();
    cfg.webhook_secret = secret;
    cfg.outcome_delay = 50ms;
    cfg.late_webhook_delay = 1s;
    cfg.short_authorization_validity = 1s;
    cfg.retry_backoff_start = 100ms;
    cfg.retry_backoff_max = 400ms;
    return cfg;
  }

  provider& start(std::optional<sandbox_config> cfg = std::nullopt) {
    sandbox_ = make_sandbox(cfg ? *cfg : config());
    return *sandbox_;
  }

  call_result create(intent_request req) {
    return await_call([&](auto cb) { sandbox_->create_intent(std::move(req), cb); });
  }

  call_result capture(std::string key, std::string intent) {
    return await_call([&](auto cb) { sandbox_->capture(std::move(key), std::move(intent), cb); });
  }

  call_result cancel(std::string key, std::string intent) {
    return await_call([&](auto cb) { sandbox_->cancel(std::move(key), std::move(intent), cb); });
  }

  call_result refund(std::string key, std::string intent, int64_t amount) {
    return await_call(
      [&](auto cb) { sandbox_->refund(std::move(key), std::move(intent), amount, cb); });
  }

  call_result payout(payout_request req) {
    return await_call([&](auto cb) { sandbox_->payout(std::move(req), cb); });
  }

  /// Reads one number from the sandbox's tables.
  int64_t scalar(const std::string& sql) {
    pqxx::connection conn{url()};
    pqxx::read_transaction tx{conn};
    return tx.exec1(sql)[0].as<int64_t>();
  }

  /// Waits until `sql` reads `expected` (the sandbox records a delivery just after the receiver
  /// answered it); returns the last value read.
  int64_t eventually(const std::string& sql, int64_t expected) {
    auto deadline = clock_type::now() + delivery_timeout;
    auto value = scalar(sql);
    while (value != expected && clock_type::now() < deadline) {
      std::this_thread::sleep_for(20ms);
      value = scalar(sql);
    }
    return value;
  }

  /// Checks that `r` is a correctly signed, fresh webhook and returns its body.
  json verified(const webhook_receiver::request& r) {
    EXPECT_EQ(r.target, "/api/v1/webhooks/payments");
    EXPECT_EQ(r.content_type, "application/json");
    auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    EXPECT_EQ(verify_webhook(secret, r.signature, r.body, now_s), webhook_check::ok)
      << r.signature;
    EXPECT_EQ(verify_webhook("whsec_wrong", r.signature, r.body, now_s),
              webhook_check::bad_signature);
    return body_of(r);
  }

  static void expect_pending(const call_result& r) {
    EXPECT_TRUE(r.ok) << r.code << ": " << r.message;
    EXPECT_FALSE(r.retryable);
    EXPECT_EQ(r.status, "pending");
    EXPECT_EQ(r.code, "");
  }

  static void expect_refused(const call_result& r, const std::string& code,
                             bool retryable = false) {
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.code, code) << r.message;
    EXPECT_EQ(r.retryable, retryable);
  }

  std::unique_ptr<webhook_receiver> receiver_;
  std::unique_ptr<provider> sandbox_;
};

TEST_F(SandboxTest, SuccessCardDeliversOneSignedSucceededWebhook) {
  start();
  auto r = create(make_intent("pi_ok", test_cards::success));
  expect_pending(r);
  auto got = receiver_->await_delivered(1);
  ASSERT_EQ(got.size(), 1u);
  auto b = verified(got[0]);
  EXPECT_TRUE(b.at("id").get<std::string>().starts_with("evt_"));
  EXPECT_EQ(b.at("type"), "payment_intent.succeeded");
  EXPECT_GT(b.at("created").get<int64_t>(), 1'700'000'000'000);
  const auto& d = b.at("data");
  EXPECT_EQ(d.at("intent"), "pi_ok");
  EXPECT_EQ(d.at("key"), "pi_ok");
  EXPECT_EQ(d.at("reference"), "contract:0192a7c4-0000-7000-8000-000000000001");
  EXPECT_EQ(d.at("amount"), 12'500);
  EXPECT_EQ(d.at("currency"), "USD");
  EXPECT_FALSE(d.contains("failure_code"));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(receiver_->requests().size(), 1u);
  EXPECT_EQ(eventually("select count(*) from sandbox_webhooks where delivered_at is not null", 1),
            1);
}

TEST_F(SandboxTest, DeclinedCardDeliversFailedWebhook) {
  start();
  expect_pending(create(make_intent("pi_declined", test_cards::declined)));
  auto got = receiver_->await_delivered(1);
  ASSERT_EQ(got.size(), 1u);
  auto b = verified(got[0]);
  EXPECT_EQ(b.at("type"), "payment_intent.failed");
  EXPECT_EQ(b.at("data").at("failure_code"), "card_declined");
  EXPECT_EQ(b.at("data").at("intent"), "pi_declined");
  // Nothing to capture or refund.
  auto c = capture("cap_declined", "pi_declined");
  expect_refused(c, "invalid_state");
  EXPECT_EQ(c.status, "failed");
  expect_refused(refund("rf_declined", "pi_declined", 100), "invalid_state");
}

TEST_F(SandboxTest, InsufficientFundsCardDeliversFailedWebhook) {
  start();
  expect_pending(create(make_intent("pi_poor", test_cards::insufficient_funds, false)));
  auto got = receiver_->await_delivered(1);
  ASSERT_EQ(got.size(), 1u);
  auto b = verified(got[0]);
  EXPECT_EQ(b.at("type"), "payment_intent.failed");
  EXPECT_EQ(b.at("data").at("failure_code"), "insufficient_funds");
}

TEST_F(SandboxTest, NetworkErrorCardFailsTwiceThenSucceeds) {
  start();
  auto req = make_intent("pi_flaky", test_cards::network_error);
  expect_refused(create(req), "network_error", true);
  expect_refused(create(req), "network_error", true);
  EXPECT_EQ(scalar("select count(*) from sandbox_webhooks"), 0);
  expect_pending(create(req));
  expect_pending(create(req)); // replayed
  auto got = receiver_->await_delivered(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(verified(got[0]).at("type"), "payment_intent.succeeded");
  // The count is per key: a new key fails twice again.
  expect_refused(create(make_intent("pi_flaky_2", test_cards::network_error)), "network_error",
                 true);
  EXPECT_EQ(scalar("select attempts from sandbox_calls where key = 'pi_flaky'"), 3);
}

TEST_F(SandboxTest, SameKeySameParametersReturnsTheFirstResultAndSendsOneWebhook) {
  start();
  auto req = make_intent("pi_twice", test_cards::success);
  auto first = create(req);
  expect_pending(first);
  auto again = create(req);
  EXPECT_EQ(again.ok, first.ok);
  EXPECT_EQ(again.status, first.status);
  EXPECT_EQ(again.code, first.code);
  // Refusals are final answers too.
  auto cap1 = capture("cap_twice", "pi_twice");
  expect_refused(cap1, "invalid_state");
  auto cap2 = capture("cap_twice", "pi_twice");
  EXPECT_EQ(cap2.code, cap1.code);
  EXPECT_EQ(cap2.message, cap1.message);
  EXPECT_EQ(cap2.status, cap1.status);
  ASSERT_EQ(receiver_->await_delivered(1).size(), 1u);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(receiver_->requests().size(), 1u);
  EXPECT_EQ(scalar("select count(*) from sandbox_webhooks"), 1);
  EXPECT_EQ(scalar("select count(*) from sandbox_intents"), 1);
}

TEST_F(SandboxTest, ConcurrentRetriesOfOneKeyChargeOnce) {
  start();
  auto req = make_intent("pi_race", test_cards::success);
  std::vector<std::future<call_result>> answers;
  for (int i = 0; i < 8; ++i)
    answers.push_back(std::async(std::launch::async, [&] { return create(req); }));
  for (auto& a : answers)
    expect_pending(a.get());
  ASSERT_EQ(receiver_->await_delivered(1).size(), 1u);
  EXPECT_EQ(scalar("select count(*) from sandbox_webhooks"), 1);
}

TEST_F(SandboxTest, SameKeyOtherParametersIsAnIdempotencyMismatch) {
  start();
  expect_pending(create(make_intent("pi_mismatch", test_cards::success)));
  expect_refused(create(make_intent("pi_mismatch", test_cards::success, true, 99)),
                 "idempotency_mismatch");
  expect_refused(create(make_intent("pi_mismatch", test_cards::declined)), "idempotency_mismatch");
  expect_refused(create(make_intent("pi_mismatch", test_cards::success, false)),
                 "idempotency_mismatch");
  // Keys are one namespace across operations.
  expect_refused(refund("pi_mismatch", "pi_mismatch", 1), "idempotency_mismatch");
  ASSERT_EQ(receiver_->await_delivered(1).size(), 1u);
  EXPECT_EQ(scalar("select amount from sandbox_intents where key = 'pi_mismatch'"), 12'500);
}

TEST_F(SandboxTest, UnknownCardNumbersAreRefusedAndNeverStored) {
  start();
  auto r = create(make_intent("pi_real_card", "5555555555554444"));
  expect_refused(r, "invalid_payment_method");
  expect_refused(create(make_intent("pi_real_card", "5555555555554444")),
                 "invalid_payment_method");
  EXPECT_EQ(scalar("select count(*) from sandbox_intents"), 0);
  EXPECT_EQ(scalar("select count(*) from sandbox_calls where fingerprint like '%5555%'"), 0);
  // Bad arguments are refused before the store, still on a provider thread.
  expect_refused(create(make_intent("", test_cards::success)), "invalid_request");
  expect_refused(create(make_intent("pi_zero", test_cards::success, true, 0)), "invalid_request");
  auto lower = make_intent("pi_lower", test_cards::success);
  lower.currency = "usd";
  expect_refused(create(lower), "invalid_request");
}

TEST_F(SandboxTest, LateCardWebhookArrivesAfterTheDelay) {
  start();
  auto before = clock_type::now();
  expect_pending(create(make_intent("pi_late", test_cards::late_webhook)));
  auto got = receiver_->await_delivered(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_GE(got[0].at - before, 1s);
  EXPECT_EQ(verified(got[0]).at("type"), "payment_intent.succeeded");
}

TEST_F(SandboxTest, EventsOfOneIntentArriveInOrder) {
  start();
  expect_pending(create(make_intent("pi_order", test_cards::late_webhook)));
  // The refund's webhook falls due long before the late one, but waits behind it; another
  // intent's webhook does not.
  expect_pending(refund("rf_order", "pi_order", 500));
  expect_pending(create(make_intent("pi_other", test_cards::success)));
  auto got = receiver_->await_delivered(3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(types_of(got), (std::vector<std::string>{"payment_intent.succeeded",
                                                     "payment_intent.succeeded",
                                                     "refund.succeeded"}));
  EXPECT_EQ(body_of(got[0]).at("data").at("intent"), "pi_other");
  EXPECT_EQ(body_of(got[1]).at("data").at("intent"), "pi_order");
  EXPECT_EQ(body_of(got[2]).at("data").at("key"), "rf_order");
}

TEST_F(SandboxTest, FailedDeliveriesAreRetriedWithBackoff) {
  receiver_->fail_next(3);
  start();
  expect_pending(create(make_intent("pi_retry", test_cards::success)));
  auto got = receiver_->await_delivered(1);
  ASSERT_EQ(got.size(), 1u);
  auto all = receiver_->requests();
  ASSERT_EQ(all.size(), 4u);
  for (const auto& r : all)
    EXPECT_EQ(r.body, got[0].body); // the same event each time (the receiver dedupes by id)
  // 100, 200, 400 ms between attempts.
  EXPECT_GE(all[1].at - all[0].at, 90ms);
  EXPECT_GE(all[2].at - all[1].at, 190ms);
  EXPECT_GE(all[3].at - all[2].at, 390ms);
  verified(got[0]);
  // One row only once the delivered mark is recorded (after the receiver's answer): until then
  // the aggregate reads 0 rather than no row at all.
  EXPECT_EQ(eventually("select coalesce(max(attempts), 0) from sandbox_webhooks where delivered_at is not null", 4),
            4);
}

TEST_F(SandboxTest, UndeliveredWebhooksSurviveARestart) {
  uint16_t port = 0;
  {
    webhook_receiver probe;
    port = probe.port();
  } // nothing listens on `port` now: deliveries fail to connect
  auto cfg = config();
  cfg.webhook_url = "http://127.0.0.1:" + std::to_string(port) + "/api/v1/webhooks/payments";
  start(cfg);
  auto req = make_intent("pi_durable", test_cards::success);
  auto first = create(req);
  expect_pending(first);
  auto deadline = clock_type::now() + delivery_timeout;
  while (scalar("select coalesce(max(attempts), 0) from sandbox_webhooks") < 2
         && clock_type::now() < deadline)
    std::this_thread::sleep_for(20ms);
  ASSERT_GE(scalar("select max(attempts) from sandbox_webhooks"), 2);
  sandbox_->stop();
  sandbox_.reset();
  EXPECT_EQ(scalar("select count(*) from sandbox_webhooks where delivered_at is null"), 1);

  webhook_receiver revived{port};
  start(cfg);
  auto got = revived.await_delivered(1);
  ASSERT_EQ(got.size(), 1u);
  auto b = verified(got[0]);
  EXPECT_EQ(b.at("type"), "payment_intent.succeeded");
  // A retry after the restart gets the first answer and charges nothing again.
  auto again = create(req);
  EXPECT_EQ(again.ok, first.ok);
  EXPECT_EQ(again.status, first.status);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(revived.requests().size(), 1u);
  EXPECT_EQ(scalar("select count(*) from sandbox_webhooks"), 1);
  sandbox_.reset(); // before `revived` goes away
}

TEST_F(SandboxTest, AuthorizeThenCapture) {
  start();
  expect_pending(create(make_intent("pi_auth", test_cards::success, false)));
  expect_pending(capture("cap_auth", "pi_auth"));
  auto got = receiver_->await_delivered(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(types_of(got),
            (std::vector<std::string>{"payment_intent.authorized", "payment_intent.captured"}));
  auto captured = verified(got[1]);
  EXPECT_EQ(captured.at("data").at("key"), "cap_auth");
  EXPECT_EQ(captured.at("data").at("intent"), "pi_auth");
  EXPECT_EQ(captured.at("data").at("amount"), 12'500);
  // Captured once only.
  auto twice = capture("cap_auth_2", "pi_auth");
  expect_refused(twice, "invalid_state");
  EXPECT_EQ(twice.status, "succeeded");
  expect_refused(capture("cap_nothing", "pi_nothing"), "not_found");
}

TEST_F(SandboxTest, AuthorizeThenCancel) {
  start();
  expect_pending(create(make_intent("pi_void", test_cards::success, false)));
  expect_pending(cancel("cn_void", "pi_void"));
  auto got = receiver_->await_delivered(2);
  ASSERT_EQ(got.size(), 2u);
  auto canceled = verified(got[1]);
  EXPECT_EQ(canceled.at("type"), "payment_intent.canceled");
  EXPECT_EQ(canceled.at("data").at("reason"), "requested");
  EXPECT_EQ(canceled.at("data").at("key"), "cn_void");
  auto cap = capture("cap_void", "pi_void");
  expect_refused(cap, "invalid_state");
  EXPECT_EQ(cap.status, "canceled");
}

TEST_F(SandboxTest, ShortAuthorizationLapsesAndCaptureFails) {
  start();
  auto authorized_at = clock_type::now();
  expect_pending(create(make_intent("pi_lapse", test_cards::short_authorization, false)));
  // The lapse is reported without any call...
  auto got = receiver_->await_delivered(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_GE(got[1].at - authorized_at, 1s);
  auto canceled = verified(got[1]);
  EXPECT_EQ(canceled.at("type"), "payment_intent.canceled");
  EXPECT_EQ(canceled.at("data").at("reason"), "expired");
  EXPECT_EQ(canceled.at("data").at("intent"), "pi_lapse");
  // ...and a capture afterwards is refused.
  auto cap = capture("cap_lapse", "pi_lapse");
  expect_refused(cap, "invalid_state");
  EXPECT_EQ(cap.message, "authorization_expired");
  EXPECT_EQ(cap.status, "canceled");
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(receiver_->requests().size(), 2u);
}

TEST_F(SandboxTest, CaptureAtTheMomentOfLapseCancelsOnce) {
  // Whichever notices first, the capture or the deliverer, the lapse is decided under the
  // intent's row lock and reported once.
  start();
  expect_pending(create(make_intent("pi_edge", test_cards::short_authorization, false)));
  auto deadline = std::chrono::system_clock::now() + 1s;
  std::this_thread::sleep_until(deadline);
  auto cap = capture("cap_edge", "pi_edge");
  expect_refused(cap, "invalid_state");
  EXPECT_EQ(cap.message, "authorization_expired");
  auto got = receiver_->await_delivered(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(types_of(got),
            (std::vector<std::string>{"payment_intent.authorized", "payment_intent.canceled"}));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(scalar("select count(*) from sandbox_webhooks"), 2);
}

TEST_F(SandboxTest, RefundsOfACapturedIntent) {
  start();
  expect_pending(create(make_intent("pi_refund", test_cards::success)));
  expect_pending(refund("rf_1", "pi_refund", 2'500));
  auto over = refund("rf_over", "pi_refund", 10'001);
  expect_refused(over, "invalid_state");
  EXPECT_EQ(over.status, "succeeded");
  expect_pending(refund("rf_2", "pi_refund", 10'000));
  auto got = receiver_->await_delivered(3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(types_of(got), (std::vector<std::string>{"payment_intent.succeeded",
                                                     "refund.succeeded", "refund.succeeded"}));
  auto first = verified(got[1]);
  EXPECT_EQ(first.at("data").at("amount"), 2'500);
  EXPECT_EQ(first.at("data").at("key"), "rf_1");
  EXPECT_EQ(first.at("data").at("intent"), "pi_refund");
  auto none_left = refund("rf_3", "pi_refund", 1);
  expect_refused(none_left, "invalid_state");
  EXPECT_EQ(none_left.status, "refunded");
  expect_refused(refund("rf_4", "pi_nothing", 1), "not_found");
}

TEST_F(SandboxTest, RefundOfAnAuthorizationIsInvalidState) {
  start();
  expect_pending(create(make_intent("pi_uncaptured", test_cards::success, false)));
  auto r = refund("rf_uncaptured", "pi_uncaptured", 1);
  expect_refused(r, "invalid_state");
  EXPECT_EQ(r.status, "requires_capture");
}

TEST_F(SandboxTest, PayoutIsPaid) {
  start();
  payout_request req;
  req.key = "po_1";
  req.amount = 9'000;
  req.currency = "USD";
  req.destination = "acct_creator_42";
  req.reference = "contract:1";
  expect_pending(payout(req));
  expect_pending(payout(req));
  auto failing = req;
  failing.key = "po_2";
  failing.destination = std::string{failing_payout_destination};
  expect_pending(payout(failing));
  auto empty = req;
  empty.key = "po_3";
  empty.destination.clear();
  expect_refused(payout(empty), "invalid_request");
  auto got = receiver_->await_delivered(2);
  ASSERT_EQ(got.size(), 2u);
  auto types = types_of(got);
  std::sort(types.begin(), types.end());
  EXPECT_EQ(types, (std::vector<std::string>{"payout.failed", "payout.paid"}));
  for (const auto& r : got) {
    auto b = verified(r);
    if (b.at("type") == "payout.paid") {
      EXPECT_EQ(b.at("data").at("key"), "po_1");
      EXPECT_EQ(b.at("data").at("amount"), 9'000);
    } else {
      EXPECT_EQ(b.at("data").at("failure_code"), "account_closed");
    }
  }
  // A payout is not a payment intent.
  expect_refused(refund("rf_payout", "po_1", 1), "not_found");
}

TEST_F(SandboxTest, StoppedSandboxRefusesCalls) {
  start();
  sandbox_->stop();
  sandbox_->stop();
  call_result r;
  sandbox_->create_intent(make_intent("pi_stopped", test_cards::success),
                          [&](call_result x) { r = std::move(x); });
  expect_refused(r, "unavailable", true);
}

TEST(SandboxConfigTest, WebhooksGoToLoopbackOnly) {
  sandbox_config cfg;
  cfg.database_url = "postgresql://nobody@127.0.0.1:1/none";
  cfg.webhook_secret = "s";
  for (const char* url : {"https://127.0.0.1/x", "http://example.com/x", "http://10.0.0.1/x",
                          "http://127.0.0.1:0/x", "http://127.0.0.1:x/x", "ftp://127.0.0.1/"}) {
    cfg.webhook_url = url;
    EXPECT_THROW(make_sandbox(cfg), std::invalid_argument) << url;
  }
  cfg.webhook_url = "http://127.0.0.1:1/x";
  cfg.webhook_secret.clear();
  EXPECT_THROW(make_sandbox(cfg), std::invalid_argument);
}

} // namespace
} // namespace pactum::payments
