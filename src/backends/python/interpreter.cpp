#include "backends/python/interpreter.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>

#include "backends/python/worker_process.h"
#include "core/error.h"

namespace cb::backends::python {
namespace {

// The module each framework imports, and the script printing what the probe needs as JSON.
struct FrameworkProbe {
  std::string module;
  std::string script;
};

FrameworkProbe probe_script(const std::string& framework) {
  const std::string head = "import json, sys\n";
  const std::string print = "print(json.dumps({'version': v, 'python': sys.version.split()[0], "
                            "'gpus': g, 'compile': c}))\n";
  if (framework == "jax") {
    return {"jax", head + "import jax\nv = jax.__version__\n"
                          "g = len([d for d in jax.devices() if d.platform == 'gpu'])\nc = True\n" + print};
  }
  if (framework == "keras") {
    return {"tensorflow", head + "import tensorflow as tf\nv = tf.__version__\n"
                                 "g = len(tf.config.list_physical_devices('GPU'))\nc = True\n" + print};
  }
  return {"torch", head + "import torch\nv = torch.__version__\n"
                          "g = torch.cuda.device_count() if torch.cuda.is_available() else 0\n"
                          "c = hasattr(torch, 'compile')\n" + print};
}

std::string last_line(const std::string& text) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  const auto nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

Probe run_probe(const std::string& interpreter, const std::string& framework) {
  Probe p;
  p.interpreter = interpreter;
  const FrameworkProbe fp = probe_script(framework);
  if (interpreter.empty() || access(interpreter.c_str(), X_OK) != 0) {
    p.unavailable = fmt::format("no Python interpreter '{}'", interpreter.empty() ? "python3" : interpreter);
    return p;
  }
  const CapturedRun run = run_captured({interpreter, "-c", fp.script}, std::chrono::seconds(120));
  if (run.status == -1) {
    p.unavailable = fmt::format("{} did not import {} within 120 s", interpreter, fp.module);
    return p;
  }
  const auto j = nlohmann::json::parse(last_line(run.out), nullptr, false);
  if (run.status != 0 || !j.is_object()) {
    const std::string why = last_line(run.err);
    p.unavailable = why.find("No module named") != std::string::npos
                        ? fmt::format("{} has no module '{}'", interpreter, fp.module)
                        : fmt::format("{} cannot import {}: {} ({})", interpreter, fp.module,
                                      why.empty() ? "no error text" : why, exit_text(run.status));
    return p;
  }
  p.version = j.value("version", "");
  p.python_version = j.value("python", "");
  p.gpus = j.value("gpus", 0);
  p.compile = j.value("compile", false);
  return p;
}

Probe choose_and_probe(const std::string& framework) {
  const char* chosen = std::getenv("CIFARBENCH_PYTHON");
  const bool explicit_choice = chosen && *chosen;
  const std::string interpreter = resolve_program(explicit_choice ? chosen : "python3");
  Probe p = run_probe(interpreter, framework);
  const std::string fallback = "/usr/bin/python3";
  if (p.unavailable.empty() || explicit_choice) {
    if (!p.unavailable.empty()) p.unavailable += "; set CIFARBENCH_PYTHON or pass --python to use another Python";
    return p;
  }
  std::error_code ec;
  if (interpreter != fallback && !std::filesystem::equivalent(interpreter, fallback, ec)) {
    Probe other = run_probe(fallback, framework);
    if (other.unavailable.empty()) {
      other.note = fmt::format("python3 on PATH ({}) lacks it: {}; using {}", interpreter,
                               p.unavailable, fallback);
      return other;
    }
  }
  p.unavailable += "; set CIFARBENCH_PYTHON or pass --python to use a Python that has it";
  return p;
}

}  // namespace

const Probe& probe(const std::string& framework) {
  static std::mutex mutex;
  static std::map<std::string, Probe> cache;
  const char* chosen = std::getenv("CIFARBENCH_PYTHON");
  const std::string key = framework + "\n" + (chosen ? chosen : "");
  std::lock_guard lock(mutex);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, choose_and_probe(framework)).first;
  return it->second;
}

std::string package_dir() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("CIFARBENCH_PYTHON_PATH"); env && *env) {
    std::error_code ec;
    const fs::path absolute = fs::absolute(env, ec);  // the worker runs in /
    return ec ? std::string(env) : absolute.string();
  }
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path installed = exe.parent_path().parent_path() / "share/cifarbench/python";
    if (fs::exists(installed / "cifarbench_worker", ec)) return installed.string();
  }
  return CIFARBENCH_PYTHON_SOURCE_DIR;
}

int timeout_from_env(const char* name, int fallback) {
  const char* value = std::getenv(name);
  if (!value || !*value) return fallback;
  char* end = nullptr;
  const long seconds = std::strtol(value, &end, 10);
  if (*end != '\0' || seconds <= 0 || seconds > 86400) {
    throw InputError(fmt::format("{}={}: expected a whole number of seconds in [1, 86400]", name, value));
  }
  return static_cast<int>(seconds);
}

}  // namespace cb::backends::python
