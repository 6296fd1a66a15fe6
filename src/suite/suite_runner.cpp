#include "suite/suite_runner.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <map>
#include <cstring>
#include <random>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/rng.h"
#include "data/md5.h"
#include "data/resolve.h"
#include "model/custom_model.h"
#include "model/zoo.h"
#include "results/directory_lock.h"
#include "results/statistics.h"
#include "results/store.h"
#include "suite/child_process.h"
#include "suite/slurm_executor.h"
#include "suite/trial_import.h"
#include "suite/trial_file.h"
#include "trial/config_diff.h"
#include "trial/environment.h"
#include "trial/recipe.h"

namespace cb::suite {
namespace {
using Clock = std::chrono::steady_clock;

std::string format_eta(double s) {
  const auto t = static_cast<long long>(s);
  if (t >= 3600) return fmt::format("{}h{:02}m", t / 3600, (t % 3600) / 60);
  return fmt::format("{}m{:02}s", t / 60, t % 60);
}

// True when the suite's real dataset can be loaded here (resolution order of every command).
// A dry run never downloads (it says what it found without touching the network).
bool real_data_available(const Suite& suite, const std::string& data_path, bool allow_download, std::string* why) {
  data::DataRequest req;
  req.dataset = suite.dataset;
  req.path = data_path;
  req.allow_download = allow_download;
  try {
    (void)data::resolve_dataset(req);
    return true;
  } catch (const InputError& e) {
    *why = e.what();
    return false;
  }
}

// The trial stops itself at the suite's limit (as `timeout`, epochs kept); the process is
// killed only when it overstays that by this much (a hang, a step that never ends).
double hard_time_limit(double limit_s) { return limit_s + std::max(30.0, 0.1 * limit_s); }

class SuiteRun {
 public:
  SuiteRun(const Suite& suite, const SuiteRunOptions& options) : suite_(suite), opt_(options) {}

  SuiteRunSummary run() {
    const std::vector<PlannedTrial> trials = plan();
    choose_dataset();
    if (opt_.dry_run) {
      fmt::print("suite {}: {} trial(s) on {}{}\n", suite_.name, trials.size(), dataset_,
                 opt_.resume ? " (completed ones would be skipped)" : "");
      for (const auto& t : trials) fmt::print("  {}\n", t.key);
      if (slurm()) print_sbatch_scripts(trials);
      if (suite_.auto_seeds) {
        fmt::print("seeds = \"auto\": then one more seed per round, up to {}, until every comparison's "
                   "95 % CI of {} is within ±{:g} {}\n", suite_.auto_seeds->max,
                   suite_.auto_seeds->metric, suite_.auto_seeds->half_width, auto_unit());
      }
      return summary_;
    }
    lock_.emplace(results::DirectoryLock::acquire(opt_.results_dir));  // held until we return
    store_.emplace(results::ResultsStore::open(opt_.results_dir));
    const std::vector<PlannedTrial> to_run = record_planned(trials);
    const InterruptHandler interrupts;
    suite_start_ = Clock::now();
    bool going = run_trials(to_run);
    if (suite_.auto_seeds) {
      for (int n = static_cast<int>(suite_.seeds.size()); going && !suite_interrupted(); ++n) {
        const auto wide = too_wide_comparisons();
        if (wide.empty()) {
          fmt::print("\nseeds = \"auto\": every comparison's 95 % CI is within ±{:g} {} after {} seeds\n",
                     suite_.auto_seeds->half_width, auto_unit(), n);
          break;
        }
        if (n >= suite_.auto_seeds->max) {
          fmt::print("\nseeds = \"auto\": stopped at the maximum of {} seeds; still wider than ±{:g} {}:\n  {}\n",
                     n, suite_.auto_seeds->half_width, auto_unit(), fmt::join(wide, "\n  "));
          break;
        }
        fmt::print("\nseeds = \"auto\": adding seed {} (CI wider than ±{:g} {}: {})\n", n + 1,
                   suite_.auto_seeds->half_width, auto_unit(), fmt::join(wide, "; "));
        going = run_trials(record_planned(seed_round(static_cast<std::uint64_t>(n + 1))));
      }
    }
    if (suite_interrupted()) summary_.interrupted = true;
    return summary_;
  }

