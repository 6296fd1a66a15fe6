#include "telemetry/procfs.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"

namespace cb::telemetry {
namespace {

std::vector<std::string_view> split_whitespace(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n')) ++i;
    const std::size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t' && text[i] != '\n') ++i;
    if (i > start) words.push_back(text.substr(start, i - start));
  }
  return words;
}

std::optional<std::uint64_t> to_unsigned(std::string_view word) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), value);
  if (ec != std::errc{} || end != word.data() + word.size()) return std::nullopt;
  return value;
}

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Reads and parses a procfs file; absent when it cannot be read or does not parse (a sampler
// skips such a sample rather than failing the trial).
template <typename Parsed>
std::optional<Parsed> read_parsed(const std::string& path,
                                  Parsed (*parse)(std::string_view text, std::string_view source)) {
  const auto text = read_text(path);
  if (!text) return std::nullopt;
  try {
    return parse(*text, path);
  } catch (const InputError&) {
    return std::nullopt;
  }
}

}  // namespace

ProcessCpuTicks parse_process_stat(std::string_view text, std::string_view source) {
  const std::size_t close = text.rfind(')');
  if (close == std::string_view::npos)
    throw InputError(fmt::format("{}: expected 'pid (name) state ...', found no ')'", source));
  // Fields after the name: [0] state (field 3), [1] ppid (4), [11] utime (14), [12] stime (15),
  // [17] num_threads (20), as proc(5) numbers them.
  const auto fields = split_whitespace(text.substr(close + 1));
  if (fields.size() < 18)
    throw InputError(
        fmt::format("{}: expected at least 20 fields, found {}", source, fields.size() + 2));
  const auto user = to_unsigned(fields[11]);
  const auto system = to_unsigned(fields[12]);
  const auto threads = to_unsigned(fields[17]);
  const auto head = split_whitespace(text.substr(0, text.find('(')));
  const auto pid = head.empty() ? std::nullopt : to_unsigned(head[0]);
  const auto parent = to_unsigned(fields[1]);
  if (!user || !system || !threads)
    throw InputError(
        fmt::format("{}: expected integers in fields 14 (utime), 15 (stime) and "
                    "20 (num_threads), found '{}', '{}', '{}'",
                    source, fields[11], fields[12], fields[17]));
  return {*user, *system, static_cast<int>(*threads), static_cast<int>(pid.value_or(0)),
          static_cast<int>(parent.value_or(0))};
}

SystemCpuTicks parse_system_stat(std::string_view text, std::string_view source) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    const auto words = split_whitespace(line);
    if (words.empty() || words[0] != "cpu") continue;
    // user nice system idle iowait irq softirq steal; guest time is already inside user/nice.
    if (words.size() < 5)
      throw InputError(fmt::format("{}: the 'cpu' line has {} values, expected at least 4", source,
                                   words.size() - 1));
    std::uint64_t v[8] = {};
    for (std::size_t i = 1; i < words.size() && i <= 8; ++i) {
      const auto value = to_unsigned(words[i]);
      if (!value)
        throw InputError(
            fmt::format("{}: 'cpu' value {} is '{}', expected an integer", source, i, words[i]));
      v[i - 1] = *value;
    }
    SystemCpuTicks ticks;
    ticks.busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    ticks.total = ticks.busy + v[3] + v[4];
    ticks.steal = v[7];
    return ticks;
  }
  throw InputError(fmt::format("{}: expected a line starting with 'cpu ', found none", source));
}

ProcessMemory parse_process_status(std::string_view text) {
  ProcessMemory memory;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, colon);
    const auto words = split_whitespace(line.substr(colon + 1));
    if (words.empty()) continue;
    const auto value = to_unsigned(words[0]);
    if (!value) continue;
    // The kernel prints memory in kB (units of 1024 bytes).
    if (key == "VmRSS")
      memory.rss_bytes = *value * 1024;
    else if (key == "VmHWM")
      memory.peak_rss_bytes = *value * 1024;
    else if (key == "Threads")
      memory.threads = static_cast<int>(*value);
  }
  return memory;
}

double cores_busy(std::uint64_t ticks, long ticks_per_second, double wall_seconds) {
  if (ticks_per_second <= 0 || wall_seconds <= 0) return 0.0;
  return static_cast<double>(ticks) / static_cast<double>(ticks_per_second) / wall_seconds;
}

