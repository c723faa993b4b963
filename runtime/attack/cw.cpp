// Carlini & Wagner (2017) L2 attack: Adam in tanh space on ‖δ‖₂² + c·f₆ (Sec. V, eq. for f₆
// and the change of variables x' = ½(tanh(w) + 1)), with torchattacks' early abort and the
// paper's binary search over c.
#include <cmath>

#include "runtime/attack/attack_util.h"
#include "runtime/attack/attacks.h"
#include "runtime/attack/loss.h"
#include "runtime/core/error.h"
#include "runtime/report/format.h"

namespace perturb {
namespace {

class Cw : public Attack {
 public:
  Cw(ThreatPtr threat, CwOptions options) : threat_(std::move(threat)), options_(options) {
    if (options_.c <= 0) throw Error("CW c must be positive, got " + format_number(options_.c));
    if (options_.kappa < 0) throw Error("CW kappa must not be negative");
    if (options_.steps < 1) throw Error("CW steps must be at least 1");
    if (options_.lr <= 0) throw Error("CW lr must be positive");
    if (options_.search_steps < 1) throw Error("CW search_steps must be at least 1");
    if (!threat_->additive()) {
      throw Error("CW needs an additive threat (its result is projected onto it), got " +
                  threat_->describe());
    }
  }

  std::string name() const override { return "CW"; }
  std::string describe() const override {
    std::string out = "CW(" + threat_->describe() + ", c: " + format_number(options_.c) +
                      ", kappa: " + format_number(options_.kappa) +
                      ", steps: " + std::to_string(options_.steps) +
                      ", lr: " + format_number(options_.lr) +
                      ", search_steps: " + std::to_string(options_.search_steps);
    if (options_.target.targeted()) out += ", target: " + options_.target.describe();
    return out + ")";
  }
  ThreatPtr threat() const override { return threat_; }

  torch::Tensor run(Model& model, const torch::Tensor& x_in, const torch::Tensor& y_in,
                    at::Generator& gen, AttackStats* stats) const override {
    AttackModeGuard attack_mode(model);  // eval mode, weights frozen
    const auto [x, y] = prepare_batch(model, x_in, y_in);
    const auto target = resolve_target(model, x, y, options_.target, gen, stats);
    const auto d = threat_domain(*threat_);
    const int64_t n = x.size(0);
    // w₀ = atanh of x scaled into (−1, 1); the factor 0.999999 is the paper's code's, so pixels
    // at the domain's edges stay movable (torchattacks' atanh of ±1 would freeze them).
    const auto unit = (x - d.lo) / (d.hi - d.lo) * 2 - 1;
    const auto w0 = torch::atanh(unit * 0.999999);
    auto to_input = [&](const torch::Tensor& w) {
      return d.lo + (d.hi - d.lo) * (torch::tanh(w) + 1) / 2;
    };

    auto best_adv = x.clone();
    auto best_l2 = torch::full({n}, 1e10, x.options());
    auto c = torch::full({n}, options_.c, x.options());
    auto c_lo = torch::zeros({n}, x.options());
    auto c_hi = torch::full({n}, 1e10, x.options());
    const auto labels = target.defined() ? target : y;

    for (int64_t search = 0; search < options_.search_steps; ++search) {
      auto w = w0.clone().requires_grad_(true);
      torch::optim::Adam adam({w}, torch::optim::AdamOptions(options_.lr));
      auto succeeded = torch::zeros({n}, y.options().dtype(torch::kBool));
      double prev_cost = 1e10;
      for (int64_t step = 0; step < options_.steps; ++step) {
        torch::AutoGradMode grad_on(true);
        const auto adv = to_input(w);
        const auto l2sq = (adv - x).pow(2).reshape({n, -1}).sum(1);
        const auto logits = model.forward(adv);
        if (stats) stats->gradient_evals += n;
        // f₆: max(z_y − max_{j≠y} z_j, −kappa) (targeted: max(max_{j≠t} z_j − z_t, −kappa)).
        const auto own = logits.gather(1, labels.unsqueeze(1)).squeeze(1);
        const auto mask = torch::zeros_like(logits, logits.options().dtype(torch::kBool))
                              .scatter_(1, labels.unsqueeze(1), true);
        const auto other =
            logits.masked_fill(mask, -std::numeric_limits<float>::infinity()).amax(1);
        const auto f = target.defined() ? (other - own).clamp_min(-options_.kappa)
                                        : (own - other).clamp_min(-options_.kappa);
        const auto cost = l2sq.sum() + (c * f).sum();
        // Differentiate in w only, so the model's own parameters collect no gradient.
        w.mutable_grad() = torch::autograd::grad({cost}, {w})[0];
        adam.step();

        torch::NoGradGuard no_grad;
        const auto pred = logits.argmax(1);
        const auto success = target.defined() ? pred == target : pred != y;
        succeeded = succeeded | success;
        const auto better = success & (l2sq.detach() < best_l2);
        best_l2 = torch::where(better, l2sq.detach(), best_l2);
        best_adv = torch::where(per_sample(better, x), adv.detach(), best_adv);
        // torchattacks' early abort: every steps/10 steps, stop when the cost went up.
        if (step % std::max<int64_t>(options_.steps / 10, 1) == 0) {
          const double now = cost.item<double>();
          if (now > prev_cost) break;
          prev_cost = now;
        }
      }
      if (options_.search_steps > 1) {
        // Binary search over c (Sec. VI): success → smaller c; failure → larger (×10 until an
        // upper bound is known).
        c_hi = torch::where(succeeded, torch::minimum(c_hi, c), c_hi);
        c_lo = torch::where(succeeded, c_lo, torch::maximum(c_lo, c));
        c = torch::where(c_hi < 1e9, (c_lo + c_hi) / 2, c * 10);
      }
    }
    return threat_->project(best_adv, x);
  }

  std::shared_ptr<Attack> with(const Params& params) const override {
    CwOptions options = options_;
    const std::vector<std::string> own = {"c", "kappa", "steps", "lr", "search_steps", "target"};
    for (const auto& [key, value] : params) {
      if (key == "c") options.c = param_number("CW", key, value);
      if (key == "kappa") options.kappa = param_number("CW", key, value);
      if (key == "steps") options.steps = param_count("CW", key, value, 1);
      if (key == "lr") options.lr = param_number("CW", key, value);
      if (key == "search_steps") options.search_steps = param_count("CW", key, value, 1);
      if (key == "target") {
        options.target = {TargetSpec::Mode::kLabel, param_count("CW", key, value, 0)};
      }
    }
    return std::make_shared<Cw>(forward_to_threat("CW", own, threat_, params), options);
  }

 private:
  ThreatPtr threat_;
  CwOptions options_;
};

}  // namespace

AttackPtr make_cw(ThreatPtr threat, CwOptions options) {
  return std::make_shared<Cw>(std::move(threat), options);
}

}  // namespace perturb
