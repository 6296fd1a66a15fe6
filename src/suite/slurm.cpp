#include "suite/slurm.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "suite/child_process.h"

namespace cb::suite {
namespace {

// A word for bash, in single quotes when it needs any.
std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                        "0123456789_-./=:,+@%") == std::string::npos) {
    return s;
  }
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, sep);) out.push_back(part);
  return out;
}

std::string first_line(const std::string& s) { return trim(s.substr(0, s.find('\n'))); }

// Pending-like and running-like squeue states (squeue lists nothing else for long).
JobState::Phase phase_of(const std::string& state) {
  static const std::vector<std::string> queued = {"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_FED",
                                                  "REQUEUE_HOLD", "RESV_DEL_HOLD", "SUSPENDED",
                                                  "STOPPED", "RESIZING", "SIGNALING", "STAGE_OUT"};
  if (state == "RUNNING" || state == "COMPLETING") return JobState::Phase::running;
  for (const auto& q : queued) {
    if (state == q) return JobState::Phase::queued;
  }
  return JobState::Phase::ended;
}

// A Slurm command; InputError when it is not installed here (Slurm was asked for).
CommandOutput slurm_command(const std::vector<std::string>& argv) {
  CommandOutput r = run_command(argv);
  if (r.exit_code == 127 && r.out.empty() && r.err.empty()) {
    throw InputError(fmt::format("executor slurm: `{}` was not found in PATH; run the suite on a "
                                 "machine with Slurm's commands (a cluster's login node), or "
                                 "use --executor local", argv.at(0)));
  }
  return r;
}

struct QueueRow {
  std::string id, state, reason, name;
};

// squeue --me: this user's jobs that Slurm still schedules (one call for all of them).
std::vector<QueueRow> squeue_rows() {
  const CommandOutput r = slurm_command({"squeue", "--me", "--noheader", "--format=%i|%T|%r|%j"});
  if (r.exit_code != 0) {
    throw CheckFailed(fmt::format("squeue failed (exit status {}): {}", r.exit_code,
                                  first_line(r.err.empty() ? r.out : r.err)));
  }
  std::vector<QueueRow> rows;
  for (const auto& line : split(r.out, '\n')) {
    const auto f = split(line, '|');
    if (f.size() < 4) continue;
    std::string name = f[3];
    for (std::size_t i = 4; i < f.size(); ++i) name += "|" + f[i];
    rows.push_back({trim(f[0]), trim(f[1]), trim(f[2]), name});
  }
  return rows;
}

bool& sacct_usable() {
  static bool usable = true;  // until sacct says accounting is disabled
  return usable;
}

// sacct's record of ended jobs; false when sacct cannot answer (no accounting).
bool sacct_states(const std::vector<std::string>& ids, std::map<std::string, JobState>& out) {
  if (!sacct_usable() || ids.empty()) return false;
  std::string list;
  for (const auto& id : ids) {
    if (!list.empty()) list += ',';
    list += id;
  }
  const CommandOutput r = slurm_command({"sacct", "--noheader", "--parsable2", "--allocations", "--jobs=" + list,
                                       "--format=JobIDRaw,State,ExitCode,Reason"});
  if (r.exit_code != 0) {
    spdlog::debug("sacct: {}; job states come from scontrol", first_line(r.err + r.out));
    sacct_usable() = false;
    return false;
  }
  for (const auto& line : split(r.out, '\n')) {
    const auto f = split(line, '|');
    if (f.size() < 4) continue;
    JobState s;
    const auto words = split(trim(f[1]), ' ');  // "CANCELLED by 0"
    s.state = words.empty() ? "" : words[0];
    s.phase = phase_of(s.state);
    s.reason = trim(f[1]) + ", exit code " + trim(f[2]);
    if (const std::string why = trim(f[3]); !why.empty() && why != "None") s.reason += ", reason " + why;
    out[trim(f[0])] = s;
  }
  return true;
}

// `scontrol show job ID`: known until MinJobAge after the job ended; "Invalid job id" after.
JobState scontrol_state(const std::string& id) {
  const CommandOutput r = slurm_command({"scontrol", "--oneliner", "show", "job", id});
  JobState s;
  if (r.exit_code != 0) return s;  // gone
  std::string exit_code;
  for (const auto& word : split(first_line(r.out), ' ')) {
    const auto eq = word.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = word.substr(0, eq), value = word.substr(eq + 1);
    if (key == "JobState") s.state = value;
    if (key == "Reason" && value != "None") s.reason = value;
    if (key == "ExitCode") exit_code = value;
  }
  if (s.state.empty()) return JobState{};
  s.phase = phase_of(s.state);
  s.reason = s.state + (exit_code.empty() ? "" : ", exit code " + exit_code) +
             (s.reason.empty() ? "" : ", reason " + s.reason);
  return s;
}

}  // namespace

