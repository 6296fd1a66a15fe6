// The SQLite results store, on real database files in temporary directories.
#include "results/store.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "core/error.h"
#include "results/sample_results.h"

namespace cb::results {
namespace {
using testing::TempDir;

TrialRecord make_trial(std::int64_t suite_id, const std::string& key) {
  TrialRecord t;
  t.suite_id = suite_id;
  t.key = key;
  t.framework = "torch";
  t.model = "resnet20";
  t.recipe = "default";
  t.seed = 1;
  t.dataset = "cifar10";
  return t;
}

EpochRecord make_epoch(std::int64_t trial_id, int epoch) {
  EpochRecord e;
  e.trial_id = trial_id;
  e.epoch = epoch;
  e.train_loss = 1.0 / epoch;
  e.train_accuracy = 0.1 * epoch;
  e.test_accuracy = 0.09 * epoch;
  e.epoch_time_s = 10;
  e.training_time_s = 10.0 * epoch;
  e.images_per_s = 5000;
  return e;
}

// A results store in a fresh directory, holding one suite ("s").
struct ScratchStore {
  TempDir tmp;
  ResultsStore store = ResultsStore::open(tmp.path());
  SuiteRecord suite = begin(store);

  // Writes a planned trial of the suite (make_trial's fields); its id is set.
  TrialRecord add_trial(const std::string& key = "k") {
    TrialRecord t = make_trial(suite.id, key);
    store.upsert_trial(t);
    return t;
  }

 private:
  static SuiteRecord begin(ResultsStore& store) {
    SuiteRecord suite{0, "s", "", {}, ""};
    store.begin_suite(suite);
    return suite;
  }
};

// Runs raw SQL on a database file through a separate connection, as another process would.
void run_sql(const std::filesystem::path& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
}

// PRAGMA integrity_check's verdict: "ok" for a consistent database.
std::string integrity(const std::filesystem::path& db_path) {
  sqlite3* db = nullptr;
  sqlite3_open(db_path.c_str(), &db);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, nullptr);
  std::string verdict = sqlite3_step(s) == SQLITE_ROW
                            ? reinterpret_cast<const char*>(sqlite3_column_text(s, 0))
                            : sqlite3_errmsg(db);
  sqlite3_finalize(s);
  sqlite3_close(db);
  return verdict;
}

TEST(ResultsStore, OpenCreatesTheDirectoryAndAVersionedWalDatabase) {
  TempDir tmp;
  const auto dir = tmp.path() / "nested" / "results";
  auto store = ResultsStore::open(dir);
  EXPECT_TRUE(std::filesystem::exists(dir / "results.sqlite"));
  EXPECT_EQ(store.schema_version(), ResultsStore::kSchemaVersion);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "results.sqlite").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, nullptr);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)), "wal");
  sqlite3_finalize(s);
  sqlite3_close(db);
}

TEST(ResultsStore, TrialRoundTripsEveryField) {
  TempDir tmp;
  auto store = ResultsStore::open(tmp.path());
  SuiteRecord suite{0, "s", "configs/s.toml", {{"seeds", 2}}, ""};
  store.begin_suite(suite);
  TrialRecord t = make_trial(suite.id, "torch/resnet20/default/seed=1");
  t.seed = 18446744073709551615ull;  // the whole uint64 range survives the int64 column
  t.synthetic = true;
  t.environment = {{"os", "linux"}};
  t.test_accuracy = 0.91;
  t.time_to_target_s = std::nullopt;
  t.gpu_unavailable_reason = "no NVIDIA driver";
  store.upsert_trial(t);
  const auto back = store.find_trial(suite.id, t.key);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->id, t.id);
  EXPECT_EQ(back->seed, t.seed);
  EXPECT_TRUE(back->synthetic);
  EXPECT_EQ(back->environment["os"], "linux");
  EXPECT_DOUBLE_EQ(*back->test_accuracy, 0.91);
  EXPECT_FALSE(back->time_to_target_s.has_value());
  EXPECT_FALSE(back->gpu_util_mean_pct.has_value());
  EXPECT_EQ(back->gpu_unavailable_reason, "no NVIDIA driver");
}

TEST(ResultsStore, UpsertOfTheSameKeyUpdatesInsteadOfDuplicating) {
  ScratchStore scratch;
  auto& store = scratch.store;
  TrialRecord t = make_trial(scratch.suite.id, "k");
  const auto first = store.upsert_trial(t);
  t.status = TrialStatus::completed;
  t.test_accuracy = 0.5;
  const auto second = store.upsert_trial(t);
  EXPECT_EQ(first, second);
  EXPECT_EQ(store.load().trials.size(), 1u);
  EXPECT_EQ(store.load().trials[0].status, TrialStatus::completed);
}

