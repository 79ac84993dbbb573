// pactum-sim: drives simulated brands and creators against a running pactumd and checks what they
// saw. This first scenario is chat: each pair opens a conversation, the creator subscribes, the
// brand sends messages at an open-loop rate (latency counted from the intended send time, so a
// slow server cannot hide its queueing), and at the end every acknowledged message must have
// reached the creator exactly once, in order.
//
// One thread per pair and blocking clients: enough for tens of pairs. `pactum-sim chat ...` runs
// the asynchronous engine instead (sim/include/pactum/sim/chat_load.hpp): thousands of clients per
// thread, stepped open-loop rates, reconnects with resume, the same end checks.

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "pactum/sim/chat_load.hpp"
#include "pactum/sim/client.hpp"

using namespace pactum::sim;
using clock_type = std::chrono::steady_clock;

namespace {

struct options {
  endpoint ep;
  int pairs = 10;
  int messages = 100;
  double rate = 50; // messages per second per pair; 0: as fast as a window of 32 allows
  ws_client::mode enc = ws_client::mode::json;
  std::string json_out;
};

[[noreturn]] void usage(int code) {
  std::cerr << R"(usage: pactum-sim [options]        (the pair scenario)
       pactum-sim chat|deal|negotiate|storm|idle [options]   (each with --help; sim/README.md)
  --url http://HOST:PORT   server to drive (default http://127.0.0.1:8080)
  --pairs N                brand/creator pairs, one conversation each (10)
  --messages N             messages each brand sends (100)
  --rate R                 messages per second per pair, open loop; 0 = closed loop (50)
  --encoding json|msgpack  frame encoding of the clients (json)
  --json-out FILE          also write the results as JSON
Exit status: 0 when every check passed, 1 when a check failed, 2 on bad usage.
)";
  std::exit(code);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc)
        usage(2);
      return argv[++i];
    };
    if (a == "--help")
      usage(0);
    else if (a == "--url") {
      auto u = next();
      auto p = u.find("://");
      auto hostport = p == std::string::npos ? u : u.substr(p + 3);
      hostport = hostport.substr(0, hostport.find('/'));
      auto colon = hostport.rfind(':');
      if (colon == std::string::npos)
        usage(2);
      o.ep.host = hostport.substr(0, colon);
      o.ep.port = static_cast<uint16_t>(std::stoi(hostport.substr(colon + 1)));
    } else if (a == "--pairs")
      o.pairs = std::stoi(next());
    else if (a == "--messages")
      o.messages = std::stoi(next());
    else if (a == "--rate")
      o.rate = std::stod(next());
    else if (a == "--encoding") {
      auto e = next();
      if (e != "json" && e != "msgpack")
        usage(2);
      o.enc = e == "json" ? ws_client::mode::json : ws_client::mode::msgpack;
    } else if (a == "--json-out")
      o.json_out = next();
    else
      usage(2);
  }
  if (o.pairs < 1 || o.messages < 1 || o.rate < 0)
    usage(2);
  return o;
}

struct histogram {
  std::vector<double> ms;
  void add(clock_type::duration d) {
    ms.push_back(std::chrono::duration<double, std::milli>(d).count());
  }
  double pct(double p) {
    if (ms.empty())
      return 0;
    std::sort(ms.begin(), ms.end());
    auto idx = static_cast<size_t>(p / 100.0 * static_cast<double>(ms.size() - 1) + 0.5);
    return ms[std::min(idx, ms.size() - 1)];
  }
  json summary() {
    return json{{"count", ms.size()},  {"p50_ms", pct(50)},   {"p90_ms", pct(90)},
                {"p99_ms", pct(99)},   {"p99_9_ms", pct(99.9)}, {"max_ms", pct(100)}};
  }
};

struct result {
  std::mutex mtx;
  histogram ack, delivery;
  std::map<std::string, int> errors;
  std::vector<std::string> violations;
  std::atomic<int64_t> acked{0}, delivered{0};
};

