// One epoch of batches, assembled ahead by N worker threads into a bounded ring and handed out
// strictly in order. Each batch is a pure function of its indices, epoch and seed, so the bytes
// are the same with 0, 1 or 16 workers. Destroying the stream mid-epoch stops the workers
// cleanly (each finishes at most the batch it holds, then exits).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "data/batch.h"
#include "data/batcher.h"
#include "data/pipeline_config.h"
#include "data/sampler.h"

namespace cb::data {

class BatchStream {
 public:
  // The batches of `order` (this rank's share of one epoch), `batch_size` samples each, the
  // last short one kept unless drop_last. workers 0: each batch is assembled inside next().
  // `depth` (≥ 1) bounds how many finished batches wait ahead. `batcher` must outlive this.
  BatchStream(const Batcher& batcher, std::vector<std::int64_t> order, std::int64_t epoch,
              int batch_size, bool drop_last, int workers, int depth);
  ~BatchStream();
  BatchStream(const BatchStream&) = delete;
  BatchStream& operator=(const BatchStream&) = delete;

  // Swaps the next batch into `batch` (whose old buffers the stream reuses); false once the
  // epoch is over or the stream was stopped. Rethrows a worker's exception. One consumer only.
  bool next(Batch& batch);
  // Stops the workers and joins them; later next() calls return false.
  void stop();

  std::int64_t batch_count() const { return count_; }

 private:
  struct Slot {
    Batch batch;
    bool ready = false;
  };
  void work();
  std::span<const std::int64_t> batch_indices(std::int64_t k) const;

  const Batcher& batcher_;
  std::vector<std::int64_t> order_;
  std::int64_t epoch_;
  int batch_size_;
  std::int64_t count_;
  std::vector<Slot> slots_;

  std::mutex mutex_;
  std::condition_variable work_available_;  // a slot freed, or stopping
  std::condition_variable batch_ready_;     // a slot filled, or a worker failed
  std::int64_t next_claim_ = 0;             // the next batch a worker takes
  std::int64_t next_delivery_ = 0;          // the next batch next() hands out
  bool stopping_ = false;
  std::exception_ptr error_;
  std::vector<std::thread> workers_;
};

// This rank's training batches for `epoch`: the sampler's order, the configuration's batch size,
// drop rule, workers and prefetch depth.
BatchStream training_batches(const Batcher& batcher, const Sampler& sampler, std::int64_t epoch,
                             const PipelineConfig& config);
// Evaluation batches: the whole split (this rank's exact share) in index order, the last short
// batch kept, no augmentation (build `batcher` with augment = false).
BatchStream evaluation_batches(const Batcher& batcher, const PipelineConfig& config,
                               Shard shard = {});

}  // namespace cb::data
