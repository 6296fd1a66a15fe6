// The processes a trial trains in. One process is a World that does nothing; a data-parallel
// run's World sums values over its ranks through the backend's collectives, so that every rank
// stops at the same step and reports the whole world's figures (docs/distributed.md). The trial
// loop is written once, against this interface.
#pragma once

#include <cstdint>
#include <memory>
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
  // decides after each step (agree_after_step), so that every rank stops at the same one.
  virtual bool interrupted_before_step() const = 0;
  struct StepVerdict {
    bool interrupted = false;
    bool diverged = false;
    bool out_of_time = false;
  };
  // After a step: whether any rank was interrupted, diverged or ran out of time.
  virtual StepVerdict agree_after_step(bool diverged, bool out_of_time) = 0;
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
