// Building blocks of the compile-time network types, each parameterized by the batch-norm
// layer: dlib::bn_con for training, dlib::affine for inference (see DlibTrainer::inference).
// dlib writes a network from the output inwards: the innermost template is the first layer.
#pragma once

#include <dlib/dnn.h>

#include <cstddef>

namespace cb::backends::dlib_backend::blocks {

// Batches enter as tensors through forward(tensor), so the input layer only fixes the type.
using input = dlib::input_rgb_image;

// 3×3 convolution, stride S, symmetric zero padding 1 (dlib's default padding is 0 for S ≠ 1).
template <long N, int S, typename SUBNET>
using conv3 = dlib::add_layer<dlib::con_<N, 3, 3, S, S, 1, 1>, SUBNET>;

template <template <typename> class BN, long N, typename SUBNET>
using conv_bn_relu = dlib::relu<BN<conv3<N, 1, SUBNET>>>;

template <typename SUBNET>
using max_pool2 = dlib::max_pool<2, 2, 2, 2, SUBNET>;  // 2×2, stride 2, padding 0

// He et al.'s basic block with an identity shortcut: conv-BN-ReLU-conv-BN, add, ReLU.
template <template <typename> class BN, long N, typename SUBNET>
using residual =
    dlib::relu<dlib::add_prev1<BN<conv3<N, 1, dlib::relu<BN<conv3<N, 1, dlib::tag1<SUBNET>>>>>>>>;

// The downsampling basic block with He et al.'s option-A shortcut, in the spec's order (main
// path, then the shortcut): a 1×1 max pool of stride 2 is the spec's subsample, and add_prev_
// zero-pads the shortcut's missing channels after its own, which is the spec's pad_channels.
template <template <typename> class BN, long N, typename SUBNET>
using residual_down = dlib::relu<dlib::add_prev2<dlib::max_pool<
    1, 1, 2, 2,
    dlib::skip1<dlib::tag2<BN<conv3<N, 1, dlib::relu<BN<conv3<N, 2, dlib::tag1<SUBNET>>>>>>>>>>>;

// Count identical basic blocks as one dlib::repeat, dlib's own idiom for deep networks: the
// layers are those of Count nested blocks (one object each, trained and visited alike), but the
// compiler instantiates the block once instead of nesting Count types. resnet56 uses it (its file
// compiled in 137 s nested, 35 s repeated); training speed did not measurably change
// (docs/backends/dlib.md, "Compile time").
template <template <typename> class BN, long N>
struct residual_of {
  template <typename SUBNET>
  using type = residual<BN, N, SUBNET>;
};
template <std::size_t Count, template <typename> class BN, long N, typename SUBNET>
using residual_repeat = dlib::repeat<Count, residual_of<BN, N>::template type, SUBNET>;

template <template <typename> class BN, long N, typename SUBNET>
using residual_x3 = residual<BN, N, residual<BN, N, residual<BN, N, SUBNET>>>;

// Global average pool, then the classifier (its output count is set from the spec at run time).
template <typename SUBNET>
using classifier = dlib::fc<10, dlib::avg_pool_everything<SUBNET>>;

}  // namespace cb::backends::dlib_backend::blocks
