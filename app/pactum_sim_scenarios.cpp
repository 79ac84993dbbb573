// The command lines of pactum-sim's scenarios beyond chat: deal, negotiate, storm and idle
// (sim/README.md documents each). Every one takes --url and --json-out and exits 0 when its end
// check passed, 1 when it failed, 2 on bad usage or failed setup.

#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <stdexcept>
#include <string>

#include "pactum/sim/chat_load.hpp"
#include "pactum/sim/deal_load.hpp"

using namespace pactum::sim;

namespace {

/// The most sockets one pactum-sim process opens (the machine allows 20,000 open files).
constexpr int max_sockets = 19'000;

endpoint url_endpoint(const std::string& u) {
  auto p = u.find("://");
  auto hostport = p == std::string::npos ? u : u.substr(p + 3);
  hostport = hostport.substr(0, hostport.find('/'));
  auto colon = hostport.rfind(':');
  if (colon == std::string::npos)
    throw std::invalid_argument("no port");
  endpoint ep;
  ep.host = hostport.substr(0, colon);
  ep.port = static_cast<uint16_t>(std::stoi(hostport.substr(colon + 1)));
  return ep;
}

/// Walks argv from index 2; `flag(name, next)` returns false for an unknown flag.
bool parse_flags(int argc, char** argv, const std::function<bool(const std::string&, const std::function<std::string()>&)>& flag) {
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    bool missing = false;
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        missing = true;
        return "";
      }
      return argv[++i];
    };
    try {
      if (!flag(a, next) || missing)
        return false;
    } catch (const std::logic_error&) { // stoi/stod, bad url
      return false;
    }
  }
  return true;
}

int finish(const nlohmann::json& report, const std::string& json_out, bool passed) {
  if (!json_out.empty())
    std::ofstream(json_out) << report.dump(2) << "\n";
  return passed ? 0 : 1;
}

} // namespace

[[noreturn]] void deal_usage(int code, bool negotiate) {
  std::cerr << (negotiate ? "usage: pactum-sim negotiate [options]   (= pactum-sim deal --stop-at accept)\n"
                          : "usage: pactum-sim deal [options]\n")
            << R"(  --url http://HOST:PORT   server to drive (default http://127.0.0.1:8080)
  --deals N                deals, each by its own brand and creator (10)
  --rate R                 deals started per second, open loop (5)
  --counters K             counter-offers before the accept, alternating, creator first (1)
  --refund-share P         share 0..1 of the deals funded but never delivered: the delivery
                           deadline refunds them; needs pactumd --contract-day-ms short (0)
  --stop-at accept         stop each deal at the accepted offer (the negotiation cycle)
  --delivery-days N        the offer's delivery_days (1)
  --amount N               the first offer, minor units of USD (50000)
  --threads T              engine threads, one io_context each (1)
  --setup-threads N        concurrent account registrations (16)
  --deal-timeout S         a deal unfinished S seconds after its start fails (60)
  --ledger-check-cmd CMD   shell command checking the ledger after the run, exit 0 = clean,
                           e.g. "pactumd --database-url URL --ledger-check"
                           (default: $PACTUM_LEDGER_CHECK_CMD)
  --no-ledger-check        pass without a ledger check (otherwise a whole-deal run needs one)
  --json-out FILE          also write the report as JSON
  --quiet                  no progress lines
Start pactumd with --message-rate-per-s 0 --ws-frame-rate-per-s 0 for high rates, and for refund
deals with --contract-day-ms 2000 --timer-sweep-ms 200 (a refund waits delivery_days x that).
Exit status: 0 when every check passed, 1 when a check failed, 2 on bad usage or failed setup.
)";
  std::exit(code);
}

