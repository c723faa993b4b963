// Residual architectures of the zoo: ResNet-18 (He et al. 2016, the CIFAR variant with a 3×3 stem
// and no max pooling) and Wide ResNet (Zagoruyko & Komodakis 2016, pre-activation blocks), the
// two networks robustness papers and RobustBench report on.
#pragma once

#include <torch/torch.h>

namespace perturb {

// ResNet's basic block without its final ReLU: bn(conv(relu(bn(conv(x))))) + shortcut(x). The
// ReLU after it is a layer of its own, so the stochastic-network wrapper can inject noise there.
class BasicBlockImpl : public torch::nn::Module {
 public:
  BasicBlockImpl(int64_t in, int64_t out, int64_t stride);
  torch::Tensor forward(torch::Tensor x);

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  torch::nn::Sequential shortcut_{nullptr};  // empty: identity
};
TORCH_MODULE(BasicBlock);

// Wide ResNet's pre-activation block: conv(relu(bn(conv(relu(bn(x)))))) + shortcut, where the
// shortcut is a 1×1 convolution of the activated input when the width or stride changes.
class WideBlockImpl : public torch::nn::Module {
 public:
  WideBlockImpl(int64_t in, int64_t out, int64_t stride);
  torch::Tensor forward(torch::Tensor x);

 private:
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::Conv2d shortcut_{nullptr};  // null: identity
};
TORCH_MODULE(WideBlock);

// ResNet-18: stem, four stages of two basic blocks (64, 128, 256, 512 channels), global average
// pooling, fc. The caller appends nothing: the returned network ends in the classifier.
torch::nn::Sequential make_resnet18(int64_t channels, int64_t classes);
// WRN-depth-widen: (depth − 4)/6 blocks in each of three stages of 16·widen, 32·widen, 64·widen
// channels. depth must be 6n + 4.
torch::nn::Sequential make_wide_resnet(int64_t channels, int64_t classes, int64_t depth,
                                       int64_t widen);

}  // namespace perturb
