// ns per decode_request of the chat send frame pactum-sim sends (docs/benchmarks.md, "CPU per
// delivery"): the one-pass message.send fast path against the DOM decoder it replaces
// (detail::decode_request_dom), in the same run, both encodings. Rounds alternate old and new so
// a busy neighbour on the shared machine hits both alike; the median round is reported.
//
//   build/dev/bench/pactum_decode_bench [iterations per round, default 200000] [rounds, default 7]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pactum/protocol/codec.hpp"

#include "chat_send_decode.hpp" // protocol/src: the reference DOM decoder

using namespace pactum;
using namespace pactum::protocol;

namespace {

using decoder = expected<request, decode_error> (*)(std::string_view, encoding, const limits&);

/// ns per call over `n` calls.
double time_round(decoder fn, const std::string& frame, encoding enc, const limits& lim, int n,
                  size_t& sink) {
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    auto r = fn(frame, enc, lim);
    if (!r)
      std::abort(); // the frame is valid: both decoders must take it
    sink += std::get<message_send_req>(r->body).text.size();
  }
  auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::nano>(t1 - t0).count() / n;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 200000;
  int rounds = argc > 2 ? std::atoi(argv[2]) : 7;
  if (n <= 0 || rounds <= 0) {
    std::fprintf(stderr, "usage: pactum_decode_bench [iterations per round] [rounds]\n");
    return 2;
  }
  // The frame of sim/src/chat_load.cpp: an integer id, a UUIDv7 conversation, a client id and a
  // 64-byte text; nlohmann's dump/to_msgpack order the keys alphabetically, as the sim's frames.
  nlohmann::json f{{"type", "message.send"},
                   {"id", 123456},
                   {"conversation", uuid::v7().str()},
                   {"client_id", "s3-c1234-m000042"},
                   {"text", std::string{"a simulated chat message from the pactum load generator "}
                              + "01234567"}};
  std::string text = f["text"];
  if (text.size() != 64)
    std::abort();
  auto bytes = nlohmann::json::to_msgpack(f);
  const std::string frames[] = {f.dump(), std::string{bytes.begin(), bytes.end()}};
  const encoding encs[] = {encoding::json, encoding::msgpack};
  limits lim;
  size_t sink = 0;
  std::printf("decode_request of a chat send frame (64-byte text), %d calls x %d rounds, median round\n",
              n, rounds);
  std::printf("%-8s %6s %12s %12s %7s\n", "encoding", "bytes", "dom ns/op", "fast ns/op", "ratio");
  for (int e = 0; e < 2; ++e) {
    std::vector<double> old_ns, new_ns;
    time_round(&detail::decode_request_dom, frames[e], encs[e], lim, n / 10, sink); // warm up
    time_round(&decode_request, frames[e], encs[e], lim, n / 10, sink);
    for (int r = 0; r < rounds; ++r) {
      old_ns.push_back(time_round(&detail::decode_request_dom, frames[e], encs[e], lim, n, sink));
      new_ns.push_back(time_round(&decode_request, frames[e], encs[e], lim, n, sink));
    }
    double o = median(old_ns), x = median(new_ns);
    std::printf("%-8s %6zu %12.1f %12.1f %6.2fx\n", e == 0 ? "json" : "msgpack", frames[e].size(), o,
                x, o / x);
  }
  return sink == 0 ? 1 : 0;
}
