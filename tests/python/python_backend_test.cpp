// The Python backends (src/backends/python, python/cifarbench_worker): torch-py agrees with the
// C++ torch backend from the same weights and batches, the backends say why they are
// unavailable, and a worker that raises, dies or hangs fails its operation with a clear error
// within the timeout instead of hanging the harness.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <cerrno>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include "backends/backend.h"
#include "backends/python/python_trainer.h"
#include "core/error.h"
#include "model/initial_weights.h"
#include "model/zoo.h"
#include "support/require_backend.h"
#include "support/temp_dir.h"
#include "torch/tiny_models.h"

namespace cb::testing {
namespace {

// Tests run with Debian's python3-torch (the CI machine's setup), not whatever python3 is first
// on PATH.
const bool kInterpreterChosen = (setenv("CIFARBENCH_PYTHON", "/usr/bin/python3", 1), true);

const backends::Backend& backend(const std::string& name) {
  backends::register_builtin_backends();
  const backends::Backend* b = backends::find_backend(name);
  if (!b) throw std::runtime_error(name + " is not registered");
  return *b;
}

// Sets an environment variable for one scope, then restores what it was.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

model::ModelSpec resnet20() { return model::build_zoo_model("resnet20", 10); }

double max_abs_difference(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, double{std::abs(a[i] - b[i])});
  return m;
}

TEST(PythonBackend, TorchPyReportsTheFrameworkVersionAndTheInterpreter) {
  const auto info = backend("torch-py").info();
  ASSERT_TRUE(info.available) << info.unavailable_reason;
  EXPECT_NE(info.version.find("1.13"), std::string::npos) << info.version;
  EXPECT_NE(info.version.find("/usr/bin/python3"), std::string::npos) << info.version;
  ASSERT_FALSE(info.devices.empty());
  EXPECT_EQ(info.devices[0].id, "cpu");
}

TEST(PythonBackend, TorchPyCompileIsUnavailableOnPyTorchBefore2NamingTheVersion) {
  const auto info = backend("torch-py-compile").info();
  EXPECT_FALSE(info.available);
  EXPECT_NE(info.unavailable_reason.find("has no torch.compile"), std::string::npos) << info.unavailable_reason;
  EXPECT_NE(info.unavailable_reason.find("1.13"), std::string::npos) << info.unavailable_reason;
}

TEST(PythonBackend, JaxAndKerasSayWhichModuleTheInterpreterLacks) {
  const auto jax = backend("jax").info();
  EXPECT_FALSE(jax.available);
  EXPECT_NE(jax.unavailable_reason.find("/usr/bin/python3 has no module 'jax'"), std::string::npos) << jax.unavailable_reason;
  const auto keras = backend("keras").info();
  EXPECT_FALSE(keras.available);
  EXPECT_NE(keras.unavailable_reason.find("has no module 'tensorflow'"), std::string::npos) << keras.unavailable_reason;
  EXPECT_NE(keras.unavailable_reason.find("--python"), std::string::npos) << keras.unavailable_reason;
}

TEST(PythonBackend, AnInterpreterWithoutTorchMakesTorchPyUnavailableSayingWhy) {
  TempDir dir;
  const auto python = dir / "python-without-torch";
  // Isolated (-I) and without site-packages (-S): the same Python, but torch cannot be found.
  std::ofstream(python) << "#!/bin/sh\nexec /usr/bin/python3 -I -S \"$@\"\n";
  std::filesystem::permissions(python, std::filesystem::perms::owner_all);
  ScopedEnv env("CIFARBENCH_PYTHON", python.string());
  const auto info = backend("torch-py").info();
  EXPECT_FALSE(info.available);
  EXPECT_NE(info.unavailable_reason.find(python.string() + " has no module 'torch'"), std::string::npos)
      << info.unavailable_reason;
  EXPECT_NE(info.unavailable_reason.find("CIFARBENCH_PYTHON"), std::string::npos) << info.unavailable_reason;
}

TEST(PythonBackend, MixedPrecisionOnTheCpuIsRefusedUpFront) {
  backends::ExecutionSettings s;
  s.precision = backends::MixedPrecision::bf16;
  const auto why = backend("torch-py").unsupported(s);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("--precision bf16"), std::string::npos) << *why;
  s = {};
  s.xla = true;
  EXPECT_TRUE(backend("torch-py").unsupported(s).has_value());
  EXPECT_FALSE(backend("torch-py").unsupported(backends::ExecutionSettings{}).has_value());
}

