// Replays the HTTP request path's fuzz corpus and saved crash inputs (tests/fuzz/) through the same
// function the libFuzzer target runs.

#include <gtest/gtest.h>

#include "http_request_input.hpp"
#include "replay.hpp"

namespace {

void replay(const std::string& folder, size_t at_least) {
  auto files = pactum::fuzz::inputs_in(std::filesystem::path{PACTUM_FUZZ_DIR} / folder);
  EXPECT_GE(files.size(), at_least) << folder;
  for (auto& f : files) {
    SCOPED_TRACE(f.string());
    auto bytes = pactum::fuzz::read_bytes(f);
    EXPECT_NO_THROW(pactum::fuzz::http_request_input(reinterpret_cast<const uint8_t*>(bytes.data()),
                                                     bytes.size()));
  }
}

} // namespace

TEST(FuzzRegressions, HttpRequestCorpus) {
  replay("corpus/fuzz_http_request", 20);
}

TEST(FuzzRegressions, HttpRequestCrashes) {
  replay("regressions/fuzz_http_request", 0);
}
