// Turns a list of sample indices into one contiguous Batch: each image through the
// SampleTransform into its slot, labels and indices beside it. A batch depends only on
// (indices, epoch, seed), never on which thread assembles it or what it assembled before.
#pragma once

#include <cstdint>
#include <span>

#include "data/batch.h"
#include "data/dataset.h"
#include "data/pipeline_config.h"
#include "data/transforms.h"

namespace cb::data {

// Batches of `samples` in batches of `batch_size`: the last, short one counted unless drop_last.
std::int64_t batch_count(std::int64_t samples, int batch_size, bool drop_last);

class Batcher {
 public:
  // Batches of `split` (which must outlive the Batcher) in the configuration's layout and
  // precision; `augment` false for evaluation (resize and normalization only).
  Batcher(const Dataset& dataset, const Split& split, const PipelineConfig& config,
          const Normalization& normalization, std::uint64_t seed, bool augment);

  // Fills `batch` (reusing its buffers) with the samples `indices` as epoch `epoch` sees them.
  // Safe to call from several threads at once, each with its own Batch.
  void assemble(std::span<const std::int64_t> indices, std::int64_t epoch, Batch& batch) const;

  const SampleTransform& transform() const { return transform_; }
  std::int64_t split_size() const { return split_.count; }

 private:
  const Split& split_;
  std::int64_t image_bytes_;
  Layout layout_;
  Precision precision_;
  SampleTransform transform_;
};

}  // namespace cb::data
