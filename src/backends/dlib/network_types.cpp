#include "backends/dlib/network_types.h"

namespace cb::backends::dlib_backend {

const std::vector<NetworkType>& network_types() {
  static const std::vector<NetworkType> types = {simple_cnn_network(), resnet20_network(),
                                                 resnet56_network(), vgg11_bn_network()};
  return types;
}

}  // namespace cb::backends::dlib_backend
