#include "runtime/train/meta.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>

#include "runtime/core/error.h"
#include "runtime/core/progress.h"
#include "runtime/core/random.h"
#include "runtime/report/format.h"

namespace perturb {
namespace {

// Restores the noise to on when training ends, however it ends.
struct NoiseOnAfter {
  Model& model;
  ~NoiseOnAfter() {
    if (auto* snn = dynamic_cast<SnnModel*>(&model)) snn->set_noise(true);
  }
};

struct BatchResult {
  double loss = 0;
  int64_t correct = 0;  // on the meta-test part, under Theta
  int64_t counted = 0;
};

// One mini-batch of Algorithm 3.
BatchResult meta_batch(Model& model, const MetaOptions& meta, const torch::Tensor& x,
                       const torch::Tensor& y, int64_t epoch, at::Generator& gen,
                       ScheduleOptimizers& opt) {
  const int64_t n = static_cast<int64_t>(meta.tasks.size());
  const int64_t size = x.size(0);
  int64_t t = meta.meta_test;
  if (t < 0) t = torch::randint(0, n, {1}, gen).item<int64_t>();  // Algorithm 3, line 2
  const Task& test_task = meta.tasks[static_cast<size_t>(t)];

  const int64_t k = std::llround(meta.split * static_cast<double>(size));
  BatchResult result;
  if (k < n - 1 || size - k < 1) {
    // Too few samples to give every meta-train task one and keep one for meta-test (a short last
    // batch): train it on the meta-test task alone.
    const auto in = task_inputs(model, test_task, x, y, gen);
    const auto step = task_step(model, test_task, in, epoch, meta.snn, opt);
    result.loss = step.loss.item<double>();
    result.correct = (step.logits.argmax(1) == in.y).sum().item<int64_t>();
    result.counted = size;
    return result;
  }

  // Meta-train (line 4): non-overlapping parts of the first k samples, one per meta-train task.
  std::vector<const Task*> train_tasks;
  for (int64_t i = 0; i < n; ++i) {
    if (i != t) train_tasks.push_back(&meta.tasks[static_cast<size_t>(i)]);
  }
  const auto x_parts = x.narrow(0, 0, k).tensor_split(static_cast<int64_t>(train_tasks.size()));
  const auto y_parts = y.narrow(0, 0, k).tensor_split(static_cast<int64_t>(train_tasks.size()));
  std::vector<TaskInputs> train_inputs;
  for (size_t i = 0; i < train_tasks.size(); ++i) {
    train_inputs.push_back(task_inputs(model, *train_tasks[i], x_parts[i], y_parts[i], gen));
  }
  // Meta-test inputs (line 5): the other N - k samples; x_adv against Theta, shared by Theta'.
  const auto test_inputs =
      task_inputs(model, test_task, x.narrow(0, k, size - k), y.narrow(0, k, size - k), gen);

  auto& params = opt.all;
  auto zero_grads = [&] {
    for (auto& p : params) {
      if (p.grad().defined()) p.mutable_grad().zero_();
    }
  };

  // L_mtr(Theta) (eq. 5.8) and its gradient.
  zero_grads();
  torch::Tensor mtr;
  for (size_t i = 0; i < train_tasks.size(); ++i) {
    const auto l = task_loss(model, *train_tasks[i], train_inputs[i], epoch, meta.snn).loss;
    mtr = mtr.defined() ? mtr + l : l;
  }
  mtr.backward();
  // The weights of the meta-update (see meta.h): the meta-train tasks' mean loss and the two
  // meta-test losses' mean, each by its share of the batch.
  const double train_share = static_cast<double>(k) / static_cast<double>(size);
  const double w_train = train_share / static_cast<double>(train_tasks.size());
  const double w_test = (1 - train_share) / 2;

  // Theta' = Theta - inner_lr ∇L_mtr (the copy, made in place and undone below). The meta-train
  // gradient is kept: it is the first term of the meta-update.
  std::vector<torch::Tensor> saved;
  std::vector<torch::Tensor> meta_grads;
  {
    torch::NoGradGuard no_grad;
    for (auto& p : params) {
      saved.push_back(p.detach().clone());
      if (p.grad().defined()) {
        meta_grads.push_back(w_train * p.grad());
        p.sub_(meta.inner_lr * p.grad());
      } else {
        meta_grads.emplace_back();
      }
    }
  }
  auto accumulate = [&](double weight) {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < params.size(); ++i) {
      if (!params[i].grad().defined()) continue;
      if (meta_grads[i].defined()) {
        meta_grads[i].add_(params[i].grad(), weight);
      } else {
        meta_grads[i] = weight * params[i].grad();
      }
    }
  };
  // L_mte(Theta') (eq. 5.10): its gradient at Theta' (first order).
  zero_grads();
  const auto mte_updated = task_loss(model, test_task, test_inputs, epoch, meta.snn).loss;
  mte_updated.backward();
  accumulate(w_test);
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < params.size(); ++i) params[i].copy_(saved[i]);
  }
  // L_mte(Theta) (eq. 5.9), then the meta-update (eq. 5.11, line 6): one optimizer step.
  zero_grads();
  const auto mte = task_loss(model, test_task, test_inputs, epoch, meta.snn);
  mte.loss.backward();
  accumulate(w_test);
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < params.size(); ++i) {
      if (meta_grads[i].defined()) params[i].mutable_grad() = meta_grads[i];
    }
  }
  opt.main->step();
  // Algorithm 2, step 3: the isotropic scales, with theta and phi_a at their new values.
  noise_step(model, test_task, test_inputs, epoch, meta.snn, opt);

  result.loss = w_train * mtr.item<double>() +
                w_test * (mte.loss.item<double>() + mte_updated.item<double>());
  result.correct = (mte.logits.argmax(1) == test_inputs.y).sum().item<int64_t>();
  result.counted = size - k;
  return result;
}

}  // namespace

