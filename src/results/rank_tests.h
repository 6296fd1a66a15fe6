// Rank-based inference for two independent samples: the Mann–Whitney U test (exact for small
// samples without ties, normal approximation with tie and continuity correction otherwise) and
// the Hodges–Lehmann estimate of a shift (or, on log values, of a ratio) with its interval.
// The conventions are R's wilcox.test and SciPy's mannwhitneyu; the tests check their examples.
#pragma once

#include <string>
#include <vector>

#include "results/statistics.h"

namespace cb::results {

// The standard normal distribution (the approximations below and the power computation use it).
double normal_cdf(double z);
double normal_quantile(double p);  // 0 < p < 1; NaN otherwise

// The alternative a test is against; `greater` means a tends to exceed b.
enum class Alternative { two_sided, greater, less };

struct MannWhitneyOptions {
  Alternative alternative = Alternative::two_sided;
  // automatic: exact when both samples have at most kExactLimit values and there are no ties.
  enum class Method { automatic, exact, normal } method = Method::automatic;
  bool continuity_correction = true;  // normal approximation only
};
inline constexpr std::size_t kMannWhitneyExactLimit = 50;  // R's limit for the exact test

struct MannWhitneyTest {
  bool tested = false;
  std::string not_tested_reason;
  double u = 0;  // U of a: pairs (a_i, b_j) with a_i > b_j, ties counting one half (R's W)
  bool exact = false;
  double z = 0;  // the normal approximation's statistic, when not exact
  double p_value = 1;
  // The smallest p-value the exact test can give for these sizes (1 / C(n+m, n), twice that
  // two-sided): with 3 and 3 values a two-sided p cannot go below 0.1. 0 when not exact.
  double min_p_value = 0;
};
MannWhitneyTest mann_whitney_u(const std::vector<double>& a, const std::vector<double>& b,
                               const MannWhitneyOptions& options = {});

// The smallest two-sided p-value the exact Mann–Whitney test can reach with n and m values.
double mann_whitney_min_p_two_sided(std::size_t n, std::size_t m);

// Hodges–Lehmann estimate of the shift a - b (the median of all differences a_i - b_j) and the
// distribution-free interval from the Mann–Whitney distribution (Bauer 1972; R's wilcox.test
// with conf.int = TRUE): exact without ties and at most kMannWhitneyExactLimit values a side,
// else the normal approximation with tie correction. When the requested confidence cannot be
// reached (3 vs 3: at most 90 %), the interval is [min, max] of the differences and
// `confidence` says what it achieves.
struct ShiftEstimate {
  bool estimated = false;
  std::string not_estimated_reason;
  double estimate = 0;
  ConfidenceInterval ci;
  double confidence = 0;  // achieved confidence level of ci
};
ShiftEstimate hodges_lehmann_shift(const std::vector<double>& a, const std::vector<double>& b,
                                   double confidence = 0.95);
// The same on log values, returned as the ratio of a's typical value to b's (exp of the shift)
// and its interval: for skewed positive metrics such as times and throughputs.
ShiftEstimate hodges_lehmann_ratio(const std::vector<double>& a, const std::vector<double>& b,
                                   double confidence = 0.95);

}  // namespace cb::results
