// World::agree_at_read: a data-parallel world's ranks agree on divergence, Ctrl-C and the time
// limit at each read of the steps' values. Two ranks run on two threads whose trainers sum
// through an in-process collective, so that the world's own code is what is tested.
#include <gtest/gtest.h>

#include <barrier>
#include <optional>
#include <thread>
#include <vector>

#include "backends/backend.h"
#include "trial/trial.h"
#include "trial/world.h"

namespace cb::trial {
namespace {

// Sums each rank's values, like an all-reduce: every rank waits for the other's.
struct Collective {
  std::barrier<> meet{2};
  std::vector<double> contributed[2];
};

class CollectiveTrainer final : public backends::Trainer {
 public:
  CollectiveTrainer(Collective& collective, int rank) : collective_(collective), rank_(rank) {}
  data::Layout input_layout() const override { return data::Layout::nchw; }
  std::int64_t parameter_count() const override { return 0; }
  void train_step(const data::Batch&) override {}
  std::vector<backends::StepResult> read_steps() override { return {}; }
  backends::EvalResult evaluate(const data::Batch&) override { return {}; }
  std::vector<float> logits(const data::Batch&) override { return {}; }
  void set_learning_rate(double) override {}
  void sync() override {}
  model::Weights export_weights() override { return {}; }
  void import_weights(const model::Weights&) override {}
  void all_reduce_sum(std::vector<double>& values) override {
    collective_.contributed[rank_] = values;
    collective_.meet.arrive_and_wait();
    const auto& other = collective_.contributed[1 - rank_];
    for (std::size_t i = 0; i < values.size(); ++i) values[i] += other.at(i);
    collective_.meet.arrive_and_wait();  // neither rank contributes again before both have read
  }

 private:
  Collective& collective_;
  int rank_;
};

struct RankInput {
  std::vector<bool> non_finite;
  bool out_of_time = false;
};

// Both ranks' verdicts for one read.
std::vector<World::ReadVerdict> agree(const RankInput& rank0, const RankInput& rank1) {
  Collective collective;
  std::vector<World::ReadVerdict> verdicts(2);
  auto rank = [&](int r, const RankInput& in) {
    CollectiveTrainer trainer(collective, r);
    const auto world = make_world(data::Shard{r, 2}, trainer);
    verdicts[static_cast<std::size_t>(r)] = world->agree_at_read(in.non_finite, in.out_of_time);
  };
  std::thread other(rank, 1, rank1);
  rank(0, rank0);
  other.join();
  return verdicts;
}

TEST(WorldAgreeAtRead, ADivergenceOnOneRankStopsEveryRankAtItsStep) {
  const auto v = agree({{false, false, false, false}}, {{false, false, true, true}});
  for (const auto& verdict : v) {
    ASSERT_TRUE(verdict.diverged_at.has_value());
    EXPECT_EQ(*verdict.diverged_at, 2u);
    EXPECT_FALSE(verdict.out_of_time);
    EXPECT_FALSE(verdict.interrupted);
  }
}

TEST(WorldAgreeAtRead, TheEarliestDivergenceOfAnyRankWins) {
  const auto v = agree({{false, false, true}}, {{false, true, false}});
  for (const auto& verdict : v) EXPECT_EQ(verdict.diverged_at, std::optional<std::size_t>(1));
}

TEST(WorldAgreeAtRead, OneRankOutOfTimeStopsEveryRankWithoutADivergence) {
  const auto v = agree({{false, false}, false}, {{false, false}, true});
  for (const auto& verdict : v) {
    EXPECT_TRUE(verdict.out_of_time);
    EXPECT_FALSE(verdict.diverged_at.has_value());
  }
}

TEST(WorldAgreeAtRead, OneProcessDivergesAtItsFirstNonFiniteStep) {
  Collective unused;
  CollectiveTrainer trainer(unused, 0);
  const auto world = make_world(data::Shard{0, 1}, trainer);
  const World::ReadVerdict v = world->agree_at_read({false, true, true}, false);
  EXPECT_EQ(v.diverged_at, std::optional<std::size_t>(1));
  EXPECT_FALSE(world->agree_at_read({false, false}, true).diverged_at.has_value());
  EXPECT_TRUE(world->agree_at_read({}, true).out_of_time);
}

}  // namespace
}  // namespace cb::trial
