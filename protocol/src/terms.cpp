#include "terms.hpp"

#include <algorithm>

#include "utf8.hpp"

namespace pactum::protocol::detail {

using json = nlohmann::json;

namespace {

constexpr std::string_view platforms[] = {"tiktok", "instagram", "youtube", "other"};
constexpr std::string_view usage_scopes[] = {"none", "organic", "paid_ads", "full"};

template <class Range>
std::string one_of(const Range& r) {
  std::string out;
  for (std::string_view x : r) {
    if (!out.empty())
      out += ", ";
    out += x;
  }
  return out;
}

template <class Range>
bool contains(const Range& r, std::string_view x) {
  return std::find(std::begin(r), std::end(r), x) != std::end(r);
}

struct reader {
  const json& obj;
  const std::string& path;
  std::string error;

  std::string name(const char* key) const { return path + "." + key; }

  bool fail(std::string msg) {
    if (error.empty())
      error = std::move(msg);
    return false;
  }

  bool integer(const char* key, int64_t lo, int64_t hi, int64_t& out, bool required) {
    auto i = obj.find(key);
    if (i == obj.end() || i->is_null()) {
      if (required)
        return fail(name(key) + " is required");
      return true;
    }
    if (!i->is_number_integer() || (i->is_number_unsigned() && i->get<uint64_t>() > INT64_MAX))
      return fail(name(key) + " must be an integer");
    auto x = i->get<int64_t>();
    if (x < lo || x > hi)
      return fail(name(key) + " must be between " + std::to_string(lo) + " and "
                  + std::to_string(hi));
    out = x;
    return true;
  }

  bool text(const char* key, size_t max_chars, std::string& out, bool required) {
    auto i = obj.find(key);
    if (i == obj.end() || i->is_null()) {
      if (required)
        return fail(name(key) + " is required");
      return true;
    }
    if (!i->is_string())
      return fail(name(key) + " must be a string");
    auto& s = i->get_ref<const std::string&>();
    auto n = utf8_length(s);
    if (!n)
      return fail(name(key) + " is not valid UTF-8");
    if (*n > max_chars)
      return fail(name(key) + " is longer than " + std::to_string(max_chars) + " characters");
    out = s;
    return true;
  }
};

} // namespace

expected<std::vector<deliverable>, std::string> deliverables_from_json(const json& d,
                                                                     const std::string& path) {
  if (!d.is_array() || d.empty())
    return path + " must be a non-empty array";
  if (d.size() > max_deliverables)
    return path + " holds more than " + std::to_string(max_deliverables) + " items";
  std::vector<deliverable> result;
  for (size_t k = 0; k < d.size(); ++k) {
    const std::string item_path = path + "[" + std::to_string(k) + "]";
    auto& item = d[k];
    if (!item.is_object())
      return item_path + " must be an object";
    deliverable out;
    reader ir{item, item_path, {}};
    ir.text("type", 40, out.type, true);
    ir.text("platform", 20, out.platform, false);
    ir.integer("count", 1, max_deliverable_count, out.count, false);
    ir.text("brief", max_brief_chars, out.brief, false);
    if (!ir.error.empty())
      return ir.error;
    auto type = std::find_if(std::begin(collaboration_types), std::end(collaboration_types),
                             [&](const collaboration_type& c) { return c.name == out.type; });
    if (type == std::end(collaboration_types)) {
      std::string names;
      for (auto& c : collaboration_types)
        names += (names.empty() ? "" : ", ") + std::string{c.name};
      return ir.name("type") + " must be one of " + names;
    }
    if (!out.platform.empty() && !contains(platforms, out.platform))
      return ir.name("platform") + " must be one of " + one_of(platforms);
    if (type->platform.empty()) { // custom: any platform, "other" by default
      if (out.platform.empty())
        out.platform = "other";
    } else if (out.platform.empty()) {
      out.platform = std::string{type->platform};
    } else if (out.platform != type->platform) {
      return ir.name("platform") + " is " + out.platform + " but " + out.type + " is a "
             + std::string{type->platform} + " collaboration";
    }
    result.push_back(std::move(out));
  }
  return result;
}

json terms_to_json(const offer_terms& t) {
  auto list = json::array();
  for (auto& d : t.deliverables)
    list.push_back(json{{"platform", d.platform}, {"type", d.type}, {"count", d.count},
                        {"brief", d.brief}});
  return json{{"amount", t.amount},
              {"currency", t.currency},
              {"deliverables", std::move(list)},
              {"delivery_days", t.delivery_days},
              {"revision_rounds", t.revision_rounds},
              {"usage_rights", json{{"scope", t.usage_rights}, {"days", t.usage_days}}}};
}

expected<offer_terms, std::string> terms_from_json(const json& v, const std::string& path) {
  if (!v.is_object())
    return path + " must be an object";
  offer_terms t;
  reader r{v, path, {}};
  r.integer("amount", 1, max_offer_amount, t.amount, true);
  r.text("currency", 3, t.currency, true);
  if (!r.error.empty())
    return r.error;
  if (t.currency.size() != 3
      || !std::all_of(t.currency.begin(), t.currency.end(), [](char c) { return c >= 'A' && c <= 'Z'; }))
    return r.name("currency") + " must be an ISO 4217 code of three capital letters, e.g. USD";
  r.integer("delivery_days", 1, max_delivery_days, t.delivery_days, false);
  r.integer("revision_rounds", 0, max_revision_rounds, t.revision_rounds, false);
  if (!r.error.empty())
    return r.error;

  auto d = v.find("deliverables");
  auto list = deliverables_from_json(d == v.end() ? json{} : *d, r.name("deliverables"));
  if (!list)
    return list.error();
  t.deliverables = std::move(*list);

  if (auto u = v.find("usage_rights"); u != v.end() && !u->is_null()) {
    const std::string upath = r.name("usage_rights");
    if (!u->is_object())
      return upath + " must be an object with scope and days";
    reader ur{*u, upath, {}};
    ur.text("scope", 20, t.usage_rights, true);
    ur.integer("days", 0, max_usage_days, t.usage_days, false);
    if (!ur.error.empty())
      return ur.error;
    if (!contains(usage_scopes, t.usage_rights))
      return ur.name("scope") + " must be one of " + one_of(usage_scopes);
    if (t.usage_rights == "none" && t.usage_days != 0)
      return ur.name("days") + " must be 0 when scope is none";
    if (t.usage_rights != "none" && t.usage_days == 0)
      return ur.name("days") + " must be between 1 and " + std::to_string(max_usage_days)
             + " when rights are granted";
  }
  return t;
}

} // namespace pactum::protocol::detail
