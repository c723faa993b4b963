#include "runtime/model/torchscript_two_tower.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>

#include <torch/script.h>

#include "runtime/core/atomic_file.h"
#include "runtime/core/error.h"
#include "runtime/model/torchscript_model.h"
#include "runtime/model/zoo_two_tower.h"

namespace perturb {
namespace {

constexpr const char* kTokenizerFile = "perturb_tokenizer";

void check_readable(const std::string& path) {
  if (std::filesystem::is_directory(path)) {
    throw IoError("cannot open '" + path + "': Is a directory");
  }
  if (!std::ifstream(path, std::ios::binary)) throw IoError("cannot open '" + path + "'");
}

torch::jit::Module load_module(const std::string& path, torch::Device device,
                               torch::jit::ExtraFilesMap* extra = nullptr) {
  check_readable(path);
  try {
    torch::jit::ExtraFilesMap none;
    return torch::jit::load(path, device, extra ? *extra : none);
  } catch (const std::exception&) {
    throw Error("'" + path + "' is not a TorchScript module (export it with torch.jit.script)");
  }
}

torch::Tensor as_embedding(const c10::IValue& out, const std::string& path, const char* method) {
  if (out.isTensor()) return out.toTensor();
  throw Error("the TorchScript module '" + path + "' returned a " + out.tagKind() + " from " +
              method + ", expected a tensor of embeddings");
}

// Runs a method of a TorchScript module, with its errors in the user's terms.
torch::Tensor run_method(torch::jit::Module& module, const std::string& method,
                         std::vector<c10::IValue> inputs, const std::vector<int64_t>& shape,
                         const std::string& path) {
  c10::IValue out;
  try {
    out = module.get_method(method)(std::move(inputs));
  } catch (const c10::Error& e) {
    throw Error(path + ": " + method + ": " +
                explain_forward_error(e.what_without_backtrace(), shape));
  } catch (const std::exception& e) {
    throw Error(path + ": " + method + ": " + explain_forward_error(e.what(), shape));
  }
  return as_embedding(out, path, method.c_str());
}

std::optional<torch::Tensor> logit_scale_of(const torch::jit::Module& module) {
  if (!module.hasattr("logit_scale")) return std::nullopt;
  const c10::IValue value = module.attr("logit_scale");
  if (!value.isTensor()) return std::nullopt;
  return value.toTensor();
}

class TorchScriptTwoTower : public TwoTower {
 public:
  // One module with encode_image/encode_text/logit_scale.
  TorchScriptTwoTower(torch::jit::Module module, std::string path, TokenizerPtr tokenizer,
                      torch::Device device)
      : image_(std::move(module)), path_(std::move(path)), tokenizer_(std::move(tokenizer)) {
    for (const char* method : {"encode_image", "encode_text"}) {
      if (!image_.find_method(method)) {
        throw Error("the TorchScript module '" + path_ + "' has no method " + method +
                    "; a two-tower module needs encode_image(x) and encode_text(ids, mask)");
      }
    }
    auto scale = logit_scale_of(image_);
    if (!scale) {
      throw Error("the TorchScript module '" + path_ +
                  "' has no tensor attribute logit_scale (log(1/temperature), as CLIP's)");
    }
    to(device);
  }

  // Two modules: forward(x) and forward(ids, mask).
  TorchScriptTwoTower(torch::jit::Module image, torch::jit::Module text, std::string image_path,
                      std::string text_path, TokenizerPtr tokenizer, torch::Device device)
      : image_(std::move(image)),
        text_(std::move(text)),
        path_(std::move(image_path)),
        text_path_(std::move(text_path)),
        tokenizer_(std::move(tokenizer)) {
    if (!image_.find_method("forward")) {
      throw Error("the TorchScript module '" + path_ + "' has no forward(x)");
    }
    if (!text_->find_method("forward")) {
      throw Error("the TorchScript module '" + text_path_ + "' has no forward(ids, mask)");
    }
    if (!logit_scale_of(image_) && !logit_scale_of(*text_)) {
      own_scale_ = torch::tensor(std::log(1 / 0.07), torch::kFloat32).requires_grad_(true);
    }
    to(device);
  }

  torch::Tensor encode_image(const torch::Tensor& images) override {
    const torch::Tensor x = images.to(device_, torch::kFloat32);
    return run_method(image_, text_ ? "forward" : "encode_image", {x}, images.sizes().vec(), path_);
  }

  torch::Tensor encode_text(const std::vector<std::string>& texts) override {
    if (texts.empty()) throw Error("there are no captions to encode");
    const TokenBatch tokens = tokenizer_->encode(texts);
    std::vector<c10::IValue> inputs = {tokens.ids.to(device_), tokens.mask.to(device_)};
    const auto shape = tokens.ids.sizes().vec();
    if (text_) return run_method(*text_, "forward", std::move(inputs), shape, text_path_);
    return run_method(image_, "encode_text", std::move(inputs), shape, path_);
  }

