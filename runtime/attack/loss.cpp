#include "runtime/attack/loss.h"

#include <cmath>

#include "runtime/attack/attack.h"
#include "runtime/attack/attack_util.h"
#include "runtime/attack/feature.h"
#include "runtime/core/error.h"
#include "runtime/report/choices.h"
#include "runtime/report/format.h"

namespace perturb {

const std::vector<std::string> kGradientParamNames = {"loss", "kappa", "eot", "target"};

std::string TargetSpec::describe() const {
  switch (mode) {
    case Mode::kNone:
      return "";
    case Mode::kLabel:
      return std::to_string(value);
    case Mode::kRandom:
      return "\"random\"";
    case Mode::kLeastLikely:
      return "\"least_likely\"";
    case Mode::kRanked:
      return "rank " + std::to_string(value);
  }
  return "";
}

const std::vector<std::string>& loss_names() {
  static const std::vector<std::string> names = {"ce", "cw", "dlr"};
  return names;
}

const std::vector<std::string>& objective_names() {
  static const std::vector<std::string> names = {"class", "feature"};
  return names;
}

void GradientOptions::check(const std::string& owner) const {
  if (loss != "user" && !is_one_of(loss, loss_names())) {
    throw Error(owner + " loss must be " + format_choices(loss_names()) + " or a function, got \"" +
                loss + "\"");
  }
  if (loss == "user" && !user_loss) throw Error(owner + " loss function is missing");
  if (eot < 1) throw Error(owner + " eot must be at least 1, got " + std::to_string(eot));
  if (kappa < 0) throw Error(owner + " kappa must not be negative, got " + format_number(kappa));
  if (target.mode == TargetSpec::Mode::kLabel && target.value < 0) {
    throw Error(owner + " target must be a class index ≥ 0, got " + std::to_string(target.value));
  }
  if (target.mode == TargetSpec::Mode::kRanked && target.value < 1) {
    throw Error(owner + " target rank must be at least 1");
  }
  if (!is_one_of(objective, objective_names())) {
    throw Error(owner + " objective must be " + format_choices(objective_names()) + ", got \"" +
                objective + "\"");
  }
  if (objective == "feature" && loss != "ce") {
    throw Error(owner +
                " objective: \"feature\" ascends the embedding distance (thesis eq. "
                "4.3); it takes no loss:");
  }
  if (objective == "class" && gallery) {
    throw Error(owner + " gallery: is for objective: \"feature\"");
  }
  if (gallery) gallery->check();
}

std::string GradientOptions::describe() const {
  std::string out;
  if (loss == "user") {
    out += ", loss: <function>";
  } else if (loss != "ce") {
    out += ", loss: \"" + loss + "\"";
  }
  if (loss == "cw" && kappa != 0) out += ", kappa: " + format_number(kappa);
  if (objective != "class") out += ", objective: \"" + objective + "\"";
  if (gallery) out += ", gallery: " + std::to_string(gallery->x.size(0)) + " images";
  if (target.targeted()) out += ", target: " + target.describe();
  if (eot != 1) out += ", eot: " + std::to_string(eot);
  return out;
}

bool apply_gradient_param(const std::string& owner, GradientOptions& options,
                          const std::string& key, const Interval& value) {
  if (key == "eot") {
    options.eot = param_count(owner, key, value, 1);
  } else if (key == "kappa") {
    options.kappa = param_number(owner, key, value);
  } else if (key == "target") {
    options.target = {TargetSpec::Mode::kLabel, param_count(owner, key, value, 0)};
  } else if (key == "loss") {
    throw Error(owner + " loss cannot be changed with with(); make a new attack");
  } else {
    return false;
  }
  options.check(owner);
  return true;
}

namespace {

void check_logits(const torch::Tensor& logits, const torch::Tensor& y, int64_t min_classes,
                  const std::string& what) {
  if (logits.dim() != 2 || logits.size(0) != y.size(0)) {
    throw Error("the " + what + " loss needs logits [N, classes] for " + std::to_string(y.size(0)) +
                " labels, got " + format_shape(logits.sizes().vec()));
  }
  if (logits.size(1) < min_classes) {
    throw Error("the " + what + " loss needs at least " + std::to_string(min_classes) +
                " classes, the model has " + std::to_string(logits.size(1)));
  }
}

// z_label per sample and the largest other logit max_{j≠label} z_j.
std::pair<torch::Tensor, torch::Tensor> own_and_best_other(const torch::Tensor& logits,
                                                           const torch::Tensor& label) {
  const auto own = logits.gather(1, label.unsqueeze(1)).squeeze(1);
  const auto mask = torch::zeros_like(logits, logits.options().dtype(torch::kBool))
                        .scatter_(1, label.unsqueeze(1), true);
  const auto other = logits.masked_fill(mask, -std::numeric_limits<float>::infinity()).amax(1);
  return {own, other};
}

}  // namespace

torch::Tensor attack_loss(const torch::Tensor& logits, const torch::Tensor& y,
                          const torch::Tensor& target, const GradientOptions& options) {
  if (options.objective == "feature") {
    // Thesis ch. 4, eq. 4.3: the Euclidean distance between the anchor (the gallery match's
    // embedding) and the perturbed query's; targeted mode pulls towards the target identity.
    const auto distance = feature_distance(logits, target);
    return options.target.targeted() ? -distance : distance;
  }
  const bool targeted = target.defined();
  if (options.loss == "ce") {
    check_logits(logits, y, 1, "ce");
    if (targeted) {
      return -torch::nn::functional::cross_entropy(
          logits, target, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
    }
    return torch::nn::functional::cross_entropy(
        logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  }
  if (options.loss == "cw") {
    // Carlini & Wagner 2017, f₆: the margin, clipped at kappa so confident examples stop.
    check_logits(logits, y, 2, "cw");
    if (targeted) {
      const auto [own, other] = own_and_best_other(logits, target);
      return (own - other).clamp_max(options.kappa);
    }
    const auto [own, other] = own_and_best_other(logits, y);
    return (other - own).clamp_max(options.kappa);
  }
  if (options.loss == "dlr") {
    // Croce & Hein 2020, eq. 5 (DLR) and eq. 6 (targeted DLR); π sorts the logits descending.
    check_logits(logits, y, targeted ? 4 : 3, targeted ? "targeted dlr" : "dlr");
    const auto sorted = std::get<0>(logits.sort(1, /*descending=*/true));
    const auto z_y = logits.gather(1, y.unsqueeze(1)).squeeze(1);
    if (targeted) {
      const auto z_t = logits.gather(1, target.unsqueeze(1)).squeeze(1);
      const auto denom =
          sorted.select(1, 0) - 0.5 * (sorted.select(1, 2) + sorted.select(1, 3)) + 1e-12;
      return -(z_y - z_t) / denom;
    }
    const auto [own, other] = own_and_best_other(logits, y);
    return -(own - other) / (sorted.select(1, 0) - sorted.select(1, 2) + 1e-12);
  }
  // A user loss: ascended on y, or descended on the target labels in targeted mode.
  auto value = options.user_loss(logits, targeted ? target : y);
  if (!value.defined()) throw Error("the loss function returned nothing");
  if (value.dim() == 0) {
    // A scalar loss: spread it so each sample's share sums back to it.
    value = value.expand({logits.size(0)}) / static_cast<double>(logits.size(0));
  } else if (value.dim() != 1 || value.size(0) != logits.size(0)) {
    throw Error("the loss function must return a number or one loss per sample [" +
                std::to_string(logits.size(0)) + "], got a tensor of shape " +
                format_shape(value.sizes().vec()));
  }
  if (!value.requires_grad()) {
    throw Error("the loss function's result does not depend on the logits");
  }
  value = value.to(logits.device(), torch::kFloat32);
  return targeted ? -value : value;
}

torch::Tensor resolve_target(Model& model, const torch::Tensor& x, const torch::Tensor& y,
                             const TargetSpec& spec, at::Generator& gen, AttackStats* stats) {
  using Mode = TargetSpec::Mode;
  if (spec.mode == Mode::kNone) return {};
  if (spec.mode == Mode::kLabel) return torch::full_like(y, spec.value);
  torch::Tensor logits;
  {
    torch::NoGradGuard no_grad;
    logits = model.forward(x);
    if (stats) stats->queries += x.size(0);
  }
  const int64_t classes = logits.size(1);
  if (spec.mode == Mode::kLeastLikely) return logits.argmin(1);
  if (spec.mode == Mode::kRandom) {
    if (classes < 2) throw Error("a random target needs at least 2 classes");
    // Uniform over the classes other than y: y + 1 + U{0..classes-2} (mod classes).
    auto offset = torch::randint(classes - 1, {y.size(0)}, gen,
                                 torch::TensorOptions().dtype(torch::kInt64).device(gen.device()))
                      .to(y.device());
    return (y + 1 + offset).remainder(classes);
  }
  // kRanked: sort descending; the rank-th class other than y (AutoAttack sorts all logits and
  // takes position −(rank+1), which is the same whenever the clean prediction is y).
  if (spec.value >= classes) {
    throw Error("target rank " + std::to_string(spec.value) + " needs more than " +
                std::to_string(classes) + " classes");
  }
  const auto order = std::get<1>(logits.sort(1, /*descending=*/true));
  return order.select(1, spec.value);
}

torch::Tensor resolve_target(Model& model, const torch::Tensor& x, const torch::Tensor& y,
                             const GradientOptions& options, at::Generator& gen,
                             AttackStats* stats) {
  if (options.objective == "feature") return feature_anchors(model, x, y, options, gen, stats);
  return resolve_target(model, x, y, options.target, gen, stats);
}

LossEval evaluate_loss(Model& model, const torch::Tensor& x_adv, const torch::Tensor& y,
                       const torch::Tensor& target, const GradientOptions& options,
                       AttackStats* stats, const InputTransform& transform) {
  if (target.defined() && target.size(0) != y.size(0)) {
    throw Error("targets [" + std::to_string(target.size(0)) + "] do not match labels [" +
                std::to_string(y.size(0)) + "]");
  }
  torch::AutoGradMode enable_grad(true);
  LossEval out;
  for (int64_t draw = 0; draw < options.eot; ++draw) {
    auto input = x_adv.detach().requires_grad_(true);
    const auto logits = model.forward(transform ? transform(input) : input);
    const auto per_sample = attack_loss(logits, y, target, options);
    // The batch mean, as torchattacks uses; sign and normalised steps ignore the scale.
    const auto loss = per_sample.mean();
    auto grad = torch::autograd::grad({loss}, {input})[0].detach();
    if (draw == 0) {
      out.grad = grad;
      out.loss = per_sample.detach();
    } else {
      out.grad = out.grad + grad;
      out.loss = out.loss + per_sample.detach();
    }
    out.logits = logits.detach();
  }
  if (options.eot > 1) {
    out.grad = out.grad / static_cast<double>(options.eot);
    out.loss = out.loss / static_cast<double>(options.eot);
  }
  if (stats) stats->gradient_evals += x_adv.size(0) * options.eot;
  return out;
}

torch::Tensor loss_gradient(Model& model, const torch::Tensor& x_adv, const torch::Tensor& y,
                            const GradientOptions& options, AttackStats* stats,
                            const torch::Tensor& target) {
  return evaluate_loss(model, x_adv, y, target, options, stats).grad;
}

torch::Tensor attack_succeeded(Model& model, const torch::Tensor& x_adv, const torch::Tensor& y,
                               const torch::Tensor& target, AttackStats* stats) {
  const auto pred = predict(model, x_adv, stats);
  return target.defined() ? pred == target : pred != y;
}

}  // namespace perturb
