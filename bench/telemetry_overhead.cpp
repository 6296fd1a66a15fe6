// What the telemetry sampler costs a CPU-bound job: the same two-thread float workload with the
// sampler off and on at 10 Hz. Compare the medians:
//   bench_telemetry_overhead --benchmark_repetitions=10 --benchmark_enable_random_interleaving=true
//     --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <array>
#include <thread>
#include <vector>

#include "telemetry/monitor.h"

namespace {

constexpr int kSize = 64;
using Matrix = std::array<float, kSize * kSize>;

// Repeated small matrix products: a fixed amount of float work with no BLAS involved.
float multiply_repeatedly(int repetitions, float seed) {
  Matrix a, b, c{};
  for (int i = 0; i < kSize * kSize; ++i) {
    a[i] = seed + static_cast<float>(i % 7) * 0.01f;
    b[i] = 1.0f - static_cast<float>(i % 5) * 0.01f;
  }
  for (int r = 0; r < repetitions; ++r) {
    for (int i = 0; i < kSize; ++i)
      for (int k = 0; k < kSize; ++k) {
        const float aik = a[i * kSize + k];
        for (int j = 0; j < kSize; ++j) c[i * kSize + j] += aik * b[k * kSize + j];
      }
    a[r % (kSize * kSize)] = c[(r * 31) % (kSize * kSize)] * 1e-3f;
  }
  return c[0];
}

void BM_TwoThreadWorkload(benchmark::State& state) {
  const bool sampling = state.range(0) != 0;
  cb::telemetry::Monitor sampler(cb::telemetry::MonitorOptions{}.enable(sampling).rate(10));
  sampler.set_phase(cb::telemetry::Phase::train);
  sampler.start();
  for (auto _ : state) {
    std::array<float, 2> results{};
    std::vector<std::thread> workers;
    for (int t = 0; t < 2; ++t)
      workers.emplace_back([&results, t] { results[t] = multiply_repeatedly(200, 0.5f + t); });
    for (auto& w : workers) w.join();
    benchmark::DoNotOptimize(results);
  }
  sampler.stop();
  state.counters["samples"] = static_cast<double>(sampler.sample_count());
}
BENCHMARK(BM_TwoThreadWorkload)
    ->ArgName("sampler")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);

// The work one sample does (three procfs files and NVML, absent here): at 10 Hz the sampler's
// CPU cost is ten of these per second, a bound that does not depend on the noise above.
void BM_OneSampleReadings(benchmark::State& state) {
  const cb::telemetry::ProcfsReader procfs;
  const cb::telemetry::Nvml nvml;
  for (auto _ : state) {
    benchmark::DoNotOptimize(procfs.process_cpu());
    benchmark::DoNotOptimize(procfs.system_cpu());
    benchmark::DoNotOptimize(procfs.process_memory());
    benchmark::DoNotOptimize(nvml.read_all());
  }
}
BENCHMARK(BM_OneSampleReadings)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