int deal_main(int argc, char** argv, bool negotiate) {
  deal_load_config cfg;
  std::string json_out;
  bool quiet = false;
  if (negotiate)
    cfg.stop_at = "accept";
  if (auto* cmd = std::getenv("PACTUM_LEDGER_CHECK_CMD"))
    cfg.ledger_check_cmd = cmd; // so a bench script can pass it once for every run
  bool ok = parse_flags(argc, argv, [&](const std::string& a, const std::function<std::string()>& next) {
    if (a == "--help")
      deal_usage(0, negotiate);
    else if (a == "--url")
      cfg.ep = url_endpoint(next());
    else if (a == "--deals")
      cfg.deals = std::stoi(next());
    else if (a == "--rate")
      cfg.rate = std::stod(next());
    else if (a == "--counters")
      cfg.counters = std::stoi(next());
    else if (a == "--refund-share")
      cfg.refund_share = std::stod(next());
    else if (a == "--stop-at") {
      cfg.stop_at = next();
      if (cfg.stop_at == "end" || cfg.stop_at == "release")
        cfg.stop_at.clear();
      else if (cfg.stop_at != "accept")
        return false;
    } else if (a == "--delivery-days")
      cfg.delivery_days = std::stoi(next());
    else if (a == "--amount")
      cfg.amount = std::stoll(next());
    else if (a == "--threads")
      cfg.threads = std::stoi(next());
    else if (a == "--setup-threads")
      cfg.setup_threads = std::stoi(next());
    else if (a == "--deal-timeout")
      cfg.deal_timeout_seconds = std::stod(next());
    else if (a == "--ledger-check-cmd")
      cfg.ledger_check_cmd = next();
    else if (a == "--no-ledger-check")
      cfg.require_ledger_check = false;
    else if (a == "--json-out")
      json_out = next();
    else if (a == "--quiet")
      quiet = true;
    else
      return false;
    return true;
  });
  if (!ok || cfg.deals < 1 || cfg.rate <= 0 || cfg.counters < 0 || cfg.counters > 1000 || cfg.refund_share < 0
      || cfg.refund_share > 1 || cfg.delivery_days < 1 || cfg.delivery_days > 365 || cfg.amount < 1000
      || cfg.threads < 1 || cfg.deal_timeout_seconds <= 0)
    deal_usage(2, negotiate);
  if (2 * cfg.deals > max_sockets) {
    std::cerr << "pactum-sim: at most " << max_sockets / 2 << " deals (two sockets each) per process\n";
    return 2;
  }
  if (!quiet) {
    cfg.progress = &std::cout;
    if (cfg.refund_share > 0)
      std::cout << "note: refund deals wait for the delivery deadline: run pactumd with a short "
                   "--contract-day-ms (e.g. 2000) and --timer-sweep-ms 200\n";
  }
  nlohmann::json report;
  try {
    report = run_deal_load(cfg);
  } catch (const std::exception& ex) {
    std::cerr << "pactum-sim deal: " << ex.what() << "\n";
    return 2;
  }
  print_deal_load_summary(report, std::cout);
  return finish(report, json_out, deal_load_passed(report));
}

[[noreturn]] void storm_usage(int code) {
  std::cerr << R"(usage: pactum-sim storm [options]
  --url http://HOST:PORT   server to drive (default http://127.0.0.1:8080)
  --clients C              WebSocket clients, one per user, in C/2 conversations (10000; even,
                           at most 19000)
  --rate R                 light chat during the run, messages/s over all conversations (C/20)
  --duration S             seconds of chat (10)
  --storm-at S             seconds into the chat when every socket drops at once (duration/3)
  --restart-cmd CMD        instead of closing the sockets client side, run this shell command
                           (it restarts the server) at the storm
  --jitter-ms N            each client reconnects after a random 0..N ms, then backs off
                           (100 ms .. 2 s, jittered) while connects fail (1000)
  --threads T              engine threads (1)
  --setup-threads N        concurrent account registrations (16)
  --connect-parallelism N  sockets connecting at once per thread (256)
  --drain S                after the chat, wait this long for answers, deliveries, resumption (30)
  --json-out FILE          also write the report as JSON
  --quiet                  no progress lines
Exit status: 0 when every check passed, 1 when a check failed, 2 on bad usage or failed setup.
)";
  std::exit(code);
}

