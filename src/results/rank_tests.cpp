// Mann–Whitney U and Hodges–Lehmann: R's wilcox.test algorithms, checked against R's and
// SciPy's documented examples in tests/results/rank_tests_test.cpp.
#include "results/rank_tests.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "results/statistics.h"

namespace cb::results {
namespace {

// Midranks of the pooled sample (a first, then b), and the tie correction sum(t^3 - t).
struct PooledRanks {
  std::vector<double> ranks;
  double tie_sum = 0;
};
PooledRanks pooled_ranks(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<std::pair<double, std::size_t>> all;
  for (std::size_t i = 0; i < a.size(); ++i) all.emplace_back(a[i], i);
  for (std::size_t j = 0; j < b.size(); ++j) all.emplace_back(b[j], a.size() + j);
  std::sort(all.begin(), all.end());
  PooledRanks r;
  r.ranks.assign(all.size(), 0);
  for (std::size_t i = 0; i < all.size();) {
    std::size_t j = i;
    while (j + 1 < all.size() && all[j + 1].first == all[i].first) ++j;
    const double t = static_cast<double>(j - i + 1);
    const double midrank = 0.5 * static_cast<double>(i + j) + 1.0;
    for (std::size_t k = i; k <= j; ++k) r.ranks[all[k].second] = midrank;
    r.tie_sum += t * t * t - t;
    i = j + 1;
  }
  return r;
}

// Number of orderings of n a's and m b's with each U = 0..n*m (no ties): the coefficients of the
// Gaussian binomial, by the recursion f(i, j, u) = f(i-1, j, u-j) + f(i, j-1, u).
std::vector<double> exact_u_counts(std::size_t n, std::size_t m) {
  const std::size_t top = n * m;
  std::vector<std::vector<double>> row(m + 1, std::vector<double>(top + 1, 0.0));
  for (std::size_t j = 0; j <= m; ++j) row[j][0] = 1;  // i = 0: one ordering, U = 0
  for (std::size_t i = 1; i <= n; ++i) {
    std::vector<std::vector<double>> next(m + 1, std::vector<double>(top + 1, 0.0));
    next[0][0] = 1;
    for (std::size_t j = 1; j <= m; ++j) {
      for (std::size_t u = 0; u <= top; ++u) {
        next[j][u] = next[j - 1][u] + (u >= j ? row[j][u - j] : 0.0);
      }
    }
    row = std::move(next);
  }
  return row[m];
}

// P(U <= u) for each u, under the null hypothesis.
std::vector<double> exact_u_cdf(std::size_t n, std::size_t m) {
  std::vector<double> counts = exact_u_counts(n, m);
  double total = 0;
  for (double c : counts) total += c;
  double running = 0;
  for (double& c : counts) {
    running += c;
    c = running / total;
  }
  return counts;
}

bool has_ties(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> all = a;
  all.insert(all.end(), b.begin(), b.end());
  std::sort(all.begin(), all.end());
  return std::adjacent_find(all.begin(), all.end()) != all.end();
}

bool use_exact(const std::vector<double>& a, const std::vector<double>& b,
               MannWhitneyOptions::Method method) {
  if (method == MannWhitneyOptions::Method::normal) return false;
  if (method == MannWhitneyOptions::Method::exact) return true;
  return a.size() <= kMannWhitneyExactLimit && b.size() <= kMannWhitneyExactLimit &&
         !has_ties(a, b);
}

// Variance of U under the null hypothesis, corrected for ties.
double u_variance(double n, double m, double tie_sum) {
  const double total = n + m;
  return n * m / 12.0 * ((total + 1.0) - tie_sum / (total * (total - 1.0)));
}

void exact_p(MannWhitneyTest& t, std::size_t n, std::size_t m, Alternative alternative) {
  const std::vector<double> cdf = exact_u_cdf(n, m);
  const auto u = static_cast<std::size_t>(std::llround(t.u));
  const double lower = cdf[u];                           // P(U <= u)
  const double upper = u == 0 ? 1.0 : 1.0 - cdf[u - 1];  // P(U >= u)
  t.exact = true;
  t.min_p_value = cdf[0];
  if (alternative == Alternative::greater) {
    t.p_value = upper;
  } else if (alternative == Alternative::less) {
    t.p_value = lower;
  } else {
    t.p_value = std::min(1.0, 2.0 * std::min(lower, upper));
    t.min_p_value = std::min(1.0, 2.0 * cdf[0]);
  }
}

void normal_p(MannWhitneyTest& t, double n, double m, double tie_sum,
              const MannWhitneyOptions& options) {
  const double sigma = std::sqrt(u_variance(n, m, tie_sum));
  const double centred = t.u - n * m / 2.0;
  double correction = 0;
  if (options.continuity_correction) {
    if (options.alternative == Alternative::two_sided) {
      correction = centred > 0 ? 0.5 : (centred < 0 ? -0.5 : 0.0);
    } else {
      correction = options.alternative == Alternative::greater ? 0.5 : -0.5;
    }
  }
  t.z = (centred - correction) / sigma;
  if (options.alternative == Alternative::greater) {
    t.p_value = 1.0 - normal_cdf(t.z);
  } else if (options.alternative == Alternative::less) {
    t.p_value = normal_cdf(t.z);
  } else {
    t.p_value = std::min(1.0, 2.0 * std::min(normal_cdf(t.z), 1.0 - normal_cdf(t.z)));
  }
}

std::vector<double> sorted_differences(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> d;
  d.reserve(a.size() * b.size());
  for (double x : a) {
    for (double y : b) d.push_back(x - y);
  }
  std::sort(d.begin(), d.end());
  return d;
}
}  // namespace

double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

double normal_quantile(double p) {
  if (!(p > 0 && p < 1)) return kNaN;
  double lo = -40, hi = 40;  // the cdf is monotone: bisection cannot fail
  for (int i = 0; i < 200 && hi - lo > 1e-14; ++i) {
    const double mid = 0.5 * (lo + hi);
    (normal_cdf(mid) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

double mann_whitney_min_p_two_sided(std::size_t n, std::size_t m) {
  if (n == 0 || m == 0) return 1.0;
  // 2 / C(n+m, n), computed in logs so large sizes do not overflow.
  const double log_choose = std::lgamma(static_cast<double>(n + m) + 1) -
                            std::lgamma(static_cast<double>(n) + 1) -
                            std::lgamma(static_cast<double>(m) + 1);
  return std::min(1.0, 2.0 * std::exp(-log_choose));
}

MannWhitneyTest mann_whitney_u(const std::vector<double>& a, const std::vector<double>& b,
                               const MannWhitneyOptions& options) {
  MannWhitneyTest t;
  if (a.empty() || b.empty()) {
    t.not_tested_reason = "not tested: a group has no results";
    return t;
  }
  const PooledRanks r = pooled_ranks(a, b);
  const double n = static_cast<double>(a.size());
  const double m = static_cast<double>(b.size());
  double rank_sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) rank_sum += r.ranks[i];
  t.u = rank_sum - n * (n + 1.0) / 2.0;
  if (use_exact(a, b, options.method)) {
    exact_p(t, a.size(), b.size(), options.alternative);
  } else {
    if (!(u_variance(n, m, r.tie_sum) > 0)) {
      t.not_tested_reason = "not tested: every value is the same";
      return t;
    }
    normal_p(t, n, m, r.tie_sum, options);
  }
  t.tested = true;
  return t;
}

ShiftEstimate hodges_lehmann_shift(const std::vector<double>& a, const std::vector<double>& b,
                                   double confidence) {
  ShiftEstimate s;
  if (a.empty() || b.empty()) {
    s.not_estimated_reason = "a group has no results";
    return s;
  }
  const std::vector<double> d = sorted_differences(a, b);
  s.estimate = median(d);
  s.estimated = true;
  const std::size_t nm = d.size();
  const double alpha = 1.0 - confidence;
  std::size_t k = 1;  // the interval is [d_(k), d_(nm+1-k)], 1-based
  if (use_exact(a, b, MannWhitneyOptions::Method::automatic)) {
    // R: qu = qwilcox(alpha/2, n, m), at least 1; achieved alpha = 2 P(U <= qu - 1).
    const std::vector<double> cdf = exact_u_cdf(a.size(), b.size());
    std::size_t qu = 0;
    while (qu + 1 < cdf.size() && cdf[qu] < alpha / 2) ++qu;
    k = std::max<std::size_t>(qu, 1);
    s.confidence = 1.0 - std::min(1.0, 2.0 * cdf[k - 1]);
  } else {
    const PooledRanks r = pooled_ranks(a, b);
    const double sigma = std::sqrt(
        u_variance(static_cast<double>(a.size()), static_cast<double>(b.size()), r.tie_sum));
    const double c =
        std::floor(static_cast<double>(nm) / 2.0 - normal_quantile(1 - alpha / 2) * sigma);
    k = c >= 1 ? static_cast<std::size_t>(c) : 1;
    s.confidence = c >= 1 ? confidence : kNaN;  // below the request, by an unknown amount
  }
  s.ci = {d[k - 1], d[nm - k]};
  return s;
}

ShiftEstimate hodges_lehmann_ratio(const std::vector<double>& a, const std::vector<double>& b,
                                   double confidence) {
  std::vector<double> la, lb;
  for (double x : a) la.push_back(std::log(x));
  for (double y : b) lb.push_back(std::log(y));
  const auto positive = [](double x) { return x > 0; };
  if (!std::all_of(a.begin(), a.end(), positive) || !std::all_of(b.begin(), b.end(), positive)) {
    ShiftEstimate s;
    s.not_estimated_reason = "a ratio needs positive values";
    return s;
  }
  ShiftEstimate s = hodges_lehmann_shift(la, lb, confidence);
  if (!s.estimated) return s;
  s.estimate = std::exp(s.estimate);
  s.ci = {std::exp(s.ci.low), std::exp(s.ci.high)};
  return s;
}

}  // namespace cb::results