std::optional<double> system_cpu_percent(const SystemCpuTicks& before,
                                         const SystemCpuTicks& after) {
  if (after.total <= before.total || after.busy < before.busy) return std::nullopt;
  return 100.0 * static_cast<double>(after.busy - before.busy) /
         static_cast<double>(after.total - before.total);
}

ProcfsReader::ProcfsReader(std::string proc_root) : root_(std::move(proc_root)) {}

std::optional<ProcessCpuTicks> ProcfsReader::process_cpu() const {
  return read_parsed(root_ + "/self/stat", parse_process_stat);
}

std::optional<SystemCpuTicks> ProcfsReader::system_cpu() const {
  return read_parsed(root_ + "/stat", parse_system_stat);
}

double parse_loadavg(std::string_view text, std::string_view source) {
  const auto words = split_whitespace(text);
  double load = 0;
  if (words.empty() ||
      std::from_chars(words[0].data(), words[0].data() + words[0].size(), load).ec != std::errc{}) {
    throw InputError(fmt::format("{}: expected the 1-minute load average first, found '{}'", source,
                                 words.empty() ? std::string_view() : words[0]));
  }
  return load;
}

std::optional<double> parse_cpu_mhz(std::string_view text) {
  double sum = 0;
  int n = 0;
  for (std::size_t at = text.find("cpu MHz"); at != std::string_view::npos; at = text.find("cpu MHz", at + 1)) {
    const std::size_t colon = text.find(':', at);
    if (colon == std::string_view::npos) break;
    const auto words = split_whitespace(text.substr(colon + 1, text.find('\n', colon) - colon - 1));
    double mhz = 0;
    if (!words.empty() &&
        std::from_chars(words[0].data(), words[0].data() + words[0].size(), mhz).ec == std::errc{}) {
      sum += mhz;
      ++n;
    }
  }
  if (n == 0) return std::nullopt;
  return sum / n;
}

std::optional<double> ProcfsReader::load_average() const {
  return read_parsed(root_ + "/loadavg", parse_loadavg);
}

std::optional<double> ProcfsReader::cpu_mhz() const {
  const auto text = read_text(root_ + "/cpuinfo");
  if (!text) return std::nullopt;
  return parse_cpu_mhz(*text);
}

std::string cpu_governor(const std::string& sys_root) {
  auto text = read_text(sys_root + "/devices/system/cpu/cpu0/cpufreq/scaling_governor");
  if (!text) return "not exposed";
  while (!text->empty() && (text->back() == '\n' || text->back() == ' ')) text->pop_back();
  return text->empty() ? "not exposed" : *text;
}

std::optional<ProcessMemory> ProcfsReader::process_memory() const {
  const auto text = read_text(root_ + "/self/status");
  if (!text) return std::nullopt;
  return parse_process_status(*text);
}

std::optional<ProcessCpuTicks> ProcfsReader::process_cpu(int pid) const {
  return read_parsed(fmt::format("{}/{}/stat", root_, pid), parse_process_stat);
}

std::optional<ProcessMemory> ProcfsReader::process_memory(int pid) const {
  const auto text = read_text(fmt::format("{}/{}/status", root_, pid));
  if (!text) return std::nullopt;
  return parse_process_status(*text);
}

std::vector<int> ProcfsReader::descendants(int pid) const {
  std::vector<std::pair<int, int>> parent_of;  // (pid, parent pid) of every readable process
  std::error_code ec;
  for (std::filesystem::directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const auto number = to_unsigned(name);
    if (!number) continue;
    if (const auto stat = process_cpu(static_cast<int>(*number)))
      parent_of.emplace_back(static_cast<int>(*number), stat->parent_pid);
  }
  std::vector<int> found;
  std::vector<int> frontier{pid};
  while (!frontier.empty()) {
    const int parent = frontier.back();
    frontier.pop_back();
    for (const auto& [child, its_parent] : parent_of) {
      if (its_parent != parent || child == pid) continue;
      if (std::find(found.begin(), found.end(), child) != found.end()) continue;  // a cycle in a fixture
      found.push_back(child);
      frontier.push_back(child);
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

long clock_ticks_per_second() { return sysconf(_SC_CLK_TCK); }

int online_cpus() {
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

}  // namespace cb::telemetry