 private:
  bool slurm() const { return suite_.executor.kind == ExecutorKind::slurm; }

  SlurmRunOptions slurm_options() const {
    SlurmRunOptions o;
    o.settings = suite_.executor.slurm;
    o.executable = opt_.executable;
    o.suite_name = suite_.name;
    o.suite_id = summary_.suite_id;
    o.job_time_limit_s = hard_time_limit(suite_.time_limit_s);
    return o;
  }

  SlurmTrial slurm_trial(const PlannedTrial& t) const {
    SlurmTrial s;
    s.key = t.key;
    s.dir = trial_directory(opt_.results_dir, t.key);
    s.processes = t.processes;
    s.threads = t.threads;
    if (const auto it = attached_.find(t.key); it != attached_.end()) s.job_id = it->second;
    return s;
  }

  void print_sbatch_scripts(const std::vector<PlannedTrial>& trials) const {
    fmt::print("\nexecutor slurm: the sbatch scripts it would submit ({} trial(s)):\n", trials.size());
    for (const auto& t : trials) {
      fmt::print("\n# {}\n{}", t.key, sbatch_script(suite_.executor.slurm, slurm_job_spec(slurm_trial(t), slurm_options())));
    }
  }

  // Runs `to_run` as Slurm jobs; false when the suite must stop (interrupted).
  bool run_slurm_trials(const std::vector<PlannedTrial>& to_run) {
    std::vector<SlurmTrial> jobs;
    for (const auto& t : to_run) {
      SlurmTrial s = slurm_trial(t);
      if (s.job_id.empty()) write_trial_files(t, s.dir);
      jobs.push_back(std::move(s));
    }
    const SlurmRunCounts counts = suite::run_slurm_trials(jobs, slurm_options(), *store_);
    summary_.completed += counts.completed;
    summary_.failed += counts.failed;
    done_ += to_run.size();
    if (counts.interrupted) summary_.interrupted = true;
    return !counts.interrupted && !suite_interrupted();
  }

  // --resume with Slurm: the jobs of unfinished trials that Slurm still runs or queues (by the
  // recorded id, or by job name when the id was never recorded) are re-attached to, not
  // submitted again; a job that ended while no `run` watched has its files imported, and a
  // trial they show completed is kept.
  void find_slurm_jobs(const std::vector<PlannedTrial>& trials) {
    std::map<std::string, std::string> recorded;  // key -> job id
    std::vector<std::string> ids;
    for (const auto& t : trials) {
      const auto existing = store_->find_trial(summary_.suite_id, t.key);
      if (!existing || existing->status == results::TrialStatus::completed) continue;
      const std::string id = recorded_job_id(trial_directory(opt_.results_dir, t.key));
      recorded[t.key] = id;
      if (!id.empty()) ids.push_back(id);
    }
    if (recorded.empty()) return;
    std::map<std::string, std::string> names;  // job id -> name
    const auto states = query_jobs(ids, &names);
    std::map<std::string, std::string> by_name;
    for (const auto& [id, name] : names) by_name[name] = id;
    for (const auto& [key, recorded_id] : recorded) {
      std::string id = recorded_id;
      if (const auto n = by_name.find(slurm_job_name(suite_.name, key)); n != by_name.end()) id = n->second;
      const auto state = states.find(id);
      if (id.empty() || state == states.end()) continue;
      const auto phase = state->second.phase;
      if (phase == JobState::Phase::queued || phase == JobState::Phase::running) {
        attached_[key] = id;
        continue;
      }
      const auto rec = store_->find_trial(summary_.suite_id, key);
      const auto dir = trial_directory(opt_.results_dir, key);
      const ImportedTrial imported = import_trial_files(*store_, *rec, dir);
      if (record_job_end(*store_, rec->id, id, state->second, imported, dir) == results::TrialStatus::completed) {
        fmt::print("{}: Slurm job {} completed while no `run` watched it; kept\n", key, id);
      }
    }
  }

