// The session's ConfigProto (tensorflow/core/protobuf/config.proto), serialized by hand for
// TF_SetConfig: the C API takes bytes, and we do not link protobuf for six fields.
#pragma once

#include <string>

namespace cb::backends::tf {

struct SessionSettings {
  int intra_op_threads = 0;  // 0 = TensorFlow's default (all cores)
  bool hide_gpus = false;    // device_count {"GPU": 0}: a CPU-only session
  std::string visible_gpu;   // gpu_options.visible_device_list, e.g. "0"; "" = all
  bool gpu_allow_growth = true;  // allocate GPU memory as needed, not all of it up front
  bool xla = false;          // graph_options.optimizer_options.global_jit_level ON_1 (else OFF)
};

// The serialized ConfigProto (protobuf wire format).
std::string encode_config_proto(const SessionSettings& settings);

}  // namespace cb::backends::tf
