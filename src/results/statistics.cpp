// Statistics for reports: textbook formulas, verified against table values in the tests.
#include "results/statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace cb::results {
namespace {

// Continued fraction of I_x(a, b) (modified Lentz), converging for x < (a+1)/(a+b+2).
double incomplete_beta_fraction(double x, double a, double b) {
  constexpr double kTiny = 1e-300;
  constexpr double kEpsilon = 1e-15;
  double c = 1.0;
  double d = 1.0 - (a + b) * x / (a + 1.0);
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= 10000; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    h *= d * c;
    aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1.0) < kEpsilon) break;
  }
  return h;
}
}  // namespace

double mean(const std::vector<double>& v) {
  if (v.empty()) return kNaN;
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

double sample_stddev(const std::vector<double>& v) {
  if (v.size() < 2) return kNaN;
  const double m = mean(v);
  double sum_sq = 0;
  for (double x : v) sum_sq += (x - m) * (x - m);
  return std::sqrt(sum_sq / static_cast<double>(v.size() - 1));
}

double median(const std::vector<double>& v) {
  if (v.empty()) return kNaN;
  std::vector<double> s = v;
  std::sort(s.begin(), s.end());
  const std::size_t n = s.size();
  return n % 2 == 1 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

double min_value(const std::vector<double>& v) {
  return v.empty() ? kNaN : *std::min_element(v.begin(), v.end());
}

double max_value(const std::vector<double>& v) {
  return v.empty() ? kNaN : *std::max_element(v.begin(), v.end());
}

std::optional<double> olympic_mean(const std::vector<double>& v) {
  if (v.size() < 5) return std::nullopt;
  std::vector<double> s = v;
  std::sort(s.begin(), s.end());
  return mean(std::vector<double>(s.begin() + 1, s.end() - 1));
}

double regularized_incomplete_beta(double x, double a, double b) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double log_front =
      std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  const double front = std::exp(log_front);
  // Use the symmetry I_x(a,b) = 1 - I_{1-x}(b,a) where the fraction converges faster.
  if (x < (a + 1.0) / (a + b + 2.0)) return front * incomplete_beta_fraction(x, a, b) / a;
  return 1.0 - front * incomplete_beta_fraction(1.0 - x, b, a) / b;
}

double student_t_cdf(double t, double df) {
  if (std::isnan(t) || !(df > 0)) return kNaN;
  if (std::isinf(t)) return t > 0 ? 1.0 : 0.0;
  const double tail = 0.5 * regularized_incomplete_beta(df / (df + t * t), 0.5 * df, 0.5);
  return t > 0 ? 1.0 - tail : tail;
}

double student_t_quantile(double p, double df) {
  if (!(p > 0 && p < 1) || !(df > 0)) return kNaN;
  if (p == 0.5) return 0;
  // Bracket the root, then bisect: the cdf is monotone, so this cannot fail to converge.
  double lo = -1, hi = 1;
  while (student_t_cdf(lo, df) > p) lo *= 2;
  while (student_t_cdf(hi, df) < p) hi *= 2;
  for (int i = 0; i < 200 && hi - lo > 1e-12 * std::max(1.0, std::fabs(hi)); ++i) {
    const double mid = 0.5 * (lo + hi);
    if (student_t_cdf(mid, df) < p)
      lo = mid;
    else
      hi = mid;
  }
  return 0.5 * (lo + hi);
}

std::optional<ConfidenceInterval> mean_ci95(const std::vector<double>& v) {
  if (v.size() < 2) return std::nullopt;
  const double n = static_cast<double>(v.size());
  const double half = student_t_quantile(0.975, n - 1) * sample_stddev(v) / std::sqrt(n);
  const double m = mean(v);
  return ConfidenceInterval{m - half, m + half};
}

Summary summarize(const std::vector<double>& v) {
  Summary s;
  s.n = v.size();
  if (v.empty()) return s;
  s.mean = mean(v);
  s.stddev = sample_stddev(v);
  s.median = median(v);
  s.min = min_value(v);
  s.max = max_value(v);
  s.ci95 = mean_ci95(v);
  s.olympic_mean = olympic_mean(v);
  return s;
}

WelchTest welch_t_test(const std::vector<double>& a, const std::vector<double>& b) {
  WelchTest w;
  if (!a.empty() && !b.empty()) w.difference = mean(a) - mean(b);
  if (a.size() < 2 || b.size() < 2) {
    w.not_tested_reason = "not tested: fewer than 2 results in a group";
    return w;
  }
  const double na = static_cast<double>(a.size());
  const double nb = static_cast<double>(b.size());
  const double va = std::pow(sample_stddev(a), 2) / na;
  const double vb = std::pow(sample_stddev(b), 2) / nb;
  const double se = std::sqrt(va + vb);
  if (!(se > 0)) {
    w.not_tested_reason = "not tested: no variation within either group";
    return w;
  }
  w.tested = true;
  w.t = w.difference / se;
  w.df = (va + vb) * (va + vb) / (va * va / (na - 1) + vb * vb / (nb - 1));
  w.p_value = std::min(1.0, 2.0 * student_t_cdf(-std::fabs(w.t), w.df));
  const double half = student_t_quantile(0.975, w.df) * se;
  w.ci95 = {w.difference - half, w.difference + half};
  return w;
}

}  // namespace cb::results
