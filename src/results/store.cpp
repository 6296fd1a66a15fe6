// SQLite results store: schema creation and version checks, one transaction per write.
#include "results/store.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <ctime>
#include <system_error>
#include <utility>

#include "core/build_info.h"
#include "core/error.h"
#include "results/sqlite_statement.h"
#include "results/tables.h"

namespace cb::results {
namespace fs = std::filesystem;

namespace {

using sqlite::DatabaseFull;
using sqlite::exec;
using sqlite::Statement;

constexpr std::array<std::string_view, 7> kStatusNames = {
    "planned", "running", "completed", "failed", "diverged", "interrupted", "timeout"};

// Schema version 1. The trials, epochs and telemetry_samples tables derive from their column
// declarations in results/tables.h.
constexpr const char* kSchemaVersionAndSuitesV1 = R"sql(
CREATE TABLE schema_version (
  version INTEGER NOT NULL,
  applied TEXT NOT NULL,
  cifarbench TEXT NOT NULL
);
CREATE TABLE suites (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  file TEXT NOT NULL,
  config TEXT NOT NULL,
  created TEXT NOT NULL
);
)sql";

std::string schema_v1() {
  return std::string(kSchemaVersionAndSuitesV1) + tables::create_table_sql(tables::kTrials) +
         tables::create_table_sql(tables::kEpochs) + tables::create_table_sql(tables::kSamples) +
         "CREATE INDEX telemetry_samples_by_trial ON telemetry_samples (trial_id, t_s);\n";
}

std::string now_utc() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(t));
}

int read_user_version(sqlite3* db, const fs::path& path) {
  Statement s(db, path, "PRAGMA user_version");
  return s.step() ? static_cast<int>(s.integer(0)) : 0;
}

bool has_tables(sqlite3* db, const fs::path& path) {
  Statement s(db, path, "SELECT count(*) FROM sqlite_master WHERE type = 'table'");
  return s.step() && s.integer(0) > 0;
}

// Every table of the schema is there (a dropped one would fail later, mid-run or mid-report),
// and the file's pages read back (a quick check finds garbage pages before anything trusts them).
void check_tables(sqlite3* db, const fs::path& path) {
  for (const char* table : {"schema_version", "suites", "trials", "epochs", "telemetry_samples"}) {
    Statement s(db, path, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?");
    s.bind(table);
    if (!s.step() || s.integer(0) != 1) {
      throw InputError(fmt::format("{}: not a complete results database: table '{}' is missing; "
                                   "restore it from a copy or use a fresh --results directory",
                                   path.string(), table));
    }
  }
  Statement check(db, path, "PRAGMA quick_check(1)");
  if (check.step() && check.text(0) != "ok") {
    throw InputError(fmt::format("{}: the results database is damaged ({}); restore it from a "
                                 "copy or use a fresh --results directory",
                                 path.string(), check.text(0)));
  }
}

// Opening an SQLite file checks nothing; the first read tells whether it is a database at all.
int checked_schema_version(sqlite3* db, const fs::path& path) {
  int version = 0;
  try {
    version = read_user_version(db, path);
  } catch (const CheckFailed&) {
    throw InputError(
        fmt::format("{}: not an SQLite results database ({})", path.string(), sqlite3_errmsg(db)));
  }
  if (version > ResultsStore::kSchemaVersion) {
    throw InputError(fmt::format(
        "{}: written by results schema version {}, but this cifarbench reads schema versions up "
        "to {}; use a newer cifarbench or a fresh results directory",
        path.string(), version, ResultsStore::kSchemaVersion));
  }
  if (version > 0) check_tables(db, path);
  if (version == 0 && has_tables(db, path)) {
    throw InputError(fmt::format(
        "{}: an SQLite database without a cifarbench schema version (PRAGMA user_version = 0); "
        "not a results database",
        path.string()));
  }
  return version;
}

sqlite3* open_connection(const fs::path& path, int flags) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw InputError(
        fmt::format("{}: cannot open the results database: {}", path.string(), message));
  }
  sqlite3_busy_timeout(db, 10000);  // the writer holds its lock for one epoch's commit at most
  sqlite3_extended_result_codes(db, 1);
  return db;
}

}  // namespace

