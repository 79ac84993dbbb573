// See msgpack_json.hpp. The msgpack format: https://github.com/msgpack/msgpack/blob/master/spec.md

#include "msgpack_json.hpp"

#include <charconv>
#include <cstdint>

#include "pactum/protocol/msgpack_cursor.hpp"
#include "utf8.hpp"

namespace pactum::protocol::detail {

namespace {

class transcoder : msgpack_cursor {
public:
  transcoder(std::string_view in, std::string& out) : msgpack_cursor(in), out_(out) {}

  bool run() { return value(0) && at_end(); }

private:
  template <class T>
  void number(T x) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, x);
    out_.append(buf, r.ptr);
  }

  /// As nlohmann's serializer writes a valid UTF-8 string with ensure_ascii off.
  bool string(std::string_view s) {
    if (!utf8_length(s))
      return false;
    static constexpr char hex[] = "0123456789abcdef";
    out_.push_back('"');
    size_t run = 0; // start of the bytes copied as they are
    for (size_t i = 0; i < s.size(); ++i) {
      auto c = static_cast<unsigned char>(s[i]);
      const char* esc = nullptr;
      switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
          if (c >= 0x20)
            continue;
      }
      out_.append(s.data() + run, i - run);
      run = i + 1;
      if (esc) {
        out_.append(esc);
      } else {
        const char u[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
        out_.append(u, sizeof u);
      }
    }
    out_.append(s.data() + run, s.size() - run);
    out_.push_back('"');
    return true;
  }

  bool str_of(uint8_t b, std::string_view& s) {
    uint64_t n = 0;
    if (b >= 0xa0 && b <= 0xbf)
      n = b & 0x1f;
    else if (b == 0xd9 || b == 0xda || b == 0xdb) {
      if (!be(size_t{1} << (b - 0xd9), n))
        return false;
    } else {
      return false;
    }
    return bytes(n, s);
  }

  bool array(uint64_t n, int depth) {
    out_.push_back('[');
    for (uint64_t i = 0; i < n; ++i) {
      if (i > 0)
        out_.push_back(',');
      if (!value(depth + 1))
        return false;
    }
    out_.push_back(']');
    return true;
  }

  bool map(uint64_t n, int depth) {
    out_.push_back('{');
    std::string_view previous;
    for (uint64_t i = 0; i < n; ++i) {
      uint8_t b = 0;
      std::string_view key;
      if (!byte(b) || !str_of(b, key))
        return false; // nlohmann turns non-string keys into... nothing we write: decline
      if (i > 0 && !(previous < key))
        return false; // the DOM would sort (and de-duplicate) the keys
      previous = key;
      if (i > 0)
        out_.push_back(',');
      if (!string(key))
        return false;
      out_.push_back(':');
      if (!value(depth + 1))
        return false;
    }
    out_.push_back('}');
    return true;
  }

  bool value(int depth) {
    if (depth > 64)
      return false;
    uint8_t b = 0;
    if (!byte(b))
      return false;
    uint64_t n = 0;
    if (b <= 0x7f) {
      number(static_cast<unsigned>(b));
      return true;
    }
    if (b >= 0xe0) {
      number(static_cast<int>(static_cast<int8_t>(b)));
      return true;
    }
    if (b >= 0x80 && b <= 0x8f)
      return map(b & 0x0f, depth);
    if (b >= 0x90 && b <= 0x9f)
      return array(b & 0x0f, depth);
    if ((b >= 0xa0 && b <= 0xbf) || b == 0xd9 || b == 0xda || b == 0xdb) {
      std::string_view s;
      return str_of(b, s) && string(s);
    }
    switch (b) {
      case 0xc0: out_.append("null"); return true;
      case 0xc2: out_.append("false"); return true;
      case 0xc3: out_.append("true"); return true;
      case 0xcc: if (!be(1, n)) return false; number(n); return true;
      case 0xcd: if (!be(2, n)) return false; number(n); return true;
      case 0xce: if (!be(4, n)) return false; number(n); return true;
      case 0xcf: if (!be(8, n)) return false; number(n); return true;
      case 0xd0: if (!be(1, n)) return false; number(static_cast<int64_t>(static_cast<int8_t>(n))); return true;
      case 0xd1: if (!be(2, n)) return false; number(static_cast<int64_t>(static_cast<int16_t>(n))); return true;
      case 0xd2: if (!be(4, n)) return false; number(static_cast<int64_t>(static_cast<int32_t>(n))); return true;
      case 0xd3: if (!be(8, n)) return false; number(static_cast<int64_t>(n)); return true;
      case 0xdc: return be(2, n) && array(n, depth);
      case 0xdd: return be(4, n) && array(n, depth);
      case 0xde: return be(2, n) && map(n, depth);
      case 0xdf: return be(4, n) && map(n, depth);
      default: return false; // floats, binary, extensions, 0xc1: the DOM path decides
    }
  }

  std::string& out_;
};

} // namespace

bool msgpack_to_json(std::string_view mp, std::string& out) {
  return transcoder{mp, out}.run();
}

} // namespace pactum::protocol::detail
