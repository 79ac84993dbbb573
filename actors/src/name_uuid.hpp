#pragma once

// Name-based ids: a version 8 UUID (RFC 9562) hashed from a name, so that an id the server derives
// (a campaign's from its brand and create key, a campaign room's from its campaign) is the same
// however often and however concurrently it is asked. Callers prefix the name with what it names
// ("pactum.campaign|…", "pactum.room|…") so two kinds of ids never collide.

#include <string_view>

#include <sodium.h>

#include "pactum/common/uuid.hpp"

namespace pactum::actors {

inline uuid name_uuid(std::string_view name) {
  uuid out;
  crypto_generichash(out.bytes.data(), out.bytes.size(), reinterpret_cast<const unsigned char*>(name.data()),
                     name.size(), nullptr, 0);
  out.bytes[6] = static_cast<uint8_t>((out.bytes[6] & 0x0f) | 0x80); // version 8
  out.bytes[8] = static_cast<uint8_t>((out.bytes[8] & 0x3f) | 0x80); // RFC 9562 variant
  return out;
}

} // namespace pactum::actors
