// The sealing store: the one layer every journal write and read of every entity actor passes
// through (conversation, contract, wallet), so personal data is sealed before it reaches
// PostgreSQL and opened after it comes back, and nothing else in the code base handles
// ciphertext. Events are decided and pushed in plaintext (in memory only); the journal holds the
// sealed form.
//
// Ordering: an append whose owners' keys are all cached is forwarded synchronously. Otherwise it
// waits for one key round trip; entity actors keep at most one append in flight each, so an
// entity's appends still reach the writer in order.

#include <algorithm>

#include <spdlog/spdlog.h>

#include "privacy.hpp"

namespace pactum::actors {

void key_service::get(std::vector<uuid> users, bool create,
                      std::function<void(persistence::result<key_map>)> done) {
  key_map out;
  std::vector<uuid> missing;
  for (auto& u : users) {
    if (out.count(u) || std::find(missing.begin(), missing.end(), u) != missing.end())
      continue;
    if (auto k = ring_.find(u))
      out.emplace(u, *k);
    else
      missing.push_back(u);
  }
  if (missing.empty())
    return done(std::move(out));
  std::vector<std::pair<uuid, std::string>> fresh;
  if (create)
    for (auto& u : missing)
      fresh.emplace_back(u, master_.wrap(u, privacy::random_key()));
  store_.user_keys(missing, std::move(fresh),
                   [this, out = std::move(out), missing, done = std::move(done)](
                     persistence::result<std::vector<std::pair<uuid, std::string>>> r) mutable {
                     if (!r)
                       return done(r.error());
                     for (auto& [u, wrapped] : r.value()) {
                       auto k = master_.unwrap(u, wrapped);
                       if (!k)
                         return done(persistence::failure{
                           persistence::errc::internal,
                           "a data key does not open with the master key (wrong --master-key-file?)"});
                       ring_.put(u, *k);
                       out[u] = *k;
                     }
                     for (auto& u : missing)
                       if (!out.count(u)) { // no key: erased
                         ring_.put(u, std::nullopt);
                         out.emplace(u, std::nullopt);
                       }
                     done(std::move(out));
                   });
}

namespace {

using persistence::errc;
using persistence::event_record;
using persistence::failure;

/// The owners paired with their keys (null: erased) from a `key_service::get` answer.
privacy::owner_keys with_keys(const std::vector<uuid>& owners, const key_service::key_map& keys) {
  privacy::owner_keys out;
  for (auto& o : owners) {
    auto& k = keys.at(o);
    out.emplace_back(o, k ? &*k : nullptr);
  }
  return out;
}

class sealing_store final : public entity_store {
public:
  sealing_store(std::unique_ptr<entity_store> inner, key_service& keys)
    : inner_(std::move(inner)), keys_(keys) {}

  void append(persistence::append_request req) override {
    std::vector<uuid> owners;
    auto collect = [&](const uuid& entity, const std::vector<event_record>& events) {
      for (auto& ev : events)
        for (auto& o : privacy::payload_owners(ev.type, ev.payload, entity))
          owners.push_back(o);
    };
    collect(req.entity, req.events);
    for (auto& c : req.creates)
      collect(c.id, c.events);
    if (owners.empty())
      return inner_->append(std::move(req));
    auto shared = std::make_shared<persistence::append_request>(std::move(req));
    keys_.get(std::move(owners), true, [this, shared](persistence::result<key_service::key_map> keys) {
      auto& req = *shared;
      if (!keys)
        return req.done(keys.error());
      auto seal_all = [&](const uuid& entity, std::vector<event_record>& events) -> bool {
        for (auto& ev : events) {
          auto owners = privacy::payload_owners(ev.type, ev.payload, entity);
          if (owners.empty())
            continue;
          auto sealed = privacy::seal_payload(ev.type, ev.payload, with_keys(owners, keys.value()));
          if (!sealed) {
            spdlog::error("journal {}: cannot seal {} at seq {}: {}", entity.str(), ev.type, ev.seq,
                          sealed.error().what);
            return false;
          }
          ev.payload = std::move(sealed.value());
        }
        return true;
      };
      bool ok = seal_all(req.entity, req.events);
      for (auto& c : req.creates)
        ok = ok && seal_all(c.id, c.events);
      if (!ok)
        return req.done(failure{errc::internal, "an event could not be sealed"});
      inner_->append(std::move(req));
    });
  }

  void read_events(uuid entity, int64_t after_seq, int64_t before_seq, size_t limit,
                   bool newest_first,
                   std::function<void(persistence::result<std::vector<event_record>>)> done) override {
    inner_->read_events(
      entity, after_seq, before_seq, limit, newest_first,
      [this, entity, done = std::move(done)](persistence::result<std::vector<event_record>> r) mutable {
        if (!r)
          return done(std::move(r));
        std::vector<uuid> owners;
        for (auto& ev : r.value())
          for (auto& o : privacy::sealed_owners(ev.payload))
            owners.push_back(o);
        if (owners.empty())
          return done(std::move(r));
        auto rows = std::make_shared<std::vector<event_record>>(std::move(r.value()));
        keys_.get(std::move(owners), false,
                  [entity, rows, done = std::move(done)](
                    persistence::result<key_service::key_map> keys) mutable {
                    if (!keys)
                      return done(keys.error());
                    for (auto& ev : *rows) {
                      auto owners = privacy::sealed_owners(ev.payload);
                      if (owners.empty())
                        continue;
                      auto opened =
                        privacy::open_payload(ev.type, ev.payload, with_keys(owners, keys.value()));
                      if (!opened) {
                        spdlog::error("journal {}: cannot open {} at seq {}: {}", entity.str(),
                                      ev.type, ev.seq, opened.error().what);
                        return done(failure{errc::internal, "an event could not be opened"});
                      }
                      ev.payload = std::move(opened.value());
                    }
                    done(std::move(*rows));
                  });
      });
  }

  void save_snapshot(uuid entity, std::string entity_type, persistence::snapshot_record snap,
                     std::function<void(persistence::result<persistence::unit>)> done) override {
    inner_->save_snapshot(entity, std::move(entity_type), std::move(snap), std::move(done));
  }

  void load_snapshot(
    uuid entity,
    std::function<void(persistence::result<std::optional<persistence::snapshot_record>>)> done)
    override {
    inner_->load_snapshot(entity, std::move(done));
  }

  void due_timers(millis now, size_t limit, millis retry,
                  std::function<void(persistence::result<std::vector<persistence::due_timer>>)> done)
    override {
    inner_->due_timers(now, limit, retry, std::move(done));
  }

private:
  std::unique_ptr<entity_store> inner_;
  key_service& keys_;
};

} // namespace

std::unique_ptr<entity_store> make_sealing_store(std::unique_ptr<entity_store> inner,
                                                 key_service& keys) {
  return std::make_unique<sealing_store>(std::move(inner), keys);
}

} // namespace pactum::actors
