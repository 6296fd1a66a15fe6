// Figures: data files and gnuplot scripts written beside the images, gnuplot run as a child.
#include "report/figures.h"
#include "report/tables.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cerrno>
#include <chrono>
#include <thread>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <system_error>

#include "core/error.h"

extern char** environ;

namespace cb::report {
namespace fs = std::filesystem;

namespace {

// A string literal for a gnuplot script: single quotes, with '' standing for one quote.
std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'')
      out += "''";
    else if (c != '\n')
      out += c;
  }
  out += '\'';
  return out;
}

// A label for a data file column: double quotes are the column delimiters, so drop them.
std::string data_label(const std::string& text) {
  std::string out;
  for (char c : text) out += (c == '"' || c == '\n') ? ' ' : c;
  return fmt::format("\"{}\"", out);
}

std::string read_tail(const fs::path& path, std::size_t max_chars) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  if (text.size() > max_chars) text = text.substr(text.size() - max_chars);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// Seconds one gnuplot run may take: CIFARBENCH_GNUPLOT_TIMEOUT_S, or 60.
double gnuplot_time_limit_s() {
  const char* text = std::getenv("CIFARBENCH_GNUPLOT_TIMEOUT_S");
  if (!text || !*text) return 60;
  char* end = nullptr;
  const double v = std::strtod(text, &end);
  return (end && *end == '\0' && std::isfinite(v) && v > 0) ? v : 60;
}

// Runs `gnuplot script` with stdin from /dev/null and stdout+stderr into `log`; "" on success.
std::string run_gnuplot(const fs::path& gnuplot, const fs::path& script, const fs::path& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  const std::string program = gnuplot.string();
  const std::string script_arg = script.string();
  char* argv[] = {const_cast<char*>(program.c_str()), const_cast<char*>(script_arg.c_str()),
                  nullptr};
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, program.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return fmt::format("cannot start {}: {}", program, std::strerror(rc));
  // A stuck gnuplot must not hang `report` (nor the end of `run`): it gets a time limit.
  const double limit_s = gnuplot_time_limit_s();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(limit_s);
  int status = 0;
  for (;;) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) return fmt::format("{}: waiting for it failed: {}", program, std::strerror(errno));
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(pid, SIGKILL);
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return fmt::format("{} did not finish within {} s and was killed (CIFARBENCH_GNUPLOT_TIMEOUT_S "
                         "sets the limit)", program, limit_s);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  const std::string how = WIFEXITED(status) ? fmt::format("exit status {}", WEXITSTATUS(status))
                                            : fmt::format("signal {}", WTERMSIG(status));
  return fmt::format("{} failed ({}): {}", program, how, read_tail(log, 400));
}

bool non_empty_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && fs::file_size(p, ec) > 0;
}

class FigureWriter {
 public:
  FigureWriter(fs::path gnuplot, fs::path dir, FigureSet& set)
      : gnuplot_(std::move(gnuplot)), dir_(std::move(dir)), set_(set) {}

  // Writes `data`, then renders `body` (the plot commands) to SVG and PNG.
  void draw(const std::string& id, const std::string& title, const std::string& data,
            const std::string& body, int width = 960, int height = 540) {
    const fs::path dat = dir_ / (id + ".dat");
    std::ofstream(dat) << data;
    Figure figure{id, title, dir_ / (id + ".svg"), dir_ / (id + ".png")};
    std::string failures;
    const std::vector<std::pair<std::string, fs::path>> targets = {
        {fmt::format("svg size {},{} noenhanced font 'sans,12' background rgb 'white'", width,
                     height),
         figure.svg},
        {fmt::format("pngcairo size {},{} noenhanced font 'sans,11' background rgb 'white'", width,
                     height),
         figure.png},
    };
    for (const auto& [terminal, output] : targets) {
      const fs::path script = dir_ / (id + output.extension().string() + ".gp");
      std::ofstream(script) << "set terminal " << terminal << "\nset output " << quoted(output)
                            << "\nDATA = " << quoted(dat) << "\nset title " << quoted(title) << "\n"
                            << body << "\nunset output\n";
      const fs::path log = dir_ / (id + output.extension().string() + ".log");
      const std::string error = run_gnuplot(gnuplot_, script, log);
      if (error.empty() && non_empty_file(output)) {
        fs::remove(log);
        continue;
      }
      failures += fmt::format("{} {}; ", output.extension().string().substr(1),
                              error.empty() ? "produced no output" : error);
      (output == figure.svg ? figure.svg : figure.png).clear();
    }
    if (!failures.empty()) {
      set_.notes.push_back(fmt::format("{}: {}", id, failures.substr(0, failures.size() - 2)));
    }
    if (!figure.svg.empty() || !figure.png.empty()) set_.figures.push_back(std::move(figure));
  }

