#include "backends/tensorflow/tf_session.h"

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "core/error.h"

namespace cb::backends::tf {
namespace {

// Owns a TF_Status for one call sequence.
class Status {
 public:
  explicit Status(const TensorFlowApi& api) : api_(api), status_(api.TF_NewStatus()) {}
  ~Status() { api_.TF_DeleteStatus(status_); }
  Status(const Status&) = delete;
  Status& operator=(const Status&) = delete;
  TF_Status* get() const { return status_; }

 private:
  const TensorFlowApi& api_;
  TF_Status* status_;
};

TF_Tensor* make_tensor(const TensorFlowApi& api, DataType dtype,
                       const std::vector<std::int64_t>& shape, const void* data,
                       std::size_t bytes) {
  TF_Tensor* t = api.TF_AllocateTensor(static_cast<int>(dtype), shape.data(),
                                       static_cast<int>(shape.size()), bytes);
  if (!t) throw CheckFailed("TensorFlow could not allocate a tensor");
  if (bytes > 0) std::memcpy(api.TF_TensorData(t), data, bytes);
  return t;
}

// A session on `graph` configured by `settings`; throws with TensorFlow's message when
// TF_SetConfig (a ConfigProto it refuses) or TF_NewSession fails.
TF_Session* open_session(const TensorFlowApi& api, TF_Graph* graph,
                         const SessionSettings& settings) {
  // TensorFlow's CPU devices share one intra-op thread pool per process, sized by the first
  // session's intra_op_parallelism_threads (core/common_runtime/local_device.cc), which would
  // be list_devices' "all cores" and ignore every trainer's `threads`. This variable, read once
  // when the first CPU device is made, gives each session its own pool. A value the user set
  // is kept.
  setenv("TF_OVERRIDE_GLOBAL_THREADPOOL", "1", 0);
  Status status(api);
  TF_SessionOptions* options = api.TF_NewSessionOptions();
  const std::string config = encode_config_proto(settings);
  api.TF_SetConfig(options, config.data(), config.size(), status.get());
  if (api.TF_GetCode(status.get()) != static_cast<int>(Code::ok)) {
    const std::string message = api.TF_Message(status.get());
    api.TF_DeleteSessionOptions(options);
    throw CheckFailed("TensorFlow refused the session configuration (TF_SetConfig): " + message);
  }
  TF_Session* session = api.TF_NewSession(graph, options, status.get());
  api.TF_DeleteSessionOptions(options);
  if (!session || api.TF_GetCode(status.get()) != static_cast<int>(Code::ok)) {
    throw CheckFailed(std::string("TensorFlow creating the session: ") +
                      api.TF_Message(status.get()));
  }
  return session;
}

void close_session(const TensorFlowApi& api, TF_Session* session) {
  if (!session) return;
  Status status(api);
  api.TF_CloseSession(session, status.get());
  api.TF_DeleteSession(session, status.get());
}

}  // namespace

void TensorFlowSession::check(TF_Status* status, const std::string& what) const {
  if (api_.TF_GetCode(status) != static_cast<int>(Code::ok)) {
    throw CheckFailed(fmt::format("TensorFlow {}: {}", what, api_.TF_Message(status)));
  }
}

TF_Operation* TensorFlowSession::operation(const std::string& name) const {
  const auto it = ops_.find(name);
  if (it == ops_.end()) throw CheckFailed(fmt::format("TensorFlow graph lacks op '{}'", name));
  return it->second;
}

TF_Output TensorFlowSession::output(const OpInput& in) const {
  return TF_Output{operation(in.op), in.index};
}

void TensorFlowSession::set_attrs(TF_OperationDescription* desc, const GraphOp& op,
                                  TF_Status* status) {
  for (const auto& entry : op.attrs) {
    const std::string& name = entry.first;  // not a structured binding: lambdas capture it
    const char* attr = name.c_str();
    std::visit(
        [&](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, std::int64_t>) {
            api_.TF_SetAttrInt(desc, attr, v);
          } else if constexpr (std::is_same_v<V, std::vector<std::int64_t>>) {
            api_.TF_SetAttrIntList(desc, attr, v.data(), static_cast<int>(v.size()));
          } else if constexpr (std::is_same_v<V, float>) {
            api_.TF_SetAttrFloat(desc, attr, v);
          } else if constexpr (std::is_same_v<V, bool>) {
            api_.TF_SetAttrBool(desc, attr, v ? 1 : 0);
          } else if constexpr (std::is_same_v<V, std::string>) {
            api_.TF_SetAttrString(desc, attr, v.data(), v.size());
          } else if constexpr (std::is_same_v<V, DataType>) {
            api_.TF_SetAttrType(desc, attr, static_cast<int>(v));
          } else if constexpr (std::is_same_v<V, ShapeAttr>) {
            api_.TF_SetAttrShape(desc, attr, v.dims.data(), static_cast<int>(v.dims.size()));
          } else {
            const bool is_float = v.dtype == DataType::float32;
            TF_Tensor* t = make_tensor(
                api_, v.dtype, v.shape,
                is_float ? static_cast<const void*>(v.floats.data()) : v.ints.data(),
                is_float ? v.floats.size() * sizeof(float) : v.ints.size() * sizeof(std::int32_t));
            api_.TF_SetAttrTensor(desc, attr, t, status);  // copies the tensor
            api_.TF_DeleteTensor(t);
            check(status, fmt::format("setting attribute {} of {}", name, op.name));
          }
        },
        entry.second);
  }
}

