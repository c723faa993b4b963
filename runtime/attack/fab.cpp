// FAB (Croce & Hein 2020, "Minimally distorted adversarial examples with a fast adaptive
// boundary attack", Sec. 3, eqs. 5-9) with AutoAttack's defaults; targets > 0 is FAB-T, the
// targeted version AutoAttack runs (linearise z_t − z_y for the rank-th most likely class t).
#include <cmath>

#include "runtime/attack/attack_util.h"
#include "runtime/attack/attacks.h"
#include "runtime/core/error.h"
#include "runtime/report/format.h"
#include "runtime/threat/lp_threat.h"

namespace perturb {
namespace {

// Per row of `room` [m, D] (distances to the box in the direction that helps) with breakpoints
// `beta` (where a coordinate saturates), slopes `slope` and saturated contributions `sat`, the
// smallest τ ≥ 0 with Σ_{beta_i ≤ τ} sat_i + τ·Σ_{beta_i > τ} slope_i ≥ need; the largest
// breakpoint when even full saturation falls short. The function is piecewise linear and
// non-decreasing in τ, so sorting the breakpoints gives it exactly.
torch::Tensor solve_breakpoints(const torch::Tensor& beta, const torch::Tensor& slope,
                                const torch::Tensor& sat, const torch::Tensor& need) {
  const auto [sorted, order] = beta.sort(1);
  const auto s = slope.gather(1, order), c = sat.gather(1, order);
  const auto sat_before = c.cumsum(1);  // Σ_{j ≤ k} sat_j
  const auto slope_total = s.sum(1, /*keepdim=*/true);
  const auto slope_after = slope_total - s.cumsum(1);    // Σ_{j > k} slope_j
  const auto value = sat_before + sorted * slope_after;  // the function at breakpoint k
  const int64_t d = beta.size(1);
  // First breakpoint where the function reaches `need`; τ lies between it and the one before.
  auto k = (value < need.unsqueeze(1)).sum(1).clamp_max(d - 1);
  const auto prev = (k - 1).clamp_min(0).unsqueeze(1);
  const auto has_prev = (k > 0).to(beta.scalar_type());
  const auto sat_prev = sat_before.gather(1, prev).squeeze(1) * has_prev;
  const auto slope_rest =
      slope_total.squeeze(1) - (s.cumsum(1).gather(1, prev).squeeze(1) * has_prev);
  auto tau = (need - sat_prev) / slope_rest.clamp_min(1e-30);
  const auto top = sorted.select(1, d - 1);
  const auto feasible = value.select(1, d - 1) >= need;
  tau = torch::where(feasible, torch::minimum(tau.clamp_min(0), top), top);
  return tau;
}

// The smallest step d (Linf or L2 norm) with w·(p + d) = b and p + d in [lo, hi] (eq. 7 with
// the box, as AutoAttack's projection_linf / projection_l2); rows of p, w are flattened inputs
// [m, D], b is [m]. When the box makes the hyperplane unreachable, the step goes as far toward
// it as the box allows.
torch::Tensor project_hyperplane(const torch::Tensor& p, const torch::Tensor& w,
                                 const torch::Tensor& b, const std::string& norm, Domain box) {
  const auto c = b - (w * p).sum(1);                  // w·d must equal c
  const auto dir = w.sign() * c.sign().unsqueeze(1);  // the direction each coordinate moves
  const auto room = torch::where(dir > 0, box.hi - p, p - box.lo).clamp_min(0);
  const auto aw = w.abs();
  const auto need = c.abs();
  if (norm == "Linf") {
    // |d_i| = min(t, room_i): the function Σ aw_i·min(t, room_i).
    const auto t = solve_breakpoints(room, aw, aw * room, need);
    return dir * torch::minimum(t.unsqueeze(1), room);
  }
  // L2 (KKT): d_i = clamp(λ·w_i) to the box: Σ aw_i·min(λ·aw_i, room_i).
  const auto beta = torch::where(aw > 0, room / aw.clamp_min(1e-30), torch::zeros_like(room));
  const auto lambda = solve_breakpoints(beta, aw * aw, aw * room, need);
  return dir * torch::minimum(lambda.unsqueeze(1) * aw, room);
}

class Fab : public Attack {
 public:
  Fab(ThreatPtr threat, FabOptions options) : threat_(std::move(threat)), options_(options) {
    const auto& norm = threat_->name();
    if (norm != "Linf" && norm != "L2") {
      throw Error("FAB supports Linf and L2 threats, got " + threat_->describe());
    }
    if (options_.steps < 1) throw Error("FAB steps must be at least 1");
    if (options_.restarts < 1) throw Error("FAB restarts must be at least 1");
    if (options_.targets < 0) throw Error("FAB targets must not be negative");
    if (options_.alpha_max < 0 || options_.alpha_max > 1) {
      throw Error("FAB alpha_max must be in [0, 1], got " + format_number(options_.alpha_max));
    }
    if (options_.eta < 1)
      throw Error("FAB eta must be at least 1, got " + format_number(options_.eta));
    if (options_.beta <= 0 || options_.beta > 1) {
      throw Error("FAB beta must be in (0, 1], got " + format_number(options_.beta));
    }
  }