  void note(const std::string& text) { set_.notes.push_back(text); }

 private:
  fs::path gnuplot_;
  fs::path dir_;
  FigureSet& set_;
};

// Stable colours: one gnuplot line type per framework, in order of first appearance.
std::map<std::string, int> framework_colours(const Study& study) {
  std::map<std::string, int> colours;
  for (const auto& t : study.trials)
    colours.emplace(t.framework, static_cast<int>(colours.size()) + 1);
  return colours;
}

void bar_figure(FigureWriter& writer, const Study& study, const std::string& id,
                const std::string& title, const std::string& metric_id, const std::string& ylabel) {
  const auto colours = framework_colours(study);
  std::string data = "# label mean ci_low ci_high colour n\n";
  int bars = 0;
  std::set<std::string> setups;
  for (const auto& g : study.groups) setups.insert(g.setup());
  for (const auto& g : study.groups) {
    const auto it = g.summaries.find(metric_id);
    if (it == g.summaries.end()) continue;
    const auto& s = it->second;
    const double low = s.ci95 ? s.ci95->low : s.mean;
    const double high = s.ci95 ? s.ci95->high : s.mean;
    data += fmt::format("{} {} {} {} {} {}\n",
                        data_label(fmt::format("{}{} (n={})", g.label(),
                                               setups.size() > 1 ? ", " + g.setup() : "", s.n)),
                        s.mean, low, high, colours.at(g.framework), s.n);
    ++bars;
  }
  if (bars == 0) {
    writer.note(fmt::format("{}: skipped, no trial recorded {}", id, metric(metric_id).title));
    return;
  }
  const std::string body = fmt::format(
      "set ylabel {}\nset style fill solid 0.7 border -1\nset boxwidth 0.6\nset grid ytics\n"
      "set key off\nset xtics rotate by -15 nomirror\nset yrange [0:*]\nset xrange [-0.6:{}]\n"
      "plot DATA using 0:2:5:xtic(1) with boxes lc variable, "
      "DATA using 0:2:3:4 with yerrorbars lc rgb 'black' pt 7 ps 0.5 lw 1.5\n",
      quoted(ylabel), bars - 0.4);
  writer.draw(id, title, data, body);
}

// One line per trial; `x_of` picks the x value of an epoch.
void learning_curve_figure(FigureWriter& writer, const Study& study, const std::string& id,
                           const std::string& title, const std::string& xlabel, bool against_time) {
  const auto colours = framework_colours(study);
  std::string data;
  std::string plots;
  int block = 0;
  for (const auto& t : study.trials) {
    const auto it = study.epochs.find(t.id);
    if (it == study.epochs.end()) continue;
    std::string rows;
    for (const auto& e : it->second) {
      if (!e.test_accuracy) continue;
      rows += fmt::format("{} {}\n", against_time ? e.training_time_s : e.epoch,
                          *e.test_accuracy * 100);
    }
    if (rows.empty()) continue;
    data += fmt::format("# {}\n{}\n\n", t.key, rows);
    plots += fmt::format(
        "{}DATA index {} using 1:2 with linespoints lc {} dt {} pt 7 ps 0.5 "
        "title {}",
        block == 0 ? "plot " : ", ", block, colours.at(t.framework), 1 + block % 5, quoted(t.key));
    ++block;
  }
  if (block == 0) {
    writer.note(fmt::format("{}: skipped, no evaluated epochs recorded", id));
    return;
  }
  const std::string body = fmt::format(
      "set xlabel {}\nset ylabel 'Test accuracy (%)'\nset grid\n"
      "set key outside right top\n{}\n",
      quoted(xlabel), plots);
  writer.draw(id, title, data, body, 1100, 540);
}

