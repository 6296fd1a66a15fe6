// Progress within an epoch (src/trial/progress.h): a line every 10 % of the epoch when output is
// not a terminal, a line redrawn in place when it is, and nothing left on the line when the
// epoch ends.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "trial/progress.h"

namespace cb::trial {
namespace {

std::string contents(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string text;
  char buffer[4096];
  while (const auto n = std::fread(buffer, 1, sizeof buffer, f)) text.append(buffer, n);
  return text;
}

std::string run_epoch(bool terminal, std::int64_t steps) {
  std::FILE* f = std::tmpfile();
  ProgressPrinter p(f, terminal, std::optional<double>(120.0));
  const TrialSpec spec;
  p.on_start({spec, "synthetic", true, {}, 2, steps, 32, true});
  for (std::int64_t s = 1; s <= steps; ++s) p.on_step({s, 1, 0.1, 2.0 - 0.01 * static_cast<double>(s), 0.5});
  const std::string text = contents(f);
  std::fclose(f);
  return text;
}

int count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(Progress, NotATerminalGetsAPlainLineEveryTenthOfTheEpochButTheLast) {
  const std::string text = run_epoch(false, 20);
  EXPECT_EQ(count(text, "\n"), 9) << text;  // 10 % .. 90 %; the epoch line stands for 100 %
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_NE(text.find("epoch 1/2  step 2/20"), std::string::npos) << text;
  EXPECT_NE(text.find("step 18/20"), std::string::npos) << text;
  EXPECT_NE(text.find("suite ETA"), std::string::npos) << text;
}

TEST(Progress, ATerminalGetsOneLineRedrawnInPlaceAndClearedAtTheEnd) {
  const std::string text = run_epoch(true, 20);
  EXPECT_EQ(text.find('\n'), std::string::npos) << text;
  EXPECT_NE(text.find("\r\033[K  epoch 1/2  step 1/20"), std::string::npos) << text;
  EXPECT_EQ(text.substr(text.size() - 4), "\r\033[K");  // the epoch line starts clean
}

TEST(Progress, TheLineCarriesStepsSpeedLossAndBothEtas) {
  EXPECT_EQ(ProgressPrinter::format_line(2, 3, 37, 390, 412.4, 1.23456, 65, 3725.0),
            "  epoch 2/3  step 37/390  412 img/s  loss 1.2346  epoch ETA 1m05s  suite ETA 1h02m");
  EXPECT_EQ(ProgressPrinter::format_line(1, 1, 1, 10, 0, 2.0, 9.4, std::nullopt),
            "  epoch 1/1  step 1/10  0 img/s  loss 2.0000  epoch ETA 9s");
}

}  // namespace
}  // namespace cb::trial
