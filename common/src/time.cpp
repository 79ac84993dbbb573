#include "pactum/common/time.hpp"

#include <chrono>

namespace pactum {

millis now_millis() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

} // namespace pactum