std::string sbatch_script(const SlurmSettings& settings, const SlurmJobSpec& job) {
  std::string s = "#!/bin/bash\n";
  const auto line = [&](const std::string& option) { s += "#SBATCH " + option + "\n"; };
  line("--job-name=" + shell_quote(job.name));
  line("--chdir=" + shell_quote(job.work_dir.string()));
  line("--output=" + shell_quote(job.log.string()));
  const long minutes = std::max(1L, static_cast<long>(std::ceil(job.time_limit_s / 60.0)));
  line(fmt::format("--time={}", minutes));
  line(fmt::format("--nodes=1-{}", job.tasks));
  line(fmt::format("--ntasks={}", job.tasks));
  const int cpus = settings.cpus_per_trial > 0 ? settings.cpus_per_trial : job.threads;
  if (cpus > 0) line(fmt::format("--cpus-per-task={}", cpus));
  if (settings.gpus_per_trial > 0) line(fmt::format("--gpus-per-task={}", settings.gpus_per_trial));
  if (!settings.memory.empty()) line("--mem=" + shell_quote(settings.memory));
  if (!settings.partition.empty()) line("--partition=" + shell_quote(settings.partition));
  if (!settings.account.empty()) line("--account=" + shell_quote(settings.account));
  if (!settings.qos.empty()) line("--qos=" + shell_quote(settings.qos));
  for (const auto& a : settings.sbatch_args) line(a);
  s += "set -u\n";
  std::string command;
  for (const auto& word : job.command) {
    if (!command.empty()) command += ' ';
    command += shell_quote(word);
  }
  if (job.tasks > 1) {
    // Rank 0's rendezvous: the job's first node (from SLURM_JOB_NODELIST) on a port of its own.
    s += "export MASTER_PORT=$((20000 + SLURM_JOB_ID % 20000))\n";
    s += "srun --kill-on-bad-exit=1 " + command + "\n";
  } else {
    s += "exec " + command + "\n";
  }
  return s;
}

std::string submit_job(const std::filesystem::path& script) {
  const CommandOutput r = slurm_command({"sbatch", "--parsable", script.string()});
  const std::string id = first_line(r.out).substr(0, first_line(r.out).find(';'));  // "id;cluster"
  if (r.exit_code != 0 || id.empty() || id.find_first_not_of("0123456789_") != std::string::npos) {
    throw CheckFailed(fmt::format("sbatch {} failed (exit status {}): {}", script.string(), r.exit_code,
                                  trim(r.err.empty() ? r.out : r.err)));
  }
  return id;
}

std::map<std::string, JobState> query_jobs(const std::vector<std::string>& job_ids,
                                           std::map<std::string, std::string>* names) {
  std::map<std::string, JobState> out;
  for (const auto& row : squeue_rows()) {
    if (names) (*names)[row.id] = row.name;
    JobState s{phase_of(row.state), row.state, row.reason == "None" ? "" : row.reason};
    out[row.id] = s;
  }
  std::vector<std::string> rest;
  for (const auto& id : job_ids) {
    if (!out.contains(id) || out[id].phase == JobState::Phase::ended) rest.push_back(id);
  }
  std::map<std::string, JobState> ended;
  if (!sacct_states(rest, ended)) {
    for (const auto& id : rest) ended[id] = scontrol_state(id);
  }
  for (const auto& id : rest) {
    // sacct may not list a job that ended a moment ago yet: ask scontrol about it.
    out[id] = ended.contains(id) ? ended[id] : scontrol_state(id);
  }
  return out;
}

std::map<std::string, std::string> queued_jobs_by_name() {
  std::map<std::string, std::string> out;
  for (const auto& row : squeue_rows()) {
    if (phase_of(row.state) != JobState::Phase::ended) out[row.name] = row.id;
  }
  return out;
}

bool cancel_jobs(const std::vector<std::string>& job_ids) {
  if (job_ids.empty()) return true;
  std::vector<std::string> argv = {"scancel"};
  argv.insert(argv.end(), job_ids.begin(), job_ids.end());
  const CommandOutput r = slurm_command(argv);
  if (r.exit_code != 0) spdlog::warn("scancel failed (exit status {}): {}", r.exit_code, trim(r.err));
  return r.exit_code == 0;
}

bool killed_by_slurm(const std::string& state) {
  for (const char* s : {"CANCELLED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "OUT_OF_MEMORY", "BOOT_FAIL",
                        "DEADLINE", "REVOKED"}) {
    if (state == s) return true;
  }
  return false;
}

}  // namespace cb::suite
