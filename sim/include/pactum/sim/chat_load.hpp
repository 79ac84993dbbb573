#pragma once

// The asynchronous load engine of pactum-sim (`pactum-sim chat`): thousands of WebSocket clients
// on a few threads (one io_context each; each client lives on one of them for its whole life),
// open-loop message arrivals at a target rate with latency counted from the INTENDED send time
// (so a slow server cannot hide its queueing: no coordinated omission), log-linear latency
// histograms, error counts by code, reconnects with resume, and the end check of the protocol's
// delivery guarantee: every acknowledged message reaches every live recipient exactly once (after
// dropping seqs already processed), in order.
//
// Only the documented protocol is used (docs/protocol.md). Beast stays in the .cpp.

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pactum/sim/client.hpp"

namespace pactum::sim {

struct chat_load_config {
  endpoint ep;
  /// Conversations, each between one brand and one creator.
  int conversations = 10;
  /// How many conversations each user (one WebSocket per user) is a member of: 1 gives one socket
  /// per member; K > 1 uses conversations/K brands and as many creators, each brand talking to K
  /// creators (needs conversations % K == 0 and K * K <= conversations).
  int conversations_per_user = 1;
  /// The rooms layout (room_size > 0, instead of the pairs above): `rooms` campaign rooms of
  /// `room_size` members each, one brand and room_size - 1 creators, a socket per member. Setup
  /// makes a campaign per room over REST (create, publish, each creator applies, the brand
  /// approves), then every member sends `campaign.room`. Each acknowledged message is due at
  /// every member: deliveries = acked x room_size.
  int room_size = 0;
  int rooms = 0;
  /// false (`--room-setup none`): no REST setup, each room names a fresh random campaign id, for
  /// servers without campaigns whose `campaign.room` lets anyone in (bench/bare_broadcast.cpp).
  bool room_rest_setup = true;
  /// Target send rates (messages per second over all conversations), one step each, run one
  /// after the other on the same clients; `step_seconds` each.
  std::vector<double> rates = {100};
  double step_seconds = 10;
  int threads = 1;
  enum class encoding { json, msgpack } enc = encoding::json;
  /// Unanswered requests per socket before further ones wait client side (the server refuses
  /// more than 256 with rate_limited).
  int max_inflight_per_socket = 128;
  /// Threads creating accounts over REST before the run (argon2id costs server CPU; start the
  /// server with cheap hashing for large runs).
  int setup_threads = 16;
  /// Sockets connecting at once (per engine thread).
  int connect_parallelism = 256;
  /// Bytes of message text.
  int text_bytes = 64;
  /// After the last step: how long to wait for outstanding acks and deliveries.
  double drain_seconds = 30;
  /// The reconnect storm (`pactum-sim storm`): `storm_at_seconds` into the first step (< 0: no
  /// storm) every socket is dropped at once by the client, or, when `storm_restart_cmd` is set,
  /// that shell command runs (it restarts the server, which drops every socket). Every client
  /// reconnects after a random delay of up to `storm_jitter_ms` (then with the usual backoff),
  /// re-subscribes from its last seq and resends what had no answer. The report gains `storm`.
  double storm_at_seconds = -1;
  std::string storm_restart_cmd;
  int storm_jitter_ms = 1000;
  /// Print a line per phase and per second of load to this stream (null: quiet).
  std::ostream* progress = nullptr;
  /// Sample the server's CPU and RSS from its GET /metrics during the load (server_stats.hpp);
  /// off, or when the server has no /metrics, the report's `server` says why.
  bool server_metrics = true;
  /// > 0: sample /proc/<server_pid> instead (servers without /metrics, on this machine).
  int server_pid = 0;
  /// Bearer token for the server's /metrics (pactumd --metrics-token).
  std::string metrics_token;
};

/// Runs the scenario and returns its report (see sim/README.md for every field). Throws
/// std::runtime_error when setup fails (accounts, sockets, conversations).
nlohmann::json run_chat_load(const chat_load_config& cfg);

/// Prints the human summary of a report.
void print_chat_load_summary(const nlohmann::json& report, std::ostream& out);

/// True when the report's checks passed: nothing lost, nothing stored twice, no gap or reordering,
/// every message acknowledged, no refusal other than the documented retryable ones.
bool chat_load_passed(const nlohmann::json& report);

} // namespace pactum::sim
