// Figures through gnuplot, run as a child process: each figure is written as SVG and PNG.
// Without gnuplot the report still has its tables and says why the figures were skipped.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "report/study.h"

namespace cb::report {

struct Figure {
  std::string id;             // "fig1_accuracy"
  std::string title;          // "Fig. 1. Test accuracy (mean, 95% CI)"
  std::filesystem::path svg;  // empty when that format failed
  std::filesystem::path png;
};

struct FigureSet {
  std::vector<Figure> figures;
  std::string skipped;             // why no figures were drawn ("" when they were)
  std::vector<std::string> notes;  // figures that could not be drawn, and why
};

// The gnuplot to run: $CIFARBENCH_GNUPLOT when set, else `gnuplot` on PATH. The reason is set
// when none is usable.
std::optional<std::filesystem::path> find_gnuplot(std::string& reason);

// Draws every figure of `study` into `dir` (created when absent).
FigureSet render_figures(const Study& study, const std::filesystem::path& dir);

}  // namespace cb::report
