// `cifarbench data bench`, run as a real child process.
#include <gtest/gtest.h>

#include "support/run_process.h"

namespace cb {
namespace {
using testing::run_cifarbench;

TEST(DataBenchCli, PrintsImagesPerSecondForEachTransformAndTheDefaultRecipe) {
  const auto r = run_cifarbench({"data", "bench", "--seconds", "0.01", "--workers", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* row : {"normalize", "crop 4", "random flip", "rotation", "brightness",
                          "contrast", "cutout", "resize", "default recipe",
                          "prefetch stream, 2 workers"}) {
    EXPECT_NE(r.out.find(row), std::string::npos) << row << "\n" << r.out;
  }
}

TEST(DataBenchCli, ZeroWorkersIsAUsageErrorNamingTheFlag) {
  const auto r = run_cifarbench({"data", "bench", "--workers", "0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE((r.out + r.err).find("--workers"), std::string::npos) << r.out << r.err;
}

}  // namespace
}  // namespace cb
