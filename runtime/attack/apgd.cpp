// APGD (Croce & Hein 2020, "Reliable evaluation of adversarial robustness with an ensemble of
// diverse parameter-free attacks", Algorithm 1) with AutoAttack's schedule and defaults.
#include <cmath>

#include "runtime/attack/attack_util.h"
#include "runtime/attack/attacks.h"
#include "runtime/core/error.h"
#include "runtime/report/format.h"
#include "runtime/threat/lp_threat.h"

namespace perturb {
namespace {

class Apgd : public Attack {
 public:
  Apgd(ThreatPtr threat, ApgdOptions options)
      : threat_(std::move(threat)), options_(std::move(options)) {
    if (options_.steps < 1) throw Error("APGD steps must be at least 1");
    if (options_.restarts < 1) throw Error("APGD restarts must be at least 1");
    if (options_.targets < 0) throw Error("APGD targets must not be negative");
    if (options_.rho <= 0 || options_.rho > 1) {
      throw Error("APGD rho must be in (0, 1], got " + format_number(options_.rho));
    }
    if (options_.targets > 0 && options_.gradient.target.targeted()) {
      throw Error("APGD takes either targets: (APGD-T over the most likely classes) or target:");
    }
    options_.gradient.check("APGD");
    if (options_.gradient.objective == "feature" && options_.targets > 0) {
      throw Error("APGD targets: ranks classes; a feature attack takes target: and gallery:");
    }
    if (!threat_->additive()) {
      throw Error(
          "APGD needs an additive threat (Linf, L2, L1, Wasserstein or an intersection), "
          "got " +
          threat_->describe() + "; PGD searches parametric and composed threats");
    }
    check_early_stop("APGD", options_.gradient, options_.early_stop);
  }

  bool can_stop_early() const override { return early_stop_possible(options_.gradient); }

  std::string name() const override { return options_.targets > 0 ? "APGD-T" : "APGD"; }
  std::string describe() const override {
    std::string out = "APGD(" + threat_->describe() + ", steps: " + std::to_string(options_.steps) +
                      ", restarts: " + std::to_string(options_.restarts) +
                      ", rho: " + format_number(options_.rho);
    if (options_.targets > 0) out += ", targets: " + std::to_string(options_.targets);
    return out + options_.gradient.describe() + (options_.early_stop ? ", early_stop: true" : "") +
           ")";
  }
  ThreatPtr threat() const override { return threat_; }

  torch::Tensor run(Model& model, const torch::Tensor& x_in, const torch::Tensor& y_in,
                    at::Generator& gen, AttackStats* stats) const override {
    AttackModeGuard mode(model, options_.gradient);
    const auto [x, y] = prepare_batch(model, x_in, y_in);
    // AutoAttack's perturb(): every restart (and, for APGD-T, every target class) runs only on
    // the samples not yet fooled; a sample's result is its first success, else the best-loss
    // point of its last run.
    auto result = x.clone();
    // Samples the model already gets wrong are left alone (AutoAttack attacks acc == 1 only).
    // A feature objective has no misclassification: every sample runs, keeping its best loss.
    const bool feature = options_.gradient.objective == "feature";
    auto fooled = feature ? torch::zeros_like(y, y.options().dtype(torch::kBool))
                          : predict(model, x, stats) != y;
    const int64_t rounds = std::max<int64_t>(options_.targets, 1);
    for (int64_t round = 0; round < rounds; ++round) {
      TargetSpec spec = options_.gradient.target;
      if (options_.targets > 0) spec = {TargetSpec::Mode::kRanked, round + 1};
      for (int64_t r = 0; r < options_.restarts; ++r) {
        const auto todo = fooled.logical_not().nonzero().reshape({-1});
        if (todo.numel() == 0) return result;
        const auto xs = x.index_select(0, todo), ys = y.index_select(0, todo);
        const auto target = feature ? resolve_target(model, xs, ys, options_.gradient, gen, stats)
                                    : resolve_target(model, xs, ys, spec, gen, stats);
        auto [best, success] = single_run(model, xs, ys, target, gen, stats);
        result.index_put_({todo}, best);
        // Success means misclassified for the true label, also in targeted mode (AutoAttack).
        fooled.index_put_({todo}, success);
      }
    }
    return result;
  }

  std::shared_ptr<Attack> with(const Params& params) const override {
    std::vector<std::string> own = {"steps", "restarts", "rho", "targets", "early_stop"};
    own.insert(own.end(), kGradientParamNames.begin(), kGradientParamNames.end());
    ApgdOptions options = options_;
    for (const auto& [key, value] : params) {
      if (key == "steps") options.steps = param_count("APGD", key, value, 1);
      if (key == "restarts") options.restarts = param_count("APGD", key, value, 1);
      if (key == "rho") options.rho = param_number("APGD", key, value);
      if (key == "targets") options.targets = param_count("APGD", key, value, 0);
      if (key == "early_stop") options.early_stop = param_bool("APGD", key, value);
      apply_gradient_param("APGD", options.gradient, key, value);
    }
    return std::make_shared<Apgd>(forward_to_threat("APGD", own, threat_, params), options);
  }

