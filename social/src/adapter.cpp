#include "pactum/social/adapter.hpp"

#include <cctype>

namespace pactum::social {

namespace {

char lower(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

bool word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

} // namespace

std::string_view to_string(errc e) noexcept {
  switch (e) {
    case errc::not_found:
      return "not_found";
    case errc::rate_limited:
      return "rate_limited";
    case errc::unavailable:
      return "unavailable";
    case errc::invalid_handle:
      return "invalid_handle";
    case errc::overloaded:
      return "overloaded";
  }
  return "unavailable";
}

bool parse_disclosure(std::string_view text, disclosure& out) noexcept {
  if (text == "none")
    out = disclosure::none;
  else if (text == "any")
    out = disclosure::any;
  else if (text == "#ad")
    out = disclosure::hashtag_ad;
  else if (text == "#sponsored")
    out = disclosure::hashtag_sponsored;
  else if (text == "paid_partnership")
    out = disclosure::paid_partnership;
  else
    return false;
  return true;
}

std::string_view to_string(disclosure d) noexcept {
  switch (d) {
    case disclosure::none:
      return "none";
    case disclosure::any:
      return "any";
    case disclosure::hashtag_ad:
      return "#ad";
    case disclosure::hashtag_sponsored:
      return "#sponsored";
    case disclosure::paid_partnership:
      return "paid_partnership";
  }
  return "none";
}

bool has_hashtag(std::string_view caption, std::string_view tag) noexcept {
  if (tag.empty())
    return false;
  for (size_t at = caption.find('#'); at != std::string_view::npos; at = caption.find('#', at + 1)) {
    if (caption.size() - at < tag.size())
      return false;
    bool same = true;
    for (size_t i = 0; i < tag.size() && same; ++i)
      same = lower(caption[at + i]) == lower(tag[i]);
    auto end = at + tag.size();
    if (same && (end == caption.size() || !word_char(caption[end])))
      return true;
  }
  return false;
}

bool meets(const post_check& p, disclosure required) noexcept {
  if (!p.exists)
    return false;
  switch (required) {
    case disclosure::none:
      return true;
    case disclosure::any:
      return p.has_ad_tag || p.has_sponsored_tag || p.paid_partnership;
    case disclosure::hashtag_ad:
      return p.has_ad_tag;
    case disclosure::hashtag_sponsored:
      return p.has_sponsored_tag;
    case disclosure::paid_partnership:
      return p.paid_partnership;
  }
  return false;
}

std::string normalise_handle(std::string_view handle) {
  while (!handle.empty() && std::isspace(static_cast<unsigned char>(handle.front())))
    handle.remove_prefix(1);
  while (!handle.empty() && std::isspace(static_cast<unsigned char>(handle.back())))
    handle.remove_suffix(1);
  if (!handle.empty() && handle.front() == '@')
    handle.remove_prefix(1);
  std::string out{handle};
  for (auto& c : out)
    c = lower(c);
  return out;
}

bool plausible_handle(std::string_view h) noexcept {
  if (h.empty() || h.size() > 64)
    return false;
  for (char c : h)
    if (!(std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'z') || c == '.'
          || c == '_' || c == '-'))
      return false;
  return true;
}

expected<post_stats, error> adapter::fetch_post_stats(std::string_view platform, std::string_view) {
  return error{errc::unavailable, "the " + std::string{name()} + " provider reports no post counts for "
                                    + std::string{platform}, 0};
}

} // namespace pactum::social