std::string MetaOptions::describe() const {
  std::string out = "Meta(tasks: [";
  for (size_t i = 0; i < tasks.size(); ++i) out += (i ? ", " : "") + tasks[i].describe();
  out += "], meta_test: ";
  out += meta_test < 0 ? "\"random\"" : std::to_string(meta_test);
  out += ", inner_lr: " + format_number(inner_lr) + ", split: " + format_number(split);
  const SnnLossOptions defaults;
  if (snn.lambda != defaults.lambda) out += ", lambda: " + format_number(snn.lambda);
  if (snn.fca != defaults.fca) out += ", fca: " + format_number(snn.fca);
  if (snn.noise_lr != defaults.noise_lr) out += ", noise_lr: " + format_number(snn.noise_lr);
  return out + ")";
}

std::vector<std::string> MetaOptions::batch_plan() const {
  const std::string train_share = format_number(100 * split) + "%";
  const std::string test_share = format_number(100 * (1 - split)) + "%";
  std::string test, train;
  if (meta_test < 0) {
    test = "a task drawn at random from the " + std::to_string(tasks.size());
    train = "the other tasks";
  } else {
    test = tasks.at(static_cast<size_t>(meta_test)).describe();
    for (size_t i = 0; i < tasks.size(); ++i) {
      if (static_cast<int64_t>(i) == meta_test) continue;
      train += (train.empty() ? "" : ", ") + tasks[i].describe();
    }
  }
  return {"meta-test task: " + test,
          "meta-train: " + train + " on the first " + train_share +
              " of the batch, one equal part each -> L_mtr(Θ)",
          "copy: Θ' = Θ - " + format_number(inner_lr) + "·∇L_mtr(Θ)",
          "meta-test: the meta-test task on the other " + test_share + " -> L_mte(Θ) and L_mte(Θ')",
          "meta-update: one optimizer step on L_mtr(Θ), L_mte(Θ) and L_mte(Θ') (each sample once), "
          "then the noise scales phi"};
}

std::vector<std::string> MetaOptions::plan(int64_t epochs) const {
  std::vector<std::string> out;
  for (int64_t e = 1; e <= epochs; ++e) {
    std::string line =
        "epoch " + std::to_string(e) + "/" + std::to_string(epochs) + ": every batch:";
    for (const auto& step : batch_plan()) line += " " + step + ";";
    line.pop_back();
    out.push_back(line);
  }
  return out;
}

void check_meta(const MetaOptions& meta) {
  const auto n = static_cast<int64_t>(meta.tasks.size());
  if (n < 2) {
    throw Error("Meta needs at least two tasks (one to meta-test, the others to meta-train), got " +
                std::to_string(n));
  }
  if (meta.meta_test >= n) {
    throw Error("meta_test is task " + std::to_string(meta.meta_test) + " but there are only " +
                std::to_string(n) + " tasks (counted from 0)");
  }
  if (!(meta.inner_lr > 0)) {
    throw Error("inner_lr must be positive, got " + format_number(meta.inner_lr));
  }
  if (!(meta.split > 0 && meta.split < 1)) {
    throw Error("split (the meta-train share of a batch) must be between 0 and 1, got " +
                format_number(meta.split));
  }
}

void train_meta(Model& model, const Dataset& data, const MetaOptions& meta,
                const TrainOptions& options) {
  check_meta(meta);
  if (options.epochs < 0) throw Error("epochs must not be negative");
  if (options.batch <= 0) throw Error("batch must be positive");
  if (data.size() == 0) throw Error("cannot train on " + data.name + ": it has no samples");
  for (const auto& task : meta.tasks) {
    if (task.kind == Task::Kind::kNoisy && !dynamic_cast<SnnModel*>(&model)) {
      throw Error("the task " + task.describe() + " needs a stochastic network (zoo.snn(...)); " +
                  model.describe() + " has no noise to turn on");
    }
  }
  torch::AutoGradMode enable_grad(true);
  NoiseOnAfter noise_on{model};
  auto opt = make_schedule_optimizers(model, options.optimizer, meta.snn);
  ModeGuard training(model, /*training=*/true);
  auto root = make_generator(options.seed);
  if (auto* snn = dynamic_cast<SnnModel*>(&model)) snn->reseed(next_seed(root));
  for (int64_t epoch = 1; epoch <= options.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    const Dataset shuffled = data.shuffle(next_seed(root));
    auto gen = make_generator(next_seed(root));
    Progress progress("meta epoch " + std::to_string(epoch) + "/" + std::to_string(options.epochs),
                      shuffled.size());
    double loss_sum = 0;
    int64_t correct = 0, counted = 0, batches = 0;
    for (const auto& batch : shuffled.batches(options.batch)) {
      const auto x = batch.x.to(model.device());
      const auto y = batch.y.to(model.device());
      const auto r = meta_batch(model, meta, x, y, epoch, gen, opt);
      loss_sum += r.loss;
      correct += r.correct;
      counted += r.counted;
      ++batches;
      progress.advance(batch.size(), "L_meta " + format_number(r.loss));
    }
    progress.finish();
    EpochStats stats;
    stats.epoch = epoch;
    stats.loss = batches ? loss_sum / static_cast<double>(batches) : 0;
    stats.accuracy = counted ? static_cast<double>(correct) / static_cast<double>(counted) : 0;
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    spdlog::info("meta epoch {}/{}: L_meta {:.4f}, meta-test accuracy {:.2f}%, {:.1f}s", epoch,
                 options.epochs, stats.loss, 100 * stats.accuracy, stats.seconds);
    if (options.on_epoch) options.on_epoch(stats);
  }
}

}  // namespace perturb
