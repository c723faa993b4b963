#include "runtime/model/torchscript_model.h"

#include <regex>
#include <sstream>

#include "runtime/core/atomic_file.h"
#include "runtime/core/error.h"
#include "runtime/report/format.h"

namespace perturb {

TorchScriptModel::TorchScriptModel(torch::jit::Module module, std::string path,
                                   torch::Device device)
    : module_(std::move(module)), path_(std::move(path)), device_(device) {
  module_.to(device);
}

namespace {

// The line of a c10/TorchScript message that says what went wrong: TorchScript prefixes the
// real error with a traceback and puts it after "RuntimeError: "; plain c10 errors lead with it.
std::string key_line(const std::string& message) {
  std::istringstream lines(message);
  std::string line, first, runtime_error;
  const std::string prefix = "RuntimeError: ";
  while (std::getline(lines, line)) {
    if (first.empty() && !line.empty()) first = line;
    if (line.rfind(prefix, 0) == 0) runtime_error = line.substr(prefix.size());
  }
  return runtime_error.empty() ? first : runtime_error;
}

}  // namespace

std::string explain_forward_error(const std::string& message, const std::vector<int64_t>& shape) {
  static const std::regex conv_channels(
      R"(expected input\[[^\]]*\] to have (\d+) channels, but got (\d+) channels instead)");
  std::smatch match;
  if (std::regex_search(message, match, conv_channels)) {
    const std::string expected = match[1];
    return "model expected " + expected + " input channel" + (expected == "1" ? "" : "s") +
           ", got " + match[2].str() + ": input of shape " + format_shape(shape);
  }
  return "the model rejected an input of shape " + format_shape(shape) + ": " + key_line(message);
}

torch::Tensor TorchScriptModel::forward(const torch::Tensor& x) {
  c10::IValue out;
  try {
    out = module_.forward({x.to(device_, torch::kFloat32)});
  } catch (const c10::Error& e) {
    throw Error(explain_forward_error(e.what_without_backtrace(), x.sizes().vec()));
  } catch (const std::exception& e) {
    throw Error(explain_forward_error(e.what(), x.sizes().vec()));
  }
  if (out.isTensor()) return out.toTensor();
  // Some exported classifiers return (logits, extras); the logits come first.
  if (out.isTuple() && !out.toTupleRef().elements().empty() &&
      out.toTupleRef().elements()[0].isTensor()) {
    return out.toTupleRef().elements()[0].toTensor();
  }
  throw Error("the TorchScript model '" + path_ + "' returned a " + out.tagKind() +
              ", expected a tensor of logits");
}

std::vector<torch::Tensor> TorchScriptModel::parameters() {
  std::vector<torch::Tensor> out;
  for (const auto& p : module_.parameters()) out.push_back(p);
  return out;
}

std::vector<torch::Tensor> TorchScriptModel::buffers() {
  std::vector<torch::Tensor> out;
  for (const auto& b : module_.buffers()) out.push_back(b);
  return out;
}

void TorchScriptModel::set_training(bool training) {
  module_.train(training);
}

bool TorchScriptModel::training() const {
  return module_.is_training();
}

void TorchScriptModel::to(torch::Device device) {
  module_.to(device);
  device_ = device;
}

torch::Device TorchScriptModel::device() const {
  return device_;
}

std::string TorchScriptModel::describe() const {
  return "torchscript('" + path_ + "')";
}

void TorchScriptModel::save(const std::string& path) const {
  write_atomic(path, [&](const std::string& temp_path) {
    try {
      module_.save(temp_path);
    } catch (const c10::Error& e) {
      throw IoError("cannot write '" + path + "': " + e.what_without_backtrace());
    }
  });
}

}  // namespace perturb