TEST(ResultsStore, BeginSuiteWithAnExistingNameReusesIt) {
  TempDir tmp;
  auto store = ResultsStore::open(tmp.path());
  SuiteRecord a{0, "same", "a.toml", {}, ""};
  SuiteRecord b{0, "same", "b.toml", {}, ""};
  const auto first = store.begin_suite(a);
  const auto second = store.begin_suite(b);
  EXPECT_EQ(first, second);
  EXPECT_EQ(store.load().suites.at(0).file, "b.toml");
}

TEST(ResultsStore, StatusRunningStampsStartedAndTerminalStampsEnded) {
  ScratchStore scratch;
  auto& store = scratch.store;
  TrialRecord t = scratch.add_trial();
  store.set_trial_status(t.id, TrialStatus::running);
  auto back = store.find_trial(scratch.suite.id, "k");
  EXPECT_FALSE(back->started.empty());
  EXPECT_TRUE(back->ended.empty());
  store.set_trial_status(t.id, TrialStatus::failed, "exit 1; stderr: boom");
  back = store.find_trial(scratch.suite.id, "k");
  EXPECT_EQ(back->status, TrialStatus::failed);
  EXPECT_EQ(back->error, "exit 1; stderr: boom");
  EXPECT_FALSE(back->ended.empty());
}

TEST(ResultsStore, ReAddingAnEpochReplacesItInsteadOfDuplicating) {
  ScratchStore scratch;
  auto& store = scratch.store;
  TrialRecord t = scratch.add_trial();
  store.add_epoch(make_epoch(t.id, 1));
  auto again = make_epoch(t.id, 1);
  again.train_loss = 0.25;
  store.add_epoch(again);
  const auto epochs = store.epochs_of(t.id);
  ASSERT_EQ(epochs.size(), 1u);
  EXPECT_DOUBLE_EQ(epochs[0].train_loss, 0.25);
}

TEST(ResultsStore, RestartingATrialDeletesItsEpochsSamplesAndMetrics) {
  ScratchStore scratch;
  auto& store = scratch.store;
  TrialRecord t = make_trial(scratch.suite.id, "k");
  t.status = TrialStatus::interrupted;
  t.test_accuracy = 0.3;
  store.upsert_trial(t);
  store.add_epoch(make_epoch(t.id, 1));
  store.add_epoch(make_epoch(t.id, 2));
  store.add_samples({{t.id, 0.5, "train", std::nullopt, std::nullopt, std::nullopt, 100.0, 1e8}});
  store.restart_trial(t.id);
  const auto snap = store.load();
  EXPECT_TRUE(snap.epochs.empty());
  EXPECT_TRUE(snap.samples.empty());
  EXPECT_EQ(snap.trials.at(0).status, TrialStatus::running);
  EXPECT_FALSE(snap.trials.at(0).test_accuracy.has_value());
}

TEST(ResultsStore, OptionalSampleColumnsStayAbsentNotZero) {
  ScratchStore scratch;
  auto& store = scratch.store;
  TrialRecord t = scratch.add_trial();
  store.add_samples({{t.id, 1.0, "train", std::nullopt, std::nullopt, std::nullopt, 95.0, 2e8}});
  const auto s = store.load().samples.at(0);
  EXPECT_FALSE(s.gpu_util_pct.has_value());
  EXPECT_DOUBLE_EQ(*s.cpu_util_pct, 95.0);
}

TEST(ResultsStore, ReopeningKeepsEverythingWritten) {
  TempDir tmp;
  {
    auto store = ResultsStore::open(tmp.path());
    testing::fill_plausible_results(store, {});
  }
  const auto snap = ResultsStore::open_for_reading(tmp.path()).load();
  EXPECT_EQ(snap.suites.size(), 1u);
  EXPECT_EQ(snap.trials.size(), 2u * 3u + 1u);
  EXPECT_EQ(snap.epochs.size(), 2u * 3u * 4u);
  EXPECT_EQ(snap.samples.size(), 2u * 3u * 20u);
}

TEST(ResultsStore, AReaderSeesCommittedEpochsWhileAWriterHoldsItsConnection) {
  ScratchStore scratch;
  auto& writer = scratch.store;
  TrialRecord t = scratch.add_trial();
  writer.add_epoch(make_epoch(t.id, 1));
  auto reader = ResultsStore::open_for_reading(scratch.tmp.path());
  EXPECT_EQ(reader.load().epochs.size(), 1u);
  writer.add_epoch(make_epoch(t.id, 2));  // the reader's connection does not block the writer
  EXPECT_EQ(reader.load().epochs.size(), 2u);
}

