#pragma once

// Reads the fields of one journal payload (a msgpack map decoded to JSON): the first missing or
// mistyped field makes it fail and is named in the error; later reads return defaults.

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "pactum/common/uuid.hpp"

namespace pactum::protocol::detail {

struct payload_reader {
  const nlohmann::json& obj;
  const char* failed = nullptr;

  bool ok() const noexcept { return failed == nullptr; }

  const nlohmann::json* find(const char* key) const {
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

} // namespace pactum::protocol::detail
