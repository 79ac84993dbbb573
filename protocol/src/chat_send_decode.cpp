#include "chat_send_decode.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <utility>

#include "pactum/protocol/msgpack_cursor.hpp"
#include "utf8.hpp"

namespace pactum::protocol::detail {

namespace {

constexpr int64_t max_seq = int64_t{1} << 53; // as codec.cpp: exact in a JavaScript number
constexpr size_t max_id_bytes = 64;          // as decode_request_dom
constexpr int max_digits = 18;               // below 10^18: always fits an int64_t

enum slot : uint8_t { s_id, s_type, s_conversation, s_client_id, s_text, s_reply_to, s_count };

/// The keys the fast path knows; any other key sends the frame to the DOM path.
int slot_of(std::string_view key) noexcept {
  switch (key.size()) {
    case 2:
      return key == "id" ? s_id : -1;
    case 4:
      return key == "type" ? s_type : key == "text" ? s_text : -1;
    case 8:
      return key == "reply_to" ? s_reply_to : -1;
    case 9:
      return key == "client_id" ? s_client_id : -1;
    case 12:
      return key == "conversation" ? s_conversation : -1;
    default:
      return -1;
  }
}

struct value {
  enum class kind : uint8_t { absent, string, unsigned_int, signed_int, null } k = kind::absent;
  std::string_view str;  ///< the string's bytes: into the frame, or into `owned` after unescaping
  std::string owned;     ///< only when a JSON string held an escape
  uint64_t u = 0;
  int64_t i = 0;
};

using values = std::array<value, s_count>;

// -- JSON -----------------------------------------------------------------------------------------

class json_reader {
public:
  explicit json_reader(std::string_view in) : p_(in.data()), end_(in.data() + in.size()) {}

  /// A flat object of known keys; false at anything the fast path does not take.
  bool object(values& out) {
    ws();
    if (!eat('{'))
      return false;
    ws();
    if (p_ == end_ || *p_ == '}')
      return false; // an empty object cannot be a valid message.send
    for (;;) {
      value key;
      if (!string(key))
        return false;
      auto s = slot_of(key.str);
      if (s < 0 || out[static_cast<size_t>(s)].k != value::kind::absent)
        return false; // unknown or repeated key
      ws();
      if (!eat(':'))
        return false;
      ws();
      if (!scalar(out[static_cast<size_t>(s)]))
        return false;
      ws();
      if (eat(','))  {
        ws();
        continue;
      }
      if (!eat('}'))
        return false;
      ws();
      return p_ == end_;
    }
  }

private:
  void ws() noexcept {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r'))
      ++p_;
  }

  bool eat(char c) noexcept {
    if (p_ == end_ || *p_ != c)
      return false;
    ++p_;
    return true;
  }

  bool scalar(value& v) {
    if (p_ == end_)
      return false;
    if (*p_ == '"')
      return string(v);
    if (*p_ == '-' || (*p_ >= '0' && *p_ <= '9'))
      return number(v);
    if (end_ - p_ >= 4 && std::string_view{p_, 4} == "null") {
      p_ += 4;
      v.k = value::kind::null;
      return true;
    }
    return false; // true, false, objects, arrays: the DOM path decides
  }

