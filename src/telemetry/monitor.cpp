#include "telemetry/monitor.h"

#include <fmt/format.h>

#include "core/error.h"

namespace cb::telemetry {
namespace {
void add_to(std::optional<std::uint64_t>& total, const std::optional<std::uint64_t>& part) {
  if (total && part) *total += *part;
}
}  // namespace

Monitor::Monitor(MonitorOptions options)
    : options_(std::move(options)),
      procfs_(options_.proc_root),
      ticks_per_second_(clock_ticks_per_second()),
      logical_cpus_(online_cpus()) {
  if (!(options_.rate_hz > 0 && options_.rate_hz <= 1000))
    throw InputError(
        fmt::format("telemetry rate {} Hz: expected a rate in (0, 1000] Hz", options_.rate_hz));
  if (!options_.enabled) {
    gpu_ = {false, "telemetry off", "telemetry sampling was disabled for this run", {}};
    log_ = empty_log();
    return;
  }
  nvml_ = std::make_unique<Nvml>(options_.nvml_library);
  gpu_.available = nvml_->available();
  gpu_.missing_functions = nvml_->missing_functions();
  if (!gpu_.available) {
    gpu_.label = nvml_->driver_missing() ? "no NVIDIA driver" : "no NVIDIA GPU";
    gpu_.reason = nvml_->unavailable_reason();
  }
  log_ = empty_log();
}

Monitor::~Monitor() { stop(); }

SampleLog Monitor::empty_log() const {
  SampleLog log;
  log.enabled = options_.enabled;
  log.rate_hz = options_.rate_hz;
  log.logical_cpus = logical_cpus_;
  log.gpu = gpu_;
  return log;
}

void Monitor::start() {
  stop();
  std::lock_guard lock(mutex_);
  log_ = empty_log();
  log_.started_unix_s =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  if (!options_.enabled) return;
  stop_requested_ = false;
  started_ = previous_time_ = Clock::now();
  previous_tree_ = read_tree(true);
  previous_system_ = procfs_.system_cpu();
  log_.cpu_governor = cpu_governor(options_.sys_root);
  samples_since_clock_ = 1 << 20;  // the first sample reads the clock
  thread_ = std::thread([this] { run(); });
}

void Monitor::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_requested_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Monitor::run() {
  const auto period = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(1.0 / options_.rate_hz));
  auto next = started_ + period;
  std::unique_lock lock(mutex_);
  while (true) {
    // Waiting on the condition variable lets stop() end the wait at once.
    const bool stopping = wake_.wait_until(lock, next, [this] { return stop_requested_; });
    lock.unlock();
    Sample sample = take_sample();
    lock.lock();
    log_.samples.push_back(std::move(sample));
    if (stopping || stop_requested_) return;
    next += period;
    // After a stall, skip the missed ticks instead of sampling in a burst.
    if (const auto now = Clock::now(); next < now) next = now + period;
  }
}

Sample Monitor::take_sample() {
  Sample s;
  const auto now = Clock::now();
  s.t_s = std::chrono::duration<double>(now - started_).count();
  s.phase = phase();
  if (nvml_) s.gpus = nvml_->read_all();

  const double wall = std::chrono::duration<double>(now - previous_time_).count();
  const bool rescan = ++samples_since_clock_ >= options_.rate_hz;  // about once a second
  TreeReading tree = read_tree(rescan);
  // CPU time moves in whole ticks (10 ms), so a closing sample just after the previous one
  // would turn one tick into a huge rate: such short intervals leave the CPU fields empty.
  const bool long_enough = wall >= 0.5 / options_.rate_hz;
  if (const auto ticks = ticks_between(previous_tree_, tree); ticks && long_enough) {
    s.process_cpu_cores = cores_busy(*ticks, ticks_per_second_, wall);
    s.process_cpu_percent = 100.0 * *s.process_cpu_cores / logical_cpus_;
  }
  const auto system = procfs_.system_cpu();
  if (system && previous_system_ && long_enough) {
    s.system_cpu_percent = system_cpu_percent(*previous_system_, *system);
    fill_machine_load(s, *previous_system_, *system, wall);
  }
  s.load_1m = procfs_.load_average();
  if (rescan) {
    s.cpu_mhz = procfs_.cpu_mhz();
    samples_since_clock_ = 0;
  }
  if (tree.memory) {
    s.rss_bytes = tree.memory->rss_bytes;
    s.peak_rss_bytes = tree.memory->peak_rss_bytes;
  }
  s.threads = tree.threads;
  previous_tree_ = std::move(tree);
  previous_time_ = now;
  previous_system_ = system;
  return s;
}

Monitor::TreeReading Monitor::read_tree(bool rescan) {
  TreeReading tree;
  const auto self = procfs_.process_cpu();
  if (!self) return tree;
  tree.ticks[0] = self->user_ticks + self->system_ticks;
  tree.memory = procfs_.process_memory();
  tree.threads = tree.memory && tree.memory->threads ? *tree.memory->threads : self->threads;
  if (rescan) descendants_ = procfs_.descendants(self->pid);
  for (const int pid : descendants_) {
    const auto cpu = procfs_.process_cpu(pid);
    if (!cpu) continue;  // it has exited
    tree.ticks[pid] = cpu->user_ticks + cpu->system_ticks;
    *tree.threads += cpu->threads;
    const auto memory = procfs_.process_memory(pid);
    if (!memory || !tree.memory) continue;
    // The sum of each process's high-water mark: an upper bound on their simultaneous peak.
    add_to(tree.memory->rss_bytes, memory->rss_bytes);
    add_to(tree.memory->peak_rss_bytes, memory->peak_rss_bytes);
  }
  return tree;
}

// CPU ticks the tree used between two readings: each process's growth; a process new since
// `before` counts whole (it started in between); one that exited loses its last interval.
std::optional<std::uint64_t> Monitor::ticks_between(const TreeReading& before, const TreeReading& after) {
  if (!before.ticks.count(0) || !after.ticks.count(0) || after.ticks.at(0) < before.ticks.at(0))
    return std::nullopt;
  std::uint64_t sum = 0;
  for (const auto& [pid, ticks] : after.ticks) {
    const auto was = before.ticks.find(pid);
    const std::uint64_t base = was == before.ticks.end() || was->second > ticks ? 0 : was->second;
    sum += ticks - base;
  }
  return sum;
}

// Other processes' CPU (busy ticks, steal excluded, minus ours) and the steal share.
void Monitor::fill_machine_load(Sample& s, const SystemCpuTicks& before, const SystemCpuTicks& after,
                                double wall) const {
  if (after.busy < before.busy || after.total <= before.total || after.steal < before.steal) return;
  const std::uint64_t steal = after.steal - before.steal;
  const double busy_cores = cores_busy(after.busy - before.busy - std::min(steal, after.busy - before.busy),
                                       ticks_per_second_, wall);
  s.other_cpu_cores = std::max(0.0, busy_cores - s.process_cpu_cores.value_or(0));
  s.steal_percent = 100.0 * static_cast<double>(steal) / static_cast<double>(after.total - before.total);
}

SampleLog Monitor::log() const {
  std::lock_guard lock(mutex_);
  return log_;
}

std::size_t Monitor::sample_count() const {
  std::lock_guard lock(mutex_);
  return log_.samples.size();
}

}  // namespace cb::telemetry
