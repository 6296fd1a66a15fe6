// The processes a trial trains in. One process is a World that does nothing; a data-parallel
// run's World sums values over its ranks through the backend's collectives, so that every rank
// stops at the same step and reports the whole world's figures (docs/distributed.md). The trial
// loop is written once, against this interface.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "backends/backend.h"
#include "data/sampler.h"

namespace cb::trial {

class World {
 public:
  virtual ~World() = default;
  virtual int size() const = 0;
  virtual int rank() const = 0;
  bool leader() const { return rank() == 0; }  // rank 0 prints, checkpoints and reports
  // Refuses to train unless every rank starts from the same weights and takes the same number
  // of steps per epoch (a rank with one step more would wait for the others until the timeout).
  virtual void check_ranks_agree(backends::Trainer& trainer, std::int64_t steps_per_epoch) = 0;
  // Whether Ctrl-C stops the trial before the next step: one process stops at once; a world
  // decides at the next read (agree_at_read), so that every rank stops at the same step.
  virtual bool interrupted_before_step() const = 0;
  struct ReadVerdict {
    bool interrupted = false;
    std::optional<std::size_t> diverged_at;  // the first step read that diverged on any rank
    bool out_of_time = false;
  };
  // At a read of the steps' values (every rank reads at the same steps, as many of them):
  // `non_finite` says which of the steps read diverged on this rank; returns the first that
  // diverged on any rank, and whether any rank was interrupted or ran out of time.
  virtual ReadVerdict agree_at_read(const std::vector<bool>& non_finite, bool out_of_time) = 0;
  // Sums `values` element-wise over the ranks, in place.
  virtual void sum(std::vector<double>& values) = 0;
  // Before evaluation and checkpoints: every rank takes rank 0's batch-norm statistics.
  virtual void share_buffers_from_leader(backends::Trainer& trainer) = 0;
  // Whether an error inside the training loop ends the trial as failed with its results so far
  // (a rank died and a collective failed) instead of propagating.
  virtual bool failures_end_trial() const = 0;
};

// The world of `shard`: a no-op one for a single process, else one over `trainer`'s collectives.
std::unique_ptr<World> make_world(const data::Shard& shard, backends::Trainer& trainer);

}  // namespace cb::trial
