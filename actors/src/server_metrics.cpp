#include "server_metrics.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <variant>

#include "pactum/metrics/metrics.hpp"

namespace pactum::actors::server_metrics {

namespace {

// The wire `type` of each request_body alternative, in variant order. offer.answer stands for
// offer.accept/decline/withdraw and contract.command for every contract.* action but get (one
// variant each on the wire side).
constexpr std::array<std::string_view, 19> request_types{{
  "ping", "conversation.open", "conversation.list", "message.send", "subscribe", "unsubscribe",
  "history", "message.edit", "message.delete", "typing", "read", "offer.make", "offer.answer",
  "delivered", "contract.command", "contract.get", "conversation.join", "pledge.subscribe",
  "campaign.subscribe"}};

constexpr size_t type_count = std::variant_size_v<protocol::request_body>;
constexpr size_t label_count = type_count + 1; // + "other"

// The highest error code value (sold_out); a later one shares the last slot's "other" label.
constexpr size_t code_count = static_cast<size_t>(protocol::error_code::sold_out) + 1;

constexpr std::array<std::string_view, 5> kinds{{"conversation", "contract", "wallet", "campaign",
                                                 "pledge"}};

struct command_metrics {
  std::array<metrics::histogram*, label_count> latency{};
  command_metrics() {
    for (size_t i = 0; i < label_count; ++i)
      latency[i] = &metrics::histogram_of(
        "pactum_ws_command_seconds",
        "WebSocket request latency by request type: from the decoded frame to the answer handed "
        "to the connection (durable commands include the PostgreSQL commit).",
        {{"type", std::string{request_type_name(i)}}}, metrics::latency_bounds_us(), 1e-6);
  }
};

struct error_metrics {
  std::array<metrics::counter*, code_count + 1> ws{};
  std::array<metrics::counter*, code_count + 1> http{};
  error_metrics() {
    for (size_t i = 0; i <= code_count; ++i) {
      std::string code = i == 0 || i == code_count
                           ? std::string{"other"}
                           : std::string{protocol::to_string(static_cast<protocol::error_code>(i))};
      const char* help = "Error answers by stable error code (docs/protocol.md) and transport.";
      ws[i] = &metrics::counter_of("pactum_errors_total", help, {{"code", code}, {"via", "ws"}});
      http[i] = &metrics::counter_of("pactum_errors_total", help, {{"code", code}, {"via", "http"}});
    }
  }
};

struct entity_metrics {
  std::array<metrics::gauge*, kinds.size() + 1> alive{}; // + session
  std::array<metrics::counter*, kinds.size()> activations{};
  std::array<metrics::counter*, kinds.size()> passivations{};
  entity_metrics() {
    for (size_t i = 0; i < kinds.size(); ++i) {
      metrics::label_set l{{"type", std::string{kinds[i]}}};
      alive[i] = &metrics::gauge_of("pactum_actors_alive", "Actors alive by type.", l);
      activations[i] = &metrics::counter_of(
        "pactum_actor_activations_total", "Entity actors activated (recovered from storage).", l);
      passivations[i] = &metrics::counter_of(
        "pactum_actor_passivations_total", "Idle entity actors passivated (snapshot, stop).", l);
    }
    alive[kinds.size()] = &metrics::gauge_of("pactum_actors_alive", "Actors alive by type.",
                                             {{"type", "session"}});
  }
};

command_metrics& commands() {
  static command_metrics m;
  return m;
}

error_metrics& errors() {
  static error_metrics m;
  return m;
}

entity_metrics& entities() {
  static entity_metrics m;
  return m;
}

size_t kind_index(entity_kind k) {
  auto i = static_cast<size_t>(k);
  return i < kinds.size() ? i : 0;
}

} // namespace

std::string_view request_type_name(size_t index) noexcept {
  return index < request_types.size() && index < type_count ? request_types[index] : "other";
}

void command_answered(size_t type, std::chrono::steady_clock::time_point received) noexcept {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
              std::chrono::steady_clock::now() - received)
              .count();
  commands().latency[std::min(type, label_count - 1)]->observe(static_cast<uint64_t>(std::max<int64_t>(us, 0)));
}

void error_answered(protocol::error_code code, std::string_view via) noexcept {
  auto i = static_cast<size_t>(code);
  if (i >= code_count)
    i = code_count; // "other"
  (via == "http" ? errors().http : errors().ws)[i]->inc();
}

void entity_activated(entity_kind kind) noexcept {
  entities().alive[kind_index(kind)]->inc();
  entities().activations[kind_index(kind)]->inc();
}

void entity_stopped(entity_kind kind) noexcept {
  entities().alive[kind_index(kind)]->dec();
}

void entity_passivated(entity_kind kind) noexcept {
  entities().passivations[kind_index(kind)]->inc();
}

void register_all() {
  commands();
  errors();
  entities();
}

void session_started() noexcept {
  entities().alive[kinds.size()]->inc();
}

void session_stopped() noexcept {
  entities().alive[kinds.size()]->dec();
}

} // namespace pactum::actors::server_metrics
