#include "runtime/model/zoo_two_tower.h"

#include <cmath>
#include <cstdio>

#include "runtime/core/atomic_file.h"
#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/model/torchscript_two_tower.h"
#include "runtime/model/zoo_model.h"

namespace perturb {
namespace nn = torch::nn;
namespace {

constexpr const char* kTwoTowerKindKey = "perturb_kind";
constexpr const char* kTwoTowerKind = "two_tower";

// The projections and the logit scale: the parameters the two towers share a space through.
class TwoTowerHeadImpl : public nn::Module {
 public:
  TwoTowerHeadImpl(int64_t image_features, int64_t text_features, int64_t dim,
                   double initial_scale) {
    image_projection = register_module("image_projection", nn::Linear(image_features, dim));
    text_projection = register_module("text_projection", nn::Linear(text_features, dim));
    logit_scale = register_parameter("logit_scale", torch::tensor(initial_scale, torch::kFloat32));
  }
  nn::Linear image_projection{nullptr};
  nn::Linear text_projection{nullptr};
  torch::Tensor logit_scale;
};
TORCH_MODULE(TwoTowerHead);

std::string format_double(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

class ZooTwoTower : public TwoTower {
 public:
  ZooTwoTower(ModelPtr image, TextEncoderPtr text, const TwoTowerOptions& options,
              int64_t image_features, uint64_t seed)
      : image_(std::move(image)), text_(std::move(text)), options_(options) {
    SeededConstruction seeded(seed);
    head_ = TwoTowerHead(image_features, text_->options().dim, options.dim,
                         std::log(1.0 / options.temperature));
    to(image_->device());
  }

  torch::Tensor encode_image(const torch::Tensor& images) override {
    torch::Tensor features = image_->forward(images.to(device_, torch::kFloat32));
    return head_->image_projection->forward(features.flatten(1));
  }

  torch::Tensor encode_text(const std::vector<std::string>& texts) override {
    return head_->text_projection->forward(text_->encode(texts));
  }

  // Clamped where it is used: above log 100 it stops growing (and gets no gradient there).
  torch::Tensor logit_scale() override { return head_->logit_scale.clamp_max(kMaxLogitScale); }

  TokenizerPtr tokenizer() const override { return text_->tokenizer(); }

  std::vector<torch::Tensor> parameters() override {
    std::vector<torch::Tensor> out = image_parameters();
    for (const auto& p : text_->parameters()) out.push_back(p);
    for (const auto& p : head_->text_projection->parameters()) out.push_back(p);
    out.push_back(head_->logit_scale);
    return out;
  }

  std::vector<torch::Tensor> image_parameters() override {
    std::vector<torch::Tensor> out = image_->parameters();
    for (const auto& p : head_->image_projection->parameters()) out.push_back(p);
    return out;
  }

  void set_training(bool training) override {
    image_->set_training(training);
    text_->net()->train(training);
    head_->train(training);
  }
  bool training() const override { return head_->is_training(); }

  void to(torch::Device device) override {
    image_->to(device);
    text_->to(device);
    head_->to(device);
    device_ = device;
  }
  torch::Device device() const override { return device_; }

  std::string describe() const override {
    return "two_tower(image: " + image_->describe() + ", text: " + text_->describe() +
           ", dim: " + std::to_string(options_.dim) +
           ", temperature: " + format_double(std::exp(-current_logit_scale())) + ")";
  }

  void save(const std::string& path) const override {
    auto* zoo = dynamic_cast<ZooModel*>(image_.get());
    if (!zoo) {
      throw Error("this two-tower's image tower is " + image_->describe() +
                  "; only zoo image towers are saved in Perturb's format");
    }
    torch::serialize::OutputArchive archive;
    archive.write(kPerturbFormatKey, c10::IValue(kPerturbFormatVersion));
    archive.write(kTwoTowerKindKey, c10::IValue(std::string(kTwoTowerKind)));
    archive.write("dim", c10::IValue(options_.dim));
    archive.write("temperature", c10::IValue(options_.temperature));
    archive.write("channels", c10::IValue(options_.channels));
    archive.write("height", c10::IValue(options_.height));
    archive.write("width", c10::IValue(options_.width));
    archive.write("tokenizer", c10::IValue(text_->tokenizer()->serialize()));
    const ZooOptions& o = zoo->options();
    archive.write("image_architecture", c10::IValue(zoo->architecture()));
    archive.write("image_classes", c10::IValue(o.classes));
    archive.write("image_channels", c10::IValue(o.channels));
    archive.write("image_height", c10::IValue(o.height));
    archive.write("image_width", c10::IValue(o.width));
    archive.write("image_depth", c10::IValue(o.depth));
    archive.write("image_widen", c10::IValue(o.widen));
    torch::serialize::OutputArchive image_weights, text_archive, head_weights;
    zoo->layers()->save(image_weights);
    archive.write("image", image_weights);
    text_->save(text_archive);
    archive.write("text", text_archive);
    head_->save(head_weights);
    archive.write("head", head_weights);
    save_archive_atomic(archive, path);
  }

  TwoTowerHead head() const { return head_; }

 private:
  double current_logit_scale() const {
    return std::min(head_->logit_scale.detach().cpu().item<double>(), kMaxLogitScale);
  }

  ModelPtr image_;
  TextEncoderPtr text_;
  TwoTowerOptions options_;
  TwoTowerHead head_{nullptr};
  torch::Device device_ = torch::kCPU;
};

// The size of the image model's output for one input of the options' size.
int64_t image_feature_count(Model& image, const TwoTowerOptions& o) {
  torch::NoGradGuard no_grad;
  ModeGuard eval(image, /*training=*/false);
  const torch::Tensor probe = torch::zeros({1, o.channels, o.height, o.width}).to(image.device());
  return image.forward(probe).numel();
}

}  // namespace

ModelPtr make_default_image_tower(int64_t channels, int64_t height, int64_t width, uint64_t seed) {
  ZooOptions options;
  options.classes = 128;
  options.channels = channels;
  options.height = height;
  options.width = width;
  return make_zoo_model("small_cnn", options, seed);
}

TwoTowerPtr make_two_tower(ModelPtr image, TextEncoderPtr text, const TwoTowerOptions& options,
                           uint64_t seed) {
  if (!image) throw Error("a two-tower model needs an image model");
  if (!text) throw Error("a two-tower model needs a text encoder");
  if (options.dim < 1) throw Error("dim must be at least 1, got " + std::to_string(options.dim));
  if (!(options.temperature > 0)) {
    throw Error("temperature must be positive, got " + format_double(options.temperature));
  }
  const int64_t features = image_feature_count(*image, options);
  return std::make_shared<ZooTwoTower>(std::move(image), std::move(text), options, features, seed);
}

TwoTowerPtr load_saved_two_tower(const std::string& path, torch::Device device) {
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path, torch::kCPU);
  } catch (const std::exception&) {
    return nullptr;
  }
  c10::IValue kind;
  if (!archive.try_read(kTwoTowerKindKey, kind) || !kind.isString() ||
      kind.toStringRef() != kTwoTowerKind) {
    return nullptr;
  }
  auto damaged = [&](const std::string& what) {
    return Error("'" + path + "' is a damaged two-tower model: " + what + " is missing");
  };
  auto read = [&](const char* key) {
    c10::IValue value;
    if (!archive.try_read(key, value)) throw damaged("'" + std::string(key) + "'");
    return value;
  };
  auto read_int = [&](const char* key) {
    c10::IValue value = read(key);
    if (!value.isInt()) throw damaged("'" + std::string(key) + "'");
    return value.toInt();
  };
  TwoTowerOptions options;
  options.dim = read_int("dim");
  const c10::IValue temperature = read("temperature");
  if (!temperature.isDouble()) throw damaged("'temperature'");
  options.temperature = temperature.toDouble();
  options.channels = read_int("channels");
  options.height = read_int("height");
  options.width = read_int("width");
  const c10::IValue tokenizer_text = read("tokenizer");
  const c10::IValue architecture = read("image_architecture");
  if (!tokenizer_text.isString()) throw damaged("the tokenizer");
  if (!architecture.isString()) throw damaged("'image_architecture'");
  ZooOptions zoo;
  zoo.classes = read_int("image_classes");
  zoo.channels = read_int("image_channels");
  zoo.height = read_int("image_height");
  zoo.width = read_int("image_width");
  zoo.depth = read_int("image_depth");
  zoo.widen = read_int("image_widen");
  ModelPtr image = make_zoo_model(architecture.toStringRef(), zoo);
  torch::serialize::InputArchive image_weights, text_archive, head_weights;
  if (!archive.try_read("image", image_weights)) throw damaged("the image tower's weights");
  static_cast<ZooModel&>(*image).layers()->load(image_weights);
  if (!archive.try_read("text", text_archive)) throw damaged("the text encoder");
  TextEncoderPtr text =
      TextEncoder::load(text_archive, deserialize_tokenizer(tokenizer_text.toStringRef()), path);
  const int64_t features = image_feature_count(*image, options);
  auto model = std::make_shared<ZooTwoTower>(image, text, options, features, /*seed=*/0);
  if (!archive.try_read("head", head_weights)) throw damaged("the projections");
  model->head()->load(head_weights);
  model->to(device);
  return model;
}

TwoTowerPtr load_two_tower_file(const std::string& path, torch::Device device) {
  if (TwoTowerPtr model = load_saved_two_tower(path, device)) return model;
  return load_saved_torchscript_two_tower(path, device);
}

}  // namespace perturb
