#include "runtime/attack/threat_search.h"

#include "runtime/attack/attack.h"

#include "runtime/threat/physical.h"

namespace perturb {

torch::Tensor search_state(const Threat& threat, const torch::Tensor& x, at::Generator& gen,
                           bool random_start, int64_t steps, std::optional<double> step,
                           const InputGradientFn& gradient) {
  auto state = threat.project_state(threat.init_state(x, gen, random_start), x);
  for (int64_t i = 0; i < steps; ++i) {
    torch::Tensor adv;
    SearchState leaves;
    {
      torch::AutoGradMode enable(true);
      for (const auto& t : state) leaves.push_back(t.detach().requires_grad_(true));
      adv = threat.apply_state(x, leaves);
    }
    const auto g = gradient(adv.detach());
    SearchState grad;
    {
      torch::AutoGradMode enable(true);
      std::vector<torch::Tensor> inputs(leaves.begin(), leaves.end());
      auto chained = torch::autograd::grad({adv}, inputs, {g.to(adv.device(), adv.scalar_type())},
                                           /*retain_graph=*/false, /*create_graph=*/false,
                                           /*allow_unused=*/true);
      for (size_t k = 0; k < chained.size(); ++k) {
        grad.push_back(chained[k].defined() ? chained[k].detach() : torch::zeros_like(state[k]));
      }
    }
    state = threat.project_state(threat.ascend_state(state, grad, x, step, steps), x);
  }
  torch::NoGradGuard no_grad;
  return threat.apply_state(x, state).detach();
}

namespace {

// Per sample, the highest-scoring of `count` candidates (ties: the earlier one); candidates are
// made one at a time so a long grid never holds more than two.
torch::Tensor best_by_score(size_t count, const std::function<torch::Tensor(size_t)>& candidate_at,
                            const ScoreFn& score) {
  torch::Tensor best, best_score;
  for (size_t i = 0; i < count; ++i) {
    const auto candidate = candidate_at(i);
    const auto s = score(candidate);
    if (!best.defined()) {
      best = candidate;
      best_score = s;
      continue;
    }
    best = select_state(s > best_score, {candidate}, {best})[0];
    best_score = torch::max(s, best_score);
  }
  return best;
}

}  // namespace

torch::Tensor search_grid(const Threat& threat, const torch::Tensor& x,
                          const std::vector<SearchState>& grid, const ScoreFn& score) {
  torch::NoGradGuard no_grad;
  return best_by_score(
      grid.size(), [&](size_t i) { return threat.apply_state(x, grid[i]).detach(); }, score);
}

torch::Tensor keep_worst(const std::vector<torch::Tensor>& candidates, const ScoreFn& score) {
  return best_by_score(
      candidates.size(), [&](size_t i) { return candidates[i]; }, score);
}

torch::Tensor worst_over_members(const Threat& threat, const MemberAttackFn& attack_member,
                                 const ScoreFn& score) {
  const auto members = threat.alternatives();
  if (members.empty()) return {};
  std::vector<torch::Tensor> candidates;
  for (const auto& member : members) candidates.push_back(attack_member(member));
  return keep_worst(candidates, score);
}

ScoreFn goal_score(Model& model, const torch::Tensor& y, const torch::Tensor& target,
                   const GradientOptions& options, AttackStats* stats) {
  return [&model, y, target, options, stats](const torch::Tensor& x_adv) {
    torch::NoGradGuard no_grad;
    if (stats) stats->queries += x_adv.size(0);
    const auto logits = model.forward(x_adv);
    const auto loss = attack_loss(logits, y, target, options).reshape({-1});
    // A feature objective (runtime/attack/feature.h) has no success, only its distance.
    if (options.objective == "feature") return loss.to(torch::kFloat64);
    const auto pred = logits.argmax(1);
    const auto success = target.defined() ? (pred == target) : (pred != y);
    return loss.to(torch::kFloat64) + 1e6 * success.to(torch::kFloat64);
  };
}

}  // namespace perturb