  std::string name() const override { return options_.targets > 0 ? "FAB-T" : "FAB"; }
  std::string describe() const override {
    return "FAB(" + threat_->describe() + ", steps: " + std::to_string(options_.steps) +
           ", restarts: " + std::to_string(options_.restarts) +
           ", targets: " + std::to_string(options_.targets) +
           ", alpha_max: " + format_number(options_.alpha_max) +
           ", eta: " + format_number(options_.eta) + ", beta: " + format_number(options_.beta) +
           ")";
  }
  ThreatPtr threat() const override { return threat_; }

  torch::Tensor run(Model& model, const torch::Tensor& x_in, const torch::Tensor& y_in,
                    at::Generator& gen, AttackStats* stats) const override {
    ModeGuard eval(model, /*training=*/false);
    const auto [x, y] = prepare_batch(model, x_in, y_in);
    auto result = x.clone();
    // AutoAttack's perturb(): only correctly classified samples, each target class (FAB-T) and
    // restart in turn on the samples not yet fooled within eps.
    auto fooled = predict(model, x, stats) != y;
    const int64_t rounds = std::max<int64_t>(options_.targets, 1);
    for (int64_t round = 0; round < rounds; ++round) {
      for (int64_t r = 0; r < options_.restarts; ++r) {
        const auto todo = fooled.logical_not().nonzero().reshape({-1});
        if (todo.numel() == 0) return result;
        const auto xs = x.index_select(0, todo), ys = y.index_select(0, todo);
        torch::Tensor target;
        if (options_.targets > 0) {
          target =
              resolve_target(model, xs, ys, {TargetSpec::Mode::kRanked, round + 1}, gen, stats);
        }
        auto [adv, dist] = single_run(model, xs, ys, target, /*random_start=*/r > 0, gen, stats);
        // A success counts only within eps (AutoAttack: acc_curr = max(acc_curr, res > eps)).
        adv = threat_->project(adv, xs);
        const auto ok =
            (dist <= threat_->eps() * (1 + 1e-6) + 1e-7) & (predict(model, adv, stats) != ys);
        const auto hit = todo.index({ok});
        result.index_put_({hit}, adv.index({ok}));
        fooled.index_put_({hit}, true);
      }
    }
    return result;
  }

  std::shared_ptr<Attack> with(const Params& params) const override {
    const std::vector<std::string> own = {"steps",     "restarts", "targets",
                                          "alpha_max", "eta",      "beta"};
    FabOptions options = options_;
    for (const auto& [key, value] : params) {
      if (key == "steps") options.steps = param_count("FAB", key, value, 1);
      if (key == "restarts") options.restarts = param_count("FAB", key, value, 1);
      if (key == "targets") options.targets = param_count("FAB", key, value, 0);
      if (key == "alpha_max") options.alpha_max = param_number("FAB", key, value);
      if (key == "eta") options.eta = param_number("FAB", key, value);
      if (key == "beta") options.beta = param_number("FAB", key, value);
    }
    return std::make_shared<Fab>(forward_to_threat("FAB", own, threat_, params), options);
  }

 private:
  // The differences of logits the attack linearises at x1 and their input gradients, flattened:
  // FAB-T one row (z_t − z_y); FAB every class j (z_j − z_y), with j = y excluded by a huge
  // difference. Returns f [n, K] and g [n, K, D].
  std::pair<torch::Tensor, torch::Tensor> differences(Model& model, const torch::Tensor& x1,
                                                      const torch::Tensor& y,
                                                      const torch::Tensor& target,
                                                      AttackStats* stats) const {
    torch::AutoGradMode grad_on(true);
    const int64_t n = x1.size(0);
    auto input = x1.detach().requires_grad_(true);
    const auto logits = model.forward(input);
    const auto z_y = logits.gather(1, y.unsqueeze(1)).squeeze(1);
    if (target.defined()) {
      const auto diff = logits.gather(1, target.unsqueeze(1)).squeeze(1) - z_y;
      const auto g = torch::autograd::grad({diff.sum()}, {input})[0];
      if (stats) stats->gradient_evals += n;
      return {diff.detach().unsqueeze(1), g.reshape({n, 1, -1})};
    }
    const int64_t classes = logits.size(1);
    std::vector<torch::Tensor> grads;
    for (int64_t j = 0; j < classes; ++j) {
      grads.push_back(torch::autograd::grad({logits.select(1, j).sum()}, {input}, {},
                                            /*retain_graph=*/true)[0]
                          .reshape({n, -1}));
    }
    if (stats) stats->gradient_evals += n * classes;
    const auto jac = torch::stack(grads, 1);  // [n, C, D]
    const auto idx = y.view({n, 1, 1}).expand({n, 1, jac.size(2)});
    const auto g = jac - jac.gather(1, idx);
    auto f = (logits - z_y.unsqueeze(1)).detach();
    f.scatter_(1, y.unsqueeze(1), 1e10);
    return {f, g};
  }

