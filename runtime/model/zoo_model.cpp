#include "runtime/model/zoo_model.h"

#include "runtime/core/atomic_file.h"
#include "runtime/core/error.h"
#include "runtime/report/format.h"

namespace perturb {

ZooModel::ZooModel(std::string architecture, const ZooOptions& options, torch::nn::Sequential net)
    : architecture_(std::move(architecture)), options_(options), net_(std::move(net)) {}

void check_zoo_input(const ZooOptions& o, const torch::Tensor& x, const std::string& model) {
  if (x.dim() == 4 && x.size(1) == o.channels && x.size(2) == o.height && x.size(3) == o.width) {
    return;
  }
  throw Error("model " + model + " expects inputs of shape N×" + std::to_string(o.channels) + "×" +
              std::to_string(o.height) + "×" + std::to_string(o.width) + ", got " +
              format_shape(x.sizes().vec()));
}

torch::Tensor ZooModel::forward(const torch::Tensor& x) {
  check_zoo_input(options_, x, architecture_);
  return net_->forward(x.to(device_, torch::kFloat32));
}

std::vector<torch::Tensor> ZooModel::parameters() {
  return net_->parameters();
}

std::vector<torch::Tensor> ZooModel::buffers() {
  return net_->buffers();
}

void ZooModel::set_training(bool training) {
  net_->train(training);
}

bool ZooModel::training() const {
  return net_->is_training();
}

void ZooModel::to(torch::Device device) {
  net_->to(device);
  device_ = device;
}

torch::Device ZooModel::device() const {
  return device_;
}

std::string ZooModel::describe() const {
  std::string out = architecture_ + "(classes: " + std::to_string(options_.classes) +
                    ", channels: " + std::to_string(options_.channels);
  if (options_.height != 28 || options_.width != 28) {
    out += ", height: " + std::to_string(options_.height) +
           ", width: " + std::to_string(options_.width);
  }
  if (options_.depth) out += ", depth: " + std::to_string(options_.depth);
  if (options_.widen) out += ", widen: " + std::to_string(options_.widen);
  return out + ")";
}

void ZooModel::save(const std::string& path) const {
  torch::serialize::OutputArchive archive;
  archive.write(kPerturbFormatKey, c10::IValue(kPerturbFormatVersion));
  archive.write("architecture", c10::IValue(architecture_));
  archive.write("classes", c10::IValue(options_.classes));
  archive.write("channels", c10::IValue(options_.channels));
  archive.write("height", c10::IValue(options_.height));
  archive.write("width", c10::IValue(options_.width));
  archive.write("depth", c10::IValue(options_.depth));
  archive.write("widen", c10::IValue(options_.widen));
  net_->save(archive);
  save_archive_atomic(archive, path);
}

void save_archive_atomic(torch::serialize::OutputArchive& archive, const std::string& path) {
  write_atomic(path, [&](const std::string& temp_path) {
    try {
      archive.save_to(temp_path);
    } catch (const c10::Error& e) {
      throw IoError("cannot write '" + path + "': " + e.what_without_backtrace());
    }
  });
}

ModelPtr ZooModel::load(torch::serialize::InputArchive& archive, const std::string& path,
                        torch::Device device) {
  auto read_int = [&](const char* key) {
    c10::IValue value;
    if (!archive.try_read(key, value) || !value.isInt()) {
      throw Error("'" + path + "' is a damaged Perturb model: '" + key + "' is missing");
    }
    return value.toInt();
  };
  c10::IValue architecture;
  if (!archive.try_read("architecture", architecture) || !architecture.isString()) {
    throw Error("'" + path + "' is a damaged Perturb model: 'architecture' is missing");
  }
  ZooOptions options;
  options.classes = read_int("classes");
  options.channels = read_int("channels");
  options.height = read_int("height");
  options.width = read_int("width");
  // Absent from files written before the residual architectures: 0, their defaults.
  c10::IValue value;
  if (archive.try_read("depth", value) && value.isInt()) options.depth = value.toInt();
  if (archive.try_read("widen", value) && value.isInt()) options.widen = value.toInt();
  ModelPtr model = make_zoo_model(architecture.toStringRef(), options);
  auto& zoo = static_cast<ZooModel&>(*model);
  zoo.net_->load(archive);
  zoo.to(device);
  return model;
}

}  // namespace perturb
