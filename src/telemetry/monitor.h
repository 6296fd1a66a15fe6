// One background thread that samples GPU (NVML) and CPU/memory (procfs) at a fixed rate,
// tagging each sample with the phase the trial loop last set. The process's CPU and memory
// include every process it started (a Python worker does a trial's math in a child), so a
// worker's work is the trial's, not "other processes'".
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <optional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "telemetry/nvml.h"
#include "telemetry/procfs.h"
#include "telemetry/sample.h"

namespace cb::telemetry {

struct MonitorOptions {
  bool enabled = true;    // off: start/stop do nothing and the log says "telemetry off"
  double rate_hz = 10.0;  // samples per second, in (0, 1000]
  std::string nvml_library = kNvmlLibrary;
  std::string proc_root = "/proc";
  std::string sys_root = "/sys";  // the CPU governor

  MonitorOptions& enable(bool on) {
    enabled = on;
    return *this;
  }
  MonitorOptions& rate(double hz) {
    rate_hz = hz;
    return *this;
  }
  MonitorOptions& library(std::string path) {
    nvml_library = std::move(path);
    return *this;
  }
  MonitorOptions& procfs(std::string root) {
    proc_root = std::move(root);
    return *this;
  }
};

class Monitor {
 public:
  // Opens NVML now (not in the timed loop); throws cb::InputError for a rate outside (0, 1000].
  explicit Monitor(MonitorOptions options = {});
  ~Monitor();  // stops the thread if running
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  // Clears the previous log and starts sampling; the first sample comes one period later.
  void start();
  // Wakes the thread at once, takes a last sample and joins; safe to call twice.
  void stop();
  void set_phase(Phase phase) { phase_.store(phase, std::memory_order_relaxed); }
  Phase phase() const { return phase_.load(std::memory_order_relaxed); }
  bool running() const { return thread_.joinable(); }

  // A copy of what was recorded so far (callable while running).
  SampleLog log() const;
  std::size_t sample_count() const;
  const GpuAvailability& gpu() const { return gpu_; }

 private:
  using Clock = std::chrono::steady_clock;
  void run();
  Sample take_sample();
  void fill_machine_load(Sample& s, const SystemCpuTicks& before, const SystemCpuTicks& after,
                         double wall) const;
  SampleLog empty_log() const;
  // This process and its descendants: CPU ticks per process (this one under pid 0) and the
  // summed memory. The list of descendants is refreshed when `rescan` is set.
  struct TreeReading {
    std::map<int, std::uint64_t> ticks;
    std::optional<ProcessMemory> memory;
    std::optional<int> threads;
  };
  TreeReading read_tree(bool rescan);
  static std::optional<std::uint64_t> ticks_between(const TreeReading& before, const TreeReading& after);

  MonitorOptions options_;
  std::unique_ptr<Nvml> nvml_;
  ProcfsReader procfs_;
  GpuAvailability gpu_;
  long ticks_per_second_;
  int logical_cpus_;
  std::atomic<Phase> phase_{Phase::idle};

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_requested_ = false;
  std::thread thread_;
  SampleLog log_;

  // Previous readings, touched only by the sampling thread (and start() before it runs).
  Clock::time_point started_;
  Clock::time_point previous_time_;
  TreeReading previous_tree_;
  std::vector<int> descendants_;
  std::optional<SystemCpuTicks> previous_system_;
  int samples_since_clock_ = 0;
};

}  // namespace cb::telemetry
