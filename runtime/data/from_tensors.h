// Datasets made from tensors already in memory, such as arrays loaded from .npy files.
#pragma once

#include <string>

#include <torch/torch.h>

#include "runtime/data/dataset.h"

namespace perturb {

// Images x [N, ...] (uint8 scaled to [0, 1], other types to float32; N×H×W gains a channel
// dimension, as IDX images do) and y, N labels that are whole numbers ≥ 0 of any dtype; both end
// up on the CPU. Error, in terms of x and y, when the counts differ or a label is not a class
// index.
Dataset dataset_from_tensors(const torch::Tensor& x, const torch::Tensor& y,
                             const std::string& name);

}  // namespace perturb
