// The momentum FGSM family: MI-FGSM (Dong et al. 2018, Algorithm 1, eq. 6), NI-FGSM and
// SI-NI-FGSM (Lin et al. 2020, Algorithm 1, eqs. 8-10), DI-FGSM (Xie et al. 2019, eq. 3 with
// momentum as M-DI²-FGSM), with torchattacks' update rules and defaults.
#include <cmath>

#include "runtime/attack/attack_util.h"
#include "runtime/attack/attacks.h"
#include "runtime/attack/feature.h"
#include "runtime/attack/threat_search.h"
#include "runtime/core/error.h"
#include "runtime/report/format.h"

namespace perturb {
namespace {

// ∇ / mean|∇| per sample (the L1 normalisation of MI-FGSM, eq. 6, as torchattacks writes it).
torch::Tensor normalise_l1(const torch::Tensor& grad) {
  std::vector<int64_t> dims;
  for (int64_t d = 1; d < grad.dim(); ++d) dims.push_back(d);
  return grad / grad.abs().mean(dims, /*keepdim=*/true).clamp_min(1e-12);
}

class Momentum : public Attack {
 public:
  Momentum(ThreatPtr threat, MomentumOptions options)
      : threat_(std::move(threat)), options_(std::move(options)) {
    const auto& k = options_.kind;
    if (k != "MIFGSM" && k != "NIFGSM" && k != "SINIFGSM" && k != "DIFGSM") {
      throw Error("unknown momentum attack " + k);
    }
    if (options_.steps < 0) throw Error(k + " steps must not be negative");
    if (options_.step && *options_.step < 0) throw Error(k + " step must not be negative");
    if (options_.scales < 1) throw Error(k + " scales must be at least 1");
    if (options_.resize_rate <= 0) throw Error(k + " resize_rate must be positive");
    if (options_.diversity_prob < 0 || options_.diversity_prob > 1) {
      throw Error(k + " diversity_prob must be in [0, 1], got " +
                  format_number(options_.diversity_prob));
    }
    options_.gradient.check(k);
    check_feature_start(k, options_.gradient, options_.random_start);
    check_early_stop(k, options_.gradient, options_.early_stop);
    if (options_.early_stop && k != "MIFGSM") {
      throw Error(k +
                  " cannot stop early: its gradient is taken away from x_adv, so that step's "
                  "logits do not say whether x_adv fools (MIFGSM can)");
    }
  }

  bool can_stop_early() const override {
    return options_.kind == "MIFGSM" && early_stop_possible(options_.gradient);
  }

  std::string name() const override { return options_.kind; }
  std::string describe() const override {
    std::string out =
        name() + "(" + threat_->describe() + ", steps: " + std::to_string(options_.steps) +
        ", step: " + format_number(step()) + ", decay: " + format_number(options_.decay);
    if (options_.kind == "SINIFGSM") out += ", scales: " + std::to_string(options_.scales);
    if (options_.kind == "DIFGSM") {
      out += ", resize_rate: " + format_number(options_.resize_rate) +
             ", diversity_prob: " + format_number(options_.diversity_prob);
    }
    if (options_.random_start) out += ", random_start: true";
    return out + options_.gradient.describe() + (options_.early_stop ? ", early_stop: true" : "") +
           ")";
  }
  ThreatPtr threat() const override { return threat_; }

  // torchattacks' alpha = 2/255 at eps = 8/255 and 10 steps, i.e. the threat's default
  // 2.5·eps/steps (the MI-FGSM paper's eps/steps never lets a step overshoot; pass step: for it).
  double step() const {
    return options_.step.value_or(options_.steps > 0 ? threat_->default_step(options_.steps) : 0.0);
  }

  torch::Tensor run(Model& model, const torch::Tensor& x_in, const torch::Tensor& y_in,
                    at::Generator& gen, AttackStats* stats) const override {
    AttackModeGuard mode(model, options_.gradient);
    const auto [x, y] = prepare_batch(model, x_in, y_in);
    const auto target = resolve_target(model, x, y, options_.gradient, gen, stats);
    return run_on(*threat_, model, x, y, target, gen, stats);
  }

  // A union (a | b) runs member by member and keeps the worse result per sample.
  torch::Tensor run_on(const Threat& threat, Model& model, const torch::Tensor& x,
                       const torch::Tensor& y, const torch::Tensor& target, at::Generator& gen,
                       AttackStats* stats) const {
    const auto worst = worst_over_members(
        threat, [&](const ThreatPtr& m) { return run_on(*m, model, x, y, target, gen, stats); },
        goal_score(model, y, target, options_.gradient, stats));
    if (worst.defined()) return worst;
    if (!threat.additive()) {
      throw Error(options_.kind +
                  " needs an additive threat (Linf, L2, L1, Wasserstein or an "
                  "intersection), got " +
                  threat.describe() + "; PGD searches parametric and composed threats");
    }
    return run_additive(threat, model, x, y, target, gen, stats);
  }

