#include "pactum/protocol/pledge_events.hpp"

#include <nlohmann/json.hpp>

#include "pactum/common/overload.hpp"
#include "payload_reader.hpp"

namespace pactum::protocol {

using json = nlohmann::json;

std::string_view pledge_event_type(const pledge_event& ev) noexcept {
  return std::visit(overload{
                      [](const pledge_created&) { return std::string_view{"pledge.created"}; },
                      [](const pledge_launched&) { return std::string_view{"pledge.launched"}; },
                      [](const pledge_pledged&) { return std::string_view{"pledge.pledged"}; },
                      [](const pledge_authorized&) { return std::string_view{"pledge.authorized"}; },
                      [](const pledge_declined&) { return std::string_view{"pledge.declined"}; },
                      [](const pledge_withdrawn&) { return std::string_view{"pledge.withdrawn"}; },
                      [](const pledge_succeeded&) { return std::string_view{"pledge.succeeded"}; },
                      [](const pledge_failed&) { return std::string_view{"pledge.failed"}; },
                      [](const pledge_captured&) { return std::string_view{"pledge.captured"}; },
                      [](const pledge_capture_failed&) { return std::string_view{"pledge.capture_failed"}; },
                      [](const pledge_released&) { return std::string_view{"pledge.released"}; },
                      [](const pledge_call_confirmed&) { return std::string_view{"pledge.call_confirmed"}; },
                    },
                    ev);
}

int16_t pledge_event_version(const pledge_event&) noexcept {
  return 1;
}

std::string encode_pledge_event(const pledge_event& ev) {
  json obj = std::visit(
    overload{
      [](const pledge_created& x) {
        json tiers = json::array();
        for (auto& t : x.tiers)
          tiers.push_back(json{{"title", t.title},
                               {"price", t.price},
                               {"quantity", t.quantity},
                               {"delivery_at", t.delivery_at}});
        return json{{"creator", x.creator.str()}, {"key", x.key},       {"title", x.title},
                    {"description", x.description}, {"goal", x.goal},   {"currency", x.currency},
                    {"end_at", x.end_at},           {"tiers", tiers},   {"at", x.at}};
      },
      [](const pledge_launched& x) { return json{{"key", x.key}, {"at", x.at}}; },
      [](const pledge_pledged& x) {
        return json{{"backer", x.backer.str()}, {"key", x.key},       {"tier", x.tier},
                    {"amount", x.amount},       {"intent", x.intent}, {"payment_method", x.payment_method},
                    {"at", x.at}};
      },
      [](const pledge_authorized& x) { return json{{"pledge", x.pledge}, {"at", x.at}}; },
      [](const pledge_declined& x) { return json{{"pledge", x.pledge}, {"code", x.code}, {"at", x.at}}; },
      [](const pledge_withdrawn& x) { return json{{"pledge", x.pledge}, {"key", x.key}, {"at", x.at}}; },
      [](const pledge_succeeded& x) { return json{{"total", x.total}, {"at", x.at}}; },
      [](const pledge_failed& x) { return json{{"total", x.total}, {"at", x.at}}; },
      [](const pledge_captured& x) { return json{{"pledge", x.pledge}, {"at", x.at}}; },
      [](const pledge_capture_failed& x) {
        return json{{"pledge", x.pledge}, {"code", x.code}, {"at", x.at}};
      },
      [](const pledge_released& x) {
        return json{{"to_creator", x.to_creator}, {"commission", x.commission}, {"at", x.at}};
      },
      [](const pledge_call_confirmed& x) { return json{{"call", x.call}, {"at", x.at}}; },
    },
    ev);
  obj["type"] = std::string{pledge_event_type(ev)};
  auto bytes = json::to_msgpack(obj);
  return std::string{bytes.begin(), bytes.end()};
}

expected<pledge_event, std::string> decode_pledge_event(std::string_view type, int16_t version,
                                                        std::string_view msgpack) {
  if (version != 1)
    return "unsupported version " + std::to_string(version) + " of " + std::string{type};
  auto obj = json::from_msgpack(msgpack.begin(), msgpack.end(), true, false);
  if (obj.is_discarded() || !obj.is_object())
    return std::string{"payload is not a msgpack map"};
  detail::payload_reader f{obj};
  auto done = [&](pledge_event ev) -> expected<pledge_event, std::string> {
    if (!f.ok())
      return std::string{type} + ": missing or malformed field " + f.failed;
    return ev;
  };
  if (type == "pledge.created") {
    pledge_created x;
    x.creator = f.id("creator");
    x.key = f.str("key");
    x.title = f.str("title");
    x.description = f.str("description");
    x.goal = f.integer("goal");
    x.currency = f.str("currency");
    x.end_at = f.integer("end_at");
    x.at = f.integer("at");
    auto* tiers = f.find("tiers");
    if (!tiers || !tiers->is_array())
      f.fail("tiers");
    else
      for (auto& t : *tiers) {
        if (!t.is_object()) {
          f.fail("tiers");
          break;
        }
        detail::payload_reader g{t};
        pledge_tier tier;
        tier.title = g.str("title");
        tier.price = g.integer("price");
        tier.quantity = g.integer("quantity");
        tier.delivery_at = g.integer("delivery_at");
        if (!g.ok())
          f.fail("tiers");
        x.tiers.push_back(std::move(tier));
      }
    return done(std::move(x));
  }
  if (type == "pledge.launched") {
    pledge_launched x;
    x.key = f.str("key");
    x.at = f.integer("at");
    return done(std::move(x));
  }
  if (type == "pledge.pledged") {
    pledge_pledged x;
    x.backer = f.id("backer");
    x.key = f.str("key");
    x.tier = f.integer("tier");
    x.amount = f.integer("amount");
    x.intent = f.str("intent");
    x.payment_method = f.str("payment_method");
    x.at = f.integer("at");
    return done(std::move(x));
  }
  auto pledge_and_at = [&](auto x) {
    x.pledge = f.integer("pledge");
    x.at = f.integer("at");
    return x;
  };
  if (type == "pledge.authorized")
    return done(pledge_and_at(pledge_authorized{}));
  if (type == "pledge.captured")
    return done(pledge_and_at(pledge_captured{}));
  if (type == "pledge.declined") {
    auto x = pledge_and_at(pledge_declined{});
    x.code = f.str("code");
    return done(std::move(x));
  }
  if (type == "pledge.capture_failed") {
    auto x = pledge_and_at(pledge_capture_failed{});
    x.code = f.str("code");
    return done(std::move(x));
  }
  if (type == "pledge.withdrawn") {
    auto x = pledge_and_at(pledge_withdrawn{});
    x.key = f.str("key");
    return done(std::move(x));
  }
  if (type == "pledge.succeeded")
    return done(pledge_succeeded{f.integer("total"), f.integer("at")});
  if (type == "pledge.failed")
    return done(pledge_failed{f.integer("total"), f.integer("at")});
  if (type == "pledge.released") {
    pledge_released x;
    x.to_creator = f.integer("to_creator");
    x.commission = f.integer("commission");
    x.at = f.integer("at");
    return done(x);
  }
  if (type == "pledge.call_confirmed") {
    pledge_call_confirmed x;
    x.call = f.str("call");
    x.at = f.integer("at");
    return done(std::move(x));
  }
  return "unknown event type " + std::string{type};
}

std::string pledge_stream(const uuid& campaign) {
  return "pledge:" + campaign.str();
}

} // namespace pactum::protocol
