// Data parallelism on LibTorch's c10d: a TCPStore rendezvous, a Gloo (CPU) or NCCL (CUDA)
// process group, and gradients averaged over the ranks in buckets that are all-reduced as soon
// as backward has produced them (overlapping the rest of backward, as PyTorch's DDP does).
#pragma once

#include <ATen/ATen.h>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>
#include <memory>
#include <vector>

#include "backends/backend.h"

namespace cb::backends::torch_backend {

class DataParallelGroup {
 public:
  // Joins the world (blocks until every rank has arrived or the timeout passes) and registers
  // gradient hooks on `params` (the trainable tensors, in the spec's order).
  DataParallelGroup(const DistributedConfig& config, const at::Device& device,
                    const std::vector<at::Tensor>& params);
  ~DataParallelGroup();
  DataParallelGroup(const DataParallelGroup&) = delete;
  DataParallelGroup& operator=(const DataParallelGroup&) = delete;

  // Before backward: forgets the last step's buckets.
  void prepare_step();
  // After backward: launches the buckets backward left incomplete, waits for every bucket and
  // sets each parameter's gradient to the mean over the ranks.
  void finish_step();
  // Element-wise sum over the ranks, in place.
  void all_reduce_sum(std::vector<double>& values);
  // Seconds spent waiting for communication (after backward and in all_reduce_sum).
  double communication_time_s() const { return communication_s_; }

 private:
  struct Bucket {
    std::vector<std::size_t> params;    // indices into params_
    std::vector<std::int64_t> offsets;  // of each parameter in `flat`
    at::Tensor flat;
    std::size_t ready = 0;
    c10::intrusive_ptr<c10d::Work> work;
  };
  void on_gradient(std::size_t param, const at::Tensor& grad);
  void launch(Bucket& bucket);
  void wait(c10d::Work& work, const char* what);

  DistributedConfig config_;
  at::Device device_;
  std::chrono::milliseconds timeout_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroup> group_;
  std::vector<at::Tensor> params_;
  std::vector<Bucket> buckets_;
  std::vector<std::size_t> bucket_of_;  // param index → bucket index
  std::vector<bool> param_ready_;
  double communication_s_ = 0;
};

}  // namespace cb::backends::torch_backend
