// The session layer and the backend against fake_tf/fake_tf.c, a stand-in for TensorFlow's C
// library that records what it is asked: the ConfigProto of every session, the device of every
// operation, operation descriptions left open. No TensorFlow is needed.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "backends/backend.h"
#include "backends/tensorflow/graph_plan.h"
#include "backends/tensorflow/session_config.h"
#include "backends/tensorflow/tf_library.h"
#include "backends/tensorflow/tf_library_override.h"
#include "backends/tensorflow/tf_session.h"
#include "core/error.h"
#include "model/initial_weights.h"
#include "support/temp_dir.h"

namespace cb::backends::tf {
namespace {

namespace fs = std::filesystem;
using model::Layer;
using model::Op;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The fake's steering and recording functions, on the same handle the loader opened.
struct Fake {
  void* handle = dlopen(FAKE_TF, RTLD_NOW | RTLD_LOCAL);
  template <typename F>
  F fn(const char* name) const {
    auto f = reinterpret_cast<F>(dlsym(handle, name));
    if (!f) throw std::runtime_error(std::string("fake_tf lacks ") + name);
    return f;
  }
  void fail_set_config(const char* m) const { fn<void (*)(const char*)>("fake_tf_fail_set_config")(m); }
  void fail_tensor_attr(const char* a) const { fn<void (*)(const char*)>("fake_tf_fail_tensor_attr")(a); }
  void null_gradient(int i) const { fn<void (*)(int)>("fake_tf_null_gradient")(i); }
  int sessions() const { return fn<int (*)()>("fake_tf_sessions")(); }
  int descriptions_open() const { return fn<int (*)()>("fake_tf_descriptions_open")(); }
  int session_graph(int s) const { return fn<int (*)(int)>("fake_tf_session_graph")(s); }
  std::string config(int s) const {
    std::size_t n = 0;
    const char* c = fn<const char* (*)(int, std::size_t*)>("fake_tf_session_config")(s, &n);
    if (!c) throw std::runtime_error("no session " + std::to_string(s));
    return std::string(c, n);
  }
  std::string device_of(int graph, const std::string& op) const {
    const char* d = fn<const char* (*)(int, const char*)>("fake_tf_device_of")(graph, op.c_str());
    if (!d) throw std::runtime_error("no op " + op);
    return d;
  }
  bool fed(const std::string& name) const {
    return fn<int (*)(const char*)>("fake_tf_last_run_fed")(name.c_str()) != 0;
  }
  bool targeted(const std::string& name) const {
    return fn<int (*)(const char*)>("fake_tf_last_run_targeted")(name.c_str()) != 0;
  }
  void reset() const {
    fail_set_config("");
    fail_tensor_attr("");
    null_gradient(-1);
  }
};

const Backend* fake_backend();

class FakeTensorFlow : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(fake.handle, nullptr) << dlerror();
    fake.reset();
    LibrarySearch search;
    search.flag_path = FAKE_TF;
    search.standard_names = {};
    search.pythons = {};
    auto loaded = load_tensorflow_library(search);
    ASSERT_NE(loaded.library, nullptr) << loaded.reason;
    library = loaded.library;
  }
  void TearDown() override { fake.reset(); }
  Fake fake;
  std::shared_ptr<const TensorFlowLibrary> library;
};

Layer layer(std::string name, Op op) {
  Layer l;
  l.name = std::move(name);
  l.op = op;
  return l;
}

// input 3×8×8 → conv 4 → relu → global pool → flatten → linear 10.
model::ModelSpec small_spec() {
  model::ModelSpec s;
  s.name = "small";
  s.input = {3, 8, 8};
  s.layers.push_back(layer("input", Op::input));
  Layer c = layer("conv", Op::conv2d);
  c.out_channels = 4;
  c.kernel = 3;
  c.stride = 1;
  c.padding = 1;
  s.layers.push_back(c);
  s.layers.push_back(layer("relu", Op::relu));
  s.layers.push_back(layer("pool", Op::global_avg_pool));
  s.layers.push_back(layer("flat", Op::flatten));
  Layer fc = layer("fc", Op::linear);
  fc.out_features = 10;
  fc.bias = true;
  s.layers.push_back(fc);
  return s;
}

