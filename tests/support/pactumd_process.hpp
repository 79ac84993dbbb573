#pragma once

// Runs the real pactumd binary (PACTUMD_BIN) for end-to-end tests: on a free loopback port, with
// its own log file, against a given database. Start, stop (SIGTERM, graceful), kill (SIGKILL) and
// restart against the same database.

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace pactum::test_support {

class pactumd_process {
public:
  explicit pactumd_process(std::string database_url, std::vector<std::string> extra = {})
    : url_(std::move(database_url)), extra_(std::move(extra)) {
    auto* bin = std::getenv("PACTUMD_BIN");
    if (!bin || !*bin)
      throw std::runtime_error("PACTUMD_BIN is not set: end-to-end tests need the pactumd binary");
    bin_ = bin;
    static int counter = 0;
    dir_ = "/tmp/pactum-e2e-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    ::mkdir(dir_.c_str(), 0700);
    write_master_key();
    start();
  }

  ~pactumd_process() {
    if (pid_ > 0)
      kill_now();
  }

  pactumd_process(const pactumd_process&) = delete;
  pactumd_process& operator=(const pactumd_process&) = delete;

  uint16_t port() const noexcept { return port_; }
  pid_t pid() const noexcept { return pid_; }
  /// The master key file this server uses (kept across restarts, like a real deployment's).
  const std::string& master_key_path() const noexcept { return key_; }
  const std::string& log_path() const noexcept { return log_; }

  void start() {
    auto port_file = dir_ + "/port";
    ::unlink(port_file.c_str());
    log_ = dir_ + "/pactumd-" + std::to_string(starts_++) + ".log";
    std::vector<std::string> args{bin_,
                                  "--listen", "127.0.0.1:0",
                                  "--port-file", port_file,
                                  "--database-url", url_,
                                  "--master-key-file", key_,
                                  // Cheap hashing keeps the suite fast; production defaults stay
                                  // at OWASP-level argon2id (see docs/operations.md).
                                  "--pwhash-opslimit", "1",
                                  "--pwhash-memlimit-kib", "8192",
                                  "--log-level", "info",
                                  // Tests drive load from few users; the per-user message rate
                                  // has its own test (chat_test.cpp) with the defaults.
                                  "--message-rate-per-s", "100000", "--message-burst", "100000",
                                  // Likewise the per-connection frame rate: hardening_test.cpp
                                  // tests it.
                                  "--ws-frame-rate-per-s", "0",
                                  // The same answers whether or not web/dist was built: the
                                  // static serving has its own tests (tests/gateway, web/tests).
                                  "--web-root", "none"};
    args.insert(args.end(), extra_.begin(), extra_.end());
    pid_ = ::fork();
    if (pid_ < 0)
      throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      std::vector<char*> argv;
      for (auto& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(bin_.c_str(), argv.data());
      ::_exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      std::ifstream in(port_file);
      unsigned p = 0;
      if (in >> p && p > 0) {
        port_ = static_cast<uint16_t>(p);
        return;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("pactumd exited during start-up; see " + log_);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("pactumd did not start within 60 s; see " + log_);
  }

  /// SIGTERM and wait; returns the exit status (or -1 on timeout, after SIGKILL).
  int stop(std::chrono::seconds timeout = std::chrono::seconds(30)) {
    if (pid_ <= 0)
      return -1;
    ::kill(pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill_now();
    return -1;
  }

  void kill_now() {
    if (pid_ <= 0)
      return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  void restart() {
    stop();
    start();
  }

  /// The server's log so far (for failure messages).
  std::string log() const {
    std::ifstream in(log_);
    return std::string{std::istreambuf_iterator<char>(in), {}};
  }

private:
  /// 32 random bytes, mode 600, one per database (as in a deployment, every server started
  /// against the same database, including after a restart or kill, uses the same key).
  void write_master_key() {
    auto keys = "/tmp/pactum-e2e-" + std::to_string(::getpid()) + "-keys";
    ::mkdir(keys.c_str(), 0700);
    key_ = keys + "/" + std::to_string(std::hash<std::string>{}(url_)) + ".key";
    if (::access(key_.c_str(), F_OK) == 0)
      return;
    std::ifstream rnd("/dev/urandom", std::ios::binary);
    char raw[32];
    if (!rnd.read(raw, sizeof raw))
      throw std::runtime_error("cannot read /dev/urandom");
    int fd = ::open(key_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ::write(fd, raw, sizeof raw) != static_cast<ssize_t>(sizeof raw))
      throw std::runtime_error("cannot write " + key_);
    ::close(fd);
  }

  std::string key_;
  std::string url_;
  std::vector<std::string> extra_;
  std::string bin_;
  std::string dir_;
  std::string log_;
  int starts_ = 0;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

} // namespace pactum::test_support
