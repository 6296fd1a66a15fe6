// Which Python runs a Python backend's workers, what that Python has, and where the worker
// package lives (docs/backends/python.md, "Interpreter").
#pragma once

#include <optional>
#include <string>

namespace cb::backends::python {

// What one interpreter has for one framework, probed once per process (`python -c` importing it).
struct Probe {
  std::string interpreter;     // the path that runs the workers
  std::string python_version;  // "3.11.2"
  std::string version;         // the framework's version; "" when unavailable
  int gpus = 0;                // CUDA devices the framework sees
  bool compile = false;        // torch.compile exists (torch-py only)
  std::string note;            // why another interpreter than the chosen one is used, if so
  std::string unavailable;     // why the framework cannot run, "" when it can
};

// The probe for `framework` ("torch-py", "torch-py-compile", "jax", "keras") with the interpreter
// chosen now: CIFARBENCH_PYTHON (set by --python) > python3 on PATH; when nothing was chosen
// and python3 on PATH lacks the framework but /usr/bin/python3 has it, /usr/bin/python3 (noted).
const Probe& probe(const std::string& framework);

// The worker package's folder (the one holding cifarbench_worker/): CIFARBENCH_PYTHON_PATH >
// <executable>/../share/cifarbench/python > the source tree's python/.
std::string package_dir();

// Seconds from the environment variable `name` (a positive integer), or `fallback` when unset;
// InputError naming the variable otherwise.
int timeout_from_env(const char* name, int fallback);

}  // namespace cb::backends::python