GraphPlan small_plan() { return plan_graph(model::analyse(small_spec()), {}); }

ExecutionSettings on(const std::string& device) {
  ExecutionSettings e;
  e.device = device;
  return e;
}

// ---- 1. one GPU mapping per process ----------------------------------------------------------

TEST_F(FakeTensorFlow, EverySessionGetsTheListingSessionsGpuMapping) {
  const auto devices = list_devices(*library);
  ASSERT_EQ(devices.size(), 3u);
  EXPECT_EQ(devices[2].id, "cuda:1");
  const GraphPlan plan = small_plan();
  TensorFlowSession on_gpu1(library, plan, placement_for(on("cuda:1")));
  TensorFlowSession on_gpu0(library, plan, placement_for(on("cuda:0")));
  ASSERT_EQ(fake.sessions(), 3);
  // TensorFlow refuses a session whose visible_device_list maps GPUs differently from the
  // process's first: with the same threads and XLA setting, the ConfigProtos are identical.
  EXPECT_EQ(fake.config(1), fake.config(0));
  EXPECT_EQ(fake.config(2), fake.config(0));
  // The trainers' operations are pinned to their GPU instead.
  const int g1 = fake.session_graph(1), g0 = fake.session_graph(2);
  for (const auto& op : plan.forward_ops) {
    EXPECT_EQ(fake.device_of(g1, op.name), "/device:GPU:1") << op.name;
    EXPECT_EQ(fake.device_of(g0, op.name), "/device:GPU:0") << op.name;
  }
  for (const auto& op : plan.update_ops) EXPECT_EQ(fake.device_of(g1, op.name), "/device:GPU:1");
}

// TF_AddGradients' operations come without a device; TensorFlow would place them on GPU:0.
TEST_F(FakeTensorFlow, GradientOperationsFollowTheTrainersGpu) {
  const GraphPlan plan = small_plan();
  TensorFlowSession on_gpu1(library, plan, placement_for(on("cuda:1")));
  const int graph = fake.session_graph(fake.sessions() - 1);
  for (int i : plan.trainable) {
    const auto& read = plan.variables[static_cast<std::size_t>(i)].read;
    EXPECT_EQ(fake.device_of(graph, "gradients/" + read), "/device:GPU:1") << read;
  }
}

TEST_F(FakeTensorFlow, CpuSessionHidesGpusAndPinsToTheCpu) {
  const GraphPlan plan = small_plan();
  TensorFlowSession cpu(library, plan, placement_for(on("cpu")));
  SessionSettings hidden = listing_settings();
  hidden.hide_gpus = true;
  EXPECT_EQ(fake.config(fake.sessions() - 1), encode_config_proto(hidden));
  EXPECT_EQ(fake.device_of(fake.session_graph(fake.sessions() - 1), plan.loss.op), "/device:CPU:0");
}

// TensorFlow's intra-op pool is process-wide unless TF_OVERRIDE_GLOBAL_THREADPOOL is set before
// the first session: otherwise list_devices' session would size it, ignoring `threads`.
TEST_F(FakeTensorFlow, SessionsGetTheirOwnThreadPools) {
  unsetenv("TF_OVERRIDE_GLOBAL_THREADPOOL");
  list_devices(*library);
  const char* value = std::getenv("TF_OVERRIDE_GLOBAL_THREADPOOL");
  ASSERT_NE(value, nullptr);
  EXPECT_STREQ(value, "1");
}

