// Training throughput of the dlib backend next to the torch backend, on the same random batches,
// weights, recipe and thread count: warm-up steps, then timed windows, median images/s each.
//   bench_dlib_train_step [model] [batch] [threads] [warmup_steps] [windows] [steps_per_window]
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "bench_support.h"
#include "core/error.h"
#include "core/rng.h"
#include "model/initial_weights.h"
#include "model/zoo.h"

namespace {

int arg(int argc, char** argv, int index, int fallback) {
  return argc > index ? std::atoi(argv[index]) : fallback;
}

int run(int argc, char** argv) {
  const std::string model = argc > 1 ? argv[1] : "simple-cnn";
  const int batch_size = arg(argc, argv, 2, 128);
  const int threads = arg(argc, argv, 3, 2);
  const int warmup = arg(argc, argv, 4, 3);
  const int windows = arg(argc, argv, 5, 5);
  const int steps = arg(argc, argv, 6, 5);

  const cb::model::ModelSpec spec = cb::model::build_zoo_model(model, 10);
  const cb::model::Weights weights = cb::model::initial_weights(spec, 1);
  cb::backends::register_builtin_backends();

  const std::vector<cb::data::Batch> batches = cb::bench::random_batches(spec, batch_size);

  for (const char* framework : {"dlib", "torch"}) {
    const cb::backends::Backend* backend = cb::backends::find_backend(framework);
    if (backend == nullptr || !backend->info().available) {
      fmt::print("{}: not available, skipped\n", framework);
      continue;
    }
    cb::backends::TrainerConfig config;
    config.model = std::make_shared<const cb::model::AnalysedModel>(cb::model::analyse(spec));
    config.initial_weights = &weights;
    config.execution.threads = threads;  // the default recipe: SGD, momentum 0.9, Nesterov, wd 5e-4
    const auto trainer = backend->create_trainer(config);
    trainer->set_learning_rate(0.1);
    std::size_t next = 0;
    auto step = [&] { trainer->train_step(batches[next++ % batches.size()]); };
    for (int i = 0; i < warmup; ++i) step();
    trainer->sync();
    std::vector<double> rates;
    for (int w = 0; w < windows; ++w) {
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < steps; ++i) step();
      trainer->read_steps();  // the window's values, read at its end as a trial reads
      trainer->sync();
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      rates.push_back(batch_size * steps / seconds);
    }
    std::sort(rates.begin(), rates.end());
    fmt::print("{} {} batch={} threads={}: median {:.1f} images/s (min {:.1f}, max {:.1f})\n",
               framework, model, batch_size, threads, rates[rates.size() / 2], rates.front(),
               rates.back());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return cb::bench::run_main(run, argc, argv); }
