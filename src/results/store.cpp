// SQLite results store: schema creation and version checks, one transaction per write.
#include "results/store.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cmath>
#include <ctime>
#include <system_error>
#include <utility>

#include "core/build_info.h"
#include "core/error.h"

namespace cb::results {
namespace fs = std::filesystem;

namespace {

constexpr std::array<std::string_view, 7> kStatusNames = {
    "planned", "running", "completed", "failed", "diverged", "interrupted", "timeout"};

constexpr const char* kSchemaV1 = R"sql(
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
CREATE TABLE trials (
  id INTEGER PRIMARY KEY,
  suite_id INTEGER NOT NULL REFERENCES suites(id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  framework TEXT NOT NULL,
  model TEXT NOT NULL,
  recipe TEXT NOT NULL,
  seed INTEGER NOT NULL,
  threads INTEGER NOT NULL,
  batch_size INTEGER NOT NULL,
  device TEXT NOT NULL,
  processes INTEGER NOT NULL,
  dataset TEXT NOT NULL,
  synthetic INTEGER NOT NULL,
  config TEXT NOT NULL,
  environment TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN
    ('planned','running','completed','failed','diverged','interrupted','timeout')),
  error TEXT NOT NULL DEFAULT '',
  started TEXT,
  ended TEXT,
  test_accuracy REAL,
  target_accuracy REAL,
  training_time_s REAL,
  wall_time_s REAL,
  time_to_target_s REAL,
  images_per_s REAL,
  telemetry TEXT NOT NULL,
  gpu_util_mean_pct REAL,
  gpu_mem_peak_bytes REAL,
  cpu_util_mean_pct REAL,
  rss_peak_bytes REAL,
  energy_j REAL,
  gpu_unavailable_reason TEXT NOT NULL DEFAULT '',
  UNIQUE (suite_id, key)
);
CREATE TABLE epochs (
  trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
  epoch INTEGER NOT NULL CHECK (epoch >= 1),
  train_loss REAL NOT NULL,
  train_accuracy REAL NOT NULL,
  test_accuracy REAL,
  epoch_time_s REAL NOT NULL,
  training_time_s REAL NOT NULL,
  images_per_s REAL NOT NULL,
  PRIMARY KEY (trial_id, epoch)
);
CREATE TABLE telemetry_samples (
  trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
  t_s REAL NOT NULL,
  phase TEXT NOT NULL,
  gpu_util_pct REAL,
  gpu_mem_bytes REAL,
  power_w REAL,
  cpu_util_pct REAL,
  rss_bytes REAL
);
CREATE INDEX telemetry_samples_by_trial ON telemetry_samples (trial_id, t_s);
)sql";

// SQLITE_FULL: the disk (or max_page_count) is exhausted; callers turn it into "what was kept".
class DatabaseFull : public CheckFailed {
 public:
  using CheckFailed::CheckFailed;
};

[[noreturn]] void fail(sqlite3* db, int rc, const fs::path& path, std::string_view what) {
  const std::string message =
      fmt::format("{}: {}: {} (SQLite error {})", path.string(), what, sqlite3_errmsg(db), rc);
  if ((rc & 0xff) == SQLITE_FULL) throw DatabaseFull(message);
  throw CheckFailed(message);
}

std::string now_utc() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(t));
}

// A prepared statement with positional binding (1-based, in call order) and typed columns.
class Statement {
 public:
  Statement(sqlite3* db, const fs::path& path, std::string_view sql) : db_(db), path_(path) {
    const int rc =
        sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
    if (rc != SQLITE_OK) fail(db, rc, path, "preparing a statement");
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(stmt_); }

