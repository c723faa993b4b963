// Threat models: the set of allowed perturbations of an input (an Lp ball ∩ the domain box).
#pragma once

#include <map>
#include <memory>
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
};

using ThreatPtr = std::shared_ptr<const Threat>;

struct Domain {
  double lo = 0, hi = 1;
};

// eps < 0 or domain lo >= hi → Error. Norms are per sample over all non-batch dims.
ThreatPtr make_linf(double eps, Domain domain = {});
ThreatPtr make_l2(double eps, Domain domain = {});

}  // namespace perturb
