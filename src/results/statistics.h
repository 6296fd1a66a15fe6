// Descriptive statistics, Student-t confidence intervals and Welch's t-test over plain vectors.
// Small pure functions (Google Benchmark's statistics.cc is the model); NaN marks "undefined".
#pragma once

#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace cb::results {

// What a statistic is where it is undefined (too few values).
inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double mean(const std::vector<double>& v);           // NaN when empty
double sample_stddev(const std::vector<double>& v);  // n-1 denominator; NaN when n < 2
double median(const std::vector<double>& v);         // NaN when empty
double min_value(const std::vector<double>& v);      // NaN when empty
double max_value(const std::vector<double>& v);      // NaN when empty
// MLPerf's olympic mean: drop one minimum and one maximum, average the rest; only when n >= 5.
std::optional<double> olympic_mean(const std::vector<double>& v);

// Regularized incomplete beta function I_x(a, b), by Lentz's continued fraction.
double regularized_incomplete_beta(double x, double a, double b);
// P(T <= t) for Student's t with `df` (> 0, need not be an integer) degrees of freedom.
double student_t_cdf(double t, double df);
// The p-quantile of Student's t (0 < p < 1), by bisection on student_t_cdf.
double student_t_quantile(double p, double df);

struct ConfidenceInterval {
  double low = 0;
  double high = 0;
};

// Two-sided 95 % Student-t interval for the mean; nullopt when n < 2.
std::optional<ConfidenceInterval> mean_ci95(const std::vector<double>& v);

// Everything a report row shows for one metric of one group.
struct Summary {
  std::size_t n = 0;
  double mean = 0, stddev = 0, median = 0, min = 0, max = 0;  // stddev NaN when n < 2
  std::optional<ConfidenceInterval> ci95;                     // absent when n < 2
  std::optional<double> olympic_mean;                         // present when n >= 5
};
Summary summarize(const std::vector<double>& v);

// Welch's unequal-variance t-test of mean(a) - mean(b), two-sided.
struct WelchTest {
  bool tested = false;
  std::string not_tested_reason;  // when !tested: "not tested: n < 2 in ..." and the like
  double difference = 0;          // mean(a) - mean(b), reported even when untested
  double t = 0;
  double df = 0;  // Welch-Satterthwaite degrees of freedom
  double p_value = 1;
  ConfidenceInterval ci95;  // of the difference
};
WelchTest welch_t_test(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace cb::results
