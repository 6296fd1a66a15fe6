// The hand-serialized ConfigProto, byte for byte (protobuf wire format, config.proto numbers).
#include <gtest/gtest.h>

#include "backends/tensorflow/session_config.h"

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

}  // namespace
}  // namespace cb::backends::tf
