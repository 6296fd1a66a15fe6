// The results tables' column declarations (src/results/tables.h): the schema they derive is
// schema version 1 verbatim, and every record field survives a write and a read.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "results/store.h"
#include "results/tables.h"
#include "support/temp_dir.h"

namespace cb::results {
namespace {
using testing::TempDir;

// Schema version 1 as it was first written (frozen: databases in the field have exactly this).
constexpr const char* kFrozenSchemaV1 = R"sql(
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

// (type, name, sql) of every schema object in a database file, in creation order.
std::vector<std::tuple<std::string, std::string, std::string>> schema_of(
    const std::filesystem::path& db_path) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, "SELECT type, name, sql FROM sqlite_master ORDER BY rowid", -1, &s,
                     nullptr);
  std::vector<std::tuple<std::string, std::string, std::string>> rows;
  while (sqlite3_step(s) == SQLITE_ROW) {
    auto text = [&](int c) {
      const auto* p = sqlite3_column_text(s, c);
      return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
    };
    rows.emplace_back(text(0), text(1), text(2));
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return rows;
}

void run_sql(const std::filesystem::path& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
}

// Every field of a record, for comparison. The structured binding names each member: a field
// added to the record stops this compiling until it is added here and given a column in
// results/tables.h.
auto fields(const TrialRecord& t) {
  const auto& [id, suite_id, key, framework, model, recipe, seed, threads, batch_size, device,
               processes, dataset, synthetic, config, environment, status, error, started, ended,
               test_accuracy, target_accuracy, training_time_s, wall_time_s, time_to_target_s,
               images_per_s, telemetry, gpu_util_mean_pct, gpu_mem_peak_bytes, cpu_util_mean_pct,
               rss_peak_bytes, energy_j, gpu_unavailable_reason] = t;
  return std::tie(id, suite_id, key, framework, model, recipe, seed, threads, batch_size, device,
                  processes, dataset, synthetic, config, environment, status, error, started, ended,
                  test_accuracy, target_accuracy, training_time_s, wall_time_s, time_to_target_s,
                  images_per_s, telemetry, gpu_util_mean_pct, gpu_mem_peak_bytes, cpu_util_mean_pct,
                  rss_peak_bytes, energy_j, gpu_unavailable_reason);
}
static_assert(tables::kTrials.columns.size() ==
              std::tuple_size_v<decltype(fields(std::declval<const TrialRecord&>()))>);

auto fields(const EpochRecord& e) {
  const auto& [trial_id, epoch, train_loss, train_accuracy, test_accuracy, epoch_time_s,
               training_time_s, images_per_s] = e;
  return std::tie(trial_id, epoch, train_loss, train_accuracy, test_accuracy, epoch_time_s,
                  training_time_s, images_per_s);
}
static_assert(tables::kEpochs.columns.size() ==
              std::tuple_size_v<decltype(fields(std::declval<const EpochRecord&>()))>);

auto fields(const TelemetrySample& x) {
  const auto& [trial_id, t_s, phase, gpu_util_pct, gpu_mem_bytes, power_w, cpu_util_pct,
               rss_bytes] = x;
  return std::tie(trial_id, t_s, phase, gpu_util_pct, gpu_mem_bytes, power_w, cpu_util_pct,
                  rss_bytes);
}
static_assert(tables::kSamples.columns.size() ==
              std::tuple_size_v<decltype(fields(std::declval<const TelemetrySample&>()))>);

// A trial with every field set to something other than its default.
TrialRecord full_trial(std::int64_t suite_id) {
  TrialRecord t;
  t.suite_id = suite_id;
  t.key = "tensorflow/vgg8/long/seed=7";
  t.framework = "tensorflow";
  t.model = "vgg8";
  t.recipe = "long";
  t.seed = std::numeric_limits<std::uint64_t>::max() - 6;
  t.threads = 12;
  t.batch_size = 256;
  t.device = "cuda:1";
  t.processes = 4;
  t.dataset = "synthetic";
  t.synthetic = true;
  t.config = {{"epochs", 30}, {"lr", 0.05}, {"augment", {"flip", "crop"}}};
  t.environment = {{"os", {{"name", "Debian"}}}, {"cores", 16}};
  t.status = TrialStatus::diverged;
  t.error = "loss became NaN at epoch 3\nstderr: 'x'";
  t.started = "2026-11-26T07:00:00Z";
  t.ended = "2026-11-26T08:00:00Z";
  t.test_accuracy = 0.8125;
  t.target_accuracy = 0.75;
  t.training_time_s = 3600.5;
  t.wall_time_s = 4000.25;
  t.time_to_target_s = 1800.125;
  t.images_per_s = 4321.0;
  t.telemetry = {{"samples", 120}, {"phases", {"train", "eval"}}};
  t.gpu_util_mean_pct = 87.5;
  t.gpu_mem_peak_bytes = 7.5e9;
  t.cpu_util_mean_pct = 101.25;
  t.rss_peak_bytes = 2.5e9;
  t.energy_j = 9.0e5;
  t.gpu_unavailable_reason = "";
  return t;
}

std::int64_t a_suite(ResultsStore& store) {
  SuiteRecord suite{0, "s", "", {}, ""};
  return store.begin_suite(suite);
}

TEST(ResultsTables, TheDerivedSchemaIsSchemaVersion1Verbatim) {
  TempDir tmp;
  { ResultsStore::open(tmp.path()); }
  run_sql(tmp.path() / "frozen.sqlite", kFrozenSchemaV1);
  const auto derived = schema_of(tmp.path() / "results.sqlite");
  const auto frozen = schema_of(tmp.path() / "frozen.sqlite");
  ASSERT_EQ(derived.size(), frozen.size());
  for (std::size_t i = 0; i < frozen.size(); ++i) EXPECT_EQ(derived[i], frozen[i]);
}

TEST(ResultsTables, ADatabaseCreatedFromTheFrozenSchemaIsReadAndWritten) {
  TempDir tmp;
  run_sql(tmp.path() / "results.sqlite",
          std::string(kFrozenSchemaV1) +
              "INSERT INTO schema_version VALUES (1, '2026-11-01T00:00:00Z', '0.1.0');"
              "PRAGMA user_version = 1;");
  auto store = ResultsStore::open(tmp.path());
  EXPECT_EQ(store.schema_version(), 1);
  TrialRecord t = full_trial(a_suite(store));
  store.upsert_trial(t);
  EXPECT_EQ(fields(store.load().trials.at(0)), fields(t));
}

TEST(ResultsTables, EveryTrialFieldRoundTrips) {
  TempDir tmp;
  auto store = ResultsStore::open(tmp.path());
  TrialRecord t = full_trial(a_suite(store));
  store.upsert_trial(t);
  const auto back = store.find_trial(t.suite_id, t.key);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(fields(*back), fields(t));
  EXPECT_EQ(fields(store.load().trials.at(0)), fields(t));
}

TEST(ResultsTables, AbsentOptionalsAndEmptyTimestampsRoundTripAsAbsentAndEmpty) {
  TempDir tmp;
  auto store = ResultsStore::open(tmp.path());
  TrialRecord t;  // every optional absent, no timestamps, empty JSON objects
  t.suite_id = a_suite(store);
  t.key = "k";
  t.gpu_unavailable_reason = "no NVIDIA driver";
  store.upsert_trial(t);
  const auto back = store.find_trial(t.suite_id, t.key);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(fields(*back), fields(t));
}

TEST(ResultsTables, AnUpsertWithoutTimestampsKeepsTheStoredOnesAndOverwritesTheRest) {
  TempDir tmp;
  auto store = ResultsStore::open(tmp.path());
  TrialRecord t = full_trial(a_suite(store));
  store.upsert_trial(t);
  TrialRecord again = t;
  again.started.clear();
  again.ended.clear();
  again.test_accuracy.reset();
  again.status = TrialStatus::completed;
  store.upsert_trial(again);
  const auto back = store.find_trial(t.suite_id, t.key);
  ASSERT_TRUE(back.has_value());
  again.started = t.started;
  again.ended = t.ended;
  EXPECT_EQ(fields(*back), fields(again));
}

TEST(ResultsTables, RestartResetsTheOutcomeAndKeepsTheTrialsIdentityAndTarget) {
  TempDir tmp;
  auto store = ResultsStore::open(tmp.path());
  TrialRecord t = full_trial(a_suite(store));
  t.gpu_unavailable_reason = "no NVIDIA driver";
  store.upsert_trial(t);
  store.restart_trial(t.id);
  const auto back = store.find_trial(t.suite_id, t.key);
  ASSERT_TRUE(back.has_value());
  EXPECT_NE(back->started, t.started);  // stamped now
  EXPECT_FALSE(back->started.empty());
  TrialRecord expected = t;
  expected.status = TrialStatus::running;
  expected.error = "";
  expected.started = back->started;
  expected.ended = "";
  expected.test_accuracy.reset();
  expected.training_time_s.reset();
  expected.wall_time_s.reset();
  expected.time_to_target_s.reset();
  expected.images_per_s.reset();
  expected.telemetry = nlohmann::json::object();
  expected.gpu_util_mean_pct.reset();
  expected.gpu_mem_peak_bytes.reset();
  expected.cpu_util_mean_pct.reset();
  expected.rss_peak_bytes.reset();
  expected.energy_j.reset();
  EXPECT_EQ(fields(*back), fields(expected));
}

TEST(ResultsTables, EveryStatusIsAcceptedByTheSchemaAndReadBack) {
  TempDir tmp;
  auto store = ResultsStore::open(tmp.path());
  TrialRecord t = full_trial(a_suite(store));
  for (auto s :
       {TrialStatus::planned, TrialStatus::running, TrialStatus::completed, TrialStatus::failed,
        TrialStatus::diverged, TrialStatus::interrupted, TrialStatus::timeout}) {
    t.status = s;
    store.upsert_trial(t);
    EXPECT_EQ(store.find_trial(t.suite_id, t.key)->status, s);
  }
}

TEST(ResultsTables, EveryEpochAndSampleFieldRoundTrips) {
  TempDir tmp;
  auto store = ResultsStore::open(tmp.path());
  TrialRecord t = full_trial(a_suite(store));
  store.upsert_trial(t);
  const EpochRecord evaluated{t.id, 1, 2.25, 0.375, 0.3125, 12.5, 12.5, 4000.0};
  const EpochRecord unevaluated{t.id, 2, 1.75, 0.5, std::nullopt, 11.5, 24.0, 4347.5};
  store.add_epoch(evaluated);
  store.add_epoch(unevaluated);
  const std::vector<TelemetrySample> samples = {
      {t.id, 0.5, "train", 80.0, 3e9, 250.5, 99.5, 8e8},
      {t.id, 1.5, "eval", std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt}};
  store.add_samples(samples);
  const auto snap = store.load();
  ASSERT_EQ(snap.epochs.size(), 2u);
  EXPECT_EQ(fields(snap.epochs[0]), fields(evaluated));
  EXPECT_EQ(fields(snap.epochs[1]), fields(unevaluated));
  ASSERT_EQ(store.epochs_of(t.id).size(), 2u);
  EXPECT_EQ(fields(store.epochs_of(t.id)[1]), fields(unevaluated));
  ASSERT_EQ(snap.samples.size(), 2u);
  EXPECT_EQ(fields(snap.samples[0]), fields(samples[0]));
  EXPECT_EQ(fields(snap.samples[1]), fields(samples[1]));
}

}  // namespace
}  // namespace cb::results