// The same kernels: logits to 1e-5 of the largest, and three SGD steps with the same losses.
void expect_agreement_with_torch(const model::ModelSpec& spec, const model::Weights& weights,
                                 backends::OptimizerConfig::Kind kind) {
  auto config = cpu_config(spec, weights);
  config.optimizer.kind = kind;
  auto reference = torch_backend().create_trainer(config);
  auto python = backend("torch-py").create_trainer(config);
  EXPECT_EQ(python->parameter_count(), reference->parameter_count());
  EXPECT_EQ(python->input_layout(), data::Layout::nchw);
  const data::Batch batch = random_batch(spec, 8, 3);
  const auto a = reference->logits(batch), b = python->logits(batch);
  double largest = 0;
  for (float v : a) largest = std::max(largest, double{std::abs(v)});
  EXPECT_LE(max_abs_difference(a, b), 1e-5 * std::max(largest, 1.0));
  reference->set_learning_rate(0.02);
  python->set_learning_rate(0.02);
  for (int step = 0; step < 3; ++step) {
    const data::Batch train = random_batch(spec, 8, 10 + static_cast<std::uint64_t>(step));
    const auto ra = backends::train_step_and_read(*reference, train), rb = backends::train_step_and_read(*python, train);
    EXPECT_NEAR(rb.loss, ra.loss, 1e-6 * std::max(1.0, std::abs(ra.loss))) << "step " << step;
    EXPECT_DOUBLE_EQ(rb.accuracy, ra.accuracy) << "step " << step;
  }
  const auto wa = reference->export_weights(), wb = python->export_weights();
  ASSERT_EQ(wa.tensors.size(), wb.tensors.size());
  for (std::size_t i = 0; i < wa.tensors.size(); ++i) {
    EXPECT_EQ(wa.tensors[i].name, wb.tensors[i].name);
    EXPECT_LE(max_abs_difference(wa.tensors[i].tensor.values, wb.tensors[i].tensor.values), 1e-5)
        << wa.tensors[i].name;
  }
  const auto ea = reference->evaluate(batch), eb = python->evaluate(batch);
  EXPECT_EQ(eb.correct, ea.correct);
  EXPECT_EQ(eb.count, ea.count);
  EXPECT_NEAR(eb.loss_sum, ea.loss_sum, 1e-4 * std::max(1.0, std::abs(ea.loss_sum)));
}

TEST(PythonBackend, TorchPyAgreesWithTheTorchBackendOnResNet20WithSgd) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  const auto spec = resnet20();
  expect_agreement_with_torch(spec, model::initial_weights(spec, 7), backends::OptimizerConfig::Kind::sgd);
}

TEST(PythonBackend, TorchPyAgreesWithTheTorchBackendOnATinyCnnWithAdamW) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  const auto spec = conv_bn_relu_pool_linear({3, 8, 8}, 4, 10);
  expect_agreement_with_torch(spec, random_weights(spec, 7), backends::OptimizerConfig::Kind::adamw);
}

// The worker keeps each step's values where torch computed them until read_steps and then sends
// them all, in order; a diverged step's loss arrives non-finite (JSON has no NaN: the worker sends
// "nan" and the trainer reads it back), as the C++ trainer reads it.
TEST(PythonBackend, ReadStepsReturnsEveryStepInOrderWithDivergedLossesNonFinite) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  const auto spec = conv_bn_relu_pool_linear({3, 8, 8}, 4, 10);
  const model::Weights weights = random_weights(spec, 3);
  auto reference = torch_backend().create_trainer(cpu_config(spec, weights));
  auto python = backend("torch-py").create_trainer(cpu_config(spec, weights));
  std::vector<std::vector<backends::StepResult>> read;
  for (auto* t : {reference.get(), python.get()}) {
    EXPECT_TRUE(t->read_steps().empty());
    t->set_learning_rate(0.05);
    for (std::uint64_t step = 0; step < 3; ++step) t->train_step(random_batch(spec, 4, 30 + step));
    t->set_learning_rate(1e30);  // the weights overflow within a few steps
    for (std::uint64_t step = 3; step < 8; ++step) t->train_step(random_batch(spec, 4, 30 + step));
    read.push_back(t->read_steps());
    EXPECT_TRUE(t->read_steps().empty());  // read once
  }
  ASSERT_EQ(read[0].size(), 8u);
  ASSERT_EQ(read[1].size(), 8u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(read[1][i].loss, read[0][i].loss, 1e-6 * std::max(1.0, std::abs(read[0][i].loss)))
        << i;
    EXPECT_DOUBLE_EQ(read[1][i].accuracy, read[0][i].accuracy) << i;
  }
  EXPECT_FALSE(std::isfinite(read[0].back().loss)) << read[0].back().loss;
  EXPECT_FALSE(std::isfinite(read[1].back().loss)) << read[1].back().loss;
}

