// The compile-time dlib network types this build provides, one per zoo model, each defined and
// instantiated in its own net_<model>.cpp (dlib's network types are heavy to compile).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "backends/dlib/layer_signature.h"

namespace cb::backends::dlib_backend {

struct NetworkType {
  std::string zoo_name;                                             // the zoo model it reproduces
  std::vector<LayerSignature> (*signature)();                       // its layers, in forward order
  std::unique_ptr<Trainer> (*create)(const TrainerConfig& config);  // spec already checked
};

NetworkType simple_cnn_network();
NetworkType resnet20_network();
NetworkType resnet56_network();
NetworkType vgg11_bn_network();

// Every network type of this build, in zoo order.
const std::vector<NetworkType>& network_types();

}  // namespace cb::backends::dlib_backend