void timeline_figure(FigureWriter& writer, const Study& study) {
  bool any_gpu = false;
  for (const auto& [trial_id, samples] : study.samples) {
    for (const auto& s : samples) any_gpu |= s.gpu_util_pct.has_value();
  }
  const auto colours = framework_colours(study);
  std::string data;
  std::string plots;
  int block = 0;
  for (const auto& [trial_id, samples] : study.samples) {
    const auto* trial = study.trial(trial_id);
    if (trial == nullptr) continue;
    std::string rows;
    for (const auto& s : samples) {
      const auto v = any_gpu ? s.gpu_util_pct : s.cpu_util_pct;
      if (v) rows += fmt::format("{} {}\n", s.t_s, *v);
    }
    if (rows.empty()) continue;
    data += fmt::format("# {}\n{}\n\n", trial->key, rows);
    plots += fmt::format("{}DATA index {} using 1:2 with lines lc {} dt {} lw 1.5 title {}",
                         block == 0 ? "plot " : ", ", block, colours.at(trial->framework),
                         1 + block % 5, quoted(trial->key));
    ++block;
  }
  if (block == 0) {
    writer.note("fig6_utilization_timeline: skipped, no telemetry samples recorded");
    return;
  }
  const std::string ylabel =
      any_gpu ? "GPU utilization (%)" : "CPU utilization (%, 100 = one core)";
  const std::string title =
      any_gpu ? "Fig. 6. GPU utilization over each trial"
              : "Fig. 6. CPU utilization over each trial (no GPU utilization recorded)";
  const std::string body = fmt::format(
      "set xlabel 'Time since trial start (s)'\nset ylabel {}\nset grid\nset yrange [0:*]\n"
      "set key outside right top\n{}\n",
      quoted(ylabel), plots);
  writer.draw("fig6_utilization_timeline", title, data, body, 1100, 540);
}

// Only when a suite varied the process count: each family's throughput (left axis) and scaling
// efficiency against its one-process run (right axis, dashed) against the processes.
void scaling_figure(FigureWriter& writer, const Study& study) {
  std::map<std::string, std::map<int, double>> families;  // label → processes → throughput
  bool any_parallel = false;
  for (const auto& g : study.groups) {
    const auto it = g.summaries.find("throughput");
    if (it == g.summaries.end()) continue;
    any_parallel |= g.processes > 1;
    const std::string label = fmt::format("{}, {} {}", g.label(), g.device,
                                          g.threads ? fmt::format("{} thr/proc", g.threads) : "");
    families[label][g.processes] = it->second.mean;
  }
  if (!any_parallel) return;
  std::string data, plots;
  int block = 0;
  for (const auto& [label, points] : families) {
    if (points.size() < 2) continue;
    const auto base = points.find(1);
    std::string rows;
    for (const auto& [procs, throughput] : points) {
      const double efficiency =
          base != points.end() ? 100.0 * throughput / (procs * base->second) : std::nan("");
      rows += fmt::format("{} {} {}\n", procs, throughput, efficiency);
    }
    data += fmt::format("# {}\n{}\n\n", label, rows);
    plots += fmt::format("{}DATA index {} using 1:2 with linespoints lc {} pt 7 title {}, "
                         "DATA index {} using 1:3 axes x1y2 with linespoints lc {} dt 2 pt 6 "
                         "title {}",
                         block == 0 ? "plot " : ", ", block, block + 1,
                         quoted(label + ": images/s"), block, block + 1,
                         quoted(label + ": efficiency"));
    ++block;
  }
  if (block == 0) {
    writer.note("fig7_scaling: skipped, no model was run with more than one process count");
    return;
  }
  const std::string body = fmt::format(
      "set xlabel 'Processes'\nset ylabel 'Throughput (images/s, all processes)'\n"
      "set y2label 'Efficiency (%)'\nset y2tics\nset yrange [0:*]\nset y2range [0:110]\n"
      "set xtics 1\nset grid\nset key below\n{}\n",
      plots);
  writer.draw("fig7_scaling", "Fig. 7. Data-parallel scaling: throughput and efficiency", data,
              body, 1100, 540);
}

