// Threat models: the set of allowed perturbations of an input — an additive set (an Lp or
// Wasserstein ball ∩ the domain box), a parametric transformation with parameter ranges (Haze,
// Rotation, ...), or a composition of threats (>>, |, &). Nothing here assumes images: inputs
// are any [N, ...] batch; image threats check their own shapes.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace perturb {

struct Interval {
  double lo = 0, hi = 0;
  bool is_point() const { return lo == hi; }
};

// A number is the interval [v, v].
using Params = std::map<std::string, Interval>;

// What an attack searches over for one batch: a list of tensors whose first dimension is the
// batch. Additive threats search the perturbation delta (one tensor shaped like x); parametric
// threats search their parameters ([N, k]); compositions concatenate their parts' states.
using SearchState = std::vector<torch::Tensor>;

class Threat;
using ThreatPtr = std::shared_ptr<const Threat>;

class Threat {
 public:
  virtual ~Threat() = default;
  // "Linf"
  virtual std::string name() const = 0;
  // "Linf(eps: 0.1, domain: [0, 1])" — up to 6 significant digits, no trailing zeros.
  virtual std::string describe() const = 0;
  // The nearest point of the set (ball ∩ domain box); for L2, projects onto the ball and then
  // clamps to the domain, like torchattacks.
  virtual torch::Tensor project(const torch::Tensor& x_adv, const torch::Tensor& x) const = 0;
  // A random member (Linf: uniform in the box; L2: uniform direction × radius like
  // torchattacks PGDL2's random start), clamped to the domain.
  virtual torch::Tensor sample(const torch::Tensor& x, at::Generator& gen) const = 0;
  // Bool tensor [N]: whether each x_adv is in the set (up to tol).
  virtual torch::Tensor contains(const torch::Tensor& x_adv, const torch::Tensor& x,
                                 double tol = 1e-6) const = 0;
  // Steepest ascent step: Linf x + step·sign(g); L2 x + step·g/‖g‖₂ per sample.
  virtual torch::Tensor ascend(const torch::Tensor& x_adv, const torch::Tensor& grad,
                               double step) const = 0;
  // 2.5·eps/steps (Madry et al.).
  virtual double default_step(int64_t steps) const = 0;
  virtual double eps() const = 0;
  // A copy with some parameters changed, e.g. {eps: 0.2}; unknown key → Error
  // "Linf has no parameter 'foo'; it has eps, domain".
  virtual std::shared_ptr<Threat> with(const Params& params) const = 0;
  // The keys with() accepts, e.g. {"eps", "domain"}; attacks use it to forward parameters.
  virtual std::vector<std::string> parameter_names() const { return {}; }

  // ---- Search: how gradient attacks explore any threat. ----
  // The defaults describe an additive threat in terms of project/sample/ascend with the state
  // {delta = x_adv − x}. Attacks keep their historical x_adv loop for additive threats (so Lp
  // results are bit-identical) and use the state API for everything else.
  //
  // True when x_adv itself can be stepped on and projected (Lp, Wasserstein, intersections).
  virtual bool additive() const { return true; }
  // The starting state: a random member (random) or the unperturbed input (delta 0, or the
  // identity parameters clamped into their ranges).
  virtual SearchState init_state(const torch::Tensor& x, at::Generator& gen, bool random) const;
  // The perturbed input for a state; differentiable in the state (and in x).
  virtual torch::Tensor apply_state(const torch::Tensor& x, const SearchState& state) const;
  // One ascent step given d loss/d state. `step`: the attack's explicit step size (absolute for
  // additive threats, a fraction of each parameter range for parametric ones); nullopt → the
  // threat's own default for `steps` iterations.
  virtual SearchState ascend_state(const SearchState& state, const SearchState& grad,
                                   const torch::Tensor& x, std::optional<double> step,
                                   int64_t steps) const;
  // Back into the set (delta projected; parameters clamped to their ranges).
  virtual SearchState project_state(const SearchState& state, const torch::Tensor& x) const;
  // True when the state is a list of parameter tensors [N, k_i] (a transformation with ranges,
  // or a chain of them): project() then fits the parameters by Levenberg–Marquardt.
  virtual bool parametric() const { return false; }
  // How many tensors init_state returns (compositions split their state by it).
  virtual size_t state_size() const { return 1; }
  // A union lists its members: attacks run on each one and keep, per sample, the worse.
  virtual std::vector<ThreatPtr> alternatives() const { return {}; }
  // Non-empty for `search: "grid"`: the states an attack tries exhaustively (keeping the worst
  // per sample) instead of a gradient search.
  virtual std::vector<SearchState> grid_states(const torch::Tensor& /*x*/) const { return {}; }
};

struct Domain {
  double lo = 0, hi = 1;
};

// eps < 0 or domain lo >= hi → Error. Norms are per sample over all non-batch dims.
ThreatPtr make_linf(double eps, Domain domain = {});
ThreatPtr make_l2(double eps, Domain domain = {});
// The L1 ball with the exact Euclidean projection (Duchi et al. 2008), then the domain clamp;
// sparse steps as SLIDE / APGD-L1 (the top `1 − q` fraction of |g|).
ThreatPtr make_l1(double eps, Domain domain = {});
// At most `pixels` changed pixels (a pixel: one spatial position, all channels; for non-image
// inputs [N, D] one coordinate).
ThreatPtr make_l0(int64_t pixels, Domain domain = {});

// Wasserstein ball (runtime/threat/wasserstein.h).
struct WassersteinOptions {
  double eps = 0.01;
  int64_t kernel = 5;  // transport only within a kernel×kernel neighbourhood
  double reg = 3000;   // entropy regularisation λ (thesis §4.4: 3000 in all experiments)
  int64_t iters = 50;  // Sinkhorn iterations per projection
  Domain domain{};
};
ThreatPtr make_wasserstein(WassersteinOptions options);

// Compositions (runtime/threat/compose.cpp). Errors in the user's terms where one makes no sense.
ThreatPtr make_then(ThreatPtr first, ThreatPtr second);  // a >> b
ThreatPtr make_union(ThreatPtr a, ThreatPtr b);          // a | b
ThreatPtr make_intersection(ThreatPtr a, ThreatPtr b);   // a & b

}  // namespace perturb
