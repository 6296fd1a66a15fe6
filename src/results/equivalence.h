// Equivalence testing (Schuirmann's two one-sided tests, TOST) and the sample size a two-sample
// comparison needs for a given power. Checked against R's `equivalence::tost` on Wellek's clinic
// data and against Cohen's power table in tests/results/equivalence_test.cpp.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "results/statistics.h"

namespace cb::results {

// TOST of |mean(a) - mean(b)| < margin with Welch's standard error and degrees of freedom:
// p_lower tests H0 "difference <= -margin", p_upper tests H0 "difference >= margin", and
// p_value = max(p_lower, p_upper). Equivalence at level alpha holds exactly when the
// (1 - 2 alpha) interval of the difference lies inside (-margin, margin).
struct EquivalenceTest {
  bool tested = false;
  std::string not_tested_reason;
  double margin = 0;
  double difference = 0;  // mean(a) - mean(b)
  double df = 0;          // Welch-Satterthwaite
  double p_lower = 1, p_upper = 1, p_value = 1;
  ConfidenceInterval ci90;  // of the difference: the interval the two tests at 5 % amount to
  bool equivalent(double alpha = 0.05) const { return tested && p_value < alpha; }
};
EquivalenceTest welch_tost(const std::vector<double>& a, const std::vector<double>& b,
                           double margin);
// TOST of the ratio of geometric means inside (1/(1 + margin), 1 + margin): Welch's TOST on
// log values with margin log(1 + margin), the usual bioequivalence test (difference and ci90
// are then on the log scale).
EquivalenceTest log_ratio_tost(const std::vector<double>& a, const std::vector<double>& b,
                               double relative_margin);

// Power of the two-sided two-sample t-test at level alpha, with n values per group, when the
// true difference is `delta` and the common standard deviation `sd`: P(|T'| > t_{1-alpha/2})
// for T' non-central t with 2n - 2 degrees of freedom and non-centrality delta / (sd sqrt(2/n)),
// integrated numerically over the chi-square distribution of the variance estimate.
double two_sample_t_power(int n, double delta, double sd, double alpha = 0.05);
// The smallest n per group (at least 2) with that power >= `power`; nullopt above max_n.
// sd <= 0 needs the minimum, 2.
std::optional<int> samples_per_group(double delta, double sd, double alpha = 0.05,
                                     double power = 0.8, int max_n = 100000);
// The pooled standard deviation of two samples; NaN when they have fewer than 3 values together.
double pooled_stddev(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace cb::results
