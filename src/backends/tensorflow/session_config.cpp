#include "backends/tensorflow/session_config.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdint>

#include "core/error.h"

namespace cb::backends::tf {
namespace {

// Field numbers from config.proto (ConfigProto, GPUOptions, GraphOptions, OptimizerOptions).
constexpr int kDeviceCount = 1, kIntraOpThreads = 2, kGpuOptions = 6, kAllowSoftPlacement = 7,
              kGraphOptions = 10;
constexpr int kAllowGrowth = 4, kVisibleDeviceList = 5;
constexpr int kOptimizerOptions = 3, kGlobalJitLevel = 5;
constexpr int kJitOn1 = 1, kJitOff = -1;
constexpr int kVarint = 0, kLengthDelimited = 2;

void varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}
void key(std::string& out, int field, int wire_type) {
  varint(out, static_cast<std::uint64_t>(field) << 3 | static_cast<std::uint64_t>(wire_type));
}
// int32 and enum fields are sign-extended to 64 bits on the wire (negative values take 10 bytes).
void int_field(std::string& out, int field, std::int64_t value) {
  key(out, field, kVarint);
  varint(out, static_cast<std::uint64_t>(value));
}
void bytes_field(std::string& out, int field, const std::string& bytes) {
  key(out, field, kLengthDelimited);
  varint(out, bytes.size());
  out += bytes;
}

}  // namespace

std::string encode_config_proto(const SessionSettings& settings) {
  std::string config;
  if (settings.hide_gpus) {
    std::string entry;  // map<string, int32> entry: key = 1, value = 2
    bytes_field(entry, 1, "GPU");
    int_field(entry, 2, 0);
    bytes_field(config, kDeviceCount, entry);
  }
  if (settings.intra_op_threads > 0) int_field(config, kIntraOpThreads, settings.intra_op_threads);
  std::string gpu;
  if (settings.gpu_allow_growth) int_field(gpu, kAllowGrowth, 1);
  if (!settings.visible_gpu.empty()) bytes_field(gpu, kVisibleDeviceList, settings.visible_gpu);
  if (!gpu.empty()) bytes_field(config, kGpuOptions, gpu);
  int_field(config, kAllowSoftPlacement, 1);
  std::string optimizer;
  int_field(optimizer, kGlobalJitLevel, settings.xla ? kJitOn1 : kJitOff);
  std::string graph;
  bytes_field(graph, kOptimizerOptions, optimizer);
  bytes_field(config, kGraphOptions, graph);
  return config;
}

}  // namespace cb::backends::tf

namespace cb::backends::tf {

Placement placement_for(const ExecutionSettings& execution) {
  Placement p;
  p.settings = listing_settings();
  p.settings.intra_op_threads = execution.threads;
  p.settings.xla = execution.xla;
  const std::string& id = execution.device;
  if (id == "cpu") {
    p.settings.hide_gpus = true;
    p.device = "/device:CPU:0";
    return p;
  }
  const std::string prefix = "cuda:";
  int index = -1;
  if (id.rfind(prefix, 0) == 0 && id.size() > prefix.size()) {
    const char* begin = id.data() + prefix.size();
    const char* end = id.data() + id.size();
    const auto r = std::from_chars(begin, end, index);
    if (r.ec != std::errc() || r.ptr != end) index = -1;
  }
  if (index < 0) {
    throw InputError(fmt::format("device '{}': the TensorFlow backend expects 'cpu' or "
                                 "'cuda:<index>'",
                                 id));
  }
  p.device = fmt::format("/device:GPU:{}", index);
  return p;
}

SessionSettings listing_settings() { return SessionSettings{}; }

}  // namespace cb::backends::tf