  // Runs `to_run` in order; false when the suite must stop (interrupted).
  bool run_trials(const std::vector<PlannedTrial>& to_run) {
    if (slurm()) return run_slurm_trials(to_run);
    const std::size_t total = done_ + to_run.size();
    for (std::size_t i = 0; i < to_run.size() && !suite_interrupted(); ++i, ++done_) {
      const double elapsed = std::chrono::duration<double>(Clock::now() - suite_start_).count();
      const std::string eta = done_ ? format_eta(elapsed / static_cast<double>(done_) * (total - done_)) : "?";
      fmt::print("\n[trial {}/{}] {}   (suite elapsed {}, ETA {})\n", done_ + 1, total, to_run[i].key,
                 format_eta(elapsed), eta);
      std::fflush(stdout);
      if (done_) {  // the progress line of the trial adds its own remaining time to this
        const double after = elapsed / static_cast<double>(done_) * static_cast<double>(total - done_ - 1);
        setenv("CIFARBENCH_SUITE_ETA_S", fmt::format("{:.0f}", after).c_str(), 1);
      }
      if (!run_one(to_run[i])) return false;
    }
    return !suite_interrupted();
  }

  std::string auto_unit() const { return suite_.auto_seeds->metric == "accuracy" ? "points" : "%"; }

  // The trials of one more seed, for every configuration, in a shuffled order.
  std::vector<PlannedTrial> seed_round(std::uint64_t seed) {
    Suite round = suite_;
    round.seeds = {seed};
    std::vector<PlannedTrial> trials = filter_trials(plan_trials(round, nullptr), opt_.only);
    summary_.planned += static_cast<int>(trials.size());
    return order_trials(std::move(trials), suite_.order, derive_seed(order_seed_, {seed}));
  }

  // The comparisons (framework pairs of one configuration, or a lone framework's mean) whose
  // 95 % CI of the auto-seeds metric is still wider than the target, as "label ±width".
  std::vector<std::string> too_wide_comparisons() const {
    const bool accuracy = suite_.auto_seeds->metric == "accuracy";
    // configuration (key without framework and seed) → framework → values
    std::map<std::string, std::map<std::string, std::vector<double>>> groups;
    for (const auto& t : store_->load().trials) {
      if (t.suite_id != summary_.suite_id || t.status != results::TrialStatus::completed) continue;
      const auto value = accuracy ? t.test_accuracy : t.images_per_s;
      if (!value || (!accuracy && *value <= 0)) continue;
      std::string config = t.key.substr(t.key.find('/') + 1);
      const std::string tag = fmt::format("/seed={}", t.seed);
      if (const auto at = config.find(tag); at != std::string::npos) config.erase(at, tag.size());
      groups[config][t.framework].push_back(accuracy ? 100.0 * *value : std::log(*value));
    }
    // Throughput compares logarithms: a half-width h there is a ratio CI of ×e^±h.
    const auto width = [&](double h) { return accuracy ? h : 100.0 * (std::exp(h) - 1.0); };
    std::vector<std::string> wide;
    for (const auto& [config, frameworks] : groups) {
      for (auto a = frameworks.begin(); a != frameworks.end(); ++a) {
        if (frameworks.size() == 1) {
          const auto ci = results::mean_ci95(a->second);
          const double h = ci ? width((ci->high - ci->low) / 2) : INFINITY;
          if (h > suite_.auto_seeds->half_width) wide.push_back(fmt::format("{} {} ±{:.2g}", a->first, config, h));
        }
        for (auto b = std::next(a); b != frameworks.end(); ++b) {
          const auto test = results::welch_t_test(a->second, b->second);
          const double h = test.tested ? width((test.ci95.high - test.ci95.low) / 2) : INFINITY;
          if (h > suite_.auto_seeds->half_width) {
            wide.push_back(fmt::format("{} vs {} {} ±{:.2g}", a->first, b->first, config, h));
          }
        }
      }
    }
    return wide;
  }