void TensorFlowSession::build(const std::vector<GraphOp>& ops,
                              const std::vector<TF_Output>& gradients) {
  Status status(api_);
  for (const auto& op : ops) {
    TF_OperationDescription* desc = api_.TF_NewOperation(graph_, op.type.c_str(), op.name.c_str());
    try {
      for (const auto& in : op.inputs) {
        api_.TF_AddInput(desc, in.gradient_of >= 0
                                   ? gradients.at(static_cast<std::size_t>(in.gradient_of))
                                   : output(in));
      }
      set_attrs(desc, op, status.get());
      if (!device_.empty()) api_.TF_SetDevice(desc, device_.c_str());
    } catch (...) {
      // The C API frees a description only in TF_FinishOperation (which fails here, having
      // an incomplete operation, and deletes it anyway): the only way not to leak it.
      Status discard(api_);
      api_.TF_FinishOperation(desc, discard.get());
      throw;
    }
    TF_Operation* created = api_.TF_FinishOperation(desc, status.get());
    check(status.get(), fmt::format("creating {} ({})", op.name, op.type));
    ops_[op.name] = created;
  }
}

std::vector<TF_Output> TensorFlowSession::add_gradients(const GraphPlan& plan) {
  // Gradients of the loss with respect to each trainable variable's value (its read op).
  std::vector<TF_Output> xs;
  for (int index : plan.trainable) {
    xs.push_back(output({plan.variables[static_cast<std::size_t>(index)].read, 0}));
  }
  TF_Output loss = output(plan.loss);
  std::vector<TF_Output> dxs(xs.size(), TF_Output{nullptr, 0});
  Status status(api_);
  api_.TF_AddGradients(graph_, &loss, 1, xs.data(), static_cast<int>(xs.size()), nullptr,
                       status.get(), dxs.data());
  check(status.get(), "adding gradients (TF_AddGradients)");
  // TF_AddGradients gives no gradient (a null operation) to an x the loss does not depend on.
  for (std::size_t j = 0; j < dxs.size(); ++j) {
    if (dxs[j].oper) continue;
    const auto& v = plan.variables[static_cast<std::size_t>(plan.trainable[j])];
    throw CheckFailed(fmt::format(
        "TensorFlow gives the trainable tensor '{}' no gradient: it does not reach the loss "
        "(an unused layer, or one cut off from the output); remove it from the model or mark "
        "it non-trainable",
        v.spec_name));
  }
  return dxs;
}

TensorFlowSession::TensorFlowSession(std::shared_ptr<const TensorFlowLibrary> library,
                                     const GraphPlan& plan, const Placement& placement)
    : library_(std::move(library)), api_(library_->api()), device_(placement.device) {
  graph_ = api_.TF_NewGraph();
  try {
    build(plan.forward_ops, {});
    build(plan.update_ops, add_gradients(plan));
    if (!device_.empty()) place_gradients(plan);
    session_ = open_session(api_, graph_, placement.settings);
  } catch (...) {
    api_.TF_DeleteGraph(graph_);
    throw;
  }
}

