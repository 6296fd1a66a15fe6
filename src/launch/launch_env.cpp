#include "launch/launch_env.h"

#include <fmt/format.h>

#include <charconv>
#include <vector>

#include "core/error.h"

extern char** environ;

namespace cb::launch {
namespace {

const std::string* find(const EnvironmentMap& env, std::string_view key) {
  const auto it = env.find(key);
  return it == env.end() ? nullptr : &it->second;
}

bool any_of(const EnvironmentMap& env, std::initializer_list<std::string_view> keys) {
  for (auto k : keys) {
    if (find(env, k)) return true;
  }
  return false;
}

int parse_int(std::string_view key, const std::string& value, int min, int max) {
  int v = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc{} || end != value.data() + value.size() || v < min || v > max) {
    throw InputError(fmt::format("environment variable {}='{}': expected an integer in [{}, {}]",
                                 key, value, min, max));
  }
  return v;
}

// The value of `key`, which the launcher `launcher` must have set alongside `because`.
const std::string& require(const EnvironmentMap& env, std::string_view key,
                           std::string_view launcher, std::string_view because) {
  const std::string* v = find(env, key);
  if (!v) {
    throw InputError(
        fmt::format("environment variable {} is missing: {} is set, so this looks "
                    "like a {} launch, which also needs {}",
                    key, because, launcher, key));
  }
  return *v;
}

int optional_int(const EnvironmentMap& env, std::string_view key, int fallback, int min, int max) {
  const std::string* v = find(env, key);
  return v ? parse_int(key, *v, min, max) : fallback;
}

constexpr int kMaxWorld = 1 << 20;

// Rank, world and local rank read from one launcher's three variables, checked together.
void read_ranks(LaunchEnvironment& l, const EnvironmentMap& env, std::string_view rank_key,
                std::string_view world_key, std::string_view local_key) {
  const std::string_view present = find(env, rank_key) ? rank_key : world_key;
  l.rank = parse_int(rank_key, require(env, rank_key, l.launcher, present), 0, kMaxWorld);
  l.world_size = parse_int(world_key, require(env, world_key, l.launcher, present), 1, kMaxWorld);
  l.local_rank = optional_int(env, local_key, 0, 0, kMaxWorld);
  if (l.rank >= l.world_size) {
    throw InputError(
        fmt::format("environment variables {}={} and {}={} contradict each other: "
                    "a rank must be below the world size",
                    rank_key, l.rank, world_key, l.world_size));
  }
  if (l.local_rank >= l.world_size) {
    throw InputError(
        fmt::format("environment variables {}={} and {}={} contradict each other: "
                    "a local rank must be below the world size",
                    local_key, l.local_rank, world_key, l.world_size));
  }
}

void read_master(LaunchEnvironment& l, const EnvironmentMap& env, std::string_view because) {
  const std::string* addr = find(env, "MASTER_ADDR");
  if (addr && addr->empty()) {
    throw InputError("environment variable MASTER_ADDR is empty: expected rank 0's host name");
  }
  if (addr) {
    l.master_addr = *addr;
  } else if (l.world_size == 1) {
    l.master_addr = "127.0.0.1";
  } else if (l.master_addr.empty()) {
    require(env, "MASTER_ADDR", l.launcher, because);
  }
  l.master_port = optional_int(env, "MASTER_PORT", kDefaultMasterPort, 1, 65535);
}

}  // namespace

std::string first_slurm_host(std::string_view list) {
  auto bad = [&](std::string_view why) {
    return InputError(fmt::format("environment variable SLURM_JOB_NODELIST='{}': {}", list, why));
  };
  std::string host;
  std::size_t i = 0;
  while (i < list.size() && list[i] != ',') {
    if (list[i] == ']') throw bad("']' without '['");
    if (list[i] != '[') {
      host += list[i++];
      continue;
    }
    const std::size_t close = list.find(']', i);
    if (close == std::string_view::npos) throw bad("'[' without ']'");
    // The first element of the group: digits up to '-', ',' or ']' (zero padding kept).
    const std::string_view group = list.substr(i + 1, close - i - 1);
    const std::string_view first = group.substr(0, group.find_first_of(",-"));
    if (first.empty() || first.find_first_not_of("0123456789") != std::string_view::npos) {
      throw bad("a bracketed range must start with a number");
    }
    host += first;
    i = close + 1;
  }
  if (host.empty()) throw bad("expected a host name first");
  return host;
}

std::optional<LaunchEnvironment> parse_launch_environment(const EnvironmentMap& env) {
  LaunchEnvironment l;
  if (any_of(env, {"RANK", "WORLD_SIZE"})) {
    l.launcher = "torchrun";
    read_ranks(l, env, "RANK", "WORLD_SIZE", "LOCAL_RANK");
    read_master(l, env, find(env, "RANK") ? "RANK" : "WORLD_SIZE");
    return l;
  }
  if (any_of(env, {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"})) {
    l.launcher = "openmpi";
    read_ranks(l, env, "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE",
               "OMPI_COMM_WORLD_LOCAL_RANK");
    read_master(l, env, "OMPI_COMM_WORLD_RANK");
    return l;
  }
  if (any_of(env, {"SLURM_PROCID", "SLURM_NTASKS"})) {
    l.launcher = "slurm";
    read_ranks(l, env, "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID");
    if (!find(env, "MASTER_ADDR") && l.world_size > 1) {
      l.master_addr =
          first_slurm_host(require(env, "SLURM_JOB_NODELIST", l.launcher, "SLURM_PROCID"));
    }
    read_master(l, env, "SLURM_PROCID");
    return l;
  }
  if (any_of(env, {"LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID"})) {
    const std::string_view key = find(env, "LOCAL_RANK") ? "LOCAL_RANK"
                                 : find(env, "OMPI_COMM_WORLD_LOCAL_RANK")
                                     ? "OMPI_COMM_WORLD_LOCAL_RANK"
                                     : "SLURM_LOCALID";
    throw InputError(
        fmt::format("environment variable {} is set without a rank and a world size "
                    "(RANK/WORLD_SIZE, OMPI_COMM_WORLD_RANK/SIZE or "
                    "SLURM_PROCID/SLURM_NTASKS)",
                    key));
  }
  return std::nullopt;  // MASTER_ADDR/MASTER_PORT alone are harmless leftovers of a shell
}

EnvironmentMap process_environment() {
  EnvironmentMap env;
  for (char** e = environ; e && *e; ++e) {
    const std::string_view entry(*e);
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

EnvironmentMap local_launch_variables(int rank, int world_size, int master_port) {
  return {{"RANK", std::to_string(rank)},
          {"WORLD_SIZE", std::to_string(world_size)},
          {"LOCAL_RANK", std::to_string(rank)},
          {"MASTER_ADDR", "127.0.0.1"},
          {"MASTER_PORT", std::to_string(master_port)}};
}

}  // namespace cb::launch