  /// A string at `p_` (the opening quote). Unescaped runs stay views into the frame; the simple
  /// escapes are decoded into `owned`; \u escapes, control characters and invalid UTF-8 are not
  /// taken (the DOM path reports them exactly as before).
  bool string(value& v) {
    if (!eat('"'))
      return false;
    const char* start = p_;
    while (p_ != end_ && *p_ != '"' && *p_ != '\\' && static_cast<unsigned char>(*p_) >= 0x20)
      ++p_;
    if (p_ == end_)
      return false;
    if (*p_ == '"') {
      v.str = std::string_view{start, static_cast<size_t>(p_ - start)};
      ++p_;
    } else {
      if (*p_ != '\\')
        return false; // a raw control character
      v.owned.assign(start, p_);
      while (p_ != end_ && *p_ != '"') {
        char c = *p_++;
        if (static_cast<unsigned char>(c) < 0x20)
          return false;
        if (c != '\\') {
          v.owned.push_back(c);
          continue;
        }
        if (p_ == end_)
          return false;
        switch (*p_++) {
          case '"': v.owned.push_back('"'); break;
          case '\\': v.owned.push_back('\\'); break;
          case '/': v.owned.push_back('/'); break;
          case 'b': v.owned.push_back('\b'); break;
          case 'f': v.owned.push_back('\f'); break;
          case 'n': v.owned.push_back('\n'); break;
          case 'r': v.owned.push_back('\r'); break;
          case 't': v.owned.push_back('\t'); break;
          default: return false; // \u and invalid escapes
        }
      }
      if (!eat('"'))
        return false;
      v.str = v.owned;
    }
    if (!utf8_length(v.str)) // the JSON lexer accepts exactly well-formed UTF-8 (RFC 3629)
      return false;
    v.k = value::kind::string;
    return true;
  }

