#pragma once

// One fuzz input through every decoder of protocol/ that reads bytes a client or the database
// controls: the client frame decoder in both encodings, the REST contract command decoder, and
// the stored offer terms. Shared by the libFuzzer target and the regression replay test, so a
// saved crash input is replayed through exactly the code that crashed. decode_request is also
// checked against the reference DOM decoder (decode_difference.hpp): a difference throws, which
// the fuzzer reports as a crash and the replay test as a failure.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "pactum/protocol/codec.hpp"
#include "pactum/protocol/events.hpp"
#include "decode_difference.hpp"

namespace pactum::fuzz {

inline void protocol_decode_input(const uint8_t* data, size_t size) {
  std::string_view in{reinterpret_cast<const char*>(data), size};
  protocol::limits lim;
  for (auto enc : {protocol::encoding::json, protocol::encoding::msgpack}) {
    // The message.send fast path must answer exactly what the DOM decoder answers.
    if (auto diff = decode_difference(in, enc, lim); !diff.empty())
      throw std::logic_error("decode_request differs from the DOM decoder: " + diff);
    auto req = protocol::decode_request(in, enc, lim);
    if (req) {
      // A decoded request's id must be usable in a reply.
      (void)protocol::encode_error(&req->id, protocol::error_code::internal, "x", enc);
    } else if (req.error().id) {
      (void)protocol::encode_error(&*req.error().id, req.error().code, req.error().message, enc);
    }
  }
  // The first byte picks a contract action (the path segment of a REST contract command).
  static constexpr std::string_view actions[] = {"fund",    "deliver", "approve", "request_revision",
                                                  "dispute", "resolve", "cancel",  "nonsense"};
  if (!in.empty()) {
    auto action = actions[static_cast<unsigned char>(in[0]) % std::size(actions)];
    auto contract = *uuid::parse("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
    (void)protocol::decode_contract_command(contract, action, in.substr(1));
  }
  (void)protocol::decode_terms(in);
}

} // namespace pactum::fuzz