  Statement& bind(std::int64_t v) { return check(sqlite3_bind_int64(stmt_, ++index_, v)); }
  Statement& bind(int v) { return bind(static_cast<std::int64_t>(v)); }
  Statement& bind(bool v) { return bind(static_cast<std::int64_t>(v ? 1 : 0)); }
  Statement& bind(double v) {
    if (std::isnan(v)) return bind_null();
    return check(sqlite3_bind_double(stmt_, ++index_, v));
  }
  Statement& bind(const std::optional<double>& v) { return v ? bind(*v) : bind_null(); }
  Statement& bind(const std::string& v) {
    return check(
        sqlite3_bind_text(stmt_, ++index_, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  Statement& bind(const char* v) { return bind(std::string(v)); }
  Statement& bind_text_or_null(const std::string& v) { return v.empty() ? bind_null() : bind(v); }
  Statement& bind_null() { return check(sqlite3_bind_null(stmt_, ++index_)); }

  // Steps once; true while a row is available.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(db_, rc, path_, "writing or reading the database");
  }
  void run() {
    while (step()) {
    }
  }
  // Makes the statement ready to run again with fresh bindings.
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    index_ = 0;
  }

  std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  double real(int col) const { return sqlite3_column_double(stmt_, col); }
  std::optional<double> optional_real(int col) const {
    if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_double(stmt_, col);
  }
  std::string text(int col) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
  }
  nlohmann::json json(int col) const {
    const std::string s = text(col);
    if (s.empty()) return nlohmann::json::object();
    auto parsed = nlohmann::json::parse(s, nullptr, /*allow_exceptions=*/false);
    return parsed.is_discarded() ? nlohmann::json(s) : parsed;
  }

 private:
  Statement& check(int rc) {
    if (rc != SQLITE_OK) fail(db_, rc, path_, "binding a value");
    return *this;
  }
  sqlite3* db_;
  const fs::path& path_;
  sqlite3_stmt* stmt_ = nullptr;
  int index_ = 0;
};

void exec(sqlite3* db, const fs::path& path, const char* sql, std::string_view what) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail(db, rc, path, what);
}

int read_user_version(sqlite3* db, const fs::path& path) {
  Statement s(db, path, "PRAGMA user_version");
  return s.step() ? static_cast<int>(s.integer(0)) : 0;
}