 private:
  // APGD-L1's sparse step (Croce & Hein 2021, "Mind the box", Sec. 3.1): the sign of the
  // gradient on its largest-magnitude coordinates — the top `topk` fraction per sample — scaled
  // to L1 norm `step`, then projected onto the L1 ball ∩ box. No momentum, as in the reference.
  torch::Tensor sparse_l1_step(const torch::Tensor& x_adv, const torch::Tensor& grad,
                               const torch::Tensor& step, const torch::Tensor& topk,
                               const torch::Tensor& x) const {
    const int64_t features = grad[0].numel();
    const auto magnitude = grad.abs().flatten(1);
    const auto rank = ((1 - topk) * features).clamp(0, features - 1).to(torch::kLong);
    const auto threshold = std::get<0>(magnitude.sort(1)).gather(1, rank.view({-1, 1}));
    const auto direction = (grad.sign().flatten(1) * (magnitude >= threshold)).view_as(grad);
    const auto count = direction.abs().flatten(1).sum(1) + 1e-10;
    return threat_->project(x_adv + per_sample(step / count, x) * direction, x);
  }

  // AutoAttack's random start: Linf x + eps·t/‖t‖∞ with t ~ U(−1, 1); L2 x + eps·t/‖t‖₂ with
  // t ~ N(0, 1); other threats their own sample(); then into the set.
  torch::Tensor random_start(const torch::Tensor& x, at::Generator& gen) const {
    const auto& norm = threat_->name();
    if (norm == "Linf") {
      const auto t = 2 * rand_like_with(x, gen) - 1;
      return threat_->project(
          x + threat_->eps() * t / per_sample(sample_norms(t, "Linf").clamp_min(1e-12), x), x);
    }
    if (norm == "L2") {
      const auto t = randn_like_with(x, gen);
      return threat_->project(
          x + threat_->eps() * t / per_sample(sample_norms(t, "L2").clamp_min(1e-12), x), x);
    }
    // L1 (Croce & Hein 2021): x + t with t ~ N(0, 1), projected onto the L1 ball ∩ box.
    if (norm == "L1") return threat_->project(x + randn_like_with(x, gen), x);
    return threat_->sample(x, gen);
  }

