// simple-cnn: (conv3×3-BN-ReLU) ×2 and a 2×2 max pool, at 32, 64 and 128 channels; global
// average pool; linear.
#include "backends/dlib/dlib_network.h"
#include "backends/dlib/native_loop_net.h"
#include "backends/dlib/network_blocks.h"
#include "backends/dlib/network_types.h"

namespace cb::backends::dlib_backend {
namespace {
using namespace blocks;

template <template <typename> class BN, long N, typename SUBNET>
using stage = max_pool2<conv_bn_relu<BN, N, conv_bn_relu<BN, N, SUBNET>>>;

template <template <typename> class BN>
using simple_cnn = classifier<stage<BN, 128, stage<BN, 64, stage<BN, 32, input>>>>;
}  // namespace

NetworkType simple_cnn_network() {
  return {
      "simple-cnn", &signature_of<simple_cnn<dlib::bn_con>>,
      [](const TrainerConfig& config) -> std::unique_ptr<Trainer> {
        return std::make_unique<DlibTrainer<simple_cnn<dlib::bn_con>, simple_cnn<dlib::affine>>>(
            config, "simple-cnn");
      }};
}

std::unique_ptr<NativeLoop> simple_cnn_native_loop(const TrainerConfig& config) {
  return std::make_unique<DlibNativeLoop<simple_cnn<dlib::bn_con>>>(config, "simple-cnn");
}

}  // namespace cb::backends::dlib_backend
