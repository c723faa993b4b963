// TRADES (Zhang et al. 2019): the robust KL term and the attack that maximises it.
#pragma once

#include "runtime/attack/attack.h"

namespace perturb {

// KL(f(x) ‖ f(x_adv)) summed over classes and averaged over the batch, from logits — the
// official TRADES code's KLDivLoss(log_softmax(adv), softmax(clean), 'sum') / batch.
torch::Tensor trades_kl(const torch::Tensor& adv_logits, const torch::Tensor& clean_logits);

// x_adv maximising trades_kl within the adversary's threat: start at x + 0.001·N(0, 1), then
// PGD steps on the KL (the adversary's steps and step when it is PGD, else 10 and the
// threat's default). Runs the model in eval mode, as the official code does.
torch::Tensor trades_adversarial(Model& model, const Attack& adversary, const torch::Tensor& x,
                                 at::Generator& gen);

}  // namespace perturb