void run_pair(const options& o, int index, result& out) {
  try {
    auto brand = make_account(o.ep, "brand", "sim-brand-" + std::to_string(index));
    auto creator = make_account(o.ep, "creator", "sim-creator-" + std::to_string(index));
    ws_client b{o.ep, brand.token, o.enc};
    ws_client c{o.ep, creator.token, o.enc};
    auto opened = b.request(json{{"type", "conversation.open"}, {"with", creator.id}});
    if (opened["type"] != "ok")
      throw std::runtime_error("conversation.open: " + opened.dump());
    auto conv = opened["conversation"]["id"].get<std::string>();
    auto stream = "conversation:" + conv;
    auto sub = c.request(json{{"type", "subscribe"}, {"conversation", conv}, {"after", 1}});
    if (sub["type"] != "ok")
      throw std::runtime_error("subscribe: " + sub.dump());

    std::mutex mtx;
    std::map<int64_t, clock_type::time_point> intended_by_seq;
    std::map<int64_t, clock_type::time_point> received_by_seq;
    std::vector<int64_t> received_order;
    std::atomic<bool> done{false};
    std::thread reader([&] {
      for (;;) { // after `done`, drain until the stream is quiet for 200 ms
        auto ev = c.next_event(200ms);
        if (!ev) {
          if (done)
            break;
          continue;
        }
        if ((*ev)["stream"] != stream)
          continue;
        std::lock_guard<std::mutex> guard{mtx};
        auto seq = (*ev)["seq"].get<int64_t>();
        received_order.push_back(seq);
        received_by_seq.emplace(seq, clock_type::now());
      }
    });

    auto start = clock_type::now();
    const int window = 32;
    int next_reply = 0;
    std::map<int, clock_type::time_point> intended;
    auto collect = [&](int i) {
      auto r = b.wait_reply(i, 30s);
      auto now = clock_type::now();
      std::lock_guard<std::mutex> guard{out.mtx};
      if (!r) {
        ++out.errors["no_reply"];
        return;
      }
      if ((*r)["type"] != "ok") {
        ++out.errors[(*r)["code"].get<std::string>()];
        return;
      }
      out.ack.add(now - intended[i]);
      ++out.acked;
      std::lock_guard<std::mutex> g2{mtx};
      intended_by_seq[(*r)["seq"].get<int64_t>()] = intended[i];
    };
    for (int i = 0; i < o.messages; ++i) {
      auto when = o.rate > 0 ? start + std::chrono::duration_cast<clock_type::duration>(
                                         std::chrono::duration<double>(i / o.rate))
                             : clock_type::now();
      if (o.rate > 0)
        std::this_thread::sleep_until(when);
      while (o.rate == 0 && i - next_reply >= window)
        collect(next_reply++);
      intended[i] = when;
      b.send(json{{"type", "message.send"},
                  {"id", i},
                  {"conversation", conv},
                  {"client_id", "sim-" + std::to_string(i)},
                  {"text", "simulated message " + std::to_string(i)}});
    }
    while (next_reply < o.messages)
      collect(next_reply++);
    // Give deliveries a moment to drain, then check them.
    auto deadline = clock_type::now() + 10s;
    while (clock_type::now() < deadline) {
      std::lock_guard<std::mutex> guard{mtx};
      if (received_order.size() >= intended_by_seq.size())
        break;
    }
    done = true;
    reader.join();
    std::lock_guard<std::mutex> guard{out.mtx};
    int64_t expect = 2;
    for (auto seq : received_order) {
      if (seq != expect) {
        out.violations.push_back("pair " + std::to_string(index) + ": expected seq "
                                 + std::to_string(expect) + ", got " + std::to_string(seq));
        break;
      }
      ++expect;
    }
    for (auto& [seq, t] : intended_by_seq) {
      auto r = received_by_seq.find(seq);
      if (r == received_by_seq.end()) {
        out.violations.push_back("pair " + std::to_string(index) + ": acknowledged seq "
                                 + std::to_string(seq) + " never delivered");
        continue;
      }
      out.delivery.add(r->second - t);
      ++out.delivered;
    }
  } catch (const std::exception& ex) {
    std::lock_guard<std::mutex> guard{out.mtx};
    out.violations.push_back("pair " + std::to_string(index) + ": " + ex.what());
  }
}

} // namespace

