// The Python worker protocol's cost (docs/backends/python.md): an empty step, in which a batch of
// 128 CIFAR images is copied into shared memory and the worker answers without computing, against
// a torch-py ResNet-20 training step on the same batch. The bound: the empty step under
// 1 % of the ResNet-20 step on CPU. Set CIFARBENCH_PYTHON to a Python with torch.
//   bench_python_protocol [--benchmark_filter=...] [--benchmark_min_time=...]
#include <benchmark/benchmark.h>

#include <memory>

#include "backends/backend.h"
#include "backends/python/interpreter.h"
#include "backends/python/python_trainer.h"
#include "core/rng.h"
#include "model/analysis.h"
#include "model/initial_weights.h"
#include "model/zoo.h"

namespace {

using namespace cb;

struct Setup {
  model::ModelSpec spec = model::build_zoo_model("resnet20", 10);
  model::Weights weights = model::initial_weights(spec, 1);
  backends::TrainerConfig config;
  data::Batch batch;

  explicit Setup(int n) {
    config.model = std::make_shared<const model::AnalysedModel>(model::analyse(spec));
    config.initial_weights = &weights;
    config.execution.threads = 2;
    batch.n = n;
    batch.c = 3, batch.h = 32, batch.w = 32;
    Rng rng(3);
    batch.data.resize(static_cast<std::size_t>(batch.numel()));
    for (auto& v : batch.data) v = static_cast<float>(rng.normal());
    for (int i = 0; i < n; ++i) batch.labels.push_back(i % 10);
  }
};

std::unique_ptr<backends::python::PythonTrainer> make_trainer(const Setup& s, benchmark::State& state) {
  const auto& probe = backends::python::probe("torch-py");
  if (!probe.unavailable.empty()) {
    state.SkipWithError(("torch-py is unavailable: " + probe.unavailable).c_str());
    return nullptr;
  }
  return std::make_unique<backends::python::PythonTrainer>("torch-py", probe.interpreter, s.config,
                                                           std::chrono::seconds(600), std::chrono::seconds(300));
}

void BM_EmptyStep(benchmark::State& state) {
  Setup s(128);
  auto trainer = make_trainer(s, state);
  if (!trainer) return;
  for (auto _ : state) trainer->empty_step(s.batch);
  state.SetItemsProcessed(state.iterations() * s.batch.n);
}
BENCHMARK(BM_EmptyStep)->Unit(benchmark::kMicrosecond);

void BM_ResNet20TrainStep(benchmark::State& state) {
  Setup s(128);
  auto trainer = make_trainer(s, state);
  if (!trainer) return;
  trainer->set_learning_rate(0.01);
  trainer->train_step(s.batch);  // warm-up
  for (auto _ : state) {
    trainer->train_step(s.batch);
    trainer->read_steps();  // free: the worker's reply carried the values
  }
  state.SetItemsProcessed(state.iterations() * s.batch.n);
}
BENCHMARK(BM_ResNet20TrainStep)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