  torch::Tensor logit_scale() override {
    torch::Tensor scale;
    if (own_scale_.defined()) {
      scale = own_scale_;
    } else if (auto found = logit_scale_of(image_)) {
      scale = *found;
    } else {
      scale = *logit_scale_of(*text_);
    }
    return scale.clamp_max(kMaxLogitScale);
  }

  TokenizerPtr tokenizer() const override { return tokenizer_; }

  std::vector<torch::Tensor> parameters() override {
    std::vector<torch::Tensor> out;
    for (const auto& p : image_.parameters()) out.push_back(p);
    if (text_) {
      for (const auto& p : text_->parameters()) out.push_back(p);
    }
    if (own_scale_.defined()) out.push_back(own_scale_);
    return out;
  }

  // Two files: the image module's. One module: the parameters under a submodule named visual
  // (CLIP's name), image, image_encoder or vision.
  std::vector<torch::Tensor> image_parameters() override {
    std::vector<torch::Tensor> out;
    if (text_) {
      for (const auto& p : image_.parameters()) {
        if (!logit_scale_of(image_) || !p.is_same(*logit_scale_of(image_))) out.push_back(p);
      }
      return out;
    }
    for (const auto& named : image_.named_parameters()) {
      const std::string& name = named.name;
      for (const char* prefix : {"visual.", "image.", "image_encoder.", "vision."}) {
        if (name.rfind(prefix, 0) == 0) {
          out.push_back(named.value);
          break;
        }
      }
    }
    if (out.empty()) {
      throw Error("cannot tell which parameters of '" + path_ +
                  "' are the image tower's: name its image submodule 'visual' (as CLIP), "
                  "'image', 'image_encoder' or 'vision'");
    }
    return out;
  }

  void set_training(bool training) override {
    image_.train(training);
    if (text_) text_->train(training);
  }
  bool training() const override { return image_.is_training(); }

  void to(torch::Device device) override {
    image_.to(device);
    if (text_) text_->to(device);
    if (own_scale_.defined()) {
      torch::NoGradGuard no_grad;
      own_scale_ = own_scale_.to(device).detach().requires_grad_(true);
    }
    device_ = device;
  }
  torch::Device device() const override { return device_; }

  std::string describe() const override {
    if (text_) {
      return "torchscript_two_tower(image: '" + path_ + "', text: '" + text_path_ +
             "', tokenizer: " + tokenizer_->describe() + ")";
    }
    return "torchscript_two_tower('" + path_ + "', tokenizer: " + tokenizer_->describe() + ")";
  }

  // One module: the module again, with the tokenizer as an extra file, so load() gives the
  // two-tower back without a vocabulary.
  void save(const std::string& path) const override {
    if (text_) {
      throw Error(
          "a two-tower made of two TorchScript files cannot be saved as one file; save "
          "each tower from PyTorch");
    }
    torch::jit::ExtraFilesMap extra = {{kTokenizerFile, tokenizer_->serialize()}};
    write_atomic(path, [&](const std::string& temp_path) {
      try {
        image_.save(temp_path, extra);
      } catch (const c10::Error& e) {
        throw IoError("cannot write '" + path + "': " + e.what_without_backtrace());
      }
    });
  }

 private:
  torch::jit::Module image_;  // the whole model when text_ is empty
  std::optional<torch::jit::Module> text_;
  std::string path_;
  std::string text_path_;
  TokenizerPtr tokenizer_;
  torch::Tensor own_scale_;  // two files without a logit_scale attribute
  torch::Device device_ = torch::kCPU;
};

void check_tokenizer(const TokenizerPtr& tokenizer) {
  if (!tokenizer) throw Error("a TorchScript two-tower needs a vocabulary (vocab:)");
}

}  // namespace

TwoTowerPtr load_torchscript_two_tower(const std::string& path, TokenizerPtr tokenizer,
                                       torch::Device device) {
  check_tokenizer(tokenizer);
  return std::make_shared<TorchScriptTwoTower>(load_module(path, device), path,
                                               std::move(tokenizer), device);
}

TwoTowerPtr load_torchscript_two_tower(const std::string& image_path, const std::string& text_path,
                                       TokenizerPtr tokenizer, torch::Device device) {
  check_tokenizer(tokenizer);
  return std::make_shared<TorchScriptTwoTower>(load_module(image_path, device),
                                               load_module(text_path, device), image_path,
                                               text_path, std::move(tokenizer), device);
}

TwoTowerPtr load_saved_torchscript_two_tower(const std::string& path, torch::Device device) {
  torch::jit::ExtraFilesMap extra = {{kTokenizerFile, ""}};
  torch::jit::Module module;
  try {
    module = torch::jit::load(path, device, extra);
  } catch (const std::exception&) {
    return nullptr;
  }
  if (extra[kTokenizerFile].empty()) return nullptr;
  if (!module.find_method("encode_image") || !module.find_method("encode_text")) return nullptr;
  return std::make_shared<TorchScriptTwoTower>(
      std::move(module), path, deserialize_tokenizer(extra[kTokenizerFile]), device);
}

}  // namespace perturb
