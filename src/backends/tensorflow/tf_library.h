// Finds and opens TensorFlow's C library at run time (dlopen), resolves every function the
// backend uses, and checks the version; when it cannot, says what was tried where and why.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backends/tensorflow/tf_c_api.h"

namespace cb::backends::tf {

// The oldest TensorFlow accepted (see docs/backends/tensorflow.md, "Versions").
inline constexpr int kOldestMajor = 2;
inline constexpr int kOldestMinor = 9;
// The oldest pip wheel accepted: wheels ship libtensorflow_cc.so.2 (with the C API) since 2.12;
// 2.9-2.11 have the C API only inside the Python extension _pywrap_tensorflow_internal.so.
inline constexpr int kOldestWheelMinor = 12;

// Where to look, in order. An explicit path (flag or environment) is authoritative: when it
// fails, nothing else is tried, so a benchmark never runs a library the user did not name.
struct LibrarySearch {
  std::string flag_path;  // --tf-lib
  std::string env_path;   // CIFARBENCH_TF_LIB
  std::vector<std::string> standard_names{"libtensorflow.so.2", "libtensorflow.so",
                                          "libtensorflow_cc.so.2"};
  std::vector<std::string> pythons{"/usr/bin/python3", "python3"};  // "" entries are skipped
  int python_timeout_ms = 30000;
};

// An opened library. It is never unloaded (no dlclose, not even when this object is destroyed):
// TensorFlow's threads outlive its sessions, so the function table stays valid for the process.
class TensorFlowLibrary {
 public:
  TensorFlowLibrary(void* handle, void* framework_handle, TensorFlowApi api, std::string path,
                    std::string version);
  ~TensorFlowLibrary();
  TensorFlowLibrary(const TensorFlowLibrary&) = delete;
  TensorFlowLibrary& operator=(const TensorFlowLibrary&) = delete;

  const TensorFlowApi& api() const { return api_; }
  const std::string& path() const { return path_; }
  const std::string& version() const { return version_; }

 private:
  void* handle_;
  void* framework_handle_;
  TensorFlowApi api_;
  std::string path_;
  std::string version_;
};

struct LoadResult {
  std::shared_ptr<const TensorFlowLibrary> library;  // null when unavailable
  std::string reason;  // when null: every attempt and its error, then how to install
};

// Tries the search in order and returns the first usable library, or why there is none.
LoadResult load_tensorflow_library(const LibrarySearch& search);

// The process-wide library: the override (set_tensorflow_library_override), else
// CIFARBENCH_TF_LIB, else the standard search; loaded once, on first call.
const LoadResult& process_tensorflow_library();

// "2.15.0" → {2, 15}; nullopt when the text does not start with "<major>.<minor>".
std::optional<std::pair<int, int>> parse_major_minor(std::string_view version);

// Whether `version` is at least kOldestMajor.kOldestMinor.
bool version_supported(std::string_view version);

// Whether a pip wheel's `tensorflow.__version__` is at least kOldestMajor.kOldestWheelMinor;
// true when it is empty or unparsable (the library's TF_Version is checked anyway).
bool wheel_version_supported(std::string_view version);

}  // namespace cb::backends::tf
