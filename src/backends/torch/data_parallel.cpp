#include "backends/torch/data_parallel.h"

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <cstdlib>

#include "core/error.h"

namespace cb::backends::torch_backend {
namespace {
using Clock = std::chrono::steady_clock;

// LibTorch's errors carry a C++ backtrace in what(); users need the first line only.
std::string message_of(const std::exception& e) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) {
    return c10_error->what_without_backtrace();
  }
  return e.what();
}

// Gloo's device: the interface GLOO_SOCKET_IFNAME names (as PyTorch honours it), loopback for a
// local world, otherwise the address this machine's host name resolves to.
std::shared_ptr<::gloo::transport::Device> gloo_device(const DistributedConfig& config) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname) {
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  }
  if (config.master_addr == "127.0.0.1" || config.master_addr == "localhost") {
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  }
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

c10::intrusive_ptr<c10d::ProcessGroup> make_group(const c10::intrusive_ptr<c10d::Store>& store,
                                                  const DistributedConfig& config,
                                                  const at::Device& device,
                                                  std::chrono::milliseconds timeout) {
  if (device.is_cuda()) {
#ifdef USE_C10D_NCCL
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = timeout;
    return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, config.rank, config.world_size,
                                                       options);
#else
    throw Unsupported(
        fmt::format("--nproc/WORLD_SIZE {} on '{}': this LibTorch was built without "
                    "NCCL, so data-parallel training runs on the CPU only",
                    config.world_size, device.str()));
#endif
  }
  auto options = c10d::ProcessGroupGloo::Options::create(timeout);
  options->devices.push_back(gloo_device(config));
  options->threads = 2;  // Gloo's own worker threads, outside at::set_num_threads
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, config.rank, config.world_size,
                                                     options);
}
}  // namespace

DataParallelGroup::DataParallelGroup(const DistributedConfig& config, const at::Device& device,
                                     const std::vector<at::Tensor>& params)
    : config_(config),
      device_(device),
      timeout_(std::chrono::seconds(config.timeout_s)),
      params_(params) {
  if (config.world_size < 2 || config.rank < 0 || config.rank >= config.world_size) {
    throw InputError(
        fmt::format("distributed: rank {} of world size {} is not a data-parallel rank",
                    config.rank, config.world_size));
  }
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<std::uint16_t>(config.master_port);
  store_options.isServer = config.rank == 0;
  store_options.numWorkers = static_cast<std::size_t>(config.world_size);
  store_options.waitWorkers = true;
  store_options.timeout = timeout_;
  try {
    auto tcp = c10::make_intrusive<c10d::TCPStore>(config.master_addr, store_options);
    store_ = c10::make_intrusive<c10d::PrefixStore>("cifarbench", tcp);
    group_ = make_group(store_, config, device, timeout_);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw CheckFailed(
        fmt::format("distributed: rank {} of {} could not join the world at {}:{} "
                    "within {} s: {}",
                    config.rank, config.world_size, config.master_addr, config.master_port,
                    config.timeout_s, message_of(e)));
  }

  // Buckets in reverse spec order, the order backward produces gradients in (as DDP does).
  const std::int64_t bucket_elements = std::max<std::int64_t>(1, config.bucket_bytes / 4);
  bucket_of_.assign(params_.size(), 0);
  param_ready_.assign(params_.size(), false);
  for (std::size_t k = params_.size(); k-- > 0;) {
    if (buckets_.empty() || buckets_.back().offsets.back() >= bucket_elements) {
      buckets_.emplace_back();
      buckets_.back().offsets.push_back(0);
    }
    Bucket& b = buckets_.back();
    b.params.push_back(k);
    b.offsets.push_back(b.offsets.back() + params_[k].numel());
    bucket_of_[k] = buckets_.size() - 1;
  }
  for (Bucket& b : buckets_) {
    b.flat = at::zeros({b.offsets.back()}, params_.front().options().requires_grad(false));
    b.offsets.pop_back();
  }
  for (std::size_t k = 0; k < params_.size(); ++k) {
    params_[k].register_hook([this, k](const at::Tensor& grad) { on_gradient(k, grad); });
  }
}

DataParallelGroup::~DataParallelGroup() = default;

void DataParallelGroup::prepare_step() {
  for (Bucket& b : buckets_) {
    b.ready = 0;
    b.work.reset();
  }
  param_ready_.assign(params_.size(), false);
}

// Called by autograd as soon as a parameter's gradient is complete (leaf hooks fire once).
void DataParallelGroup::on_gradient(std::size_t param, const at::Tensor& grad) {
  Bucket& b = buckets_[bucket_of_[param]];
  if (param_ready_[param] || b.work) return;  // a second backward in one step: not ours
  param_ready_[param] = true;
  for (std::size_t i = 0; i < b.params.size(); ++i) {
    if (b.params[i] == param) {
      b.flat.narrow(0, b.offsets[i], grad.numel()).copy_(grad.detach().reshape({-1}));
      break;
    }
  }
  if (++b.ready == b.params.size()) launch(b);
}

void DataParallelGroup::launch(Bucket& bucket) {
  std::vector<at::Tensor> tensors{bucket.flat};
  bucket.work = group_->allreduce(tensors);
}

void DataParallelGroup::wait(c10d::Work& work, const char* what) {
  try {
    work.wait(timeout_);
  } catch (const std::exception& e) {
    throw CheckFailed(
        fmt::format("distributed: rank {} of {}: {} failed (did another rank stop?): {}",
                    config_.rank, config_.world_size, what, message_of(e)));
  }
}

void DataParallelGroup::finish_step() {
  at::NoGradGuard no_grad;
  const auto start = Clock::now();
  for (Bucket& b : buckets_) {
    if (b.work) continue;
    // A parameter backward never reached (unused this step) contributes a zero gradient.
    for (std::size_t i = 0; i < b.params.size(); ++i) {
      if (!param_ready_[b.params[i]])
        b.flat.narrow(0, b.offsets[i], params_[b.params[i]].numel()).zero_();
    }
    launch(b);
  }
  const double inverse_world = 1.0 / config_.world_size;
  for (Bucket& b : buckets_) {
    wait(*b.work, "the gradient all-reduce");
    b.flat.mul_(inverse_world);
    for (std::size_t i = 0; i < b.params.size(); ++i) {
      at::Tensor& p = params_[b.params[i]];
      p.mutable_grad() = b.flat.narrow(0, b.offsets[i], p.numel()).view(p.sizes());
    }
  }
  communication_s_ += std::chrono::duration<double>(Clock::now() - start).count();
}

void DataParallelGroup::all_reduce_sum(std::vector<double>& values) {
  if (values.empty()) return;
  const auto start = Clock::now();
  at::Tensor t =
      at::from_blob(values.data(), {static_cast<std::int64_t>(values.size())}, at::kDouble)
          .to(device_, /*non_blocking=*/false, /*copy=*/true);
  std::vector<at::Tensor> tensors{t};
  auto work = group_->allreduce(tensors);
  wait(*work, "an all-reduce of counts");
  t = t.to(at::kCPU);
  std::copy(t.data_ptr<double>(), t.data_ptr<double>() + t.numel(), values.begin());
  communication_s_ += std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace cb::backends::torch_backend
