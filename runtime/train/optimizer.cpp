#include "runtime/train/optimizer.h"

#include "runtime/core/error.h"
#include "runtime/report/format.h"

namespace perturb {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerSpec& spec,
                                                        const std::vector<torch::Tensor>& params) {
  if (!(spec.lr > 0)) throw Error("learning rate must be positive, got " + format_number(spec.lr));
  if (spec.kind == "sgd") {
    auto options =
        torch::optim::SGDOptions(spec.lr).momentum(spec.momentum).weight_decay(spec.weight_decay);
    return std::make_unique<torch::optim::SGD>(params, options);
  }
  if (spec.kind == "adam") {
    auto options = torch::optim::AdamOptions(spec.lr)
                       .betas({spec.beta1, spec.beta2})
                       .weight_decay(spec.weight_decay);
    return std::make_unique<torch::optim::Adam>(params, options);
  }
  throw Error("unknown optimizer '" + spec.kind + "'; the optimizers are sgd, adam");
}

}  // namespace perturb
