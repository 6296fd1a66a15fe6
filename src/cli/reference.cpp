// `cifarbench reference save|list|check`: reference learning curves per (model, recipe, dataset),
// and the check that flags trials significantly below them (docs/references.md).
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "cli/command.h"
#include "core/error.h"
#include "report/reference_section.h"
#include "results/reference_check.h"
#include "results/reference_file.h"
#include "results/statistics.h"
#include "results/store.h"

namespace cb::cli {
namespace {

struct ReferenceArgs {
  std::string results;
  std::string name;
  std::string framework;
  std::string out;  // save: a directory, or a .json file for a single reference
  std::string dir;  // list, check: the references directory
  std::string reference;
  double alpha = 0.05;
  double margin_points = 0.5;
};

std::string now_utc() {
  return fmt::format(
      "{:%Y-%m-%dT%H:%M:%SZ}",
      fmt::gmtime(std::chrono::system_clock::to_time_t(std::chrono::system_clock::now())));
}

// Where each reference goes: --out FILE.json (one reference), else DIR/NAME.json.
std::filesystem::path reference_file_for(results::ReferenceCurve& ref, const ReferenceArgs& a,
                                         std::size_t count) {
  const std::filesystem::path out(a.out);
  if (out.extension() == ".json") {
    if (count > 1) {
      throw InputError(fmt::format(
          "--out {}: names one file, but {} holds {} (model, recipe, dataset) groups; give a "
          "directory or --framework/another results set",
          a.out, a.results, count));
    }
    ref.name = out.stem().string();
    return out;
  }
  const std::string fallback = results::default_reference_name(ref, a.framework);
  ref.name = a.name.empty() ? fallback : (count == 1 ? a.name : a.name + "_" + fallback);
  return results::reference_directory(a.out) / (ref.name + ".json");
}

void save_references(const ReferenceArgs& a) {
  const auto snapshot = results::ResultsStore::open_for_reading(a.results).load();
  auto refs = results::build_reference_curves(snapshot, a.framework, now_utc());
  if (refs.empty()) {
    throw InputError(
        fmt::format("{}: no completed trial{} with a test accuracy to build a "
                    "reference from",
                    a.results, a.framework.empty() ? "" : " of framework " + a.framework));
  }
  for (auto& ref : refs) {
    const auto file = reference_file_for(ref, a, refs.size());
    results::write_reference(file, ref);
    const auto& last = ref.epochs.back();
    fmt::print("wrote {}: {} / {} / {} from {} trial(s) of {}, {} epochs, epoch {} mean {:.2f} %\n",
               file.string(), ref.model, ref.recipe, ref.dataset, ref.trials.size(),
               fmt::join(ref.frameworks, ", "), ref.epochs.size(), last.epoch,
               100 * results::mean(last.values));
    if (ref.synthetic) {
      fmt::print("  built from synthetic data: it matches only synthetic-data trials\n");
    }
  }
}

void list_references(const ReferenceArgs& a) {
  const auto dir = results::reference_directory(a.dir);
  const auto refs = results::read_reference_directory(dir);
  if (refs.empty()) {
    fmt::print("no references in {}\n", dir.string());
    return;
  }
  fmt::print("references in {}\n", dir.string());
  fmt::print("{:<32} {:<14} {:<10} {:<10} {:<14} {:>6} {:>6} {:>10}  {}\n", "NAME", "MODEL",
             "RECIPE", "DATASET", "FRAMEWORKS", "TRIALS", "EPOCHS", "FINAL (%)", "CREATED");
  for (const auto& r : refs) {
    fmt::print("{:<32} {:<14} {:<10} {:<10} {:<14} {:>6} {:>6} {:>10.2f}  {}\n", r.name, r.model,
               r.recipe, r.dataset, fmt::format("{}", fmt::join(r.frameworks, ",")),
               r.trials.size(), r.epochs.size(), 100 * results::mean(r.epochs.back().values),
               r.created);
  }
}

void check_references(const ReferenceArgs& a) {
  const auto dir = results::reference_directory(a.dir);
  const auto refs = results::load_references(a.reference, dir);
  const auto snapshot = results::ResultsStore::open_for_reading(a.results).load();
  const results::ReferenceRule rule{a.alpha, a.margin_points / 100};
  const auto checks = results::check_against_references(snapshot, refs, rule);
  const bool any_reference = std::any_of(checks.begin(), checks.end(), [](const auto& g) {
    return g.outcome != results::ReferenceOutcome::no_reference;
  });
  if (!any_reference) {
    std::vector<std::string> keys;
    for (const auto& r : refs) keys.push_back(fmt::format("{}/{}", r.model, r.recipe));
    throw InputError(fmt::format(
        "{}: no completed trials of a (model, recipe) the references cover ({}); expected trials "
        "of one of them",
        a.results, fmt::join(keys, ", ")));
  }
  for (const auto& line : report::reference_section_lines(checks, rule)) fmt::print("{}\n", line);
  const bool failed = std::any_of(checks.begin(), checks.end(), [](const auto& g) {
    return g.outcome == results::ReferenceOutcome::failed;
  });
  if (failed) set_exit_status(static_cast<int>(ExitStatus::failed));
}

void add_rule_options(CLI::App* cmd, ReferenceArgs& a) {
  cmd->add_option("--alpha", a.alpha, "significance level, Holm-corrected over the epochs")
      ->check(finite_in(1e-9, 0.5))
      ->capture_default_str();
  cmd->add_option("--margin", a.margin_points,
                  "accuracy points below the reference mean that count as a shortfall")
      ->check(finite_in(0, 100))
      ->capture_default_str();
}

const CommandRegistration reference_registration{
    "reference", 35, [](CLI::App& app) {
      auto a = std::make_shared<ReferenceArgs>();
      auto* cmd = app.add_subcommand(
          "reference",
          "Reference learning curves: save one from a results set, list them, check "
          "results against them (docs/references.md)");
      cmd->require_subcommand(1);
      const std::string dir_help =
          "references directory (default: $CIFARBENCH_REFERENCES, else "
          "~/.local/share/cifarbench/references)";

      auto* save = cmd->add_subcommand(
          "save",
          "Store the test accuracy per epoch of RESULTS' completed trials, one reference per "
          "(model, recipe, dataset)");
      save->add_option("RESULTS", a->results, "results directory (or its results.sqlite)")
          ->required();
      save->add_option("--name", a->name, "the reference's name (a prefix when there are several)");
      save->add_option("--framework", a->framework, "only this framework's trials");
      save->add_option("--out", a->out,
                       "a .json file (one reference), or a directory; " + dir_help);
      save->callback([a] { save_references(*a); });

      auto* list = cmd->add_subcommand("list", "List the stored references");
      list->add_option("--dir", a->dir, dir_help);
      list->callback([a] { list_references(*a); });

      auto* check = cmd->add_subcommand(
          "check",
          "Flag groups and trials of RESULTS significantly below their reference curve; exit "
          "1 when a group fails");
      check->add_option("RESULTS", a->results, "results directory (or its results.sqlite)")
          ->required();
      check->add_option("--reference", a->reference,
                        "a reference file, or a name in the references directory (default: every "
                        "reference there)");
      check->add_option("--dir", a->dir, dir_help);
      add_rule_options(check, *a);
      check->callback([a] { check_references(*a); });
    }};

}  // namespace
}  // namespace cb::cli
