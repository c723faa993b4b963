#include "runtime/train/meta_task.h"

#include "runtime/core/error.h"
#include "runtime/distributed/share.h"
#include "runtime/report/format.h"
#include "runtime/train/optimizer.h"

namespace perturb {
namespace {

namespace F = torch::nn::functional;

SnnModel* as_snn(Model& model) {
  return dynamic_cast<SnnModel*>(&model);
}

torch::Tensor cross_entropy(const torch::Tensor& logits, const torch::Tensor& y,
                            const torch::Tensor& soft_y) {
  if (soft_y.defined()) return soft_cross_entropy(logits, soft_y);
  return F::cross_entropy(logits, y);
}

// The stochastic network's noise terms, added to a task's loss while its noise is on:
// lambda * r(phi) (eq. 5.2) - fca * L_FCA (eq. 5.6). The features are those of the last forward.
torch::Tensor noise_terms(SnnModel& snn, const torch::Tensor& y, int64_t epoch,
                          const SnnLossOptions& o) {
  torch::Tensor total;
  const auto phi = snn.iso_parameters();
  if (!phi.empty() && o.lambda != 0) total = o.lambda * iso_regulariser(phi, epoch);
  const auto& phi_a = snn.aniso_factor();
  if (phi_a.defined() && o.fca != 0) {
    // Deviation: the features enter detached, so L_FCA trains phi_a's directions only. With
    // them attached, the log's gradient (1/mean alignment, huge while f_p and f_n are still close
    // early in training) blew theta up within an epoch at lr 0.05 (docs/schedules.md).
    const auto fca = fca_loss(snn.last_features().detach(), y, phi_a);
    if (fca.defined()) total = total.defined() ? total - o.fca * fca : -o.fca * fca;
  }
  return total;
}

}  // namespace

std::string Task::describe() const {
  switch (kind) {
    case Kind::kClean:
      return "Clean()";
    case Kind::kNoisy:
      return "Noisy(" + noise.describe() + ")";
    case Kind::kAdversarial:
      return "Adversarial(" + (attack_name.empty() ? attack->describe() : attack_name) + ")";
    case Kind::kAugmented:
      return "Augmented(" + policy->describe() + ")";
  }
  return "?";
}

bool task_noise(const Task& task, const Model& model) {
  if (!dynamic_cast<const SnnModel*>(&model)) return false;
  return task.kind == Task::Kind::kNoisy || task.kind == Task::Kind::kAdversarial;
}

TaskInputs task_inputs(Model& model, const Task& task, const torch::Tensor& x,
                       const torch::Tensor& y, at::Generator& gen) {
  TaskInputs in{x, y, {}, {}};
  if (task.kind == Task::Kind::kAdversarial) {
    if (auto* snn = as_snn(model)) snn->set_noise(true);
    in.x_task = task.attack->run(model, x, y, gen).detach();
  } else if (task.kind == Task::Kind::kAugmented) {
    AugmentBatch batch{x, y, {}, 0};
    batch = task.policy->apply(std::move(batch), gen);
    in.x_task = batch.x.detach();
    in.y = batch.y;
    in.soft_y = batch.soft_y;
  }
  return in;
}

TaskLoss task_loss(Model& model, const Task& task, const TaskInputs& in, int64_t epoch,
                   const SnnLossOptions& o) {
  SnnModel* snn = as_snn(model);
  const bool noise = task_noise(task, model);
  if (snn) snn->set_noise(noise);
  switch (task.kind) {
    case Task::Kind::kClean: {
      auto logits = model.forward(in.x);
      return {F::cross_entropy(logits, in.y), logits};
    }
    case Task::Kind::kAugmented: {
      auto logits = model.forward(in.x_task);
      return {cross_entropy(logits, in.y, in.soft_y), logits};
    }
    case Task::Kind::kNoisy: {
      // L_Mix = L_CE + lambda r(phi) - L_FCA (eq. 5.6); a plain network has no noise terms.
      auto logits = model.forward(in.x);
      auto loss = F::cross_entropy(logits, in.y);
      if (snn) {
        const auto extra = noise_terms(*snn, in.y, epoch, o);
        if (extra.defined()) loss = loss + extra;
      }
      return {loss, logits};
    }
    case Task::Kind::kAdversarial: {
      if (!snn) {
        // Madry et al.: the loss on x_adv alone.
        auto logits = model.forward(in.x_task);
        return {F::cross_entropy(logits, in.y), logits};
      }
      // L_Tot = L_Mix(x) + eta * L_CE(x_adv) (eq. 5.7), noise on in both passes.
      auto logits = model.forward(in.x);
      auto loss = F::cross_entropy(logits, in.y);
      const auto extra = noise_terms(*snn, in.y, epoch, o);
      if (extra.defined()) loss = loss + extra;
      auto adv_logits = model.forward(in.x_task);
      loss = loss + task.weight * F::cross_entropy(adv_logits, in.y);
      return {loss, adv_logits};
    }
  }
  throw Error("unknown task");
}

ScheduleOptimizers make_schedule_optimizers(Model& model, const OptimizerSpec& spec,
                                            const SnnLossOptions& snn_options) {
  ScheduleOptimizers opt;
  if (auto* snn = as_snn(model)) {
    auto main = snn->model_parameters();
    for (const auto& p : snn->aniso_parameters()) main.push_back(p);
    opt.main = make_optimizer(spec, main);
    const auto phi = snn->iso_parameters();
    if (!phi.empty()) {
      if (!(snn_options.noise_lr > 0)) {
        throw Error("noise_lr must be positive, got " + format_number(snn_options.noise_lr));
      }
      opt.noise =
          std::make_unique<torch::optim::SGD>(phi, torch::optim::SGDOptions(snn_options.noise_lr));
    }
    opt.all = snn->parameters();
  } else {
    opt.all = model.parameters();
    opt.main = make_optimizer(spec, opt.all);
  }
  return opt;
}

namespace {

// backward, then (data-parallel) the gradients summed over ranks.
void backward_share(const torch::Tensor& loss, std::optional<double> shard_weight,
                    const ScheduleOptimizers& opt) {
  (shard_weight ? loss * *shard_weight : loss).backward();
  if (shard_weight) sum_gradients(opt.all);
}

}  // namespace

void noise_step(Model& model, const Task& task, const TaskInputs& inputs, int64_t epoch,
                const SnnLossOptions& snn, ScheduleOptimizers& opt,
                std::optional<double> shard_weight) {
  if (!opt.noise || !task_noise(task, model)) return;
  const auto again = task_loss(model, task, inputs, epoch, snn);
  opt.noise->zero_grad();
  backward_share(again.loss, shard_weight, opt);
  opt.noise->step();
}

TaskLoss task_step(Model& model, const Task& task, const TaskInputs& inputs, int64_t epoch,
                   const SnnLossOptions& snn, ScheduleOptimizers& opt,
                   std::optional<double> shard_weight) {
  auto step = task_loss(model, task, inputs, epoch, snn);
  opt.main->zero_grad();
  backward_share(step.loss, shard_weight, opt);
  opt.main->step();
  noise_step(model, task, inputs, epoch, snn, opt, shard_weight);
  return {step.loss.detach(), step.logits.detach()};
}

void empty_shard_step(Model& model, const Task& task, ScheduleOptimizers& opt) {
  opt.main->zero_grad();
  sum_gradients(opt.all);
  opt.main->step();
  if (!opt.noise || !task_noise(task, model)) return;
  opt.noise->zero_grad();
  sum_gradients(opt.all);
  opt.noise->step();
}

}  // namespace perturb