[[noreturn]] void chat_usage(int code) {
  std::cerr << R"(usage: pactum-sim chat [options]
  --url http://HOST:PORT        server to drive (default http://127.0.0.1:8080)
  --conversations N             brand/creator conversations (10)
  --conversations-per-user K    conversations each user's ONE socket is a member of (1: a socket
                                per member; K > 1: N/K brands x N/K creators, needs N % K == 0
                                and K*K <= N) (1)
  --room-size N --rooms R       the rooms layout instead: R campaign rooms (a campaign each, made
                                over REST, every creator approved) of N members, the brand and
                                N-1 creators, a socket per member; deliveries = acked x N (off)
  --room-setup rest|none        rest: a campaign per room over REST, every creator approved;
                                none: a random campaign id per room and no REST (servers without
                                campaigns, e.g. bench/bare_broadcast.cpp) (rest)
  --rate R[,R2,...]             messages per second over all conversations, open loop; a list
                                runs one step per rate on the same clients (100)
  --duration S                  seconds per step (10)
  --threads T                   engine threads, one io_context each (1)
  --encoding json|msgpack       frame encoding (json)
  --max-inflight N              unanswered requests per socket before sends wait (128)
  --setup-threads N             concurrent account registrations (16)
  --connect-parallelism N       sockets connecting at once per thread (256)
  --text-bytes N                bytes of message text (64)
  --drain S                     after the last step, wait this long for acks/deliveries (30)
  --json-out FILE               also write the report as JSON
  --quiet                       no progress lines
  --server-metrics on|off       sample the server's CPU and RSS from its GET /metrics every
                                second (on; skipped with a note when it has none)
  --server-pid PID              sample /proc/PID instead (servers without /metrics)
  --metrics-token T             bearer token for the server's /metrics
Exit status: 0 when every check passed, 1 when a check failed, 2 on bad usage or failed setup.
)";
  std::exit(code);
}

int chat_main(int argc, char** argv) {
  chat_load_config cfg;
  std::string json_out;
  bool quiet = false;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc)
        chat_usage(2);
      return argv[++i];
    };
    try {
      if (a == "--help")
        chat_usage(0);
      else if (a == "--url") {
        auto u = next();
        auto p = u.find("://");
        auto hostport = p == std::string::npos ? u : u.substr(p + 3);
        hostport = hostport.substr(0, hostport.find('/'));
        auto colon = hostport.rfind(':');
        if (colon == std::string::npos)
          chat_usage(2);
        cfg.ep.host = hostport.substr(0, colon);
        cfg.ep.port = static_cast<uint16_t>(std::stoi(hostport.substr(colon + 1)));
      } else if (a == "--conversations")
        cfg.conversations = std::stoi(next());
      else if (a == "--conversations-per-user" || a == "--conversations-per-socket")
        cfg.conversations_per_user = std::stoi(next());
      else if (a == "--rooms")
        cfg.rooms = std::stoi(next());
      else if (a == "--room-size")
        cfg.room_size = std::stoi(next());
      else if (a == "--room-setup") {
        auto v = next();
        if (v != "rest" && v != "none")
          chat_usage(2);
        cfg.room_rest_setup = v == "rest";
      }
      else if (a == "--rate") {
        cfg.rates.clear();
        auto list = next();
        size_t from = 0;
        while (from <= list.size()) {
          auto comma = list.find(',', from);
          cfg.rates.push_back(std::stod(list.substr(from, comma - from)));
          if (comma == std::string::npos)
            break;
          from = comma + 1;
        }
      } else if (a == "--duration")
        cfg.step_seconds = std::stod(next());
      else if (a == "--threads")
        cfg.threads = std::stoi(next());
      else if (a == "--encoding") {
        auto e = next();
        if (e != "json" && e != "msgpack")
          chat_usage(2);
        cfg.enc = e == "json" ? chat_load_config::encoding::json : chat_load_config::encoding::msgpack;
      } else if (a == "--max-inflight")
        cfg.max_inflight_per_socket = std::stoi(next());
      else if (a == "--setup-threads")
        cfg.setup_threads = std::stoi(next());
      else if (a == "--connect-parallelism")
        cfg.connect_parallelism = std::stoi(next());
      else if (a == "--text-bytes")
        cfg.text_bytes = std::stoi(next());
      else if (a == "--drain")
        cfg.drain_seconds = std::stod(next());
      else if (a == "--json-out")
        json_out = next();
      else if (a == "--quiet")
        quiet = true;
      else if (a == "--server-metrics") {
        auto v = next();
        if (v != "on" && v != "off")
          chat_usage(2);
        cfg.server_metrics = v == "on";
      } else if (a == "--server-pid")
        cfg.server_pid = std::stoi(next());
      else if (a == "--metrics-token")
        cfg.metrics_token = next();
      else
        chat_usage(2);
    } catch (const std::logic_error&) { // stoi/stod
      chat_usage(2);
    }
  }
  if ((cfg.room_size != 0 || cfg.rooms != 0) && (cfg.room_size < 2 || cfg.rooms < 1))
    chat_usage(2);
  if (cfg.conversations < 1 || cfg.conversations_per_user < 1 || cfg.step_seconds <= 0 || cfg.threads < 1
      || cfg.max_inflight_per_socket < 1 || cfg.text_bytes < 1 || cfg.rates.empty()
      || std::any_of(cfg.rates.begin(), cfg.rates.end(), [](double r) { return r <= 0; }))
    chat_usage(2);
  if (!quiet)
    cfg.progress = &std::cout;
  json report;
  try {
    report = run_chat_load(cfg);
  } catch (const std::exception& ex) {
    std::cerr << "pactum-sim chat: " << ex.what() << "\n";
    return 2;
  }
  print_chat_load_summary(report, std::cout);
  if (!json_out.empty())
    std::ofstream(json_out) << report.dump(2) << "\n";
  return chat_load_passed(report) ? 0 : 1;
}

