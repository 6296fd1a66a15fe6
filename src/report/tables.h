// The report's tables as plain text cells, built once and rendered by every reporter.
#pragma once

#include <string>
#include <vector>

#include "report/study.h"

namespace cb::report {

struct Table {
  std::string id;     // "table1_accuracy", used for CSV/JSON names
  std::string title;  // "Table 1. Test accuracy (%)"
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> notes;  // shown under the table
};

// Table 1 accuracy, 2 training time, 3 GPU utilization, 4 throughput, 5 time to accuracy,
// 6 peak memory and energy, 7 CPU utilization, 8 framework comparisons, 9 trials, and 10
// data-parallel scaling when a suite varied the process count.
std::vector<Table> build_tables(const Study& study);

// A number with fixed decimals, or "n/a" for NaN.
std::string format_number(double value, int decimals);

}  // namespace cb::report
