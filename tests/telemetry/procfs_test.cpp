// procfs parsers on fixture text, and the reader on a fixture folder and on this process.
#include "telemetry/procfs.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace cb::telemetry {
namespace {

// Fields 3..52 of a real /proc/self/stat line after the name (utime 250, stime 40, 7 threads).
constexpr const char* kStatTail =
    " R 1 1234 1234 0 -1 4194304 1000 0 0 0 250 40 0 0 20 0 7 0 12345 104857600 2560"
    " 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0 0 0 0 0 0 0 0 0\n";

TEST(ProcessStat, ReadsCpuTicksAndThreads) {
  const ProcessCpuTicks t = parse_process_stat(std::string("1234 (cifarbench)") + kStatTail);
  EXPECT_EQ(t.user_ticks, 250u);
  EXPECT_EQ(t.system_ticks, 40u);
  EXPECT_EQ(t.threads, 7);
}

// A stat line of process `pid` whose parent is `parent` (the tail's " R 1" replaced).
std::string stat_line(int pid, int parent) {
  return std::to_string(pid) + " (w) R " + std::to_string(parent) + (kStatTail + 4);
}

TEST(ProcessStat, ReadsPidAndParentPid) {
  const ProcessCpuTicks t = parse_process_stat(stat_line(4321, 77));
  EXPECT_EQ(t.pid, 4321);
  EXPECT_EQ(t.parent_pid, 77);
  EXPECT_EQ(t.user_ticks, 250u);
}

TEST(ProcessStat, NameEndingInNumbersAndAParenthesisIsSkippedFromTheLastOne) {
  const ProcessCpuTicks t =
      parse_process_stat(std::string("1234 (my (odd) name) 9 9") + ") " + (kStatTail + 1));
  EXPECT_EQ(t.user_ticks, 250u);
  EXPECT_EQ(t.system_ticks, 40u);
  EXPECT_EQ(t.threads, 7);
}

TEST(ProcessStat, NameWithSpacesAndParentheses) {
  const ProcessCpuTicks t = parse_process_stat(std::string("1234 (my (odd) name)") + kStatTail);
  EXPECT_EQ(t.user_ticks, 250u);
  EXPECT_EQ(t.threads, 7);
}

TEST(ProcessStat, TextWithoutClosingParenthesisIsAnInputError) {
  EXPECT_THROW(parse_process_stat("1234 cifarbench R 1 2 3"), InputError);
}

TEST(ProcessStat, TruncatedTextIsAnInputErrorNamingTheFile) {
  try {
    parse_process_stat("1234 (x) R 1 2 3", "/proc/42/stat");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("/proc/42/stat"), std::string::npos) << e.what();
  }
}

TEST(ProcessStat, NonNumericTicksAreAnInputError) {
  std::string tail = kStatTail;
  tail.replace(tail.find(" 250 "), 5, " abc ");
  EXPECT_THROW(parse_process_stat("1 (x)" + tail), InputError);
}

TEST(SystemStat, BusyExcludesIdleAndIowait) {
  // user nice system idle iowait irq softirq steal guest guest_nice
  const SystemCpuTicks t = parse_system_stat(
      "cpu  100 10 50 800 20 5 5 10 30 0\ncpu0 50 5 25 400 10 2 3 5 15 0\nintr 1 2 3\n");
  EXPECT_EQ(t.busy, 100u + 10 + 50 + 5 + 5 + 10);
  EXPECT_EQ(t.total, t.busy + 800 + 20);
}

TEST(SystemStat, OldKernelWithFourValuesIsAccepted) {
  const SystemCpuTicks t = parse_system_stat("cpu 10 0 10 80\n");
  EXPECT_EQ(t.busy, 20u);
  EXPECT_EQ(t.total, 100u);
}

TEST(SystemStat, TextWithoutCpuLineIsAnInputError) {
  EXPECT_THROW(parse_system_stat("cpu0 1 2 3 4\nintr 5\n"), InputError);
}

TEST(ProcessStatus, RssAndPeakAreInBytesAndThreadsCounted) {
  const ProcessMemory m = parse_process_status(
      "Name:\tcifarbench\nVmPeak:\t  200000 kB\nVmHWM:\t    4096 kB\nVmRSS:\t    2048 kB\n"
      "Threads:\t5\n");
  EXPECT_EQ(m.rss_bytes, 2048u * 1024);
  EXPECT_EQ(m.peak_rss_bytes, 4096u * 1024);
  EXPECT_EQ(m.threads, 5);
}

