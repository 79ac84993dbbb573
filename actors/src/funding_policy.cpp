#include "pactum/actors/funding_policy.hpp"

namespace pactum::actors {

namespace {

/// The upper-case form of a two-letter country code; nullopt unless exactly two ASCII letters.
std::optional<std::string> country_code(std::string_view cc) {
  if (cc.size() != 2)
    return std::nullopt;
  std::string out;
  for (char c : cc) {
    if (c >= 'a' && c <= 'z')
      c = static_cast<char>(c - 'a' + 'A');
    if (c < 'A' || c > 'Z')
      return std::nullopt;
    out.push_back(c);
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

} // namespace

protocol::funding_mode choose_funding_mode(const funding_policy& policy,
                                           std::optional<std::string_view> country) noexcept {
  if (!country)
    return policy.default_mode;
  auto cc = country_code(*country);
  if (!cc)
    return policy.default_mode;
  auto i = policy.by_country.find(*cc);
  return i == policy.by_country.end() ? policy.default_mode : i->second;
}

expected<std::map<std::string, protocol::funding_mode, std::less<>>, std::string>
parse_funding_modes(std::string_view list) {
  std::map<std::string, protocol::funding_mode, std::less<>> out;
  list = trim(list);
  if (list.empty())
    return out;
  while (true) {
    auto comma = list.find(',');
    auto item = trim(list.substr(0, comma));
    auto eq = item.find('=');
    if (eq == std::string_view::npos)
      return std::string{"'"} + std::string{item} + "' is not CC=mode";
    auto cc = country_code(trim(item.substr(0, eq)));
    if (!cc)
      return std::string{"'"} + std::string{trim(item.substr(0, eq))}
                        + "' is not a two-letter country code";
    auto mode = protocol::funding_mode_from_string(trim(item.substr(eq + 1)));
    if (!mode)
      return std::string{"'"} + std::string{trim(item.substr(eq + 1))}
                        + "' is not a funding mode (escrow or authorize_capture)";
    if (!out.emplace(*cc, *mode).second)
      return *cc + " is listed twice";
    if (out.size() > max_funding_countries)
      return "more than " + std::to_string(max_funding_countries) + " countries";
    if (comma == std::string_view::npos)
      break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

} // namespace pactum::actors
