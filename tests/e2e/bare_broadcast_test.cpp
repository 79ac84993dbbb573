// End to end: the bare Beast broadcast server (bench/bare_broadcast.cpp, the delivery ceiling of
// bench/run-all) stays wire-compatible with `pactum-sim chat` (PACTUM_SIM_BIN), in both write
// modes: a short stepped run whose end check (every message acknowledged and delivered to both
// members exactly once, in order; in coalesced mode the events arrive inside batch frames) must pass.
// The server binary is PACTUM_BARE_BIN, else bench/pactum_bare_broadcast of the same build tree as
// pactum-sim. The Node.js peer is not tested here: its npm install needs the registry (bench/run-all).

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string sim_bin() {
  auto* sim = std::getenv("PACTUM_SIM_BIN");
  return sim ? sim : "";
}

std::string bare_bin() {
  if (auto* bare = std::getenv("PACTUM_BARE_BIN"))
    return bare;
  if (sim_bin().empty())
    return "";
  return (fs::path(sim_bin()).parent_path().parent_path() / "bench" / "pactum_bare_broadcast").string();
}

/// The bare server as a child process on a free loopback port; killed when it goes out of scope.
class bare_server {
public:
  bare_server(const std::string& bin, const std::string& mode) {
    port_file_ = (fs::temp_directory_path() / ("pactum-bare-" + std::to_string(::getpid()) + "-" + mode + ".port")).string();
    fs::remove(port_file_);
    pid_ = ::fork();
    if (pid_ == 0) {
      int devnull = ::open("/dev/null", O_WRONLY); // async-signal-safe calls only until exec
      if (devnull >= 0)
        ::dup2(devnull, STDOUT_FILENO);
      ::execl(bin.c_str(), bin.c_str(), "--listen", "127.0.0.1:0", "--port-file", port_file_.c_str(), "--write-mode",
              mode.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 100 && port_ == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::ifstream in(port_file_);
      in >> port_;
    }
  }
  ~bare_server() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    fs::remove(port_file_);
  }
  bare_server(const bare_server&) = delete;
  bare_server& operator=(const bare_server&) = delete;
  int port() const { return port_; }

private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string port_file_;
};

} // namespace

TEST(BareBroadcastEndToEnd, TheSimDrivesBothWriteModesWithNothingLost) {
  ASSERT_FALSE(sim_bin().empty()) << "PACTUM_SIM_BIN is not set";
  if (!fs::exists(bare_bin()))
    GTEST_SKIP() << bare_bin() << " is not built (target pactum_bare_broadcast)";
  for (const char* mode : {"per-frame", "coalesced"}) {
    SCOPED_TRACE(mode);
    bare_server srv(bare_bin(), mode);
    ASSERT_GT(srv.port(), 0) << "the bare server did not start";
    auto out = (fs::temp_directory_path() / ("pactum-bare-" + std::to_string(::getpid()) + "-" + mode + ".json")).string();
    // 10 sockets, each in 2 conversations; at 2,000 messages/s frames queue behind writes in
    // flight, so the coalesced mode sends batches.
    auto cmd = sim_bin() + " chat --url http://127.0.0.1:" + std::to_string(srv.port())
               + " --conversations 20 --conversations-per-user 2 --rate 200,2000 --duration 1 --json-out " + out
               + " --quiet > /dev/null";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::ifstream in(out);
    auto r = json::parse(in, nullptr, false);
    ASSERT_TRUE(r.is_object()) << "no report from " << cmd;
    EXPECT_EQ(r["passed"], true) << r.dump(2);
    EXPECT_GT(r["sent"].get<int64_t>(), 2000);
    EXPECT_EQ(r["acked"], r["sent"]);
    EXPECT_EQ(r["lost"], 0);
    EXPECT_EQ(r["stored_twice"], 0);
    EXPECT_EQ(r["delivered"].get<int64_t>(), 2 * r["acked"].get<int64_t>());
    fs::remove(out);
  }
}

// The rooms layout against the bare server (no campaigns: --room-setup none): rooms of 5, every
// acknowledged message at all 5 members' sockets.
TEST(BareBroadcastEndToEnd, RoomsOfFiveGetEveryMessageAtEveryMember) {
  ASSERT_FALSE(sim_bin().empty()) << "PACTUM_SIM_BIN is not set";
  if (!fs::exists(bare_bin()))
    GTEST_SKIP() << bare_bin() << " is not built (target pactum_bare_broadcast)";
  bare_server srv(bare_bin(), "coalesced");
  ASSERT_GT(srv.port(), 0) << "the bare server did not start";
  auto out = (fs::temp_directory_path() / ("pactum-bare-rooms-" + std::to_string(::getpid()) + ".json")).string();
  auto cmd = sim_bin() + " chat --url http://127.0.0.1:" + std::to_string(srv.port())
             + " --rooms 4 --room-size 5 --room-setup none --rate 500 --duration 1 --json-out " + out
             + " --quiet > /dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream in(out);
  auto r = json::parse(in, nullptr, false);
  ASSERT_TRUE(r.is_object()) << "no report from " << cmd;
  EXPECT_EQ(r["passed"], true) << r.dump(2);
  EXPECT_EQ(r["sockets"], 20);
  EXPECT_EQ(r["acked"], r["sent"]);
  EXPECT_EQ(r["lost"], 0);
  EXPECT_EQ(r["delivered"].get<int64_t>(), 5 * r["acked"].get<int64_t>());
  fs::remove(out);
}