TEST(ProcessStatus, FieldsTheKernelOmitsStayEmpty) {
  // Kernel threads and zombies have no Vm* lines.
  const ProcessMemory m = parse_process_status("Name:\tkworker\nThreads:\t1\n");
  EXPECT_FALSE(m.rss_bytes.has_value());
  EXPECT_FALSE(m.peak_rss_bytes.has_value());
  EXPECT_EQ(m.threads, 1);
}

TEST(CpuUtilization, TicksOverWallTimeAreCoresBusy) {
  EXPECT_DOUBLE_EQ(cores_busy(250, 100, 2.0), 1.25);
}

TEST(CpuUtilization, SystemPercentIsBusyShareBetweenReadings) {
  EXPECT_EQ(system_cpu_percent({100, 400}, {130, 500}), 30.0);
}

TEST(CpuUtilization, SystemPercentIsEmptyWhenNoTicksPassed) {
  EXPECT_FALSE(system_cpu_percent({100, 400}, {100, 400}).has_value());
}

TEST(ProcfsReader, ReadsAFixtureFolder) {
  const auto root =
      std::filesystem::temp_directory_path() /
      ("cifarbench_procfs_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  std::filesystem::create_directories(root / "self");
  std::ofstream(root / "self" / "stat") << "77 (a) b) c)" << kStatTail;
  std::ofstream(root / "stat") << "cpu  1 2 3 4 5 6 7 8 0 0\n";
  std::ofstream(root / "self" / "status") << "VmRSS:\t10 kB\nVmHWM:\t20 kB\nThreads:\t3\n";
  const ProcfsReader reader(root.string());
  ASSERT_TRUE(reader.process_cpu().has_value());
  EXPECT_EQ(reader.process_cpu()->user_ticks, 250u);
  ASSERT_TRUE(reader.system_cpu().has_value());
  EXPECT_EQ(reader.system_cpu()->total, 36u);
  ASSERT_TRUE(reader.process_memory().has_value());
  EXPECT_EQ(reader.process_memory()->peak_rss_bytes, 20u * 1024);
  std::filesystem::remove_all(root);
}

TEST(ProcfsReader, DescendantsAreChildrenAndTheirChildrenOnly) {
  const auto root =
      std::filesystem::temp_directory_path() /
      ("cifarbench_procfs_tree_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  // 77 (this process) started 80, which started 81; 90 is someone else's; "self" is not a pid.
  for (const auto& [pid, parent] : std::vector<std::pair<int, int>>{{77, 1}, {80, 77}, {81, 80}, {90, 1}}) {
    std::filesystem::create_directories(root / std::to_string(pid));
    std::ofstream(root / std::to_string(pid) / "stat") << stat_line(pid, parent);
  }
  std::filesystem::create_directories(root / "self");
  std::ofstream(root / "self" / "stat") << stat_line(77, 1);
  const ProcfsReader reader(root.string());
  EXPECT_EQ(reader.descendants(77), (std::vector<int>{80, 81}));
  EXPECT_EQ(reader.descendants(81), std::vector<int>{});
  ASSERT_TRUE(reader.process_cpu(80).has_value());
  EXPECT_EQ(reader.process_cpu(80)->parent_pid, 77);
  EXPECT_FALSE(reader.process_cpu(12345).has_value());  // not there: exited
  std::filesystem::remove_all(root);
}

TEST(ProcfsReader, MissingFilesGiveEmptyReadings) {
  const ProcfsReader reader("/nonexistent/proc");
  EXPECT_FALSE(reader.process_cpu().has_value());
  EXPECT_FALSE(reader.system_cpu().has_value());
  EXPECT_FALSE(reader.process_memory().has_value());
}

TEST(ProcfsReader, ReadsThisProcess) {
  const ProcfsReader reader;
  const auto memory = reader.process_memory();
  ASSERT_TRUE(memory.has_value());
  EXPECT_GT(memory->rss_bytes.value_or(0), 0u);
  EXPECT_GE(memory->peak_rss_bytes.value_or(0), memory->rss_bytes.value_or(0));
  ASSERT_TRUE(reader.process_cpu().has_value());
  EXPECT_GE(reader.process_cpu()->threads, 1);
  EXPECT_EQ(reader.process_cpu()->pid, static_cast<int>(getpid()));
  EXPECT_EQ(reader.process_cpu()->parent_pid, static_cast<int>(getppid()));
}

}  // namespace
}  // namespace cb::telemetry
