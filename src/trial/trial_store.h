// Writes a trial's results into the results database as they are produced: its configuration
// and environment at start, every epoch as it ends (one transaction each), and the final
// metrics, telemetry summary and samples at the end.
#pragma once

#include <cstdint>
#include <string>

#include "trial/trial.h"
#include "results/store.h"

namespace cb::trial {

class TrialStoreWriter : public TrialObserver {
 public:
  // The trial (suite_id, key) must already exist in the store (the suite runner plans it).
  TrialStoreWriter(results::ResultsStore& store, std::int64_t suite_id, std::string key,
                   nlohmann::json environment);
  void on_start(const TrialStart& start) override;
  void on_epoch(const TrialOutcome& so_far, const EpochStats& epoch) override;
  void on_finish(const TrialOutcome& outcome, const telemetry::SampleLog& log) override;

 private:
  results::ResultsStore& store_;
  results::TrialRecord record_;
};

}  // namespace cb::trial
