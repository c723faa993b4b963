// Builds a torch optimizer from an OptimizerSpec.
#pragma once

#include <memory>

#include "runtime/train/train.h"

namespace perturb {

// "sgd" or "adam"; anything else → Error listing the known kinds.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerSpec& spec,
                                                        const std::vector<torch::Tensor>& params);

}  // namespace perturb