bool has_tables(sqlite3* db, const fs::path& path) {
  Statement s(db, path, "SELECT count(*) FROM sqlite_master WHERE type = 'table'");
  return s.step() && s.integer(0) > 0;
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

TrialRecord read_trial(const Statement& s) {
  TrialRecord t;
  int c = 0;
  t.id = s.integer(c++);
  t.suite_id = s.integer(c++);
  t.key = s.text(c++);
  t.framework = s.text(c++);
  t.model = s.text(c++);
  t.recipe = s.text(c++);
  t.seed = static_cast<std::uint64_t>(s.integer(c++));
  t.threads = static_cast<int>(s.integer(c++));
  t.batch_size = static_cast<int>(s.integer(c++));
  t.device = s.text(c++);
  t.processes = static_cast<int>(s.integer(c++));
  t.dataset = s.text(c++);
  t.synthetic = s.integer(c++) != 0;
  t.config = s.json(c++);
  t.environment = s.json(c++);
  t.status = parse_trial_status(s.text(c++));
  t.error = s.text(c++);
  t.started = s.text(c++);
  t.ended = s.text(c++);
  t.test_accuracy = s.optional_real(c++);
  t.target_accuracy = s.optional_real(c++);
  t.training_time_s = s.optional_real(c++);
  t.wall_time_s = s.optional_real(c++);
  t.time_to_target_s = s.optional_real(c++);
  t.images_per_s = s.optional_real(c++);
  t.telemetry = s.json(c++);
  t.gpu_util_mean_pct = s.optional_real(c++);
  t.gpu_mem_peak_bytes = s.optional_real(c++);
  t.cpu_util_mean_pct = s.optional_real(c++);
  t.rss_peak_bytes = s.optional_real(c++);
  t.energy_j = s.optional_real(c++);
  t.gpu_unavailable_reason = s.text(c++);
  return t;
}

constexpr const char* kTrialColumns =
    "id, suite_id, key, framework, model, recipe, seed, threads, batch_size, device, processes, "
    "dataset, synthetic, config, environment, status, error, started, ended, test_accuracy, "
    "target_accuracy, training_time_s, wall_time_s, time_to_target_s, images_per_s, telemetry, "
    "gpu_util_mean_pct, gpu_mem_peak_bytes, cpu_util_mean_pct, rss_peak_bytes, energy_j, "
    "gpu_unavailable_reason";

EpochRecord read_epoch(const Statement& s) {
  EpochRecord e;
  e.trial_id = s.integer(0);
  e.epoch = static_cast<int>(s.integer(1));
  e.train_loss = s.real(2);
  e.train_accuracy = s.real(3);
  e.test_accuracy = s.optional_real(4);
  e.epoch_time_s = s.real(5);
  e.training_time_s = s.real(6);
  e.images_per_s = s.real(7);
  return e;
}

constexpr const char* kEpochColumns =
    "trial_id, epoch, train_loss, train_accuracy, test_accuracy, epoch_time_s, training_time_s, "
    "images_per_s";

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
      exec(store.db_, path, kSchemaV1, "creating the schema");
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
    Statement s(db_, path_, R"sql(
      INSERT INTO trials (suite_id, key, framework, model, recipe, seed, threads, batch_size,
        device, processes, dataset, synthetic, config, environment, status, error, started, ended,
        test_accuracy, target_accuracy, training_time_s, wall_time_s, time_to_target_s,
        images_per_s, telemetry, gpu_util_mean_pct, gpu_mem_peak_bytes, cpu_util_mean_pct,
        rss_peak_bytes, energy_j, gpu_unavailable_reason)
      VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
      ON CONFLICT (suite_id, key) DO UPDATE SET
        framework = excluded.framework, model = excluded.model, recipe = excluded.recipe,
        seed = excluded.seed, threads = excluded.threads, batch_size = excluded.batch_size,
        device = excluded.device, processes = excluded.processes, dataset = excluded.dataset,
        synthetic = excluded.synthetic, config = excluded.config,
        environment = excluded.environment, status = excluded.status, error = excluded.error,
        started = coalesce(excluded.started, started), ended = coalesce(excluded.ended, ended),
        test_accuracy = excluded.test_accuracy, target_accuracy = excluded.target_accuracy,
        training_time_s = excluded.training_time_s, wall_time_s = excluded.wall_time_s,
        time_to_target_s = excluded.time_to_target_s, images_per_s = excluded.images_per_s,
        telemetry = excluded.telemetry, gpu_util_mean_pct = excluded.gpu_util_mean_pct,
        gpu_mem_peak_bytes = excluded.gpu_mem_peak_bytes,
        cpu_util_mean_pct = excluded.cpu_util_mean_pct, rss_peak_bytes = excluded.rss_peak_bytes,
        energy_j = excluded.energy_j, gpu_unavailable_reason = excluded.gpu_unavailable_reason
      RETURNING id)sql");
    s.bind(t.suite_id)
        .bind(t.key)
        .bind(t.framework)
        .bind(t.model)
        .bind(t.recipe)
        .bind(static_cast<std::int64_t>(t.seed))
        .bind(t.threads)
        .bind(t.batch_size)
        .bind(t.device)
        .bind(t.processes)
        .bind(t.dataset)
        .bind(t.synthetic)
        .bind(t.config.dump())
        .bind(t.environment.dump())
        .bind(std::string(to_string(t.status)))
        .bind(t.error)
        .bind_text_or_null(t.started)
        .bind_text_or_null(t.ended)
        .bind(t.test_accuracy)
        .bind(t.target_accuracy)
        .bind(t.training_time_s)
        .bind(t.wall_time_s)
        .bind(t.time_to_target_s)
        .bind(t.images_per_s)
        .bind(t.telemetry.dump())
        .bind(t.gpu_util_mean_pct)
        .bind(t.gpu_mem_peak_bytes)
        .bind(t.cpu_util_mean_pct)
        .bind(t.rss_peak_bytes)
        .bind(t.energy_j)
        .bind(t.gpu_unavailable_reason);
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
  const std::string now = now_utc();
  write_transaction(fmt::format("restarting trial {}", trial_id), trial_id, [&] {
    Statement(db_, path_, "DELETE FROM epochs WHERE trial_id = ?").bind(trial_id).run();
    Statement(db_, path_, "DELETE FROM telemetry_samples WHERE trial_id = ?").bind(trial_id).run();
    Statement s(db_, path_,
                "UPDATE trials SET status = 'running', error = '', started = ?, ended = NULL, "
                "test_accuracy = NULL, training_time_s = NULL, wall_time_s = NULL, "
                "time_to_target_s = NULL, images_per_s = NULL, telemetry = '{}', "
                "gpu_util_mean_pct = NULL, gpu_mem_peak_bytes = NULL, cpu_util_mean_pct = NULL, "
                "rss_peak_bytes = NULL, energy_j = NULL WHERE id = ?");
    s.bind(now).bind(trial_id).run();
    if (sqlite3_changes(db_) != 1) {
      throw CheckFailed(fmt::format("{}: no trial with id {}", path_.string(), trial_id));
    }
  });
}