bool executable_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

}  // namespace

std::optional<fs::path> find_gnuplot(std::string& reason) {
  if (const char* override_path = std::getenv("CIFARBENCH_GNUPLOT");
      override_path != nullptr && *override_path != '\0') {
    if (executable_file(override_path)) return fs::path(override_path);
    reason = fmt::format("CIFARBENCH_GNUPLOT={} is not an executable file", override_path);
    return std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    const fs::path candidate = fs::path(dir) / "gnuplot";
    if (executable_file(candidate)) return candidate;
  }
  reason = "gnuplot not found on PATH (install gnuplot to get figures)";
  return std::nullopt;
}

FigureSet render_figures(const Study& study, const fs::path& dir) {
  FigureSet set;
  const auto gnuplot = find_gnuplot(set.skipped);
  if (!gnuplot) {
    set.skipped = fmt::format("figures were skipped: {}", set.skipped);
    return set;
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    throw InputError(
        fmt::format("report directory {}: cannot create it: {}", dir.string(), ec.message()));
  }
  FigureWriter writer(*gnuplot, fs::absolute(dir), set);
  if (study.synthetic) {
    writer.note(fmt::format("fig1_accuracy, fig4_learning_curve_epochs, fig5_learning_curve_time: "
                            "{}",
                            kAccuracyWithheld));
  } else {
    bar_figure(writer, study, "fig1_accuracy", "Fig. 1. Test accuracy (mean, 95% CI)", "accuracy",
               "Test accuracy (%)");
  }
  bar_figure(writer, study, "fig2_training_time", "Fig. 2. Training time (mean, 95% CI)",
             "training_time", "Training time (s)");
  bool any_gpu = false;
  std::string gpu_reason = "not recorded";
  for (const auto& g : study.groups) {
    any_gpu |= g.summaries.count("gpu_util") > 0;
    if (!g.gpu_unavailable_reason.empty()) gpu_reason = g.gpu_unavailable_reason;
  }
  if (any_gpu) {
    bar_figure(writer, study, "fig3_gpu_utilization", "Fig. 3. GPU utilization (mean, 95% CI)",
               "gpu_util", "GPU utilization (%)");
  } else {
    // Say plainly that GPU utilization is absent, and show the CPU's instead of zeros.
    bar_figure(
        writer, study, "fig3_gpu_utilization",
        fmt::format("Fig. 3. CPU utilization (mean, 95% CI); GPU utilization n/a ({})", gpu_reason),
        "cpu_util", "CPU utilization (%, 100 = one core)");
  }
  bar_figure(writer, study, "fig8_mfu", "Fig. 8. Model FLOP utilization (mean, 95% CI)", "mfu",
             "Model FLOP utilization (% of peak)");
  if (!study.synthetic) {
    learning_curve_figure(writer, study, "fig4_learning_curve_epochs",
                          "Fig. 4. Test accuracy against epoch", "Epoch", false);
    learning_curve_figure(writer, study, "fig5_learning_curve_time",
                          "Fig. 5. Test accuracy against training time", "Training time (s)",
                          true);
  }
  timeline_figure(writer, study);
  scaling_figure(writer, study);
  return set;
}

}  // namespace cb::report
