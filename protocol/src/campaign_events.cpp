#include "pactum/protocol/campaign_events.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>

#include <nlohmann/json.hpp>

#include "pactum/common/overload.hpp"
#include "payload_reader.hpp"
#include "terms.hpp"
#include "utf8.hpp"

namespace pactum::protocol {

using json = nlohmann::json;

namespace {

// The wire names, in the order of the variant's alternatives.
constexpr std::array<std::string_view, std::variant_size_v<campaign_event>> type_names{{
  "campaign.created",
  "campaign.updated",
  "campaign.status_changed",
  "application.submitted",
  "application.decided",
  "invitation.sent",
  "invitation.answered",
  "budget.committed",
  "budget.settled",
  "content.submitted",
  "content.reviewed",
}};

constexpr std::string_view pricing_models[] = {"flat", "cpc", "cpv", "per_post", "per_call"};
constexpr std::string_view age_bands[] = {"13-17", "18-24", "25-34", "35-44", "45-54", "55+"};
constexpr std::string_view genders[] = {"any", "female", "male"};
constexpr std::string_view link_policies[] = {"allowed", "none", "required"};

template <class Range>
bool contains(const Range& r, std::string_view x) {
  return std::find(std::begin(r), std::end(r), x) != std::end(r);
}

template <class Range>
std::string one_of(const Range& r) {
  std::string out;
  for (std::string_view x : r)
    out += (out.empty() ? "" : ", ") + std::string{x};
  return out;
}

bool upper_code(const std::string& s, size_t n) {
  return s.size() == n
         && std::all_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

/// Collects every field error of one JSON object instead of stopping at the first.
struct form {
  const json& obj;
  std::string path; ///< "" at the top, "audience" below it
  std::vector<field_error>& errors;

  std::string name(std::string_view key) const {
    return path.empty() ? std::string{key} : path + "." + std::string{key};
  }
  void fail(std::string field, std::string message) {
    errors.push_back({std::move(field), std::move(message)});
  }
  const json* find(const char* key) const {
    auto i = obj.find(key);
    return i == obj.end() || i->is_null() ? nullptr : &*i;
  }

  void text(const char* key, size_t max_chars, std::string& out, bool required) {
    auto* v = find(key);
    if (!v) {
      if (required)
        fail(name(key), "is required");
      return;
    }
    if (!v->is_string())
      return fail(name(key), "must be a string");
    auto& s = v->get_ref<const std::string&>();
    auto n = detail::utf8_length(s);
    if (!n)
      return fail(name(key), "is not valid UTF-8");
    if (*n > max_chars)
      return fail(name(key), "must be at most " + std::to_string(max_chars) + " characters");
    if (required && s.find_first_not_of(" \t\r\n") == std::string::npos)
      return fail(name(key), "must not be empty");
    out = s;
  }

  void integer(const char* key, int64_t lo, int64_t hi, int64_t& out) {
    auto* v = find(key);
    if (!v)
      return;
    if (!v->is_number_integer()
        || (v->is_number_unsigned()
            && v->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())))
      return fail(name(key), "must be a whole number");
    auto x = v->get<int64_t>();
    if (x < lo || x > hi)
      return fail(name(key), "must be from " + std::to_string(lo) + " to " + std::to_string(hi));
    out = x;
  }

  void boolean(const char* key, bool& out) {
    auto* v = find(key);
    if (!v)
      return;
    if (!v->is_boolean())
      return fail(name(key), "must be true or false");
    out = v->get<bool>();
  }

  /// A list of short strings; `check` returns an error message for a bad item ("" when fine).
  template <class Check>
  void list(const char* key, size_t max_items, size_t max_chars, std::vector<std::string>& out,
            Check check) {
    auto* v = find(key);
    if (!v)
      return;
    if (!v->is_array())
      return fail(name(key), "must be an array of strings");
    if (v->size() > max_items)
      return fail(name(key), "must hold at most " + std::to_string(max_items) + " items");
    out.clear();
    for (size_t k = 0; k < v->size(); ++k) {
      auto item_name = name(key) + "[" + std::to_string(k) + "]";
      auto& item = (*v)[k];
      if (!item.is_string()) {
        fail(item_name, "must be a string");
        continue;
      }
      auto& s = item.get_ref<const std::string&>();
      auto n = detail::utf8_length(s);
      if (!n || *n == 0 || *n > max_chars) {
        fail(item_name, "must be 1 to " + std::to_string(max_chars) + " characters of UTF-8");
        continue;
      }
      if (auto msg = check(s); !msg.empty()) {
        fail(item_name, msg);
        continue;
      }
      if (std::find(out.begin(), out.end(), s) != out.end()) {
        fail(item_name, "is listed twice");
        continue;
      }
      out.push_back(s);
    }
  }
};

std::string any_item(const std::string&) {
  return {};
}

std::string lower_slug(const std::string& s) {
  bool ok = std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
  return ok ? std::string{} : "must be lower-case letters, digits, '_' or '-'";
}

json audience_to_json(const campaign_audience& a) {
  return json{{"niches", a.niches},
              {"countries", a.countries},
              {"age_bands", a.age_bands},
              {"gender", a.gender},
              {"min_followers", a.min_followers},
              {"min_engagement_bps", a.min_engagement_bps}};
}

json safety_to_json(const brand_safety& s) {
  return json{{"banned_words", s.banned_words},
              {"banned_categories", s.banned_categories},
              {"require_disclosure", s.require_disclosure},
              {"link_policy", s.link_policy},
              {"max_caption_chars", s.max_caption_chars}};
}

json details_json(const campaign_details& d) {
  auto deliverables = detail::terms_to_json(offer_terms{0, "", d.deliverables})["deliverables"];
  return json{{"title", d.title},
              {"description", d.description},
              {"goals", d.goals},
              {"budget", d.budget},
              {"currency", d.currency},
              {"starts_at", d.starts_at},
              {"ends_at", d.ends_at},
              {"deliverables", std::move(deliverables)},
              {"audience", audience_to_json(d.audience)},
              {"collaboration_types", d.collaboration_types},
              {"pricing", json{{"model", d.pricing.model}, {"rate", d.pricing.rate}}},
              {"brief", d.brief},
              {"brand_safety", safety_to_json(d.safety)}};
}

void parse_details(const json& v, const campaign_limits& lim, campaign_details& d,
                   std::vector<field_error>& errors) {
  form f{v, "", errors};
  f.text("title", lim.max_title_chars, d.title, true);
  f.text("description", lim.max_description_chars, d.description, false);
  f.text("brief", lim.max_brief_chars, d.brief, false);
  f.list("goals", lim.max_goals, lim.max_item_chars, d.goals, any_item);
  f.integer("budget", 0, lim.max_budget, d.budget);
  f.text("currency", 3, d.currency, true);
  if (!d.currency.empty() && !upper_code(d.currency, 3))
    f.fail("currency", "must be an ISO 4217 code of three capital letters, e.g. EUR");
  f.integer("starts_at", 0, std::numeric_limits<int64_t>::max(), d.starts_at);
  f.integer("ends_at", 0, std::numeric_limits<int64_t>::max(), d.ends_at);
  if (d.starts_at != 0 && d.ends_at != 0 && d.ends_at <= d.starts_at)
    f.fail("ends_at", "must be after starts_at");

  if (auto* dl = f.find("deliverables")) {
    auto list = detail::deliverables_from_json(*dl, "deliverables");
    if (list)
      d.deliverables = std::move(*list);
    else {
      // "deliverables[1].type must be one of ..." -> field and message
      auto& msg = list.error();
      auto space = msg.find(' ');
      f.fail(msg.substr(0, space), space == std::string::npos ? "is invalid" : msg.substr(space + 1));
    }
  }
  f.list("collaboration_types", 20, 40, d.collaboration_types, [](const std::string& s) {
    for (auto& c : collaboration_types)
      if (c.name == s)
        return std::string{};
    return std::string{"is not a collaboration type (docs/protocol.md, Offers)"};
  });

  if (auto* a = f.find("audience")) {
    if (!a->is_object()) {
      f.fail("audience", "must be an object");
    } else {
      form af{*a, "audience", errors};
      af.list("niches", lim.max_list_items, lim.max_item_chars, d.audience.niches, lower_slug);
      af.list("countries", lim.max_list_items, 2, d.audience.countries, [](const std::string& s) {
        return upper_code(s, 2) ? std::string{}
                                : std::string{"must be an ISO 3166-1 alpha-2 code, e.g. DE"};
      });
      af.list("age_bands", std::size(age_bands), 5, d.audience.age_bands, [](const std::string& s) {
        return contains(age_bands, s) ? std::string{} : "must be one of " + one_of(age_bands);
      });
      af.text("gender", 10, d.audience.gender, false);
      if (!contains(genders, d.audience.gender))
        af.fail("audience.gender", "must be one of " + one_of(genders));
      af.integer("min_followers", 0, 2'000'000'000, d.audience.min_followers);
      af.integer("min_engagement_bps", 0, 10'000, d.audience.min_engagement_bps);
    }
  }

  if (auto* p = f.find("pricing")) {
    if (!p->is_object()) {
      f.fail("pricing", "must be an object with model and rate");
    } else {
      form pf{*p, "pricing", errors};
      pf.text("model", 10, d.pricing.model, true);
      if (!d.pricing.model.empty() && !contains(pricing_models, d.pricing.model))
        pf.fail("pricing.model", "must be one of " + one_of(pricing_models));
      pf.integer("rate", 0, lim.max_budget, d.pricing.rate);
    }
  }

  if (auto* s = f.find("brand_safety")) {
    if (!s->is_object()) {
      f.fail("brand_safety", "must be an object");
    } else {
      form sf{*s, "brand_safety", errors};
      sf.list("banned_words", lim.max_list_items, lim.max_item_chars, d.safety.banned_words,
              any_item);
      sf.list("banned_categories", lim.max_list_items, lim.max_item_chars,
              d.safety.banned_categories, lower_slug);
      sf.boolean("require_disclosure", d.safety.require_disclosure);
      sf.text("link_policy", 10, d.safety.link_policy, false);
      if (!contains(link_policies, d.safety.link_policy))
        sf.fail("brand_safety.link_policy", "must be one of " + one_of(link_policies));
      sf.integer("max_caption_chars", 1, 10'000, d.safety.max_caption_chars);
    }
  }
}

std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_'
         || (static_cast<unsigned char>(c) & 0x80) != 0;
}

/// True when `needle` (lower case) stands in `hay` (lower case) as a whole word or phrase.
bool has_word(const std::string& hay, const std::string& needle) {
  if (needle.empty())
    return false;
  for (auto pos = hay.find(needle); pos != std::string::npos; pos = hay.find(needle, pos + 1)) {
    bool left = pos == 0 || !word_char(hay[pos - 1]);
    auto end = pos + needle.size();
    bool right = end >= hay.size() || !word_char(hay[end]);
    if (left && right)
      return true;
  }
  return false;
}

bool has_link(const std::string& lowered) {
  return lowered.find("http://") != std::string::npos || lowered.find("https://") != std::string::npos
         || lowered.find("www.") != std::string::npos;
}

using reader = detail::payload_reader;

json attachments_json(const std::vector<attachment>& list) {
  auto out = json::array();
  for (auto& a : list)
    out.push_back(json{{"url", a.url},
                       {"type", a.type},
                       {"size", a.size},
                       {"width", a.width},
                       {"height", a.height}});
  return out;
}

json content_json(const content_item& c) {
  return json{{"media", attachments_json(c.media)},
              {"caption", c.caption},
              {"platform", c.platform},
              {"categories", c.categories},
              {"paid_partnership", c.paid_partnership}};
}

json report_json(const screening_report& r) {
  auto list = json::array();
  for (auto& f : r.findings)
    list.push_back(json{{"rule", f.rule}, {"detail", f.detail}});
  return json{{"passed", r.passed}, {"findings", std::move(list)}};
}

bool strings(const json* v, std::vector<std::string>& out) {
  if (!v || !v->is_array())
    return false;
  out.clear();
  for (auto& s : *v) {
    if (!s.is_string())
      return false;
    out.push_back(s.get<std::string>());
  }
  return true;
}

/// Reads details back from a journal payload: they were validated when decided, so any
/// deviation is corruption.
bool read_details(const json* v, campaign_details& d) {
  if (!v || !v->is_object())
    return false;
  std::vector<field_error> errors;
  parse_details(*v, campaign_limits{.max_title_chars = std::numeric_limits<size_t>::max(),
                                    .max_description_chars = std::numeric_limits<size_t>::max(),
                                    .max_brief_chars = std::numeric_limits<size_t>::max(),
                                    .max_goals = std::numeric_limits<size_t>::max(),
                                    .max_list_items = std::numeric_limits<size_t>::max(),
                                    .max_item_chars = std::numeric_limits<size_t>::max(),
                                    .max_budget = std::numeric_limits<int64_t>::max()},
                d, errors);
  return errors.empty();
}

bool read_content(const json* v, content_item& c) {
  if (!v || !v->is_object())
    return false;
  reader r{*v};
  c.caption = r.str("caption");
  c.platform = r.str("platform");
  c.paid_partnership = r.boolean("paid_partnership");
  if (!r.ok() || !strings(r.find("categories"), c.categories))
    return false;
  auto* media = r.find("media");
  if (!media || !media->is_array())
    return false;
  for (auto& m : *media) {
    if (!m.is_object())
      return false;
    reader mr{m};
    attachment a{mr.str("url"), mr.str("type"), mr.integer("size"), mr.integer("width"),
                 mr.integer("height")};
    if (!mr.ok())
      return false;
    c.media.push_back(std::move(a));
  }
  return true;
}

bool read_report(const json* v, screening_report& rep) {
  if (!v || !v->is_object())
    return false;
  reader r{*v};
  rep.passed = r.boolean("passed");
  auto* list = r.find("findings");
  if (!r.ok() || !list || !list->is_array())
    return false;
  for (auto& f : *list) {
    if (!f.is_object())
      return false;
    reader fr{f};
    screening_finding out{fr.str("rule"), fr.str("detail")};
    if (!fr.ok())
      return false;
    rep.findings.push_back(std::move(out));
  }
  return true;
}

} // namespace

expected<campaign_details, std::vector<field_error>>
campaign_details_from_json(const std::string& json_text, const campaign_limits& limits) {
  auto v = json::parse(json_text, nullptr, false);
  if (v.is_discarded() || !v.is_object())
    return std::vector<field_error>{{"", "must be a JSON object"}};
  campaign_details d;
  std::vector<field_error> errors;
  parse_details(v, limits, d, errors);
  if (!errors.empty())
    return errors;
  return d;
}

std::string campaign_details_to_json(const campaign_details& d) {
  return details_json(d).dump();
}

screening_report screen_content(const content_item& c, const brand_safety& rules,
                                std::string_view expected_platform) {
  screening_report rep;
  auto add = [&](std::string rule, std::string detail) {
    rep.findings.push_back({std::move(rule), std::move(detail)});
  };
  const auto caption = lower(c.caption);
  for (auto& w : rules.banned_words)
    if (has_word(caption, lower(w)))
      add("banned_word", w);
  for (auto& cat : c.categories)
    if (contains(rules.banned_categories, lower(cat)))
      add("banned_category", cat);
  if (rules.require_disclosure && !c.paid_partnership && !has_word(caption, "#ad")
      && !has_word(caption, "#sponsored"))
    add("disclosure", "no #ad, #sponsored or paid-partnership label");
  const bool link = has_link(caption);
  if (rules.link_policy == "none" && link)
    add("link_policy", "links are not allowed");
  else if (rules.link_policy == "required" && !link)
    add("link_policy", "a link is required");
  auto n = detail::utf8_length(c.caption).value_or(c.caption.size());
  if (static_cast<int64_t>(n) > rules.max_caption_chars)
    add("caption_length", std::to_string(n) + " characters, at most "
                            + std::to_string(rules.max_caption_chars));
  if (!expected_platform.empty() && expected_platform != "other" && c.platform != expected_platform)
    add("platform", "submitted for " + c.platform + ", the deliverable is for "
                      + std::string{expected_platform});
  rep.passed = rep.findings.empty();
  return rep;
}

std::string_view campaign_event_type(const campaign_event& ev) noexcept {
  return type_names[ev.index()];
}

bool is_campaign_event_type(std::string_view type) noexcept {
  return contains(type_names, type);
}

std::string encode_campaign_event(const campaign_event& ev) {
  json obj = std::visit(
    overload{
      [](const campaign_created& x) {
        return json{{"brand", x.brand.str()}, {"key", x.key}, {"details", details_json(x.details)},
                    {"at", x.at}};
      },
      [](const campaign_updated& x) {
        return json{{"by", x.by.str()}, {"key", x.key}, {"details", details_json(x.details)},
                    {"at", x.at}};
      },
      [](const campaign_status_changed& x) {
        return json{{"by", x.by.str()}, {"key", x.key}, {"status", x.status},
                    {"released", x.released}, {"at", x.at}};
      },
      [](const application_submitted& x) {
        return json{{"creator", x.creator.str()}, {"key", x.key}, {"proposal", x.proposal},
                    {"amount", x.amount}, {"at", x.at}};
      },
      [](const application_decided& x) {
        return json{{"application", x.application}, {"by", x.by.str()}, {"key", x.key},
                    {"outcome", x.outcome}, {"reason", x.reason},
                    {"conversation", x.conversation.str()}, {"at", x.at}};
      },
      [](const invitation_sent& x) {
        return json{{"by", x.by.str()}, {"key", x.key}, {"creator", x.creator.str()},
                    {"brief", x.brief}, {"at", x.at}};
      },
      [](const invitation_answered& x) {
        return json{{"invitation", x.invitation}, {"by", x.by.str()}, {"key", x.key},
                    {"outcome", x.outcome}, {"reason", x.reason},
                    {"conversation", x.conversation.str()}, {"at", x.at}};
      },
      [](const budget_committed& x) {
        return json{{"contract", x.contract.str()}, {"creator", x.creator.str()},
                    {"amount", x.amount}, {"deliverables", x.deliverables},
                    {"revision_rounds", x.revision_rounds}, {"platforms", x.platforms},
                    {"at", x.at}};
      },
      [](const budget_settled& x) {
        return json{{"contract", x.contract.str()}, {"spent", x.spent}, {"returned", x.returned},
                    {"at", x.at}};
      },
      [](const content_submitted& x) {
        return json{{"contract", x.contract.str()}, {"deliverable", x.deliverable},
                    {"by", x.by.str()}, {"key", x.key}, {"content", content_json(x.content)},
                    {"report", report_json(x.report)}, {"at", x.at}};
      },
      [](const content_reviewed& x) {
        return json{{"submission", x.submission}, {"by", x.by.str()}, {"key", x.key},
                    {"verdict", x.verdict}, {"reason", x.reason}, {"release", x.release},
                    {"at", x.at}};
      },
    },
    ev);
  obj["type"] = campaign_event_type(ev);
  auto bytes = json::to_msgpack(obj);
  return std::string{bytes.begin(), bytes.end()};
}

expected<campaign_event, std::string> decode_campaign_event(std::string_view type, int16_t version,
                                                            std::string_view msgpack) {
  if (version != campaign_event_version)
    return "unknown version " + std::to_string(version) + " of " + std::string{type};
  auto obj = json::from_msgpack(msgpack.begin(), msgpack.end(), true, false);
  if (obj.is_discarded() || !obj.is_object())
    return std::string{"payload is not a msgpack map"};
  reader r{obj};
  bool ok = true;
  auto done = [&](campaign_event ev) -> expected<campaign_event, std::string> {
    if (!r.ok())
      return std::string{type} + ": field " + r.failed + " missing or invalid";
    if (!ok)
      return std::string{type} + ": nested field missing or invalid";
    return ev;
  };
  if (type == "campaign.created") {
    campaign_created x{r.id("brand"), r.str("key"), {}, r.integer("at")};
    ok = read_details(r.find("details"), x.details);
    return done(std::move(x));
  }
  if (type == "campaign.updated") {
    campaign_updated x{r.id("by"), r.str("key"), {}, r.integer("at")};
    ok = read_details(r.find("details"), x.details);
    return done(std::move(x));
  }
  if (type == "campaign.status_changed")
    return done(campaign_status_changed{r.id("by"), r.str("key"), r.str("status"),
                                        r.integer("released"), r.integer("at")});
  if (type == "application.submitted")
    return done(application_submitted{r.id("creator"), r.str("key"), r.str("proposal"),
                                      r.integer("amount"), r.integer("at")});
  if (type == "application.decided")
    return done(application_decided{r.integer("application"), r.id("by"), r.str("key"),
                                    r.str("outcome"), r.str("reason"), r.id("conversation"),
                                    r.integer("at")});
  if (type == "invitation.sent")
    return done(invitation_sent{r.id("by"), r.str("key"), r.id("creator"), r.str("brief"),
                                r.integer("at")});
  if (type == "invitation.answered")
    return done(invitation_answered{r.integer("invitation"), r.id("by"), r.str("key"),
                                    r.str("outcome"), r.str("reason"), r.id("conversation"),
                                    r.integer("at")});
  if (type == "budget.committed") {
    budget_committed x{r.id("contract"), r.id("creator"), r.integer("amount"),
                       r.integer("deliverables"), r.integer("revision_rounds"), {}, r.integer("at")};
    ok = strings(r.find("platforms"), x.platforms);
    return done(std::move(x));
  }
  if (type == "budget.settled")
    return done(budget_settled{r.id("contract"), r.integer("spent"), r.integer("returned"),
                               r.integer("at")});
  if (type == "content.submitted") {
    content_submitted x{r.id("contract"), r.integer("deliverable"), r.id("by"), r.str("key"),
                        {}, {}, r.integer("at")};
    ok = read_content(r.find("content"), x.content) && read_report(r.find("report"), x.report);
    return done(std::move(x));
  }
  if (type == "content.reviewed")
    return done(content_reviewed{r.integer("submission"), r.id("by"), r.str("key"),
                                 r.str("verdict"), r.str("reason"), r.boolean("release"),
                                 r.integer("at")});
  return "unknown campaign event type " + std::string{type};
}

} // namespace pactum::protocol
