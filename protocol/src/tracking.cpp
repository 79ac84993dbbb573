#include "pactum/protocol/tracking.hpp"

#include <algorithm>
#include <array>
#include <charconv>

#include "utf8.hpp"

namespace pactum::protocol::tracking {

// -- CSV -------------------------------------------------------------------------------------

csv_result parse_csv(std::string_view text, size_t max_records, size_t max_fields) {
  csv_result out;
  size_t line = 1;
  size_t i = 0;
  auto fail = [&](std::string msg) {
    out.records.clear();
    out.error = csv_error{line, std::move(msg)};
    return out;
  };
  while (i < text.size()) {
    // An empty line (CRLF or LF alone) is skipped.
    if (text[i] == '\n' || (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) {
      i += text[i] == '\r' ? 2 : 1;
      ++line;
      continue;
    }
    csv_record rec;
    rec.line = line;
    for (;;) { // one field per iteration
      std::string field;
      if (i < text.size() && text[i] == '"') {
        ++i;
        for (;;) {
          if (i >= text.size())
            return fail("unterminated quoted field");
          char c = text[i];
          if (c == '"') {
            if (i + 1 < text.size() && text[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (c == '\n')
            ++line;
          field += c;
          ++i;
        }
        if (i < text.size() && text[i] != ',' && text[i] != '\n'
            && !(text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n'))
          return fail("text after a closing quote (a quote inside a field must be doubled)");
      } else {
        while (i < text.size() && text[i] != ',' && text[i] != '\n') {
          if (text[i] == '\r') {
            if (i + 1 < text.size() && text[i + 1] == '\n')
              break;
            return fail("a carriage return outside quotes");
          }
          if (text[i] == '"')
            return fail("a quote inside an unquoted field");
          field += text[i++];
        }
      }
      if (rec.fields.size() >= max_fields)
        return fail("more than " + std::to_string(max_fields) + " fields");
      rec.fields.push_back(std::move(field));
      if (i < text.size() && text[i] == ',') {
        ++i;
        continue;
      }
      break; // end of record: line break or end of text
    }
    if (i < text.size()) { // the record's line break
      i += text[i] == '\r' ? 2 : 1;
      ++line;
    }
    if (out.records.size() >= max_records)
      return fail("more than " + std::to_string(max_records) + " records");
    out.records.push_back(std::move(rec));
  }
  return out;
}

// -- products --------------------------------------------------------------------------------

bool valid_product_url(std::string_view url) noexcept {
  if (url.empty() || url.size() > max_url_bytes)
    return false;
  for (char c : url)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f)
      return false;
  auto lower_prefix = [&](std::string_view p) {
    if (url.size() < p.size())
      return false;
    for (size_t i = 0; i < p.size(); ++i) {
      char c = url[i];
      if (c >= 'A' && c <= 'Z')
        c = static_cast<char>(c - 'A' + 'a');
      if (c != p[i])
        return false;
    }
    return true;
  };
  size_t rest = 0;
  if (lower_prefix("https://"))
    rest = 8;
  else if (lower_prefix("http://"))
    rest = 7;
  else
    return false;
  auto authority = url.substr(rest, url.find_first_of("/?#", rest) - rest);
  if (auto at = authority.rfind('@'); at != std::string_view::npos)
    authority = authority.substr(at + 1);
  if (authority.empty())
    return false;
  auto host = authority.substr(0, authority.front() == '[' ? authority.find(']') + 1 : authority.find(':'));
  if (host.empty() || host == "[]" || host.front() == '.' || host.front() == '-')
    return false;
  return true;
}

std::optional<int64_t> parse_price(std::string_view text) noexcept {
  if (text.empty() || text.size() > 13)
    return std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v < 0)
    return std::nullopt;
  return v;
}

std::vector<std::pair<std::string, std::string>> validate_product(const product_input& p) {
  std::vector<std::pair<std::string, std::string>> bad;
  auto chars = [](const std::string& s) { return detail::utf8_length(s); };
  if (p.sku.empty() || p.sku.size() > 64)
    bad.emplace_back("sku", "1 to 64 characters");
  else
    for (char c : p.sku)
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'
            || c == '_' || c == '-')) {
        bad.emplace_back("sku", "letters, digits, '.', '_' and '-' only");
        break;
      }
  if (auto n = chars(p.name); !n || *n == 0 || *n > 200)
    bad.emplace_back("name", "1 to 200 characters of UTF-8");
  if (auto n = chars(p.category); !n || *n == 0 || *n > 100)
    bad.emplace_back("category", "1 to 100 characters of UTF-8");
  if (!valid_product_url(p.url))
    bad.emplace_back("url", "an absolute http or https URL of printable ASCII, at most 2048 bytes");
  if (p.price < 0 || p.price > 1'000'000'000'000)
    bad.emplace_back("price", "whole minor units from 0 to 10^12");
  if (p.currency.size() != 3 || !std::all_of(p.currency.begin(), p.currency.end(),
                                             [](char c) { return c >= 'A' && c <= 'Z'; }))
    bad.emplace_back("currency", "an ISO 4217 code of three capital letters");
  return bad;
}

// -- redirect --------------------------------------------------------------------------------

namespace {

constexpr std::array<std::string_view, 4> utm_names{"utm_source", "utm_medium", "utm_campaign",
                                                    "utm_content"};

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/// A parameter name percent-decoded ('+' as a space), for comparison only.
std::string decoded_name(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0
        && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

void append_encoded(std::string& out, std::string_view v) {
  static constexpr char hex[] = "0123456789ABCDEF";
  for (unsigned char c : v) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
        || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
}

} // namespace

std::string with_utm(std::string_view url, std::string_view campaign, std::string_view content) {
  auto hash = url.find('#');
  auto fragment = hash == std::string_view::npos ? std::string_view{} : url.substr(hash);
  auto before = url.substr(0, hash);
  auto q = before.find('?');
  auto base = before.substr(0, q);
  auto query = q == std::string_view::npos ? std::string_view{} : before.substr(q + 1);

  std::string out;
  out.reserve(url.size() + 96 + campaign.size() + content.size());
  out.append(base);
  out += '?';
  bool first = true;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (item.empty())
      continue;
    auto name = decoded_name(item.substr(0, item.find('=')));
    bool ours = false;
    for (auto n : utm_names)
      ours = ours || name == n;
    if (ours)
      continue;
    if (!first)
      out += '&';
    out.append(item);
    first = false;
  }
  if (!first)
    out += '&';
  out += "utm_source=pactum&utm_medium=affiliate&utm_campaign=";
  append_encoded(out, campaign);
  out += "&utm_content=";
  append_encoded(out, content);
  out.append(fragment);
  return out;
}

} // namespace pactum::protocol::tracking
