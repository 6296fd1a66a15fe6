// Verdicts from constructed values: each rule of docs/statistics.md, and the sentences.
#include "report/verdict.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "report/compare.h"
#include "results/equivalence.h"

namespace cb::report {
namespace {

MetricRule rule(const std::string& id) {
  for (const auto& r : comparison_rules({})) {
    if (r.metric_id == id) return r;
  }
  ADD_FAILURE() << id;
  return {};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Verdict, DefaultThresholdsAreFivePercentAndHalfAPoint) {
  EXPECT_DOUBLE_EQ(rule("training_time").threshold, 0.05);
  EXPECT_TRUE(rule("training_time").ratio);
  EXPECT_DOUBLE_EQ(rule("accuracy").threshold, 0.5);
  EXPECT_FALSE(rule("accuracy").ratio);
}

TEST(Verdict, ClearlySlowerTrainingWithFiveSeedsIsWorse) {
  // A takes 1.5x B's time in every seed: ranks separate completely, p = 2/252.
  const auto v =
      judge_metric(rule("training_time"), {150, 151, 152, 153, 154}, {100, 101, 102, 103, 104});
  EXPECT_EQ(v.verdict, Verdict::worse);
  EXPECT_EQ(v.test, "Mann-Whitney U");
  EXPECT_NEAR(*v.p_value, 2.0 / 252.0, 1e-12);
  EXPECT_NEAR(*v.estimate, 1.5, 0.01);
  EXPECT_LT(v.ci->low, 1.5);
  EXPECT_GT(v.ci->high, 1.5);
  EXPECT_NEAR(v.ci_confidence, 1.0 - 8.0 / 252.0, 1e-12);  // the exact test's achieved level
}

TEST(Verdict, FasterIsBetterAndMoreThroughputIsBetter) {
  EXPECT_EQ(judge_metric(rule("training_time"), {50, 51, 52, 53}, {100, 101, 102, 103}).verdict,
            Verdict::better);
  EXPECT_EQ(judge_metric(rule("throughput"), {50, 51, 52, 53}, {100, 101, 102, 103}).verdict,
            Verdict::worse);
}

TEST(Verdict, ThreeAgainstThreeRanksCannotBeSignificantAndSaySo) {
  const auto v = judge_metric(rule("training_time"), {150, 151, 152}, {100, 101, 102});
  EXPECT_EQ(v.verdict, Verdict::inconclusive);
  EXPECT_NEAR(*v.p_value, 0.1, 1e-12);
  EXPECT_TRUE(contains(v.reason, "cannot go below 0.100")) << v.reason;
  ASSERT_TRUE(v.seeds_needed.has_value());
  EXPECT_GE(*v.seeds_needed, 4);  // the exact test's minimum for p < 0.05
}

TEST(Verdict, TightAccuracyAroundTheSameMeanIsEquivalent) {
  const auto v =
      judge_metric(rule("accuracy"), {92.50, 92.55, 92.45, 92.52}, {92.48, 92.51, 92.47, 92.53});
  EXPECT_EQ(v.verdict, Verdict::equivalent);
  EXPECT_EQ(v.test, "Welch t");
  EXPECT_LT(*v.tost_p, 0.05);
  EXPECT_TRUE(contains(v.reason, "±0.5 points")) << v.reason;
}

TEST(Verdict, TheSeedPapersOneRunEachIsNotTested) {
  // 92.5 vs 93.2 from one run each: no spread, no test, no verdict.
  const auto v = judge_metric(rule("accuracy"), {92.5}, {93.2});
  EXPECT_EQ(v.verdict, Verdict::inconclusive);
  EXPECT_FALSE(v.p_value.has_value());
  EXPECT_TRUE(contains(v.reason, "fewer than 2 results")) << v.reason;
}

TEST(Verdict, SignificantButBelowTheThresholdIsNeitherWorseNorEquivalent) {
  // 0.45 points lower with a small spread: clearly significant and inside +-0.5, but too close
  // to -0.5 for TOST to exclude it.
  const auto v = judge_metric(rule("accuracy"), {91.75, 91.95, 91.85, 91.9, 91.8},
                              {92.3, 92.4, 92.2, 92.3, 92.3});
  EXPECT_LT(*v.p_value, 0.05);
  EXPECT_GT(*v.tost_p, 0.05);
  EXPECT_EQ(v.verdict, Verdict::inconclusive);
  EXPECT_TRUE(contains(v.reason, "smaller than ±0.5 points")) << v.reason;
}

TEST(Verdict, AccuracyClearlyBeyondTheThresholdIsBetter) {
  const auto v = judge_metric(rule("accuracy"), {93.4, 93.6, 93.5}, {92.4, 92.6, 92.5});
  EXPECT_EQ(v.verdict, Verdict::better);
  EXPECT_NEAR(*v.estimate, 1.0, 1e-9);
}

TEST(Verdict, SeedsNeededIsThePowerSampleSizeAtTheObservedSpread) {
  const std::vector<double> a = {92.0, 93.0, 92.5, 91.8};
  const std::vector<double> b = {92.2, 92.9, 92.1, 93.1};
  const auto v = judge_metric(rule("accuracy"), a, b);
  EXPECT_EQ(v.seeds_needed, results::samples_per_group(0.5, results::pooled_stddev(a, b)));
  EXPECT_TRUE(contains(v.reason, "seeds per group")) << v.reason;
}

PairVerdict pair_of(const std::vector<MetricVerdict>& rows, bool synthetic = false) {
  PairVerdict p;
  p.a = "torch";
  p.b = "dlib";
  p.model = "simple-cnn";
  p.recipe = "default";
  p.setup_a = p.setup_b = "cpu, 2 threads, batch 128";
  p.synthetic = synthetic;
  p.rows = rows;
  return p;
}

TEST(VerdictSentences, AreBuiltFromTheNumbers) {
  const auto time =
      judge_metric(rule("training_time"), {50, 51, 52, 53, 54}, {100, 101, 102, 103, 104});
  const auto acc =
      judge_metric(rule("accuracy"), {92.50, 92.55, 92.45, 92.52}, {92.48, 92.51, 92.47, 92.53});
  const auto sentences = verdict_sentences(pair_of({time, acc}));
  ASSERT_EQ(sentences.size(), 2u);
  EXPECT_TRUE(contains(sentences[0], "torch trains simple-cnn 1.9")) << sentences[0];
  EXPECT_TRUE(contains(sentences[0], "× faster than dlib (9")) << sentences[0];
  EXPECT_TRUE(contains(sentences[0], "p = 0.008")) << sentences[0];
  EXPECT_TRUE(contains(sentences[1], "Test accuracy equivalent within ±0.5 points (TOST p"))
      << sentences[1];
}

TEST(VerdictSentences, OnSyntheticDataAccuracyIsWithheldWithOneLine) {
  const auto acc = judge_metric(rule("accuracy"), {93.4, 93.6, 93.5}, {92.4, 92.6, 92.5});
  const auto time = judge_metric(rule("training_time"), {50, 51, 52}, {100, 101, 102});
  const auto sentences = verdict_sentences(pair_of({acc, time}, true));
  ASSERT_EQ(sentences.size(), 2u);
  EXPECT_TRUE(contains(sentences[0], "Training time: inconclusive")) << sentences[0];
  EXPECT_TRUE(contains(sentences[1], "synthetic data")) << sentences[1];
  for (const auto& s : sentences) EXPECT_FALSE(contains(s, "points higher")) << s;
}

TEST(VerdictSentences, CaveatsFollowTheMetrics) {
  auto pair = pair_of({judge_metric(rule("training_time"), {50, 51}, {100, 101})});
  pair.caveats.push_back("Trial torch/seed=2 ran on a busy machine.");
  const auto sentences = verdict_sentences(pair);
  EXPECT_EQ(sentences.back(), "Trial torch/seed=2 ran on a busy machine.");
}

TEST(Selectors, KeyValueTermsAreParsedAndBadOnesNamed) {
  const auto s = parse_selector({"framework=torch", "threads=2"}, "--a");
  EXPECT_EQ(s.label(), "torch, threads=2");
  try {
    parse_selector({"frame=torch"}, "--a");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_TRUE(contains(e.what(), "--a frame=torch: expected KEY=VALUE")) << e.what();
  }
  EXPECT_THROW(parse_selector({"threads="}, "--b"), InputError);
  EXPECT_THROW(parse_selector({}, "--b"), InputError);
}

}  // namespace
}  // namespace cb::report
