#include "runtime/train/train.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "runtime/core/atomic_file.h"
#include "runtime/core/error.h"
#include "runtime/core/progress.h"
#include "runtime/core/random.h"
#include "runtime/report/format.h"
#include "runtime/train/checkpoint.h"
#include "runtime/train/fast.h"
#include "runtime/train/optimizer.h"
#include "runtime/train/trades.h"

namespace perturb {
namespace {

namespace F = torch::nn::functional;

// Steps of the default validation PGD (Madry et al.'s evaluation uses more; 10 keeps the
// per-epoch check cheap next to the epoch itself).
constexpr int64_t kValidationPgdSteps = 10;
constexpr const char* kLogHeader = "epoch,lr,loss,train_accuracy,val_clean,val_robust,seconds\n";

// splitmix64: derives independent seeds from the run's seed without touching its root
// generator (so adding a validation split does not change the training stream).
uint64_t mix_seed(uint64_t seed, uint64_t salt) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (salt + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return (z ^ (z >> 31)) & 0x7FFFFFFFFFFFFFFFull;
}
constexpr uint64_t kValSplitSalt = 0x5641;       // "VA"
constexpr uint64_t kValAttackSalt = 0x56410000;  // + epoch

torch::Tensor hard_or_soft_ce(const torch::Tensor& logits, const torch::Tensor& y,
                              const torch::Tensor& soft_y) {
  return soft_y.defined() ? soft_label_cross_entropy(logits, soft_y) : F::cross_entropy(logits, y);
}

// One batch's loss under the chosen method. The model is in training mode on entry.
StepResult method_loss(Model& model, const torch::Tensor& x, const torch::Tensor& y,
                       const torch::Tensor& soft_y, const TrainOptions& options,
                       at::Generator& gen) {
  const auto& m = options.method;
  if (m == "standard") {
    auto logits = model.forward(x);
    return {hard_or_soft_ce(logits, y, soft_y), logits, y};
  }
  if (m == "madry") {
    // Madry et al. 2018, eq. (2.1): min_θ E[max_{δ∈S} L(θ, x + δ, y)], the inner max by PGD.
    const auto x_adv = options.adversary->run(model, x, y, gen);
    auto logits = model.forward(x_adv);
    return {hard_or_soft_ce(logits, y, soft_y), logits, y};
  }
  if (m == "fast") {
    const auto& threat = *options.adversary->threat();
    const double step = options.fast_step.value_or(default_fast_step(threat));
    const auto x_adv = fast_adversarial(model, threat, x, y, step, gen);
    auto logits = model.forward(x_adv);
    return {hard_or_soft_ce(logits, y, soft_y), logits, y};
  }
  // TRADES, Zhang et al. 2019 eq. (5): CE(f(x), y) + β·KL(f(x) ‖ f(x_adv)). Accuracy is
  // reported on the clean logits, which the loss also trains on.
  const auto x_adv = trades_adversarial(model, *options.adversary, x, gen);
  auto logits = model.forward(x);
  const auto robust = trades_kl(model.forward(x_adv), logits);
  return {hard_or_soft_ce(logits, y, soft_y) + options.trades_beta * robust, logits, y};
}

void check_schedule(const LrSchedule& s, int64_t epochs) {
  const auto& k = s.kind;
  if (k != "constant" && k != "step" && k != "cosine" && k != "onecycle") {
    throw Error("unknown learning-rate schedule '" + k +
                "'; the schedules are constant, step, cosine, onecycle");
  }
  if (!(s.gamma > 0)) throw Error("the step schedule's gamma must be positive");
  for (double m : s.milestones) {
    if (!(m >= 1) || m != std::floor(m)) {
      throw Error("milestones are epochs (whole numbers from 1), got " + format_number(m));
    }
  }
  if (!(s.pct_start > 0 && s.pct_start < 1)) throw Error("pct_start must be in (0, 1)");
  if (!(s.div_factor > 0) || !(s.final_div_factor > 0)) {
    throw Error("one-cycle div factors must be positive");
  }
  (void)epochs;
}

void check_options(const TrainOptions& options, const Dataset& data) {
  const auto& m = options.method;
  if (m != "standard" && m != "madry" && m != "trades" && m != "fast") {
    throw Error("unknown training method '" + m +
                "'; the methods are standard, madry, trades, fast");
  }
  if (m != "standard" && !options.adversary && !options.batch_loss) {
    throw Error(m + " training needs an adversary (an attack to train against)");
  }
  if (m == "fast" && options.adversary && !options.adversary->threat()->additive()) {
    throw Error("fast training needs an additive threat (Linf, L2, L1...), got " +
                options.adversary->threat()->describe());
  }
  if (options.fast_step && !(*options.fast_step > 0)) {
    throw Error("fast_step must be positive, got " + format_number(*options.fast_step));
  }
  if (options.epochs < 0) throw Error("epochs must not be negative");
  if (options.batch <= 0) throw Error("batch must be positive");
  if (data.size() == 0) throw Error("cannot train on " + data.name + ": it has no samples");
  if (!(options.val_split >= 0 && options.val_split < 1)) {
    throw Error("val_split must be in [0, 1), got " + format_number(options.val_split));
  }
  if (options.val && options.val->size() == 0) throw Error("the validation set has no samples");
  if (options.checkpoint_every < 0) throw Error("checkpoint_every must not be negative");
  if (options.resume && options.checkpoint_path.empty()) {
    throw Error("resume needs a checkpoint path (checkpoint: \"runs/x.ckpt\")");
  }
  if (options.checkpoint_every > 0 && options.checkpoint_path.empty()) {
    throw Error("checkpoint_every needs a checkpoint path (checkpoint: \"runs/x.ckpt\")");
  }
  if (options.trades_beta < 0) throw Error("TRADES beta must not be negative");
  check_schedule(options.lr_schedule, options.epochs);
}

// The settings that must agree between a checkpoint and the run resuming from it.
std::string fingerprint(const TrainOptions& o, const Dataset& data, Model& model) {
  std::ostringstream s;
  s << "model " << model.describe() << "; data " << data.name << " (" << data.size() << "); epochs "
    << o.epochs << "; batch " << o.batch << "; seed " << o.seed << "; method " << o.method
    << "; optimizer " << describe_optimizer(o.optimizer) << "; schedule " << o.lr_schedule.kind
    << "; augment " << (o.augment ? o.augment->describe() : "none") << "; val_split "
    << format_number(o.val_split);
  if (o.adversary) s << "; adversary " << o.adversary->describe();
  // Everything else that changes the numbers of the run.
  const auto& l = o.lr_schedule;
  s << "; milestones";
  for (double m : l.milestones) s << " " << format_number(m);
  s << "; gamma " << format_number(l.gamma) << "; pct_start " << format_number(l.pct_start)
    << "; beta " << format_number(o.trades_beta) << "; fast_step "
    << (o.fast_step ? format_number(*o.fast_step) : "default") << "; classes " << o.classes;
  if (o.val_attack) s << "; val_attack " << o.val_attack->describe();
  return s.str();
}

std::string percent(double v) {
  if (std::isnan(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", 100 * v);
  return buf;
}

std::string csv_number(double v) {
  if (std::isnan(v)) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string csv_row(const EpochStats& s) {
  return std::to_string(s.epoch) + "," + csv_number(s.lr) + "," + csv_number(s.loss) + "," +
         csv_number(s.accuracy) + "," + csv_number(s.val_clean) + "," + csv_number(s.val_robust) +
         "," + csv_number(s.seconds) + "\n";
}

void write_log(const std::string& path, const std::vector<std::string>& rows) {
  std::string text = kLogHeader;
  for (const auto& row : rows) text += row;
  write_file_atomic(path, text);
}

Dataset slice(const Dataset& d, int64_t begin, int64_t end, const std::string& name) {
  Dataset part = d.slice(begin, end);
  part.name = name;
  return part;
}

}  // namespace

double scheduled_lr(const LrSchedule& s, double base_lr, int64_t epochs, int64_t batches_per_epoch,
                    int64_t epoch, int64_t batch) {
  if (s.kind == "constant") return base_lr;
  if (s.kind == "step") {
    std::vector<double> milestones = s.milestones;
    if (milestones.empty()) {
      // Madry et al. / Rice et al. decay at 50% and 75% of training.
      milestones = {std::floor(0.5 * epochs) + 1, std::floor(0.75 * epochs) + 1};
    }
    double lr = base_lr;
    for (double m : milestones) {
      if (static_cast<double>(epoch) >= m) lr *= s.gamma;
    }
    return lr;
  }
  const double total = static_cast<double>(std::max<int64_t>(1, epochs * batches_per_epoch));
  const double t = static_cast<double>((epoch - 1) * batches_per_epoch + batch);
  const double pi = std::acos(-1.0);
  if (s.kind == "cosine") return base_lr * 0.5 * (1 + std::cos(pi * t / total));
  // One-cycle as PyTorch's OneCycleLR: phase ends at pct_start·total − 1 and total − 1.
  const double initial = base_lr / s.div_factor;
  const double final_lr = initial / s.final_div_factor;
  const double up_end = s.pct_start * total - 1;
  const double down_end = total - 1;
  auto cos_anneal = [&](double from, double to, double frac) {
    return to + (from - to) / 2 * (1 + std::cos(pi * frac));
  };
  if (t <= up_end) return cos_anneal(initial, base_lr, up_end > 0 ? t / up_end : 1.0);
  const double span = down_end - up_end;
  return cos_anneal(base_lr, final_lr, span > 0 ? std::min(1.0, (t - up_end) / span) : 1.0);
}

torch::Tensor soft_label_cross_entropy(const torch::Tensor& logits, const torch::Tensor& soft_y) {
  if (!logits.sizes().equals(soft_y.sizes())) {
    throw Error("soft labels must have the logits' shape [N, classes]");
  }
  return -(soft_y * torch::log_softmax(logits, 1)).sum(1).mean();
}

std::pair<double, double> validate(Model& model, const Dataset& data, const AttackPtr& attack,
                                   int64_t batch, at::Generator& gen) {
  ModeGuard eval(model, /*training=*/false);
  int64_t clean = 0;
  int64_t robust = 0;
  for (const auto& b : data.batches(batch)) {
    const auto x = b.x.to(model.device());
    const auto y = b.y.to(model.device());
    {
      torch::NoGradGuard no_grad;
      clean += (model.forward(x).argmax(1) == y).sum().item<int64_t>();
    }
    if (attack) {
      const auto x_adv = attack->run(model, x, y, gen);
      torch::NoGradGuard no_grad;
      robust += (model.forward(x_adv).argmax(1) == y).sum().item<int64_t>();
    }
  }
  const double n = static_cast<double>(data.size());
  return {clean / n, attack ? robust / n : std::numeric_limits<double>::quiet_NaN()};
}

TrainResult train(Model& model, const Dataset& all_data, const TrainOptions& options) {
  check_options(options, all_data);
  // Callers (the interpreter) may run in no-grad mode; training always needs gradients.
  torch::AutoGradMode enable_grad(true);
  auto params = model.parameters();
  auto optimizer = make_optimizer(options.optimizer, params);

  // The held-out split, fixed by the seed and independent of the training stream.
  Dataset data = all_data;
  std::optional<Dataset> val = options.val;
  if (!val && options.val_split > 0) {
    const int64_t n = all_data.size();
    const int64_t n_val = std::max<int64_t>(
        1, static_cast<int64_t>(std::llround(options.val_split * static_cast<double>(n))));
    if (n_val >= n) throw Error("val_split leaves no training data");
    const Dataset mixed = all_data.shuffle(mix_seed(options.seed, kValSplitSalt));
    val = slice(mixed, 0, n_val, all_data.name + " (validation split)");
    data = slice(mixed, n_val, n, all_data.name + " (training split)");
  }
  AttackPtr val_attack = options.val_attack;
  if (!val_attack && options.adversary) {
    PgdOptions pgd;
    pgd.steps = kValidationPgdSteps;
    val_attack = make_pgd(options.adversary->threat(), pgd);
  }

  // Soft labels (Mixup, CutMix) need the class count of the whole run, not of one batch (a
  // batch may miss the last class and give soft labels narrower than the logits).
  const int64_t classes =
      options.classes > 0 ? options.classes : all_data.y.max().item<int64_t>() + 1;
  if (options.classes < 0) throw Error("classes must be positive");

  const int64_t batches = (data.size() + options.batch - 1) / options.batch;
  const std::string print = fingerprint(options, data, model);
  TrainResult result;

  // One root generator: each epoch's shuffle seed, attack generator and augmentation generator
  // derive from it, so the whole run is fixed by options.seed.
  auto root = make_generator(options.seed);
  TrainCheckpoint saved;
  bool mid_epoch = false;
  std::vector<std::string> log_rows;
  int64_t first_epoch = 1;
  if (options.resume && std::filesystem::exists(options.checkpoint_path)) {
    saved = load_checkpoint(options.checkpoint_path, params, *optimizer);
    if (saved.fingerprint != print) {
      throw Error("checkpoint '" + options.checkpoint_path +
                  "' was written by a run with other settings; it has\n  " + saved.fingerprint +
                  "\nand this run has\n  " + print);
    }
    root.set_state(saved.root_state);
    first_epoch = saved.epoch;
    mid_epoch = saved.batch > 0;
    log_rows = saved.log_rows;
    result.resumed = true;
    result.resumed_epoch = saved.epoch;
    result.resumed_batch = saved.batch;
    spdlog::info("resuming from {} at epoch {}, batch {}", options.checkpoint_path, saved.epoch,
                 saved.batch);
  }

  ModeGuard training(model, /*training=*/true);
  for (int64_t epoch = first_epoch; epoch <= options.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    uint64_t shuffle_seed = 0;
    at::Generator attack_gen;
    at::Generator augment_gen;
    int64_t first_batch = 0;
    double loss_sum = 0;
    int64_t correct = 0;
    int64_t seen = 0;
    double earlier_seconds = 0;
    if (mid_epoch) {
      shuffle_seed = saved.shuffle_seed;
      attack_gen = make_generator(0);
      attack_gen.set_state(saved.attack_state);
      if (options.augment) {
        augment_gen = make_generator(0);
        augment_gen.set_state(saved.augment_state);
      }
      first_batch = saved.batch;
      loss_sum = saved.loss_sum;
      correct = saved.correct;
      seen = saved.seen;
      earlier_seconds = saved.seconds;
      mid_epoch = false;
    } else {
      shuffle_seed = next_seed(root);
      attack_gen = make_generator(next_seed(root));
      // Drawn only with a policy, so runs without one keep their historical stream.
      if (options.augment) augment_gen = make_generator(next_seed(root));
    }
    const Dataset shuffled = data.shuffle(shuffle_seed);
    const auto parts = shuffled.batches(options.batch);

    auto checkpoint = [&](int64_t next_epoch, int64_t next_batch) {
      TrainCheckpoint state;
      state.fingerprint = print;
      state.epoch = next_epoch;
      state.batch = next_batch;
      state.shuffle_seed = shuffle_seed;
      state.root_state = root.get_state();
      if (next_batch > 0) {
        state.attack_state = attack_gen.get_state();
        if (options.augment) state.augment_state = augment_gen.get_state();
      }
      state.loss_sum = loss_sum;
      state.correct = correct;
      state.seen = seen;
      state.seconds =
          earlier_seconds +
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      state.log_rows = log_rows;
      save_checkpoint(options.checkpoint_path, params, *optimizer, state);
    };

    std::unique_ptr<Progress> progress;
    if (!options.quiet) {
      progress = std::make_unique<Progress>(
          "epoch " + std::to_string(epoch) + "/" + std::to_string(options.epochs), data.size());
      progress->advance(seen);
    }
    double lr = options.optimizer.lr;
    for (int64_t b = first_batch; b < batches; ++b) {
      const auto& part = parts[static_cast<size_t>(b)];
      auto x = part.x.to(model.device());
      auto y = part.y.to(model.device());
      torch::Tensor soft_y;
      if (options.augment) {
        AugmentBatch augmented{x, y, {}, classes};
        // The teacher modality of paired data (CMDA), on the model's device like the images.
        if (part.teacher.defined()) augmented.teacher = part.teacher.to(model.device());
        augmented = options.augment->apply(std::move(augmented), augment_gen);
        x = augmented.x;
        y = augmented.y;
        soft_y = augmented.soft_y;
      }
      lr = scheduled_lr(options.lr_schedule, options.optimizer.lr, options.epochs, batches, epoch,
                        b);
      set_learning_rate(*optimizer, lr);
      const BatchPosition position{epoch, b, batches, lr};
      const StepResult step = options.batch_loss
                                  ? options.batch_loss(model, x, y, attack_gen, position)
                                  : method_loss(model, x, y, soft_y, options, attack_gen);
      optimizer->zero_grad();
      step.loss.backward();
      optimizer->step();
      const double loss = step.loss.item<double>();
      const auto& counted = step.y.defined() ? step.y : y;
      loss_sum += loss * static_cast<double>(part.size());
      correct += (step.logits.argmax(1) == counted).sum().item<int64_t>();
      seen += part.size();
      if (progress) {
        char status[96];
        std::snprintf(status, sizeof status, "loss %.4f acc %.2f%% lr %.3g", loss_sum / seen,
                      100.0 * correct / seen, lr);
        progress->advance(part.size(), status);
      }
      if (options.on_batch) options.on_batch(position);
      if (options.checkpoint_every > 0 && (b + 1) % options.checkpoint_every == 0 &&
          b + 1 < batches) {
        checkpoint(epoch, b + 1);
      }
    }

    EpochStats stats;
    stats.epoch = epoch;
    stats.lr = lr;
    stats.loss = loss_sum / static_cast<double>(std::max<int64_t>(seen, 1));
    stats.accuracy = static_cast<double>(correct) / static_cast<double>(std::max<int64_t>(seen, 1));
    if (val) {
      auto val_gen = make_generator(mix_seed(options.seed, kValAttackSalt + epoch));
      const auto [clean, robust] = validate(model, *val, val_attack, options.batch, val_gen);
      stats.val_clean = clean;
      stats.val_robust = robust;
    }
    stats.seconds = earlier_seconds +
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (progress) {
      char status[160];
      std::snprintf(status, sizeof status, "loss %.4f acc %.2f%% | val clean %s robust %s",
                    stats.loss, 100 * stats.accuracy, percent(stats.val_clean).c_str(),
                    percent(stats.val_robust).c_str());
      progress->advance(0, status);
      progress->finish();
    }
    spdlog::info(
        "epoch {}/{}: lr {:.4g}, loss {:.4f}, accuracy {:.2f}%, val clean {}, val robust "
        "{}, {:.1f}s",
        epoch, options.epochs, stats.lr, stats.loss, 100 * stats.accuracy, percent(stats.val_clean),
        percent(stats.val_robust), stats.seconds);
    log_rows.push_back(csv_row(stats));
    if (!options.log_path.empty()) write_log(options.log_path, log_rows);
    if (!options.checkpoint_path.empty()) checkpoint(epoch + 1, 0);
    result.epochs.push_back(stats);
    if (options.on_epoch) options.on_epoch(stats);
  }
  return result;
}

}  // namespace perturb
