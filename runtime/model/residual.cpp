#include "runtime/model/residual.h"

#include "runtime/core/error.h"

namespace perturb {
namespace nn = torch::nn;

namespace {

nn::Conv2d conv3x3(int64_t in, int64_t out, int64_t stride) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false));
}

}  // namespace

BasicBlockImpl::BasicBlockImpl(int64_t in, int64_t out, int64_t stride) {
  conv1_ = register_module("conv1", conv3x3(in, out, stride));
  bn1_ = register_module("bn1", nn::BatchNorm2d(out));
  conv2_ = register_module("conv2", conv3x3(out, out, 1));
  bn2_ = register_module("bn2", nn::BatchNorm2d(out));
  shortcut_ = register_module("shortcut", nn::Sequential());
  if (stride != 1 || in != out) {
    shortcut_->push_back(nn::Conv2d(nn::Conv2dOptions(in, out, 1).stride(stride).bias(false)));
    shortcut_->push_back(nn::BatchNorm2d(out));
  }
}

torch::Tensor BasicBlockImpl::forward(torch::Tensor x) {
  auto out = bn2_(conv2_(torch::relu(bn1_(conv1_(x)))));
  return out + (shortcut_->is_empty() ? x : shortcut_->forward(x));
}

WideBlockImpl::WideBlockImpl(int64_t in, int64_t out, int64_t stride) {
  bn1_ = register_module("bn1", nn::BatchNorm2d(in));
  conv1_ = register_module("conv1", conv3x3(in, out, stride));
  bn2_ = register_module("bn2", nn::BatchNorm2d(out));
  conv2_ = register_module("conv2", conv3x3(out, out, 1));
  if (stride != 1 || in != out) {
    shortcut_ = register_module(
        "shortcut", nn::Conv2d(nn::Conv2dOptions(in, out, 1).stride(stride).bias(false)));
  }
}

torch::Tensor WideBlockImpl::forward(torch::Tensor x) {
  auto activated = torch::relu(bn1_(x));
  auto out = conv2_(torch::relu(bn2_(conv1_(activated))));
  return out + (shortcut_ ? shortcut_(activated) : x);
}

nn::Sequential make_resnet18(int64_t channels, int64_t classes) {
  nn::Sequential net(conv3x3(channels, 64, 1), nn::BatchNorm2d(64), nn::ReLU());
  int64_t in = 64;
  for (int64_t width : {64, 128, 256, 512}) {
    for (int64_t block = 0; block < 2; ++block) {
      const int64_t stride = block == 0 && width != 64 ? 2 : 1;
      net->push_back(BasicBlock(in, width, stride));
      net->push_back(nn::ReLU());
      in = width;
    }
  }
  net->push_back(nn::AdaptiveAvgPool2d(1));
  net->push_back(nn::Flatten());
  net->push_back(nn::Linear(512, classes));
  return net;
}

nn::Sequential make_wide_resnet(int64_t channels, int64_t classes, int64_t depth, int64_t widen) {
  if (depth < 10 || (depth - 4) % 6 != 0) {
    throw Error("a Wide ResNet's depth must be 6n + 4 (10, 16, 22, 28, 34, 40, ...), got " +
                std::to_string(depth));
  }
  if (widen < 1) throw Error("widen must be at least 1, got " + std::to_string(widen));
  const int64_t blocks = (depth - 4) / 6;
  nn::Sequential net(conv3x3(channels, 16, 1));
  int64_t in = 16;
  const int64_t strides[] = {1, 2, 2};
  const int64_t widths[] = {16 * widen, 32 * widen, 64 * widen};
  for (int stage = 0; stage < 3; ++stage) {
    for (int64_t block = 0; block < blocks; ++block) {
      net->push_back(WideBlock(in, widths[stage], block == 0 ? strides[stage] : 1));
      in = widths[stage];
    }
  }
  net->push_back(nn::BatchNorm2d(in));
  net->push_back(nn::ReLU());
  net->push_back(nn::AdaptiveAvgPool2d(1));
  net->push_back(nn::Flatten());
  net->push_back(nn::Linear(in, classes));
  return net;
}

}  // namespace perturb
