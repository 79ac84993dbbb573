#include "pactum/protocol/wallet_events.hpp"

#include <nlohmann/json.hpp>

#include "pactum/common/overload.hpp"
#include "payload_reader.hpp"

namespace pactum::protocol {

using json = nlohmann::json;

std::string_view wallet_event_type(const wallet_event& ev) noexcept {
  return std::visit(overload{
                      [](const withdrawal_requested&) { return std::string_view{"wallet.withdrawal_requested"}; },
                      [](const withdrawal_paid&) { return std::string_view{"wallet.withdrawal_paid"}; },
                      [](const withdrawal_failed&) { return std::string_view{"wallet.withdrawal_failed"}; },
                    },
                    ev);
}

int16_t wallet_event_version(const wallet_event&) noexcept {
  return 1;
}

std::string encode_wallet_event(const wallet_event& ev) {
  json obj = std::visit(overload{
                          [](const withdrawal_requested& x) {
                            return json{{"key", x.key},           {"payout", x.payout},
                                        {"amount", x.amount},     {"currency", x.currency},
                                        {"destination", x.destination}, {"at", x.at}};
                          },
                          [](const withdrawal_paid& x) { return json{{"payout", x.payout}, {"at", x.at}}; },
                          [](const withdrawal_failed& x) {
                            return json{{"payout", x.payout}, {"code", x.code}, {"at", x.at}};
                          },
                        },
                        ev);
  obj["type"] = std::string{wallet_event_type(ev)};
  auto bytes = json::to_msgpack(obj);
  return std::string{bytes.begin(), bytes.end()};
}

expected<wallet_event, std::string> decode_wallet_event(std::string_view type, int16_t version,
                                                        std::string_view msgpack) {
  if (version != 1)
    return "unsupported version " + std::to_string(version) + " of " + std::string{type};
  auto obj = json::from_msgpack(msgpack.begin(), msgpack.end(), true, false);
  if (obj.is_discarded() || !obj.is_object())
    return std::string{"payload is not a msgpack map"};
  detail::payload_reader f{obj};
  auto done = [&](wallet_event ev) -> expected<wallet_event, std::string> {
    if (!f.ok())
      return std::string{type} + ": missing or malformed field " + f.failed;
    return ev;
  };
  if (type == "wallet.withdrawal_requested") {
    withdrawal_requested x;
    x.key = f.str("key");
    x.payout = f.str("payout");
    x.amount = f.integer("amount");
    x.currency = f.str("currency");
    x.destination = f.str("destination");
    x.at = f.integer("at");
    return done(std::move(x));
  }
  if (type == "wallet.withdrawal_paid") {
    withdrawal_paid x;
    x.payout = f.str("payout");
    x.at = f.integer("at");
    return done(std::move(x));
  }
  if (type == "wallet.withdrawal_failed") {
    withdrawal_failed x;
    x.payout = f.str("payout");
    x.code = f.str("code");
    x.at = f.integer("at");
    return done(std::move(x));
  }
  return "unknown event type " + std::string{type};
}

} // namespace pactum::protocol
