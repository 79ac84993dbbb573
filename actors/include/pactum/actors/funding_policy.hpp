#pragma once

// Which funding mode a new contract uses: a pure function of the brand's country (ISO 3166-1
// alpha-2, optional) and the operator's configuration (`pactumd --funding-mode-default` and
// `--funding-modes CC=mode,...`). No CAF, no I/O; unit-tested in
// tests/actors/funding_policy_test.cpp. The mode is journaled in contract.opened, so changing the
// configuration affects new contracts only.

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "pactum/common/expected.hpp"
#include "pactum/protocol/contract_events.hpp"

namespace pactum::actors {

/// The operator's per-country choice of funding mode.
struct funding_policy {
  /// The mode of a brand whose country is unknown or not listed.
  protocol::funding_mode default_mode = protocol::funding_mode::escrow;
  /// Country code (two upper-case letters) -> mode.
  std::map<std::string, protocol::funding_mode, std::less<>> by_country;
  friend bool operator==(const funding_policy&, const funding_policy&) = default;
};

/// The most countries `--funding-modes` may list.
inline constexpr size_t max_funding_countries = 300;

/// Returns the mode for a brand in `country` (case-insensitive two-letter code; nullopt or empty:
/// unknown): the country's entry, else the default. An unknown or malformed country gets the
/// default.
protocol::funding_mode choose_funding_mode(const funding_policy& policy,
                                           std::optional<std::string_view> country) noexcept;

/// Parses `--funding-modes`: a comma-separated list of `CC=mode` (CC two ASCII letters, stored
/// upper-case; mode `escrow` or `authorize_capture`); empty: no entries. A country listed twice,
/// a malformed item or more than `max_funding_countries` entries is an error (its text says which).
expected<std::map<std::string, protocol::funding_mode, std::less<>>, std::string>
parse_funding_modes(std::string_view list);

} // namespace pactum::actors
