// Reference learning curves (docs/references.md): the test accuracy per epoch of a chosen set of
// trials of one (model, recipe, dataset), and the rule that flags trials significantly below it,
// as MLPerf checks submissions against reference convergence points.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "results/records.h"

namespace cb::results {

// The test accuracies (fractions) of several trials at one epoch.
struct EpochValues {
  int epoch = 0;  // 1-based
  std::vector<double> values;
};

struct ReferenceCurve {
  std::string name;  // the file's stem: what `--reference NAME` finds it by
  std::string model, recipe, dataset;
  bool synthetic = false;  // built from synthetic-data trials: matches only synthetic trials
  std::vector<std::string> frameworks;
  std::vector<std::uint64_t> seeds;
  std::vector<std::string> trials;  // the source trials' keys
  std::string source;               // the results database it was built from
  std::string created;              // ISO 8601 UTC
  nlohmann::json recipe_config = nlohmann::json::object();  // the first trial's resolved recipe
  nlohmann::json machine = nlohmann::json::object();        // a summary of its environment
  std::vector<EpochValues> epochs;                          // ascending epoch
};

// The completed trials of a results snapshot, one curve per trial, grouped by (framework, model,
// recipe, dataset); epochs without a test accuracy are left out.
struct TrialCurve {
  const TrialRecord* trial = nullptr;
  std::vector<std::pair<int, double>> accuracy;  // (epoch, test accuracy), ascending epoch
};
std::vector<TrialCurve> completed_trial_curves(const ResultsSnapshot& snapshot);
// Per epoch, the values of every curve that has one (ascending epoch).
std::vector<EpochValues> pool_epochs(const std::vector<TrialCurve>& curves);

// One reference per (model, recipe, dataset) of the completed trials, only `framework`'s when it
// is not empty; `created` stamps each. Sorted by (model, recipe, dataset).
std::vector<ReferenceCurve> build_reference_curves(const ResultsSnapshot& snapshot,
                                                   const std::string& framework,
                                                   const std::string& created);

// The rule's settings: a one-sided test at level `alpha` (Holm over the matched epochs) of
// "observed mean < reference mean - margin"; `margin` alone decides when nothing can be tested.
struct ReferenceRule {
  double alpha = 0.05;
  double margin = 0.005;  // 0.5 accuracy points
};

enum class EpochTest {
  welch,       // n >= 2 observed and n >= 2 reference: one-sided Welch t-test of the means
  prediction,  // one observed value against the reference sample (t with n_ref - 1 df)
  floor        // reference n < 2 or no spread at all: below when mean < reference mean - margin
};
const char* to_string(EpochTest test);

struct EpochComparison {
  int epoch = 0;
  std::size_t n_reference = 0, n = 0;
  double reference_mean = 0, reference_sd = 0;  // sd NaN when n_reference < 2
  double mean = 0;                              // of the observed values
  EpochTest test = EpochTest::floor;
  double t = 0, df = 0;   // tests only
  double p_value = 1;     // one-sided; 1 for the floor rule
  double holm_alpha = 0;  // the level Holm compared this p-value with (tests only)
  bool below = false;     // significantly below (Holm-rejected), or under the floor
};

struct CurveCheck {
  std::vector<EpochComparison> epochs;  // matched epochs, ascending
  std::optional<int> first_failing_epoch;
  bool failed() const { return first_failing_epoch.has_value(); }
};

// Compares observed values with the reference at every epoch where both have one (rule in
// docs/references.md); fails at the first epoch found significantly below.
CurveCheck check_curve(const std::vector<EpochValues>& reference,
                       const std::vector<EpochValues>& observed, const ReferenceRule& rule);

}  // namespace cb::results
