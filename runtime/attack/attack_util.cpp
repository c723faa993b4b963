#include "runtime/attack/attack_util.h"

#include <algorithm>
#include <cmath>

#include "runtime/attack/loss.h"
#include "runtime/core/error.h"
#include "runtime/distributed/share.h"
#include "runtime/report/format.h"
#include "runtime/threat/lp_threat.h"

namespace perturb {

AttackStats summed_over_ranks(const AttackStats& stats) {
  if (!WorkShare::of_process().distributed()) return stats;
  const auto sums = sum_over_ranks(
      torch::tensor({stats.gradient_evals, stats.queries, stats.gradient_evals_saved}));
  return {sums[0].item<int64_t>(), sums[1].item<int64_t>(), sums[2].item<int64_t>()};
}

std::pair<torch::Tensor, torch::Tensor> prepare_batch(Model& model, const torch::Tensor& x,
                                                      const torch::Tensor& y) {
  if (x.dim() == 0 || y.dim() != 1 || x.size(0) != y.size(0)) {
    throw Error("an attack needs inputs [N, ...] and labels [N], got inputs " +
                format_shape(x.sizes().vec()) + " and labels " + format_shape(y.sizes().vec()));
  }
  const auto device = model.device();
  return {x.detach().to(device, torch::kFloat32), y.detach().to(device, torch::kInt64)};
}

torch::Tensor loss_gradient(Model& model, const torch::Tensor& x_adv, const torch::Tensor& y,
                            AttackStats* stats) {
  // Mean cross-entropy, as torchattacks uses (GradientOptions' defaults).
  return loss_gradient(model, x_adv, y, GradientOptions{}, stats);
}

torch::Tensor predict(Model& model, const torch::Tensor& x, AttackStats* stats) {
  if (stats) stats->queries += x.size(0);
  return without_autograd([&] { return model.forward(x).argmax(1); });
}

double param_number(const std::string& owner, const std::string& key, const Interval& value) {
  if (!value.is_point()) {
    throw Error(owner + " " + key + " must be a number, got the interval [" +
                format_number(value.lo) + ", " + format_number(value.hi) + "]");
  }
  return value.lo;
}

int64_t param_count(const std::string& owner, const std::string& key, const Interval& value,
                    int64_t minimum) {
  const double v = param_number(owner, key, value);
  if (v != std::floor(v) || v < static_cast<double>(minimum)) {
    throw Error(owner + " " + key + " must be a whole number ≥ " + std::to_string(minimum) +
                ", got " + format_number(v));
  }
  return static_cast<int64_t>(v);
}

bool param_bool(const std::string& owner, const std::string& key, const Interval& value) {
  const double v = param_number(owner, key, value);
  if (v != 0 && v != 1) {
    throw Error(owner + " " + key + " must be true or false, got " + format_number(v));
  }
  return v == 1;
}

ThreatPtr forward_to_threat(const std::string& owner, const std::vector<std::string>& own,
                            const ThreatPtr& threat, const Params& params) {
  const auto threat_keys = threat->parameter_names();
  Params for_threat;
  for (const auto& [key, value] : params) {
    if (std::find(own.begin(), own.end(), key) != own.end()) continue;
    if (std::find(threat_keys.begin(), threat_keys.end(), key) == threat_keys.end() &&
        !threat_keys.empty()) {
      std::string known;
      for (const auto& k : own) known += (known.empty() ? "" : ", ") + k;
      for (const auto& k : threat_keys) known += (known.empty() ? "" : ", ") + k;
      throw Error(owner + " has no parameter '" + key + "'; it has " + known);
    }
    for_threat[key] = value;
  }
  if (for_threat.empty()) return threat;
  return threat->with(for_threat);
}

int64_t draw_int(at::Generator& gen, int64_t lo, int64_t hi) {
  if (hi <= lo) return lo;
  return torch::randint(lo, hi, {1}, gen,
                        torch::TensorOptions().dtype(torch::kInt64).device(gen.device()))
      .item<int64_t>();
}

double draw_uniform(at::Generator& gen) {
  return torch::rand({1}, gen, torch::TensorOptions().device(gen.device())).item<double>();
}

Domain threat_domain(const Threat& threat) {
  if (const auto* lp = dynamic_cast<const LpThreat*>(&threat)) return lp->domain();
  return {};
}

torch::Tensor per_sample(const torch::Tensor& v, const torch::Tensor& like) {
  std::vector<int64_t> shape(like.dim(), 1);
  shape[0] = -1;
  return v.reshape(shape);
}

torch::Tensor sample_norms(const torch::Tensor& t, const std::string& norm) {
  const auto flat = t.reshape({t.size(0), -1});
  if (norm == "Linf") return flat.abs().amax(1);
  if (norm == "L1") return flat.abs().sum(1);
  return flat.norm(2, 1);
}

torch::Tensor goal_reached(const torch::Tensor& logits, const torch::Tensor& y,
                           const torch::Tensor& target) {
  const auto pred = logits.argmax(1);
  return target.defined() ? pred == target : pred != y;
}

bool early_stop_possible(const GradientOptions& options) {
  return options.eot == 1 && options.objective == "class";
}

void check_early_stop(const std::string& owner, const GradientOptions& options, bool early_stop) {
  if (!early_stop) return;
  if (options.eot != 1) {
    throw Error(owner +
                " early_stop needs eot: 1 (one random draw fooled is not a success); got eot: " +
                std::to_string(options.eot));
  }
  if (options.objective != "class") {
    throw Error(
        owner +
        " early_stop needs objective: \"class\" (a feature attack has no success to stop at)");
  }
}

ActiveSet::ActiveSet(const torch::Tensor& x, bool enabled, AttackStats* stats)
    : enabled_(enabled),
      stats_(stats),
      total_(x.size(0)),
      like_(x),
      active_(torch::arange(x.size(0), x.options().dtype(torch::kInt64))) {}

bool ActiveSet::retire(const torch::Tensor& fooled, const torch::Tensor& x_adv, int64_t skipped) {
  if (!enabled_ || empty()) return false;
  const auto leaving = fooled.nonzero().reshape({-1});
  const int64_t count = leaving.size(0);
  if (count == 0) return false;
  if (!kept_.defined()) {
    kept_ = torch::empty_like(like_);
    done_ = torch::zeros({total_}, active_.options().dtype(torch::kBool));
  }
  const auto global = active_.index_select(0, leaving);
  kept_.index_copy_(0, global, x_adv.detach().index_select(0, leaving).to(kept_.dtype()));
  done_.index_fill_(0, global, true);
  stay_ = fooled.logical_not().nonzero().reshape({-1});
  active_ = active_.index_select(0, stay_);
  if (stats_) stats_->gradient_evals_saved += count * skipped;
  return true;
}

torch::Tensor ActiveSet::compact(const torch::Tensor& t, int64_t dim) const {
  if (!t.defined() || !stay_.defined()) return t;
  return t.index_select(dim, stay_);
}

torch::Tensor ActiveSet::merge(const torch::Tensor& x_adv) const {
  if (all()) return x_adv;
  auto out = kept_.clone();
  if (!empty()) out.index_copy_(0, active_, x_adv.to(out.dtype()));
  return out;
}

torch::Tensor ActiveSet::merge_flags(const torch::Tensor& flags) const {
  if (all()) return flags;
  auto out = done_.clone();
  if (!empty()) out.index_copy_(0, active_, flags.to(torch::kBool));
  return out;
}

}  // namespace perturb