  torch::Tensor run_additive(const Threat& threat, Model& model, const torch::Tensor& x,
                             const torch::Tensor& y, const torch::Tensor& target,
                             at::Generator& gen, AttackStats* stats) const {
    const double alpha =
        options_.step.value_or(options_.steps > 0 ? threat.default_step(options_.steps) : 0.0);
    const double mu = options_.decay;
    const auto& kind = options_.kind;
    auto x_adv = options_.random_start ? threat.sample(x, gen) : x.clone();
    auto momentum = torch::zeros_like(x);
    // Early stop (MIFGSM): xs, ys, ts and the state hold the samples not yet fooled.
    ActiveSet active(x, options_.early_stop, stats);
    torch::Tensor xs = x, ys = y, ts = target;
    InputTransform diversity;
    if (kind == "DIFGSM") {
      diversity = [this, &gen](const torch::Tensor& input) { return input_diversity(input, gen); };
    }
    for (int64_t i = 0; i < options_.steps; ++i) {
      torch::Tensor grad;
      if (kind == "MIFGSM" && options_.early_stop) {
        const auto eval = evaluate_loss(model, x_adv, ys, ts, options_.gradient, stats);
        grad = eval.grad;
        if (active.retire(goal_reached(eval.logits, ys, ts), x_adv, options_.steps - 1 - i)) {
          for (auto* t : {&xs, &ys, &ts, &x_adv, &momentum, &grad}) *t = active.compact(*t);
          if (active.empty()) break;
        }
      } else if (kind == "MIFGSM" || kind == "DIFGSM") {
        grad = loss_gradient_at(model, x_adv, y, target, stats, diversity);
      } else {
        // Nesterov look-ahead (Lin et al. eq. 8): x^nes = x + μ·α·g.
        const auto nes = x_adv + mu * alpha * momentum;
        if (kind == "NIFGSM") {
          grad = loss_gradient_at(model, nes, y, target, stats, nullptr);
        } else {
          // Scale invariance (eq. 9): the mean gradient over x^nes / 2^i, i < m.
          grad = torch::zeros_like(x);
          for (int64_t s = 0; s < options_.scales; ++s) {
            // Chain rule through x/2^i: the gradient in x is 2^-i times the one at x/2^i.
            const double scale = std::pow(2.0, -static_cast<double>(s));
            grad += scale * loss_gradient_at(model, nes * scale, y, target, stats, nullptr);
          }
          grad = grad / static_cast<double>(options_.scales);
        }
      }
      momentum = mu * momentum + normalise_l1(grad);
      x_adv = threat.project(threat.ascend(x_adv, momentum, alpha), xs);
    }
    return active.merge(x_adv);
  }

  std::shared_ptr<Attack> with(const Params& params) const override {
    std::vector<std::string> own = {"steps",       "step",           "decay",        "scales",
                                    "resize_rate", "diversity_prob", "random_start", "early_stop"};
    own.insert(own.end(), kGradientParamNames.begin(), kGradientParamNames.end());
    MomentumOptions options = options_;
    const auto& n = options_.kind;
    for (const auto& [key, value] : params) {
      if (key == "steps") options.steps = param_count(n, key, value, 0);
      if (key == "step") options.step = param_number(n, key, value);
      if (key == "decay") options.decay = param_number(n, key, value);
      if (key == "scales") options.scales = param_count(n, key, value, 1);
      if (key == "resize_rate") options.resize_rate = param_number(n, key, value);
      if (key == "diversity_prob") options.diversity_prob = param_number(n, key, value);
      if (key == "random_start") options.random_start = param_bool(n, key, value);
      if (key == "early_stop") options.early_stop = param_bool(n, key, value);
      apply_gradient_param(n, options.gradient, key, value);
    }
    return std::make_shared<Momentum>(forward_to_threat(n, own, threat_, params), options);
  }

 private:
  // The gradient of the attack's loss at `at`, optionally through an input transform.
  torch::Tensor loss_gradient_at(Model& model, const torch::Tensor& at, const torch::Tensor& y,
                                 const torch::Tensor& target, AttackStats* stats,
                                 const InputTransform& transform) const {
    return evaluate_loss(model, at, y, target, options_.gradient, stats, transform).grad;
  }

  // DI-FGSM's input diversity (torchattacks): with probability diversity_prob, resize to a
  // random size between the image size and resize_rate × it, then zero-pad at a random offset
  // back to the larger of the two; one draw for the whole batch.
  torch::Tensor input_diversity(const torch::Tensor& input, at::Generator& gen) const {
    if (input.dim() != 4) {
      throw Error("DIFGSM needs image inputs [N, C, H, W], got " +
                  format_shape(input.sizes().vec()));
    }
    const int64_t size = input.size(-1);
    int64_t lo = size, hi = static_cast<int64_t>(size * options_.resize_rate);
    if (options_.resize_rate < 1) std::swap(lo, hi);
    const int64_t rnd = draw_int(gen, lo, hi);
    const auto rescaled =
        torch::nn::functional::interpolate(input, torch::nn::functional::InterpolateFuncOptions()
                                                      .size(std::vector<int64_t>{rnd, rnd})
                                                      .mode(torch::kBilinear)
                                                      .align_corners(false));
    const int64_t rem = hi - rnd;
    // torchattacks draws the offsets from [0, rem).
    const int64_t top = draw_int(gen, 0, rem), left = draw_int(gen, 0, rem);
    const auto padded = torch::nn::functional::pad(
        rescaled,
        torch::nn::functional::PadFuncOptions({left, rem - left, top, rem - top}).value(0));
    return draw_uniform(gen) < options_.diversity_prob ? padded : input;
  }

  ThreatPtr threat_;
  MomentumOptions options_;
};

}  // namespace

AttackPtr make_momentum(ThreatPtr threat, MomentumOptions options) {
  return std::make_shared<Momentum>(std::move(threat), std::move(options));
}

}  // namespace perturb
