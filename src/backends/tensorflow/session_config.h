// The session's ConfigProto (tensorflow/core/protobuf/config.proto), serialized by hand for
// TF_SetConfig: the C API takes bytes, and we do not link protobuf for six fields. Also where a
// trainer's operations go: the GPU mapping is decided once per process (see placement_for).
#pragma once

#include <string>

#include "backends/backend.h"

namespace cb::backends::tf {

struct SessionSettings {
  int intra_op_threads = 0;  // 0 = TensorFlow's default (all cores)
  bool hide_gpus = false;    // device_count {"GPU": 0}: a CPU-only session
  std::string visible_gpu;   // gpu_options.visible_device_list; placement_for never sets it
  bool gpu_allow_growth = true;  // allocate GPU memory as needed, not all of it up front
  bool xla = false;          // graph_options.optimizer_options.global_jit_level ON_1 (else OFF)
};

// The serialized ConfigProto (protobuf wire format).
std::string encode_config_proto(const SessionSettings& settings);

// A session's settings and the device every operation of its graph is pinned to.
struct Placement {
  SessionSettings settings;
  std::string device;  // TF_SetDevice: "/device:CPU:0" or "/device:GPU:<N>"
};

// TensorFlow fixes the mapping of its GPU ids to physical GPUs for the whole process at the
// first session that creates GPU devices, and refuses any later session whose
// visible_device_list maps differently ("... is being mapped to multiple devices"). So no
// session here ever sets visible_device_list: every GPU is visible to every session, in the
// identity mapping (TF GPU:N = CUDA device N), the same for list_devices and for any number of
// trainers; a trainer on cuda:N pins its operations to /device:GPU:N instead, and a cpu
// trainer creates no GPU device at all. Throws InputError for a device id that is neither
// "cpu" nor "cuda:<N>".
Placement placement_for(const ExecutionSettings& execution);

// The settings of the session that lists devices: the same GPU mapping as every trainer's.
SessionSettings listing_settings();

}  // namespace cb::backends::tf