  // The matrix expanded, filtered by --only; what the planner left out is said once.
  std::vector<PlannedTrial> plan() {
    std::vector<std::string> skipped;
    std::vector<PlannedTrial> trials = filter_trials(plan_trials(suite_, &skipped), opt_.only);
    order_seed_ = suite_.order_seed ? *suite_.order_seed : std::random_device{}();
    trials = order_trials(std::move(trials), suite_.order, order_seed_);
    if (suite_.order == TrialOrder::interleaved) {
      fmt::print("trial order: interleaved, seed {} (--order-seed {} repeats it; --order grid "
                 "runs the matrix in order)\n", order_seed_, order_seed_);
    }
    summary_.planned = static_cast<int>(trials.size());
    for (const auto& s : skipped) spdlog::warn("left out: {}", s);
    if (trials.empty()) {
      throw InputError(fmt::format("{}: no trials to run{}", suite_.file,
                                   opt_.only.empty() ? "" : " (nothing matches --only " + opt_.only + ")"));
    }
    return trials;
  }

  // The suite's dataset, or synthetic data where the suite allows it and no real data is found.
  void choose_dataset() {
    dataset_ = suite_.dataset;
    if (dataset_ == "synthetic") return;
    std::string why;
    if (real_data_available(suite_, opt_.data_path, !opt_.dry_run, &why)) return;
    if (!suite_.synthetic_fallback) throw InputError(why);
    dataset_ = "synthetic";
    summary_.synthetic_fallback_used = true;
    fmt::print(
        "\n*** SYNTHETIC DATA: no CIFAR data could be found or downloaded on this machine.\n"
        "*** This default suite falls back to synthetic data: speed and utilization figures are\n"
        "*** valid, accuracy is NOT CIFAR-10's. Provide data with --data or CIFARBENCH_DATA.\n\n");
  }

  results::TrialRecord planned_record(const PlannedTrial& t, const nlohmann::json& environment) const {
    results::TrialRecord r;
    r.suite_id = summary_.suite_id;
    r.key = t.key;
    r.framework = t.framework;
    r.model = std::filesystem::path(t.model).stem().string();
    r.recipe = t.recipe;
    r.seed = t.seed;
    r.threads = t.threads;
    r.batch_size = t.batch_size;
    r.device = t.device;
    r.processes = t.processes;
    r.dataset = dataset_;
    r.synthetic = dataset_ == "synthetic";
    r.environment = environment;
    r.config = {{"planned", planned_config(t)}};  // the child adds what it resolved, keeping this
    r.status = results::TrialStatus::planned;
    return r;
  }

  // What makes a trial's results what they are, as the suite asks for it: compared on resume
  // with what produced the stored epochs. Paths and the time limit are left out (moving the
  // data or allowing more time does not change what an epoch measures).
  nlohmann::json planned_config(const PlannedTrial& t) const {
    nlohmann::json recipe = nlohmann::json::object();
    for (const auto& r : suite_.recipes) {
      if (r.name != t.recipe) continue;
      std::ostringstream text;
      text << toml::json_formatter(r.table);
      recipe = nlohmann::json::parse(text.str());
    }
    // A model file is compared by what it defines (its spec's digest), not by its path, which
    // depends on the directory `run` was started from.
    nlohmann::json model = t.model;
    if (!model::is_zoo_model(t.model)) {
      data::Md5 digest;
      digest.update(model::model_to_json(model::resolve_model(t.model, 10)).dump());
      model = {{"file", std::filesystem::path(t.model).filename().string()},
               {"spec_md5", digest.hex_digest()}};
    }
    return {{"framework", t.framework}, {"model", model}, {"recipe", recipe},
            {"seed", t.seed}, {"batch_size", t.batch_size},
            {"execution", trial::to_json(t.execution)}, {"processes", t.processes},
            {"dataset", dataset_}, {"synthetic_train", suite_.synthetic_train},
            {"synthetic_test", suite_.synthetic_test}};
  }

