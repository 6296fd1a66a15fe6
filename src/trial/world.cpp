#include "trial/world.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/error.h"
#include "trial/trial.h"

namespace cb::trial {
namespace {

class SingleProcess final : public World {
 public:
  int size() const override { return 1; }
  int rank() const override { return 0; }
  void check_ranks_agree(backends::Trainer&, std::int64_t) override {}
  bool interrupted_before_step() const override { return interrupt_flag().load(); }
  ReadVerdict agree_at_read(const std::vector<bool>& non_finite, bool out_of_time) override {
    ReadVerdict verdict{false, std::nullopt, out_of_time};
    const auto first = std::find(non_finite.begin(), non_finite.end(), true);
    if (first != non_finite.end()) verdict.diverged_at = static_cast<std::size_t>(first - non_finite.begin());
    return verdict;
  }
  void sum(std::vector<double>&) override {}
  void share_buffers_from_leader(backends::Trainer&) override {}
  bool failures_end_trial() const override { return false; }
};

// FNV-1a over names, shapes and values: equal on every rank iff the weights are bit-identical.
std::uint64_t weights_checksum(const model::Weights& weights) {
  std::uint64_t h = 1469598103934665603ull;
  auto mix = [&h](const void* data, std::size_t bytes) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 1099511628211ull;
  };
  for (const auto& t : weights.tensors) {
    mix(t.name.data(), t.name.size());
    mix(t.tensor.shape.data(), t.tensor.shape.size() * sizeof(t.tensor.shape[0]));
    mix(t.tensor.values.data(), t.tensor.values.size() * sizeof(float));
  }
  return h;
}

class DataParallel final : public World {
 public:
  DataParallel(const data::Shard& shard, backends::Trainer& trainer)
      : shard_(shard), trainer_(trainer) {}
  int size() const override { return shard_.world_size; }
  int rank() const override { return shard_.rank; }

  // Each value v goes in as v and v²: all ranks agree iff world · Σv² = (Σv)², exact in doubles
  // for byte-sized v.
  void check_ranks_agree(backends::Trainer& trainer, std::int64_t steps_per_epoch) override {
    const std::uint64_t checksum = weights_checksum(trainer.export_weights());
    std::vector<double> values;
    auto add = [&](double v) {
      values.push_back(v);
      values.push_back(v * v);
    };
    for (int i = 0; i < 8; ++i) add(static_cast<double>((checksum >> (8 * i)) & 0xff));
    for (int i = 0; i < 4; ++i) add(static_cast<double>((steps_per_epoch >> (8 * i)) & 0xff));
    values.push_back(1.0);
    sum(values);
    const int world = size();
    if (values.back() != world) {
      throw CheckFailed(fmt::format("distributed: {} ranks answered, expected {}", values.back(), world));
    }
    for (std::size_t i = 0; i + 1 < values.size(); i += 2) {
      if (world * values[i + 1] != values[i] * values[i]) {
        throw CheckFailed(i < 16 ? "distributed: the ranks' initial weights differ (checksums do not "
                                   "match); every rank must run the same model, seed and cifarbench"
                                 : "distributed: the ranks would take different numbers of steps per "
                                   "epoch; set data.shard_rule = \"pad\" or \"drop\"");
      }
    }
  }

  bool interrupted_before_step() const override { return false; }

  // One sum: Ctrl-C, out of time, then one flag per step read (ranks read the same steps).
  ReadVerdict agree_at_read(const std::vector<bool>& non_finite, bool out_of_time) override {
    std::vector<double> flags{interrupt_flag().load() ? 1.0 : 0.0, out_of_time ? 1.0 : 0.0};
    for (bool f : non_finite) flags.push_back(f ? 1.0 : 0.0);
    sum(flags);
    ReadVerdict verdict{flags[0] > 0, std::nullopt, flags[1] > 0};
    for (std::size_t i = 0; i < non_finite.size(); ++i) {
      if (flags[i + 2] > 0) {
        verdict.diverged_at = i;
        break;
      }
    }
    return verdict;
  }

  void sum(std::vector<double>& values) override { trainer_.all_reduce_sum(values); }

  // Batch-norm running statistics are per rank; evaluation and checkpoints use rank 0's on every
  // rank (what DDP's broadcast_buffers gives), sent as a sum in which the others add zeros.
  void share_buffers_from_leader(backends::Trainer& trainer) override {
    model::Weights w = trainer.export_weights();
    std::vector<double> values;
    for (const auto& t : w.tensors) {
      if (t.trainable) continue;
      for (float v : t.tensor.values) values.push_back(leader() ? static_cast<double>(v) : 0.0);
    }
    if (values.empty()) return;
    sum(values);
    std::size_t i = 0;
    for (auto& t : w.tensors) {
      if (t.trainable) continue;
      for (float& v : t.tensor.values) v = static_cast<float>(values[i++]);
    }
    trainer.import_weights(w);
  }

  bool failures_end_trial() const override { return true; }

 private:
  data::Shard shard_;
  backends::Trainer& trainer_;
};

}  // namespace

std::unique_ptr<World> make_world(const data::Shard& shard, backends::Trainer& trainer) {
  if (shard.world_size > 1) return std::make_unique<DataParallel>(shard, trainer);
  return std::make_unique<SingleProcess>();
}

}  // namespace cb::trial
