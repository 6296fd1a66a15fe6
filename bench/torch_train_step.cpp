// Training throughput of a zoo model through the torch backend on random data, measured the
// same way as bench/torch_train_step.py measures an idiomatic PyTorch loop (see
// bench/torch_vs_python.sh): warm-up steps, then several timed windows, median images/s. The
// malloc policy is the trial's ($CIFARBENCH_MALLOC, trial/malloc_policy.h; default keep).
//   bench_torch_train_step [model] [batch] [threads] [warmup_steps] [windows] [steps_per_window]
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
#include "trial/malloc_policy.h"

namespace {

int arg(int argc, char** argv, int index, int fallback) {
  return argc > index ? std::atoi(argv[index]) : fallback;
}

int run(int argc, char** argv) {
  // Before LibTorch allocates: the allocation policy a trial applies ($CIFARBENCH_MALLOC).
  const auto malloc_record = cb::trial::apply_malloc_policy(cb::trial::malloc_policy_from_environment());
  const std::string model = argc > 1 ? argv[1] : "resnet20";
  const int batch_size = arg(argc, argv, 2, 128);
  const int threads = arg(argc, argv, 3, 2);
  const int warmup = arg(argc, argv, 4, 5);
  const int windows = arg(argc, argv, 5, 5);
  const int steps = arg(argc, argv, 6, 10);

  const cb::model::ModelSpec spec = cb::model::build_zoo_model(model, 10);
  const cb::model::Weights weights = cb::model::initial_weights(spec, 1);
  cb::backends::register_builtin_backends();
  const cb::backends::Backend* torch = cb::backends::find_backend("torch");
  if (!torch || !torch->info().available) throw cb::Unsupported("the torch backend is not built");

  cb::backends::TrainerConfig config;
  config.model = std::make_shared<const cb::model::AnalysedModel>(cb::model::analyse(spec));
  config.initial_weights = &weights;
  config.execution.threads = threads;
  config.optimizer.momentum = 0.9;
  config.optimizer.nesterov = true;
  config.optimizer.weight_decay = 5e-4;
  const auto trainer = torch->create_trainer(config);
  trainer->set_learning_rate(0.1);

  const std::vector<cb::data::Batch> batches = cb::bench::random_batches(spec, batch_size);
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
    fmt::print("window {}: {:.1f} images/s\n", w + 1, rates.back());
  }
  std::sort(rates.begin(), rates.end());
  fmt::print("cpp {} batch={} threads={} malloc={}: median {:.1f} images/s\n", model, batch_size,
             threads, malloc_record.value("policy", "?"), rates[rates.size() / 2]);
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return cb::bench::run_main(run, argc, argv); }
