// The search defaults of an additive threat: the state is {delta = x_adv − x}.
#include "runtime/threat/threat.h"

#include "runtime/core/error.h"

namespace perturb {

SearchState Threat::init_state(const torch::Tensor& x, at::Generator& gen, bool random) const {
  return {random ? (sample(x, gen) - x).detach() : torch::zeros_like(x)};
}

torch::Tensor Threat::apply_state(const torch::Tensor& x, const SearchState& state) const {
  return x + state.at(0);
}

SearchState Threat::ascend_state(const SearchState& state, const SearchState& grad,
                                 const torch::Tensor& x, std::optional<double> step,
                                 int64_t steps) const {
  const auto x_adv = (x + state.at(0)).detach();
  return {(ascend(x_adv, grad.at(0), step.value_or(default_step(steps))) - x).detach()};
}

SearchState Threat::project_state(const SearchState& state, const torch::Tensor& x) const {
  return {(project((x + state.at(0)).detach(), x) - x).detach()};
}

}  // namespace perturb
