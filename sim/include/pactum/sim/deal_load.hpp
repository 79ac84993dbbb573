#pragma once

// `pactum-sim deal` (and `negotiate`, the same engine stopping at the accept): brand/creator pairs
// each running one whole deal, started open loop at a target rate: campaign (REST) → the creator
// applies → the brand approves (the pair's conversation opens) → offer, counter-offers, accept
// (the contract) → fund with a sandbox test card → deliver → approve → released; or, for a share
// of the deals, no delivery: the delivery deadline passes and the server refunds the brand.
// Asynchronous clients, many per thread (one io_context per thread); each operation's latency is
// counted from the moment it was due (for the first, the deal's scheduled start), so a slow server
// cannot hide its queueing. The end check: every deal reached its expected terminal state, both
// sides saw every event of the conversation and of the contract in order without gaps, and the
// ledger check (an operator command) is clean. Only the documented protocol is used.

#include <cstdint>
#include <iosfwd>
#include <string>

#include <nlohmann/json.hpp>

#include "pactum/sim/client.hpp"

namespace pactum::sim {

struct deal_load_config {
  endpoint ep;
  /// Deals, each by its own brand and creator (2 accounts, 2 sockets per deal).
  int deals = 10;
  /// Deals started per second (open loop: deal i is due at start + i / rate).
  double rate = 5;
  /// Counter-offers before the accept (alternating sides, the creator first).
  int counters = 1;
  /// Share (0..1) of the deals that are funded but never delivered: the delivery deadline refunds
  /// them (start pactumd with a short --contract-day-ms).
  double refund_share = 0;
  /// "" (the whole deal) or "accept" (stop once the offer is accepted: the negotiation cycle).
  std::string stop_at;
  /// The offer's delivery_days (a refund deal waits delivery_days x the server's --contract-day-ms).
  int delivery_days = 1;
  /// Amount of the offer in minor units (USD); counters move it by 1 %.
  int64_t amount = 50'000;
  int threads = 1;
  int setup_threads = 16;
  /// A deal not finished this long after its scheduled start fails.
  double deal_timeout_seconds = 60;
  /// Shell command that checks the ledger (exit 0: clean), e.g. "pactumd --database-url … --ledger-check";
  /// empty: not checked (the report says so, and the run does not pass unless --no-ledger-check).
  std::string ledger_check_cmd;
  bool require_ledger_check = true;
  std::ostream* progress = nullptr;
};

/// Runs the scenario; throws std::runtime_error when setup (accounts, sockets) fails.
nlohmann::json run_deal_load(const deal_load_config& cfg);
void print_deal_load_summary(const nlohmann::json& report, std::ostream& out);
bool deal_load_passed(const nlohmann::json& report);

/// `pactum-sim idle`: many authenticated WebSocket sessions held open and idle, with the server's
/// resident memory read from /proc/<server_pid>/status before and after.
struct idle_load_config {
  endpoint ep;
  int sessions = 1000;
  /// Sessions per account (pactumd allows 20 per user by default); fewer accounts, cheaper setup.
  int sessions_per_user = 10;
  double hold_seconds = 10;
  /// The server's pid for RSS samples (0: none).
  int server_pid = 0;
  int threads = 1;
  int setup_threads = 16;
  int connect_parallelism = 256;
  std::ostream* progress = nullptr;
};

nlohmann::json run_idle_load(const idle_load_config& cfg);
void print_idle_load_summary(const nlohmann::json& report, std::ostream& out);
bool idle_load_passed(const nlohmann::json& report);

} // namespace pactum::sim
