#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace pactum::protocol::detail {

/// Returns the number of code points when `s` is valid UTF-8 (no overlongs, no surrogates, at most
/// U+10FFFF), nullopt otherwise.
std::optional<size_t> utf8_length(std::string_view s) noexcept;

} // namespace pactum::protocol::detail
