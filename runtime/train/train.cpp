#include "runtime/train/train.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "runtime/core/error.h"
#include "runtime/core/progress.h"
#include "runtime/core/random.h"
#include "runtime/train/optimizer.h"
#include "runtime/train/trades.h"

namespace perturb {
namespace {

struct StepResult {
  torch::Tensor loss;    // scalar to minimise
  torch::Tensor logits;  // the logits accuracy is measured on
};

// One batch's loss under the chosen method. The model is in training mode on entry.
StepResult batch_loss(Model& model, const torch::Tensor& x, const torch::Tensor& y,
                      const TrainOptions& options, at::Generator& gen) {
  namespace F = torch::nn::functional;
  if (options.method == "standard") {
    auto logits = model.forward(x);
    return {F::cross_entropy(logits, y), logits};
  }
  if (options.method == "madry") {
    const auto x_adv = options.adversary->run(model, x, y, gen);
    auto logits = model.forward(x_adv);
    return {F::cross_entropy(logits, y), logits};
  }
  // TRADES: accuracy is reported on the clean logits, which the loss also trains on.
  const auto x_adv = trades_adversarial(model, *options.adversary, x, gen);
  auto logits = model.forward(x);
  const auto robust = trades_kl(model.forward(x_adv), logits);
  return {F::cross_entropy(logits, y) + options.trades_beta * robust, logits};
}

void check_options(const TrainOptions& options, const Dataset& data) {
  const auto& m = options.method;
  if (m != "standard" && m != "madry" && m != "trades") {
    throw Error("unknown training method '" + m + "'; the methods are standard, madry, trades");
  }
  if (m != "standard" && !options.adversary) {
    throw Error(m + " training needs an adversary (an attack to train against)");
  }
  if (options.epochs < 0) throw Error("epochs must not be negative");
  if (options.batch <= 0) throw Error("batch must be positive");
  if (data.size() == 0) throw Error("cannot train on " + data.name + ": it has no samples");
}

// Runs one epoch over `data` (already shuffled) and returns its mean loss and accuracy.
EpochStats run_epoch(Model& model, const Dataset& data, const TrainOptions& options,
                     torch::optim::Optimizer& optimizer, at::Generator& gen, int64_t epoch) {
  const auto start = std::chrono::steady_clock::now();
  Progress progress("epoch " + std::to_string(epoch) + "/" + std::to_string(options.epochs),
                    data.size());
  double loss_sum = 0;
  int64_t correct = 0;
  for (const auto& batch : data.batches(options.batch)) {
    const auto x = batch.x.to(model.device());
    const auto y = batch.y.to(model.device());
    const auto step = batch_loss(model, x, y, options, gen);
    optimizer.zero_grad();
    step.loss.backward();
    optimizer.step();
    const double loss = step.loss.item<double>();
    loss_sum += loss * static_cast<double>(batch.size());
    correct += (step.logits.argmax(1) == y).sum().item<int64_t>();
    progress.advance(batch.size(), "loss " + std::to_string(loss).substr(0, 6));
  }
  progress.finish();
  EpochStats stats;
  stats.epoch = epoch;
  stats.loss = loss_sum / static_cast<double>(data.size());
  stats.accuracy = static_cast<double>(correct) / static_cast<double>(data.size());
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

}  // namespace

void train(Model& model, const Dataset& data, const TrainOptions& options) {
  check_options(options, data);
  // Callers (the interpreter) may run in no-grad mode; training always needs gradients.
  torch::AutoGradMode enable_grad(true);
  auto optimizer = make_optimizer(options.optimizer, model.parameters());
  ModeGuard training(model, /*training=*/true);
  // One root generator: each epoch's shuffle seed and attack generator derive from it, so the
  // whole run is fixed by options.seed.
  auto root = make_generator(options.seed);
  for (int64_t epoch = 1; epoch <= options.epochs; ++epoch) {
    const Dataset shuffled = data.shuffle(next_seed(root));
    auto attack_gen = make_generator(next_seed(root));
    const EpochStats stats = run_epoch(model, shuffled, options, *optimizer, attack_gen, epoch);
    spdlog::info("epoch {}/{}: loss {:.4f}, accuracy {:.2f}%, {:.1f}s", epoch, options.epochs,
                 stats.loss, 100 * stats.accuracy, stats.seconds);
    if (options.on_epoch) options.on_epoch(stats);
  }
}

}  // namespace perturb
