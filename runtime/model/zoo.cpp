#include "runtime/model/zoo.h"

#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/model/denoiser.h"
#include "runtime/model/residual.h"
#include "runtime/model/zoo_model.h"

namespace perturb {
namespace nn = torch::nn;

namespace {

// How many features the convolutional part produces for one input, found by running it once
// rather than by hand-written size arithmetic that would break for other image sizes.
int64_t feature_count(nn::Sequential& features, const std::string& architecture,
                      const ZooOptions& o) {
  torch::NoGradGuard no_grad;
  try {
    return features->forward(torch::zeros({1, o.channels, o.height, o.width})).numel();
  } catch (const c10::Error&) {
    throw Error(architecture + " cannot take " + std::to_string(o.height) + "×" +
                std::to_string(o.width) + " images: they are too small for its layers");
  }
}

nn::Sequential make_mlp(const ZooOptions& o) {
  return nn::Sequential(nn::Flatten(), nn::Linear(o.channels * o.height * o.width, 256), nn::ReLU(),
                        nn::Linear(256, 256), nn::ReLU(), nn::Linear(256, o.classes));
}

// The usual Fashion-MNIST small CNN: two conv blocks (32, 64 channels), then fc 128.
nn::Sequential make_small_cnn(const ZooOptions& o) {
  nn::Sequential features(
      nn::Conv2d(nn::Conv2dOptions(o.channels, 32, /*kernel_size=*/3).padding(1)), nn::ReLU(),
      nn::MaxPool2d(2), nn::Conv2d(nn::Conv2dOptions(32, 64, /*kernel_size=*/3).padding(1)),
      nn::ReLU(), nn::MaxPool2d(2), nn::Flatten());
  const int64_t n = feature_count(features, "small_cnn", o);
  features->extend(*nn::Sequential(nn::Linear(n, 128), nn::ReLU(), nn::Linear(128, o.classes)));
  return features;
}

// The four-convolution MNIST network of Carlini & Wagner (2017, table 1), which TRADES (Zhang et
// al. 2019) and its followers adversarially train on MNIST: conv 32-32, pool, conv 64-64, pool,
// fc 200-200. About 2.4 times small_cnn's multiply-adds; the capacity adversarial training needs
// to keep clean accuracy (Madry et al. 2018, §4 on capacity). Unlike C&W, no dropout.
nn::Sequential make_cnn4(const ZooOptions& o) {
  nn::Sequential features(nn::Conv2d(nn::Conv2dOptions(o.channels, 32, /*kernel_size=*/3)),
                          nn::ReLU(), nn::Conv2d(nn::Conv2dOptions(32, 32, /*kernel_size=*/3)),
                          nn::ReLU(), nn::MaxPool2d(2),
                          nn::Conv2d(nn::Conv2dOptions(32, 64, /*kernel_size=*/3)), nn::ReLU(),
                          nn::Conv2d(nn::Conv2dOptions(64, 64, /*kernel_size=*/3)), nn::ReLU(),
                          nn::MaxPool2d(2), nn::Flatten());
  const int64_t n = feature_count(features, "cnn4", o);
  features->extend(*nn::Sequential(nn::Linear(n, 200), nn::ReLU(), nn::Linear(200, 200), nn::ReLU(),
                                   nn::Linear(200, o.classes)));
  return features;
}

// LeNet-5 (LeCun et al. 1998) with ReLU and max pooling.
nn::Sequential make_lenet(const ZooOptions& o) {
  nn::Sequential features(
      nn::Conv2d(nn::Conv2dOptions(o.channels, 6, /*kernel_size=*/5).padding(2)), nn::ReLU(),
      nn::MaxPool2d(2), nn::Conv2d(nn::Conv2dOptions(6, 16, /*kernel_size=*/5)), nn::ReLU(),
      nn::MaxPool2d(2), nn::Flatten());
  const int64_t n = feature_count(features, "lenet", o);
  features->extend(*nn::Sequential(nn::Linear(n, 120), nn::ReLU(), nn::Linear(120, 84), nn::ReLU(),
                                   nn::Linear(84, o.classes)));
  return features;
}

void check_options(const ZooOptions& o) {
  if (o.classes < 1) throw Error("classes must be at least 1, got " + std::to_string(o.classes));
  if (o.channels < 1) {
    throw Error("channels must be at least 1, got " + std::to_string(o.channels));
  }
  if (o.height < 1 || o.width < 1) {
    throw Error("image size must be positive, got " + std::to_string(o.height) + "×" +
                std::to_string(o.width));
  }
}

}  // namespace

std::vector<std::string> zoo_architectures() {
  return {"mlp", "small_cnn", "cnn4", "lenet", "resnet18", "wrn"};
}

std::string zoo_layers(const std::string& architecture) {
  if (architecture == "mlp") return "fc 256-256";
  if (architecture == "small_cnn") return "conv 32-64 (3×3, padded), each pooled; fc 128";
  if (architecture == "cnn4") {
    return "conv 32-32, pool, conv 64-64, pool (3×3); fc 200-200 (Carlini & Wagner's MNIST net)";
  }
  if (architecture == "lenet") return "LeNet-5: conv 6-16 (5×5), each pooled; fc 120-84";
  if (architecture == "resnet18") {
    return "ResNet-18, CIFAR variant: 3×3 stem, 4 stages of 2 basic blocks (64-512), batch norm";
  }
  if (architecture == "wrn") {
    return "Wide ResNet WRN-depth-widen, pre-activation, batch norm; default WRN-28-10";
  }
  return "";
}

ModelPtr make_zoo_model(const std::string& architecture, const ZooOptions& options, uint64_t seed) {
  check_options(options);
  SeededConstruction seeded(seed);
  nn::Sequential net;
  if (architecture == "mlp") {
    net = make_mlp(options);
  } else if (architecture == "small_cnn") {
    net = make_small_cnn(options);
  } else if (architecture == "cnn4") {
    net = make_cnn4(options);
  } else if (architecture == "lenet") {
    net = make_lenet(options);
  } else if (architecture == "resnet18") {
    net = make_resnet18(options.channels, options.classes);
  } else if (architecture == "wrn") {
    net = make_wide_resnet(options.channels, options.classes, options.depth ? options.depth : 28,
                           options.widen ? options.widen : 10);
  } else if (is_denoiser_architecture(architecture)) {  // dncnn, rdunet, autoencoder
    net = make_denoiser_net(architecture, options);
  } else {
    std::string known;
    for (const auto& name : zoo_architectures()) known += (known.empty() ? "" : ", ") + name;
    throw Error("unknown architecture '" + architecture + "'; the zoo has " + known);
  }
  return std::make_shared<ZooModel>(architecture, options, net);
}

}  // namespace perturb