TEST_F(FakeTensorFlow, ASecondTrainerCannotChangeTheProcesssDeterminism) {
  const Backend* backend = fake_backend();
  if (!backend) GTEST_SKIP() << "another library was loaded first in this process";
  const auto analysed = std::make_shared<const model::AnalysedModel>(model::analyse(small_spec()));
  const auto weights = model::initial_weights(analysed->spec, 1);
  TrainerConfig config;
  config.model = analysed;
  config.initial_weights = &weights;
  config.execution.device = "cpu";
  config.execution.deterministic = true;
  const auto first = backend->create_trainer(config);
  const auto again = backend->create_trainer(config);  // the same mode is fine
  config.execution.deterministic = false;
  try {
    backend->create_trainer(config);
    FAIL() << "a trainer with the other determinism mode was created";
  } catch (const Unsupported& e) {
    EXPECT_TRUE(contains(e.what(), "deterministic = true")) << e.what();
  }
}

// ---- 7. AdamW through the trainer ---------------------------------------------------------------

TEST_F(FakeTensorFlow, AdamwTrainerZeroesBothMomentsAndFeedsItsScalarsEveryStep) {
  const Backend* backend = fake_backend();
  if (!backend) GTEST_SKIP() << "another library was loaded first in this process";
  const auto analysed = std::make_shared<const model::AnalysedModel>(model::analyse(small_spec()));
  const auto weights = model::initial_weights(analysed->spec, 1);
  TrainerConfig config;
  config.model = analysed;
  config.initial_weights = &weights;
  config.optimizer.kind = OptimizerConfig::Kind::adamw;
  const auto trainer = backend->create_trainer(config);
  PlanOptions options;
  options.optimizer = config.optimizer;
  const GraphPlan plan = plan_graph(*analysed, options);
  for (int i : plan.trainable) {  // the constructor's last run zeroed the buffers
    const auto& v = plan.variables[static_cast<std::size_t>(i)];
    EXPECT_TRUE(fake.targeted(v.momentum_init_assign)) << v.spec_name;
    EXPECT_TRUE(fake.targeted(v.second_moment_init_assign)) << v.spec_name;
  }
  data::Batch batch;
  batch.layout = data::Layout::nhwc;
  batch.n = 2;
  batch.c = 3;
  batch.h = batch.w = 8;
  batch.data.assign(2 * 3 * 8 * 8, 0.5f);
  batch.labels = {1, 4};
  trainer->set_learning_rate(0.01);
  trainer->train_step(batch);
  for (const auto& name : {plan.adam_decay_factor, plan.adam_step_size,
                           plan.adam_sqrt_correction2, plan.learning_rate, plan.targets}) {
    EXPECT_TRUE(fake.fed(name)) << name;
  }
  for (const auto& t : plan.step_targets) EXPECT_TRUE(fake.targeted(t)) << t;
}

// ---- 6. the lesser defects ---------------------------------------------------------------------

TEST_F(FakeTensorFlow, ListDevicesReportsARefusedConfiguration) {
  fake.fail_set_config("fake: unknown field 42 in ConfigProto");
  try {
    list_devices(*library);
    FAIL() << "list_devices succeeded with TF_SetConfig failing";
  } catch (const CheckFailed& e) {
    EXPECT_TRUE(contains(e.what(), "TF_SetConfig")) << e.what();
    EXPECT_TRUE(contains(e.what(), "fake: unknown field 42 in ConfigProto")) << e.what();
  }
}

TEST_F(FakeTensorFlow, ATrainerSessionReportsARefusedConfiguration) {
  fake.fail_set_config("fake: bad GPU options");
  EXPECT_THROW(TensorFlowSession(library, small_plan(), placement_for(on("cpu"))), CheckFailed);
}

TEST_F(FakeTensorFlow, AFailedTensorAttributeLeavesNoDescriptionOpen) {
  fake.fail_tensor_attr("value");  // every Const's value
  try {
    TensorFlowSession session(library, small_plan(), placement_for(on("cpu")));
    FAIL() << "the session was built although an attribute failed";
  } catch (const CheckFailed& e) {
    EXPECT_TRUE(contains(e.what(), "setting attribute value of")) << e.what();
  }
  EXPECT_EQ(fake.descriptions_open(), 0);
}

