#include "pactum/protocol/errors.hpp"

#include <array>
#include <utility>

namespace pactum::protocol {

namespace {

constexpr std::array<std::pair<error_code, std::string_view>, 22> names{{
  {error_code::bad_frame, "bad_frame"},
  {error_code::bad_request, "bad_request"},
  {error_code::unknown_type, "unknown_type"},
  {error_code::unauthorized, "unauthorized"},
  {error_code::forbidden, "forbidden"},
  {error_code::not_found, "not_found"},
  {error_code::conflict, "conflict"},
  {error_code::too_large, "too_large"},
  {error_code::rate_limited, "rate_limited"},
  {error_code::overloaded, "overloaded"},
  {error_code::unavailable, "unavailable"},
  {error_code::timeout, "timeout"},
  {error_code::internal, "internal"},
  {error_code::limit_reached, "limit_reached"},
  {error_code::content_blocked, "content_blocked"},
  {error_code::idempotency_mismatch, "idempotency_mismatch"},
  {error_code::sold_out, "sold_out"},
  {error_code::invalid_code, "invalid_code"},
  {error_code::expired, "expired"},
  {error_code::already_redeemed, "already_redeemed"},
  {error_code::budget_exhausted, "budget_exhausted"},
  {error_code::promotion_inactive, "promotion_inactive"},
}};

} // namespace

std::string_view to_string(error_code x) noexcept {
  for (auto& [code, name] : names)
    if (code == x)
      return name;
  return "internal";
}

std::optional<error_code> error_code_from_string(std::string_view x) noexcept {
  for (auto& [code, name] : names)
    if (name == x)
      return code;
  return std::nullopt;
}

} // namespace pactum::protocol
