// Cost of the results store's per-epoch commit (fsync included) and of loading a study, and of
// the statistics a report computes: the overhead `run` adds per epoch and `report` per study.
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <filesystem>
#include <random>

#include "results/statistics.h"
#include "results/store.h"

namespace {
namespace fs = std::filesystem;

fs::path fresh_dir() {
  std::string pattern = (fs::temp_directory_path() / "cifarbench-bench-XXXXXX").string();
  return ::mkdtemp(pattern.data());
}

void BM_AddEpochCommit(benchmark::State& state) {
  const fs::path dir = fresh_dir();
  {
    auto store = cb::results::ResultsStore::open(dir);
    cb::results::SuiteRecord suite{0, "bench", "", {}, ""};
    store.begin_suite(suite);
    cb::results::TrialRecord trial;
    trial.suite_id = suite.id;
    trial.key = "torch/resnet20/default/seed=1";
    store.upsert_trial(trial);
    int epoch = 0;
    for (auto _ : state) {
      cb::results::EpochRecord e{trial.id, ++epoch, 0.5, 0.8, 0.79, 10.0, 10.0 * epoch, 5000};
      store.add_epoch(e);
    }
  }
  fs::remove_all(dir);
}
BENCHMARK(BM_AddEpochCommit)->Unit(benchmark::kMillisecond);

void BM_LoadStudy(benchmark::State& state) {
  const fs::path dir = fresh_dir();
  {
    auto store = cb::results::ResultsStore::open(dir);
    cb::results::SuiteRecord suite{0, "bench", "", {}, ""};
    store.begin_suite(suite);
    for (int t = 0; t < 30; ++t) {
      cb::results::TrialRecord trial;
      trial.suite_id = suite.id;
      trial.key = "trial" + std::to_string(t);
      store.upsert_trial(trial);
      std::vector<cb::results::TelemetrySample> samples(
          1000, {trial.id, 0.0, "train", 80.0, 3e9, 250.0, 150.0, 8e8});
      store.add_samples(samples);
    }
    for (auto _ : state) benchmark::DoNotOptimize(store.load());
  }
  fs::remove_all(dir);
}
BENCHMARK(BM_LoadStudy)->Unit(benchmark::kMillisecond);

void BM_WelchTest(benchmark::State& state) {
  std::mt19937 rng(1);
  std::normal_distribution<double> a(90.0, 0.3), b(90.2, 0.5);
  std::vector<double> xa(static_cast<std::size_t>(state.range(0))), xb(xa.size());
  for (auto& x : xa) x = a(rng);
  for (auto& x : xb) x = b(rng);
  for (auto _ : state) benchmark::DoNotOptimize(cb::results::welch_t_test(xa, xb));
}
BENCHMARK(BM_WelchTest)->Arg(5)->Arg(30);

}  // namespace

BENCHMARK_MAIN();
