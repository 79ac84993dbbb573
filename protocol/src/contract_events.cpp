#include "pactum/protocol/contract_events.hpp"

#include <array>
#include <cstdint>
#include <limits>

#include <nlohmann/json.hpp>

#include "pactum/common/overload.hpp"
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
}};

/// Reads the fields of one payload; the first missing or mistyped field makes it fail (and is
/// named in the error), later reads return defaults.
struct reader {
  const json& obj;
  const char* failed = nullptr;

  bool ok() const noexcept { return failed == nullptr; }

  const json* find(const char* key) {
    auto i = obj.find(key);
    return i == obj.end() ? nullptr : &*i;
  }

  void fail(const char* key) {
    if (!failed)
      failed = key;
  }

  std::string str(const char* key) {
    auto* v = find(key);
    if (!v || !v->is_string()) {
      fail(key);
      return {};
    }
    return v->get<std::string>();
  }

  int64_t integer(const char* key) {
    auto* v = find(key);
    if (!v || !v->is_number_integer()
        || (v->is_number_unsigned()
            && v->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))) {
      fail(key);
      return 0;
    }
    return v->get<int64_t>();
  }

  bool boolean(const char* key) {
    auto* v = find(key);
    if (!v || !v->is_boolean()) {
      fail(key);
      return false;
    }
    return v->get<bool>();
  }

  uuid id(const char* key) {
    auto* v = find(key);
    std::optional<uuid> parsed;
    if (v && v->is_string())
      parsed = uuid::parse(v->get_ref<const std::string&>());
    if (!parsed) {
      fail(key);
      return {};
    }
    return *parsed;
  }
};

json encode_items(const std::vector<delivery_item>& items) {
  auto list = json::array();
  for (auto& item : items)
    list.push_back(json{{"url", item.url}, {"note", item.note}});
  return list;
}

} // namespace

std::string_view contract_event_type(const contract_event& ev) noexcept {
  return type_names[ev.index()];
}

bool is_contract_event_type(std::string_view type) noexcept {
  for (auto name : type_names)
    if (name == type)
      return true;
  return false;
}

int16_t contract_event_version(const contract_event&) noexcept {
  return 1;
}

std::string encode_contract_event(const contract_event& ev) {
  json obj = std::visit(
    overload{
      [](const contract_opened& x) {
        return json{{"conversation", x.conversation.str()},
                    {"offer", x.offer},
                    {"brand", x.brand.str()},
                    {"creator", x.creator.str()},
                    {"terms", detail::terms_to_json(x.terms)},
                    {"at", x.at}};
      },
      [](const contract_funding_requested& x) {
        return json{{"by", x.by.str()},
                    {"key", x.key},
                    {"intent", x.intent},
                    {"payment_method", x.payment_method},
                    {"amount", x.amount},
                    {"currency", x.currency},
                    {"at", x.at}};
      },
      [](const contract_funding_failed& x) {
        return json{{"intent", x.intent}, {"code", x.code}, {"at", x.at}};
      },
      [](const contract_funded& x) {
        return json{{"intent", x.intent}, {"delivery_due", x.delivery_due}, {"at", x.at}};
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
      [](const contract_refunded& x) {
        return json{{"amount", x.amount},
                    {"reason", x.reason},
                    {"refund", x.refund},
                    {"at", x.at}};
      },
      [](const contract_cancel_requested& x) {
        return json{{"by", x.by.str()}, {"key", x.key}, {"at", x.at}};
      },
      [](const contract_cancelled& x) {
        return json{{"by", x.by.str()},
                    {"key", x.key},
                    {"refunded", x.refunded},
                    {"refund", x.refund},
                    {"at", x.at}};
      },
      [](const contract_disputed& x) {
        return json{{"by", x.by.str()},
                    {"key", x.key},
                    {"reason", x.reason},
                    {"paused_status", x.paused_status},
                    {"remaining", x.remaining},
                    {"at", x.at}};
      },
      [](const contract_resolved& x) {
        return json{{"by", x.by.str()},
                    {"key", x.key},
                    {"to_creator", x.to_creator},
                    {"to_brand", x.to_brand},
                    {"commission", x.commission},
                    {"refund", x.refund},
                    {"at", x.at}};
      },
      [](const contract_reminder& x) {
        return json{{"deadline", x.deadline}, {"due", x.due}, {"at", x.at}};
      },
      [](const contract_provider_confirmed& x) {
        return json{{"call", x.call}, {"at", x.at}};
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
  if (version != 1)
    return std::string{"unsupported version "} + std::to_string(version) + " of "
           + std::string{type};
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
  if (type == "contract.funding_requested")
    return done(contract_funding_requested{f.id("by"), f.str("key"), f.str("intent"),
                                           f.str("payment_method"), f.integer("amount"),
                                           f.str("currency"), f.integer("at")});
  if (type == "contract.funding_failed")
    return done(contract_funding_failed{f.str("intent"), f.str("code"), f.integer("at")});
  if (type == "contract.funded")
    return done(contract_funded{f.str("intent"), f.integer("delivery_due"), f.integer("at")});
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
  if (type == "contract.refunded")
    return done(contract_refunded{f.integer("amount"), f.str("reason"), f.str("refund"),
                                  f.integer("at")});
  if (type == "contract.cancel_requested")
    return done(contract_cancel_requested{f.id("by"), f.str("key"), f.integer("at")});
  if (type == "contract.cancelled")
    return done(contract_cancelled{f.id("by"), f.str("key"), f.integer("refunded"),
                                   f.str("refund"), f.integer("at")});
  if (type == "contract.disputed")
    return done(contract_disputed{f.id("by"), f.str("key"), f.str("reason"),
                                  f.str("paused_status"), f.integer("remaining"),
                                  f.integer("at")});
  if (type == "contract.resolved")
    return done(contract_resolved{f.id("by"), f.str("key"), f.integer("to_creator"),
                                  f.integer("to_brand"), f.integer("commission"), f.str("refund"),
                                  f.integer("at")});
  if (type == "contract.reminder")
    return done(contract_reminder{f.str("deadline"), f.integer("due"), f.integer("at")});
  // is_contract_event_type leaves only this one
  return done(contract_provider_confirmed{f.str("call"), f.integer("at")});
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
