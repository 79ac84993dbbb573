#pragma once

// The actors layer's metrics (docs/operations.md, "Metrics"): WebSocket command latency per
// request type, errors answered by code, and entity actors alive, activated and passivated by
// type. Every function is a relaxed atomic update on a metric registered once per process, safe
// from any actor.

#include <chrono>
#include <cstddef>
#include <string_view>

#include "message_types.hpp"
#include "pactum/protocol/errors.hpp"

namespace pactum::actors::server_metrics {

/// The `type` label of request variant index `index` ("other" beyond the known ones).
std::string_view request_type_name(size_t index) noexcept;

/// One WebSocket request of variant index `type` answered `received` (steady clock) after the
/// gateway decoded it.
void command_answered(size_t type, std::chrono::steady_clock::time_point received) noexcept;

/// An error answer with `code`; `via`: "ws" or "http".
void error_answered(protocol::error_code code, std::string_view via) noexcept;

void entity_activated(entity_kind kind) noexcept;
void entity_stopped(entity_kind kind) noexcept;
void entity_passivated(entity_kind kind) noexcept;
void session_started() noexcept;
/// Registers every metric of this layer, so a scrape shows them (at 0) before their first use.
void register_all();
void session_stopped() noexcept;

} // namespace pactum::actors::server_metrics
