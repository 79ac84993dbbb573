// Activation latency of an entity with a long journal, with and without a snapshot.
//
// Builds two conversations with the same N events in PostgreSQL (one also gets a snapshot at its
// head, encoded by the real snapshot code), then repeatedly activates a fresh conversation actor
// for each (the real actor, on the real store) and times the first answered request: recovery
// (snapshot load + journal tail, or the whole journal) plus one history read. Reports p50/p99 and
// the ratio, measured in the same run. Not a test: it never passes or fails on times.
//
// usage: pactum_activation_bench [--events N] [--rounds R] [--json-out FILE]
//        (PACTUM_BENCH_DATABASE_URL: a superuser URL; a scratch database is created and dropped)

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <iostream>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "message_types.hpp"
#include "pactum/actors/entity_store.hpp"
#include "services.hpp"
#include "test_database.hpp"

using namespace pactum;
using namespace pactum::actors;
using json = nlohmann::json;
using bench_clock = std::chrono::steady_clock;

namespace {

template <class T>
T wait(std::function<void(std::function<void(T)>)> op) {
  std::promise<T> p;
  auto f = p.get_future();
  op([&p](T r) { p.set_value(std::move(r)); });
  return f.get();
}

double percentile(std::vector<double> xs, double p) {
  std::sort(xs.begin(), xs.end());
  auto i = static_cast<size_t>(p / 100.0 * static_cast<double>(xs.size() - 1) + 0.5);
  return xs[std::min(i, xs.size() - 1)];
}

/// Appends `n` chat events after seq 1 and returns the machine state at the head.
conversation::state fill(persistence::database& db, const uuid& id, const uuid& brand,
                         const uuid& creator, int n) {
  conversation::rules rules;
  conversation::state st;
  st.id = id;
  std::vector<persistence::event_record> batch;
  int64_t expected = 0;
  auto flush = [&] {
    if (batch.empty())
      return;
    auto r = wait<persistence::result<int64_t>>([&](auto done) {
      db.append({id, "conversation", expected, batch, done});
    });
    if (!r)
      throw std::runtime_error("append failed: " + r.error().message);
    expected = r.value();
    batch.clear();
  };
  for (int64_t seq = 1; seq <= n + 1; ++seq) {
    protocol::conversation_event ev;
    if (seq == 1)
      ev = protocol::conversation_opened{brand, creator, now_millis()};
    else
      ev = protocol::message_posted{seq % 2 ? brand : creator, "c" + std::to_string(seq),
                                    "a realistic chat message of some sixty characters, give or take",
                                    now_millis()};
    conversation::apply(st, seq, ev, rules);
    batch.push_back({seq, std::string{protocol::event_type(ev)}, protocol::event_version(ev),
                     protocol::encode_event(ev), 0});
    if (batch.size() == 1000)
      flush();
  }
  flush();
  return st;
}

} // namespace

int main(int argc, char** argv) {
  int events = 10'000;
  int rounds = 40;
  std::string json_out;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--events" && i + 1 < argc)
      events = std::stoi(argv[++i]);
    else if (a == "--rounds" && i + 1 < argc)
      rounds = std::stoi(argv[++i]);
    else if (a == "--json-out" && i + 1 < argc)
      json_out = argv[++i];
    else {
      std::cerr << "usage: pactum_activation_bench [--events N] [--rounds R] [--json-out FILE]\n";
      return 2;
    }
  }
  if (auto* url = std::getenv("PACTUM_BENCH_DATABASE_URL"))
    setenv("PACTUM_TEST_DATABASE_URL", url, 1);
  pactum::test_support::test_database scratch;
  persistence::config dbcfg;
  dbcfg.url = scratch.url();
  persistence::database db{dbcfg};
  db.migrate();
  db.start();

  auto brand = uuid::v7(), creator = uuid::v7();
  auto plain = uuid::v7(), snapped = uuid::v7();
  std::cerr << "writing 2 x " << events << " events...\n";
  fill(db, plain, brand, creator, events);
  auto head_state = fill(db, snapped, brand, creator, events);
  auto saved = wait<persistence::result<persistence::unit>>([&](auto done) {
    db.save_snapshot(snapped, "conversation",
                     {head_state.head, conversation::snapshot_version,
                      conversation::encode_snapshot(head_state)},
                     done);
  });
  if (!saved)
    throw std::runtime_error("snapshot not saved");

  auto store = make_database_store(db);
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", size_t{2});
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  runtime_config rcfg;
  rcfg.passivate_after = std::chrono::milliseconds(0);
  services svc{rcfg, &db, *store, {}, {}, {}};
  caf::scoped_actor self{sys};

  auto activate_once = [&](const uuid& id) {
    auto t0 = bench_clock::now();
    auto conv = spawn_conversation(self.ptr(), &svc, id);
    double ms = -1;
    self->request(conv, std::chrono::seconds(60), history_atom_v,
                  history_query{protocol::history_req{id, 0, 0, 1}, brand})
      .receive(
        [&](protocol::history_reply& r) {
          if (r.events.empty() || r.events.back().seq != events + 1)
            throw std::runtime_error("activation did not reach the head");
          ms = std::chrono::duration<double, std::milli>(bench_clock::now() - t0).count();
        },
        [&](caf::error& err) { throw std::runtime_error("activation failed: " + to_string(err)); });
    self->send_exit(conv, caf::exit_reason::user_shutdown);
    return ms;
  };

  std::vector<double> with_snapshot, without_snapshot;
  activate_once(plain); // warm the database's caches for both, then alternate
  activate_once(snapped);
  for (int r = 0; r < rounds; ++r) {
    without_snapshot.push_back(activate_once(plain));
    with_snapshot.push_back(activate_once(snapped));
  }
  json report{{"events", events},
              {"rounds", rounds},
              {"without_snapshot_ms", {{"p50", percentile(without_snapshot, 50)},
                                       {"p99", percentile(without_snapshot, 99)}}},
              {"with_snapshot_ms", {{"p50", percentile(with_snapshot, 50)},
                                    {"p99", percentile(with_snapshot, 99)}}}};
  std::cout << "activation of a conversation with " << events << " events (" << rounds
            << " rounds each, alternating):\n"
            << "  without snapshot: p50 " << percentile(without_snapshot, 50) << " ms, p99 "
            << percentile(without_snapshot, 99) << " ms\n"
            << "  with snapshot:    p50 " << percentile(with_snapshot, 50) << " ms, p99 "
            << percentile(with_snapshot, 99) << " ms\n"
            << "  ratio (p50 without / with): "
            << percentile(without_snapshot, 50) / percentile(with_snapshot, 50) << "x\n";
  if (!json_out.empty())
    std::ofstream(json_out) << report.dump(2) << "\n";
  db.stop();
  return 0;
}
