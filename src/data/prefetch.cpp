#include "data/prefetch.h"

#include <algorithm>
#include <utility>

namespace cb::data {

BatchStream::BatchStream(const Batcher& batcher, std::vector<std::int64_t> order,
                         std::int64_t epoch, int batch_size, bool drop_last, int workers,
                         int depth)
    : batcher_(batcher),
      order_(std::move(order)),
      epoch_(epoch),
      batch_size_(std::max(batch_size, 1)),
      count_(data::batch_count(static_cast<std::int64_t>(order_.size()), batch_size_, drop_last)),
      slots_(static_cast<std::size_t>(std::max(depth, 1))) {
  const auto threads = static_cast<std::int64_t>(std::max(workers, 0));
  try {
    for (std::int64_t t = 0; t < std::min(threads, count_); ++t) {
      workers_.emplace_back([this] { work(); });
    }
  } catch (...) {
    stop();  // the destructor does not run when a constructor throws
    throw;
  }
}

BatchStream::~BatchStream() { stop(); }

void BatchStream::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_available_.notify_all();
  batch_ready_.notify_all();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
}

std::span<const std::int64_t> BatchStream::batch_indices(std::int64_t k) const {
  const auto begin = static_cast<std::size_t>(k * batch_size_);
  const auto end = std::min(order_.size(), begin + static_cast<std::size_t>(batch_size_));
  return {order_.data() + begin, end - begin};
}

void BatchStream::work() {
  const auto depth = static_cast<std::int64_t>(slots_.size());
  std::unique_lock lock(mutex_);
  for (;;) {
    // Batch k may start once batch k − depth, the slot's last occupant, has been handed out.
    work_available_.wait(lock, [&] {
      return stopping_ || next_claim_ >= count_ || next_claim_ < next_delivery_ + depth;
    });
    if (stopping_ || next_claim_ >= count_) return;
    const std::int64_t k = next_claim_++;
    Slot& slot = slots_[static_cast<std::size_t>(k % depth)];
    Batch batch = std::move(slot.batch);  // recycles the buffers of an earlier batch
    lock.unlock();
    try {
      batcher_.assemble(batch_indices(k), epoch_, batch);
    } catch (...) {
      lock.lock();
      if (!error_) error_ = std::current_exception();
      stopping_ = true;
      work_available_.notify_all();
      batch_ready_.notify_all();
      return;
    }
    lock.lock();
    slot.batch = std::move(batch);
    slot.ready = true;
    batch_ready_.notify_all();
  }
}

bool BatchStream::next(Batch& batch) {
  std::unique_lock lock(mutex_);
  if (next_delivery_ >= count_ || (stopping_ && !error_)) return false;
  if (workers_.empty()) {
    const std::int64_t k = next_delivery_++;
    lock.unlock();
    batcher_.assemble(batch_indices(k), epoch_, batch);
    return true;
  }
  const auto depth = static_cast<std::int64_t>(slots_.size());
  Slot& slot = slots_[static_cast<std::size_t>(next_delivery_ % depth)];
  batch_ready_.wait(lock, [&] { return slot.ready || error_ || stopping_; });
  if (!slot.ready) {
    if (error_) std::rethrow_exception(error_);
    return false;
  }
  std::swap(batch, slot.batch);
  slot.ready = false;
  ++next_delivery_;
  lock.unlock();
  work_available_.notify_all();
  return true;
}

BatchStream training_batches(const Batcher& batcher, const Sampler& sampler, std::int64_t epoch,
                             const PipelineConfig& config) {
  return BatchStream(batcher, sampler.epoch_indices(epoch), epoch, config.batch_size,
                     config.drop_last, config.workers, config.prefetch);
}

BatchStream evaluation_batches(const Batcher& batcher, const PipelineConfig& config, Shard shard) {
  const Sampler in_order(batcher.split_size(), 0, /*shuffle=*/false, shard, ShardRule::exact);
  return BatchStream(batcher, in_order.epoch_indices(0), 0, config.batch_size,
                     /*drop_last=*/false, config.workers, config.prefetch);
}

}  // namespace cb::data
