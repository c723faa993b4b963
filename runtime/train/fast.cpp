#include "runtime/train/fast.h"

#include "runtime/core/error.h"

namespace perturb {

// Wong et al. 2020 use α = 1.25·ε (their Section 4.1: larger steps lead to catastrophic
// overfitting, smaller ones to weaker robustness).
constexpr double kFastStepFactor = 1.25;

double default_fast_step(const Threat& threat) {
  return kFastStepFactor * threat.eps();
}

torch::Tensor fast_adversarial(Model& model, const Threat& threat, const torch::Tensor& x,
                               const torch::Tensor& y, double step, at::Generator& gen) {
  if (!threat.additive()) {
    throw Error("fast training needs an additive threat (Linf, L2, L1...), got " +
                threat.describe());
  }
  if (!(step > 0)) throw Error("the fast method's step must be positive");
  torch::AutoGradMode enable_grad(true);
  const auto start = threat.sample(x, gen).detach().requires_grad_(true);
  const auto loss = torch::nn::functional::cross_entropy(model.forward(start), y);
  const auto grad = torch::autograd::grad({loss}, {start})[0];
  return threat.project(threat.ascend(start.detach(), grad, step), x).detach();
}

}  // namespace perturb