  // Differences between a stored trial's configuration and the one asked for now.
  std::vector<std::string> changes(const results::TrialRecord& stored, const PlannedTrial& t) const {
    if (!stored.config.is_object() || !stored.config.contains("planned")) {
      return {"its configuration was not recorded (written by an older cifarbench)"};
    }
    return trial::config_differences(stored.config["planned"], planned_config(t));
  }

  // Resuming keeps completed trials only when they were produced by the configuration asked for
  // now; otherwise it refuses, naming every difference, unless --restart-changed.
  void check_resumable(const std::vector<PlannedTrial>& trials) const {
    std::vector<std::string> changed;
    for (const auto& t : trials) {
      const auto existing = store_->find_trial(summary_.suite_id, t.key);
      if (!existing || existing->status != results::TrialStatus::completed) continue;
      const auto diffs = changes(*existing, t);
      if (diffs.empty()) continue;
      if (opt_.restart_changed) {
        spdlog::warn("{}: configuration changed ({}); run again from scratch (--restart-changed)",
                     t.key, fmt::join(diffs, "; "));
        continue;
      }
      changed.push_back(fmt::format("  {}: {}", t.key, fmt::join(diffs, "; ")));
    }
    if (!changed.empty()) {
      throw InputError(fmt::format(
          "{}: --resume: {} completed trial(s) of suite '{}' were produced by another "
          "configuration than the suite asks for now (stored → asked):\n{}\nRestore the suite "
          "file, use another --results directory, or add --restart-changed to run those trials "
          "again from scratch",
          store_->database_path().string(), changed.size(), suite_.name, fmt::join(changed, "\n")));
    }
  }

  // Every trial recorded as planned (or kept, when completed and resuming); returns those to run.
  std::vector<PlannedTrial> record_planned(const std::vector<PlannedTrial>& trials) {
    results::SuiteRecord rec;
    rec.name = suite_.name;
    rec.file = suite_.file;
    std::ostringstream src;
    src << toml::json_formatter(suite_.source);
    rec.config = nlohmann::json::parse(src.str());
    rec.config["dataset_used"] = dataset_;
    rec.config["trial_order"] = {{"order", to_string(suite_.order)}, {"seed", order_seed_}};
    summary_.suite_id = store_->begin_suite(rec);
    if (opt_.resume) check_resumable(trials);
    if (opt_.resume && slurm()) find_slurm_jobs(trials);
    const nlohmann::json env = trial::capture_environment();
    std::vector<PlannedTrial> to_run;
    for (const auto& t : trials) {
      if (attached_.contains(t.key)) {  // its job still runs: neither restarted nor submitted again
        to_run.push_back(t);
        continue;
      }
      const auto existing = store_->find_trial(summary_.suite_id, t.key);
      const bool completed = existing && existing->status == results::TrialStatus::completed;
      if (completed && opt_.resume && changes(*existing, t).empty()) {
        ++summary_.skipped_completed;
        continue;
      }
      if (completed && !opt_.resume) {
        throw InputError(fmt::format(
            "{}: suite '{}' already has completed trials; use --resume to continue it, or another "
            "--results directory", store_->database_path().string(), suite_.name));
      }
      results::TrialRecord r = planned_record(t, env);
      if (existing) r.id = existing->id;
      store_->upsert_trial(r);
      if (existing) store_->restart_trial(r.id);
      store_->set_trial_status(r.id, results::TrialStatus::planned);
      to_run.push_back(t);
    }
    if (summary_.skipped_completed) {
      fmt::print("resuming: {} completed trial(s) kept, {} to run\n", summary_.skipped_completed, to_run.size());
    }
    return to_run;
  }

