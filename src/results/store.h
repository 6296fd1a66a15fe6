// The results store: one SQLite database, DIR/results.sqlite, in WAL mode so that `report` can
// read while `run` writes. Every write is its own transaction (one epoch, one batch of samples),
// so a crash or a full disk loses at most the write in progress. Schema: docs/results.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "results/records.h"

struct sqlite3;

namespace cb::results {

class ResultsStore {
 public:
  static constexpr int kSchemaVersion = 1;  // PRAGMA user_version of what we write
  static constexpr const char* kDatabaseName = "results.sqlite";

  // Opens DIR/results.sqlite for writing, creating DIR and the schema when absent. Throws
  // InputError (exit 2) for an unwritable DIR, a file that is not a results database, or a
  // database written by a newer schema (naming the file and both versions).
  static ResultsStore open(const std::filesystem::path& dir);
  // Opens an existing results directory (or the database file itself) read-only, for reports.
  static ResultsStore open_for_reading(const std::filesystem::path& dir_or_file);

  ResultsStore(ResultsStore&& other) noexcept;
  ResultsStore& operator=(ResultsStore&& other) noexcept;
  ResultsStore(const ResultsStore&) = delete;
  ResultsStore& operator=(const ResultsStore&) = delete;
  ~ResultsStore();

  const std::filesystem::path& database_path() const { return path_; }
  int schema_version() const;

  // Records a suite, or updates the one with the same name (a resumed suite); sets suite.id.
  std::int64_t begin_suite(SuiteRecord& suite);
  // Inserts the trial, or updates the one with the same (suite, key); sets trial.id. Empty
  // started/ended keep the stored timestamps.
  std::int64_t upsert_trial(TrialRecord& trial);
  // Sets the status (and error text); `running` stamps started, terminal states stamp ended.
  void set_trial_status(std::int64_t trial_id, TrialStatus status, const std::string& error = "");
  // Before a trial runs again (resume): deletes its epochs and samples, clears its final
  // metrics and marks it running, in one transaction. Trials always restart from epoch 1.
  void restart_trial(std::int64_t trial_id);
  // Commits one epoch (INSERT OR REPLACE on (trial, epoch): re-adding an epoch replaces it).
  void add_epoch(const EpochRecord& epoch);
  // Commits a batch of telemetry samples in one transaction.
  void add_samples(const std::vector<TelemetrySample>& samples);

  std::optional<TrialRecord> find_trial(std::int64_t suite_id, const std::string& key) const;
  std::vector<EpochRecord> epochs_of(std::int64_t trial_id) const;
  // Everything, for reports.
  ResultsSnapshot load() const;

  // Caps the database size (PRAGMA max_page_count); tests use it to simulate a full disk.
  void limit_database_pages(std::int64_t pages);

 private:
  ResultsStore(sqlite3* db, std::filesystem::path path);
  // One summary line of what the database holds, for error messages after a failed write.
  std::string describe_contents(std::optional<std::int64_t> trial_id) const;
  template <typename Write>
  void write_transaction(const std::string& what, std::optional<std::int64_t> trial_id,
                         Write&& write);

  sqlite3* db_ = nullptr;
  std::filesystem::path path_;
};

}  // namespace cb::results
