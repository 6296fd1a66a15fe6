#include "backends/tensorflow/tf_library.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "backends/tensorflow/tf_library_override.h"

namespace cb::backends {
namespace {
std::mutex& override_mutex() {
  static std::mutex m;
  return m;
}
std::string& override_path() {
  static std::string path;
  return path;
}
}  // namespace

void set_tensorflow_library_override(std::string path) {
  std::lock_guard lock(override_mutex());
  override_path() = std::move(path);
}

}  // namespace cb::backends

namespace cb::backends::tf {
namespace {

constexpr const char* kInstallHint =
    "To use TensorFlow, install it in one of two ways: `pip install 'tensorflow>=2.12'` "
    "(cifarbench finds libtensorflow_cc.so.2 in the package directory of the `tensorflow` "
    "module importable by python3; wheels before 2.12 do not ship it), or unpack the C library "
    "archive, version 2.9 or newer (libtensorflow-cpu-linux-x86_64 or "
    "libtensorflow-gpu-linux-x86_64, https://www.tensorflow.org/install/lang_c) and pass "
    "--tf-lib <dir>/lib/libtensorflow.so.2 or set CIFARBENCH_TF_LIB to that file.";

std::string dl_error() {
  const char* e = dlerror();
  return e ? e : "unknown dlopen error";
}

// One library file tried: an opened, checked library, or why not (appended to `attempts`).
std::shared_ptr<const TensorFlowLibrary> try_library(const std::string& path,
                                                     const std::string& origin,
                                                     std::vector<std::string>& attempts) {
  // The pip wheel's libtensorflow_cc.so.2 needs libtensorflow_framework.so.2 beside it, with its
  // symbols visible globally (as Python loads it).
  void* framework = nullptr;
  const std::filesystem::path p(path);
  if (p.has_parent_path()) {
    const auto beside = p.parent_path() / "libtensorflow_framework.so.2";
    std::error_code ec;
    if (std::filesystem::exists(beside, ec)) {
      framework = dlopen(beside.c_str(), RTLD_NOW | RTLD_GLOBAL);
    }
  }
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    // libtensorflow_framework.so.2, if opened, stays loaded: it is TensorFlow.
    attempts.push_back(fmt::format("{} ({}): {}", path, origin, dl_error()));
    return nullptr;
  }
  // A rejected TensorFlow (too old, incomplete) stays loaded too: its static initializers have
  // run, and unloading TensorFlow is never safe (see ~TensorFlowLibrary).
  auto fail = [&](std::string why) {
    attempts.push_back(fmt::format("{} ({}): {}", path, origin, why));
    return nullptr;
  };
  TensorFlowApi api;
  api.TF_Version = reinterpret_cast<decltype(api.TF_Version)>(dlsym(handle, "TF_Version"));
  if (!api.TF_Version) {
    dlclose(handle);  // not TensorFlow at all: nothing of it ran (the framework stays)
    return fail("symbol TF_Version missing (not TensorFlow's C library?)");
  }
  const std::string version = api.TF_Version() ? api.TF_Version() : "";
  if (!version_supported(version)) {
    return fail(fmt::format("TensorFlow version '{}' is too old; cifarbench needs {}.{} or newer",
                            version, kOldestMajor, kOldestMinor));
  }
#define CIFARBENCH_TF_RESOLVE(name, type)                                                     \
  api.name = reinterpret_cast<TensorFlowApi::name##_fn>(dlsym(handle, #name));                                   \
  if (!api.name) {                                                                            \
    return fail(fmt::format("TensorFlow {} lacks the C API symbol {}", version, #name));      \
  }
  CIFARBENCH_TF_FUNCTIONS(CIFARBENCH_TF_RESOLVE)
#undef CIFARBENCH_TF_RESOLVE
  return std::make_shared<TensorFlowLibrary>(handle, framework, api, path, version);
}

// Runs `python -c code`; returns its stdout, or nullopt with `error` set (exit status, timeout).
std::optional<std::string> run_python(const std::string& python, const char* code,
                                      int timeout_ms, std::string& error) {
  int out[2];
  if (pipe(out) != 0) {
    error = "cannot create a pipe";
    return std::nullopt;
  }
  const pid_t pid = fork();
  if (pid < 0) {
    close(out[0]);
    close(out[1]);
    error = "cannot fork";
    return std::nullopt;
  }
  if (pid == 0) {
    dup2(out[1], 1);
    const int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0);
    dup2(devnull, 2);  // TensorFlow's import chatter is not ours to print
    close(out[0]);
    execlp(python.c_str(), python.c_str(), "-c", code, static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  bool timed_out = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd fd{out[0], POLLIN, 0};
    const int ready = poll(&fd, 1, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char buffer[4096];
    const ssize_t n = read(out[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (text.size() < 65536) text.append(buffer, static_cast<std::size_t>(n));
  }
  close(out[0]);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    error = fmt::format("`import tensorflow` did not finish within {} s", timeout_ms / 1000);
    return std::nullopt;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
    error = "not found";
    return std::nullopt;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    error = "`import tensorflow` failed (no tensorflow module)";
    return std::nullopt;
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

// The wheel's library in the package directory of `python`'s tensorflow module, or why not.
std::shared_ptr<const TensorFlowLibrary> try_python_package(const std::string& python,
                                                            int timeout_ms,
                                                            std::vector<std::string>& attempts) {
  constexpr const char* kProbe =
      "import tensorflow, os; print(os.path.dirname(tensorflow.__file__)); "
      "print(getattr(tensorflow, '__version__', ''))";
  std::string error;
  const auto out = run_python(python, kProbe, timeout_ms, error);
  if (!out) {
    attempts.push_back(fmt::format("python package directory via {}: {}", python, error));
    return nullptr;
  }
  const auto newline = out->find('\n');
  const std::string dir = out->substr(0, newline);
  const std::string version = newline == std::string::npos ? "" : out->substr(newline + 1);
  if (!wheel_version_supported(version)) {
    attempts.push_back(fmt::format(
        "tensorflow {} in {} (the package of {}): pip wheels before {}.{} ship TensorFlow's C "
        "API only inside _pywrap_tensorflow_internal.so, a Python extension that cifarbench "
        "cannot load; install `pip install 'tensorflow>={}.{}'`, or the C library archive "
        "(2.9 or newer)",
        version, dir, python, kOldestMajor, kOldestWheelMinor, kOldestMajor, kOldestWheelMinor));
    return nullptr;
  }
  for (const char* file : {"libtensorflow_cc.so.2", "libtensorflow.so.2"}) {
    const auto path = (std::filesystem::path(dir) / file).string();
    auto lib = try_library(path, fmt::format("tensorflow package of {}", python), attempts);
    if (lib) return lib;
  }
  return nullptr;
}

}  // namespace

TensorFlowLibrary::TensorFlowLibrary(void* handle, void* framework_handle, TensorFlowApi api,
                                     std::string path, std::string version)
    : handle_(handle),
      framework_handle_(framework_handle),
      api_(api),
      path_(std::move(path)),
      version_(std::move(version)) {}

// Deliberately no dlclose: TensorFlow's thread pools and static objects outlive every session,
// and unloading the code under them (this runs during static destruction, for the process-wide
// library) is a crash at exit. The library stays mapped until the process ends.
TensorFlowLibrary::~TensorFlowLibrary() = default;

std::optional<std::pair<int, int>> parse_major_minor(std::string_view version) {
  int major = 0, minor = 0;
  const char* begin = version.data();
  const char* end = begin + version.size();
  auto r = std::from_chars(begin, end, major);
  if (r.ec != std::errc() || r.ptr == end || *r.ptr != '.') return std::nullopt;
  r = std::from_chars(r.ptr + 1, end, minor);
  if (r.ec != std::errc()) return std::nullopt;
  return std::pair{major, minor};
}

bool version_supported(std::string_view version) {
  const auto v = parse_major_minor(version);
  if (!v) return false;
  return v->first > kOldestMajor || (v->first == kOldestMajor && v->second >= kOldestMinor);
}

bool wheel_version_supported(std::string_view version) {
  if (version.empty()) return true;  // unknown: the library's own TF_Version is still checked
  const auto v = parse_major_minor(version);
  if (!v) return true;
  return v->first > kOldestMajor || (v->first == kOldestMajor && v->second >= kOldestWheelMinor);
}

LoadResult load_tensorflow_library(const LibrarySearch& search) {
  std::vector<std::string> attempts;
  auto unavailable = [&] {
    std::string reason = "TensorFlow's C library could not be loaded; tried:";
    for (const auto& a : attempts) reason += "\n    " + a;
    reason += "\n  ";
    reason += kInstallHint;
    return LoadResult{nullptr, reason};
  };
  if (!search.flag_path.empty() || !search.env_path.empty()) {
    const bool flag = !search.flag_path.empty();
    const std::string& path = flag ? search.flag_path : search.env_path;
    auto lib = try_library(path, flag ? "--tf-lib" : "CIFARBENCH_TF_LIB", attempts);
    if (lib) return {lib, ""};
    return unavailable();
  }
  for (const auto& name : search.standard_names) {
    auto lib = try_library(name, "standard library name, searched by the dynamic loader",
                           attempts);
    if (lib) return {lib, ""};
  }
  for (const auto& python : search.pythons) {
    if (python.empty()) continue;
    if (auto lib = try_python_package(python, search.python_timeout_ms, attempts)) {
      return {lib, ""};
    }
  }
  return unavailable();
}

const LoadResult& process_tensorflow_library() {
  static std::once_flag once;
  static LoadResult result;
  std::call_once(once, [] {
    LibrarySearch search;
    {
      std::lock_guard lock(override_mutex());
      search.flag_path = override_path();
    }
    if (const char* env = std::getenv("CIFARBENCH_TF_LIB")) search.env_path = env;
    result = load_tensorflow_library(search);
  });
  return result;
}

}  // namespace cb::backends::tf
