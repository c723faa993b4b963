// FAB (Croce & Hein 2020, "Minimally distorted adversarial examples with a fast adaptive
// boundary attack", Sec. 3, eqs. 5-9) with AutoAttack's defaults; targets > 0 is FAB-T, the
// targeted version AutoAttack runs (linearise z_t − z_y for the rank-th most likely class t).
#include <cmath>

#include "runtime/attack/attack_util.h"
#include "runtime/attack/attacks.h"
#include "runtime/attack/loss.h"
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
           (early_stop_ ? ", early_stop: true" : "") + ")";
  }
  ThreatPtr threat() const override { return threat_; }
  bool can_stop_early() const override { return true; }

  torch::Tensor run(Model& model, const torch::Tensor& x_in, const torch::Tensor& y_in,
                    at::Generator& gen, AttackStats* stats) const override {
    AttackModeGuard attack_mode(model);  // eval mode, weights frozen
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
        const auto ok = (dist <= eps_bound()) & (predict(model, adv, stats) != ys);
        const auto hit = todo.index({ok});
        result.index_put_({hit}, adv.index({ok}));
        fooled.index_put_({hit}, true);
      }
    }
    return result;
  }

  std::shared_ptr<Attack> with(const Params& params) const override {
    const std::vector<std::string> own = {"steps", "restarts", "targets",   "alpha_max",
                                          "eta",   "beta",     "early_stop"};
    FabOptions options = options_;
    bool early_stop = early_stop_;
    for (const auto& [key, value] : params) {
      if (key == "steps") options.steps = param_count("FAB", key, value, 1);
      if (key == "restarts") options.restarts = param_count("FAB", key, value, 1);
      if (key == "targets") options.targets = param_count("FAB", key, value, 0);
      if (key == "alpha_max") options.alpha_max = param_number("FAB", key, value);
      if (key == "eta") options.eta = param_number("FAB", key, value);
      if (key == "beta") options.beta = param_number("FAB", key, value);
      if (key == "early_stop") early_stop = param_bool("FAB", key, value);
    }
    auto out = std::make_shared<Fab>(forward_to_threat("FAB", own, threat_, params), options);
    out->early_stop_ = early_stop;
    return out;
  }

 private:
  // The largest distance that still counts as inside the threat (float slack on eps).
  double eps_bound() const { return threat_->eps() * (1 + 1e-6) + 1e-7; }

  // What one FAB step needs at x1: the differences of logits the attack linearises and their
  // input gradients, flattened (FAB-T one row, z_t − z_y; FAB every class j, z_j − z_y, with
  // j = y excluded by a huge difference), and the class the model predicts at x1, which comes
  // from the same forward pass. f [n, K], g [n, K, D], pred [n].
  struct Linearisation {
    torch::Tensor f, g, pred;
  };
  Linearisation linearise(Model& model, const torch::Tensor& x1, const torch::Tensor& y,
                          const torch::Tensor& target, AttackStats* stats) const {
    torch::AutoGradMode grad_on(true);
    const int64_t n = x1.size(0);
    auto input = x1.detach().requires_grad_(true);
    const auto logits = model.forward(input);
    const auto pred = logits.detach().argmax(1);
    const auto z_y = logits.gather(1, y.unsqueeze(1)).squeeze(1);
    if (target.defined()) {
      // One backward of the one difference (AutoAttack's get_diff_logits_grads_batch_targeted),
      // only down to the input: the model's weights need no gradient here.
      const auto diff = logits.gather(1, target.unsqueeze(1)).squeeze(1) - z_y;
      const auto g = torch::autograd::grad({diff.sum()}, {input})[0];
      if (stats) stats->gradient_evals += n;
      return {diff.detach().unsqueeze(1), g.reshape({n, 1, -1}), pred};
    }
    const int64_t classes = logits.size(1);
    std::vector<torch::Tensor> grads;
    for (int64_t j = 0; j < classes; ++j) {
      grads.push_back(torch::autograd::grad({logits.select(1, j).sum()}, {input}, {},
                                            /*retain_graph=*/j + 1 < classes)[0]
                          .reshape({n, -1}));
    }
    if (stats) stats->gradient_evals += n * classes;
    const auto jac = torch::stack(grads, 1);  // [n, C, D]
    const auto idx = y.view({n, 1, 1}).expand({n, 1, jac.size(2)});
    const auto g = jac - jac.gather(1, idx);
    auto f = (logits - z_y.unsqueeze(1)).detach();
    f.scatter_(1, y.unsqueeze(1), 1e10);
    return {f, g, pred};
  }

  // One step of FAB (Algorithm 1, eqs. 5-9) from x1 (flattened [n, D]) with the linearisation
  // `lin` at x1, x0 the originals (flattened): the next iterate, flattened, inside the box.
  torch::Tensor step(const Linearisation& lin, const torch::Tensor& x1_flat,
                     const torch::Tensor& x0_flat, Domain box) const {
    const auto& norm = threat_->name();
    const int64_t n = x1_flat.size(0);
    torch::Tensor w, f_closest;
    if (lin.f.size(1) == 1) {
      w = lin.g.select(1, 0);
      f_closest = lin.f.select(1, 0);
    } else {
      // Distance to each linearised boundary (eq. 5): |f_j| / ‖∇f_j‖_dual; the closest one.
      const auto dual = norm == "Linf" ? lin.g.abs().sum(2) : lin.g.pow(2).sum(2).sqrt();
      const auto closest = (lin.f.abs() / (dual + 1e-12)).argmin(1);
      const auto rows = torch::arange(n, closest.options());
      w = lin.g.index({rows, closest});  // [n, D]
      f_closest = lin.f.index({rows, closest});
    }
    // The hyperplane f + w·(z − x1) = 0, i.e. w·z = w·x1 − f; project x1 and x0 onto it within
    // the box (eq. 7), in one batch.
    const auto b = (w * x1_flat).sum(1) - f_closest;
    const auto d = project_hyperplane(torch::cat({x1_flat, x0_flat}), torch::cat({w, w}),
                                      torch::cat({b, b}), norm, box);
    const auto d1 = d.slice(0, 0, n), d2 = d.slice(0, n);
    const auto a1 = sample_norms(d1, norm).clamp_min(1e-8);
    const auto a2 = sample_norms(d2, norm).clamp_min(1e-8);
    // The biased step (eq. 9): alpha = min(‖d1‖ / (‖d1‖ + ‖d2‖), alpha_max), extrapolated by
    // eta; then back into the box.
    const auto alpha = (a1 / (a1 + a2)).clamp(0, options_.alpha_max).unsqueeze(1);
    return ((x1_flat + options_.eta * d1) * (1 - alpha) + (x0_flat + options_.eta * d2) * alpha)
        .clamp(box.lo, box.hi);
  }

  // One run of FAB (Algorithm 1) from x0; returns the smallest adversarial point found and its
  // distance (1e10 where none was found). With early_stop a sample leaves the run as soon as
  // a point within eps fools the model, and that first such point is its result.
  //
  // The prediction at each new iterate and the linearisation there for the next step share one
  // forward pass: the original runs a forward without gradient for the prediction and then a
  // forward with gradient at the same point for the next step (the same point unless the
  // iterate fooled the model and is pulled back by beta). Here the forward with gradient comes
  // first and gives both; only the rows pulled back are linearised again. While many rows are
  // pulled back that costs more than it saves, so the run falls back to the original order for
  // an iteration after one where half or more of the rows were.
  std::pair<torch::Tensor, torch::Tensor> single_run(Model& model, const torch::Tensor& x0,
                                                     const torch::Tensor& y_in,
                                                     const torch::Tensor& target_in,
                                                     bool random_start, at::Generator& gen,
                                                     AttackStats* stats) const {
    torch::NoGradGuard no_grad;
    const auto& norm = threat_->name();
    const Domain box = threat_domain(*threat_);
    const int64_t n = x0.size(0);
    const auto shape = x0.sizes().vec();
    auto best = x0.reshape({n, -1}).clone();
    auto best_dist = torch::full({n}, 1e10, x0.options());
    auto x1 = x0.reshape({n, -1}).clone();
    if (random_start) {
      // Half of eps in a random direction (AutoAttack: min(res2, eps)·t/‖t‖·0.5).
      const auto t = norm == "Linf" ? 2 * rand_like_with(x0, gen) - 1 : randn_like_with(x0, gen);
      const auto scale = threat_->eps() * 0.5 / sample_norms(t, norm).clamp_min(1e-12);
      x1 = (x0 + per_sample(scale, x0) * t).clamp(box.lo, box.hi).reshape({n, -1});
    }
    // The rows still iterating (all of them unless early_stop took some out) and their data.
    torch::Tensor active;  // undefined while every row is active
    auto x0_flat = x0.reshape({n, -1});
    auto y = y_in;
    auto target = target_in;
    auto unflat = [&](const torch::Tensor& t) {
      auto s = shape;
      s[0] = t.size(0);
      return t.reshape(s);
    };
    auto lin = linearise(model, unflat(x1), y, target, stats);
    bool fuse = true;
    for (int64_t it = 0; it < options_.steps; ++it) {
      const int64_t m = x1.size(0);
      const auto next = step(lin, x1, x0_flat, box);
      const bool last = it + 1 == options_.steps;
      Linearisation next_lin;
      torch::Tensor adversarial;
      if (!last && fuse) {
        next_lin = linearise(model, unflat(next), y, target, stats);
        adversarial = next_lin.pred != y;
      } else {
        adversarial = predict(model, unflat(next), stats) != y;
      }
      const auto dist = sample_norms(next - x0_flat, norm);
      auto row_best = active.defined() ? best.index_select(0, active) : best;
      auto row_dist = active.defined() ? best_dist.index_select(0, active) : best_dist;
      const auto better = adversarial & (dist < row_dist);
      row_best = torch::where(better.unsqueeze(1), next, row_best);
      row_dist = torch::where(better, dist, row_dist);
      if (active.defined()) {
        best.index_copy_(0, active, row_best);
        best_dist.index_copy_(0, active, row_dist);
      } else {
        best = row_best;
        best_dist = row_dist;
      }
      if (last) break;
      // Back towards x0 once on the other side (eq. 9's final step, beta).
      const auto pulled = adversarial.nonzero().reshape({-1});
      const int64_t n_pulled = pulled.numel();
      x1 = next;
      if (n_pulled > 0) {
        const auto x0_p = x0_flat.index_select(0, pulled);
        x1.index_copy_(0, pulled, x0_p + (next.index_select(0, pulled) - x0_p) * options_.beta);
      }
      if (!fuse) {
        next_lin = linearise(model, unflat(x1), y, target, stats);
      } else if (n_pulled > 0) {
        const auto t_p = target.defined() ? target.index_select(0, pulled) : target;
        const auto again = linearise(model, unflat(x1.index_select(0, pulled)),
                                     y.index_select(0, pulled), t_p, stats);
        next_lin.f.index_copy_(0, pulled, again.f);
        next_lin.g.index_copy_(0, pulled, again.g);
      }
      fuse = 2 * n_pulled < m;
      lin = std::move(next_lin);
      if (!early_stop_) continue;
      // Rows whose best point is already inside the threat are done.
      const auto keep = (row_dist > eps_bound()).nonzero().reshape({-1});
      if (keep.numel() == m) continue;
      if (stats) {
        // Each row that leaves skips one linearisation per remaining iteration: one gradient
        // for FAB-T, one per class (the width of lin.g) for the untargeted run.
        const int64_t per_row = lin.g.size(1);
        stats->gradient_evals_saved += (m - keep.numel()) * (options_.steps - it - 1) * per_row;
      }
      if (keep.numel() == 0) break;
      active = active.defined() ? active.index_select(0, keep) : keep;
      x1 = x1.index_select(0, keep);
      x0_flat = x0_flat.index_select(0, keep);
      y = y.index_select(0, keep);
      if (target.defined()) target = target.index_select(0, keep);
      lin = {lin.f.index_select(0, keep), lin.g.index_select(0, keep), lin.pred};
    }
    return {best.reshape(shape), best_dist};
  }

  ThreatPtr threat_;
  FabOptions options_;
  // Only through .with(early_stop: true) (evaluate sets it): FabOptions keeps the reference.
  bool early_stop_ = false;
};

}  // namespace

AttackPtr make_fab(ThreatPtr threat, FabOptions options) {
  return std::make_shared<Fab>(std::move(threat), options);
}

}  // namespace perturb
