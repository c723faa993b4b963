#include "runtime/model/model.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <torch/script.h>

#include "runtime/core/error.h"
#include "runtime/model/torchscript_model.h"
#include "runtime/model/zoo_model.h"
#include "runtime/model/zoo_reid.h"

namespace perturb {

ModeGuard::ModeGuard(Model& model, bool training) : model_(model), previous_(model.training()) {
  model_.set_training(training);
}

ModeGuard::~ModeGuard() {
  model_.set_training(previous_);
}

torch::Tensor forward_batched(Model& model, const torch::Tensor& x, int64_t batch) {
  if (batch < 1) throw Error("batch must be at least 1, got " + std::to_string(batch));
  return without_autograd([&] {
    const auto device = model.device();
    std::vector<torch::Tensor> parts;
    for (int64_t start = 0; start < x.size(0); start += batch) {
      const auto part = x.slice(0, start, std::min(x.size(0), start + batch));
      parts.push_back(model.forward(part.to(device, torch::kFloat32)));
    }
    return torch::cat(parts);
  });
}

torch::Tensor predict_classes(Model& model, const torch::Tensor& x, int64_t batch) {
  if (x.size(0) == 0) return torch::zeros({0}, torch::kLong);
  ModeGuard eval(model, /*training=*/false);
  return forward_batched(model, x, batch).argmax(1).cpu();
}

namespace {

// A Perturb model if `path` is one, else nullptr. Perturb models are serialize archives with a
// marker key; TorchScript files also open as archives (both are TorchScript zips), so the marker
// is what tells them apart.
ModelPtr try_load_perturb(const std::string& path, torch::Device device) {
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path, device);
  } catch (const std::exception&) {
    return nullptr;
  }
  c10::IValue marker;
  if (!archive.try_read(kPerturbFormatKey, marker)) return nullptr;
  c10::IValue architecture;
  if (archive.try_read("architecture", architecture) && architecture.isString() &&
      architecture.toStringRef() == kReidArchitecture) {
    return ReidModel::load(archive, path, device);
  }
  return ZooModel::load(archive, path, device);
}

ModelPtr try_load_torchscript(const std::string& path, torch::Device device) {
  try {
    return std::make_shared<TorchScriptModel>(torch::jit::load(path, device), path, device);
  } catch (const std::exception&) {
    return nullptr;
  }
}

}  // namespace

ModelPtr load_model(const std::string& path, torch::Device device) {
  // An ifstream opens a directory without complaint on Linux; say what is wrong instead of
  // "not a model".
  if (std::filesystem::is_directory(path))
    throw IoError("cannot open '" + path + "': Is a directory");
  if (!std::ifstream(path, std::ios::binary)) {
    throw IoError("cannot open '" + path + "': " + std::strerror(errno));
  }
  if (ModelPtr model = try_load_perturb(path, device)) return model;
  if (ModelPtr model = try_load_torchscript(path, device)) return model;
  throw Error("'" + path + "' is neither a Perturb model nor a TorchScript module");
}

}  // namespace perturb
