// Training on CPU is reproducible and actually learns.
#include <gtest/gtest.h>

#include "tiny_models.h"

namespace cb::testing {
namespace {

using model::Op;

// conv → bn → relu → pool → conv → bn → relu → global pool → linear: a small but real CNN.
model::ModelSpec small_cnn(int classes) {
  return make_spec("small-cnn", {3, 16, 16}, classes,
                   {conv("conv1", 8, 3, 1, 1, false), layer("bn1", Op::batch_norm),
                    layer("relu1", Op::relu), pool("pool1", Op::max_pool, 2, 2),
                    conv("conv2", 16, 3, 1, 1, false), layer("bn2", Op::batch_norm),
                    layer("relu2", Op::relu), layer("flatten", Op::flatten),
                    linear("fc", classes, true)});
}

// 256 images: each class is its own fixed random template plus per-image noise.
std::vector<data::Batch> pattern_batches(const model::ModelSpec& spec, int images, int batch) {
  const int classes = spec.num_classes;
  const auto pixels = static_cast<std::size_t>(spec.input.numel());
  Rng template_rng(21), noise_rng(22);
  std::vector<std::vector<float>> templates(static_cast<std::size_t>(classes));
  for (auto& t : templates) {
    for (std::size_t i = 0; i < pixels; ++i) t.push_back(static_cast<float>(template_rng.normal()));
  }
  std::vector<data::Batch> out;
  for (int start = 0; start < images; start += batch) {
    data::Batch b;
    b.n = batch;
    b.c = spec.input.c;
    b.h = spec.input.h;
    b.w = spec.input.w;
    for (int i = 0; i < batch; ++i) {
      const int label = static_cast<int>(noise_rng.below(static_cast<std::uint64_t>(classes)));
      for (float v : templates[static_cast<std::size_t>(label)]) {
        b.data.push_back(v + static_cast<float>(0.8 * noise_rng.normal()));
      }
      b.labels.push_back(label);
      b.indices.push_back(start + i);
    }
    out.push_back(std::move(b));
  }
  return out;
}

TEST(TorchTraining, TwoTrainersFromTheSameWeightsGiveIdenticalLosses) {
  const auto spec = small_cnn(10);
  const auto weights = random_weights(spec, 31);
  const auto batches = pattern_batches(spec, 128, 32);
  auto losses = [&] {
    const auto trainer = torch_backend().create_trainer(cpu_config(spec, weights));
    trainer->set_learning_rate(0.05);
    std::vector<double> out;
    for (int epoch = 0; epoch < 2; ++epoch) {
      for (const auto& b : batches) out.push_back(backends::train_step_and_read(*trainer, b).loss);
    }
    return out;
  };
  const auto first = losses();
  EXPECT_EQ(first, losses());
  EXPECT_NE(first.front(), first.back());
}

// read_steps: the values of every step since the last read, in order, equal to reading each
// step on its own (the device tensors are the same numbers, read later and at once).
TEST(TorchTraining, StepsReadInBatchesEqualStepsReadOneByOne) {
  const auto spec = small_cnn(10);
  const auto weights = random_weights(spec, 33);
  const auto batches = pattern_batches(spec, 160, 32);  // 5 steps
  const auto one_by_one = torch_backend().create_trainer(cpu_config(spec, weights));
  const auto batched = torch_backend().create_trainer(cpu_config(spec, weights));
  one_by_one->set_learning_rate(0.05);
  batched->set_learning_rate(0.05);
  std::vector<backends::StepResult> each;
  for (const auto& b : batches) each.push_back(backends::train_step_and_read(*one_by_one, b));
  for (std::size_t i = 0; i < 3; ++i) batched->train_step(batches[i]);
  std::vector<backends::StepResult> read = batched->read_steps();
  ASSERT_EQ(read.size(), 3u);
  EXPECT_TRUE(batched->read_steps().empty());  // a read forgets what it returned
  for (std::size_t i = 3; i < batches.size(); ++i) batched->train_step(batches[i]);
  const auto rest = batched->read_steps();
  ASSERT_EQ(rest.size(), 2u);
  read.insert(read.end(), rest.begin(), rest.end());
  for (std::size_t i = 0; i < each.size(); ++i) {
    EXPECT_EQ(read[i].loss, each[i].loss) << "step " << i + 1;
    EXPECT_EQ(read[i].accuracy, each[i].accuracy) << "step " << i + 1;
    EXPECT_GE(read[i].accuracy, 0.0);
    EXPECT_LE(read[i].accuracy, 1.0);
  }
  EXPECT_NE(each.front().loss, each.back().loss);  // five different steps, not one value repeated
}

TEST(TorchTraining, SmallCnnOverfits256SyntheticImages) {
  const auto spec = small_cnn(10);
  const auto weights = random_weights(spec, 32);
  const auto batches = pattern_batches(spec, 256, 32);
  auto config = cpu_config(spec, weights);
  const auto trainer = torch_backend().create_trainer(config);
  trainer->set_learning_rate(0.02);
  for (int epoch = 0; epoch < 15; ++epoch) {
    for (const auto& b : batches) trainer->train_step(b);
  }
  std::int64_t correct = 0, count = 0;
  for (const auto& b : batches) {
    const auto r = trainer->evaluate(b);
    correct += r.correct;
    count += r.count;
  }
  EXPECT_EQ(count, 256);
  EXPECT_GE(static_cast<double>(correct) / static_cast<double>(count), 0.99);
}

}  // namespace
}  // namespace cb::testing
