// Pieces every attack shares: input preparation, the loss gradient, parameter parsing.
#pragma once

#include <string>

#include "runtime/attack/attack.h"

namespace perturb {

// x (float32) and y (int64) moved to the model's device and detached; checks they match.
std::pair<torch::Tensor, torch::Tensor> prepare_batch(Model& model, const torch::Tensor& x,
                                                      const torch::Tensor& y);

// ∇ₓ mean cross-entropy(model(x_adv), y), with grad mode on even under a caller's NoGradGuard.
// Counts x_adv.size(0) gradient evaluations in `stats` when non-null. The general form, with
// losses, targets and EOT, is in runtime/attack/loss.h.
torch::Tensor loss_gradient(Model& model, const torch::Tensor& x_adv, const torch::Tensor& y,
                            AttackStats* stats);

// The model's predicted classes, without gradient; counts queries in `stats` when non-null.
torch::Tensor predict(Model& model, const torch::Tensor& x, AttackStats* stats);

// Parameter values for Attack::with, checked in the user's terms ("PGD steps must be ...").
int64_t param_count(const std::string& owner, const std::string& key, const Interval& value,
                    int64_t minimum);
double param_number(const std::string& owner, const std::string& key, const Interval& value);
bool param_bool(const std::string& owner, const std::string& key, const Interval& value);

// Hands the parameters the attack does not own to its threat; a key neither knows → Error
// listing both the attack's and the threat's parameters.
ThreatPtr forward_to_threat(const std::string& owner, const std::vector<std::string>& own,
                            const ThreatPtr& threat, const Params& params);

// A uniform integer in [lo, hi) and a uniform number in [0, 1), drawn from `gen`.
int64_t draw_int(at::Generator& gen, int64_t lo, int64_t hi);
double draw_uniform(at::Generator& gen);

// The input box of an Lp threat ([0, 1] for a threat that has none).
Domain threat_domain(const Threat& threat);

// A per-sample value [N] shaped [N, 1, 1, ...] to broadcast against `like`.
torch::Tensor per_sample(const torch::Tensor& v, const torch::Tensor& like);

// Per-sample norms over the non-batch dims: "Linf", "L2" or "L1"; shape [N].
torch::Tensor sample_norms(const torch::Tensor& t, const std::string& norm);

// "true"/"false" for describe() strings.
inline const char* bool_text(bool b) {
  return b ? "true" : "false";
}

}  // namespace perturb