int deal_main(int argc, char** argv, bool negotiate); // pactum_sim_scenarios.cpp
int storm_main(int argc, char** argv);
int idle_main(int argc, char** argv);

int main(int argc, char** argv) {
  if (argc > 1 && std::string{argv[1]} == "chat")
    return chat_main(argc, argv);
  if (argc > 1 && std::string{argv[1]} == "deal")
    return deal_main(argc, argv, false);
  if (argc > 1 && std::string{argv[1]} == "negotiate")
    return deal_main(argc, argv, true);
  if (argc > 1 && std::string{argv[1]} == "storm")
    return storm_main(argc, argv);
  if (argc > 1 && std::string{argv[1]} == "idle")
    return idle_main(argc, argv);
  auto o = parse(argc, argv);
  result res;
  auto start = clock_type::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < o.pairs; ++i)
    threads.emplace_back([&, i] { run_pair(o, i, res); });
  for (auto& t : threads)
    t.join();
  auto secs = std::chrono::duration<double>(clock_type::now() - start).count();

  json report{{"scenario", "chat"},
              {"pairs", o.pairs},
              {"messages_per_pair", o.messages},
              {"rate_per_pair", o.rate},
              {"encoding", o.enc == ws_client::mode::json ? "json" : "msgpack"},
              {"seconds", secs},
              {"acked", res.acked.load()},
              {"delivered", res.delivered.load()},
              {"ack_latency", res.ack.summary()},
              {"delivery_latency", res.delivery.summary()},
              {"errors", res.errors},
              {"violations", res.violations}};
  std::cout << "pactum-sim chat: " << o.pairs << " pairs x " << o.messages << " messages in "
            << secs << " s\n"
            << "  acked " << res.acked << ", delivered " << res.delivered << "\n"
            << "  ack latency      p50 " << res.ack.pct(50) << " ms, p99 " << res.ack.pct(99)
            << " ms, max " << res.ack.pct(100) << " ms\n"
            << "  delivery latency p50 " << res.delivery.pct(50) << " ms, p99 "
            << res.delivery.pct(99) << " ms, max " << res.delivery.pct(100) << " ms\n";
  for (auto& [code, n] : res.errors)
    std::cout << "  error " << code << ": " << n << "\n";
  for (auto& v : res.violations)
    std::cout << "  VIOLATION " << v << "\n";
  if (!o.json_out.empty())
    std::ofstream(o.json_out) << report.dump(2) << "\n";
  bool ok = res.violations.empty() && res.acked == int64_t{o.pairs} * o.messages;
  std::cout << (ok ? "  all checks passed\n" : "  CHECKS FAILED\n");
  return ok ? 0 : 1;
}