TEST(ResultsStore, ADatabaseFromANewerSchemaIsRefusedNamingBothVersions) {
  TempDir tmp;
  { ResultsStore::open(tmp.path()); }
  run_sql(tmp.path() / "results.sqlite", "PRAGMA user_version = 7");
  for (int reading = 0; reading < 2; ++reading) {
    try {
      if (reading)
        ResultsStore::open_for_reading(tmp.path());
      else
        ResultsStore::open(tmp.path());
      FAIL() << "a newer schema was accepted";
    } catch (const InputError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("results.sqlite"), std::string::npos) << what;
      EXPECT_NE(what.find("version 7"), std::string::npos) << what;
      EXPECT_NE(what.find("up to 1"), std::string::npos) << what;
      EXPECT_EQ(e.status(), ExitStatus::bad_input);
    }
  }
}

TEST(ResultsStore, AnUncreatableResultsDirectoryIsBadInputNamingIt) {
  TempDir tmp;
  const auto file = tmp.path() / "a-file";
  std::ofstream(file) << "x";
  const auto dir = file / "results";
  try {
    ResultsStore::open(dir);
    FAIL() << "a directory under a regular file was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(dir.string()), std::string::npos) << e.what();
  }
}

TEST(ResultsStore, AFileThatIsNotADatabaseIsBadInputNamingIt) {
  TempDir tmp;
  std::ofstream(tmp.path() / "results.sqlite") << std::string(4096, 'z');
  try {
    ResultsStore::open_for_reading(tmp.path());
    FAIL() << "garbage was accepted as a database";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("results.sqlite"), std::string::npos) << e.what();
  }
}

TEST(ResultsStore, GarbagePagesAreBadInputNamingTheFile) {
  TempDir tmp;
  {
    ResultsStore store = ResultsStore::open(tmp.path());
    SuiteRecord suite{0, "s", "", {}, ""};
    store.begin_suite(suite);
    for (int i = 0; i < 50; ++i) {
      TrialRecord t = make_trial(suite.id, fmt::format("trial-{}", i));
      store.upsert_trial(t);
    }
  }  // closing the last connection moves the WAL into the database file
  const auto db = tmp.path() / "results.sqlite";
  ASSERT_GT(std::filesystem::file_size(db), 8192u);
  {
    std::fstream f(db, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096);  // page 1 (the header and the schema) stays; the tables' pages become garbage
    const std::string garbage(std::filesystem::file_size(db) - 4096, '\xab');
    f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  for (int reading = 0; reading < 2; ++reading) {
    try {
      if (reading) {
        ResultsStore::open_for_reading(tmp.path()).load();
      } else {
        ResultsStore::open(tmp.path());
      }
      FAIL() << "a database with garbage pages was accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("results.sqlite"), std::string::npos) << e.what();
    }
  }
}

TEST(ResultsStore, ADroppedTableIsBadInputNamingIt) {
  TempDir tmp;
  { ResultsStore::open(tmp.path()); }
  run_sql(tmp.path() / "results.sqlite", "DROP TABLE epochs");
  try {
    ResultsStore::open_for_reading(tmp.path());
    FAIL() << "a database without its epochs table was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("results.sqlite: not a complete results database: table "
                                         "'epochs' is missing"),
              std::string::npos)
        << e.what();
  }
}

TEST(ResultsStore, ANonNumericAccuracyIsBadInputNotZero) {
  ScratchStore scratch;
  TrialRecord t = scratch.add_trial();
  scratch.store.add_epoch(make_epoch(t.id, 1));
  run_sql(scratch.store.database_path(), "UPDATE epochs SET test_accuracy = 'high'");
  try {
    const ResultsSnapshot snap = ResultsStore::open_for_reading(scratch.tmp.path()).load();
    FAIL() << "the text 'high' was read as accuracy " << snap.epochs.at(0).test_accuracy.value_or(-1);
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("column 'test_accuracy'"), std::string::npos) << what;
    EXPECT_NE(what.find("'high'"), std::string::npos) << what;
  }
}

TEST(ResultsStore, ReadingADirectoryWithoutADatabaseIsBadInput) {
  TempDir tmp;
  EXPECT_THROW(ResultsStore::open_for_reading(tmp.path()), InputError);
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "results.sqlite"));
}