// TF_AddGradients creates its operations with no device, and TensorFlow's placer puts such
// operations on the first GPU, GPU:0, whatever device the rest of the graph is pinned to. The C
// API cannot set an existing operation's device, but importing a GraphDef can give every
// operation without one a default device: so the finished graph is exported and imported into
// a fresh graph with default device `device_` (our own operations keep theirs), and the
// operation table is rebuilt by name.
void TensorFlowSession::place_gradients(const GraphPlan& plan) {
  Status status(api_);
  TF_Buffer* def = api_.TF_NewBuffer();
  TF_ImportGraphDefOptions* options = api_.TF_NewImportGraphDefOptions();
  TF_Graph* placed = api_.TF_NewGraph();
  api_.TF_GraphToGraphDef(graph_, def, status.get());
  if (api_.TF_GetCode(status.get()) == static_cast<int>(Code::ok)) {
    api_.TF_ImportGraphDefOptionsSetDefaultDevice(options, device_.c_str());
    api_.TF_GraphImportGraphDef(placed, def, options, status.get());
  }
  api_.TF_DeleteImportGraphDefOptions(options);
  api_.TF_DeleteBuffer(def);
  if (api_.TF_GetCode(status.get()) != static_cast<int>(Code::ok)) {
    api_.TF_DeleteGraph(placed);
    check(status.get(), fmt::format("placing the gradients on {}", device_));
  }
  api_.TF_DeleteGraph(graph_);
  graph_ = placed;
  for (const auto* list : {&plan.forward_ops, &plan.update_ops}) {
    for (const auto& op : *list) {
      TF_Operation* found = api_.TF_GraphOperationByName(graph_, op.name.c_str());
      if (!found) {
        throw CheckFailed(fmt::format("TensorFlow lost operation '{}' in the GraphDef round trip",
                                      op.name));
      }
      ops_[op.name] = found;
    }
  }
}

TensorFlowSession::~TensorFlowSession() {
  close_session(api_, session_);
  api_.TF_DeleteGraph(graph_);
}

std::vector<std::vector<float>> TensorFlowSession::run(const std::vector<Feed>& feeds,
                                                       const std::vector<OpInput>& fetches,
                                                       const std::vector<std::string>& targets,
                                                       const char* what) {
  std::vector<TF_Output> inputs;
  std::vector<TF_Tensor*> values;
  std::vector<TF_Tensor*> results(fetches.size(), nullptr);
  auto release = [&] {
    for (auto* t : values) api_.TF_DeleteTensor(t);
    for (auto* t : results) {
      if (t) api_.TF_DeleteTensor(t);
    }
  };
  std::vector<std::vector<float>> out;
  try {
    for (const auto& f : feeds) {
      inputs.push_back(output({f.placeholder, 0}));
      const bool is_float = f.dtype == DataType::float32;
      values.push_back(make_tensor(
          api_, f.dtype, f.shape,
          is_float ? static_cast<const void*>(f.floats.data()) : f.ints.data(),
          is_float ? f.floats.size() * sizeof(float) : f.ints.size() * sizeof(std::int32_t)));
    }
    std::vector<TF_Output> outputs;
    for (const auto& f : fetches) outputs.push_back(output(f));
    std::vector<const TF_Operation*> target_ops;
    for (const auto& t : targets) target_ops.push_back(operation(t));
    Status status(api_);
    api_.TF_SessionRun(session_, nullptr, inputs.data(), values.data(),
                       static_cast<int>(inputs.size()), outputs.data(), results.data(),
                       static_cast<int>(outputs.size()), target_ops.data(),
                       static_cast<int>(target_ops.size()), nullptr, status.get());
    check(status.get(), what);
    for (auto* t : results) {
      const auto* data = static_cast<const float*>(api_.TF_TensorData(t));
      out.emplace_back(data, data + api_.TF_TensorByteSize(t) / sizeof(float));
    }
  } catch (...) {
    release();
    throw;
  }
  release();
  return out;
}

std::vector<DeviceInfo> list_devices(const TensorFlowLibrary& library) {
  const auto& api = library.api();
  TF_Graph* graph = api.TF_NewGraph();
  TF_Session* session = nullptr;
  std::vector<DeviceInfo> devices;
  Status status(api);
  try {
    session = open_session(api, graph, listing_settings());
    TF_DeviceList* list = api.TF_SessionListDevices(session, status.get());
    if (!list || api.TF_GetCode(status.get()) != static_cast<int>(Code::ok)) {
      throw CheckFailed(fmt::format("TensorFlow listing the devices: {}",
                                    api.TF_Message(status.get())));
    }
    int gpus = 0;
    for (int i = 0; i < api.TF_DeviceListCount(list); ++i) {
      const char* type_text = api.TF_DeviceListType(list, i, status.get());
      const char* name_text = api.TF_DeviceListName(list, i, status.get());
      if (!type_text || !name_text) continue;
      const std::string type = type_text, name = name_text;
      // GPUs appear in TF id order; with the identity mapping, TF GPU:k is cuda:k.
      if (type == "CPU") devices.push_back({"cpu", name});
      if (type == "GPU") devices.push_back({fmt::format("cuda:{}", gpus++), name});
    }
    api.TF_DeleteDeviceList(list);
  } catch (...) {
    close_session(api, session);
    api.TF_DeleteGraph(graph);
    throw;
  }
  close_session(api, session);
  api.TF_DeleteGraph(graph);
  return devices;
}

}  // namespace cb::backends::tf
