#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pactum/common/expected.hpp"
#include "pactum/protocol/errors.hpp"
#include "pactum/protocol/messages.hpp"

namespace pactum::protocol {

/// Validation limits applied while decoding. All configurable in pactumd.
struct limits {
  uint32_t max_text_chars = 4000; ///< message text, in Unicode code points
  uint32_t max_client_id_bytes = 64;
  uint32_t max_history_page = 200;
  uint32_t max_depth = 16; ///< nesting of arrays/objects in a frame
  uint32_t max_attachments = 10;
  uint32_t max_url_bytes = 2048;
  int64_t max_offer_ttl_s = 30 * 24 * 3600; ///< the longest `expires_in` an offer may ask for
};

struct decode_error {
  error_code code;
  std::string message;
  std::optional<request_id> id; ///< set when the frame carried a usable id
};

/// Decodes one client frame. Never throws; every malformed input yields a decode_error.
expected<request, decode_error> decode_request(std::string_view frame, encoding enc,
                                               const limits& lim);

/// Decodes a contract command sent over REST: `action` from the path, the fields from a JSON
/// object body (the same fields as the WebSocket request, without `contract`).
expected<contract_command_req, decode_error> decode_contract_command(const uuid& contract,
                                                                     std::string_view action,
                                                                     std::string_view json_body);

/// A contract view (msgpack map) as JSON text with its events embedded, as REST returns it.
std::string contract_reply_json(const contract_reply& reply);

std::string encode_ok(const request_id& re, const reply_body& body, encoding enc);

/// `re` may be null when the failing frame carried no usable id.
std::string encode_error(const request_id* re, error_code code, std::string_view message,
                         encoding enc);

/// `{"type":"error","re":…,"code":"rate_limited","message":…,"retry_after_ms":N}`: the frame
/// was refused unexecuted; a token is available again in `retry_after_ms`.
std::string encode_rate_limited(const request_id* re, int64_t retry_after_ms,
                                std::string_view message, encoding enc);

std::string encode_hello(const hello& h, encoding enc);

/// Wraps already-encoded frames into one `{"type":"batch","items":[...]}` frame without
/// re-encoding them.
std::string encode_batch(const std::vector<std::string_view>& frames, encoding enc);

} // namespace pactum::protocol
