// Study summaries and tables, from real results databases in temporary directories.
#include "report/study.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>

#include "report/tables.h"
#include "results/sample_results.h"

namespace cb::report {
namespace {
using testing::PlausibleStudy;
using testing::TempDir;

Study study_of(const PlausibleStudy& spec) {
  TempDir tmp;
  auto store = results::ResultsStore::open(tmp.path());
  testing::fill_plausible_results(store, spec);
  return build_study(store.load());
}

const Table& table(const std::vector<Table>& tables, const std::string& id) {
  const auto it =
      std::find_if(tables.begin(), tables.end(), [&](const Table& t) { return t.id == id; });
  EXPECT_NE(it, tables.end()) << id;
  return *it;
}

std::string cell(const Table& t, std::size_t row, const std::string& column) {
  const auto it = std::find(t.header.begin(), t.header.end(), column);
  EXPECT_NE(it, t.header.end()) << column;
  return t.rows.at(row).at(static_cast<std::size_t>(it - t.header.begin()));
}

TEST(Study, GroupsByFrameworkModelAndRecipeCountingOnlyCompletedTrials) {
  const Study s = study_of({});
  ASSERT_EQ(s.groups.size(), 2u);
  const auto& torch = s.groups[1];
  EXPECT_EQ(torch.framework, "torch");
  EXPECT_EQ(torch.trials, 4);  // 3 seeds and the failed trial
  EXPECT_EQ(torch.completed, 3);
  EXPECT_EQ(torch.summaries.at("accuracy").n, 3u);
  EXPECT_EQ(s.status_counts.at("failed"), 1);
}

TEST(Study, AccuracyIsReportedInPercent) {
  const Study s = study_of({});
  EXPECT_GT(s.groups[0].summaries.at("accuracy").mean, 50.0);
  EXPECT_LT(s.groups[0].summaries.at("accuracy").mean, 100.0);
}

TEST(Study, EveryFrameworkPairIsComparedWithWelchsTest) {
  const Study s = study_of({});
  ASSERT_FALSE(s.comparisons.empty());
  for (const auto& c : s.comparisons) {
    EXPECT_EQ(c.framework_a, "dlib");
    EXPECT_EQ(c.framework_b, "torch");
    EXPECT_TRUE(c.test.tested) << c.metric_id;
  }
}

TEST(Study, ComparisonWithOneSeedSaysNotTested) {
  PlausibleStudy spec;
  spec.seeds = 1;
  const auto tables = build_tables(study_of(spec));
  const Table& t = table(tables, "table8_comparisons");
  ASSERT_FALSE(t.rows.empty());
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    EXPECT_NE(cell(t, r, "Verdict").find("not tested"), std::string::npos);
    EXPECT_EQ(cell(t, r, "p-value"), "");
  }
}

TEST(Study, EveryComparisonStatesTheSeedsPerGroupItNeeds) {
  const auto tables = build_tables(study_of({}));
  const Table& t = table(tables, "table8_comparisons");
  ASSERT_FALSE(t.rows.empty());
  bool saw_time = false;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    if (cell(t, r, "Metric") != "Training time (s)") continue;
    saw_time = true;
    EXPECT_EQ(cell(t, r, "Test"), "Mann-Whitney U");
    EXPECT_EQ(cell(t, r, "Threshold"), "±5 %");
    const std::string seeds = cell(t, r, "Seeds per group for 80% power");
    ASSERT_FALSE(seeds.empty());
    EXPECT_GE(std::stoi(seeds), 4) << seeds;  // the exact rank test's minimum at 5 %
  }
  EXPECT_TRUE(saw_time);
}

TEST(Study, GpuUtilizationWithoutADriverIsNotApplicableNeverZero) {
  const auto tables = build_tables(study_of({}));
  const Table& t = table(tables, "table3_gpu_utilization");
  ASSERT_EQ(t.rows.size(), 2u);
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    EXPECT_EQ(cell(t, r, "Mean"), "n/a (no NVIDIA driver)");
  }
  const Table& memory = table(tables, "table6_memory_energy");
  EXPECT_EQ(cell(memory, 0, "GPU energy (kJ)"), "n/a (no NVIDIA driver)");
}

TEST(Study, GpuUtilizationWithTelemetryHasMeanAndInterval) {
  PlausibleStudy spec;
  spec.with_gpu = true;
  const auto tables = build_tables(study_of(spec));
  const Table& t = table(tables, "table3_gpu_utilization");
  EXPECT_EQ(cell(t, 0, "Mean"), "77.1");  // dlib (framework 1): 71.5 + 5 + mean(0.3, 0.6, 0.9)
  EXPECT_EQ(cell(t, 0, "95% CI").front(), '[');
}

TEST(Study, OlympicMeanAppearsFromFiveSeeds) {
  PlausibleStudy three;
  PlausibleStudy five;
  five.seeds = 5;
  const auto few = build_tables(study_of(three));
  const auto many = build_tables(study_of(five));
  EXPECT_EQ(cell(table(few, "table2_training_time"), 0, "Olympic mean"), "n/a (n < 5)");
  EXPECT_NE(cell(table(many, "table2_training_time"), 0, "Olympic mean").find('.'),
            std::string::npos);
}

