#pragma once

// Affiliate tracking, the pure parts (docs/api.md, "Products and affiliate links"): an RFC 4180
// CSV parser for the catalog import, the validation of a product (shared by the JSON endpoints
// and the import), and the UTM injection of the `/r/{code}` redirect. No I/O, no CAF, Beast or
// PostgreSQL; safe from any thread.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pactum::protocol::tracking {

// -- CSV (RFC 4180) ---------------------------------------------------------------------------

/// One record and the (1-based) line of the text it starts on.
struct csv_record {
  size_t line = 0;
  std::vector<std::string> fields;
};

/// Why a text is not CSV, and where.
struct csv_error {
  size_t line = 0;
  std::string message;
};

/// The records of `text`, or the first syntax error. RFC 4180: records end with CRLF (a lone LF
/// is accepted too), fields are separated by commas, a field in double quotes may hold commas,
/// line breaks and doubled quotes (`""` is one quote); a quote inside an unquoted field, text
/// after a closing quote and an unterminated quote are errors. A final line break is optional;
/// empty lines are skipped. More than `max_records` records (header included) is an error, so is
/// a record with more than `max_fields` fields.
struct csv_result {
  std::vector<csv_record> records;
  std::optional<csv_error> error;
};
csv_result parse_csv(std::string_view text, size_t max_records, size_t max_fields = 64);

// -- products --------------------------------------------------------------------------------

/// What a product is made of, as a client sends it (JSON or a CSV row).
struct product_input {
  std::string sku;      ///< 1..64 of [A-Za-z0-9._-], unique per brand
  std::string name;     ///< 1..200 characters (UTF-8)
  std::string category; ///< 1..100 characters (UTF-8)
  std::string url;      ///< an absolute http or https URL (see valid_product_url)
  int64_t price = 0;    ///< minor units, 0..1e12
  std::string currency; ///< ISO 4217: three capital letters
};

inline constexpr size_t max_url_bytes = 2048;

/// True for an absolute `http://` or `https://` URL with a host, at most `max_url_bytes`, made
/// of printable ASCII only (no spaces, controls or raw non-ASCII: those must be percent-encoded).
bool valid_product_url(std::string_view url) noexcept;

/// Per-field problems of `p` (field name, message); empty when valid.
std::vector<std::pair<std::string, std::string>> validate_product(const product_input& p);

/// A price given as text (the CSV column): a decimal integer of minor units; nullopt otherwise.
std::optional<int64_t> parse_price(std::string_view text) noexcept;

// -- redirect --------------------------------------------------------------------------------

/// `url` with `utm_source=pactum`, `utm_medium=affiliate`, `utm_campaign=<campaign>` and
/// `utm_content=<content>` appended to its query. Every other query parameter and the fragment
/// are kept byte for byte, in order; an existing parameter with one of those four names (also
/// when its name is percent-encoded) is removed, so the link's attribution always wins and each
/// appears once. `campaign` and `content` are percent-encoded where needed.
std::string with_utm(std::string_view url, std::string_view campaign, std::string_view content);

} // namespace pactum::protocol::tracking