  /// An integer without fraction or exponent, at most 18 digits, no leading zeros, no -0.
  bool number(value& v) noexcept {
    bool negative = eat('-');
    if (p_ == end_ || *p_ < '0' || *p_ > '9')
      return false;
    if (*p_ == '0' && (negative || (end_ - p_ > 1 && p_[1] >= '0' && p_[1] <= '9')))
      return false;
    uint64_t x = 0;
    int digits = 0;
    while (p_ != end_ && *p_ >= '0' && *p_ <= '9') {
      if (++digits > max_digits)
        return false;
      x = x * 10 + static_cast<uint64_t>(*p_++ - '0');
    }
    if (p_ != end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E'))
      return false; // a float for the DOM
    if (negative) {
      v.k = value::kind::signed_int;
      v.i = -static_cast<int64_t>(x);
    } else {
      v.k = value::kind::unsigned_int;
      v.u = x;
    }
    return true;
  }

  const char* p_;
  const char* end_;
};

// -- msgpack --------------------------------------------------------------------------------------

/// The length of a msgpack string whose header byte is `b` (fixstr, str8, str16, str32).
bool mp_string_len(msgpack_cursor& c, uint8_t b, uint64_t& len) {
  if (b >= 0xa0 && b <= 0xbf) {
    len = b & 0x1fu;
    return true;
  }
  switch (b) {
    case 0xd9: return c.be(1, len);
    case 0xda: return c.be(2, len);
    case 0xdb: return c.be(4, len);
    default: return false;
  }
}

bool mp_scalar(msgpack_cursor& c, value& v) {
  uint8_t b = 0;
  if (!c.byte(b))
    return false;
  if (b <= 0x7f) {
    v.k = value::kind::unsigned_int;
    v.u = b;
    return true;
  }
  if (b >= 0xe0) {
    v.k = value::kind::signed_int;
    v.i = static_cast<int8_t>(b);
    return true;
  }
  uint64_t x = 0;
  switch (b) {
    case 0xc0:
      v.k = value::kind::null;
      return true;
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
      if (!c.be(size_t{1} << (b - 0xcc), x))
        return false;
      v.k = value::kind::unsigned_int;
      v.u = x;
      return true;
    case 0xd0:
      if (!c.be(1, x))
        return false;
      v.k = value::kind::signed_int;
      v.i = static_cast<int8_t>(static_cast<uint8_t>(x));
      return true;
    case 0xd1:
      if (!c.be(2, x))
        return false;
      v.k = value::kind::signed_int;
      v.i = static_cast<int16_t>(static_cast<uint16_t>(x));
      return true;
    case 0xd2:
      if (!c.be(4, x))
        return false;
      v.k = value::kind::signed_int;
      v.i = static_cast<int32_t>(static_cast<uint32_t>(x));
      return true;
    case 0xd3:
      if (!c.be(8, x))
        return false;
      v.k = value::kind::signed_int;
      v.i = static_cast<int64_t>(x);
      return true;
    default:
      break;
  }
  uint64_t len = 0;
  if (!mp_string_len(c, b, len) || !c.bytes(len, v.str))
    return false;
  if (!utf8_length(v.str)) // the DOM path's guarded SAX refuses non-UTF-8 msgpack strings
    return false;
  v.k = value::kind::string;
  return true;
}

bool mp_object(std::string_view in, values& out) {
  msgpack_cursor c{in};
  uint8_t b = 0;
  if (!c.byte(b))
    return false;
  uint64_t n = 0;
  if (b >= 0x80 && b <= 0x8f)
    n = b & 0x0fu;
  else if (b == 0xde) {
    if (!c.be(2, n))
      return false;
  } else if (b == 0xdf) {
    if (!c.be(4, n))
      return false;
  } else {
    return false;
  }
  if (n == 0 || n > s_count)
    return false; // more entries than known keys: an unknown or repeated key
  for (uint64_t k = 0; k < n; ++k) {
    uint64_t len = 0;
    std::string_view key;
    if (!c.byte(b) || !mp_string_len(c, b, len) || !c.bytes(len, key))
      return false;
    auto s = slot_of(key);
    if (s < 0 || out[static_cast<size_t>(s)].k != value::kind::absent)
      return false;
    if (!mp_scalar(c, out[static_cast<size_t>(s)]))
      return false;
  }
  return c.at_end();
}

// -- the request ----------------------------------------------------------------------------------

/// The checks of decode_request_dom and decode_body("message.send"), answering only when all pass.
std::optional<request> finish(values& v, const limits& lim) {
  using kind = value::kind;
  request_id id;
  auto& vid = v[s_id];
  if (vid.k == kind::string && !vid.str.empty() && vid.str.size() <= max_id_bytes)
    id.value = std::string{vid.str};
  else if (vid.k == kind::unsigned_int && vid.u <= static_cast<uint64_t>(INT64_MAX))
    id.value = static_cast<int64_t>(vid.u);
  else if (vid.k == kind::signed_int)
    id.value = vid.i;
  else
    return std::nullopt;
  if (v[s_type].k != kind::string || v[s_type].str != "message.send")
    return std::nullopt;
  if (v[s_conversation].k != kind::string)
    return std::nullopt;
  auto conversation = uuid::parse(v[s_conversation].str);
  if (!conversation)
    return std::nullopt;
  auto& client_id = v[s_client_id];
  if (client_id.k != kind::string || client_id.str.empty()
      || client_id.str.size() > lim.max_client_id_bytes)
    return std::nullopt;
  auto& text = v[s_text];
  if (text.k != kind::string)
    return std::nullopt;
  auto chars = utf8_length(text.str);
  if (!chars || *chars == 0 || *chars > lim.max_text_chars)
    return std::nullopt;
  int64_t reply_to = 0;
  auto& r = v[s_reply_to];
  if (r.k == kind::unsigned_int && r.u <= static_cast<uint64_t>(max_seq))
    reply_to = static_cast<int64_t>(r.u);
  else if (r.k == kind::signed_int && r.i >= 0 && r.i <= max_seq)
    reply_to = r.i;
  else if (r.k != kind::absent && r.k != kind::null)
    return std::nullopt;
  return request{std::move(id),
                 request_body{message_send_req{*conversation, std::string{client_id.str},
                                               std::string{text.str}, reply_to, {}}}};
}

} // namespace

std::optional<request> decode_chat_send_fast(std::string_view frame, encoding enc,
                                             const limits& lim) {
  if (lim.max_depth < 1)
    return std::nullopt; // the DOM path refuses even the top-level object
  values v;
  bool ok = enc == encoding::json ? json_reader{frame}.object(v) : mp_object(frame, v);
  if (!ok)
    return std::nullopt;
  return finish(v, lim);
}

} // namespace pactum::protocol::detail
