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
  // Why some rows are not shown (accuracy on synthetic data), said once under the title; empty
  // when nothing was withheld.
  std::string withheld;
};

// The line that stands in for accuracy rows, comparisons and figures of synthetic-data trials.
inline constexpr const char* kAccuracyWithheld =
    "Accuracy withheld: these trials ran on synthetic data, whose accuracy says nothing about "
    "CIFAR-10 (speed and utilization are valid).";

// Table 1 accuracy, 2 training time, 3 GPU utilization, 4 throughput, 5 time to accuracy,
// 6 peak memory and energy, 7 CPU utilization, 8 framework comparisons, 9 trials, and 10
// data-parallel scaling when a suite varied the process count.
std::vector<Table> build_tables(const Study& study);

// The table as the console, Markdown and HTML show it: a cell "n/a (reason)" or
// "inconclusive (reason)" becomes the short mark with a superscript number ("n/a¹"), and each
// distinct reason is given once, numbered, in the notes under the table. CSV and JSON keep the
// full cells.
Table with_footnotes(const Table& table);

// A number with fixed decimals, or "n/a" for NaN.
std::string format_number(double value, int decimals);

}  // namespace cb::report
