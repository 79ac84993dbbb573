// libFuzzer target: the protocol decoders (tests/fuzz/protocol_decode_input.hpp).
#include "protocol_decode_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pactum::fuzz::protocol_decode_input(data, size);
  return 0;
}
