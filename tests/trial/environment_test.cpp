#include "trial/environment.h"

#include <gtest/gtest.h>

namespace cb::trial {
namespace {

TEST(Environment, CpuinfoCountsPhysicalAndLogicalCoresAndFlags) {
  const std::string text =
      "processor\t: 0\nmodel name\t: Test CPU @ 3.0GHz\nphysical id\t: 0\ncore id\t: 0\n"
      "flags\t\t: fpu sse avx2 fma\n\n"
      "processor\t: 1\nmodel name\t: Test CPU @ 3.0GHz\nphysical id\t: 0\ncore id\t: 0\n"
      "flags\t\t: fpu sse avx2 fma\n\n"
      "processor\t: 2\nmodel name\t: Test CPU @ 3.0GHz\nphysical id\t: 0\ncore id\t: 1\n"
      "flags\t\t: fpu sse avx2 fma\n\n";
  const CpuSummary cpu = parse_cpuinfo(text);
  EXPECT_EQ(cpu.model, "Test CPU @ 3.0GHz");
  EXPECT_EQ(cpu.logical_cores, 3);
  EXPECT_EQ(cpu.physical_cores, 2);
  EXPECT_TRUE(cpu.avx2);
  EXPECT_TRUE(cpu.fma);
  EXPECT_FALSE(cpu.avx512f);
}

TEST(Environment, MeminfoTotalIsInBytes) {
  EXPECT_EQ(parse_meminfo_total_bytes("MemTotal:       1000 kB\nMemFree: 5 kB\n"), 1024000);
  EXPECT_EQ(parse_meminfo_total_bytes("nothing here\n"), -1);
}

TEST(Environment, ResolvesALibraryTheLoaderCanFind) {
  const std::string path = resolve_shared_library("libc.so.6");
  EXPECT_NE(path.find("libc"), std::string::npos) << path;
  EXPECT_EQ(resolve_shared_library("libdefinitely-not-here.so.9"), "");
}

}  // namespace
}  // namespace cb::trial
