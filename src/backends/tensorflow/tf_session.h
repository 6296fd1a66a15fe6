// The thin layer over TensorFlow's C API: builds a GraphPlan into a TF_Graph (gradients by
// TF_AddGradients), opens a session, and runs initialization, training and evaluation steps.
// Written against the public C API; it runs only where TensorFlow's library is installed.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backends/tensorflow/graph_plan.h"
#include "backends/tensorflow/session_config.h"
#include "backends/tensorflow/tf_library.h"

namespace cb::backends::tf {

// A float32 or int32 host tensor to feed.
struct Feed {
  std::string placeholder;
  DataType dtype = DataType::float32;
  std::vector<std::int64_t> shape;
  std::vector<float> floats;
  std::vector<std::int32_t> ints;
};

class TensorFlowSession {
 public:
  // Builds the plan with every operation pinned to placement.device ("" = none), adds the
  // gradients, and opens the session with placement.settings.
  TensorFlowSession(std::shared_ptr<const TensorFlowLibrary> library, const GraphPlan& plan,
                    const Placement& placement);
  ~TensorFlowSession();
  TensorFlowSession(const TensorFlowSession&) = delete;
  TensorFlowSession& operator=(const TensorFlowSession&) = delete;

  // One TF_SessionRun: feeds, fetches (float32 results, flattened) and target operations.
  std::vector<std::vector<float>> run(const std::vector<Feed>& feeds,
                                      const std::vector<OpInput>& fetches,
                                      const std::vector<std::string>& targets,
                                      const char* what);

 private:
  TF_Output output(const OpInput& in) const;
  TF_Operation* operation(const std::string& name) const;
  void build(const std::vector<GraphOp>& ops, const std::vector<TF_Output>& gradients);
  void set_attrs(TF_OperationDescription* desc, const GraphOp& op, TF_Status* status);
  std::vector<TF_Output> add_gradients(const GraphPlan& plan);
  void place_gradients(const GraphPlan& plan);
  void check(TF_Status* status, const std::string& what) const;

  std::shared_ptr<const TensorFlowLibrary> library_;
  const TensorFlowApi& api_;
  TF_Graph* graph_ = nullptr;
  std::string device_;
  TF_Session* session_ = nullptr;
  std::map<std::string, TF_Operation*> ops_;
};

// The devices a session of this library sees, as cifarbench ids ("cpu", "cuda:0", ...), from a
// session with listing_settings() (the process's one GPU mapping). Throws CheckFailed with
// TensorFlow's message when the session cannot be configured or created.
std::vector<DeviceInfo> list_devices(const TensorFlowLibrary& library);

}  // namespace cb::backends::tf