int storm_main(int argc, char** argv) {
  chat_load_config cfg;
  std::string json_out;
  bool quiet = false;
  int clients = 10'000;
  double rate = -1;
  cfg.step_seconds = 10;
  bool ok = parse_flags(argc, argv, [&](const std::string& a, const std::function<std::string()>& next) {
    if (a == "--help")
      storm_usage(0);
    else if (a == "--url")
      cfg.ep = url_endpoint(next());
    else if (a == "--clients")
      clients = std::stoi(next());
    else if (a == "--rate")
      rate = std::stod(next());
    else if (a == "--duration")
      cfg.step_seconds = std::stod(next());
    else if (a == "--storm-at")
      cfg.storm_at_seconds = std::stod(next());
    else if (a == "--restart-cmd")
      cfg.storm_restart_cmd = next();
    else if (a == "--jitter-ms")
      cfg.storm_jitter_ms = std::stoi(next());
    else if (a == "--threads")
      cfg.threads = std::stoi(next());
    else if (a == "--setup-threads")
      cfg.setup_threads = std::stoi(next());
    else if (a == "--connect-parallelism")
      cfg.connect_parallelism = std::stoi(next());
    else if (a == "--drain")
      cfg.drain_seconds = std::stod(next());
    else if (a == "--json-out")
      json_out = next();
    else if (a == "--quiet")
      quiet = true;
    else
      return false;
    return true;
  });
  if (!ok || clients < 2 || clients % 2 != 0 || cfg.step_seconds <= 0 || cfg.threads < 1 || cfg.storm_jitter_ms < 0)
    storm_usage(2);
  if (clients > max_sockets) {
    std::cerr << "pactum-sim storm: at most " << max_sockets << " clients per process\n";
    return 2;
  }
  cfg.conversations = clients / 2;
  cfg.conversations_per_user = 1;
  cfg.rates = {rate > 0 ? rate : std::max(1.0, clients / 20.0)};
  if (cfg.storm_at_seconds < 0)
    cfg.storm_at_seconds = cfg.step_seconds / 3;
  if (cfg.storm_at_seconds >= cfg.step_seconds)
    storm_usage(2);
  if (!quiet)
    cfg.progress = &std::cout;
  nlohmann::json report;
  try {
    report = run_chat_load(cfg);
  } catch (const std::exception& ex) {
    std::cerr << "pactum-sim storm: " << ex.what() << "\n";
    return 2;
  }
  print_chat_load_summary(report, std::cout);
  return finish(report, json_out, chat_load_passed(report));
}

[[noreturn]] void idle_usage(int code) {
  std::cerr << R"(usage: pactum-sim idle [options]
  --url http://HOST:PORT   server to drive (default http://127.0.0.1:8080)
  --sessions C             authenticated WebSocket sessions to open and hold (1000; at most 19000)
  --sessions-per-user K    sessions per account (pactumd allows 20 by default) (10)
  --hold S                 seconds to hold them idle (10)
  --server-pid PID         the server's pid: its VmRSS (/proc/PID/status) is sampled before,
                           once connected and after the hold, giving bytes per idle session
  --threads T              engine threads (1)
  --setup-threads N        concurrent account registrations (16)
  --connect-parallelism N  sessions connecting at once per thread (256)
  --json-out FILE          also write the report as JSON
  --quiet                  no progress lines
Exit status: 0 when every session was opened and held, 1 otherwise, 2 on bad usage or failed setup.
)";
  std::exit(code);
}

int idle_main(int argc, char** argv) {
  idle_load_config cfg;
  std::string json_out;
  bool quiet = false;
  bool ok = parse_flags(argc, argv, [&](const std::string& a, const std::function<std::string()>& next) {
    if (a == "--help")
      idle_usage(0);
    else if (a == "--url")
      cfg.ep = url_endpoint(next());
    else if (a == "--sessions")
      cfg.sessions = std::stoi(next());
    else if (a == "--sessions-per-user")
      cfg.sessions_per_user = std::stoi(next());
    else if (a == "--hold")
      cfg.hold_seconds = std::stod(next());
    else if (a == "--server-pid")
      cfg.server_pid = std::stoi(next());
    else if (a == "--threads")
      cfg.threads = std::stoi(next());
    else if (a == "--setup-threads")
      cfg.setup_threads = std::stoi(next());
    else if (a == "--connect-parallelism")
      cfg.connect_parallelism = std::stoi(next());
    else if (a == "--json-out")
      json_out = next();
    else if (a == "--quiet")
      quiet = true;
    else
      return false;
    return true;
  });
  if (!ok || cfg.sessions < 1 || cfg.sessions_per_user < 1 || cfg.hold_seconds < 0 || cfg.threads < 1)
    idle_usage(2);
  if (cfg.sessions > max_sockets) {
    std::cerr << "pactum-sim idle: at most " << max_sockets << " sessions per process\n";
    return 2;
  }
  if (!quiet)
    cfg.progress = &std::cout;
  nlohmann::json report;
  try {
    report = run_idle_load(cfg);
  } catch (const std::exception& ex) {
    std::cerr << "pactum-sim idle: " << ex.what() << "\n";
    return 2;
  }
  print_idle_load_summary(report, std::cout);
  return finish(report, json_out, idle_load_passed(report));
}
