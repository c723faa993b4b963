// PGD (Madry et al. 2018) with torchattacks' semantics, plus restarts.
#include "runtime/attack/pgd.h"

#include "runtime/attack/attack_util.h"
#include "runtime/attack/feature.h"
#include "runtime/attack/threat_search.h"
#include "runtime/core/error.h"
#include "runtime/report/format.h"

namespace perturb {

Pgd::Pgd(ThreatPtr threat, PgdOptions options) : threat_(std::move(threat)), options_(options) {
  if (options_.steps < 0) throw Error("PGD steps must not be negative");
  if (options_.restarts < 1) throw Error("PGD restarts must be at least 1");
  if (options_.step && *options_.step < 0) throw Error("PGD step must not be negative");
  options_.gradient.check("PGD");
  check_feature_start("PGD", options_.gradient, options_.random_start);
  check_early_stop("PGD", options_.gradient, options_.early_stop);
}

namespace {

// Threats whose search early stop shortens: additive ones, and unions with an additive member.
bool stops_early_under(const Threat& threat) {
  if (threat.additive()) return true;
  for (const auto& member : threat.alternatives()) {
    if (stops_early_under(*member)) return true;
  }
  return false;
}

}  // namespace

bool Pgd::can_stop_early() const {
  return early_stop_possible(options_.gradient) && stops_early_under(*threat_);
}

double Pgd::step() const {
  return options_.step.value_or(threat_->default_step(options_.steps));
}

std::string Pgd::describe() const {
  return "PGD(" + threat_->describe() + ", steps: " + std::to_string(options_.steps) +
         ", step: " + format_number(step()) +
         ", random_start: " + bool_text(options_.random_start) +
         ", restarts: " + std::to_string(options_.restarts) + options_.gradient.describe() +
         (options_.early_stop ? ", early_stop: true" : "") + ")";
}

torch::Tensor Pgd::run_once(Model& model, const torch::Tensor& x, const torch::Tensor& y,
                            const torch::Tensor& target, at::Generator& gen,
                            AttackStats* stats) const {
  if (!threat_->additive()) {
    // Parametric and composed threats: a grid (search: "grid") or gradient ascent on the
    // threat's search state, chained from the gradient w.r.t. the attacked input.
    const auto grid = threat_->grid_states(x);
    if (!grid.empty()) {
      return search_grid(*threat_, x, grid, goal_score(model, y, target, options_.gradient, stats));
    }
    return search_state(*threat_, x, gen, options_.random_start, options_.steps, options_.step,
                        [&](const torch::Tensor& x_adv) {
                          return loss_gradient(model, x_adv, y, options_.gradient, stats, target);
                        });
  }
  auto x_adv = options_.random_start ? threat_->sample(x, gen) : x.clone();
  const double alpha = step();
  for (int64_t i = 0; i < options_.steps; ++i) {
    const auto grad = loss_gradient(model, x_adv, y, options_.gradient, stats, target);
    x_adv = threat_->project(threat_->ascend(x_adv, grad, alpha), x);
  }
  return x_adv;
}

torch::Tensor Pgd::run(Model& model, const torch::Tensor& x_in, const torch::Tensor& y_in,
                       at::Generator& gen, AttackStats* stats) const {
  AttackModeGuard mode(model, options_.gradient);
  const auto [x, y] = prepare_batch(model, x_in, y_in);
  const auto target = resolve_target(model, x, y, options_.gradient, gen, stats);
  return run_resolved(model, x, y, target, gen, stats);
}

torch::Tensor Pgd::run_resolved(Model& model, const torch::Tensor& x, const torch::Tensor& y,
                                const torch::Tensor& target, at::Generator& gen,
                                AttackStats* stats) const {
  // A union (a | b): attack under each member, keep the worse result per sample.
  const auto worst = worst_over_members(
      *threat_,
      [&](const ThreatPtr& m) {
        return Pgd(m, options_).run_resolved(model, x, y, target, gen, stats);
      },
      goal_score(model, y, target, options_.gradient, stats));
  if (worst.defined()) return worst;
  if (options_.early_stop && threat_->additive()) return run_early(model, x, y, target, gen, stats);
  if (options_.restarts == 1) return run_once(model, x, y, target, gen, stats);
  if (options_.gradient.objective == "feature") {
    // A feature attack has no success to stop at: per sample, the restart of largest distance.
    std::vector<torch::Tensor> runs;
    for (int64_t r = 0; r < options_.restarts; ++r) {
      runs.push_back(run_once(model, x, y, target, gen, stats));
    }
    return keep_worst(runs, goal_score(model, y, target, options_.gradient, stats));
  }

  // Per sample, keep the first restart that fools the model, else the last restart's result.
  auto best = x.clone();
  auto fooled = torch::zeros({x.size(0)}, y.options().dtype(torch::kBool));
  for (int64_t r = 0; r < options_.restarts; ++r) {
    const auto x_adv = run_once(model, x, y, target, gen, stats);
    const auto take = fooled.logical_not();
    best.index_put_({take}, x_adv.index({take}));
    fooled = fooled | attack_succeeded(model, x_adv, y, target, stats);
  }
  return best;
}

torch::Tensor Pgd::run_early(Model& model, const torch::Tensor& x, const torch::Tensor& y,
                             const torch::Tensor& target, at::Generator& gen,
                             AttackStats* stats) const {
  ActiveSet active(x, /*enabled=*/true, stats);
  // The active samples' inputs, labels and targets, compacted with their points.
  torch::Tensor xs = x, ys = y, ts = target, x_adv;
  const auto compact = [&] {
    xs = active.compact(xs);
    ys = active.compact(ys);
    ts = active.compact(ts);
    x_adv = active.compact(x_adv);
  };
  const int64_t steps = options_.steps, restarts = options_.restarts;
  const double alpha = step();
  for (int64_t r = 0; r < restarts && !active.empty(); ++r) {
    // The start is drawn for the whole batch, so each sample starts where it would without
    // early stop (the generator's stream does not depend on who is left).
    if (options_.random_start) {
      x_adv = threat_->sample(x, gen);
      if (!active.all()) x_adv = x_adv.index_select(0, active.indices());
    } else {
      x_adv = xs.clone();
    }
    for (int64_t i = 0; i < steps; ++i) {
      const auto eval = evaluate_loss(model, x_adv, ys, ts, options_.gradient, stats);
      auto grad = eval.grad;
      // x_adv already fools these: keep it, skip their remaining steps and restarts.
      const int64_t skipped = (steps - 1 - i) + steps * (restarts - 1 - r);
      if (active.retire(goal_reached(eval.logits, ys, ts), x_adv, skipped)) {
        grad = active.compact(grad);
        compact();
        if (active.empty()) break;
      }
      x_adv = threat_->project(threat_->ascend(x_adv, grad, alpha), xs);
    }
    // The last point of a restart has no logits yet; check it only if another restart follows
    // (evaluate checks every result it is given).
    if (r + 1 < restarts && !active.empty()) {
      const auto fooled = attack_succeeded(model, x_adv, ys, ts, stats);
      if (active.retire(fooled, x_adv, steps * (restarts - 1 - r))) compact();
    }
  }
  return active.merge(x_adv);
}

std::shared_ptr<Attack> Pgd::with(const Params& params) const {
  std::vector<std::string> own = {"steps", "step", "random_start", "restarts", "early_stop"};
  own.insert(own.end(), kGradientParamNames.begin(), kGradientParamNames.end());
  PgdOptions options = options_;
  for (const auto& [key, value] : params) {
    if (key == "steps") options.steps = param_count(name(), key, value, 0);
    if (key == "step") options.step = param_number(name(), key, value);
    if (key == "random_start") options.random_start = param_bool(name(), key, value);
    if (key == "restarts") options.restarts = param_count(name(), key, value, 1);
    if (key == "early_stop") options.early_stop = param_bool(name(), key, value);
    apply_gradient_param(name(), options.gradient, key, value);
  }
  return std::make_shared<Pgd>(forward_to_threat(name(), own, threat_, params), options);
}

AttackPtr make_pgd(ThreatPtr threat, PgdOptions options) {
  return std::make_shared<Pgd>(std::move(threat), options);
}

}  // namespace perturb
