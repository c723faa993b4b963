// How gradient attacks search threats that are not a plain additive set: parametric and
// composed threats through their search state (Threat::init_state/apply_state/...), grids for
// `search: "grid"`, and unions member by member, keeping the worse result per sample.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "runtime/attack/loss.h"
#include "runtime/threat/threat.h"

namespace perturb {

// ∇ of the attack loss w.r.t. the attacked input (loss_gradient with the attack's options).
using InputGradientFn = std::function<torch::Tensor(const torch::Tensor& x_adv)>;
// Per-sample score [N] of candidate inputs; higher is worse for the model.
using ScoreFn = std::function<torch::Tensor(const torch::Tensor& x_adv)>;

// Projected gradient ascent on the threat's state: g = gradient(apply(x, s)) is the gradient
// w.r.t. the attacked input, chained to the state by autograd (vector-Jacobian product), then
// s ← project_state(ascend_state(s, ∂L/∂s)). Returns apply(x, s) for the last state.
torch::Tensor search_state(const Threat& threat, const torch::Tensor& x, at::Generator& gen,
                           bool random_start, int64_t steps, std::optional<double> step,
                           const InputGradientFn& gradient);

// Every grid state applied; per sample the highest-scoring result.
torch::Tensor search_grid(const Threat& threat, const torch::Tensor& x,
                          const std::vector<SearchState>& grid, const ScoreFn& score);

// Per sample, the candidate with the highest score (ties: the earlier candidate).
torch::Tensor keep_worst(const std::vector<torch::Tensor>& candidates, const ScoreFn& score);

// A union threat (a | b): `attack_member` under each member, then per sample the worse result
// by `score`. An undefined tensor when `threat` is not a union.
using MemberAttackFn = std::function<torch::Tensor(const ThreatPtr& member)>;
torch::Tensor worst_over_members(const Threat& threat, const MemberAttackFn& attack_member,
                                 const ScoreFn& score);

// Success (misclassified, or the target reached) first, then the attack's loss: score =
// loss + 1e6·success. Counts one query per sample per call.
ScoreFn goal_score(Model& model, const torch::Tensor& y, const torch::Tensor& target,
                   const GradientOptions& options, AttackStats* stats);

}  // namespace perturb