std::string_view to_string(TrialStatus status) {
  return kStatusNames[static_cast<std::size_t>(status)];
}

TrialStatus parse_trial_status(std::string_view name) {
  for (std::size_t i = 0; i < kStatusNames.size(); ++i) {
    if (kStatusNames[i] == name) return static_cast<TrialStatus>(i);
  }
  throw InputError(fmt::format("unknown trial status '{}' (expected one of: {})", name,
                               fmt::join(kStatusNames, ", ")));
}

bool is_terminal(TrialStatus status) {
  return status != TrialStatus::planned && status != TrialStatus::running;
}

ResultsStore::ResultsStore(sqlite3* db, fs::path path) : db_(db), path_(std::move(path)) {}

ResultsStore::ResultsStore(ResultsStore&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)) {}

ResultsStore& ResultsStore::operator=(ResultsStore&& other) noexcept {
  if (this != &other) {
    sqlite3_close(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

ResultsStore::~ResultsStore() { sqlite3_close(db_); }

ResultsStore ResultsStore::open(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) {
    throw InputError(fmt::format("results directory {}: cannot create it: {}", dir.string(),
                                 ec ? ec.message() : "exists and is not a directory"));
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    throw InputError(fmt::format("results directory {}: not writable", dir.string()));
  }
  const fs::path path = dir / kDatabaseName;
  ResultsStore store(
      open_connection(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX),
      path);
  const int version = checked_schema_version(store.db_, path);
  try {
    exec(store.db_, path, "PRAGMA journal_mode = WAL", "switching to WAL mode");
    exec(store.db_, path, "PRAGMA synchronous = FULL", "setting synchronous mode");
    exec(store.db_, path, "PRAGMA foreign_keys = ON", "enabling foreign keys");
    if (version == 0) {
      exec(store.db_, path, "BEGIN IMMEDIATE", "creating the schema");
      exec(store.db_, path, schema_v1().c_str(), "creating the schema");
      Statement(store.db_, path, "INSERT INTO schema_version VALUES (?, ?, ?)")
          .bind(kSchemaVersion)
          .bind(now_utc())
          .bind(std::string(build::kVersion))
          .run();
      exec(store.db_, path, fmt::format("PRAGMA user_version = {}", kSchemaVersion).c_str(),
           "recording the schema version");
      exec(store.db_, path, "COMMIT", "creating the schema");
    }
  } catch (const CheckFailed& e) {
    // Read-only files and directories surface here, at the first write.
    throw InputError(
        fmt::format("results directory {}: cannot write the database: {}", dir.string(), e.what()));
  }
  return store;
}

ResultsStore ResultsStore::open_for_reading(const fs::path& dir_or_file) {
  const fs::path path = fs::is_directory(dir_or_file) ? dir_or_file / kDatabaseName : dir_or_file;
  if (!fs::exists(path)) {
    throw InputError(fmt::format(
        "{}: no results database here (expected {}; `cifarbench run --results DIR` writes one)",
        dir_or_file.string(), path.string()));
  }
  ResultsStore store(open_connection(path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX), path);
  if (checked_schema_version(store.db_, path) == 0) {
    throw InputError(
        fmt::format("{}: an empty database, not a cifarbench results database", path.string()));
  }
  return store;
}

int ResultsStore::schema_version() const { return read_user_version(db_, path_); }

std::string ResultsStore::describe_contents(std::optional<std::int64_t> trial_id) const {
  Statement totals(db_, path_,
                   "SELECT (SELECT count(*) FROM suites), (SELECT count(*) FROM trials), "
                   "(SELECT count(*) FROM trials WHERE status = 'completed'), "
                   "(SELECT count(*) FROM epochs), (SELECT count(*) FROM telemetry_samples)");
  totals.step();
  std::string text =
      fmt::format("{} suite(s), {} trial(s) ({} completed), {} epoch(s), {} telemetry sample(s)",
                  totals.integer(0), totals.integer(1), totals.integer(2), totals.integer(3),
                  totals.integer(4));
  if (trial_id) {
    Statement trial(db_, path_,
                    "SELECT t.key, count(e.epoch), max(e.epoch) FROM trials t LEFT JOIN epochs e "
                    "ON e.trial_id = t.id WHERE t.id = ? GROUP BY t.id");
    trial.bind(*trial_id);
    if (trial.step()) {
      text += trial.integer(1) == 0 ? fmt::format("; trial '{}' has no epochs", trial.text(0))
                                    : fmt::format("; trial '{}' keeps epochs 1 to {}",
                                                  trial.text(0), trial.integer(2));
    }
  }
  return text;
}

template <typename Write>
void ResultsStore::write_transaction(const std::string& what, std::optional<std::int64_t> trial_id,
                                     Write&& write) {
  exec(db_, path_, "BEGIN IMMEDIATE", what);
  try {
    write();
    exec(db_, path_, "COMMIT", what);
  } catch (const DatabaseFull& e) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw CheckFailed(fmt::format(
        "{}: disk full while {}; that write was rolled back and the database is consistent. "
        "It keeps {}. ({})",
        path_.string(), what, describe_contents(trial_id), e.what()));
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

std::int64_t ResultsStore::begin_suite(SuiteRecord& suite) {
  if (suite.created.empty()) suite.created = now_utc();
  write_transaction(fmt::format("recording suite '{}'", suite.name), std::nullopt, [&] {
    Statement s(db_, path_,
                "INSERT INTO suites (name, file, config, created) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET file = excluded.file, config = excluded.config "
                "RETURNING id, created");
    s.bind(suite.name).bind(suite.file).bind(suite.config.dump()).bind(suite.created);
    s.step();
    suite.id = s.integer(0);
    suite.created = s.text(1);
  });
  return suite.id;
}

std::int64_t ResultsStore::upsert_trial(TrialRecord& t) {
  write_transaction(fmt::format("recording trial '{}'", t.key), std::nullopt, [&] {
    Statement s(db_, path_, tables::upsert_sql(tables::kTrials));
    tables::bind_written(s, tables::kTrials, t);
    s.step();
    t.id = s.integer(0);
  });
  return t.id;
}

void ResultsStore::set_trial_status(std::int64_t trial_id, TrialStatus status,
                                    const std::string& error) {
  const std::string now = now_utc();
  write_transaction(fmt::format("marking trial {} {}", trial_id, to_string(status)), trial_id, [&] {
    Statement s(db_, path_,
                "UPDATE trials SET status = ?, error = ?, "
                "started = CASE WHEN ? THEN ? ELSE started END, "
                "ended = CASE WHEN ? THEN ? WHEN ? THEN NULL ELSE ended END WHERE id = ?");
    const bool running = status == TrialStatus::running;
    s.bind(std::string(to_string(status)))
        .bind(error)
        .bind(running)
        .bind(now)
        .bind(is_terminal(status))
        .bind(now)
        .bind(running)
        .bind(trial_id);
    s.run();
    if (sqlite3_changes(db_) != 1) {
      throw CheckFailed(fmt::format("{}: no trial with id {}", path_.string(), trial_id));
    }
  });
}

void ResultsStore::restart_trial(std::int64_t trial_id) {
  // The reset columns take a fresh record's values: no error, metrics or telemetry, not ended.
  TrialRecord fresh;
  fresh.status = TrialStatus::running;
  fresh.started = now_utc();
  write_transaction(fmt::format("restarting trial {}", trial_id), trial_id, [&] {
    Statement(db_, path_, "DELETE FROM epochs WHERE trial_id = ?").bind(trial_id).run();
    Statement(db_, path_, "DELETE FROM telemetry_samples WHERE trial_id = ?").bind(trial_id).run();
    Statement s(db_, path_, tables::reset_sql(tables::kTrials));
    tables::bind_reset(s, tables::kTrials, fresh);
    s.bind(trial_id).run();
    if (sqlite3_changes(db_) != 1) {
      throw CheckFailed(fmt::format("{}: no trial with id {}", path_.string(), trial_id));
    }
  });
}

void ResultsStore::add_epoch(const EpochRecord& e) {
  write_transaction(
      fmt::format("writing epoch {} of trial {}", e.epoch, e.trial_id), e.trial_id, [&] {
        Statement s(db_, path_, tables::insert_sql(tables::kEpochs, "INSERT OR REPLACE"));
        tables::bind_written(s, tables::kEpochs, e);
        s.run();
      });
}

void ResultsStore::add_samples(const std::vector<TelemetrySample>& samples) {
  if (samples.empty()) return;
  write_transaction(fmt::format("writing {} telemetry samples", samples.size()),
                    samples.front().trial_id, [&] {
                      Statement one(db_, path_, tables::insert_sql(tables::kSamples));
                      for (const auto& x : samples) {
                        one.reset();
                        tables::bind_written(one, tables::kSamples, x);
                        one.run();
                      }
                    });
}

std::optional<TrialRecord> ResultsStore::find_trial(std::int64_t suite_id,
                                                    const std::string& key) const {
  Statement s(db_, path_,
              fmt::format("SELECT {} FROM trials WHERE suite_id = ? AND key = ?",
                          tables::select_list(tables::kTrials)));
  s.bind(suite_id).bind(key);
  if (!s.step()) return std::nullopt;
  return tables::read_row(s, tables::kTrials);
}

std::vector<EpochRecord> ResultsStore::epochs_of(std::int64_t trial_id) const {
  Statement s(db_, path_,
              fmt::format("SELECT {} FROM epochs WHERE trial_id = ? ORDER BY epoch",
                          tables::select_list(tables::kEpochs)));
  s.bind(trial_id);
  std::vector<EpochRecord> out;
  while (s.step()) out.push_back(tables::read_row(s, tables::kEpochs));
  return out;
}

ResultsSnapshot ResultsStore::load() const {
  ResultsSnapshot snap;
  snap.database = path_.string();
  // One read transaction: a consistent view even while `run` commits epochs.
  exec(db_, path_, "BEGIN", "reading the database");
  try {
    Statement suites(db_, path_, "SELECT id, name, file, config, created FROM suites ORDER BY id");
    while (suites.step()) {
      snap.suites.push_back(
          {suites.integer(0), suites.text(1), suites.text(2), suites.json(3), suites.text(4)});
    }
    Statement trials(db_, path_,
                     fmt::format("SELECT {} FROM trials ORDER BY suite_id, id",
                                 tables::select_list(tables::kTrials)));
    while (trials.step()) snap.trials.push_back(tables::read_row(trials, tables::kTrials));
    Statement epochs(db_, path_,
                     fmt::format("SELECT {} FROM epochs ORDER BY trial_id, epoch",
                                 tables::select_list(tables::kEpochs)));
    while (epochs.step()) snap.epochs.push_back(tables::read_row(epochs, tables::kEpochs));
    Statement samples(db_, path_,
                      fmt::format("SELECT {} FROM telemetry_samples ORDER BY trial_id, t_s",
                                  tables::select_list(tables::kSamples)));
    while (samples.step()) snap.samples.push_back(tables::read_row(samples, tables::kSamples));
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  exec(db_, path_, "COMMIT", "reading the database");
  return snap;
}

void ResultsStore::limit_database_pages(std::int64_t pages) {
  exec(db_, path_, fmt::format("PRAGMA max_page_count = {}", pages).c_str(),
       "limiting the database size");
}

}  // namespace cb::results
