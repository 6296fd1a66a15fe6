#include "suite/suite_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include "trial/environment.h"
#include "trial/trial.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"
#include "data/resolve.h"
#include "results/store.h"

namespace cb::suite {
namespace {
using Clock = std::chrono::steady_clock;

volatile std::sig_atomic_t g_interrupted = 0;
void on_sigint(int) { g_interrupted = 1; }

std::string sanitize(const std::string& key) {
  std::string out;
  for (char c : key) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.') ? c : '_';
  return out;
}

std::string tail_of_file(const std::filesystem::path& path, std::size_t bytes) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > bytes ? "…" + s.substr(s.size() - bytes) : s;
}

std::string format_eta(double s) {
  const auto t = static_cast<long long>(s);
  if (t >= 3600) return fmt::format("{}h{:02}m", t / 3600, (t % 3600) / 60);
  return fmt::format("{}m{:02}s", t / 60, t % 60);
}

struct ChildResult {
  int exit_code = -1;   // exit status, or -1 when killed by a signal
  int signal = 0;
  bool timed_out = false;
  bool interrupted = false;
};

// Starts argv with stderr to `stderr_path`; waits, enforcing the time limit and forwarding Ctrl-C.
ChildResult run_child(const std::vector<std::string>& argv, const std::filesystem::path& stderr_path,
                      double time_limit_s) {
  const pid_t pid = fork();
  if (pid < 0) throw CheckFailed("fork failed: cannot start a trial process");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // a trial never outlives its suite (kill -9 included)
    const int fd = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) dup2(fd, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  ChildResult r;
  const auto start = Clock::now();
  bool sent_term = false, sent_int = false;
  Clock::time_point kill_deadline{};
  for (;;) {
    int status = 0;
    const pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) {
      if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
      else r.signal = WTERMSIG(status);
      break;
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (g_interrupted && !sent_int) {
      kill(pid, SIGINT);  // the trial records itself as interrupted and exits
      sent_int = true;
      r.interrupted = true;
      kill_deadline = Clock::now() + std::chrono::seconds(30);
    }
    if (!sent_term && elapsed > time_limit_s) {
      kill(pid, SIGTERM);
      sent_term = true;
      r.timed_out = true;
      kill_deadline = Clock::now() + std::chrono::seconds(10);
    }
    if ((sent_term || sent_int) && Clock::now() > kill_deadline) kill(pid, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return r;
}

// True when the suite's real dataset can be loaded here (resolution order of every command).
bool real_data_available(const Suite& suite, const std::string& data_path, std::string* why) {
  data::DataRequest req;
  req.dataset = suite.dataset;
  req.path = data_path;
  try {
    (void)data::resolve_dataset(req);
    return true;
  } catch (const InputError& e) {
    *why = e.what();
    return false;
  }
}
}  // namespace

SuiteRunSummary run_suite(const Suite& suite, const SuiteRunOptions& opt) {
  SuiteRunSummary summary;
  std::vector<std::string> skipped;
  std::vector<PlannedTrial> trials = filter_trials(plan_trials(suite, &skipped), opt.only);
  summary.planned = static_cast<int>(trials.size());
  for (const auto& s : skipped) spdlog::warn("left out: {}", s);
  if (trials.empty()) {
    throw InputError(fmt::format("{}: no trials to run{}", suite.file,
                                 opt.only.empty() ? "" : " (nothing matches --only " + opt.only + ")"));
  }

  std::string dataset = suite.dataset;
  if (dataset != "synthetic") {
    std::string why;
    if (!real_data_available(suite, opt.data_path, &why)) {
      if (!suite.synthetic_fallback) throw InputError(why);
      dataset = "synthetic";
      summary.synthetic_fallback_used = true;
      fmt::print(
          "\n*** SYNTHETIC DATA: no CIFAR data could be found or downloaded on this machine.\n"
          "*** This default suite falls back to synthetic data: speed and utilization figures are\n"
          "*** valid, accuracy is NOT CIFAR-10's. Provide data with --data or CIFARBENCH_DATA.\n\n");
    }
  }

  if (opt.dry_run) {
    fmt::print("suite {}: {} trial(s) on {}{}\n", suite.name, trials.size(), dataset,
               opt.resume ? " (completed ones would be skipped)" : "");
    for (const auto& t : trials) fmt::print("  {}\n", t.key);
    return summary;
  }

  results::ResultsStore store = results::ResultsStore::open(opt.results_dir);
  results::SuiteRecord rec;
  rec.name = suite.name;
  rec.file = suite.file;
  std::ostringstream src;
  src << toml::json_formatter(suite.source);
  rec.config = nlohmann::json::parse(src.str());
  rec.config["dataset_used"] = dataset;
  summary.suite_id = store.begin_suite(rec);
  const nlohmann::json env = trial::capture_environment();

  // Plan: every trial recorded as planned (or kept, when completed and resuming).
  std::vector<PlannedTrial> to_run;
  for (const auto& t : trials) {
    auto existing = store.find_trial(summary.suite_id, t.key);
    if (existing && opt.resume && existing->status == results::TrialStatus::completed) {
      ++summary.skipped_completed;
      continue;
    }
    if (existing && !opt.resume && existing->status == results::TrialStatus::completed) {
      throw InputError(fmt::format(
          "{}: suite '{}' already has completed trials; use --resume to continue it, or another "
          "--results directory", store.database_path().string(), suite.name));
    }
    results::TrialRecord r = existing.value_or(results::TrialRecord{});
    r.suite_id = summary.suite_id;
    r.key = t.key;
    r.framework = t.framework;
    r.model = std::filesystem::path(t.model).stem().string();
    r.recipe = t.recipe;
    r.seed = t.seed;
    r.threads = t.threads;
    r.batch_size = t.batch_size;
    r.device = t.device;
    r.processes = t.processes;
    r.dataset = dataset;
    r.synthetic = dataset == "synthetic";
    r.environment = env;
    r.status = results::TrialStatus::planned;
    store.upsert_trial(r);
    if (existing) store.restart_trial(r.id);
    store.set_trial_status(r.id, results::TrialStatus::planned);
    to_run.push_back(t);
  }
  if (summary.skipped_completed) {
    fmt::print("resuming: {} completed trial(s) kept, {} to run\n", summary.skipped_completed, to_run.size());
  }

  g_interrupted = 0;
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  const auto suite_start = Clock::now();
  int done = 0;
  for (const auto& t : to_run) {
    if (g_interrupted) break;
    const double elapsed = std::chrono::duration<double>(Clock::now() - suite_start).count();
    const std::string eta = done ? format_eta(elapsed / done * (to_run.size() - done)) : "?";
    fmt::print("\n[trial {}/{}] {}   (suite elapsed {}, ETA {})\n", done + 1, to_run.size(), t.key,
               format_eta(elapsed), eta);
    std::fflush(stdout);

    const std::filesystem::path dir = opt.results_dir / "trials" / sanitize(t.key);
    std::filesystem::create_directories(dir);
    write_file_atomically(dir / "recipe.toml", recipe_toml(suite, t.recipe));
    std::vector<std::string> argv = {opt.executable.string(), "train",
                                     "--framework", t.framework,
                                     "--model", t.model,
                                     "--recipe", (dir / "recipe.toml").string(),
                                     "--seed", std::to_string(t.seed),
                                     "--threads", std::to_string(t.threads),
                                     "--device", t.device,
                                     "--dataset", dataset,
                                     "--out", dir.string(),
                                     "--results", opt.results_dir.string(),
                                     "--suite-id", std::to_string(summary.suite_id),
                                     "--trial-key", t.key};
    if (t.batch_size > 0) argv.insert(argv.end(), {"--batch-size", std::to_string(t.batch_size)});
    if (!opt.data_path.empty() && dataset != "synthetic") argv.insert(argv.end(), {"--data", opt.data_path});
    if (t.processes > 1) argv.insert(argv.end(), {"--nproc", std::to_string(t.processes)});
    if (dataset == "synthetic") {
      if (suite.synthetic_train > 0) argv.insert(argv.end(), {"--synthetic-train", std::to_string(suite.synthetic_train)});
      if (suite.synthetic_test > 0) argv.insert(argv.end(), {"--synthetic-test", std::to_string(suite.synthetic_test)});
    }

    const ChildResult r = run_child(argv, dir / "stderr.log", suite.time_limit_s);
    ++done;
    // Planned above, so the row exists; the child may have updated its status.
    const auto rec_now = store.find_trial(summary.suite_id, t.key);
    if (!rec_now) {
      throw CheckFailed(fmt::format("{}: trial '{}' vanished from the results database",
                                    store.database_path().string(), t.key));
    }
    const std::string tail = tail_of_file(dir / "stderr.log", 2000);
    if (r.interrupted || g_interrupted) {
      if (rec_now->status != results::TrialStatus::interrupted) {
        store.set_trial_status(rec_now->id, results::TrialStatus::interrupted, "interrupted by Ctrl-C");
      }
      summary.interrupted = true;
      break;
    }
    if (r.timed_out) {
      store.set_trial_status(rec_now->id, results::TrialStatus::timeout,
                             fmt::format("exceeded the suite's time limit of {} s\n{}", suite.time_limit_s, tail));
      ++summary.failed;
      fmt::print("trial {} timed out after {} s\n", t.key, suite.time_limit_s);
    } else if (r.exit_code == 0 && rec_now->status == results::TrialStatus::completed) {
      ++summary.completed;
    } else {
      const std::string how = r.signal ? fmt::format("killed by signal {} ({})", r.signal, strsignal(r.signal))
                                       : fmt::format("exited with status {}", r.exit_code);
      if (rec_now->status != results::TrialStatus::diverged) {
        store.set_trial_status(rec_now->id, results::TrialStatus::failed, how + "\n" + tail);
      }
      ++summary.failed;
      fmt::print("trial {} failed: {}\n{}\n", t.key, how, tail);
    }
  }
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  if (g_interrupted) summary.interrupted = true;
  return summary;
}

}  // namespace cb::suite
