// Table 10: data-parallel scaling, present only when a suite varied the process count.
#include <gtest/gtest.h>

#include "report/tables.h"

namespace cb::report {
namespace {

GroupSummary group(int processes, double throughput) {
  GroupSummary g;
  g.framework = "torch";
  g.model = "simple-cnn";
  g.recipe = "short";
  g.device = "cpu";
  g.threads = 1;
  g.processes = processes;
  g.trials = g.completed = 1;
  g.values["throughput"] = {throughput};
  g.summaries["throughput"] = results::summarize({throughput});
  return g;
}

const Table* find_table(const std::vector<Table>& tables, const std::string& id) {
  for (const auto& t : tables) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

TEST(ScalingTable, GivesSpeedUpAndEfficiencyAgainstTheOneProcessRun) {
  Study study;
  study.groups = {group(1, 100), group(2, 150)};
  const auto tables = build_tables(study);
  const Table* t = find_table(tables, "table10_scaling");
  ASSERT_NE(t, nullptr);
  ASSERT_EQ(t->rows.size(), 2u);
  EXPECT_EQ(t->rows[1][5], "2");     // processes
  EXPECT_EQ(t->rows[1][7], "1.50");  // speed-up
  EXPECT_EQ(t->rows[1][8], "75.0");  // efficiency, %
  EXPECT_EQ(t->rows[0][8], "100.0");
}

TEST(ScalingTable, IsLeftOutWhenNoTrialRanOnSeveralProcesses) {
  Study study;
  study.groups = {group(1, 100)};
  EXPECT_EQ(find_table(build_tables(study), "table10_scaling"), nullptr);
}

TEST(ScalingTable, SaysSoWhenThereIsNoOneProcessRunToCompareWith) {
  Study study;
  study.groups = {group(2, 150), group(4, 250)};
  const auto tables = build_tables(study);
  const Table* t = find_table(tables, "table10_scaling");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->rows[0][7], "n/a (no 1-process run)");
}

}  // namespace
}  // namespace cb::report
