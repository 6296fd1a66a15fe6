// Registers the backends this build was configured with; the others are listed with the
// reason CMake recorded, so `cifarbench env` can say why a framework is missing.
#include <mutex>

#include "backends/backend.h"

namespace cb::backends {
#ifdef CIFARBENCH_BUILT_TORCH
std::unique_ptr<Backend> make_torch_backend();
#endif
#ifdef CIFARBENCH_BUILT_DLIB
std::unique_ptr<Backend> make_dlib_backend();
#endif
#ifdef CIFARBENCH_BUILT_TENSORFLOW
std::unique_ptr<Backend> make_tensorflow_backend();
#endif
#ifdef CIFARBENCH_BUILT_PYTHON
std::unique_ptr<Backend> make_python_backend(const std::string& framework);
#endif

void register_builtin_backends() {
  static std::once_flag once;
  std::call_once(once, [] {
#ifdef CIFARBENCH_BUILT_TORCH
    register_backend(make_torch_backend());
#else
    register_backend(std::make_unique<MissingBackend>(
        "torch", "not built into this binary: LibTorch " CIFARBENCH_TORCH_REASON));
#endif
#ifdef CIFARBENCH_BUILT_TENSORFLOW
    register_backend(make_tensorflow_backend());
#else
    register_backend(std::make_unique<MissingBackend>(
        "tensorflow", "not built into this binary: " CIFARBENCH_TENSORFLOW_REASON));
#endif
#ifdef CIFARBENCH_BUILT_DLIB
    register_backend(make_dlib_backend());
#else
    register_backend(std::make_unique<MissingBackend>(
        "dlib", "not built into this binary: dlib " CIFARBENCH_DLIB_REASON));
#endif
#ifdef CIFARBENCH_BUILT_PYTHON
    // The frameworks driven from Python (docs/backends/python.md): available when the chosen
    // interpreter imports them; probed on first use of their info(), not here.
    for (const char* framework : {"torch-py", "torch-py-compile", "jax", "keras"}) {
      register_backend(make_python_backend(framework));
    }
#endif
  });
}

}  // namespace cb::backends