TEST(Study, SingleSeedGroupsShowNoIntervalRatherThanAZeroWidthOne) {
  PlausibleStudy spec;
  spec.seeds = 1;
  const auto tables = build_tables(study_of(spec));
  EXPECT_EQ(cell(table(tables, "table1_accuracy"), 0, "95% CI"), "n/a (n < 2)");
  EXPECT_EQ(cell(table(tables, "table1_accuracy"), 0, "SD"), "n/a");
}

TEST(Study, TimeToAccuracyCountsTrialsThatReachedTheTarget) {
  const auto tables = build_tables(study_of({}));
  const Table& t = table(tables, "table5_time_to_accuracy");
  EXPECT_EQ(cell(t, 0, "Reached"), "3 of 3");
  EXPECT_EQ(cell(t, 0, "Target (%)"), "75.0");
}

TEST(Study, TrialsTableShowsTheFailedTrialsError) {
  const auto tables = build_tables(study_of({}));
  const Table& t = table(tables, "table9_trials");
  bool found = false;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    if (cell(t, r, "Status") == "failed") {
      found = true;
      EXPECT_NE(cell(t, r, "Error").find("bad_alloc"), std::string::npos);
    }
  }
  EXPECT_TRUE(found);
}

TEST(Study, SyntheticTrialsMarkTheStudySynthetic) {
  PlausibleStudy spec;
  spec.synthetic = true;
  EXPECT_TRUE(study_of(spec).synthetic);
  EXPECT_FALSE(study_of({}).synthetic);
}

}  // namespace
}  // namespace cb::report

namespace cb::report {
namespace {

TEST(Study, TrialsOnDifferentSetupsAreNeverPooledOrCompared) {
  testing::TempDir tmp;
  auto store = results::ResultsStore::open(tmp.path());
  testing::fill_plausible_results(store, {});
  results::TrialRecord gpu = *store.find_trial(1, "torch/resnet20/default/seed=1");
  gpu.id = 0;
  gpu.key = "torch/resnet20/default/seed=1/cuda";
  gpu.device = "cuda:0";
  store.upsert_trial(gpu);
  const Study s = build_study(store.load());
  ASSERT_EQ(s.groups.size(), 3u);
  for (const auto& c : s.comparisons) EXPECT_EQ(c.setup, "cpu, 2 threads, fp32, batch 128");
  for (const auto& g : s.groups) {
    if (g.device == "cuda:0") {
      EXPECT_EQ(g.completed, 1);
    }
  }
}

}  // namespace
}  // namespace cb::report

namespace cb::report {
namespace {

// Trials built in memory: two frameworks × two seeds; one torch trial ran on a busy machine,
// and only dlib passed `cifarbench check` on this machine.
results::ResultsSnapshot guarded_snapshot() {
  results::ResultsSnapshot snap;
  std::int64_t id = 0;
  for (const std::string fw : {"dlib", "torch"}) {
    for (int seed = 1; seed <= 2; ++seed) {
      results::TrialRecord t;
      t.id = ++id;
      t.key = fmt::format("{}/simple-cnn/default/seed={}", fw, seed);
      t.framework = fw;
      t.model = "simple-cnn";
      t.recipe = "default";
      t.seed = static_cast<std::uint64_t>(seed);
      t.status = results::TrialStatus::completed;
      t.test_accuracy = 0.8 + 0.01 * seed;
      t.training_time_s = 100.0 + seed;
      t.images_per_s = 500.0 - seed;
      t.telemetry = {{"guardrails", {{"status", "quiet"}, {"reasons", nlohmann::json::array()}}}};
      if (fw == "torch" && seed == 2) {
        t.telemetry["guardrails"] = {{"status", "busy"},
                                     {"reasons", {"other processes used 1.34 cores on average"}}};
      }
      if (fw == "dlib") t.environment = {{"backends", {{{"name", "dlib"}, {"check", {{"result", "pass"}}}}}}};
      snap.trials.push_back(t);
    }
  }
  return snap;
}

TEST(Study, TrialsOnABusyMachineAndUncheckedFrameworksAreNamedInTheVerdict) {
  const Study s = build_study(guarded_snapshot());
  ASSERT_EQ(s.verdicts.size(), 1u);
  const auto& caveats = s.verdicts[0].caveats;
  ASSERT_EQ(caveats.size(), 2u) << ::testing::PrintToString(caveats);
  EXPECT_NE(caveats[0].find("1 of torch's 2 completed trials ran on a busy or throttled machine "
                            "(other processes used 1.34 cores on average)"),
            std::string::npos)
      << caveats[0];
  EXPECT_NE(caveats[1].find("torch was never checked"), std::string::npos) << caveats[1];
  EXPECT_NE(caveats[1].find("cifarbench check"), std::string::npos) << caveats[1];
  // dlib passed its check and ran quiet: nothing about it.
  for (const auto& c : caveats) EXPECT_EQ(c.find("dlib"), std::string::npos) << c;
}

TEST(Study, TheTrialsTableHasEachTrialsMachineStatus) {
  const Study s = build_study(guarded_snapshot());
  const auto tables = build_tables(s);
  const Table& t = table(tables, "table9_trials");
  ASSERT_EQ(t.rows.size(), 4u);
  EXPECT_EQ(cell(t, 0, "Machine"), "quiet");
  EXPECT_EQ(cell(t, 3, "Machine"), "busy");
  results::TrialRecord old;  // recorded before guardrails existed
  EXPECT_EQ(machine_status(old), "unknown");
}

}  // namespace
}  // namespace cb::report
