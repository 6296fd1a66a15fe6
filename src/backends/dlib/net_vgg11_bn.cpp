// vgg11-bn (CIFAR variant): conv3×3(bias)-BN-ReLU stacks of 64, M, 128, M, 256, 256, M, 512, 512,
// M, 512, 512, M (M = 2×2 max pool), then one linear layer on the 512 × 1 × 1 features.
#include "backends/dlib/dlib_network.h"
#include "backends/dlib/network_blocks.h"
#include "backends/dlib/network_types.h"

namespace cb::backends::dlib_backend {
namespace {
using namespace blocks;

template <template <typename> class BN, long N, typename SUBNET>
using double_conv = conv_bn_relu<BN, N, conv_bn_relu<BN, N, SUBNET>>;

template <template <typename> class BN>
using vgg11_bn = dlib::fc<
    10, max_pool2<double_conv<
            BN, 512,
            max_pool2<double_conv<
                BN, 512,
                max_pool2<double_conv<
                    BN, 256,
                    max_pool2<conv_bn_relu<BN, 128, max_pool2<conv_bn_relu<BN, 64, input>>>>>>>>>>>;
}  // namespace

NetworkType vgg11_bn_network() {
  return {"vgg11-bn", &signature_of<vgg11_bn<dlib::bn_con>>,
          [](const TrainerConfig& config) -> std::unique_ptr<Trainer> {
            return std::make_unique<DlibTrainer<vgg11_bn<dlib::bn_con>, vgg11_bn<dlib::affine>>>(
                config, "vgg11-bn");
          }};
}

}  // namespace cb::backends::dlib_backend
