// The two-branch visible–infrared re-ID network (zoo_reid.h).
#include "runtime/model/zoo_reid.h"

#include "runtime/core/atomic_file.h"
#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/model/zoo_model.h"
#include "runtime/report/format.h"

namespace perturb {
namespace nn = torch::nn;
namespace {

// The stem's channels; the trunk doubles them twice (16-32-64: a quarter of the multiply-adds
// of 32-64-128, which trained no better on the stand-in in the time the tests allow).
constexpr int64_t kStem = 16;

nn::Sequential conv_block(int64_t in, int64_t out, bool pool) {
  nn::Sequential block(nn::Conv2d(nn::Conv2dOptions(in, out, /*kernel_size=*/3).padding(1)),
                       nn::BatchNorm2d(out), nn::ReLU());
  if (pool) block->push_back(nn::MaxPool2d(2));
  return block;
}

void check_reid_options(const ReidOptions& o) {
  auto positive = [](const char* name, int64_t value) {
    if (value < 1) {
      throw Error(std::string(kReidArchitecture) + "'s " + name + " must be at least 1, got " +
                  std::to_string(value));
    }
  };
  positive("classes", o.classes);
  positive("channels", o.channels);
  positive("embedding", o.embedding);
  // Two 2×2 poolings must leave at least one pixel.
  if (o.size < 4) {
    throw Error(std::string(kReidArchitecture) + " needs images of at least 4×4, got size " +
                std::to_string(o.size));
  }
}

}  // namespace

const std::vector<std::string>& reid_modalities() {
  static const std::vector<std::string> names = {"visible", "infrared"};
  return names;
}

ReidNetImpl::ReidNetImpl(const ReidOptions& o) : shared_stem(o.shared_stem) {
  stem_visible = register_module("stem_visible", conv_block(o.channels, kStem, /*pool=*/true));
  if (!o.shared_stem) {
    stem_infrared = register_module("stem_infrared", conv_block(o.channels, kStem, /*pool=*/true));
  }
  nn::Sequential trunk_layers = conv_block(kStem, 2 * kStem, /*pool=*/true);
  trunk_layers->extend(*conv_block(2 * kStem, 4 * kStem, /*pool=*/false));
  // Pooled to 4×4, not globally: the garments' (and people's) layout is what tells them apart.
  trunk_layers->push_back(nn::AdaptiveAvgPool2d(4));
  trunk_layers->push_back(nn::Flatten());
  trunk_layers->push_back(nn::Linear(4 * kStem * 16, o.embedding));
  // AGW's BN-neck: the normalised feature is what retrieval compares.
  trunk_layers->push_back(nn::BatchNorm1d(o.embedding));
  trunk = register_module("trunk", trunk_layers);
  head = register_module("head", nn::Linear(o.embedding, o.classes));
}

std::pair<torch::Tensor, torch::Tensor> ReidNetImpl::forward_pair(const torch::Tensor& visible,
                                                                  const torch::Tensor& infrared) {
  // One trunk pass over both stems' outputs, so that its batch norm sees the two modalities
  // together, as its running statistics will at test time (AGW batches them the same way).
  const auto v = stem_visible->forward(visible);
  const auto i = (shared_stem ? stem_visible : stem_infrared)->forward(infrared);
  const auto embedding = trunk->forward(torch::cat({v, i}));
  return {embedding, head->forward(embedding)};
}

std::pair<torch::Tensor, torch::Tensor> ReidNetImpl::forward(const torch::Tensor& x,
                                                             const std::string& modality) {
  auto& stem = (modality == "infrared" && !shared_stem) ? stem_infrared : stem_visible;
  auto embedding = trunk->forward(stem->forward(x));
  return {embedding, head->forward(embedding)};
}

ReidModel::ReidModel(ReidOptions options, ReidNet net, std::string modality, bool embedding_output)
    : options_(options),
      net_(std::move(net)),
      modality_(std::move(modality)),
      embedding_output_(embedding_output) {}

std::pair<torch::Tensor, torch::Tensor> ReidModel::forward_both(const torch::Tensor& x) {
  const auto& o = options_;
  if (x.dim() != 4 || x.size(1) != o.channels || x.size(2) != o.size || x.size(3) != o.size) {
    throw Error("model " + describe() + " expects inputs of shape N×" + std::to_string(o.channels) +
                "×" + std::to_string(o.size) + "×" + std::to_string(o.size) + ", got " +
                format_shape(x.sizes().vec()));
  }
  return net_->forward(x.to(device_, torch::kFloat32), modality_);
}

std::pair<torch::Tensor, torch::Tensor> ReidModel::forward_pair(const torch::Tensor& visible,
                                                                const torch::Tensor& infrared) {
  const auto& o = options_;
  for (const auto* x : {&visible, &infrared}) {
    if (x->dim() != 4 || x->size(1) != o.channels || x->size(2) != o.size || x->size(3) != o.size) {
      throw Error("model " + describe() + " expects inputs of shape N×" +
                  std::to_string(o.channels) + "×" + std::to_string(o.size) + "×" +
                  std::to_string(o.size) + ", got " + format_shape(x->sizes().vec()));
    }
  }
  return net_->forward_pair(visible.to(device_, torch::kFloat32),
                            infrared.to(device_, torch::kFloat32));
}

torch::Tensor ReidModel::forward(const torch::Tensor& x) {
  auto [embedding, logits] = forward_both(x);
  return embedding_output_ ? embedding : logits;
}

void ReidModel::to(torch::Device device) {
  net_->to(device);
  device_ = device;
}

std::string ReidModel::describe() const {
  std::string text =
      std::string(kReidArchitecture) + "(classes: " + std::to_string(options_.classes) +
      ", channels: " + std::to_string(options_.channels) +
      ", size: " + std::to_string(options_.size) +
      ", embedding: " + std::to_string(options_.embedding) +
      (options_.shared_stem ? ", shared_stem: true" : "") + ").branch(\"" + modality_ + "\")";
  return embedding_output_ ? "features(" + text + ")" : text;
}

std::shared_ptr<ReidModel> ReidModel::branch(const std::string& modality) const {
  const auto& names = reid_modalities();
  if (std::find(names.begin(), names.end(), modality) == names.end()) {
    throw Error("a re-ID network has the branches \"visible\" and \"infrared\", got \"" + modality +
                "\"");
  }
  auto view = std::make_shared<ReidModel>(options_, net_, modality, embedding_output_);
  view->device_ = device_;
  return view;
}

std::shared_ptr<ReidModel> ReidModel::features() const {
  auto view = std::make_shared<ReidModel>(options_, net_, modality_, /*embedding_output=*/true);
  view->device_ = device_;
  return view;
}

void ReidModel::save(const std::string& path) const {
  torch::serialize::OutputArchive archive;
  archive.write(kPerturbFormatKey, c10::IValue(kPerturbFormatVersion));
  archive.write("architecture", c10::IValue(std::string(kReidArchitecture)));
  archive.write("classes", c10::IValue(options_.classes));
  archive.write("channels", c10::IValue(options_.channels));
  archive.write("size", c10::IValue(options_.size));
  archive.write("embedding", c10::IValue(options_.embedding));
  archive.write("shared_stem", c10::IValue(options_.shared_stem));
  archive.write("modality", c10::IValue(modality_));
  archive.write("embedding_output", c10::IValue(embedding_output_));
  net_->save(archive);
  save_archive_atomic(archive, path);
}

ModelPtr ReidModel::load(torch::serialize::InputArchive& archive, const std::string& path,
                         torch::Device device) {
  auto read = [&](const char* key) {
    c10::IValue value;
    if (!archive.try_read(key, value)) {
      throw Error("'" + path + "' is a damaged Perturb model: '" + key + "' is missing");
    }
    return value;
  };
  ReidOptions options;
  options.classes = read("classes").toInt();
  options.channels = read("channels").toInt();
  options.size = read("size").toInt();
  options.embedding = read("embedding").toInt();
  options.shared_stem = read("shared_stem").toBool();
  auto model = make_reid_model(options, 0);
  model->net_->load(archive);
  model->modality_ = read("modality").toStringRef();
  model->embedding_output_ = read("embedding_output").toBool();
  model->to(device);
  return model;
}

std::shared_ptr<ReidModel> make_reid_model(const ReidOptions& options, uint64_t seed) {
  check_reid_options(options);
  SeededConstruction seeded(seed);
  return std::make_shared<ReidModel>(options, ReidNet(options), "visible",
                                     /*embedding_output=*/false);
}

ModelPtr model_branch(const ModelPtr& model, const std::string& modality) {
  if (auto reid = std::dynamic_pointer_cast<ReidModel>(model)) return reid->branch(modality);
  const auto& names = reid_modalities();
  if (std::find(names.begin(), names.end(), modality) == names.end()) {
    throw Error("the modalities are \"visible\" and \"infrared\", got \"" + modality + "\"");
  }
  return model;
}

ModelPtr branch_embedding(const ModelPtr& model, const std::string& modality) {
  auto branch = model_branch(model, modality);
  if (auto reid = std::dynamic_pointer_cast<ReidModel>(branch)) return reid->features();
  return branch;
}

}  // namespace perturb
