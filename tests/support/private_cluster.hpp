#pragma once

// A private PostgreSQL cluster for one test, for tests that must restart or break PostgreSQL
// without disturbing the shared test cluster (PACTUM_TEST_DATABASE_URL) that other tests, and
// possibly other test processes, are using at the same time.
//
// It drives the project's own script, exactly as a developer would:
//   PACTUM_HOME=<fresh dir under /tmp> PACTUM_PG_PORT=<free port> <repo>/scripts/pg start|...
// so the test exercises the same cluster set-up as `scripts/run`. The repository path comes from
// the compile definition PACTUM_SOURCE_DIR (set in tests/CMakeLists.txt).
//
// Lifecycle: the constructor initialises and starts the cluster (initdb: a few seconds); the
// destructor runs `scripts/pg destroy` and removes the directory. Threading: one owner;
// `url()`/`admin_url()` may be read from any thread while the object lives; `restart_immediate()`
// may run on another thread than the one using the cluster (that is its point).

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PACTUM_SOURCE_DIR
#error "PACTUM_SOURCE_DIR must name the repository root (see tests/CMakeLists.txt)"
#endif

namespace pactum::test_support {

class private_cluster {
public:
  private_cluster() {
    char dir[] = "/tmp/pactum-pg-XXXXXX";
    if (::mkdtemp(dir) == nullptr)
      throw std::runtime_error("private_cluster: mkdtemp failed");
    home_ = dir;
    // The port is free when we look, and another process could take it before PostgreSQL binds:
    // try a few ports before giving up.
    std::string last_error;
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = free_port();
      try {
        run("start");
        url_ = run("url");
        admin_url_ = run("admin-url");
        return;
      } catch (const std::exception& e) {
        last_error = e.what();
        try_destroy();
      }
    }
    remove_home();
    throw std::runtime_error("private_cluster: could not start PostgreSQL: " + last_error);
  }

  ~private_cluster() {
    try_destroy();
    remove_home();
  }

  private_cluster(const private_cluster&) = delete;
  private_cluster& operator=(const private_cluster&) = delete;

  /// The application's URL (role pactum, database pactum), as `scripts/pg url` prints it.
  const std::string& url() const noexcept { return url_; }
  /// A superuser URL (database postgres), as `scripts/pg admin-url` prints it.
  const std::string& admin_url() const noexcept { return admin_url_; }
  uint16_t port() const noexcept { return port_; }
  const std::string& home() const noexcept { return home_; }

  /// Kills every backend without a checkpoint (as a crash would) and starts the server again;
  /// returns once it accepts connections. Throws when the script fails.
  void restart_immediate() { run("restart-immediate"); }

  /// The cluster's server log so far (for failure messages).
  std::string server_log() const {
    std::ifstream in(home_ + "/pg/log/postgresql.log");
    return std::string{std::istreambuf_iterator<char>(in), {}};
  }

private:
  static uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
      throw std::runtime_error("private_cluster: socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0
        || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ::close(fd);
      throw std::runtime_error("private_cluster: could not find a free port");
    }
    ::close(fd);
    return ntohs(addr.sin_port);
  }

  /// Runs `scripts/pg <subcommand>` for this cluster; returns its standard output without the
  /// trailing newline. The script's progress lines (stderr) go to a log in the cluster's
  /// directory and are quoted when it fails.
  std::string run(const std::string& subcommand) const {
    const auto script = std::string{PACTUM_SOURCE_DIR} + "/scripts/pg";
    const auto script_log = home_ + "/scripts-pg.log";
    // Everything the child needs is built before fork: other threads of this process may hold
    // the allocator's lock at that moment, so the child must not allocate.
    std::vector<std::string> env_strings{"PACTUM_HOME=" + home_,
                                         "PACTUM_PG_PORT=" + std::to_string(port_)};
    for (char** e = environ; *e != nullptr; ++e) {
      std::string_view kv{*e};
      if (!kv.starts_with("PACTUM_HOME=") && !kv.starts_with("PACTUM_PG_PORT="))
        env_strings.emplace_back(kv);
    }
    std::vector<char*> envp;
    for (auto& kv : env_strings)
      envp.push_back(kv.data());
    envp.push_back(nullptr);
    std::array<char*, 3> argv{const_cast<char*>(script.c_str()),
                              const_cast<char*>(subcommand.c_str()), nullptr};
    int out_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0)
      throw std::runtime_error("private_cluster: pipe failed");
    pid_t pid = ::fork();
    if (pid < 0) {
      ::close(out_pipe[0]);
      ::close(out_pipe[1]);
      throw std::runtime_error("private_cluster: fork failed");
    }
    if (pid == 0) {
      // Only stdio reaches the script, and so the PostgreSQL server it may start: a server that
      // inherited this process's sockets (WebSocket clients, pactumd's pipes) would keep them
      // open for its whole life.
      ::dup2(out_pipe[1], 1);
      int log_fd = ::open(script_log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (log_fd >= 0)
        ::dup2(log_fd, 2);
      ::close_range(3, ~0U, 0);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(out_pipe[1]);
    std::string out;
    std::array<char, 512> buf{};
    for (;;) {
      auto n = ::read(out_pipe[0], buf.data(), buf.size());
      if (n > 0)
        out.append(buf.data(), static_cast<size_t>(n));
      else if (n == 0 || errno != EINTR)
        break;
    }
    ::close(out_pipe[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::ifstream in(script_log);
      std::string log{std::istreambuf_iterator<char>(in), {}};
      throw std::runtime_error("private_cluster: `PACTUM_HOME=" + home_ + " PACTUM_PG_PORT="
                               + std::to_string(port_) + " " + script + " " + subcommand
                               + "` failed (status " + std::to_string(status) + "):\n" + log);
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
      out.pop_back();
    return out;
  }

  void try_destroy() const noexcept {
    try {
      run("destroy");
    } catch (const std::exception& e) {
      std::fprintf(stderr, "private_cluster: destroy failed: %s\n", e.what());
    }
  }

  void remove_home() const noexcept {
    // `destroy` removed pg/; what is left is the script log (and the directory itself).
    ::unlink((home_ + "/scripts-pg.log").c_str());
    ::rmdir(home_.c_str());
  }

  std::string home_;
  uint16_t port_ = 0;
  std::string url_;
  std::string admin_url_;
};

} // namespace pactum::test_support
