// Two ranks over loopback with Gloo: one step of data-parallel training equals one step of a
// single process on both shards' batches together. The model has no batch norm, because batch
// statistics stay per rank (as in PyTorch's DDP) and would make the two differ by design.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "launch/local_world.h"
#include "child_ranks.h"
#include "data/sampler.h"
#include "model/weights_file.h"
#include "torch/tiny_models.h"

namespace cb {
namespace {

constexpr int kGlobalBatch = 10;  // five samples per rank
constexpr std::uint64_t kSeed = 7;

model::ModelSpec bn_free_model() {
  using model::Op;
  return testing::make_spec(
      "bn-free", {3, 8, 8}, 10,
      {testing::conv("conv", 4, 3, 1, 1, true), testing::layer("relu", Op::relu),
       testing::pool("pool", Op::max_pool, 2, 2), testing::layer("flatten", Op::flatten),
       testing::linear("fc", 10, true)});
}

data::Batch select(const data::Batch& all, const std::vector<std::int64_t>& indices) {
  data::Batch b = all;
  b.n = static_cast<int>(indices.size());
  b.data.clear();
  b.labels.clear();
  b.indices.clear();
  const std::int64_t per = all.numel() / all.n;
  for (auto i : indices) {
    b.data.insert(b.data.end(), all.data.begin() + i * per, all.data.begin() + (i + 1) * per);
    b.labels.push_back(all.labels[static_cast<std::size_t>(i)]);
    b.indices.push_back(i);
  }
  return b;
}

std::vector<std::int64_t> shard_indices(int rank, int world) {
  return data::shard_of(data::shuffled_order(kGlobalBatch, kSeed, 0), {rank, world},
                        data::ShardRule::exact);
}

backends::TrainerConfig sgd_config(const model::ModelSpec& spec, const model::Weights& w) {
  backends::TrainerConfig c = testing::cpu_config(spec, w);
  c.execution.threads = 1;
  return c;
}

// The body of each rank, run only inside a child started by the test below.
TEST(DataParallelRankProcess, TakesOneStepOnItsShard) {
  const char* out = std::getenv("CB_TEST_RANK_OUT");
  if (!out) GTEST_SKIP() << "runs only as a rank started by DataParallel.* tests";
  const int rank = std::atoi(std::getenv("RANK"));
  const auto spec = bn_free_model();
  const auto weights = testing::random_weights(spec, kSeed);
  backends::TrainerConfig config = sgd_config(spec, weights);
  auto dc = std::make_shared<backends::DistributedConfig>();
  dc->rank = rank;
  dc->world_size = 2;
  dc->master_port = std::atoi(std::getenv("MASTER_PORT"));
  dc->timeout_s = 30;
  dc->bucket_bytes = 256;  // several buckets, even for this small model
  config.distributed = dc;
  auto trainer = testing::torch_backend().create_trainer(config);
  const auto all = testing::random_batch(spec, kGlobalBatch, kSeed);
  trainer->set_learning_rate(0.1);
  trainer->train_step(select(all, shard_indices(rank, 2)));
  model::save_weights(trainer->export_weights(),
                      std::filesystem::path(out) / ("rank-" + std::to_string(rank) + ".weights"));
  std::vector<double> sum{static_cast<double>(rank + 1)};
  trainer->all_reduce_sum(sum);
  EXPECT_EQ(sum[0], 3.0);
}

std::vector<float> all_values(const model::Weights& w) {
  std::vector<float> v;
  for (const auto& t : w.tensors) v.insert(v.end(), t.tensor.values.begin(), t.tensor.values.end());
  return v;
}

class DataParallel : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("cb-dp-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(DataParallel, OneStepOnTwoRanksEqualsOneStepOnBothShardsTogether) {
  const int port = launch::free_local_port();
  std::vector<testing::ChildProcess> ranks;
  for (int r = 0; r < 2; ++r) {
    ranks.push_back(
        testing::start_child({"/proc/self/exe", "--gtest_filter=DataParallelRankProcess.*"},
                             {{"CB_TEST_RANK_OUT", dir_.string()},
                              {"RANK", std::to_string(r)},
                              {"WORLD_SIZE", "2"},
                              {"MASTER_ADDR", "127.0.0.1"},
                              {"MASTER_PORT", std::to_string(port)}},
                             dir_ / ("rank-" + std::to_string(r) + ".log")));
  }
  for (const auto& c : ranks) {
    const int status = testing::wait_child(c, std::chrono::seconds(60));
    if (status == -1) testing::kill_child(c);
    ASSERT_EQ(status, 0) << testing::read_log(c);
  }
  const auto rank0 = all_values(model::load_weights(dir_ / "rank-0.weights"));
  const auto rank1 = all_values(model::load_weights(dir_ / "rank-1.weights"));
  EXPECT_EQ(rank0, rank1);  // bit-identical: every rank applied the same averaged gradient

  const auto spec = bn_free_model();
  const auto weights = testing::random_weights(spec, kSeed);
  auto single = testing::torch_backend().create_trainer(sgd_config(spec, weights));
  single->set_learning_rate(0.1);
  std::vector<std::int64_t> both = shard_indices(0, 2);
  const auto other = shard_indices(1, 2);
  both.insert(both.end(), other.begin(), other.end());
  single->train_step(select(testing::random_batch(spec, kGlobalBatch, kSeed), both));
  const auto expected = all_values(single->export_weights());
  ASSERT_EQ(expected.size(), rank0.size());
  const auto initial = all_values(weights);
  double moved = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(rank0[i], expected[i], 1e-5) << "value " << i;
    moved = std::max(moved, static_cast<double>(std::abs(expected[i] - initial[i])));
  }
  EXPECT_GT(moved, 1e-3);  // the step really changed the weights
}

TEST(DataParallelShards, ShardsOfAnEpochAreDisjointAndCoverIt) {
  std::vector<int> seen(kGlobalBatch, 0);
  for (int r = 0; r < 2; ++r) {
    for (auto i : shard_indices(r, 2)) ++seen[static_cast<std::size_t>(i)];
  }
  for (int s : seen) EXPECT_EQ(s, 1);
}

}  // namespace
}  // namespace cb
