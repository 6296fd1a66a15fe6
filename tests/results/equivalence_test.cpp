// TOST against R's equivalence::tost and power against Cohen's table.
#include "results/equivalence.h"

#include <gtest/gtest.h>

#include <cmath>

namespace cb::results {
namespace {

// Wellek's "clinic" data (var1 and var2 of groups 1 and 2, 15 patients each), and the results
// of R's equivalence::tost on it as statsmodels records them in
// statsmodels/stats/tests/test_tost.py (tost_clinic_indep_1, tost_clinic_indep,
// tost_clinic_1_indep).
const std::vector<double> kVar1Group1 = {2.84, 2.51, 2.41, 2.95, 3.14, 3.79, 4.14, 3.85,
                                         3.02, 3.45, 5.37, 3.81, 4.19, 3.16, 3.84};
const std::vector<double> kVar1Group2 = {2.60, 2.82, 2.18, 3.46, 4.01, 3.04, 3.47, 4.06,
                                         2.91, 3.59, 4.51, 3.16, 3.86, 3.31, 3.02};
const std::vector<double> kVar2Group1 = {4.00, 3.26, 4.14, 3.42, 3.25, 4.34, 4.97, 4.31,
                                         3.11, 3.41, 5.02, 4.21, 4.59, 5.30, 4.32};
const std::vector<double> kVar2Group2 = {3.76, 3.66, 3.65, 3.60, 3.48, 2.87, 3.24, 3.92,
                                         3.99, 4.21, 4.21, 3.31, 3.61, 2.97, 2.73};

TEST(Tost, RClinicVar1IsEquivalentWithinPointSix) {
  // tost(var1[1:15], var1[16:30], eps = 0.6): p = 0.04853083976236974, df = 26.7484787582315,
  // 90 % CI (-0.2666862980722534, 0.596019631405587): "rejected" (equivalent).
  const auto e = welch_tost(kVar1Group1, kVar1Group2, 0.6);
  ASSERT_TRUE(e.tested);
  EXPECT_NEAR(e.difference, 0.1646666666666667, 1e-12);
  EXPECT_NEAR(e.df, 26.7484787582315, 1e-9);
  EXPECT_NEAR(e.p_value, 0.04853083976236974, 1e-8);
  EXPECT_NEAR(e.ci90.low, -0.2666862980722534, 1e-8);
  EXPECT_NEAR(e.ci90.high, 0.596019631405587, 1e-8);
  EXPECT_TRUE(e.equivalent());
}

TEST(Tost, RClinicVar2IsNotShownEquivalent) {
  // tost(var2[1:15], var2[16:30], eps = 0.6): p = 0.4317936812594803, df = 24.11000151062728,
  // 90 % CI (0.194916250699966, 0.930417082633366): "not rejected".
  const auto e = welch_tost(kVar2Group1, kVar2Group2, 0.6);
  ASSERT_TRUE(e.tested);
  EXPECT_NEAR(e.df, 24.11000151062728, 1e-9);
  EXPECT_NEAR(e.p_value, 0.4317936812594803, 1e-8);
  EXPECT_NEAR(e.ci90.low, 0.194916250699966, 1e-8);
  EXPECT_NEAR(e.ci90.high, 0.930417082633366, 1e-8);
  EXPECT_FALSE(e.equivalent());
}

TEST(Tost, RClinicLogRatioWithinTwentyFivePercent) {
  // tost(log(var1[1:15]), log(var1[16:30]), eps = log(1.25)): p = 0.01047085593138891,
  // df = 27.61177037646526, 90 % CI (-0.0819851930203655, 0.1682298566654122).
  const auto e = log_ratio_tost(kVar1Group1, kVar1Group2, 0.25);
  ASSERT_TRUE(e.tested);
  EXPECT_NEAR(e.margin, std::log(1.25), 1e-15);
  EXPECT_NEAR(e.difference, 0.04312233182252334, 1e-12);
  EXPECT_NEAR(e.df, 27.61177037646526, 1e-9);
  EXPECT_NEAR(e.p_value, 0.01047085593138891, 1e-8);
  EXPECT_NEAR(e.ci90.low, -0.0819851930203655, 1e-8);
  EXPECT_NEAR(e.ci90.high, 0.1682298566654122, 1e-8);
}

TEST(Tost, EquivalentExactlyWhenTheNinetyPercentIntervalIsInsideTheMargins) {
  for (double margin : {0.3, 0.59, 0.6, 0.61, 1.0}) {
    const auto e = welch_tost(kVar1Group1, kVar1Group2, margin);
    const bool inside = e.ci90.low > -margin && e.ci90.high < margin;
    EXPECT_EQ(e.equivalent(), inside) << margin;
  }
}

TEST(Tost, FewerThanTwoValuesOrNoMarginIsNotTested) {
  EXPECT_FALSE(welch_tost({1.0}, {1.0, 2.0}, 0.5).tested);
  EXPECT_FALSE(welch_tost({1, 2}, {1, 3}, 0).tested);
  EXPECT_FALSE(log_ratio_tost({1, 0}, {1, 3}, 0.05).tested);
}

// Cohen (1988), Statistical Power Analysis for the Behavioral Sciences, Table 2.4.1: n per group
// for power 0.80 at two-sided alpha 0.05 is 64 for d = 0.5, 26 for d = 0.8 and 17 for d = 1.0.
// (Cohen's table rounds an approximation; at d <= 0.3 it is one below the exact value, which
// is why those rows are not checked here.)
TEST(Power, SamplesPerGroupMatchCohensTable) {
  EXPECT_EQ(samples_per_group(0.5, 1.0), 64);
  EXPECT_EQ(samples_per_group(0.8, 1.0), 26);
  EXPECT_EQ(samples_per_group(1.0, 1.0), 17);
  EXPECT_EQ(samples_per_group(5.0, 10.0), 64);  // only delta / sd matters
}

TEST(Power, PowerAtCohensSampleSizesIsJustAboveEightyPercent) {
  // Exact power of the t-test (G*Power): n = 64, d = 0.5 gives 0.8015; n = 63 falls below 0.8.
  EXPECT_NEAR(two_sample_t_power(64, 0.5, 1.0), 0.8015, 5e-4);
  EXPECT_LT(two_sample_t_power(63, 0.5, 1.0), 0.8);
  // With no difference the test rejects at its level: power = alpha.
  EXPECT_NEAR(two_sample_t_power(10, 0.0, 1.0), 0.05, 1e-6);
}

TEST(Power, NoSpreadNeedsTheMinimumAndNoDifferenceCannotBeDetected) {
  EXPECT_EQ(samples_per_group(0.5, 0.0), 2);
  EXPECT_FALSE(samples_per_group(0.0, 1.0).has_value());
  EXPECT_FALSE(samples_per_group(0.001, 1.0, 0.05, 0.8, 1000).has_value());
}

TEST(Power, PooledStddevWeightsByDegreesOfFreedom) {
  // Hand: sd {1, 2, 3} = 1 and var {2, 4, 6, 8, 10} = 10, so ss = 2 * 1 + 4 * 10 = 42 over 6 df.
  EXPECT_NEAR(pooled_stddev({1, 2, 3}, {2, 4, 6, 8, 10}), std::sqrt(42.0 / 6.0), 1e-12);
}

}  // namespace
}  // namespace cb::results
