// libFuzzer target: the HTTP request path up to the runtime (tests/fuzz/http_request_input.hpp).
#include "http_request_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pactum::fuzz::http_request_input(data, size);
  return 0;
}
