// The losses gradient attacks ascend, targeted mode and expectation over transformation (EOT).
//
// One entry point, loss_gradient(model, x_adv, y, GradientOptions, stats), serves every gradient
// attack (FGSM, PGD, the FGSM family, APGD); evaluate_loss also gives the per-sample losses and
// logits APGD needs.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "runtime/model/frozen_parameters.h"
#include "runtime/model/model.h"
#include "runtime/threat/threat.h"

namespace perturb {

struct AttackStats;     // runtime/attack/attack.h, which includes this header
struct FeatureGallery;  // runtime/attack/feature.h

// A loss written by the user (the interpreter passes a Perturb function): logits [N, C] and
// labels [N] (the target labels in targeted mode) → a scalar or a per-sample tensor [N],
// differentiable in the logits.
using UserLossFn =
    std::function<torch::Tensor(const torch::Tensor& logits, const torch::Tensor& labels)>;

// Targeted mode. kLabel: one class for every sample; kRandom: a class ≠ y drawn uniformly per
// sample (torchattacks' get_random_target_label); kLeastLikely: the clean input's lowest logit
// (torchattacks' get_least_likely_label); kRanked: the clean input's `rank`-th highest logit
// other than y (AutoAttack APGD-T / FAB-T: rank 1 is the runner-up class).
struct TargetSpec {
  enum class Mode { kNone, kLabel, kRandom, kLeastLikely, kRanked };
  Mode mode = Mode::kNone;
  int64_t value = 0;  // the label for kLabel, the rank for kRanked
  bool targeted() const { return mode != Mode::kNone; }
  // "" when untargeted, else "3", "\"random\"", "\"least_likely\"".
  std::string describe() const;
};

// The losses a gradient attack ascends by name: "ce", "cw", "dlr" (besides "user", a function).
const std::vector<std::string>& loss_names();
// What a gradient attack's loss compares: "class" (logits) or "feature" (embeddings).
const std::vector<std::string>& objective_names();

struct GradientOptions {
  // "ce" (cross-entropy), "cw" (Carlini-Wagner margin with kappa), "dlr" (Croce & Hein 2020,
  // eq. 5; targeted DLR in targeted mode) or "user" (user_loss).
  std::string loss = "ce";
  double kappa = 0;  // cw margin: the loss saturates once the margin exceeds kappa
  UserLossFn user_loss;
  TargetSpec target;
  // Average the input gradient over `eot` forward/backward passes (Athalye et al. 2018). With
  // eot > 1 the attack leaves the model in the caller's mode (train mode keeps dropout-style
  // randomness); with eot = 1 the model runs in eval mode.
  int64_t eot = 1;
  // "class" (the losses above, on logits) or "feature": the model's output is an embedding and
  // the attack ascends the Euclidean distance to each query's anchor embedding (thesis ch. 4,
  // eq. 4.3; runtime/attack/feature.h) — the gallery match's, or the clean query's own when
  // `gallery` is null. Targeted mode descends the distance to a target identity.
  std::string objective = "class";
  std::shared_ptr<const FeatureGallery> gallery;

  // Throws Error for an unknown loss, eot < 1, or "user" without a function.
  void check(const std::string& owner) const;
  // ", loss: \"dlr\", target: 3, eot: 10" — only the settings that differ from the defaults.
  std::string describe() const;
};

// The parameter keys an attack taking GradientOptions accepts in with() ("loss", "kappa",
// "eot", "target"), and how to apply one. Returns false for a key that is not one of them.
bool apply_gradient_param(const std::string& owner, GradientOptions& options,
                          const std::string& key, const Interval& value);
extern const std::vector<std::string> kGradientParamNames;

// Per-sample loss to ascend, shape [N]. Untargeted: ce = CE(z, y); cw = min(max_{j≠y} z_j − z_y,
// kappa); dlr = −(z_y − max_{j≠y} z_j) / (z_π1 − z_π3 + 1e-12). Targeted (t = target): ce =
// −CE(z, t); cw = min(z_t − max_{j≠t} z_j, kappa); dlr = −(z_y − z_t) / (z_π1 − ½(z_π3 + z_π4) +
// 1e-12). user: user_loss(z, y), negated in targeted mode with the targets as labels.
// Objective "feature": `logits` are embeddings and `target` the anchors [N, d] (resolve_target);
// the loss is eq. 4.3's ‖anchor − f(x)‖₂, negated in targeted mode.
torch::Tensor attack_loss(const torch::Tensor& logits, const torch::Tensor& y,
                          const torch::Tensor& target, const GradientOptions& options);

// The target labels [N] for targeted mode (undefined tensor when untargeted), from the clean
// input's logits where the mode needs them. Counts the forward pass as queries.
torch::Tensor resolve_target(Model& model, const torch::Tensor& x, const torch::Tensor& y,
                             const TargetSpec& spec, at::Generator& gen, AttackStats* stats);
// The same for an attack's options: for objective "feature", the anchor embeddings [N, d]
// (feature_anchors in runtime/attack/feature.h), else resolve_target(..., options.target, ...).
torch::Tensor resolve_target(Model& model, const torch::Tensor& x, const torch::Tensor& y,
                             const GradientOptions& options, at::Generator& gen,
                             AttackStats* stats);

struct LossEval {
  torch::Tensor grad;    // ∇ₓ of the batch-mean loss (averaged over EOT draws)
  torch::Tensor loss;    // per-sample loss [N] (averaged over EOT draws)
  torch::Tensor logits;  // logits of the last draw, detached
};

// A differentiable, possibly random, change of the input before the model (DI-FGSM's input
// diversity, SI-NI-FGSM's scaling); drawn afresh on every EOT draw.
using InputTransform = std::function<torch::Tensor(const torch::Tensor&)>;

// The loss, its gradient in x_adv and the logits; grad mode on even under a NoGradGuard.
// Counts x_adv.size(0) × eot gradient evaluations.
LossEval evaluate_loss(Model& model, const torch::Tensor& x_adv, const torch::Tensor& y,
                       const torch::Tensor& target, const GradientOptions& options,
                       AttackStats* stats, const InputTransform& transform = nullptr);

// ∇ₓ of the batch-mean loss — the one gradient entry point of the attacks.
torch::Tensor loss_gradient(Model& model, const torch::Tensor& x_adv, const torch::Tensor& y,
                            const GradientOptions& options, AttackStats* stats,
                            const torch::Tensor& target = {});

// Eval mode for eot = 1; the caller's mode for eot > 1 (the randomness EOT averages over); the
// model's weights frozen either way.
class AttackModeGuard {
 public:
  AttackModeGuard(Model& model, const GradientOptions& options)
      : mode_(model, options.eot > 1 ? model.training() : false), weights_(model) {}
  // Eval mode and frozen weights, for the attacks that have no EOT (CW, FAB, Iterative, TRADES'
  // inner maximisation).
  explicit AttackModeGuard(Model& model) : mode_(model, /*training=*/false), weights_(model) {}

 private:
  ModeGuard mode_;
  FrozenParameters weights_;  // gradients are taken with respect to the input only
};

// Whether x_adv achieves the attack's goal per sample: misclassified (untargeted) or classified
// as the target (targeted). Counts queries. (A feature objective has no success to check:
// attacks keep its highest-loss result instead.)
torch::Tensor attack_succeeded(Model& model, const torch::Tensor& x_adv, const torch::Tensor& y,
                               const torch::Tensor& target, AttackStats* stats);

}  // namespace perturb