TEST(PythonBackend, ImportedWeightsComeBackBitForBit) {
  const auto spec = conv_bn_relu_pool_linear({3, 8, 8}, 4, 10);
  const model::Weights weights = random_weights(spec, 1), other = random_weights(spec, 2);
  auto trainer = backend("torch-py").create_trainer(cpu_config(spec, weights));
  trainer->import_weights(other);
  const auto back = trainer->export_weights();
  ASSERT_EQ(back.tensors.size(), other.tensors.size());
  for (std::size_t i = 0; i < back.tensors.size(); ++i) {
    EXPECT_EQ(back.tensors[i].tensor.values, other.find(back.tensors[i].name)->tensor.values) << back.tensors[i].name;
    EXPECT_EQ(back.tensors[i].trainable, other.find(back.tensors[i].name)->trainable);
  }
  model::Weights missing = other;
  missing.tensors.pop_back();
  EXPECT_THROW(trainer->import_weights(missing), InputError);
}

// Checkpoints: the optimizer state under the torch backend's names, equal after the same steps,
// and a trainer resumed from it takes the same next step as the one that kept going.
TEST(PythonBackend, TorchPyOptimizerStateMatchesTheTorchBackendAndResumesExactly) {
  CIFARBENCH_REQUIRE_BACKEND("torch");
  const auto spec = conv_bn_relu_pool_linear({3, 8, 8}, 4, 10);
  const model::Weights weights = random_weights(spec, 5);
  for (auto kind : {backends::OptimizerConfig::Kind::sgd, backends::OptimizerConfig::Kind::adamw}) {
    auto config = cpu_config(spec, weights);
    config.optimizer.kind = kind;
    auto reference = torch_backend().create_trainer(config);
    auto python = backend("torch-py").create_trainer(config);
    for (auto* t : {reference.get(), python.get()}) {
      t->set_learning_rate(0.05);
      for (std::uint64_t step = 0; step < 2; ++step) t->train_step(random_batch(spec, 4, 20 + step));
    }
    const auto sa = reference->export_optimizer_state(), sb = python->export_optimizer_state();
    ASSERT_EQ(sb.tensors.size(), sa.tensors.size());
    for (const auto& t : sa.tensors) {
      const auto* other = sb.find(t.name);
      ASSERT_NE(other, nullptr) << t.name;
      EXPECT_LE(max_abs_difference(t.tensor.values, other->tensor.values), 1e-5) << t.name;
    }
    auto resumed = backend("torch-py").create_trainer(config);
    resumed->import_weights(python->export_weights());
    resumed->import_optimizer_state(sb);
    resumed->set_learning_rate(0.05);
    const data::Batch next = random_batch(spec, 4, 30);
    const double kept = backends::train_step_and_read(*python, next).loss;
    EXPECT_EQ(backends::train_step_and_read(*resumed, next).loss, kept);
    const auto wa = python->export_weights(), wb = resumed->export_weights();
    for (std::size_t i = 0; i < wa.tensors.size(); ++i) {
      EXPECT_EQ(wa.tensors[i].tensor.values, wb.tensors[i].tensor.values) << wa.tensors[i].name;
    }
  }
}

TEST(PythonBackend, ABatchThatDoesNotMatchTheModelIsRefusedNamingBothShapes) {
  const auto spec = conv_bn_relu_pool_linear({3, 8, 8}, 4, 10);
  const model::Weights weights = random_weights(spec, 1);
  auto trainer = backend("torch-py").create_trainer(cpu_config(spec, weights));
  data::Batch wrong = random_batch(conv_bn_relu_pool_linear({3, 4, 4}, 4, 10), 2, 1);
  try {
    trainer->logits(wrong);
    FAIL() << "a 4×4 batch for an 8×8 model was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("does not match the model input 3×8×8"), std::string::npos) << e.what();
  }
  trainer->set_learning_rate(0.1);
  EXPECT_NO_THROW(trainer->train_step(random_batch(spec, 2, 1)));  // the worker is still usable
}

