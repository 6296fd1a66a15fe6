#include "model/zoo.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <functional>

#include "core/error.h"
#include "model/analysis.h"

namespace cb::model {
namespace {

// Appends layers in order; each call returns the new layer's index, for residual wiring.
class SpecBuilder {
 public:
  SpecBuilder(std::string name, std::string description, int num_classes) {
    spec_.name = std::move(name);
    spec_.description = std::move(description);
    spec_.num_classes = num_classes;
    Layer input;
    input.name = "input";
    input.op = Op::input;
    spec_.layers.push_back(input);
  }

  int conv(const std::string& name, int out_channels, int kernel, int stride, int padding,
           bool bias, std::vector<int> inputs = {}) {
    Layer l = make(name, Op::conv2d, std::move(inputs));
    l.out_channels = out_channels;
    l.kernel = kernel;
    l.stride = stride;
    l.padding = padding;
    l.bias = bias;
    return push(l);
  }
  int batch_norm(const std::string& name, double momentum = 0.1, double eps = 1e-5) {
    Layer l = make(name, Op::batch_norm);
    l.momentum = momentum;
    l.eps = eps;
    return push(l);
  }
  int relu(const std::string& name) { return push(make(name, Op::relu)); }
  int gelu(const std::string& name) { return push(make(name, Op::gelu)); }
  int max_pool(const std::string& name, int kernel, int stride) {
    Layer l = make(name, Op::max_pool);
    l.kernel = kernel;
    l.stride = stride;
    return push(l);
  }
  int global_avg_pool(const std::string& name) { return push(make(name, Op::global_avg_pool)); }
  int flatten(const std::string& name) { return push(make(name, Op::flatten)); }
  int linear(const std::string& name, int out_features, bool bias) {
    Layer l = make(name, Op::linear);
    l.out_features = out_features;
    l.bias = bias;
    return push(l);
  }
  int add(const std::string& name, int a, int b) { return push(make(name, Op::add, {a, b})); }
  int subsample(const std::string& name, int stride, std::vector<int> inputs) {
    Layer l = make(name, Op::subsample, std::move(inputs));
    l.stride = stride;
    return push(l);
  }
  int pad_channels(const std::string& name, int out_channels) {
    Layer l = make(name, Op::pad_channels);
    l.out_channels = out_channels;
    return push(l);
  }
  int scale(const std::string& name, double factor) {
    Layer l = make(name, Op::scale);
    l.scale = factor;
    return push(l);
  }

  int num_classes() const { return spec_.num_classes; }
  int last() const { return static_cast<int>(spec_.layers.size()) - 1; }

  ModelSpec finish() {
    infer_shapes(spec_);
    return std::move(spec_);
  }

 private:
  static Layer make(const std::string& name, Op op, std::vector<int> inputs = {}) {
    Layer l;
    l.name = name;
    l.op = op;
    l.inputs = std::move(inputs);
    return l;
  }
  int push(const Layer& l) {
    spec_.layers.push_back(l);
    return last();
  }

