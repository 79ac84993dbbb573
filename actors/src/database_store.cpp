#include "pactum/actors/entity_store.hpp"

namespace pactum::actors {

namespace {

class database_store final : public entity_store {
public:
  explicit database_store(persistence::database& db) : db_(db) {}

  void append(persistence::append_request req) override { db_.append(std::move(req)); }

  void read_events(uuid entity, int64_t after_seq, int64_t before_seq, size_t limit,
                   bool newest_first,
                   std::function<void(persistence::result<std::vector<persistence::event_record>>)>
                     done) override {
    db_.read_events(entity, after_seq, before_seq, limit, newest_first, std::move(done));
  }

  void save_snapshot(uuid entity, std::string entity_type, persistence::snapshot_record snap,
                     std::function<void(persistence::result<persistence::unit>)> done) override {
    db_.save_snapshot(entity, std::move(entity_type), std::move(snap), std::move(done));
  }

  void load_snapshot(
    uuid entity,
    std::function<void(persistence::result<std::optional<persistence::snapshot_record>>)> done)
    override {
    db_.load_snapshot(entity, std::move(done));
  }

  void due_timers(millis now, size_t limit, millis retry,
                  std::function<void(persistence::result<std::vector<persistence::due_timer>>)> done)
    override {
    db_.due_timers(now, limit, retry, std::move(done));
  }

private:
  persistence::database& db_;
};

} // namespace

std::unique_ptr<entity_store> make_database_store(persistence::database& db) {
  return std::make_unique<database_store>(db);
}

} // namespace pactum::actors
