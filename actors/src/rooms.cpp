#include "rooms.hpp"

#include <string>

#include <sodium.h>

namespace pactum::actors {

uuid room_id_for(const uuid& campaign) {
  std::string input = "pactum.room|" + campaign.str();
  uuid out;
  crypto_generichash(out.bytes.data(), out.bytes.size(),
                     reinterpret_cast<const unsigned char*>(input.data()), input.size(), nullptr, 0);
  out.bytes[6] = static_cast<uint8_t>((out.bytes[6] & 0x0f) | 0x80); // version 8
  out.bytes[8] = static_cast<uint8_t>((out.bytes[8] & 0x3f) | 0x80); // RFC 9562 variant
  return out;
}

} // namespace pactum::actors
