// Denoiser architectures and model composition (see denoiser.h).

#include "runtime/model/denoiser.h"

#include <sstream>

#include "runtime/core/error.h"
#include "runtime/model/zoo_model.h"

namespace perturb {
namespace nn = torch::nn;
namespace {

nn::Sequential conv_bn_relu(int64_t in, int64_t out) {
  return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1).bias(false)),
                        nn::BatchNorm2d(out), nn::ReLU());
}

// DnCNN (Zhang et al. 2017): predicts the noise; the output is the input minus it.
struct DnCNNImpl : nn::Module {
  DnCNNImpl(int64_t channels, int64_t depth, int64_t width) {
    body = nn::Sequential(nn::Conv2d(nn::Conv2dOptions(channels, width, 3).padding(1)), nn::ReLU());
    for (int64_t i = 0; i < depth - 2; ++i) body->extend(*conv_bn_relu(width, width));
    body->push_back(nn::Conv2d(nn::Conv2dOptions(width, channels, 3).padding(1)));
    register_module("body", body);
  }
  torch::Tensor forward(const torch::Tensor& x) { return x - body->forward(x); }
  nn::Sequential body{nullptr};
};
TORCH_MODULE(DnCNN);

// RDUNet (thesis Figure 6.2): DConv = two conv3×3+BN+ReLU.
struct RDUNetImpl : nn::Module {
  RDUNetImpl(int64_t channels, int64_t levels, int64_t width) {
    int64_t w = width;
    down.push_back(register_module("down0", dconv(channels, w)));
    for (int64_t i = 1; i <= levels; ++i) {
      down.push_back(register_module("down" + std::to_string(i), dconv(w, 2 * w)));
      w *= 2;
    }
    for (int64_t i = levels; i >= 1; --i) {
      up.push_back(
          register_module("up" + std::to_string(i),
                          nn::ConvTranspose2d(nn::ConvTranspose2dOptions(w, w / 2, 2).stride(2))));
      fuse.push_back(register_module("fuse" + std::to_string(i), dconv(w, w / 2)));
      w /= 2;
    }
    out = register_module("out", nn::Conv2d(nn::Conv2dOptions(w, channels, 1)));
  }
  static nn::Sequential dconv(int64_t in, int64_t out) {
    nn::Sequential s = conv_bn_relu(in, out);
    s->extend(*conv_bn_relu(out, out));
    return s;
  }
  torch::Tensor forward(const torch::Tensor& x) {
    std::vector<torch::Tensor> lateral;
    torch::Tensor h = down[0]->forward(x);
    for (size_t i = 1; i < down.size(); ++i) {
      lateral.push_back(h);
      h = down[i]->forward(torch::max_pool2d(h, 2));
    }
    for (size_t i = 0; i < up.size(); ++i) {
      const torch::Tensor& side = lateral[lateral.size() - 1 - i];
      // Upsample the feedback input to the lateral input's size (odd sizes: output padding).
      std::vector<int64_t> size = {side.size(2), side.size(3)};
      h = up[i]->forward(h, at::IntArrayRef(size));
      h = fuse[i]->forward(torch::cat({h, side}, 1));
    }
    return x - out->forward(h);  // x̂ = x* + (−dx̂)
  }
  std::vector<nn::Sequential> down, fuse;
  std::vector<nn::ConvTranspose2d> up;
  nn::Conv2d out{nullptr};
};
TORCH_MODULE(RDUNet);

int64_t quarter(int64_t n) {
  return (n + 3) / 4;
}

struct AEEncoderImpl : nn::Module {
  AEEncoderImpl(const ZooOptions& o, int64_t code) {
    net = register_module(
        "net",
        nn::Sequential(nn::Conv2d(nn::Conv2dOptions(o.channels, 16, 3).stride(2).padding(1)),
                       nn::ReLU(), nn::Conv2d(nn::Conv2dOptions(16, 32, 3).stride(2).padding(1)),
                       nn::ReLU(), nn::Flatten(),
                       nn::Linear(32 * quarter(o.height) * quarter(o.width), code)));
  }
  torch::Tensor forward(const torch::Tensor& x) { return net->forward(x); }
  nn::Sequential net{nullptr};
};
TORCH_MODULE(AEEncoder);

struct AEDecoderImpl : nn::Module {
  AEDecoderImpl(const ZooOptions& o, int64_t code) : options(o) {
    fc = register_module("fc", nn::Linear(code, 32 * quarter(o.height) * quarter(o.width)));
    net = register_module(
        "net", nn::Sequential(
                   nn::ReLU(),
                   nn::ConvTranspose2d(nn::ConvTranspose2dOptions(32, 16, 4).stride(2).padding(1)),
                   nn::ReLU(),
                   nn::ConvTranspose2d(
                       nn::ConvTranspose2dOptions(16, o.channels, 4).stride(2).padding(1))));
  }
  torch::Tensor forward(const torch::Tensor& z) {
    torch::Tensor h =
        fc->forward(z).reshape({z.size(0), 32, quarter(options.height), quarter(options.width)});
    h = net->forward(h);
    if (h.size(2) != options.height || h.size(3) != options.width) {
      h = h.narrow(2, 0, options.height).narrow(3, 0, options.width);
    }
    return torch::sigmoid(h);
  }
  ZooOptions options;
  nn::Linear fc{nullptr};
  nn::Sequential net{nullptr};
};
TORCH_MODULE(AEDecoder);

