#pragma once

// What the end-to-end tests share: a fixture with a fresh database and a real pactumd on a free
// loopback port (its log printed when a test fails), and a wait for the next event that matches.

#include <chrono>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pactum/sim/client.hpp"
#include "pactumd_process.hpp"
#include "test_database.hpp"

namespace pactum::test_support {

class server_test : public database_test {
protected:
  /// pactumd flags for the server SetUp starts (override to change them).
  virtual std::vector<std::string> server_args() const { return {}; }

  void SetUp() override {
    database_test::SetUp();
    if (HasFatalFailure())
      return;
    server_.emplace(url(), server_args());
  }

  void TearDown() override {
    if (HasFailure() && server_)
      std::cerr << "---- pactumd log ----\n" << server_->log() << "---------------------\n";
    server_.reset();
    database_test::TearDown();
  }

  /// Replaces the server with one started with `args` (same database).
  void restart_with(std::vector<std::string> args) {
    server_.reset();
    server_.emplace(url(), std::move(args));
  }

  sim::endpoint ep() const { return sim::endpoint{"127.0.0.1", server_->port()}; }

  std::optional<pactumd_process> server_;
};

/// The next event (a whole `{"type":"event",...}` frame) for which `match` holds, skipping the
/// others; nullopt after `timeout`.
inline std::optional<sim::json> wait_event(sim::ws_client& c,
                                           const std::function<bool(const sim::json&)>& match,
                                           std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto ev = c.next_event(std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now()));
    if (!ev)
      break;
    if (match(*ev))
      return ev;
  }
  return std::nullopt;
}

/// The first event of `type` in a contract view's timeline (`GET /api/v1/contracts/{id}`; null
/// when none).
inline sim::json event_of(const sim::json& view, const std::string& type) {
  for (auto& e : view.value("events", sim::json::array()))
    if (e["event"].value("type", "") == type)
      return e["event"];
  return nullptr;
}

} // namespace pactum::test_support
