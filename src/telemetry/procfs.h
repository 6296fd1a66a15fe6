// CPU and memory of this process (with the processes it started: a Python worker, a compiler)
// and of the machine, from procfs. The parsers are pure
// functions over the files' text so they are tested on fixtures; the readers add the I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cb::telemetry {

// From /proc/<pid>/stat: CPU time in clock ticks (sysconf(_SC_CLK_TCK) per second).
struct ProcessCpuTicks {
  std::uint64_t user_ticks = 0;
  std::uint64_t system_ticks = 0;
  int threads = 0;
  int pid = 0;         // field 1
  int parent_pid = 0;  // field 4
};
// Parses /proc/<pid>/stat. The name field may hold spaces and parentheses, so the fields are
// counted from the LAST ')'. Throws cb::InputError naming `source` when the text is malformed.
ProcessCpuTicks parse_process_stat(std::string_view text,
                                   std::string_view source = "/proc/self/stat");

// From the aggregate "cpu" line of /proc/stat, in clock ticks.
struct SystemCpuTicks {
  std::uint64_t busy = 0;   // user + nice + system + irq + softirq + steal
  std::uint64_t total = 0;  // busy + idle + iowait
  std::uint64_t steal = 0;  // time the hypervisor gave this VM's CPUs to others (inside busy)
};
SystemCpuTicks parse_system_stat(std::string_view text, std::string_view source = "/proc/stat");

// The 1-minute load average, the first field of /proc/loadavg.
double parse_loadavg(std::string_view text, std::string_view source = "/proc/loadavg");
// The mean of the "cpu MHz" lines of /proc/cpuinfo; empty when there are none (some ARM kernels).
std::optional<double> parse_cpu_mhz(std::string_view text);

// From /proc/<pid>/status; a field the kernel did not print stays empty.
struct ProcessMemory {
  std::optional<std::uint64_t> rss_bytes;       // VmRSS
  std::optional<std::uint64_t> peak_rss_bytes;  // VmHWM, the high-water mark of VmRSS
  std::optional<int> threads;                   // Threads
};
ProcessMemory parse_process_status(std::string_view text);

// CPU time spent over `wall_seconds`, as cores busy (1.0 = one core all the time).
double cores_busy(std::uint64_t ticks, long ticks_per_second, double wall_seconds);
// System CPU utilization between two readings, in percent of all CPUs; empty if no ticks passed.
std::optional<double> system_cpu_percent(const SystemCpuTicks& before, const SystemCpuTicks& after);

// Reads the files under `proc_root` ("/proc"; tests point it at a fixture folder).
class ProcfsReader {
 public:
  explicit ProcfsReader(std::string proc_root = "/proc");
  // Each returns empty when the file cannot be read or parsed (telemetry never aborts a trial).
  std::optional<ProcessCpuTicks> process_cpu() const;
  std::optional<SystemCpuTicks> system_cpu() const;
  std::optional<ProcessMemory> process_memory() const;
  // The same for another process (`pid` under the root); empty once it has exited.
  std::optional<ProcessCpuTicks> process_cpu(int pid) const;
  std::optional<ProcessMemory> process_memory(int pid) const;
  // Every process descended from `pid` (children, their children, ...), found by scanning the
  // parent pid of each numbered folder under the root: /proc/<pid>/task/<tid>/children needs a
  // kernel option many kernels lack.
  std::vector<int> descendants(int pid) const;
  std::optional<double> load_average() const;
  std::optional<double> cpu_mhz() const;

 private:
  std::string root_;
};

// The CPU frequency governor of cpu0 (/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor),
// or "not exposed" (virtual machines often have no cpufreq).
std::string cpu_governor(const std::string& sys_root = "/sys");

long clock_ticks_per_second();
int online_cpus();

}  // namespace cb::telemetry
