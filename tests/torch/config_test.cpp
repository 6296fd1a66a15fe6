// The torch backend describes itself and refuses what it cannot do, naming what is wrong.
#include <gtest/gtest.h>

#include "core/error.h"
#include "tiny_models.h"

namespace cb::testing {
namespace {

template <typename Error, typename F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(nothing thrown)";
}

struct Fixture {
  model::ModelSpec spec = conv_bn_relu_pool_linear({3, 6, 6}, 4, 5);
  model::Weights weights = random_weights(spec, 41);
  std::string create_error(const backends::TrainerConfig& config) {
    return message_of<Error>([&] { torch_backend().create_trainer(config); });
  }
  bool has_cuda() const {
    for (const auto& d : torch_backend().info().devices) {
      if (d.id.rfind("cuda", 0) == 0) return true;
    }
    return false;
  }
};

TEST(TorchConfig, InfoNamesTheBackendItsVersionAndTheCpu) {
  const auto info = torch_backend().info();
  EXPECT_EQ(info.name, "torch");
  EXPECT_TRUE(info.available);
  EXPECT_EQ(info.version.rfind("1.", 0), 0u) << info.version;
  ASSERT_FALSE(info.devices.empty());
  EXPECT_EQ(info.devices[0].id, "cpu");
}

TEST(TorchConfig, MissingTensorIsRefusedByName) {
  Fixture f;
  f.weights.tensors.erase(f.weights.tensors.end() - 1);  // fc.bias
  const auto config = cpu_config(f.spec, f.weights);
  EXPECT_NE(f.create_error(config).find("'fc.bias'"), std::string::npos) << f.create_error(config);
}

TEST(TorchConfig, ExtraTensorIsRefusedByName) {
  Fixture f;
  Rng rng(1);
  f.weights.tensors.push_back(random_tensor("ghost.weight", {2}, rng, 0, 1));
  EXPECT_NE(f.create_error(cpu_config(f.spec, f.weights)).find("'ghost.weight'"), std::string::npos);
}

TEST(TorchConfig, MisshapenTensorIsRefusedWithBothShapes) {
  Fixture f;
  f.weights.find("conv.weight")->tensor.shape = {4, 3, 9, 1};
  const auto message = f.create_error(cpu_config(f.spec, f.weights));
  EXPECT_NE(message.find("'conv.weight'"), std::string::npos) << message;
  EXPECT_NE(message.find("[4, 3, 9, 1]"), std::string::npos) << message;
  EXPECT_NE(message.find("[4, 3, 3, 3]"), std::string::npos) << message;
}

// The harness analyses the spec before any backend sees it (TrainerConfig::model), so an
// invalid spec never reaches create_trainer.
TEST(TorchConfig, InvalidSpecIsRefusedByTheAnalysisNamingTheLayer) {
  Fixture f;
  f.spec.layers.erase(f.spec.layers.begin() + 5);  // drop flatten: linear sees a 4×3×3 input
  const auto message = message_of<InputError>([&] { cpu_config(f.spec, f.weights); });
  EXPECT_NE(message.find("layer 'fc'"), std::string::npos) << message;
}

TEST(TorchConfig, CudaDeviceIsRefusedWithoutCuda) {
  Fixture f;
  if (f.has_cuda()) GTEST_SKIP() << "this LibTorch has CUDA";
  auto config = cpu_config(f.spec, f.weights);
  config.execution.device = "cuda:0";
  EXPECT_NE(message_of<Unsupported>([&] { torch_backend().create_trainer(config); }).find("cuda:0"),
            std::string::npos);
}

TEST(TorchConfig, UnknownDeviceIsRefusedListingTheChoices) {
  Fixture f;
  auto config = cpu_config(f.spec, f.weights);
  config.execution.device = "tpu";
  const auto message = message_of<InputError>([&] { torch_backend().create_trainer(config); });
  EXPECT_NE(message.find("'tpu'"), std::string::npos) << message;
  EXPECT_NE(message.find("cuda:N"), std::string::npos) << message;
}

TEST(TorchConfig, MixedPrecisionOnCpuIsRefusedNamingIt) {
  Fixture f;
  auto config = cpu_config(f.spec, f.weights);
  config.execution.precision = backends::MixedPrecision::bf16;
  EXPECT_NE(message_of<Unsupported>([&] { torch_backend().create_trainer(config); }).find("bf16"),
            std::string::npos);
}

TEST(TorchConfig, AutotuneOnCpuIsRefusedNamingIt) {
  Fixture f;
  auto config = cpu_config(f.spec, f.weights);
  config.execution.autotune = true;
  EXPECT_NE(message_of<Unsupported>([&] { torch_backend().create_trainer(config); })
                .find("autotune"),
            std::string::npos);
}

TEST(TorchConfig, UnsupportedAnswersForSupportedAndUnsupportedSettings) {
  const auto& backend = torch_backend();
  backends::ExecutionSettings cpu;
  cpu.device = "cpu";
  cpu.channels_last = true;
  cpu.deterministic = true;
  EXPECT_EQ(backend.unsupported(cpu), std::nullopt);

  auto bf16 = cpu;
  bf16.precision = backends::MixedPrecision::bf16;
  const auto why = backend.unsupported(bf16);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("bf16"), std::string::npos) << *why;

  auto xla = cpu;
  xla.xla = true;
  ASSERT_TRUE(backend.unsupported(xla).has_value());
  EXPECT_NE(backend.unsupported(xla)->find("xla"), std::string::npos) << *backend.unsupported(xla);
}

TEST(TorchConfig, CreateTrainerThrowsWhatUnsupportedSays) {
  Fixture f;
  auto config = cpu_config(f.spec, f.weights);
  config.execution.autotune = true;
  const auto why = torch_backend().unsupported(config.execution);
  ASSERT_TRUE(why.has_value());
  EXPECT_EQ(message_of<Unsupported>([&] { torch_backend().create_trainer(config); }), *why);
}

TEST(TorchConfig, NesterovWithoutMomentumIsRefused) {
  Fixture f;
  auto config = cpu_config(f.spec, f.weights);
  config.optimizer.momentum = 0;
  EXPECT_NE(message_of<InputError>([&] { torch_backend().create_trainer(config); })
                .find("Nesterov"),
            std::string::npos);
}

TEST(TorchConfig, BatchOfTheWrongShapeIsRefused) {
  Fixture f;
  const auto trainer = torch_backend().create_trainer(cpu_config(f.spec, f.weights));
  auto batch = random_batch(f.spec, 2, 1);
  batch.h = 5;
  EXPECT_NE(message_of<InputError>([&] { trainer->logits(batch); }).find("does not match"),
            std::string::npos);
}

TEST(TorchConfig, ChannelsLastGivesTheSameLogits) {
  Fixture f;
  auto config = cpu_config(f.spec, f.weights);
  const auto batch = random_batch(f.spec, 4, 2);
  const auto plain = torch_backend().create_trainer(config)->logits(batch);
  config.execution.channels_last = true;
  const auto nhwc = torch_backend().create_trainer(config)->logits(batch);
  ASSERT_EQ(plain.size(), nhwc.size());
  for (std::size_t i = 0; i < plain.size(); ++i) EXPECT_NEAR(plain[i], nhwc[i], 1e-5);
}

}  // namespace
}  // namespace cb::testing
