#include "runtime/train/optimizer.h"

#include "runtime/core/error.h"
#include "runtime/report/format.h"

namespace perturb {
namespace {

void check_spec(const OptimizerSpec& spec) {
  if (!(spec.lr > 0)) throw Error("learning rate must be positive, got " + format_number(spec.lr));
  if (!(spec.weight_decay >= 0)) {
    throw Error("weight_decay must not be negative, got " + format_number(spec.weight_decay));
  }
  if (spec.kind == "sgd") {
    if (!(spec.momentum >= 0)) {
      throw Error("momentum must not be negative, got " + format_number(spec.momentum));
    }
    if (spec.nesterov && !(spec.momentum > 0)) {
      throw Error("Nesterov momentum needs momentum > 0");
    }
  } else {
    for (double beta : {spec.beta1, spec.beta2}) {
      if (!(beta >= 0 && beta < 1)) {
        throw Error("Adam's betas must be in [0, 1), got " + format_number(beta));
      }
    }
  }
}

}  // namespace

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerSpec& spec,
                                                        const std::vector<torch::Tensor>& params) {
  if (spec.kind != "sgd" && spec.kind != "adam" && spec.kind != "adamw") {
    throw Error("unknown optimizer '" + spec.kind + "'; the optimizers are sgd, adam, adamw");
  }
  check_spec(spec);
  if (spec.kind == "sgd") {
    auto options = torch::optim::SGDOptions(spec.lr)
                       .momentum(spec.momentum)
                       .nesterov(spec.nesterov)
                       .weight_decay(spec.weight_decay);
    return std::make_unique<torch::optim::SGD>(params, options);
  }
  if (spec.kind == "adam") {
    auto options = torch::optim::AdamOptions(spec.lr)
                       .betas({spec.beta1, spec.beta2})
                       .weight_decay(spec.weight_decay);
    return std::make_unique<torch::optim::Adam>(params, options);
  }
  auto options = torch::optim::AdamWOptions(spec.lr)
                     .betas({spec.beta1, spec.beta2})
                     .weight_decay(spec.weight_decay);
  return std::make_unique<torch::optim::AdamW>(params, options);
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

std::string describe_optimizer(const OptimizerSpec& spec) {
  std::string text;
  if (spec.kind == "sgd") {
    text = "SGD(lr: " + format_number(spec.lr) + ", momentum: " + format_number(spec.momentum);
    if (spec.nesterov) text += ", nesterov: true";
  } else {
    text = std::string(spec.kind == "adam" ? "Adam" : "AdamW") + "(lr: " + format_number(spec.lr) +
           ", betas: [" + format_number(spec.beta1) + ", " + format_number(spec.beta2) + "]";
  }
  return text + ", weight_decay: " + format_number(spec.weight_decay) + ")";
}

}  // namespace perturb
