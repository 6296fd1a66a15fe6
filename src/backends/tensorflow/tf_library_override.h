// The `--tf-lib` flag's hook: names the TensorFlow C library to load, before the first use of
// the TensorFlow backend. Includes no TensorFlow declarations, so the CLI can include it freely.
#pragma once

#include <string>

namespace cb::backends {

// Makes the TensorFlow backend load exactly `path` (it beats CIFARBENCH_TF_LIB and the search);
// takes effect if called before the backend first loads the library; "" clears it.
void set_tensorflow_library_override(std::string path);

}  // namespace cb::backends
