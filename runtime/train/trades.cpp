#include "runtime/train/trades.h"

#include "runtime/attack/loss.h"
#include "runtime/attack/pgd.h"
#include "runtime/threat/lp_threat.h"

namespace perturb {
namespace {

// What TRADES uses when the adversary is not PGD (its paper's CIFAR setting has 10 steps).
constexpr int64_t kDefaultTradesSteps = 10;
// The official code's start: a tiny Gaussian so the KL gradient at x is not exactly zero.
constexpr double kStartNoise = 0.001;

}  // namespace

torch::Tensor trades_kl(const torch::Tensor& adv_logits, const torch::Tensor& clean_logits) {
  const auto log_q = torch::log_softmax(adv_logits, 1);
  const auto p = torch::softmax(clean_logits, 1);
  const auto log_p = torch::log_softmax(clean_logits, 1);
  return (p * (log_p - log_q)).sum() / adv_logits.size(0);
}

torch::Tensor trades_adversarial(Model& model, const Attack& adversary, const torch::Tensor& x,
                                 at::Generator& gen) {
  const auto threat = adversary.threat();
  int64_t steps = kDefaultTradesSteps;
  double step = threat->default_step(steps);
  if (const auto* pgd = dynamic_cast<const Pgd*>(&adversary)) {
    steps = pgd->steps();
    step = pgd->step();
  }
  AttackModeGuard attack_mode(model);  // eval mode, weights frozen
  torch::Tensor clean_logits;
  {
    torch::NoGradGuard no_grad;
    clean_logits = model.forward(x).detach();
  }
  auto x_adv = threat->project(x + kStartNoise * randn_like_with(x, gen), x);
  torch::AutoGradMode enable_grad(true);
  for (int64_t i = 0; i < steps; ++i) {
    auto input = x_adv.detach().requires_grad_(true);
    const auto loss = trades_kl(model.forward(input), clean_logits);
    const auto grad = torch::autograd::grad({loss}, {input})[0];
    x_adv = threat->project(threat->ascend(x_adv, grad, step), x);
  }
  return x_adv.detach();
}

}  // namespace perturb
