#include "data/batcher.h"

#include <fmt/format.h>

#include "core/error.h"

namespace cb::data {

std::int64_t batch_count(std::int64_t samples, int batch_size, bool drop_last) {
  if (batch_size <= 0) return 0;
  return drop_last ? samples / batch_size : (samples + batch_size - 1) / batch_size;
}

Batcher::Batcher(const Dataset& dataset, const Split& split, const PipelineConfig& config,
                 const Normalization& normalization, std::uint64_t seed, bool augment)
    : split_(split),
      image_bytes_(dataset.image_bytes()),
      layout_(config.layout),
      precision_(config.precision),
      transform_(config, dataset.channels, dataset.height, dataset.width, normalization, seed,
                 augment) {
  if (split.pixels.size() != static_cast<std::size_t>(split.count * image_bytes_) ||
      split.labels.size() != static_cast<std::size_t>(split.count)) {
    throw CheckFailed(fmt::format("dataset {}: a split of {} images holds {} pixel bytes and {} "
                                  "labels (expected {} and {})",
                                  dataset.name, split.count, split.pixels.size(),
                                  split.labels.size(), split.count * image_bytes_, split.count));
  }
}

void Batcher::assemble(std::span<const std::int64_t> indices, std::int64_t epoch,
                       Batch& batch) const {
  const std::size_t per_image = transform_.out_values();
  batch.layout = layout_;
  batch.precision = precision_;
  batch.n = static_cast<int>(indices.size());
  batch.c = transform_.channels();
  batch.h = transform_.out_height();
  batch.w = transform_.out_width();
  batch.labels.resize(indices.size());
  batch.indices.assign(indices.begin(), indices.end());
  if (precision_ == Precision::float32) {
    batch.data.resize(per_image * indices.size());
    batch.data_u8.clear();
  } else {
    batch.data_u8.resize(per_image * indices.size());
    batch.data.clear();
  }
  std::vector<std::uint8_t> scratch;
  for (std::size_t k = 0; k < indices.size(); ++k) {
    const std::int64_t i = indices[k];
    if (i < 0 || i >= split_.count) {
      throw CheckFailed(fmt::format("batch sample index {} is outside the split (size {})", i,
                                    split_.count));
    }
    const std::uint8_t* image = split_.image(i, image_bytes_);
    if (precision_ == Precision::float32) {
      transform_.apply(image, i, epoch, batch.data.data() + k * per_image, scratch);
    } else {
      transform_.apply(image, i, epoch, batch.data_u8.data() + k * per_image, scratch);
    }
    batch.labels[k] = split_.labels[static_cast<std::size_t>(i)];
  }
}

}  // namespace cb::data
