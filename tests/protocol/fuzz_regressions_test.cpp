// Replays the protocol decoder's fuzz corpus and every saved crash input (tests/fuzz/) through the
// same function the libFuzzer target runs. In the ASan/UBSan build a regression is a sanitizer
// report; in both builds the decoders must answer every input without throwing.

#include <gtest/gtest.h>

#include "protocol_decode_input.hpp"
#include "replay.hpp"

namespace {

void replay(const std::string& folder, size_t at_least) {
  auto files = pactum::fuzz::inputs_in(std::filesystem::path{PACTUM_FUZZ_DIR} / folder);
  EXPECT_GE(files.size(), at_least) << folder;
  for (auto& f : files) {
    SCOPED_TRACE(f.string());
    auto bytes = pactum::fuzz::read_bytes(f);
    EXPECT_NO_THROW(pactum::fuzz::protocol_decode_input(reinterpret_cast<const uint8_t*>(bytes.data()),
                                                        bytes.size()));
  }
}

} // namespace

TEST(FuzzRegressions, ProtocolDecodeCorpus) {
  replay("corpus/fuzz_protocol_decode", 20);
}

TEST(FuzzRegressions, ProtocolDecodeCrashes) {
  replay("regressions/fuzz_protocol_decode", 0);
}