// Trains with CIFARBENCH_WORKER_FAULT=`fault`; the CheckFailed of the failing step, and how long
// the failing step took.
std::pair<std::string, double> failing_step(const std::string& fault) {
  const auto spec = conv_bn_relu_pool_linear({3, 8, 8}, 4, 10);
  const model::Weights weights = random_weights(spec, 1);
  std::unique_ptr<backends::Trainer> trainer;
  {
    ScopedEnv env("CIFARBENCH_WORKER_FAULT", fault);
    trainer = backend("torch-py").create_trainer(cpu_config(spec, weights));
  }
  trainer->set_learning_rate(0.1);
  const data::Batch batch = random_batch(spec, 4, 1);
  trainer->train_step(batch);  // the first step is fine; the fault is on the second
  const auto start = std::chrono::steady_clock::now();
  try {
    trainer->train_step(batch);
  } catch (const CheckFailed& e) {
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // After a death the trainer refuses at once; after a Python exception it keeps working.
    if (fault.rfind("raise", 0) == 0) {
      EXPECT_NO_THROW(trainer->train_step(batch));
    } else {
      EXPECT_THROW(trainer->sync(), CheckFailed);
    }
    return {e.what(), took};
  }
  ADD_FAILURE() << "the step with fault " << fault << " did not fail";
  return {"", 0};
}

TEST(PythonBackend, AWorkerThatRaisesFailsTheStepWithItsTraceback) {
  const auto [error, took] = failing_step("raise@train_step:2");
  EXPECT_NE(error.find("'train_step' failed in Python"), std::string::npos) << error;
  EXPECT_NE(error.find("Traceback (most recent call last)"), std::string::npos) << error;
  EXPECT_NE(error.find("RuntimeError: injected fault: train_step call 2 raises"), std::string::npos) << error;
}

TEST(PythonBackend, AWorkerKilledMidEpochFailsTheStepNamingTheSignal) {
  const auto [error, took] = failing_step("kill@train_step:2");
  EXPECT_NE(error.find("killed by signal 9 (SIGKILL)"), std::string::npos) << error;
  EXPECT_LT(took, 10.0);
}

TEST(PythonBackend, AHangingWorkerIsKilledAtTheTimeoutAndTheStepFails) {
  ScopedEnv timeout("CIFARBENCH_PYTHON_TIMEOUT_S", "2");
  const auto [error, took] = failing_step("hang@train_step:2");
  EXPECT_NE(error.find("did not answer within 2 s (timed out"), std::string::npos) << error;
  EXPECT_GE(took, 1.9);
  EXPECT_LT(took, 15.0);
}

TEST(PythonBackend, DestroyingTheTrainerEndsItsWorker) {
  const auto spec = conv_bn_relu_pool_linear({3, 8, 8}, 4, 10);
  const model::Weights weights = random_weights(spec, 1);
  auto trainer = backend("torch-py").create_trainer(cpu_config(spec, weights));
  auto* python = dynamic_cast<backends::python::PythonTrainer*>(trainer.get());
  ASSERT_NE(python, nullptr);
  const pid_t pid = python->worker().pid();
  ASSERT_EQ(kill(pid, 0), 0) << "the worker is not running";
  trainer.reset();
  EXPECT_EQ(kill(pid, 0), -1) << "worker " << pid << " outlived its trainer";
  EXPECT_EQ(errno, ESRCH);
}

TEST(PythonBackend, ABadTimeoutSettingIsRefusedNamingTheVariable) {
  ScopedEnv timeout("CIFARBENCH_PYTHON_TIMEOUT_S", "soon");
  const auto spec = conv_bn_relu_pool_linear({3, 8, 8}, 4, 10);
  const model::Weights weights = random_weights(spec, 1);
  try {
    backend("torch-py").create_trainer(cpu_config(spec, weights));
    FAIL() << "CIFARBENCH_PYTHON_TIMEOUT_S=soon was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("CIFARBENCH_PYTHON_TIMEOUT_S=soon"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cb::testing
