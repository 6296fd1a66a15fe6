// resnet56: as resnet20 with 9 basic blocks per stage.
#include "backends/dlib/dlib_network.h"
#include "backends/dlib/network_blocks.h"
#include "backends/dlib/network_types.h"

namespace cb::backends::dlib_backend {
namespace {
using namespace blocks;

template <template <typename> class BN>
using resnet56 = classifier<residual_repeat<
    8, BN, 64,
    residual_down<
        BN, 64,
        residual_repeat<
            8, BN, 32,
            residual_down<BN, 32, residual_repeat<9, BN, 16, conv_bn_relu<BN, 16, input>>>>>>>;
}  // namespace

NetworkType resnet56_network() {
  return {"resnet56", &signature_of<resnet56<dlib::bn_con>>,
          [](const TrainerConfig& config) -> std::unique_ptr<Trainer> {
            return std::make_unique<DlibTrainer<resnet56<dlib::bn_con>, resnet56<dlib::affine>>>(
                config, "resnet56");
          }};
}

}  // namespace cb::backends::dlib_backend