const std::map<std::string, std::map<std::string, int64_t>>& defaults() {
  static const std::map<std::string, std::map<std::string, int64_t>> d = {
      {"dncnn", {{"depth", 17}, {"width", 64}}},
      {"rdunet", {{"levels", 4}, {"width", 16}}},
      {"autoencoder", {{"code", 64}}}};
  return d;
}

// "dncnn_depth5_width16" → ("dncnn", {depth: 5, width: 16} over the defaults).
std::pair<std::string, std::map<std::string, int64_t>> parse(const std::string& architecture) {
  std::string base = architecture.substr(0, architecture.find('_'));
  auto it = defaults().find(base);
  if (it == defaults().end()) throw Error("'" + architecture + "' is not a denoiser");
  std::map<std::string, int64_t> sizes = it->second;
  size_t pos = base.size();
  while (pos < architecture.size()) {
    size_t next = architecture.find('_', pos + 1);
    std::string part =
        architecture.substr(pos + 1, next == std::string::npos ? next : next - pos - 1);
    size_t digit = part.find_first_of("0123456789");
    std::string key = part.substr(0, digit);
    if (digit == std::string::npos || !sizes.count(key)) {
      throw Error("'" + architecture + "' is not a valid " + base + " architecture");
    }
    sizes[key] = std::stoll(part.substr(digit));
    pos = next == std::string::npos ? architecture.size() : next;
  }
  return {base, sizes};
}

}  // namespace

bool is_denoiser_architecture(const std::string& architecture) {
  return defaults().count(architecture.substr(0, architecture.find('_'))) > 0;
}

std::string denoiser_architecture(const std::string& base,
                                  const std::map<std::string, int64_t>& sizes) {
  auto it = defaults().find(base);
  if (it == defaults().end()) throw Error("'" + base + "' is not a denoiser");
  std::string name = base;
  for (const auto& [key, value] : sizes) {
    if (!it->second.count(key)) throw Error(base + " has no size '" + key + "'");
    if (value < 1) throw Error(base + " needs " + key + " >= 1, got " + std::to_string(value));
    if (value != it->second.at(key)) name += "_" + key + std::to_string(value);
  }
  return name;
}

nn::Sequential make_denoiser_net(const std::string& architecture, const ZooOptions& o) {
  auto [base, sizes] = parse(architecture);
  if (base == "dncnn") {
    if (sizes["depth"] < 2) throw Error("dncnn needs depth >= 2");
    return nn::Sequential(DnCNN(o.channels, sizes["depth"], sizes["width"]));
  }
  if (base == "rdunet") {
    const int64_t levels = sizes["levels"];
    if ((o.height >> levels) < 1 || (o.width >> levels) < 1) {
      throw Error("rdunet with " + std::to_string(levels) + " levels needs images of at least " +
                  std::to_string(1 << levels) + " pixels a side");
    }
    return nn::Sequential(RDUNet(o.channels, levels, sizes["width"]));
  }
  return nn::Sequential(AEEncoder(o, sizes["code"]), AEDecoder(o, sizes["code"]));
}

AutoencoderHalves autoencoder_halves(Model& model) {
  auto* zoo = dynamic_cast<ZooModel*>(&model);
  if (!zoo || zoo->architecture().rfind("autoencoder", 0) != 0) {
    throw Error("ZO-AE needs an autoencoder from zoo.autoencoder, got " + model.describe());
  }
  auto layers = zoo->layers();
  auto it = layers->begin();
  AutoencoderHalves halves;
  halves.encoder = *it;
  halves.decoder = *(++it);
  return halves;
}

ComposedModel::ComposedModel(ModelPtr first, ModelPtr second)
    : first_(std::move(first)), second_(std::move(second)) {}

torch::Tensor ComposedModel::forward(const torch::Tensor& x) {
  return second_->forward(first_->forward(x));
}

std::vector<torch::Tensor> ComposedModel::parameters() {
  std::vector<torch::Tensor> p = first_->parameters();
  for (auto& t : second_->parameters()) p.push_back(t);
  return p;
}

void ComposedModel::set_training(bool training) {
  first_->set_training(training);
  second_->set_training(training);
}

bool ComposedModel::training() const {
  return first_->training();
}

void ComposedModel::to(torch::Device device) {
  first_->to(device);
  second_->to(device);
}

torch::Device ComposedModel::device() const {
  return first_->device();
}

std::string ComposedModel::describe() const {
  return first_->describe() + " >> " + second_->describe();
}

void ComposedModel::save(const std::string&) const {
  throw Error("a composed model (" + describe() + ") cannot be saved as one file; save its parts");
}

}  // namespace perturb
