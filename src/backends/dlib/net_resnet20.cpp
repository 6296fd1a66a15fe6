// resnet20: 3×3 stem (16), three stages of 3 basic blocks (16, 32, 64 channels; the first block
// of stages 2 and 3 downsamples with an option-A shortcut), global average pool, linear.
#include "backends/dlib/dlib_network.h"
#include "backends/dlib/native_loop_net.h"
#include "backends/dlib/network_blocks.h"
#include "backends/dlib/network_types.h"

namespace cb::backends::dlib_backend {
namespace {
using namespace blocks;

template <template <typename> class BN>
using resnet20 = classifier<residual<
    BN, 64,
    residual<
        BN, 64,
        residual_down<
            BN, 64,
            residual<BN, 32,
                     residual<BN, 32,
                              residual_down<BN, 32,
                                            residual_x3<BN, 16, conv_bn_relu<BN, 16, input>>>>>>>>>;
}  // namespace

NetworkType resnet20_network() {
  return {"resnet20", &signature_of<resnet20<dlib::bn_con>>,
          [](const TrainerConfig& config) -> std::unique_ptr<Trainer> {
            return std::make_unique<DlibTrainer<resnet20<dlib::bn_con>, resnet20<dlib::affine>>>(
                config, "resnet20");
          }};
}

std::unique_ptr<NativeLoop> resnet20_native_loop(const TrainerConfig& config) {
  return std::make_unique<DlibNativeLoop<resnet20<dlib::bn_con>>>(config, "resnet20");
}

}  // namespace cb::backends::dlib_backend