void ResultsStore::add_epoch(const EpochRecord& e) {
  write_transaction(
      fmt::format("writing epoch {} of trial {}", e.epoch, e.trial_id), e.trial_id, [&] {
        Statement s(db_, path_,
                    fmt::format("INSERT OR REPLACE INTO epochs ({}) VALUES (?,?,?,?,?,?,?,?)",
                                kEpochColumns));
        s.bind(e.trial_id)
            .bind(e.epoch)
            .bind(e.train_loss)
            .bind(e.train_accuracy)
            .bind(e.test_accuracy)
            .bind(e.epoch_time_s)
            .bind(e.training_time_s)
            .bind(e.images_per_s);
        s.run();
      });
}

void ResultsStore::add_samples(const std::vector<TelemetrySample>& samples) {
  if (samples.empty()) return;
  write_transaction(
      fmt::format("writing {} telemetry samples", samples.size()), samples.front().trial_id, [&] {
        Statement one(db_, path_,
                      "INSERT INTO telemetry_samples (trial_id, t_s, phase, gpu_util_pct, "
                      "gpu_mem_bytes, power_w, cpu_util_pct, rss_bytes) VALUES (?,?,?,?,?,?,?,?)");
        for (const auto& x : samples) {
          one.reset();
          one.bind(x.trial_id)
              .bind(x.t_s)
              .bind(x.phase)
              .bind(x.gpu_util_pct)
              .bind(x.gpu_mem_bytes)
              .bind(x.power_w)
              .bind(x.cpu_util_pct)
              .bind(x.rss_bytes);
          one.run();
        }
      });
}

std::optional<TrialRecord> ResultsStore::find_trial(std::int64_t suite_id,
                                                    const std::string& key) const {
  Statement s(db_, path_,
              fmt::format("SELECT {} FROM trials WHERE suite_id = ? AND key = ?", kTrialColumns));
  s.bind(suite_id).bind(key);
  if (!s.step()) return std::nullopt;
  return read_trial(s);
}

std::vector<EpochRecord> ResultsStore::epochs_of(std::int64_t trial_id) const {
  Statement s(
      db_, path_,
      fmt::format("SELECT {} FROM epochs WHERE trial_id = ? ORDER BY epoch", kEpochColumns));
  s.bind(trial_id);
  std::vector<EpochRecord> out;
  while (s.step()) out.push_back(read_epoch(s));
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
                     fmt::format("SELECT {} FROM trials ORDER BY suite_id, id", kTrialColumns));
    while (trials.step()) snap.trials.push_back(read_trial(trials));
    Statement epochs(db_, path_,
                     fmt::format("SELECT {} FROM epochs ORDER BY trial_id, epoch", kEpochColumns));
    while (epochs.step()) snap.epochs.push_back(read_epoch(epochs));
    Statement samples(db_, path_,
                      "SELECT trial_id, t_s, phase, gpu_util_pct, gpu_mem_bytes, power_w, "
                      "cpu_util_pct, rss_bytes FROM telemetry_samples ORDER BY trial_id, t_s");
    while (samples.step()) {
      snap.samples.push_back({samples.integer(0), samples.real(1), samples.text(2),
                              samples.optional_real(3), samples.optional_real(4),
                              samples.optional_real(5), samples.optional_real(6),
                              samples.optional_real(7)});
    }
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