  ModelSpec spec_;
};

enum class Shortcut { zero_pad, projection };  // He et al.'s option A and option B

// conv3×3-BN-ReLU-conv3×3-BN, plus the shortcut, then add and ReLU (He et al. 2016, Fig. 2).
void basic_block(SpecBuilder& b, const std::string& prefix, int in_channels, int planes,
                 int stride, Shortcut shortcut) {
  const int block_input = b.last();
  b.conv(prefix + ".conv1", planes, 3, stride, 1, false);
  b.batch_norm(prefix + ".bn1");
  b.relu(prefix + ".relu1");
  b.conv(prefix + ".conv2", planes, 3, 1, 1, false);
  const int residual = b.batch_norm(prefix + ".bn2");
  int identity = block_input;
  if (stride != 1 || in_channels != planes) {
    if (shortcut == Shortcut::projection) {
      b.conv(prefix + ".shortcut.0", planes, 1, stride, 0, false, {block_input});
      identity = b.batch_norm(prefix + ".shortcut.1");
    } else {
      b.subsample(prefix + ".shortcut.subsample", stride, {block_input});
      identity = b.pad_channels(prefix + ".shortcut.pad", planes);
    }
  }
  b.add(prefix + ".add", residual, identity);
  b.relu(prefix + ".relu2");
}

// CIFAR ResNets: a 3×3 stem, stages of basic blocks, global average pool, one linear layer.
ModelSpec resnet(const std::string& name, const std::string& description, int num_classes,
                 int stem_width, const std::vector<int>& widths, const std::vector<int>& blocks,
                 Shortcut shortcut) {
  SpecBuilder b(name, description, num_classes);
  b.conv("conv1", stem_width, 3, 1, 1, false);
  b.batch_norm("bn1");
  b.relu("relu");
  int in_channels = stem_width;
  for (std::size_t stage = 0; stage < widths.size(); ++stage) {
    for (int block = 0; block < blocks[stage]; ++block) {
      const int stride = (stage > 0 && block == 0) ? 2 : 1;
      basic_block(b, fmt::format("layer{}.{}", stage + 1, block), in_channels, widths[stage],
                  stride, shortcut);
      in_channels = widths[stage];
    }
  }
  b.global_avg_pool("avgpool");
  b.flatten("flatten");
  b.linear("linear", num_classes, true);
  return b.finish();
}

// VGG with batch norm, CIFAR variant: conv3×3(bias)-BN-ReLU stacks, 2×2 max pools (0 in the
// configuration), and a single 512 → classes linear layer.
ModelSpec vgg(const std::string& name, const std::string& description, int num_classes,
              const std::vector<int>& config) {
  SpecBuilder b(name, description, num_classes);
  int index = 0;  // numbered like torchvision's `features` Sequential
  for (int width : config) {
    if (width == 0) {
      b.max_pool(fmt::format("features.{}", index++), 2, 2);
    } else {
      b.conv(fmt::format("features.{}", index++), width, 3, 1, 1, true);
      b.batch_norm(fmt::format("features.{}", index++));
      b.relu(fmt::format("features.{}", index++));
    }
  }
  b.flatten("flatten");
  b.linear("classifier", num_classes, true);
  return b.finish();
}

ModelSpec simple_cnn(const std::string& description, int num_classes) {
  SpecBuilder b("simple-cnn", description, num_classes);
  const std::array<int, 3> widths = {32, 64, 128};
  int n = 1;
  for (std::size_t stage = 0; stage < widths.size(); ++stage) {
    for (int i = 0; i < 2; ++i, ++n) {
      b.conv(fmt::format("conv{}", n), widths[stage], 3, 1, 1, false);
      b.batch_norm(fmt::format("bn{}", n));
      b.relu(fmt::format("relu{}", n));
    }
    b.max_pool(fmt::format("pool{}", stage + 1), 2, 2);
  }
  b.global_avg_pool("avgpool");
  b.flatten("flatten");
  b.linear("linear", num_classes, true);
  return b.finish();
}

// Keller Jordan's airbench94 (2024) architecture, without its data-dependent whitening init.
ModelSpec airbench94(const std::string& description, int num_classes) {
  constexpr double kMomentum = 0.4;  // airbench's batchnorm_momentum 0.6, in PyTorch's convention
  constexpr double kEps = 1e-12;
  SpecBuilder b("airbench94", description, num_classes);
  b.conv("whiten", 24, 2, 1, 0, true);
  b.gelu("whiten_act");
  const std::array<int, 3> widths = {64, 256, 256};
  for (std::size_t g = 0; g < widths.size(); ++g) {
    const std::string p = fmt::format("layer{}", g + 1);
    b.conv(p + ".conv1", widths[g], 3, 1, 1, false);
    b.max_pool(p + ".pool", 2, 2);
    b.batch_norm(p + ".norm1", kMomentum, kEps);
    b.gelu(p + ".act1");
    b.conv(p + ".conv2", widths[g], 3, 1, 1, false);
    b.batch_norm(p + ".norm2", kMomentum, kEps);
    b.gelu(p + ".act2");
  }
  b.max_pool("pool", 3, 3);
  b.flatten("flatten");
  b.linear("head", num_classes, false);
  b.scale("logit_scale", 1.0 / 9.0);
  return b.finish();
}

struct ZooEntry {
  const char* name;
  const char* description;
  std::function<ModelSpec(const std::string& description, int num_classes)> build;
};

const std::vector<ZooEntry>& zoo() {
  static const std::vector<ZooEntry> entries = {
      {"simple-cnn", "small VGG-style CNN (32-32-64-64-128-128, BN, ReLU), cheap on a CPU",
       simple_cnn},
      {"resnet20", "ResNet-20 for CIFAR (He et al. 2016), parameter-free option-A shortcuts",
       [](const std::string& d, int k) {
         return resnet("resnet20", d, k, 16, {16, 32, 64}, {3, 3, 3}, Shortcut::zero_pad);
       }},
      {"resnet20-b", "ResNet-20 for CIFAR with 1×1-conv + BN projection shortcuts (option B)",
       [](const std::string& d, int k) {
         return resnet("resnet20-b", d, k, 16, {16, 32, 64}, {3, 3, 3}, Shortcut::projection);
       }},
      {"resnet56", "ResNet-56 for CIFAR (He et al. 2016), parameter-free option-A shortcuts",
       [](const std::string& d, int k) {
         return resnet("resnet56", d, k, 16, {16, 32, 64}, {9, 9, 9}, Shortcut::zero_pad);
       }},
      {"resnet56-b", "ResNet-56 for CIFAR with 1×1-conv + BN projection shortcuts (option B)",
       [](const std::string& d, int k) {
         return resnet("resnet56-b", d, k, 16, {16, 32, 64}, {9, 9, 9}, Shortcut::projection);
       }},
      {"resnet18", "ResNet-18, CIFAR variant (3×3 stem, no stem pool, projection shortcuts)",
       [](const std::string& d, int k) {
         return resnet("resnet18", d, k, 64, {64, 128, 256, 512}, {2, 2, 2, 2},
                       Shortcut::projection);
       }},
      {"vgg11-bn", "VGG-11 with batch norm, CIFAR variant (one 512→classes linear layer)",
       [](const std::string& d, int k) {
         return vgg("vgg11-bn", d, k, {64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0});
       }},
      {"vgg16-bn", "VGG-16 with batch norm, CIFAR variant (one 512→classes linear layer)",
       [](const std::string& d, int k) {
         return vgg("vgg16-bn", d, k,
                    {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512,
                     0});
       }},
      {"airbench94", "airbench94-style fast net (Jordan 2024): 64/256/256, GELU, no whitening init",
       airbench94},
  };
  return entries;
}

const ZooEntry& find_entry(const std::string& name) {
  for (const auto& e : zoo()) {
    if (e.name == name) return e;
  }
  throw InputError(fmt::format("unknown model '{}': expected one of {} or a model file "
                               "(.toml or .json)",
                               name, fmt::join(zoo_names(), ", ")));
}

}  // namespace

std::vector<std::string> zoo_names() {
  std::vector<std::string> names;
  for (const auto& e : zoo()) names.emplace_back(e.name);
  return names;
}

bool is_zoo_model(const std::string& name) {
  for (const auto& e : zoo()) {
    if (e.name == name) return true;
  }
  return false;
}

std::string zoo_description(const std::string& name) { return find_entry(name).description; }

ModelSpec build_zoo_model(const std::string& name, int num_classes) {
  const ZooEntry& e = find_entry(name);
  if (num_classes < 1) {
    throw InputError(fmt::format("model '{}': the class count must be at least 1, got {}", name,
                                 num_classes));
  }
  return e.build(e.description, num_classes);
}

}  // namespace cb::model
