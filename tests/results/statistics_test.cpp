// Statistics against textbook values.
#include "results/statistics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace cb::results {
namespace {

TEST(Statistics, MeanMedianMinMaxOfASmallSample) {
  const std::vector<double> v = {4, 1, 3, 2};
  EXPECT_DOUBLE_EQ(mean(v), 2.5);
  EXPECT_DOUBLE_EQ(median(v), 2.5);
  EXPECT_DOUBLE_EQ(median({5, 1, 3}), 3);
  EXPECT_DOUBLE_EQ(min_value(v), 1);
  EXPECT_DOUBLE_EQ(max_value(v), 4);
}

TEST(Statistics, SampleStddevUsesNMinusOne) {
  // Textbook: 2, 4, 4, 4, 5, 5, 7, 9 has population sd 2 and sample sd sqrt(32/7).
  EXPECT_NEAR(sample_stddev({2, 4, 4, 4, 5, 5, 7, 9}), std::sqrt(32.0 / 7.0), 1e-12);
}

TEST(Statistics, UndefinedValuesAreNaNNotZero) {
  EXPECT_TRUE(std::isnan(mean({})));
  EXPECT_TRUE(std::isnan(sample_stddev({1.0})));
  EXPECT_FALSE(mean_ci95({1.0}).has_value());
}

TEST(Statistics, StudentTQuantilesMatchTheTextbookTable) {
  EXPECT_NEAR(student_t_quantile(0.975, 1), 12.706, 0.001);
  EXPECT_NEAR(student_t_quantile(0.975, 2), 4.303, 0.001);
  EXPECT_NEAR(student_t_quantile(0.975, 4), 2.776, 0.001);
  EXPECT_NEAR(student_t_quantile(0.975, 10), 2.228, 0.001);
  EXPECT_NEAR(student_t_quantile(0.975, 30), 2.042, 0.001);
  EXPECT_NEAR(student_t_quantile(0.95, 5), 2.015, 0.001);
  EXPECT_NEAR(student_t_quantile(0.995, 3), 5.841, 0.001);
  EXPECT_NEAR(student_t_quantile(0.025, 4), -2.776, 0.001);
}

TEST(Statistics, StudentTCdfOfOneDegreeIsTheCauchyCdf) {
  for (double t : {-3.0, -0.5, 0.0, 1.0, 7.0}) {
    EXPECT_NEAR(student_t_cdf(t, 1), 0.5 + std::atan(t) / M_PI, 1e-12) << t;
  }
}

TEST(Statistics, ConfidenceIntervalUsesTheTQuantile) {
  // n = 5, mean 3, sd sqrt(2.5): half width = 2.776 * sqrt(2.5) / sqrt(5).
  const auto ci = mean_ci95({1, 2, 3, 4, 5});
  ASSERT_TRUE(ci.has_value());
  const double half = 2.7764451 * std::sqrt(2.5) / std::sqrt(5.0);
  EXPECT_NEAR(ci->low, 3 - half, 1e-5);
  EXPECT_NEAR(ci->high, 3 + half, 1e-5);
}

TEST(Statistics, OlympicMeanDropsOneMinimumAndOneMaximumFromFiveOrMore) {
  EXPECT_FALSE(olympic_mean({1, 2, 3, 4}).has_value());
  EXPECT_DOUBLE_EQ(*olympic_mean({100, 1, 2, 3, 4}), 3.0);
  EXPECT_DOUBLE_EQ(*olympic_mean({5, 5, 1, 9, 6, 7}), 5.75);
}

TEST(Statistics, SummaryOfOneValueHasNoIntervalOrSpread) {
  const Summary s = summarize({0.9});
  EXPECT_EQ(s.n, 1u);
  EXPECT_DOUBLE_EQ(s.mean, 0.9);
  EXPECT_TRUE(std::isnan(s.stddev));
  EXPECT_FALSE(s.ci95.has_value());
  EXPECT_FALSE(s.olympic_mean.has_value());
}

// Wikipedia, "Welch's t-test", example 1: t = -2.46, df = 25.0, p = 0.021.
TEST(Statistics, WelchTestMatchesTheWorkedExampleWithSimilarVariances) {
  const std::vector<double> a = {27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1,
                                 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4};
  const std::vector<double> b = {27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0,
                                 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4};
  const WelchTest w = welch_t_test(a, b);
  ASSERT_TRUE(w.tested);
  EXPECT_NEAR(w.t, -2.46, 0.005);
  EXPECT_NEAR(w.df, 25.0, 0.05);
  EXPECT_NEAR(w.p_value, 0.021, 0.0005);
  EXPECT_NEAR(w.difference, mean(a) - mean(b), 1e-12);
  EXPECT_LT(w.ci95.high, 0);  // significant at 5 %: the interval excludes zero
}

// Same source, example 2 (unequal sizes and variances): t = -1.57, df = 9.9, p = 0.149.
TEST(Statistics, WelchTestMatchesTheWorkedExampleWithUnequalVariances) {
  const std::vector<double> a = {17.2, 20.9, 22.6, 18.1, 21.7, 21.4, 23.5, 24.2, 14.7, 21.8};
  const std::vector<double> b = {21.5, 22.8, 21.0, 23.0, 21.6, 23.6, 22.5, 20.7, 23.4, 21.8,
                                 20.7, 21.7, 21.5, 22.5, 23.6, 21.5, 22.5, 23.5, 21.5, 21.8};
  const WelchTest w = welch_t_test(a, b);
  ASSERT_TRUE(w.tested);
  EXPECT_NEAR(w.t, -1.57, 0.005);
  EXPECT_NEAR(w.df, 9.9, 0.05);
  EXPECT_NEAR(w.p_value, 0.149, 0.0005);
  EXPECT_LT(w.ci95.low, 0);
  EXPECT_GT(w.ci95.high, 0);  // not significant: the interval contains zero
}

TEST(Statistics, WelchTestWithOneResultInAGroupIsNotTested) {
  const WelchTest w = welch_t_test({0.91}, {0.90, 0.92, 0.93});
  EXPECT_FALSE(w.tested);
  EXPECT_NE(w.not_tested_reason.find("not tested"), std::string::npos);
  EXPECT_NEAR(w.difference, 0.91 - 0.9166666, 1e-6);
}

}  // namespace
}  // namespace cb::results
