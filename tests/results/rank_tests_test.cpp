// Mann–Whitney U and Hodges–Lehmann against R's and SciPy's documented examples.
#include "results/rank_tests.h"

#include <gtest/gtest.h>

#include <cmath>

namespace cb::results {
namespace {

// SciPy's mannwhitneyu documentation (scipy.stats.mannwhitneyu, "Examples"): ages of male and
// female authors, U1 = 17, exact two-sided p = 0.1111111111111111, method="asymptotic" (with the
// continuity correction) p = 0.11134688653314041.
const std::vector<double> kMales = {19, 22, 16, 29, 24};
const std::vector<double> kFemales = {20, 11, 17, 12};

TEST(MannWhitney, ScipyExampleExactTwoSided) {
  const auto t = mann_whitney_u(kMales, kFemales);
  ASSERT_TRUE(t.tested);
  EXPECT_TRUE(t.exact);
  EXPECT_DOUBLE_EQ(t.u, 17.0);
  EXPECT_NEAR(t.p_value, 0.1111111111111111, 1e-12);
  EXPECT_DOUBLE_EQ(mann_whitney_u(kFemales, kMales).u, 3.0);  // U2 = n m - U1
}

TEST(MannWhitney, ScipyExampleNormalApproximationWithContinuityCorrection) {
  MannWhitneyOptions normal;
  normal.method = MannWhitneyOptions::Method::normal;
  const auto t = mann_whitney_u(kMales, kFemales, normal);
  ASSERT_TRUE(t.tested);
  EXPECT_FALSE(t.exact);
  EXPECT_NEAR(t.p_value, 0.11134688653314041, 1e-9);
}

// R's ?wilcox.test two-sample example (Hollander & Wolfe 1973, p. 69: permeability constants of
// the human chorioamnion): wilcox.test(x, y, alternative = "g") gives W = 35, p-value = 0.1272.
TEST(MannWhitney, RHollanderWolfeExampleOneSidedExact) {
  const std::vector<double> x = {0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46};
  const std::vector<double> y = {1.15, 0.88, 0.90, 0.74, 1.21};
  MannWhitneyOptions greater;
  greater.alternative = Alternative::greater;
  const auto t = mann_whitney_u(x, y, greater);
  EXPECT_DOUBLE_EQ(t.u, 35.0);
  EXPECT_TRUE(t.exact);
  EXPECT_NEAR(t.p_value, 0.1272, 5e-5);
}

// With ties R falls back to the normal approximation with tie and continuity correction: the
// wilcox.test example reproduced by endmemo.com/r/wilcoxon.php gives W = 51.5, p = 0.5966 and,
// against a second y, W = 0, p = 0.001364.
TEST(MannWhitney, RExampleWithTiesUsesTheCorrectedNormalApproximation) {
  const std::vector<double> x = {1, 5, 9, 24, 56, 21, 3, 7, 21, 4};
  const std::vector<double> y = {12, 15, 5, 9, 9, 14, 56, 22, 3, 7, 32, 5};
  const auto t = mann_whitney_u(x, y);
  EXPECT_FALSE(t.exact);
  EXPECT_DOUBLE_EQ(t.u, 51.5);
  EXPECT_NEAR(t.p_value, 0.5966, 5e-5);
  const std::vector<double> y2 = {1233, 4356, 987, 39999, 1111, 200000};
  const auto t2 = mann_whitney_u(x, y2);
  EXPECT_DOUBLE_EQ(t2.u, 0.0);
  EXPECT_NEAR(t2.p_value, 0.001364, 5e-7);
}

TEST(MannWhitney, ThreeAgainstThreeCannotGoBelowOneTenthTwoSided) {
  // Complete separation is the most extreme of C(6, 3) = 20 orderings: p = 2/20.
  const auto t = mann_whitney_u({1, 2, 3}, {4, 5, 6});
  EXPECT_TRUE(t.exact);
  EXPECT_NEAR(t.p_value, 0.1, 1e-12);
  EXPECT_NEAR(t.min_p_value, 0.1, 1e-12);
  EXPECT_NEAR(mann_whitney_min_p_two_sided(3, 3), 0.1, 1e-12);
  EXPECT_NEAR(mann_whitney_min_p_two_sided(4, 4), 2.0 / 70.0, 1e-12);
  EXPECT_NEAR(mann_whitney_u({1, 2, 3, 4}, {5, 6, 7, 8}).p_value, 2.0 / 70.0, 1e-12);
}

TEST(MannWhitney, AnEmptyGroupIsNotTested) {
  const auto t = mann_whitney_u({}, {1, 2});
  EXPECT_FALSE(t.tested);
  EXPECT_NE(t.not_tested_reason.find("no results"), std::string::npos);
}

TEST(MannWhitney, AllValuesTiedIsNotTested) {
  const auto t = mann_whitney_u({2, 2, 2}, {2, 2});
  EXPECT_FALSE(t.tested);
}

TEST(NormalDistribution, QuantilesMatchTheTable) {
  EXPECT_NEAR(normal_quantile(0.975), 1.959964, 1e-6);
  EXPECT_NEAR(normal_quantile(0.8), 0.841621, 1e-6);
  EXPECT_NEAR(normal_cdf(-1.959964), 0.025, 1e-7);
  EXPECT_TRUE(std::isnan(normal_quantile(1.0)));
}

TEST(HodgesLehmann, ShiftIsTheMedianOfAllPairwiseDifferences) {
  // Hand-computed: a - b differences of {1, 4, 6} and {0, 2} are 1, -1, 4, 2, 6, 4: median 3.
  const auto s = hodges_lehmann_shift({1, 4, 6}, {0, 2});
  ASSERT_TRUE(s.estimated);
  EXPECT_DOUBLE_EQ(s.estimate, 3.0);
}

TEST(HodgesLehmann, ThreeAgainstThreeReachesOnlyNinetyPercent) {
  // qwilcox(0.025, 3, 3) = 0, so R widens to [min, max] of the 9 differences: 1 - 1/10 * 2.
  const auto s = hodges_lehmann_shift({10, 11, 12}, {1, 2, 3});
  EXPECT_DOUBLE_EQ(s.ci.low, 7.0);
  EXPECT_DOUBLE_EQ(s.ci.high, 11.0);
  EXPECT_NEAR(s.confidence, 0.9, 1e-12);
  EXPECT_DOUBLE_EQ(s.estimate, 9.0);
}

TEST(HodgesLehmann, ExactIntervalUsesTheWilcoxonQuantile) {
  // 5 vs 5: qwilcox(0.025, 5, 5) = 3 (P(U <= 2) = 4/252 < 0.025 <= P(U <= 3) = 7/252), so the
  // interval runs from the 3rd to the 23rd of the 25 sorted differences; the achieved level is
  // 1 - 2 * 4/252.
  const std::vector<double> a = {10, 20, 30, 40, 50};
  const std::vector<double> b = {1, 2, 3, 4, 5};
  const auto s = hodges_lehmann_shift(a, b);
  std::vector<double> d;
  for (double x : a) {
    for (double y : b) d.push_back(x - y);
  }
  std::sort(d.begin(), d.end());
  EXPECT_DOUBLE_EQ(s.ci.low, d[2]);
  EXPECT_DOUBLE_EQ(s.ci.high, d[22]);
  EXPECT_NEAR(s.confidence, 1.0 - 8.0 / 252.0, 1e-12);
}

TEST(HodgesLehmann, RatioIsTheExponentialOfTheShiftOfLogs) {
  // b is a scaled exactly by 1/2: every log difference is log 2, so ratio and interval are 2.
  const auto r = hodges_lehmann_ratio({2, 4, 8, 16}, {1, 2, 4, 8});
  // log differences: log(a_i / b_j) = log 2 + (i - j) log 2; median over 16 pairs is log 2.
  EXPECT_NEAR(r.estimate, 2.0, 1e-12);
  EXPECT_LT(r.ci.low, 2.0);
  EXPECT_GT(r.ci.high, 2.0);
  const auto bad = hodges_lehmann_ratio({1, -1}, {1, 2});
  EXPECT_FALSE(bad.estimated);
}

}  // namespace
}  // namespace cb::results
