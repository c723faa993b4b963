// Tensors in PyTorch's own file format, the one Python's torch.save writes and torch.load reads
// (a zip holding a pickle), through LibTorch's pickler: results go on into PyTorch, and tensors
// saved in Python come in.
#pragma once

#include <optional>
#include <string>

#include <torch/torch.h>

#include "runtime/data/npy.h"

namespace perturb {

// What a torch.save file holds: one tensor, or a dict of named tensors (in the dict's order).
struct TorchSaved {
  torch::Tensor tensor;  // defined for a single tensor
  NamedTensors named;    // otherwise
};

// Reads a file written by torch.save (Python) or write_torch_save; nullopt when the file is not
// in that format. Error, naming the file, for one that holds something other than a tensor or
// a dict of str → tensor.
std::optional<TorchSaved> try_read_torch_save(const std::string& path);

// Writes a tensor (moved to the CPU), or a dict of named tensors, as torch.load reads it;
// atomically.
void write_torch_save(const std::string& path, const torch::Tensor& tensor);
void write_torch_save(const std::string& path, const NamedTensors& tensors);

}  // namespace perturb
