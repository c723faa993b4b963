// An iterative attack whose step is a user callback (the language's own update rules).
#include "runtime/attack/attack_util.h"
#include "runtime/attack/loss.h"
#include "runtime/core/error.h"
#include "runtime/report/format.h"

namespace perturb {
namespace {

class Iterative : public Attack {
 public:
  Iterative(ThreatPtr threat, IterativeOptions options, UpdateFn update)
      : threat_(std::move(threat)), options_(options), update_(std::move(update)) {
    if (options_.steps < 0) throw Error("Iterative steps must not be negative");
    if (!update_) throw Error("Iterative needs an update function");
  }

  std::string name() const override { return "Iterative"; }
  std::string describe() const override {
    return "Iterative(" + threat_->describe() + ", steps: " + std::to_string(options_.steps) +
           ", random_start: " + bool_text(options_.random_start) +
           (options_.early_stop ? ", early_stop: true" : "") + ")";
  }
  bool can_stop_early() const override { return true; }
  ThreatPtr threat() const override { return threat_; }

  torch::Tensor run(Model& model, const torch::Tensor& x_in, const torch::Tensor& y_in,
                    at::Generator& gen, AttackStats* stats) const override {
    AttackModeGuard attack_mode(model);  // eval mode, weights frozen
    const auto [x, y] = prepare_batch(model, x_in, y_in);
    auto x_adv = options_.random_start ? threat_->sample(x, gen) : x.clone();
    // Early stop: xs, ys and x_adv hold the samples not yet misclassified.
    ActiveSet active(x, options_.early_stop, stats);
    torch::Tensor xs = x, ys = y;
    for (int64_t i = 0; i < options_.steps; ++i) {
      // Mean cross-entropy, as loss_gradient(model, x_adv, y, stats); the logits come along.
      const auto eval = evaluate_loss(model, x_adv, ys, {}, GradientOptions{}, stats);
      auto grad = eval.grad;
      if (active.retire(goal_reached(eval.logits, ys, {}), x_adv, options_.steps - 1 - i)) {
        for (auto* t : {&xs, &ys, &x_adv, &grad}) *t = active.compact(*t);
        if (active.empty()) break;
      }
      // The update sees each sample's gradient as in the full batch (the mean is over fewer).
      if (!active.all()) grad = grad * active.mean_scale();
      const auto proposed = update_(x_adv, grad);
      check_update(proposed, x_adv);
      x_adv = threat_->project(proposed.detach().to(x.device(), torch::kFloat32), xs);
    }
    return active.merge(x_adv);
  }

  std::shared_ptr<Attack> with(const Params& params) const override {
    IterativeOptions options = options_;
    for (const auto& [key, value] : params) {
      if (key == "steps") options.steps = param_count(name(), key, value, 0);
      if (key == "random_start") options.random_start = param_bool(name(), key, value);
      if (key == "early_stop") options.early_stop = param_bool(name(), key, value);
    }
    return std::make_shared<Iterative>(
        forward_to_threat(name(), {"steps", "random_start", "early_stop"}, threat_, params),
        options, update_);
  }

 private:
  // The user's update must give back a tensor the same shape as x_adv.
  static void check_update(const torch::Tensor& proposed, const torch::Tensor& x_adv) {
    if (!proposed.defined() || proposed.sizes() != x_adv.sizes()) {
      throw Error("the attack's update returned " +
                  (proposed.defined() ? "a tensor of shape " + format_shape(proposed.sizes().vec())
                                      : std::string("nothing")) +
                  ", expected the shape of x_adv " + format_shape(x_adv.sizes().vec()));
    }
  }

  ThreatPtr threat_;
  IterativeOptions options_;
  UpdateFn update_;
};

}  // namespace

AttackPtr make_iterative(ThreatPtr threat, IterativeOptions options, UpdateFn update) {
  return std::make_shared<Iterative>(std::move(threat), options, std::move(update));
}

}  // namespace perturb
