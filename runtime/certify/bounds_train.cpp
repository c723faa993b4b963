// Certified training losses (see bounds_train.h for the definitions followed).

#include "runtime/certify/bounds_train.h"

#include <algorithm>

#include "runtime/core/error.h"
#include "runtime/threat/lp_threat.h"

namespace perturb {

CertifiedSchedule certified_schedule(const CertifiedTrainOptions& o, double t) {
  CertifiedSchedule s;
  double progress;  // 0 before and at the ramp's start, 1 at and after its end
  if (t < o.warmup) {
    progress = 0;
  } else if (o.ramp <= 0) {
    progress = 1;
  } else {
    progress = std::clamp((t - o.warmup) / o.ramp, 0.0, 1.0);
  }
  const double eps = o.threat ? o.threat->eps() : 0.0;
  s.eps = eps * progress;
  s.kappa = 1 + (o.kappa_end - 1) * progress;
  s.beta = 1 + (o.beta_end - 1) * progress;
  return s;
}

torch::Tensor robust_cross_entropy(const torch::Tensor& margin_lower) {
  torch::Tensor z = torch::cat(
      {torch::zeros({margin_lower.size(0), 1}, margin_lower.options()), -margin_lower}, 1);
  torch::Tensor target = torch::zeros(
      {margin_lower.size(0)}, torch::TensorOptions().dtype(torch::kLong).device(z.device()));
  return torch::nn::functional::cross_entropy(z, target);
}

torch::Tensor training_margin_bounds(Model& model, const Threat& threat, double eps,
                                     const torch::Tensor& x, const torch::Tensor& y,
                                     BoundMethod method, double beta) {
  BoundNetwork net = BoundNetwork::from_model(model);
  ThreatPtr at_eps = threat.with({{"eps", Interval{eps, eps}}});
  InputSet set = input_set(*at_eps, x);
  torch::Tensor logits = net.forward(x.narrow(0, 0, 1));
  torch::Tensor spec = margin_spec(y, logits.size(1));
  Bounds ibp = ibp_bounds(net, set, spec);
  if (method == BoundMethod::kIbp || beta <= 0) return ibp.lower;
  CrownOptions o;
  o.upper = false;
  o.intersect = false;  // the mix below is Zhang et al.'s; intersecting would cut its gradient
  torch::Tensor crown = crown_ibp_bounds(net, set, spec, o).lower;
  if (beta >= 1) return crown;
  return beta * crown + (1 - beta) * ibp.lower;
}

BatchLossFn certified_batch_loss(const CertifiedTrainOptions& options, int64_t epochs) {
  if (!options.threat) throw Error("certified training needs a threat");
  (void)input_set(*options.threat, torch::zeros({1, 1}));  // Linf or L2 only
  if (options.warmup < 0 || options.ramp < 0 || options.warmup + options.ramp > 1) {
    throw Error(
        "certified training: warmup and ramp are fractions of the run with warmup + "
        "ramp <= 1, got warmup " +
        std::to_string(options.warmup) + " and ramp " + std::to_string(options.ramp));
  }
  if (options.kappa_end < 0 || options.kappa_end > 1) {
    throw Error("kappa must be in [0, 1], got " + std::to_string(options.kappa_end));
  }
  return [options, epochs](Model& model, const torch::Tensor& x, const torch::Tensor& y,
                           at::Generator&, const BatchPosition& pos) {
    const double total = static_cast<double>(std::max<int64_t>(epochs, 1)) *
                         static_cast<double>(std::max<int64_t>(pos.batches, 1));
    const double done = static_cast<double>(pos.epoch - 1) * pos.batches + pos.batch;
    const CertifiedSchedule s = certified_schedule(options, done / total);
    StepResult r;
    r.logits = model.forward(x);
    r.y = y;
    torch::Tensor clean = torch::nn::functional::cross_entropy(r.logits, y);
    if (s.kappa >= 1) {
      r.loss = clean;
      return r;
    }
    torch::Tensor m =
        training_margin_bounds(model, *options.threat, s.eps, x, y, options.method, s.beta);
    r.loss = s.kappa * clean + (1 - s.kappa) * robust_cross_entropy(m);
    return r;
  };
}

}  // namespace perturb
