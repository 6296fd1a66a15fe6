// The measurements behind backend conformance: two trainers built from the same spec and
// weights are fed the same batches and their outputs compared. `cifarbench check`, `cifarbench
// parity` and the GoogleTest conformance tests (tests/conformance) all use these functions, so
// there is one definition of "agrees".
//
// Criteria (the reasons are in docs/conformance.md):
// - logits: max |a − b| / max(max |b|, 1e-6) ≤ 1e-4;
// - one SGD step: the loss to 1e-4 (relative, at least absolute 1e-4), batch-norm running
//   statistics to 1e-4 of the largest magnitude in their layer, and the whole step
//   (w_after − w_before over all trainable tensors) to 1e-2 in relative L2 norm (a ReLU input
//   within float32 rounding of zero switches on in one framework and off in the other, which
//   moves one channel's update by a few percent; a wrong optimizer rule moves it by tens).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "data/batch.h"
#include "model/spec.h"
#include "model/weights.h"

namespace cb::conformance {

inline constexpr double kLogitTolerance = 1e-4;
inline constexpr double kLossTolerance = 1e-4;
inline constexpr double kBufferTolerance = 1e-4;
inline constexpr double kStepTolerance = 1e-2;
// The checks' SGD learning rate: small enough that three steps on random batches do not blow
// the loss up (which would amplify rounding differences), large enough to move every weight.
inline constexpr double kLearningRate = 0.02;

// A measured difference and the bound it is held to.
struct Agreement {
  double value = 0;
  double tolerance = 0;
  std::string detail;  // what was compared and where the largest difference lies
  bool ok() const { return value <= tolerance; }
};

// A batch of `n` standard-normal images (NCHW) with uniform labels, from `seed`.
data::Batch random_batch(const model::ModelSpec& spec, int n, std::uint64_t seed);
// The batch converted to `layout` (the harness converts for backends that want NHWC).
data::Batch in_layout(const data::Batch& nchw, data::Layout layout);

// max_i |a_i − b_i| / max(max_i |b_i|, 1e-6).
double relative_max_difference(const std::vector<float>& a, const std::vector<float>& b);
// ||a − b||₂ / max(||b||₂, 1e-30) over every trainable tensor both hold.
double relative_distance(const model::Weights& a, const model::Weights& b);

// A trainer for `spec` from `weights` with the default SGD recipe, kLearningRate and `execution`.
std::unique_ptr<backends::Trainer> make_trainer(const backends::Backend& backend,
                                                const model::ModelSpec& spec,
                                                const model::Weights& weights,
                                                const backends::ExecutionSettings& execution);

// Logits of `other` against `reference` on the same batch.
Agreement compare_logits(backends::Trainer& reference, backends::Trainer& other,
                         const data::Batch& nchw);

// One SGD step of both on the same batch from the same weights (both freshly built).
struct StepAgreement {
  Agreement loss, buffers, step;
  bool ok() const { return loss.ok() && buffers.ok() && step.ok(); }
};
StepAgreement compare_sgd_step(backends::Trainer& reference, backends::Trainer& other,
                               const data::Batch& nchw);

}  // namespace cb::conformance
