#include "runtime/data/torch_pickle.h"

#include <fstream>
#include <iterator>
#include <vector>

#include "runtime/core/atomic_file.h"
#include "runtime/core/error.h"

namespace perturb {
namespace {

void write_pickled(const std::string& path, const torch::IValue& value) {
  const std::vector<char> bytes = torch::pickle_save(value);
  write_file_atomic(path, std::string(bytes.begin(), bytes.end()));
}

}  // namespace

std::optional<TorchSaved> try_read_torch_save(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  torch::IValue value;
  try {
    value = torch::pickle_load(bytes);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  TorchSaved saved;
  if (value.isTensor()) {
    saved.tensor = value.toTensor();
    return saved;
  }
  if (value.isGenericDict()) {
    for (const auto& entry : value.toGenericDict()) {
      if (!entry.key().isString() || !entry.value().isTensor()) {
        throw Error("'" + path +
                    "' holds a dict whose entries are not all str → tensor; Perturb reads "
                    "torch.save files of one tensor or of a dict of named tensors");
      }
      saved.named.emplace_back(entry.key().toStringRef(), entry.value().toTensor());
    }
    return saved;
  }
  throw Error("'" + path + "' holds a " + value.tagKind() +
              "; Perturb reads torch.save files of one tensor or of a dict of named tensors");
}

void write_torch_save(const std::string& path, const torch::Tensor& tensor) {
  write_pickled(path, tensor.detach().to(torch::kCPU).contiguous());
}

void write_torch_save(const std::string& path, const NamedTensors& tensors) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& [name, tensor] : tensors) {
    if (dict.contains(name)) throw Error("'" + name + "' is named twice");
    dict.insert(name, tensor.detach().to(torch::kCPU).contiguous());
  }
  write_pickled(path, dict);
}

}  // namespace perturb
