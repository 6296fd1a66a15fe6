// A short real-data sanity run: dlib and torch train the same model from the same weights on the
// same normalized CIFAR batches (a seeded shuffle, no augmentation), then evaluate on the start
// of the test split; prints both accuracies and throughputs.
//   bench_dlib_vs_torch_real_data ARCHIVE [model] [steps] [batch] [threads] [test_images]
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <numeric>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "bench_support.h"
#include "core/error.h"
#include "core/rng.h"
#include "data/channel_stats.h"
#include "data/image_folder.h"
#include "model/initial_weights.h"
#include "model/zoo.h"

namespace {

int arg(int argc, char** argv, int index, int fallback) {
  return argc > index ? std::atoi(argv[index]) : fallback;
}

cb::data::Batch make_batch(const cb::data::Dataset& d, const cb::data::Split& split,
                           const std::vector<std::int64_t>& order, std::size_t begin,
                           std::size_t count, const cb::data::ChannelStats& stats) {
  cb::data::Batch b;
  b.n = static_cast<int>(count);
  b.c = d.channels;
  b.h = d.height;
  b.w = d.width;
  const std::int64_t plane = static_cast<std::int64_t>(d.height) * d.width;
  for (std::size_t i = 0; i < count; ++i) {
    const std::int64_t index = order[begin + i];
    const std::uint8_t* px = split.image(index, d.image_bytes());
    for (int c = 0; c < d.channels; ++c) {
      for (std::int64_t p = 0; p < plane; ++p) {
        b.data.push_back(static_cast<float>((px[c * plane + p] - stats.mean[c]) / stats.std[c]));
      }
    }
    b.labels.push_back(split.labels[static_cast<std::size_t>(index)]);
    b.indices.push_back(index);
  }
  return b;
}

int run(int argc, char** argv) {
  if (argc < 2)
    throw cb::InputError(
        "usage: bench_dlib_vs_torch_real_data ARCHIVE [model] [steps] [batch] [threads] "
        "[test_images]");
  const std::string model = argc > 2 ? argv[2] : "simple-cnn";
  const int steps = arg(argc, argv, 3, 100);
  const int batch_size = arg(argc, argv, 4, 128);
  const int threads = arg(argc, argv, 5, 2);
  const int test_images = arg(argc, argv, 6, 2000);

  const cb::data::Dataset data = cb::data::load_archive(argv[1], {});
  const auto stats = cb::data::channel_stats(data, data.train);
  std::vector<std::int64_t> order(static_cast<std::size_t>(data.train.count));
  std::iota(order.begin(), order.end(), 0);
  cb::Rng rng(11);
  for (std::size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);
  std::vector<std::int64_t> test_order(static_cast<std::size_t>(data.test.count));
  std::iota(test_order.begin(), test_order.end(), 0);
  for (std::size_t i = test_order.size() - 1; i > 0; --i) {
    std::swap(test_order[i], test_order[rng.below(i + 1)]);
  }

  const cb::model::ModelSpec spec = cb::model::build_zoo_model(model, data.num_classes());
  const cb::model::Weights weights = cb::model::initial_weights(spec, 1);
  cb::backends::register_builtin_backends();
  for (const char* framework : {"dlib", "torch"}) {
    const cb::backends::Backend* backend = cb::backends::find_backend(framework);
    if (backend == nullptr || !backend->info().available) continue;
    cb::backends::TrainerConfig config;
    config.model = std::make_shared<const cb::model::AnalysedModel>(cb::model::analyse(spec));
    config.initial_weights = &weights;
    config.execution.threads = threads;  // the default recipe: SGD, momentum 0.9, Nesterov, wd 5e-4
    const auto trainer = backend->create_trainer(config);
    trainer->set_learning_rate(0.05);
    double seconds = 0, last_loss = 0;
    for (int s = 0; s < steps; ++s) {
      const auto batch = make_batch(data, data.train, order,
                                    static_cast<std::size_t>(s) * batch_size, batch_size, stats);
      const auto start = std::chrono::steady_clock::now();
      last_loss = cb::backends::train_step_and_read(*trainer, batch).loss;
      trainer->sync();
      seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    cb::backends::EvalResult total;
    for (int begin = 0; begin < test_images; begin += 500) {
      const auto r = trainer->evaluate(make_batch(data, data.test, test_order, begin,
                                                  std::min(500, test_images - begin), stats));
      total.correct += r.correct;
      total.count += r.count;
      total.loss_sum += r.loss_sum;
    }
    fmt::print(
        "{} {}: {} steps of {} ({:.1f} images/s training), last train loss {:.3f}; test "
        "accuracy {:.2f} % on {} images, test loss {:.3f}\n",
        framework, model, steps, batch_size, steps * batch_size / seconds, last_loss,
        100.0 * total.correct / total.count, total.count, total.loss_sum / total.count);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return cb::bench::run_main(run, argc, argv); }
