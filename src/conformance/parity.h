// `cifarbench parity`: from the same initial weights and the same batches, K SGD steps in every
// pair of available frameworks, compared step by step (loss, relative parameter distance, the
// layer furthest apart), with the first step where the two leave float32 noise and the layer
// where that starts; beside it, each backend's effective settings (Trainer::effective_settings).
// It turns "the frameworks differ" into "they differ from step 37, in layer bn3".
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "backends/backend.h"

namespace cb::conformance {

struct ParityOptions {
  std::string model = "simple-cnn";
  int steps = 50;
  int batch = 32;
  double learning_rate = 0.02;
  std::uint64_t seed = 1;  // initial weights and the synthetic batches
  int threads = 2;
  // Float32 noise: a pair agrees while the relative L2 distance of its trainable parameters stays
  // within `parameter_noise` (about 100 float32 ulps of relative error) and the losses within
  // `loss_noise` (relative); docs/conformance.md says why.
  double parameter_noise = 1e-5;
  double loss_noise = 1e-4;
};

struct ParityStep {
  int step = 0;                  // 1-based; the distances are after the step
  double loss_a = 0, loss_b = 0;  // each framework's loss on the batch, before its update
  double parameter_distance = 0;  // ||a − b|| / ||b|| over every trainable tensor
  std::string worst_layer;        // the layer with the largest relative distance (buffers included)
  double worst_layer_distance = 0;
};

struct ParityTrace {
  std::string a, b;
  double initial_distance = 0;   // after loading the same weights: 0 unless a load is inexact
  std::vector<ParityStep> steps;
  std::optional<int> first_step;  // the first step beyond float32 noise
  std::string first_layer;        // the layer whose distance crossed the bound first
  std::string error;              // a backend threw: the message (steps holds what ran)
};

struct ParityReport {
  ParityOptions options;
  std::vector<std::string> backends;  // compared, in order
  std::vector<std::string> left_out;  // "dlib: cannot build resnet18" and the like
  std::vector<ParityTrace> pairs;
  std::map<std::string, std::vector<backends::EffectiveSetting>> settings;  // per backend
};

// Compares every pair among `backends` that are available and can build the model.
ParityReport run_parity(const std::vector<const backends::Backend*>& backends, const ParityOptions& options);

// The relative distance of every layer ("<layer>" of "<layer>.<tensor>", buffers included).
std::map<std::string, double> layer_distances(const model::Weights& a, const model::Weights& b);

std::string format_parity(const ParityReport& report);
nlohmann::json to_json(const ParityReport& report);

}  // namespace cb::conformance
