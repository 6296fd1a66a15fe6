// TOST and power: textbook formulas (Schuirmann 1987; Cohen 1988, ch. 2).
#include "results/equivalence.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "results/rank_tests.h"
#include "results/statistics.h"

namespace cb::results {
namespace {

// E over V ~ chi-square(df) of f(sqrt(V / df)), by Simpson's rule on a range that holds all but
// a negligible tail of V (mean df, sd sqrt(2 df)).
template <typename F>
double expect_over_chi(double df, F f) {
  const double upper = df + 12.0 * std::sqrt(2.0 * df) + 40.0;
  const int steps = 4000;  // even, for Simpson
  const double h = upper / steps;
  const double log_norm = 0.5 * df * std::log(2.0) + std::lgamma(0.5 * df);
  auto density = [&](double v) {
    if (v <= 0) return df == 2 ? 0.5 : 0.0;
    return std::exp((0.5 * df - 1.0) * std::log(v) - 0.5 * v - log_norm);
  };
  double sum = 0;
  for (int i = 0; i <= steps; ++i) {
    const double v = i * h;
    const double weight = (i == 0 || i == steps) ? 1.0 : (i % 2 == 1 ? 4.0 : 2.0);
    sum += weight * density(v) * f(std::sqrt(v / df));
  }
  return sum * h / 3.0;
}
}  // namespace

EquivalenceTest welch_tost(const std::vector<double>& a, const std::vector<double>& b,
                           double margin) {
  EquivalenceTest e;
  e.margin = margin;
  const WelchTest w = welch_t_test(a, b);
  e.difference = w.difference;
  if (!w.tested) {
    e.not_tested_reason = w.not_tested_reason;
    return e;
  }
  if (!(margin > 0)) {
    e.not_tested_reason = "not tested: the equivalence margin must be positive";
    return e;
  }
  const double standard_error = std::sqrt(std::pow(sample_stddev(a), 2) / a.size() +
                                          std::pow(sample_stddev(b), 2) / b.size());
  e.df = w.df;
  e.p_lower = 1.0 - student_t_cdf((w.difference + margin) / standard_error, w.df);
  e.p_upper = student_t_cdf((w.difference - margin) / standard_error, w.df);
  e.p_value = std::max(e.p_lower, e.p_upper);
  const double half = student_t_quantile(0.95, w.df) * standard_error;
  e.ci90 = {w.difference - half, w.difference + half};
  e.tested = true;
  return e;
}

EquivalenceTest log_ratio_tost(const std::vector<double>& a, const std::vector<double>& b,
                               double relative_margin) {
  const auto positive = [](double x) { return x > 0; };
  if (!std::all_of(a.begin(), a.end(), positive) || !std::all_of(b.begin(), b.end(), positive)) {
    EquivalenceTest e;
    e.not_tested_reason = "not tested: a ratio needs positive values";
    return e;
  }
  std::vector<double> la, lb;
  for (double x : a) la.push_back(std::log(x));
  for (double y : b) lb.push_back(std::log(y));
  return welch_tost(la, lb, std::log1p(relative_margin));
}

double two_sample_t_power(int n, double delta, double sd, double alpha) {
  if (n < 2 || !(sd > 0)) return kNaN;
  const double df = 2.0 * n - 2.0;
  const double ncp = std::fabs(delta) / (sd * std::sqrt(2.0 / n));
  const double critical = student_t_quantile(1.0 - alpha / 2.0, df);
  // T' = (Z + ncp) / S with S = sqrt(V / df): P(T' > c) + P(T' < -c), given S, is normal.
  return expect_over_chi(df, [&](double s) {
    return (1.0 - normal_cdf(critical * s - ncp)) + normal_cdf(-critical * s - ncp);
  });
}

std::optional<int> samples_per_group(double delta, double sd, double alpha, double power,
                                     int max_n) {
  if (!(sd > 0)) return 2;
  if (!(std::fabs(delta) > 0)) return std::nullopt;
  // Start a little below the normal approximation 2 (z_a + z_b)^2 (sd / delta)^2; power grows
  // with n, so the first n that reaches the target is the answer.
  const double z = normal_quantile(1 - alpha / 2) + normal_quantile(power);
  const double approx = 2.0 * z * z * std::pow(sd / delta, 2);
  if (approx > max_n) return std::nullopt;
  for (int n = std::max(2, static_cast<int>(approx) - 3); n <= max_n; ++n) {
    if (two_sample_t_power(n, delta, sd, alpha) >= power) return n;
  }
  return std::nullopt;
}

double pooled_stddev(const std::vector<double>& a, const std::vector<double>& b) {
  const double na = static_cast<double>(a.size());
  const double nb = static_cast<double>(b.size());
  if (na + nb < 3) return kNaN;
  double ss = 0;
  if (a.size() >= 2) ss += (na - 1) * std::pow(sample_stddev(a), 2);
  if (b.size() >= 2) ss += (nb - 1) * std::pow(sample_stddev(b), 2);
  return std::sqrt(ss / (na + nb - 2));
}

}  // namespace cb::results