TEST_F(FakeTensorFlow, ATrainableTensorWithoutGradientIsNamed) {
  const GraphPlan plan = small_plan();
  fake.null_gradient(1);
  const auto& v = plan.variables[static_cast<std::size_t>(plan.trainable[1])];
  try {
    TensorFlowSession session(library, plan, placement_for(on("cpu")));
    FAIL() << "a null gradient was accepted";
  } catch (const CheckFailed& e) {
    EXPECT_TRUE(contains(e.what(), "'" + v.spec_name + "' no gradient")) << e.what();
  }
}

// ---- 5. never unloaded -------------------------------------------------------------------------

TEST(TensorFlowLibraryLifetime, TheLibraryStaysLoadedAfterItsLastOwnerIsGone) {
  // A copy under a new name: no other test of this process has it open.
  cb::testing::TempDir dir;
  const auto copy = dir / "libtensorflow.so.2";
  fs::copy_file(FAKE_TF, copy);
  {
    LibrarySearch search;
    search.flag_path = copy.string();
    auto loaded = load_tensorflow_library(search);
    ASSERT_NE(loaded.library, nullptr) << loaded.reason;
  }
  void* still = dlopen(copy.c_str(), RTLD_NOW | RTLD_NOLOAD);
  EXPECT_NE(still, nullptr) << "the TensorFlow library was unloaded (dlclose)";
}

// ---- through the backend: the process-wide library is the fake -------------------------------

// Runs only when this process's TensorFlow backend loaded the fake (ctest runs each test in its
// own process; run alone, the override below takes effect before the first load).
const Backend* fake_backend() {
  set_tensorflow_library_override(FAKE_TF);
  register_builtin_backends();
  const Backend* b = find_backend("tensorflow");
  const auto& loaded = process_tensorflow_library();
  if (!b || !loaded.library || loaded.library->path() != FAKE_TF) return nullptr;
  return b;
}

TEST_F(FakeTensorFlow, TwoTrainersOnDifferentGpusShareTheProcessMapping) {
  const Backend* backend = fake_backend();
  if (!backend) GTEST_SKIP() << "another library was loaded first in this process";
  const auto analysed = std::make_shared<const model::AnalysedModel>(model::analyse(small_spec()));
  const auto weights = model::initial_weights(analysed->spec, 1);
  TrainerConfig config;
  config.model = analysed;
  config.initial_weights = &weights;
  const int before = fake.sessions();
  const auto info = backend->info();
  ASSERT_TRUE(info.available) << info.unavailable_reason;
  config.execution.device = "cuda:1";
  const auto first = backend->create_trainer(config);
  config.execution.device = "cuda:0";
  const auto second = backend->create_trainer(config);
  ASSERT_GE(fake.sessions() - before, 2);
  const int last = fake.sessions() - 1;
  EXPECT_EQ(fake.config(last - 1), fake.config(0));  // session 0 listed the devices
  EXPECT_EQ(fake.config(last), fake.config(0));
  EXPECT_EQ(first->parameter_count(), second->parameter_count());
}

TEST_F(FakeTensorFlow, BackendIsUnavailableWithTheReasonWhenNoSessionOpens) {
  // info() lists the devices once per process: only a process that has not yet opened a
  // session (as under ctest, one test per process) can see the listing fail.
  if (fake.sessions() > 0) GTEST_SKIP() << "devices may have been listed earlier in this process";
  fake.fail_set_config("fake: refused for the test");
  const Backend* backend = fake_backend();
  if (!backend) GTEST_SKIP() << "another library was loaded first in this process";
  const auto info = backend->info();
  EXPECT_FALSE(info.available);
  EXPECT_TRUE(contains(info.unavailable_reason, "fake: refused for the test"))
      << info.unavailable_reason;
  EXPECT_TRUE(contains(info.unavailable_reason, "2.15.0")) << info.unavailable_reason;
  ExecutionSettings cpu;
  TrainerConfig config;
  try {
    backend->create_trainer(config);
    FAIL() << "a trainer was created without a session";
  } catch (const Unsupported& e) {
    EXPECT_TRUE(contains(e.what(), "fake: refused for the test")) << e.what();
  }
}

}  // namespace
}  // namespace cb::backends::tf
