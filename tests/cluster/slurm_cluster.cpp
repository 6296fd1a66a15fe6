#include "cluster/slurm_cluster.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/run_process.h"

namespace cb::testing {
namespace {

bool executable(const char* path) { return access(path, X_OK) == 0; }

// A TCP port nobody listens on now (the kernel's choice for an ephemeral bind).
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("cannot find a free TCP port");
  }
  const int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string slurm_conf(const std::filesystem::path& d, int ctld_port, int slurmd_port) {
  std::ostringstream c;
  c << "ClusterName=cbtest\nSlurmctldHost=localhost\n"
    << "SlurmctldPort=" << ctld_port << "\nSlurmdPort=" << slurmd_port << "\n"
    << "SlurmUser=root\nSlurmdUser=root\nAuthType=auth/munge\nCredType=cred/munge\n"
    << "AuthInfo=socket=" << (d / "munge" / "munge.socket").string() << "\n"
    << "MpiDefault=none\nProctrackType=proctrack/pgid\nTaskPlugin=task/none\n"
    << "JobAcctGatherType=jobacct_gather/none\nSelectType=select/cons_tres\nSelectTypeParameters=CR_CPU\n"
    << "ReturnToService=2\nMinJobAge=3600\nKillWait=5\nSchedulerType=sched/backfill\n"
    << "StateSaveLocation=" << (d / "state").string() << "\nSlurmdSpoolDir=" << (d / "spool").string() << "\n"
    << "SlurmctldPidFile=" << (d / "slurmctld.pid").string() << "\n"
    << "SlurmdPidFile=" << (d / "slurmd.pid").string() << "\n"
    << "SlurmctldLogFile=" << (d / "slurmctld.log").string() << "\n"
    << "SlurmdLogFile=" << (d / "slurmd.log").string() << "\n"
    << "NodeName=localhost CPUs=2 State=UNKNOWN\n"
    << "PartitionName=debug Default=YES Nodes=localhost MaxTime=INFINITE State=UP\n";
  return c.str();
}

}  // namespace

std::string SlurmCluster::unavailable_reason() {
  for (const char* p : {"/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/sbin/munged"}) {
    if (!executable(p)) {
      return std::string("slurmctld is not installed (") + p +
             " missing; scripts/install-deps.sh installs slurm-wlm and munge)";
    }
  }
  if (geteuid() != 0) return "the localhost Slurm cluster needs root (slurmd runs jobs as their users)";
  return "";
}

pid_t SlurmCluster::start_daemon(const std::vector<std::string>& argv, const std::string& log_name) {
  const std::string log = (dir_ / log_name).string();
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);  // never outlive the test binary
    setpgid(0, 0);
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  daemons_.push_back(pid);
  return pid;
}

SlurmCluster::SlurmCluster() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "cb-slurm-XXXXXX").string();
  dir_ = mkdtemp(tmpl.data());
  for (const char* sub : {"munge", "state", "spool"}) std::filesystem::create_directories(dir_ / sub);
  chmod((dir_ / "munge").c_str(), 0700);
  {  // munged refuses a key others can read
    std::mt19937_64 rng(std::random_device{}());
    std::ofstream key(dir_ / "munge" / "munge.key", std::ios::binary);
    for (int i = 0; i < 128; ++i) {
      const auto v = rng();
      key.write(reinterpret_cast<const char*>(&v), sizeof v);
    }
  }
  chmod((dir_ / "munge" / "munge.key").c_str(), 0400);
  std::ofstream(dir_ / "slurm.conf") << slurm_conf(dir_, free_port(), free_port());
  setenv("SLURM_CONF", (dir_ / "slurm.conf").c_str(), 1);
  const std::string m = (dir_ / "munge").string();
  start_daemon({"/usr/sbin/munged", "--foreground", "--force", "--key-file=" + m + "/munge.key",
                "--socket=" + m + "/munge.socket", "--pid-file=" + m + "/munged.pid",
                "--log-file=" + m + "/munged.log", "--seed-file=" + m + "/munged.seed"},
               "munged.out");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  start_daemon({"/usr/sbin/slurmctld", "-D", "-i"}, "slurmctld.out");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  start_daemon({"/usr/sbin/slurmd", "-D", "-N", "localhost"}, "slurmd.out");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    const auto r = run_process({"sinfo", "--noheader", "--format=%T"});
    if (r.exit_code == 0 && r.out.find("idle") != std::string::npos) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  const std::string why = "the localhost Slurm cluster did not come up within 60 s:\n" + logs();
  stop();
  throw std::runtime_error(why);
}

std::string SlurmCluster::logs() const {
  std::string out;
  for (const char* f : {"munged.out", "slurmctld.out", "slurmd.out", "slurmctld.log", "slurmd.log"}) {
    std::string text = read_all(dir_ / f);
    if (text.size() > 3000) text = "…" + text.substr(text.size() - 3000);
    out += std::string("--- ") + f + "\n" + text + "\n";
  }
  return out;
}

void SlurmCluster::stop() {
  (void)run_process({"scancel", "--me"});  // this cluster's jobs only (SLURM_CONF)
  std::this_thread::sleep_for(std::chrono::seconds(1));
  for (auto it = daemons_.rbegin(); it != daemons_.rend(); ++it) kill(*it, SIGTERM);
  for (const pid_t pid : daemons_) {
    for (int i = 0; i < 100 && waitpid(pid, nullptr, WNOHANG) == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    kill(-pid, SIGKILL);  // the daemon's process group: slurmstepd and job leftovers
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  daemons_.clear();
  unsetenv("SLURM_CONF");
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

SlurmCluster::~SlurmCluster() { stop(); }

}  // namespace cb::testing
