#include "backends/dlib/blas_threads.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <string>
#include <thread>

namespace cb::backends::dlib_backend {
namespace {
using SetThreads = void (*)(int);
using GetInt = int (*)();
using GetConfig = char* (*)();

template <typename Fn>
Fn lookup(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}
}  // namespace

int resolved_thread_count(int threads) {
  if (threads > 0) return threads;
  const unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : static_cast<int>(cores);
}

bool set_blas_threads(int threads) {
  // Looked up once; the count is re-read each time since another framework may change it.
  static const auto set = lookup<SetThreads>("openblas_set_num_threads");
  static const auto get = lookup<GetInt>("openblas_get_num_threads");
  if (set == nullptr) return false;
  const int wanted = resolved_thread_count(threads);
  if (get == nullptr || get() != wanted) set(wanted);
  return true;
}

std::string blas_description() {
  const auto config = lookup<GetConfig>("openblas_get_config");
  if (config == nullptr) return "unknown BLAS (not OpenBLAS: thread count not controlled)";
  const auto threads = lookup<GetInt>("openblas_get_num_threads");
  std::string text = config();
  if (threads != nullptr) text += fmt::format(" ({} threads)", threads());
  return text;
}

}  // namespace cb::backends::dlib_backend
