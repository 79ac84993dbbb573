#pragma once

#include <cstdint>

namespace pactum {

/// Milliseconds since the Unix epoch, UTC: the only time format on the wire and in storage.
using millis = int64_t;

/// Returns the current wall-clock time in milliseconds since the epoch.
millis now_millis() noexcept;

} // namespace pactum