  // One run of Algorithm 1; returns (x_best_adv where fooled else x_best, fooled). With early
  // stop a sample leaves at its first misclassified iterate, which is its x_best_adv; all the
  // per-sample state below then holds the samples still running.
  std::pair<torch::Tensor, torch::Tensor> single_run(Model& model, const torch::Tensor& x_in,
                                                     const torch::Tensor& y_in,
                                                     const torch::Tensor& target_in,
                                                     at::Generator& gen, AttackStats* stats) const {
    torch::Tensor x = x_in, y = y_in, target = target_in;
    ActiveSet active(x, options_.early_stop, stats);
    const int64_t n_iter = options_.steps;
    // Checkpoints (Sec. 3.2): first after p₁ = 0.22 of the steps, then each interval shorter by
    // 0.03 of the steps, never below 0.06 of them.
    const int64_t n_iter_2 = std::max<int64_t>(static_cast<int64_t>(0.22 * n_iter), 1);
    const int64_t n_iter_min = std::max<int64_t>(static_cast<int64_t>(0.06 * n_iter), 1);
    const int64_t size_decr = std::max<int64_t>(static_cast<int64_t>(0.03 * n_iter), 1);
    int64_t batch = x.size(0);
    const auto& gopts = options_.gradient;

    const bool l1 = threat_->name() == "L1";
    auto x_adv = random_start(x, gen);
    auto eval = evaluate_loss(model, x_adv, y, target, gopts, stats);
    auto grad = eval.grad;
    const bool feature = gopts.objective == "feature";
    auto misclassified = [&](const LossEval& e) {
      return feature ? torch::zeros_like(y, y.options().dtype(torch::kBool))
                     : e.logits.argmax(1) != y;
    };
    auto fooled = misclassified(eval);
    auto x_best_adv = x_adv.clone();
    auto x_best = x_adv.clone();
    auto grad_best = grad.clone();
    auto loss_best = eval.loss.clone();
    auto loss_steps = torch::zeros({n_iter, batch}, x.options());

    // Step size η = alpha·eps per sample (AutoAttack's alpha: 2 for Linf and L2, 1 for L1).
    const double full_step = (l1 ? 1.0 : 2.0) * threat_->eps();
    auto step_size = torch::full({batch}, full_step, x.options());
    auto x_adv_old = x_adv.clone();
    // APGD-L1 checks every 4% of the steps and adapts the sparsity of its step instead.
    int64_t k = l1 ? std::max<int64_t>(static_cast<int64_t>(0.04 * n_iter), 1) : n_iter_2;
    int64_t counter = 0;
    const double features = static_cast<double>(x[0].numel());
    auto topk = torch::full({batch}, 0.2, x.options());
    auto sparsity_old = torch::full({batch}, features, x.options());
    auto loss_best_last_check = loss_best.clone();
    auto reduced_last_check = torch::ones({batch}, x.options());
    // After samples left (retire() true): every per-sample tensor keeps the rows still running.
    const auto compact = [&] {
      for (auto* t : {&x, &y, &target, &x_adv, &grad, &fooled, &x_best_adv, &x_best, &grad_best,
                      &loss_best, &step_size, &x_adv_old, &topk, &sparsity_old,
                      &loss_best_last_check, &reduced_last_check}) {
        *t = active.compact(*t);
      }
      loss_steps = active.compact(loss_steps, /*dim=*/1);
      batch = active.size();
    };
    if (active.retire(fooled, x_adv, n_iter)) {
      compact();
      fooled = torch::zeros_like(fooled);
    }

    for (int64_t i = 0; i < n_iter && !active.empty(); ++i) {
      if (l1) {
        x_adv = sparse_l1_step(x_adv, grad, step_size, topk, x);
      } else {
        // z = P(x + η·step(∇)), x ← P(x + a(z − x) + (1 − a)(x − x_old)), a = 0.75 after the
        // first step (eq. 2, momentum).
        const auto grad2 = x_adv - x_adv_old;
        x_adv_old = x_adv.clone();
        const double a = i > 0 ? 0.75 : 1.0;
        const auto direction = threat_->ascend(torch::zeros_like(x_adv), grad, 1.0);
        auto z = threat_->project(x_adv + per_sample(step_size, x) * direction, x);
        x_adv = threat_->project(x_adv + (z - x_adv) * a + grad2 * (1 - a), x);
      }
      eval = evaluate_loss(model, x_adv, y, target, gopts, stats);
      grad = eval.grad;
      auto now_fooled = misclassified(eval);
      if (active.retire(now_fooled, x_adv, n_iter - 1 - i)) {
        compact();
        eval.loss = active.compact(eval.loss);
        now_fooled = torch::zeros_like(fooled);
        if (active.empty()) break;
      }
      // AutoAttack overwrites x_best_adv with every misclassified iterate.
      x_best_adv = torch::where(per_sample(now_fooled, x), x_adv, x_best_adv);
      fooled = fooled | now_fooled;

      const auto& loss = eval.loss;
      loss_steps[i] = loss;
      const auto improved = loss > loss_best;
      x_best = torch::where(per_sample(improved, x), x_adv, x_best);
      grad_best = torch::where(per_sample(improved, x), grad, grad_best);
      loss_best = torch::where(improved, loss, loss_best);

      if (++counter == k && l1) {
        // "Mind the box", Sec. 3.2: the next sparsity is the best point's L0 norm / 1.5; the
        // step returns to alpha·eps where that sparsity fell by over 5% (and the iterate to the
        // best point), else shrinks by 1.5, never below alpha·eps/10.
        const auto sparsity = (x_best - x).flatten(1).ne(0).sum(1).to(x.scalar_type());
        const auto sparser = sparsity / sparsity_old < 0.95;
        topk = sparsity / features / 1.5;
        step_size = torch::where(sparser, torch::full_like(step_size, full_step), step_size / 1.5)
                        .clamp(full_step / 10, full_step);
        sparsity_old = sparsity;
        x_adv = torch::where(per_sample(sparser, x), x_best, x_adv);
        grad = torch::where(per_sample(sparser, x), grad_best, grad);
        counter = 0;
      } else if (counter == k) {
        // Condition 1: the loss increased in fewer than rho·k of the last k steps
        // (check_oscillation; AutoAttack reads loss_steps[i − k], which is row n_iter − 1,
        // still zero, at the first checkpoint).
        auto increases = torch::zeros({batch}, x.options());
        for (int64_t c = 0; c < k; ++c) {
          const int64_t j = i - c, prev = (i - c - 1 + n_iter) % n_iter;
          increases += (loss_steps[j] > loss_steps[prev]).to(x.scalar_type());
        }
        auto oscillating = (increases <= k * options_.rho).to(x.scalar_type());
        // Condition 2: the step was not reduced last time and the best loss did not improve.
        const auto no_improvement =
            (1 - reduced_last_check) * (loss_best_last_check >= loss_best).to(x.scalar_type());
        oscillating = torch::maximum(oscillating, no_improvement);
        reduced_last_check = oscillating.clone();
        loss_best_last_check = loss_best.clone();
        const auto halve = oscillating > 0;
        // Halve the step and restart from the best point, with its gradient.
        step_size = torch::where(halve, step_size / 2, step_size);
        x_adv = torch::where(per_sample(halve, x), x_best, x_adv);
        grad = torch::where(per_sample(halve, x), grad_best, grad);
        k = std::max(k - size_decr, n_iter_min);
        counter = 0;
      }
    }
    return {active.merge(torch::where(per_sample(fooled, x), x_best_adv, x_best)),
            active.merge_flags(fooled)};
  }

  ThreatPtr threat_;
  ApgdOptions options_;
};

}  // namespace

AttackPtr make_apgd(ThreatPtr threat, ApgdOptions options) {
  return std::make_shared<Apgd>(std::move(threat), std::move(options));
}

}  // namespace perturb
