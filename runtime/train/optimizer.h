// Builds a torch optimizer from an OptimizerSpec; sets and reads its learning rate.
#pragma once

#include <memory>
#include <string>

#include "runtime/train/train.h"

namespace perturb {

// "sgd" (momentum, nesterov), "adam" or "adamw"; anything else → Error listing the known kinds.
// Bad numbers (lr ≤ 0, momentum < 0, nesterov without momentum, betas outside [0, 1)) → Error.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerSpec& spec,
                                                        const std::vector<torch::Tensor>& params);

// Sets the learning rate of every parameter group.
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

// "SGD(lr: 0.05, momentum: 0.9, weight_decay: 0)", "SGD(lr: 0.1, momentum: 0.9, nesterov:
// true, weight_decay: 0.0005)", "Adam(lr: 0.001, betas: [0.9, 0.999], weight_decay: 0)",
// "AdamW(...)".
std::string describe_optimizer(const OptimizerSpec& spec);

}  // namespace perturb
