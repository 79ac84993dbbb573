#include "journal_metrics.hpp"

namespace pactum::persistence::detail {

journal_metrics& journal_metrics::get() {
  static journal_metrics m{
    metrics::histogram_of("pactum_journal_batch_size", "Appends written per group-commit batch.", {},
                          {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096}, 1),
    metrics::histogram_of("pactum_journal_commit_seconds",
                          "Duration of one journal batch's COMMIT (the WAL flush).", {},
                          metrics::latency_bounds_us(), 1e-6),
    metrics::histogram_of("pactum_journal_batch_seconds",
                          "Duration of one journal batch: inserts, ledger, timers and COMMIT.", {},
                          metrics::latency_bounds_us(), 1e-6),
    metrics::counter_of("pactum_journal_appends_total",
                        "Appends the journal writer took from its queue and answered.")};
  return m;
}

} // namespace pactum::persistence::detail
