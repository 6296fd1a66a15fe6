// Reference curves and the check against them: the rule's statistics against hand-computed
// values (closed forms of Student's t CDF for 2 and 4 degrees of freedom), grouping, matching,
// and the reference file format.
#include "results/reference_curve.h"
#include "results/reference_check.h"
#include "results/reference_file.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "core/error.h"
#include "support/temp_dir.h"

namespace cb::results {
namespace {

// Student's t CDF in closed form: df 2 and df 4 (u = t / sqrt(df + t^2)).
double t_cdf_df2(double t) { return 0.5 + t / (2 * std::sqrt(2 + t * t)); }
double t_cdf_df4(double t) {
  const double u = t / std::sqrt(4 + t * t);
  return 0.5 + 0.75 * u * (1 - u * u / 3);
}

const std::vector<double> kReference = {0.50, 0.52, 0.54};  // mean 0.52, sd 0.02

TEST(ReferenceCheck, GroupBelowTheReferenceFailsByAOneSidedWelchTest) {
  // Means 0.42 vs 0.52, both sd 0.02, n 3: se = sqrt(2 * 0.0004 / 3), df = 4.
  const auto check = check_curve({{1, kReference}}, {{1, {0.40, 0.42, 0.44}}}, ReferenceRule{});
  ASSERT_EQ(check.epochs.size(), 1u);
  const auto& c = check.epochs[0];
  const double t = (0.42 - 0.52 + 0.005) / std::sqrt(2 * 0.0004 / 3);  // -5.8175
  EXPECT_EQ(c.test, EpochTest::welch);
  EXPECT_NEAR(c.t, t, 1e-9);
  EXPECT_NEAR(c.df, 4, 1e-9);
  EXPECT_NEAR(c.p_value, t_cdf_df4(t), 1e-9);  // 0.00217
  EXPECT_NEAR(c.p_value, 0.0021733, 1e-6);
  EXPECT_TRUE(c.below);
  EXPECT_EQ(check.first_failing_epoch, 1);
}

TEST(ReferenceCheck, GroupAtTheReferencePasses) {
  const auto check = check_curve({{1, kReference}}, {{1, {0.51, 0.53}}}, ReferenceRule{});
  ASSERT_EQ(check.epochs.size(), 1u);
  EXPECT_GT(check.epochs[0].p_value, 0.5);  // t > 0: above reference - margin
  EXPECT_FALSE(check.failed());
}

TEST(ReferenceCheck, UnequalVariancesUseTheWelchSatterthwaiteDegreesOfFreedom) {
  // var(ref)/4 = 1/6000, var(obs)/2 = 0.000625: df = (va+vb)^2 / (va^2/3 + vb^2/1) = 1.5673.
  const auto check = check_curve({{1, {0.60, 0.62, 0.64, 0.66}}}, {{1, {0.55, 0.60}}}, {});
  const double va = 1.0 / 6000, vb = 0.000625;
  const double df = (va + vb) * (va + vb) / (va * va / 3 + vb * vb);
  ASSERT_EQ(check.epochs.size(), 1u);
  EXPECT_NEAR(check.epochs[0].df, df, 1e-9);
  EXPECT_NEAR(check.epochs[0].df, 1.567294, 1e-6);
  EXPECT_NEAR(check.epochs[0].t, (0.575 - 0.63 + 0.005) / std::sqrt(va + vb), 1e-9);  // -1.777
  EXPECT_NEAR(check.epochs[0].p_value, 0.125433, 1e-5);  // mpmath quadrature of the t density
  EXPECT_FALSE(check.failed());
}

TEST(ReferenceCheck, OneTrialIsTestedAgainstTheReferencePredictionInterval) {
  // x = 0.45: t = (0.45 - 0.52 + 0.005) / (0.02 * sqrt(1 + 1/3)) = -2.8146 with 2 df.
  const double t = (0.45 - 0.52 + 0.005) / (0.02 * std::sqrt(4.0 / 3));
  const auto at_05 = check_curve({{1, kReference}}, {{1, {0.45}}}, ReferenceRule{0.05, 0.005});
  ASSERT_EQ(at_05.epochs.size(), 1u);
  EXPECT_EQ(at_05.epochs[0].test, EpochTest::prediction);
  EXPECT_NEAR(at_05.epochs[0].t, t, 1e-9);
  EXPECT_NEAR(at_05.epochs[0].df, 2, 1e-12);
  EXPECT_NEAR(at_05.epochs[0].p_value, t_cdf_df2(t), 1e-9);  // 0.05323
  EXPECT_FALSE(at_05.failed());  // 0.0532 > 0.05: three reference seeds cannot call it low
  EXPECT_TRUE(check_curve({{1, kReference}}, {{1, {0.45}}}, ReferenceRule{0.10, 0.005}).failed());
}

TEST(ReferenceCheck, HolmStepsDownOverTheMatchedEpochs) {
  // One trial, alpha 0.10, three epochs: p(e2) = 0.0057 <= 0.10/3, p(e1) = 0.0532 > 0.10/2, so
  // e1 is not below although its p is under alpha; e3 is above the reference.
  const auto check =
      check_curve({{1, kReference}, {2, kReference}, {3, kReference}},
                  {{1, {0.45}}, {2, {0.30}}, {3, {0.52}}}, ReferenceRule{0.10, 0.005});
  ASSERT_EQ(check.epochs.size(), 3u);
  const double t2 = (0.30 - 0.52 + 0.005) / (0.02 * std::sqrt(4.0 / 3));
  EXPECT_NEAR(check.epochs[1].p_value, t_cdf_df2(t2), 1e-9);
  EXPECT_NEAR(check.epochs[1].holm_alpha, 0.10 / 3, 1e-12);
  EXPECT_NEAR(check.epochs[0].holm_alpha, 0.10 / 2, 1e-12);
  EXPECT_NEAR(check.epochs[2].holm_alpha, 0.10, 1e-12);
  EXPECT_TRUE(check.epochs[1].below);
  EXPECT_FALSE(check.epochs[0].below);
  EXPECT_FALSE(check.epochs[2].below);
  EXPECT_EQ(check.first_failing_epoch, 2);
}

TEST(ReferenceCheck, AReferenceOfOneTrialUsesTheHalfPointFloor) {
  // 0.594 < 0.600 - 0.005 fails; 0.596 does not.
  const auto low = check_curve({{1, {0.600}}}, {{1, {0.594}}}, ReferenceRule{});
  ASSERT_EQ(low.epochs.size(), 1u);
  EXPECT_EQ(low.epochs[0].test, EpochTest::floor);
  EXPECT_TRUE(low.failed());
  EXPECT_FALSE(check_curve({{1, {0.600}}}, {{1, {0.596}}}, ReferenceRule{}).failed());
  EXPECT_FALSE(check_curve({{1, {0.600}}}, {{1, {0.594, 0.598}}}, ReferenceRule{}).failed());
}

TEST(ReferenceCheck, OnlyEpochsBothCurvesEvaluatedAreCompared) {
  const auto check =
      check_curve({{1, kReference}, {2, kReference}}, {{2, {0.52}}, {3, {0.10}}}, ReferenceRule{});
  ASSERT_EQ(check.epochs.size(), 1u);
  EXPECT_EQ(check.epochs[0].epoch, 2);
  EXPECT_FALSE(check.failed());
}

// A snapshot of trials with the given test accuracies per epoch.
struct SnapshotBuilder {
  ResultsSnapshot snapshot;
  void add(const std::string& fw, const std::string& dataset, std::uint64_t seed,
           const std::vector<double>& accuracy, TrialStatus status = TrialStatus::completed) {
    TrialRecord t;
    t.id = static_cast<std::int64_t>(snapshot.trials.size()) + 1;
    t.framework = fw;
    t.model = "resnet20";
    t.recipe = "default";
    t.dataset = dataset;
    t.synthetic = dataset == "synthetic";
    t.seed = seed;
    t.key = fmt_key(fw, seed);
    t.status = status;
    t.config = {{"recipe", {{"name", "default"}, {"source", "x/recipe.toml"}, {"lr", 0.1}}}};
    t.environment = {{"cpu", {{"model", "Test CPU"}}}};
    snapshot.trials.push_back(t);
    for (std::size_t e = 0; e < accuracy.size(); ++e) {
      EpochRecord r;
      r.trial_id = t.id;
      r.epoch = static_cast<int>(e) + 1;
      r.test_accuracy = accuracy[e];
      snapshot.epochs.push_back(r);
    }
  }
  static std::string fmt_key(const std::string& fw, std::uint64_t seed) {
    return fw + "/resnet20/default/seed=" + std::to_string(seed);
  }
};

TEST(ReferenceCurves, BuiltPerModelRecipeDatasetFromCompletedTrialsOfTheFramework) {
  SnapshotBuilder b;
  b.add("torch", "cifar10", 1, {0.5, 0.7});
  b.add("torch", "cifar10", 2, {0.6, 0.8});
  b.add("torch", "cifar10", 3, {0.1}, TrialStatus::failed);
  b.add("dlib", "cifar10", 1, {0.2, 0.3});
  const auto refs = build_reference_curves(b.snapshot, "torch", "2026-01-01T00:00:00Z");
  ASSERT_EQ(refs.size(), 1u);
  const auto& r = refs[0];
  EXPECT_EQ(r.frameworks, std::vector<std::string>{"torch"});
  EXPECT_EQ(r.seeds, (std::vector<std::uint64_t>{1, 2}));
  ASSERT_EQ(r.epochs.size(), 2u);
  EXPECT_EQ(r.epochs[1].values, (std::vector<double>{0.7, 0.8}));
  EXPECT_FALSE(r.synthetic);
  EXPECT_FALSE(r.recipe_config.contains("source"));
  EXPECT_EQ(r.recipe_config.at("lr"), 0.1);
  EXPECT_EQ(r.machine.at("cpu"), "Test CPU");
  EXPECT_EQ(build_reference_curves(b.snapshot, "", "now")[0].frameworks.size(), 2u);
}

TEST(ReferenceCurves, GroupsFailPassAndTrialsAreFlaggedAlone) {
  SnapshotBuilder b;
  for (std::uint64_t s = 1; s <= 3; ++s) b.add("torch", "cifar10", s, {0.50 + 0.02 * s, 0.9});
  b.add("dlib", "cifar10", 1, {0.30, 0.40});
  b.add("dlib", "cifar10", 2, {0.31, 0.41});
  const auto refs = build_reference_curves(b.snapshot, "torch", "now");
  const auto checks = check_against_references(b.snapshot, refs, ReferenceRule{});
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(checks[0].framework, "dlib");
  EXPECT_EQ(checks[0].outcome, ReferenceOutcome::failed);
  EXPECT_EQ(checks[0].group.first_failing_epoch, 1);
  EXPECT_EQ(checks[0].flagged.size(), 2u);
  EXPECT_EQ(checks[1].outcome, ReferenceOutcome::passed);
  EXPECT_TRUE(checks[1].flagged.empty());
}

TEST(ReferenceCurves, SyntheticAndRealDataAreNeverCompared) {
  SnapshotBuilder real;
  real.add("torch", "cifar10", 1, {0.5});
  SnapshotBuilder synthetic;
  synthetic.add("torch", "synthetic", 1, {0.5});
  const auto real_ref = build_reference_curves(real.snapshot, "", "now");
  const auto synthetic_ref = build_reference_curves(synthetic.snapshot, "", "now");
  ASSERT_TRUE(synthetic_ref[0].synthetic);
  const auto a = check_against_references(synthetic.snapshot, real_ref, {});
  EXPECT_EQ(a[0].outcome, ReferenceOutcome::withheld);
  EXPECT_NE(a[0].reason.find("a synthetic-data trial cannot be compared to a cifar10 reference"),
            std::string::npos)
      << a[0].reason;
  const auto b = check_against_references(real.snapshot, synthetic_ref, {});
  EXPECT_EQ(b[0].outcome, ReferenceOutcome::withheld);
  EXPECT_NE(b[0].reason.find("matches only synthetic trials"), std::string::npos) << b[0].reason;
  EXPECT_EQ(check_against_references(synthetic.snapshot, synthetic_ref, {})[0].outcome,
            ReferenceOutcome::passed);
}

TEST(ReferenceFile, RoundTripsThroughJson) {
  SnapshotBuilder b;
  b.add("torch", "cifar10", 1, {0.5, 0.7});
  b.add("torch", "cifar10", 2, {0.6, 0.8});
  auto ref = build_reference_curves(b.snapshot, "", "now")[0];
  ref.name = "r";
  const auto j = reference_to_json(ref);
  EXPECT_NEAR(j.at("epochs")[0].at("mean").get<double>(), 0.55, 1e-12);
  EXPECT_NEAR(j.at("epochs")[0].at("sd").get<double>(), std::sqrt(0.005), 1e-12);
  const auto back = reference_from_json(j, "r.json");
  EXPECT_EQ(back.trials, ref.trials);
  EXPECT_EQ(back.epochs[1].values, ref.epochs[1].values);
}

TEST(ReferenceFile, BadFilesNameTheFileAndTheField) {
  cb::testing::TempDir dir;
  try {
    read_reference(dir / "absent.json");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("absent.json does not exist"), std::string::npos);
  }
  std::ofstream(dir / "broken.json") << "{ not json";
  EXPECT_THROW(read_reference(dir / "broken.json"), InputError);
  SnapshotBuilder b;
  b.add("torch", "cifar10", 1, {0.5});
  auto j = reference_to_json(build_reference_curves(b.snapshot, "", "now")[0]);
  j["epochs"][0]["values"] = {0.9};  // mean left at 0.5
  try {
    reference_from_json(j, "edited.json");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("edited.json (epoch 1): mean is 0.5"), std::string::npos)
        << e.what();
  }
  j.erase("model");
  EXPECT_THROW(reference_from_json(j, "x"), InputError);
}

TEST(ReferenceFile, NamesResolveInTheReferencesDirectory) {
  EXPECT_EQ(resolve_reference("mine", "/refs"), std::filesystem::path("/refs/mine.json"));
  EXPECT_EQ(resolve_reference("a/b.json", "/refs"), std::filesystem::path("a/b.json"));
  EXPECT_EQ(reference_directory("/given"), std::filesystem::path("/given"));
}

}  // namespace
}  // namespace cb::results
