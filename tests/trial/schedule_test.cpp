#include "trial/schedule.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace cb::trial {
namespace {

TEST(Schedule, ConstantNeverChanges) {
  ScheduleConfig c;
  c.kind = ScheduleConfig::Kind::constant;
  c.peak_lr = 0.05;
  for (int s : {0, 10, 99}) EXPECT_DOUBLE_EQ(learning_rate_at(c, s, 100, 10), 0.05);
}

TEST(Schedule, OneCycleRisesToPeakThenFallsToFinal) {
  ScheduleConfig c;
  c.kind = ScheduleConfig::Kind::onecycle;
  c.peak_lr = 0.1;
  c.warmup_fraction = 0.25;
  EXPECT_NEAR(learning_rate_at(c, 0, 101, 10), 0.1 * 0.04, 1e-12);
  EXPECT_NEAR(learning_rate_at(c, 25, 101, 10), 0.1, 1e-12);
  EXPECT_NEAR(learning_rate_at(c, 100, 101, 10), 0.1 * 1e-4, 1e-12);
  EXPECT_LT(learning_rate_at(c, 12, 101, 10), 0.1);
  EXPECT_GT(learning_rate_at(c, 12, 101, 10), learning_rate_at(c, 11, 101, 10));
  EXPECT_LT(learning_rate_at(c, 60, 101, 10), learning_rate_at(c, 59, 101, 10));
}

TEST(Schedule, StepDecaysAtEpochMilestones) {
  ScheduleConfig c;
  c.kind = ScheduleConfig::Kind::step;
  c.peak_lr = 1.0;
  c.milestones = {2, 4};
  c.gamma = 0.1;
  EXPECT_DOUBLE_EQ(learning_rate_at(c, 19, 100, 10), 1.0);
  EXPECT_NEAR(learning_rate_at(c, 20, 100, 10), 0.1, 1e-12);
  EXPECT_NEAR(learning_rate_at(c, 45, 100, 10), 0.01, 1e-12);
}

TEST(Schedule, CosineIsHalfWayAtTheMiddleWithoutWarmup) {
  ScheduleConfig c;
  c.kind = ScheduleConfig::Kind::cosine;
  c.peak_lr = 1.0;
  c.warmup_fraction = 0;
  c.final_factor = 0;
  EXPECT_NEAR(learning_rate_at(c, 0, 101, 10), 1.0, 1e-12);
  EXPECT_NEAR(learning_rate_at(c, 50, 101, 10), 0.5, 1e-12);
  EXPECT_NEAR(learning_rate_at(c, 100, 101, 10), 0.0, 1e-12);
}

TEST(Schedule, UnknownKindIsRefusedNamingTheFlag) {
  try {
    parse_schedule_kind("linear", "--schedule");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("--schedule"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("onecycle"), std::string::npos);
  }
}

}  // namespace
}  // namespace cb::trial
