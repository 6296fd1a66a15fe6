#include "suite/slurm_executor.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <thread>

#include "core/atomic_file.h"
#include "core/error.h"
#include "suite/child_process.h"

namespace cb::suite {
namespace {
using Clock = std::chrono::steady_clock;
using results::TrialStatus;

struct InFlight {
  SlurmTrial trial;
  std::string job_id;
  int known_epochs = 0;
  bool started = false;
  int gone_polls = 0;  // rounds in a row in which Slurm did not know the job
};

std::string job_log_tail(const std::filesystem::path& dir, const std::string& job_id) {
  const std::string tail = tail_of_file(dir / fmt::format("slurm-{}.log", job_id), 2000);
  return tail.empty() ? "" : "\n" + tail;
}

// Waits up to `seconds`, returning early on Ctrl-C.
void wait_or_interrupt(double seconds) {
  const auto until = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < until && !suite_interrupted()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

class SlurmRun {
 public:
  SlurmRun(const SlurmRunOptions& options, results::ResultsStore& store) : opt_(options), store_(store) {}

  SlurmRunCounts run(const std::vector<SlurmTrial>& trials) {
    for (const auto& t : trials) {
      if (t.job_id.empty()) {
        queue_.push_back(t);
        continue;
      }
      fmt::print("re-attached to {} (Slurm job {})\n", t.key, t.job_id);
      in_flight_.push_back({t, t.job_id, 0, false});
    }
    std::fflush(stdout);
    while (!queue_.empty() || !in_flight_.empty()) {
      if (suite_interrupted()) {
        on_interrupt();
        break;
      }
      submit_more();
      poll();
      if (!in_flight_.empty()) wait_or_interrupt(opt_.settings.poll_interval_s);
    }
    return counts_;
  }

 private:
  void submit_more() {
    const auto limit = static_cast<std::size_t>(opt_.settings.max_in_flight);
    while (!queue_.empty() && (limit == 0 || in_flight_.size() < limit) && !suite_interrupted()) {
      const SlurmTrial t = queue_.front();
      queue_.erase(queue_.begin());
      const std::filesystem::path script = t.dir / "job.sbatch";
      write_file_atomically(script, sbatch_script(opt_.settings, slurm_job_spec(t, opt_)));
      const std::string id = submit_job(script);
      write_file_atomically(t.dir / kJobFileName, id + "\n");
      fmt::print("submitted {} as Slurm job {}\n", t.key, id);
      std::fflush(stdout);
      in_flight_.push_back({t, id, 0, false});
    }
  }

  results::TrialRecord record_of(const std::string& key) const {
    const auto rec = store_.find_trial(opt_.suite_id, key);
    if (!rec) {
      throw CheckFailed(fmt::format("{}: trial '{}' vanished from the results database",
                                    store_.database_path().string(), key));
    }
    return *rec;
  }

  // One round: every job's state, its new epochs imported, the ended ones recorded.
  void poll() {
    if (in_flight_.empty()) return;
    std::vector<std::string> ids;
    for (const auto& j : in_flight_) ids.push_back(j.job_id);
    std::map<std::string, JobState> states;
    try {
      states = query_jobs(ids);
    } catch (const CheckFailed& e) {  // a busy slurmctld times out now and then: ask again later
      spdlog::warn("{} (asking again in {} s)", e.what(), opt_.settings.poll_interval_s);
      return;
    }
    for (auto it = in_flight_.begin(); it != in_flight_.end();) {
      const results::TrialRecord rec = record_of(it->trial.key);
      const ImportedTrial imported = import_trial_files(store_, rec, it->trial.dir, it->known_epochs);
      if (imported.new_epochs > 0) {
        fmt::print("{}: epoch {} done (job {})\n", it->trial.key, imported.epochs, it->job_id);
        it->known_epochs = imported.epochs;
      }
      const JobState& job = states[it->job_id];
      it->gone_polls = job.phase == JobState::Phase::gone ? it->gone_polls + 1 : 0;
      // Unknown to Slurm twice in a row (not a one-off answer of a busy controller): ended.
      const bool waiting = job.phase == JobState::Phase::gone && it->gone_polls < 2 &&
                           !(imported.found && results::is_terminal(imported.status));
      if (waiting || job.phase == JobState::Phase::queued || job.phase == JobState::Phase::running) {
        if (job.phase == JobState::Phase::running && !it->started) {
          fmt::print("{}: running (job {})\n", it->trial.key, it->job_id);
          it->started = true;
        }
        ++it;
        continue;
      }
      const TrialStatus status = record_job_end(store_, rec.id, it->job_id, job, imported, it->trial.dir);
      if (status == TrialStatus::completed) {
        ++counts_.completed;
        fmt::print("{}: completed (job {})\n", it->trial.key, it->job_id);
      } else {
        ++counts_.failed;
        fmt::print("{}: {} (job {}): {}\n", it->trial.key, results::to_string(status), it->job_id,
                   record_of(it->trial.key).error);
      }
      it = in_flight_.erase(it);
    }
    std::fflush(stdout);
  }

  // Ctrl-C: cancel the jobs queued or running (asking first on a terminal), or leave them to a
  // later --resume.
  void on_interrupt() {
    counts_.interrupted = true;
    if (in_flight_.empty()) return;
    bool cancel = true;
    if (isatty(STDIN_FILENO)) {
      fmt::print("\nCancel the suite's {} Slurm job(s) queued or running? [y/N] ", in_flight_.size());
      std::fflush(stdout);
      std::string answer;
      std::getline(std::cin, answer);
      cancel = !answer.empty() && (answer[0] == 'y' || answer[0] == 'Y');
    }
    if (!cancel) {
      fmt::print("left {} Slurm job(s) queued or running: `cifarbench run --resume` re-attaches to "
                 "them, `cifarbench collect RESULTS` imports what they wrote\n", in_flight_.size());
      return;
    }
    std::vector<std::string> ids;
    for (const auto& j : in_flight_) ids.push_back(j.job_id);
    cancel_jobs(ids);
    for (const auto& j : in_flight_) {
      const results::TrialRecord rec = record_of(j.trial.key);
      const ImportedTrial imported = import_trial_files(store_, rec, j.trial.dir, j.known_epochs);
      if (imported.found && imported.status == TrialStatus::completed) continue;  // done before the cancel
      store_.set_trial_status(rec.id, TrialStatus::interrupted,
                              fmt::format("cancelled by Ctrl-C: Slurm job {} cancelled (scancel)", j.job_id));
    }
    fmt::print("cancelled {} Slurm job(s)\n", ids.size());
  }

  const SlurmRunOptions& opt_;
  results::ResultsStore& store_;
  std::vector<SlurmTrial> queue_;
  std::vector<InFlight> in_flight_;
  SlurmRunCounts counts_;
};

}  // namespace

std::string recorded_job_id(const std::filesystem::path& trial_dir) {
  std::ifstream in(trial_dir / kJobFileName);
  std::string id;
  in >> id;
  return id;
}

std::string slurm_job_name(const std::string& suite_name, const std::string& key) {
  return "cifarbench:" + suite_name + ":" + key;
}

SlurmJobSpec slurm_job_spec(const SlurmTrial& trial, const SlurmRunOptions& options) {
  SlurmJobSpec j;
  j.name = slurm_job_name(options.suite_name, trial.key);
  j.work_dir = std::filesystem::current_path();
  j.log = std::filesystem::absolute(trial.dir) / "slurm-%j.log";
  j.command = {options.executable.string(), "train", "--trial",
               (std::filesystem::absolute(trial.dir) / "trial.json").string()};
  j.tasks = trial.processes;
  j.threads = trial.threads;
  j.time_limit_s = options.job_time_limit_s;
  return j;
}

SlurmRunCounts run_slurm_trials(const std::vector<SlurmTrial>& trials, const SlurmRunOptions& options,
                                results::ResultsStore& store) {
  return SlurmRun(options, store).run(trials);
}

TrialStatus record_job_end(results::ResultsStore& store, std::int64_t trial_id, const std::string& job_id,
                           const JobState& job, const ImportedTrial& imported,
                           const std::filesystem::path& dir) {
  const bool killed = killed_by_slurm(job.state);
  const bool ended_itself = imported.found && results::is_terminal(imported.status);
  // A trial that Slurm stopped records itself as interrupted (SIGTERM): Slurm's reason wins.
  if (ended_itself && !(killed && imported.status == TrialStatus::interrupted)) return imported.status;
  const std::string kept = fmt::format("{} completed epoch(s) kept", imported.epochs);
  TrialStatus status = TrialStatus::failed;
  std::string why;
  if (job.phase == JobState::Phase::gone) {
    why = fmt::format("Slurm no longer knows job {} and the trial's result.json shows no end; {}", job_id, kept);
  } else if (job.state == "TIMEOUT") {
    status = TrialStatus::timeout;
    why = fmt::format("Slurm stopped job {} at its time limit ({}); {}", job_id, job.reason, kept);
  } else if (job.state == "CANCELLED") {
    status = TrialStatus::interrupted;
    why = fmt::format("cancelled: Slurm job {} was cancelled ({}); {}", job_id, job.reason, kept);
  } else if (killed) {
    why = fmt::format("Slurm ended job {}: {}; {}", job_id, job.reason, kept);
  } else {
    why = fmt::format("Slurm job {} ended without a result ({}); {}", job_id, job.reason, kept);
  }
  store.set_trial_status(trial_id, status, why + job_log_tail(dir, job_id));
  return status;
}

}  // namespace cb::suite