  // One run of FAB (Algorithm 1) from x0; returns the smallest adversarial point found and its
  // distance (1e10 where none was found).
  std::pair<torch::Tensor, torch::Tensor> single_run(Model& model, const torch::Tensor& x0,
                                                     const torch::Tensor& y,
                                                     const torch::Tensor& target, bool random_start,
                                                     at::Generator& gen, AttackStats* stats) const {
    const auto& norm = threat_->name();
    const Domain box = threat_domain(*threat_);
    const int64_t n = x0.size(0);
    const auto x0_flat = x0.reshape({n, -1});
    auto best = x0.clone();
    auto best_dist = torch::full({n}, 1e10, x0.options());
    auto x1 = x0.clone();
    if (random_start) {
      // Half of eps in a random direction (AutoAttack: min(res2, eps)·t/‖t‖·0.5).
      const auto t = norm == "Linf" ? 2 * rand_like_with(x0, gen) - 1 : randn_like_with(x0, gen);
      const auto scale = threat_->eps() * 0.5 / sample_norms(t, norm).clamp_min(1e-12);
      x1 = (x0 + per_sample(scale, x0) * t).clamp(box.lo, box.hi);
    }
    const auto rows = torch::arange(n, y.options());
    for (int64_t it = 0; it < options_.steps; ++it) {
      auto [f, g] = differences(model, x1, y, target, stats);
      torch::NoGradGuard no_grad;
      // Distance to each linearised boundary (eq. 5): |f_j| / ‖∇f_j‖_dual; the closest one.
      const auto dual = norm == "Linf" ? g.abs().sum(2) : g.pow(2).sum(2).sqrt();
      const auto closest = (f.abs() / (dual + 1e-12)).argmin(1);
      const auto w = g.index({rows, closest});          // [n, D]
      const auto f_closest = f.index({rows, closest});  // [n]
      const auto x1_flat = x1.reshape({n, -1});
      // The hyperplane f + w·(z − x1) = 0, i.e. w·z = w·x1 − f; project x1 and x0 onto it
      // within the box (eq. 7), in one batch.
      const auto b = (w * x1_flat).sum(1) - f_closest;
      const auto d = project_hyperplane(torch::cat({x1_flat, x0_flat}), torch::cat({w, w}),
                                        torch::cat({b, b}), norm, box);
      const auto d1 = d.slice(0, 0, n), d2 = d.slice(0, n);
      const auto a1 = sample_norms(d1, norm).clamp_min(1e-8);
      const auto a2 = sample_norms(d2, norm).clamp_min(1e-8);
      // The biased step (eq. 9): alpha = min(‖d1‖ / (‖d1‖ + ‖d2‖), alpha_max), extrapolated by
      // eta; then back into the box.
      const auto alpha = (a1 / (a1 + a2)).clamp(0, options_.alpha_max).unsqueeze(1);
      const auto next =
          ((x1_flat + options_.eta * d1) * (1 - alpha) + (x0_flat + options_.eta * d2) * alpha)
              .clamp(box.lo, box.hi)
              .reshape(x0.sizes());
      x1 = next;
      const auto adversarial = predict(model, x1, stats) != y;
      const auto dist = sample_norms(x1 - x0, norm);
      const auto better = adversarial & (dist < best_dist);
      best = torch::where(per_sample(better, x0), x1, best);
      best_dist = torch::where(better, dist, best_dist);
      // Back towards x0 once on the other side (eq. 9's final step, beta).
      x1 = torch::where(per_sample(adversarial, x0), x0 + (x1 - x0) * options_.beta, x1);
    }
    return {best, best_dist};
  }

  ThreatPtr threat_;
  FabOptions options_;
};

}  // namespace

AttackPtr make_fab(ThreatPtr threat, FabOptions options) {
  return std::make_shared<Fab>(std::move(threat), options);
}

}  // namespace perturb