  // The trial's directory with its recipe and trial file; returns the trial file's path.
  std::filesystem::path write_trial_files(const PlannedTrial& t, const std::filesystem::path& dir) const {
    std::filesystem::create_directories(dir);
    write_file_atomically(dir / "recipe.toml", recipe_toml(suite_, t.recipe));
    TrialFile f;
    f.framework = t.framework;
    f.model = t.model;
    f.recipe = dir / "recipe.toml";
    f.seed = t.seed;
    f.batch_size = t.batch_size;
    f.execution = t.execution;
    f.dataset = dataset_;
    if (dataset_ != "synthetic") f.data_path = opt_.data_path;
    if (dataset_ == "synthetic") {
      f.synthetic_train = suite_.synthetic_train;
      f.synthetic_test = suite_.synthetic_test;
    }
    f.processes = t.processes;
    f.time_limit_s = suite_.time_limit_s;
    f.out_dir = dir;
    // A Slurm job writes only into its directory; this process imports it (trial_import.h).
    if (!slurm()) f.results_dir = opt_.results_dir;
    f.suite_id = summary_.suite_id;
    f.key = t.key;
    write_trial_file(dir / "trial.json", f);
    return dir / "trial.json";
  }

  // Runs one trial's process and records how it ended; false when the suite was interrupted.
  bool run_one(const PlannedTrial& t) {
    const std::filesystem::path dir = trial_directory(opt_.results_dir, t.key);
    const std::filesystem::path trial_file = write_trial_files(t, dir);
    const ChildResult r = run_child({opt_.executable.string(), "train", "--trial", trial_file.string()},
                                    dir / "stderr.log", hard_time_limit(suite_.time_limit_s));
    // Planned above, so the row exists; the child may have updated its status.
    const auto rec = store_->find_trial(summary_.suite_id, t.key);
    if (!rec) {
      throw CheckFailed(fmt::format("{}: trial '{}' vanished from the results database",
                                    store_->database_path().string(), t.key));
    }
    if (r.interrupted || suite_interrupted()) {
      if (rec->status != results::TrialStatus::interrupted) {
        store_->set_trial_status(rec->id, results::TrialStatus::interrupted, "interrupted by Ctrl-C");
      }
      summary_.interrupted = true;
      return false;
    }
    record_end(t, *rec, r, tail_of_file(dir / "stderr.log", 2000));
    return true;
  }

  void record_end(const PlannedTrial& t, const results::TrialRecord& rec, const ChildResult& r,
                  const std::string& tail) {
    if (r.exit_code == 0 && rec.status == results::TrialStatus::completed) {
      ++summary_.completed;
      return;
    }
    ++summary_.failed;
    if (r.timed_out) {
      store_->set_trial_status(rec.id, results::TrialStatus::timeout,
                               fmt::format("exceeded the suite's time limit of {} s and did not stop "
                                           "(killed)\n{}", suite_.time_limit_s, tail));
      fmt::print("trial {} timed out after {} s and was killed\n", t.key, suite_.time_limit_s);
    } else if (rec.status == results::TrialStatus::timeout) {  // it stopped itself at the limit
      fmt::print("trial {} timed out after {} s; its finished epochs are kept\n", t.key, suite_.time_limit_s);
    } else {
      const std::string how = r.signal ? fmt::format("killed by signal {} ({})", r.signal, strsignal(r.signal))
                                       : fmt::format("exited with status {}", r.exit_code);
      if (rec.status != results::TrialStatus::diverged) {
        store_->set_trial_status(rec.id, results::TrialStatus::failed, how + "\n" + tail);
      }
      fmt::print("trial {} failed: {}\n{}\n", t.key, how, tail);
    }
  }

  const Suite& suite_;
  const SuiteRunOptions& opt_;
  SuiteRunSummary summary_;
  std::string dataset_;
  std::uint64_t order_seed_ = 0;  // the interleaved order's, recorded with the suite
  Clock::time_point suite_start_;
  std::size_t done_ = 0;  // trials run so far (for the progress line)
  std::optional<results::DirectoryLock> lock_;
  std::optional<results::ResultsStore> store_;
  std::map<std::string, std::string> attached_;  // --resume with Slurm: key -> job still running
};

}  // namespace

SuiteRunSummary run_suite(const Suite& suite, const SuiteRunOptions& options) {
  return SuiteRun(suite, options).run();
}

}  // namespace cb::suite
