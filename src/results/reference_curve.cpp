#include "results/reference_curve.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>
#include <tuple>

#include "results/statistics.h"

namespace cb::results {

std::vector<TrialCurve> completed_trial_curves(const ResultsSnapshot& snapshot) {
  std::map<std::int64_t, std::vector<std::pair<int, double>>> by_trial;
  for (const auto& e : snapshot.epochs) {
    if (e.test_accuracy) by_trial[e.trial_id].emplace_back(e.epoch, *e.test_accuracy);
  }
  std::vector<TrialCurve> curves;
  for (const auto& trial : snapshot.trials) {
    if (trial.status != TrialStatus::completed) continue;
    TrialCurve curve{&trial, by_trial[trial.id]};
    std::sort(curve.accuracy.begin(), curve.accuracy.end());
    curves.push_back(std::move(curve));
  }
  return curves;
}

std::vector<EpochValues> pool_epochs(const std::vector<TrialCurve>& curves) {
  std::map<int, std::vector<double>> pooled;
  for (const auto& c : curves) {
    for (const auto& [epoch, acc] : c.accuracy) pooled[epoch].push_back(acc);
  }
  std::vector<EpochValues> out;
  for (auto& [epoch, values] : pooled) out.push_back({epoch, std::move(values)});
  return out;
}

namespace {

// What a reader of the reference needs to know about the machine that produced it.
nlohmann::json machine_summary(const TrialRecord& trial) {
  const auto& env = trial.environment;
  nlohmann::json m = nlohmann::json::object();
  auto copy = [&](const char* to, const nlohmann::json::json_pointer& from) {
    if (env.contains(from)) m[to] = env.at(from);
  };
  copy("os", nlohmann::json::json_pointer("/os/name"));
  copy("cpu", nlohmann::json::json_pointer("/cpu/model"));
  copy("logical_cores", nlohmann::json::json_pointer("/cpu/logical_cores"));
  copy("blas", nlohmann::json::json_pointer("/blas/kind"));
  copy("gpus", nlohmann::json::json_pointer("/gpus"));
  copy("cifarbench_version", nlohmann::json::json_pointer("/build/cifarbench_version"));
  copy("git_commit", nlohmann::json::json_pointer("/build/git_commit"));
  m["device"] = trial.device;
  return m;
}

nlohmann::json recipe_config_of(const TrialRecord& trial) {
  if (!trial.config.is_object() || !trial.config.contains("recipe"))
    return nlohmann::json::object();
  auto recipe = trial.config.at("recipe");
  if (recipe.is_object()) recipe.erase("source");  // a path inside the source results directory
  return recipe;
}

ReferenceCurve curve_of(const std::vector<TrialCurve>& curves, const std::string& created,
                        const std::string& source) {
  const TrialRecord& first = *curves.front().trial;
  ReferenceCurve ref;
  ref.model = first.model;
  ref.recipe = first.recipe;
  ref.dataset = first.dataset;
  ref.source = source;
  ref.created = created;
  ref.recipe_config = recipe_config_of(first);
  ref.machine = machine_summary(first);
  std::set<std::string> frameworks;
  std::set<std::uint64_t> seeds;
  for (const auto& c : curves) {
    ref.synthetic = ref.synthetic || c.trial->synthetic;
    frameworks.insert(c.trial->framework);
    seeds.insert(c.trial->seed);
    ref.trials.push_back(c.trial->key);
  }
  ref.frameworks.assign(frameworks.begin(), frameworks.end());
  ref.seeds.assign(seeds.begin(), seeds.end());
  ref.epochs = pool_epochs(curves);
  return ref;
}

}  // namespace

std::vector<ReferenceCurve> build_reference_curves(const ResultsSnapshot& snapshot,
                                                   const std::string& framework,
                                                   const std::string& created) {
  std::map<std::tuple<std::string, std::string, std::string>, std::vector<TrialCurve>> groups;
  for (auto& c : completed_trial_curves(snapshot)) {
    if (!framework.empty() && c.trial->framework != framework) continue;
    if (c.accuracy.empty()) continue;
    groups[{c.trial->model, c.trial->recipe, c.trial->dataset}].push_back(std::move(c));
  }
  std::vector<ReferenceCurve> out;
  for (const auto& [key, curves] : groups) {
    out.push_back(curve_of(curves, created, snapshot.database));
  }
  return out;
}

const char* to_string(EpochTest test) {
  switch (test) {
    case EpochTest::welch:
      return "welch";
    case EpochTest::prediction:
      return "prediction";
    case EpochTest::floor:
      return "floor";
  }
  return "?";
}

namespace {

// One matched epoch before the correction: the test's t, df and one-sided p, or the floor rule.
EpochComparison compare_epoch(int epoch, const std::vector<double>& ref,
                              const std::vector<double>& obs, const ReferenceRule& rule) {
  EpochComparison c;
  c.epoch = epoch;
  c.n_reference = ref.size();
  c.n = obs.size();
  c.reference_mean = mean(ref);
  c.reference_sd = sample_stddev(ref);
  c.mean = mean(obs);
  const double shortfall = c.mean - c.reference_mean + rule.margin;  // < 0: below the margin
  double se = 0;
  if (c.n_reference >= 2 && c.n >= 2) {
    const double vr = std::pow(c.reference_sd, 2) / static_cast<double>(c.n_reference);
    const double vo = std::pow(sample_stddev(obs), 2) / static_cast<double>(c.n);
    se = std::sqrt(vr + vo);
    if (se > 0) {
      c.test = EpochTest::welch;
      c.df = (vr + vo) * (vr + vo) /
             (vr * vr / static_cast<double>(c.n_reference - 1) +
              vo * vo / static_cast<double>(c.n - 1));
    }
  } else if (c.n_reference >= 2 && c.n == 1) {
    se = c.reference_sd * std::sqrt(1.0 + 1.0 / static_cast<double>(c.n_reference));
    if (se > 0) {
      c.test = EpochTest::prediction;
      c.df = static_cast<double>(c.n_reference - 1);
    }
  }
  if (c.test == EpochTest::floor) {
    c.below = shortfall < 0;
    return c;
  }
  c.t = shortfall / se;
  c.p_value = student_t_cdf(c.t, c.df);
  return c;
}

// Holm's step-down procedure over the tested epochs: the i-th smallest p-value (1-based) is
// compared with alpha / (m - i + 1) until the first one that is not below its level.
void apply_holm(std::vector<EpochComparison>& epochs, double alpha) {
  std::vector<std::size_t> tested;
  for (std::size_t i = 0; i < epochs.size(); ++i) {
    if (epochs[i].test != EpochTest::floor) tested.push_back(i);
  }
  std::stable_sort(tested.begin(), tested.end(), [&](std::size_t a, std::size_t b) {
    return epochs[a].p_value < epochs[b].p_value;
  });
  const std::size_t m = tested.size();
  bool rejecting = true;
  for (std::size_t rank = 0; rank < m; ++rank) {
    auto& c = epochs[tested[rank]];
    c.holm_alpha = alpha / static_cast<double>(m - rank);
    rejecting = rejecting && c.p_value <= c.holm_alpha;
    c.below = rejecting;
  }
}

}  // namespace

CurveCheck check_curve(const std::vector<EpochValues>& reference,
                       const std::vector<EpochValues>& observed, const ReferenceRule& rule) {
  std::map<int, const std::vector<double>*> ref_by_epoch;
  for (const auto& e : reference) {
    if (!e.values.empty()) ref_by_epoch[e.epoch] = &e.values;
  }
  CurveCheck check;
  for (const auto& e : observed) {
    const auto it = ref_by_epoch.find(e.epoch);
    if (it == ref_by_epoch.end() || e.values.empty()) continue;
    check.epochs.push_back(compare_epoch(e.epoch, *it->second, e.values, rule));
  }
  std::sort(check.epochs.begin(), check.epochs.end(),
            [](const EpochComparison& a, const EpochComparison& b) { return a.epoch < b.epoch; });
  apply_holm(check.epochs, rule.alpha);
  for (const auto& c : check.epochs) {
    if (c.below) {
      check.first_failing_epoch = c.epoch;
      break;
    }
  }
  return check;
}

}  // namespace cb::results