TEST(ResultsStore, ADiskFullDuringAnEpochKeepsTheEarlierEpochsAndSaysSo) {
  ScratchStore scratch;
  auto& store = scratch.store;
  TrialRecord t = scratch.add_trial("torch/resnet20/default/seed=1");
  store.add_epoch(make_epoch(t.id, 1));
  store.add_epoch(make_epoch(t.id, 2));
  store.limit_database_pages(1);  // below the current size: every new page fails like a full disk
  // A big error text needs new pages, as a large epoch or a batch of samples would.
  std::string error_text;
  std::vector<TelemetrySample> samples(5000, {t.id, 1.0, "train", 50.0, 1e9, 200.0, 90.0, 1e8});
  try {
    store.add_samples(samples);
    FAIL() << "the write fit into a database capped at its current size";
  } catch (const CheckFailed& e) {
    error_text = e.what();
  }
  EXPECT_NE(error_text.find("disk full"), std::string::npos) << error_text;
  EXPECT_NE(error_text.find("epochs 1 to 2"), std::string::npos) << error_text;
  EXPECT_NE(error_text.find("results.sqlite"), std::string::npos) << error_text;
  // After the failure the store stays usable and consistent.
  const auto snap = ResultsStore::open_for_reading(scratch.tmp.path()).load();
  EXPECT_EQ(snap.epochs.size(), 2u);
  EXPECT_TRUE(snap.samples.empty());
  EXPECT_EQ(integrity(scratch.tmp.path() / "results.sqlite"), "ok");
}

TEST(ResultsStore, ADiskFullDuringAnEpochRollsBackOnlyThatEpoch) {
  ScratchStore scratch;
  auto& store = scratch.store;
  TrialRecord t = scratch.add_trial();
  // Fill pages until the cap is reached at an epoch boundary.
  store.limit_database_pages(12);
  int written = 0;
  bool full = false;
  for (int e = 1; e <= 100000 && !full; ++e) {
    try {
      store.add_epoch(make_epoch(t.id, e));
      written = e;
    } catch (const CheckFailed& err) {
      full = true;
      EXPECT_NE(std::string(err.what()).find(fmt::format("epochs 1 to {}", written)),
                std::string::npos)
          << err.what();
    }
  }
  ASSERT_TRUE(full);
  const auto epochs = store.epochs_of(t.id);
  ASSERT_EQ(static_cast<int>(epochs.size()), written);
  EXPECT_EQ(epochs.back().epoch, written);
}

TEST(ResultsStore, AWriterKilledWithSigkillLeavesContiguousCommittedEpochs) {
  TempDir tmp;
  std::int64_t trial_id = 0;
  {
    auto store = ResultsStore::open(tmp.path());
    SuiteRecord suite{0, "s", "", {}, ""};
    store.begin_suite(suite);
    TrialRecord t = make_trial(suite.id, "k");
    trial_id = store.upsert_trial(t);
  }
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // A trial that writes epochs until it is killed, in its own process as `run` does it.
    auto store = ResultsStore::open(tmp.path());
    for (int e = 1;; ++e) store.add_epoch(make_epoch(trial_id, e));
  }
  auto reader = ResultsStore::open_for_reading(tmp.path());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (reader.epochs_of(trial_id).size() < 5 && std::chrono::steady_clock::now() < deadline) {
    usleep(1000);
  }
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));

  auto store = ResultsStore::open(tmp.path());
  const auto epochs = store.epochs_of(trial_id);
  ASSERT_GE(epochs.size(), 5u);
  for (std::size_t i = 0; i < epochs.size(); ++i)
    EXPECT_EQ(epochs[i].epoch, static_cast<int>(i) + 1);
  // Resuming re-runs the trial from epoch 1: no epoch is lost or duplicated.
  store.restart_trial(trial_id);
  for (int e = 1; e <= 3; ++e) store.add_epoch(make_epoch(trial_id, e));
  ASSERT_EQ(store.epochs_of(trial_id).size(), 3u);
  EXPECT_EQ(integrity(tmp.path() / "results.sqlite"), "ok");
}

TEST(ResultsStore, StatusNamesRoundTripAndUnknownOnesAreBadInput) {
  for (auto s :
       {TrialStatus::planned, TrialStatus::running, TrialStatus::completed, TrialStatus::failed,
        TrialStatus::diverged, TrialStatus::interrupted, TrialStatus::timeout}) {
    EXPECT_EQ(parse_trial_status(to_string(s)), s);
  }
  EXPECT_THROW(parse_trial_status("done"), InputError);
}

}  // namespace
}  // namespace cb::results
