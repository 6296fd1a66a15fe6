// The hand-serialized ConfigProto, byte for byte (protobuf wire format, config.proto numbers).
#include <gtest/gtest.h>

#include "backends/tensorflow/session_config.h"
#include "core/error.h"

namespace cb::backends::tf {
namespace {

std::string bytes(std::initializer_list<int> values) {
  std::string s;
  for (int v : values) s.push_back(static_cast<char>(v));
  return s;
}

// gpu_options {allow_growth: true}, allow_soft_placement: true.
const std::string kGpuAndPlacement = bytes({0x32, 0x02, 0x20, 0x01, 0x38, 0x01});

TEST(SessionConfig, XlaOffSetsGlobalJitLevelOffAsANegativeVarint) {
  SessionSettings s;
  const std::string off = bytes({0x52, 0x0D, 0x1A, 0x0B, 0x28, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                 0xFF, 0xFF, 0xFF, 0xFF, 0x01});
  EXPECT_EQ(encode_config_proto(s), kGpuAndPlacement + off);
}

TEST(SessionConfig, XlaOnSetsGlobalJitLevelOn1) {
  SessionSettings s;
  s.xla = true;
  EXPECT_EQ(encode_config_proto(s),
            kGpuAndPlacement + bytes({0x52, 0x04, 0x1A, 0x02, 0x28, 0x01}));
}

TEST(SessionConfig, CpuSessionHidesGpusThroughDeviceCount) {
  SessionSettings s;
  s.hide_gpus = true;
  s.xla = true;
  const auto config = encode_config_proto(s);
  EXPECT_EQ(config.substr(0, 9), bytes({0x0A, 0x07, 0x0A, 0x03, 'G', 'P', 'U', 0x10, 0x00}));
}

TEST(SessionConfig, ThreadsAndVisibleGpuAreEncoded) {
  SessionSettings s;
  s.intra_op_threads = 300;  // a two-byte varint
  s.visible_gpu = "1";
  s.xla = true;
  EXPECT_EQ(encode_config_proto(s),
            bytes({0x10, 0xAC, 0x02, 0x32, 0x05, 0x20, 0x01, 0x2A, 0x01, '1', 0x38, 0x01, 0x52,
                   0x04, 0x1A, 0x02, 0x28, 0x01}));
}

ExecutionSettings on(const std::string& device) {
  ExecutionSettings e;
  e.device = device;
  return e;
}

// One GPU mapping per process: no session sets visible_device_list; ops are pinned instead.
TEST(Placement, GpuTrainersKeepTheListingMappingAndPinTheirGpu) {
  const auto listing = encode_config_proto(listing_settings());
  for (int n : {0, 1, 3}) {
    const auto p = placement_for(on("cuda:" + std::to_string(n)));
    EXPECT_EQ(p.device, "/device:GPU:" + std::to_string(n));
    EXPECT_TRUE(p.settings.visible_gpu.empty());
    EXPECT_EQ(encode_config_proto(p.settings), listing) << n;
  }
}

TEST(Placement, CpuHidesGpusAndCarriesThreadsAndXla) {
  auto e = on("cpu");
  e.threads = 3;
  e.xla = true;
  const auto p = placement_for(e);
  EXPECT_EQ(p.device, "/device:CPU:0");
  EXPECT_TRUE(p.settings.hide_gpus);
  EXPECT_EQ(p.settings.intra_op_threads, 3);
  EXPECT_TRUE(p.settings.xla);
}

TEST(Placement, UnknownDeviceIdIsAnInputError) {
  for (const char* id : {"gpu", "cuda:", "cuda:x", "cuda:-1", "cuda:1a"}) {
    EXPECT_THROW(placement_for(on(id)), InputError) << id;
  }
}

}  // namespace
}  // namespace cb::backends::tf
