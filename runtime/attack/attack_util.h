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

// Early exit (issue 13). Whether the logits [n, C] already reach the attack's goal per sample
// [n]: prediction == target in targeted mode (target defined), else prediction != y. Read from
// the logits the gradient step computed, so it costs no forward pass.
torch::Tensor goal_reached(const torch::Tensor& logits, const torch::Tensor& y,
                           const torch::Tensor& target);

// Whether an attack with these gradient options can tell success from its own logits: eot = 1
// (one deterministic pass, not one random draw of many) and objective "class". Throws Error in
// the user's terms when `early_stop` is asked for and it cannot.
bool early_stop_possible(const GradientOptions& options);
void check_early_stop(const std::string& owner, const GradientOptions& options, bool early_stop);

// The samples of a batch an iterative attack is still working on. With early stop on, a sample
// the attack has fooled leaves: its adversarial point is kept, it costs no further gradient
// evaluations, and what it skipped is added to stats->gradient_evals_saved. The attack holds
// its per-sample state for the active samples only and compacts it with compact() each time
// retire() says some left (the only time a batch is index_select-ed). With early stop off
// nothing ever leaves and the attack runs exactly as without an ActiveSet.
class ActiveSet {
 public:
  // All of x's samples active.
  ActiveSet(const torch::Tensor& x, bool enabled, AttackStats* stats);

  bool enabled() const { return enabled_; }
  int64_t size() const { return active_.size(0); }
  int64_t total() const { return total_; }
  bool empty() const { return size() == 0; }
  bool all() const { return size() == total_; }
  // The active samples' positions in the full batch [size()], in order.
  const torch::Tensor& indices() const { return active_; }

  // Takes out the active samples with fooled[i] (bool [size()]), keeping x_adv's rows (x_adv
  // [size(), ...]) as their results; each would still have cost `skipped` gradient evaluations.
  // Returns whether any left; then per-sample state must go through compact().
  bool retire(const torch::Tensor& fooled, const torch::Tensor& x_adv, int64_t skipped);
  // The rows (along `dim`) of a per-sample tensor that stay after the last retire(); an
  // undefined tensor stays undefined.
  torch::Tensor compact(const torch::Tensor& t, int64_t dim = 0) const;
  // The full batch [total(), ...]: the kept point of each retired sample, x_adv's rows for the
  // active ones.
  torch::Tensor merge(const torch::Tensor& x_adv) const;
  // [total()] bool: true for retired samples, `flags` [size()] for the active ones.
  torch::Tensor merge_flags(const torch::Tensor& flags) const;
  // size() / total(): turns the gradient of the active samples' batch-mean loss into the one
  // each sample gets in the full batch (for updates that use the gradient's scale).
  double mean_scale() const { return static_cast<double>(size()) / static_cast<double>(total_); }

 private:
  bool enabled_;
  AttackStats* stats_;
  int64_t total_;
  torch::Tensor like_;    // the full batch, for the kept points' shape and type
  torch::Tensor active_;  // int64 [size()]
  torch::Tensor stay_;    // int64: the rows kept by the last retire(), local to the set before it
  torch::Tensor kept_;    // [total(), ...] the retired samples' points (allocated at the first)
  torch::Tensor done_;    // bool [total()]
};

// "true"/"false" for describe() strings.
inline const char* bool_text(bool b) {
  return b ? "true" : "false";
}

}  // namespace perturb
