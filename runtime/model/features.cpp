// Feature models: a network with its classifier head cut (features.h).
#include "runtime/model/features.h"

#include "runtime/core/error.h"
#include "runtime/model/torchscript_model.h"
#include "runtime/model/zoo_model.h"
#include "runtime/model/zoo_reid.h"

namespace perturb {
namespace {

// The behaviour every feature model shares: the backbone's parameters, mode and device.
class FeatureModelBase : public Model {
 public:
  explicit FeatureModelBase(ModelPtr backbone) : backbone_(std::move(backbone)) {}
  std::vector<torch::Tensor> parameters() override { return backbone_->parameters(); }
  void set_training(bool training) override { backbone_->set_training(training); }
  bool training() const override { return backbone_->training(); }
  void to(torch::Device device) override { backbone_->to(device); }
  torch::Device device() const override { return backbone_->device(); }
  std::string describe() const override { return "features(" + backbone_->describe() + ")"; }
  void save(const std::string&) const override {
    throw Error(describe() + " shares its weights with " + backbone_->describe() +
                "; save that model and take features() of it after loading");
  }

 protected:
  ModelPtr backbone_;
};

// A zoo network run up to (not including) its last Linear layer.
class ZooFeatures : public FeatureModelBase {
 public:
  ZooFeatures(std::shared_ptr<ZooModel> zoo, size_t cut)
      : FeatureModelBase(zoo), zoo_(std::move(zoo)), cut_(cut) {}

  torch::Tensor forward(const torch::Tensor& x) override {
    check_zoo_input(zoo_->options(), x, describe());
    auto layers = zoo_->layers();
    auto h = x.to(zoo_->device(), torch::kFloat32);
    size_t i = 0;
    for (auto& layer : *layers) {
      if (i++ == cut_) break;
      h = layer.forward(h);
    }
    return h;
  }

 private:
  std::shared_ptr<ZooModel> zoo_;
  size_t cut_;
};

// A TorchScript module's embedding method.
class ScriptFeatures : public FeatureModelBase {
 public:
  ScriptFeatures(std::shared_ptr<TorchScriptModel> script, std::string method)
      : FeatureModelBase(script), script_(std::move(script)), method_(std::move(method)) {}

  torch::Tensor forward(const torch::Tensor& x) override {
    torch::jit::Module module = script_->module();  // a handle: shares the weights
    const auto input = x.to(script_->device(), torch::kFloat32);
    try {
      auto out = module.get_method(method_)({input});
      if (!out.isTensor()) throw Error(describe() + "'s " + method_ + "() did not return a tensor");
      return out.toTensor();
    } catch (const c10::Error& e) {
      throw Error(explain_forward_error(e.what_without_backtrace(), x.sizes().vec()));
    }
  }

 private:
  std::shared_ptr<TorchScriptModel> script_;
  std::string method_;
};

}  // namespace

ModelPtr make_feature_model(ModelPtr model) {
  if (auto reid = std::dynamic_pointer_cast<ReidModel>(model)) return reid->features();
  if (auto zoo = std::dynamic_pointer_cast<ZooModel>(model)) {
    auto layers = zoo->layers();
    size_t last_linear = layers->size();
    for (size_t i = 0; i < layers->size(); ++i) {
      if (std::dynamic_pointer_cast<torch::nn::LinearImpl>(layers->ptr(i))) last_linear = i;
    }
    if (last_linear == layers->size() || last_linear == 0) {
      throw Error("model " + zoo->describe() +
                  " has no classifier head (a final Linear layer after other layers) to cut");
    }
    return std::make_shared<ZooFeatures>(zoo, last_linear);
  }
  if (auto script = std::dynamic_pointer_cast<TorchScriptModel>(model)) {
    for (const char* method : {"features", "embed", "forward_features"}) {
      if (script->module().find_method(method)) {
        return std::make_shared<ScriptFeatures>(script, method);
      }
    }
    throw Error("model " + script->describe() +
                " has no features(), embed() or forward_features() method to take embeddings "
                "from; export one with @torch.jit.export, or use the model itself when its output "
                "is the embedding");
  }
  throw Error(
      "features() cuts the classifier head off a zoo model or calls a TorchScript "
      "module's features()/embed(); " +
      model->describe() + " is neither — use its output as the embedding");
}

}  // namespace perturb
