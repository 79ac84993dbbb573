#include "pactum/protocol/contract_events.hpp"

#include <array>
#include <cstdint>
#include <limits>

#include <nlohmann/json.hpp>

#include "pactum/common/overload.hpp"
#include "payload_reader.hpp"
#include "terms.hpp"

namespace pactum::protocol {

using json = nlohmann::json;

namespace {

// The wire names, in the order of the variant's alternatives.
constexpr std::array<std::string_view, std::variant_size_v<contract_event>> type_names{{
  "contract.opened",
  "contract.funding_requested",
  "contract.funding_failed",
  "contract.funded",
  "contract.delivered",
  "contract.revision_requested",
  "contract.released",
  "contract.refunded",
  "contract.cancel_requested",
  "contract.cancelled",
  "contract.disputed",
  "contract.resolved",
  "contract.reminder",
  "contract.provider_confirmed",
  "contract.reauthorization_requested",
  "contract.reauthorized",
  "contract.fallback_charge_on_approval",
  "contract.capture_requested",
  "contract.capture_failed",
  "contract.charged",
  "contract.charge_failed",
  "contract.performance_billed",
}};

constexpr std::array<std::string_view, 2> mode_names{{"escrow", "authorize_capture"}};

/// Returns true for the event types that have a version 2 (the fields of authorize_capture).
bool has_version_2(std::string_view type) noexcept {
  return type == "contract.opened" || type == "contract.funding_requested"
         || type == "contract.funded" || type == "contract.refunded"
         || type == "contract.cancelled" || type == "contract.resolved";
}

using reader = detail::payload_reader;

json encode_items(const std::vector<delivery_item>& items) {
  auto list = json::array();
  for (auto& item : items)
    list.push_back(json{{"url", item.url}, {"note", item.note}});
  return list;
}

} // namespace

std::string_view to_string(funding_mode x) noexcept {
  auto i = static_cast<size_t>(x);
  return i < mode_names.size() ? mode_names[i] : std::string_view{"unknown"};
}

std::optional<funding_mode> funding_mode_from_string(std::string_view x) noexcept {
  for (size_t i = 0; i < mode_names.size(); ++i)
    if (mode_names[i] == x)
      return static_cast<funding_mode>(i);
  return std::nullopt;
}

std::string_view contract_event_type(const contract_event& ev) noexcept {
  return type_names[ev.index()];
}

bool is_contract_event_type(std::string_view type) noexcept {
  for (auto name : type_names)
    if (name == type)
      return true;
  return false;
}

int16_t contract_event_version(const contract_event& ev) noexcept {
  if (auto* o = std::get_if<contract_opened>(&ev); o && o->performance)
    return 3;
  const bool v2 = std::visit(
    overload{
      [](const contract_opened& x) { return x.mode != funding_mode::escrow; },
      [](const contract_funding_requested& x) { return !x.capture; },
      [](const contract_funded& x) { return x.authorized || x.authorization_expires_at != 0; },
      [](const contract_refunded& x) { return !x.cancel.empty(); },
      [](const contract_cancelled& x) { return !x.cancel.empty(); },
      [](const contract_resolved& x) { return !x.cancel.empty(); },
      [](const auto&) { return false; },
    },
    ev);
  return v2 ? 2 : 1;
}

std::string encode_contract_event(const contract_event& ev) {
  const bool v2 = contract_event_version(ev) >= 2;
  json obj = std::visit(
    overload{
      [v2](const contract_opened& x) {
        json obj{{"conversation", x.conversation.str()},
                 {"offer", x.offer},
                 {"brand", x.brand.str()},
                 {"creator", x.creator.str()},
                 {"terms", detail::terms_to_json(x.terms)},
                 {"at", x.at}};
        if (v2)
          obj["funding_mode"] = to_string(x.mode);
        if (x.performance)
          obj["performance"] = json{{"campaign", x.performance->campaign.str()},
                                    {"model", x.performance->model},
                                    {"rate", x.performance->rate},
                                    {"ends_at", x.performance->ends_at}};
        return obj;
      },
      [v2](const contract_funding_requested& x) {
        json obj{{"by", x.by.str()},
                 {"key", x.key},
                 {"intent", x.intent},
                 {"payment_method", x.payment_method},
                 {"amount", x.amount},
                 {"currency", x.currency},
                 {"at", x.at}};
        if (v2)
          obj["capture"] = x.capture;
        return obj;
      },
      [](const contract_funding_failed& x) {
        return json{{"intent", x.intent}, {"code", x.code}, {"at", x.at}};
      },
      [v2](const contract_funded& x) {
        json obj{{"intent", x.intent}, {"delivery_due", x.delivery_due}, {"at", x.at}};
        if (v2) {
          obj["authorized"] = x.authorized;
          obj["authorization_expires_at"] = x.authorization_expires_at;
        }
        return obj;
      },
      [](const contract_delivered& x) {
        return json{{"by", x.by.str()},
                    {"key", x.key},
                    {"items", encode_items(x.items)},
                    {"note", x.note},
                    {"round", x.round},
                    {"review_due", x.review_due},
                    {"at", x.at}};
      },
      [](const contract_revision_requested& x) {
        return json{{"by", x.by.str()},
                    {"key", x.key},
                    {"reason", x.reason},
                    {"round", x.round},
                    {"delivery_due", x.delivery_due},
                    {"at", x.at}};
      },
      [](const contract_released& x) {
        json obj{{"to_creator", x.to_creator},
                 {"commission", x.commission},
                 {"automatic", x.automatic},
                 {"at", x.at}};
        if (!x.automatic) { // an approval: who approved, under which key
          obj["by"] = x.by.str();
          obj["key"] = x.key;
        }
        return obj;
      },
      [v2](const contract_refunded& x) {
        json obj{{"amount", x.amount}, {"reason", x.reason}, {"refund", x.refund}, {"at", x.at}};
        if (v2)
          obj["cancel"] = x.cancel;
        return obj;
      },
      [](const contract_cancel_requested& x) {
        return json{{"by", x.by.str()}, {"key", x.key}, {"at", x.at}};
      },
      [v2](const contract_cancelled& x) {
        json obj{{"by", x.by.str()},
                 {"key", x.key},
                 {"refunded", x.refunded},
                 {"refund", x.refund},
                 {"at", x.at}};
        if (v2)
          obj["cancel"] = x.cancel;
        return obj;
      },
      [](const contract_disputed& x) {
        return json{{"by", x.by.str()},
                    {"key", x.key},
                    {"reason", x.reason},
                    {"paused_status", x.paused_status},
                    {"remaining", x.remaining},
                    {"at", x.at}};
      },
      [v2](const contract_resolved& x) {
        json obj{{"by", x.by.str()},
                 {"key", x.key},
                 {"to_creator", x.to_creator},
                 {"to_brand", x.to_brand},
                 {"commission", x.commission},
                 {"refund", x.refund},
                 {"at", x.at}};
        if (v2)
          obj["cancel"] = x.cancel;
        return obj;
      },
      [](const contract_reminder& x) {
        return json{{"deadline", x.deadline}, {"due", x.due}, {"at", x.at}};
      },
      [](const contract_provider_confirmed& x) {
        return json{{"call", x.call}, {"at", x.at}};
      },
      [](const contract_reauthorization_requested& x) {
        return json{{"intent", x.intent},
                    {"amount", x.amount},
                    {"currency", x.currency},
                    {"at", x.at}};
      },
      [](const contract_reauthorized& x) {
        return json{{"intent", x.intent},
                    {"previous", x.previous},
                    {"cancel", x.cancel},
                    {"authorization_expires_at", x.authorization_expires_at},
                    {"at", x.at}};
      },
      [](const contract_fallback_charge_on_approval& x) {
        return json{{"intent", x.intent}, {"code", x.code}, {"cancel", x.cancel}, {"at", x.at}};
      },
      [](const contract_capture_requested& x) {
        json obj{{"capture", x.capture},
                 {"intent", x.intent},
                 {"charge", x.charge},
                 {"amount", x.amount},
                 {"reason", x.reason},
                 {"to_creator", x.to_creator},
                 {"commission", x.commission},
                 {"at", x.at}};
        if (x.reason != "review_lapsed") { // a member's command: who, under which key
          obj["by"] = x.by.str();
          obj["key"] = x.key;
        }
        return obj;
      },
      [](const contract_capture_failed& x) {
        return json{{"capture", x.capture},
                    {"code", x.code},
                    {"cancel", x.cancel},
                    {"charge", x.charge},
                    {"amount", x.amount},
                    {"at", x.at}};
      },
      [](const contract_charged& x) {
        return json{{"intent", x.intent}, {"amount", x.amount}, {"at", x.at}};
      },
      [](const contract_charge_failed& x) {
        return json{{"intent", x.intent}, {"code", x.code}, {"at", x.at}};
      },
      [](const contract_performance_billed& x) {
        return json{{"units", x.units},     {"gross", x.gross},   {"commission", x.commission},
                    {"through", x.through}, {"ended", x.ended},   {"at", x.at}};
      },
    },
    ev);
  obj["type"] = contract_event_type(ev);
  auto bytes = json::to_msgpack(obj);
  return std::string{bytes.begin(), bytes.end()};
}

expected<contract_event, std::string> decode_contract_event(std::string_view type,
                                                            int16_t version,
                                                            std::string_view msgpack) {
  if (!is_contract_event_type(type))
    return std::string{"unknown event type "} + std::string{type};
  if (version != 1 && !(version == 2 && has_version_2(type))
      && !(version == 3 && type == "contract.opened"))
    return std::string{"unsupported version "} + std::to_string(version) + " of "
           + std::string{type};
  const bool v2 = version >= 2;
  auto obj = json::from_msgpack(msgpack.begin(), msgpack.end(), true, false);
  if (obj.is_discarded() || !obj.is_object())
    return std::string{"payload is not a msgpack map"};
  reader f{obj};
  auto done = [&](contract_event ev) -> expected<contract_event, std::string> {
    if (!f.ok())
      return std::string{type} + ": missing or malformed field " + f.failed;
    return ev;
  };
  if (type == "contract.opened") {
    contract_opened x{f.id("conversation"), f.integer("offer"), f.id("brand"), f.id("creator"),
                      {}, f.integer("at")};
    if (v2) {
      auto mode = funding_mode_from_string(f.str("funding_mode"));
      if (!mode)
        f.fail("funding_mode");
      else
        x.mode = *mode;
    }
    if (version == 3) {
      auto p = obj.find("performance");
      if (p == obj.end() || !p->is_object()) {
        f.fail("performance");
      } else {
        reader pf{*p};
        performance_terms perf{pf.id("campaign"), pf.str("model"), pf.integer("rate"),
                               pf.integer("ends_at")};
        if (!pf.ok() || (perf.model != "cpc" && perf.model != "cpv") || perf.rate <= 0
            || perf.ends_at < 0)
          f.fail("performance");
        else
          x.performance = std::move(perf);
      }
    }
    auto t = obj.find("terms");
    if (t == obj.end())
      f.fail("terms");
    else if (f.ok()) {
      auto terms = detail::terms_from_json(*t, "terms");
      if (!terms)
        return "contract.opened: " + terms.error();
      x.terms = std::move(terms.value());
    }
    return done(std::move(x));
  }
  if (type == "contract.funding_requested") {
    contract_funding_requested x{f.id("by"),           f.str("key"),
                                 f.str("intent"),      f.str("payment_method"),
                                 f.integer("amount"),  f.str("currency"),
                                 f.integer("at")};
    if (v2)
      x.capture = f.boolean("capture");
    return done(std::move(x));
  }
  if (type == "contract.funding_failed")
    return done(contract_funding_failed{f.str("intent"), f.str("code"), f.integer("at")});
  if (type == "contract.funded") {
    contract_funded x{f.str("intent"), f.integer("delivery_due"), f.integer("at")};
    if (v2) {
      x.authorized = f.boolean("authorized");
      x.authorization_expires_at = f.integer("authorization_expires_at");
    }
    return done(std::move(x));
  }
  if (type == "contract.delivered") {
    contract_delivered x{f.id("by"), f.str("key"), {}, f.str("note"),
                         f.integer("round"), f.integer("review_due"), f.integer("at")};
    auto items = obj.find("items");
    if (items == obj.end() || !items->is_array()) {
      f.fail("items");
    } else {
      for (auto& item : *items) {
        if (!item.is_object()) {
          f.fail("items");
          break;
        }
        reader r{item};
        delivery_item d{r.str("url"), r.str("note")};
        if (!r.ok()) {
          f.fail("items");
          break;
        }
        x.items.push_back(std::move(d));
      }
    }
    return done(std::move(x));
  }
  if (type == "contract.revision_requested")
    return done(contract_revision_requested{f.id("by"), f.str("key"), f.str("reason"),
                                            f.integer("round"), f.integer("delivery_due"),
                                            f.integer("at")});
  if (type == "contract.released") {
    contract_released x{f.integer("to_creator"), f.integer("commission"), f.boolean("automatic"),
                        f.integer("at")};
    if (f.ok() && !x.automatic) {
      x.by = f.id("by");
      x.key = f.str("key");
    }
    return done(std::move(x));
  }
  if (type == "contract.refunded") {
    contract_refunded x{f.integer("amount"), f.str("reason"), f.str("refund"), f.integer("at")};
    if (v2)
      x.cancel = f.str("cancel");
    return done(std::move(x));
  }
  if (type == "contract.cancel_requested")
    return done(contract_cancel_requested{f.id("by"), f.str("key"), f.integer("at")});
  if (type == "contract.cancelled") {
    contract_cancelled x{f.id("by"), f.str("key"), f.integer("refunded"), f.str("refund"),
                         f.integer("at")};
    if (v2)
      x.cancel = f.str("cancel");
    return done(std::move(x));
  }
  if (type == "contract.disputed")
    return done(contract_disputed{f.id("by"), f.str("key"), f.str("reason"),
                                  f.str("paused_status"), f.integer("remaining"),
                                  f.integer("at")});
  if (type == "contract.resolved") {
    contract_resolved x{f.id("by"),           f.str("key"),          f.integer("to_creator"),
                        f.integer("to_brand"), f.integer("commission"), f.str("refund"),
                        f.integer("at")};
    if (v2)
      x.cancel = f.str("cancel");
    return done(std::move(x));
  }
  if (type == "contract.reminder")
    return done(contract_reminder{f.str("deadline"), f.integer("due"), f.integer("at")});
  if (type == "contract.provider_confirmed")
    return done(contract_provider_confirmed{f.str("call"), f.integer("at")});
  if (type == "contract.reauthorization_requested")
    return done(contract_reauthorization_requested{f.str("intent"), f.integer("amount"),
                                                   f.str("currency"), f.integer("at")});
  if (type == "contract.reauthorized")
    return done(contract_reauthorized{f.str("intent"), f.str("previous"), f.str("cancel"),
                                      f.integer("authorization_expires_at"), f.integer("at")});
  if (type == "contract.fallback_charge_on_approval")
    return done(contract_fallback_charge_on_approval{f.str("intent"), f.str("code"),
                                                     f.str("cancel"), f.integer("at")});
  if (type == "contract.capture_requested") {
    contract_capture_requested x{f.str("capture"),     f.str("intent"),
                                 f.boolean("charge"),  f.integer("amount"),
                                 f.str("reason"),      f.integer("to_creator"),
                                 f.integer("commission"), f.integer("at")};
    if (f.ok() && x.reason != "approved" && x.reason != "review_lapsed" && x.reason != "resolved")
      f.fail("reason");
    if (f.ok() && x.reason != "review_lapsed") {
      x.by = f.id("by");
      x.key = f.str("key");
    }
    return done(std::move(x));
  }
  if (type == "contract.capture_failed")
    return done(contract_capture_failed{f.str("capture"), f.str("code"), f.str("cancel"),
                                        f.str("charge"), f.integer("amount"), f.integer("at")});
  if (type == "contract.charged")
    return done(contract_charged{f.str("intent"), f.integer("amount"), f.integer("at")});
  if (type == "contract.charge_failed")
    return done(contract_charge_failed{f.str("intent"), f.str("code"), f.integer("at")});
  // is_contract_event_type leaves only this one
  return done(contract_performance_billed{f.integer("units"), f.integer("gross"),
                                          f.integer("commission"), f.integer("through"),
                                          f.boolean("ended"), f.integer("at")});
}

std::optional<std::string> validate_contract_terms(const offer_terms& terms) {
  auto parsed = detail::terms_from_json(detail::terms_to_json(terms), "terms");
  if (!parsed)
    return parsed.error();
  if (parsed.value() != terms)
    return std::string{"terms are not in canonical form (does every deliverable name its platform?)"};
  return std::nullopt;
}

} // namespace pactum::protocol
