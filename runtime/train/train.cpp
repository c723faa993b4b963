#include "runtime/train/train.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <tuple>

#include "runtime/core/atomic_file.h"
#include "runtime/core/error.h"
#include "runtime/core/interrupt.h"
#include "runtime/core/progress.h"
#include "runtime/core/random.h"
#include "runtime/data/batch_loader.h"
#include "runtime/distributed/share.h"
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

// Seeds derived with mix_seed leave the run's root generator untouched (so adding a
// validation split does not change the training stream).
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

void check_schedule(const LrSchedule& s) {
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
  check_schedule(options.lr_schedule);
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

struct DataSplit {
  Dataset training;
  std::optional<Dataset> validation;
};

// The held-out split, fixed by the seed and independent of the training stream.
DataSplit split_validation(const Dataset& all_data, const TrainOptions& options) {
  if (options.val || options.val_split <= 0) return {all_data, options.val};
  const int64_t n = all_data.size();
  const int64_t n_val = std::max<int64_t>(
      1, static_cast<int64_t>(std::llround(options.val_split * static_cast<double>(n))));
  if (n_val >= n) throw Error("val_split leaves no training data");
  const Dataset mixed = all_data.shuffle(mix_seed(options.seed, kValSplitSalt));
  return {slice(mixed, n_val, n, all_data.name + " (training split)"),
          slice(mixed, 0, n_val, all_data.name + " (validation split)")};
}

AttackPtr validation_attack(const TrainOptions& options) {
  if (options.val_attack || !options.adversary) return options.val_attack;
  PgdOptions pgd;
  pgd.steps = kValidationPgdSteps;
  return make_pgd(options.adversary->threat(), pgd);
}

// Soft labels (Mixup, CutMix) need the class count of the whole run, not of one batch (a
// batch may miss the last class and give soft labels narrower than the logits).
int64_t class_count(const TrainOptions& options, const Dataset& all_data) {
  if (options.classes < 0) throw Error("classes must be positive");
  return options.classes > 0 ? options.classes : all_data.y.max().item<int64_t>() + 1;
}

at::Generator restored_generator(const torch::Tensor& state) {
  auto generator = make_generator(0);
  generator.set_state(state);
  return generator;
}

// An epoch in progress: what its batches add up, and what a mid-epoch checkpoint saves.
struct EpochState {
  int64_t epoch = 0;
  uint64_t shuffle_seed = 0;
  at::Generator attack_gen;
  at::Generator augment_gen;
  int64_t first_batch = 0;
  double lr = 0;  // of the latest batch
  double loss_sum = 0;
  int64_t correct = 0;
  int64_t seen = 0;
  double earlier_seconds = 0;  // spent before a resume
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();

  double seconds() const {
    return earlier_seconds +
           std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  double mean_loss() const { return loss_sum / static_cast<double>(std::max<int64_t>(seen, 1)); }
  double accuracy() const {
    return static_cast<double>(correct) / static_cast<double>(std::max<int64_t>(seen, 1));
  }
};

std::unique_ptr<Progress> epoch_progress(const EpochState& epoch, const TrainOptions& options,
                                         int64_t samples) {
  if (options.quiet) return nullptr;
  auto progress = std::make_unique<Progress>(
      "epoch " + std::to_string(epoch.epoch) + "/" + std::to_string(options.epochs), samples);
  progress->advance(epoch.seen);
  return progress;
}

void show_batch(Progress* progress, const EpochState& epoch, int64_t batch_size) {
  if (!progress) return;
  char status[96];
  std::snprintf(status, sizeof status, "loss %.4f acc %.2f%% lr %.3g", epoch.loss_sum / epoch.seen,
                100.0 * epoch.correct / epoch.seen, epoch.lr);
  progress->advance(batch_size, status);
}

void report_epoch(const EpochStats& stats, int64_t epochs, Progress* progress) {
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
      stats.epoch, epochs, stats.lr, stats.loss, 100 * stats.accuracy, percent(stats.val_clean),
      percent(stats.val_robust), stats.seconds);
}

// One call of train(): the run's fixed parts, its root generator, and the steps of an epoch.
class TrainingRun {
 public:
  TrainingRun(Model& model, const Dataset& all_data, const TrainOptions& options)
      : model_(model),
        options_(options),
        params_(model.parameters()),
        optimizer_(make_optimizer(options.optimizer, params_)),
        split_(split_validation(all_data, options)),
        val_attack_(validation_attack(options)),
        classes_(class_count(options, all_data)),
        batches_((split_.training.size() + options.batch - 1) / options.batch),
        fingerprint_(fingerprint(options, split_.training, model)),
        // One root generator: each epoch's shuffle seed, attack generator and augmentation
        // generator derive from it, so the whole run is fixed by options.seed.
        root_(make_generator(options.seed)) {}

  TrainResult run() {
    const int64_t first_epoch = restore();
    // Data-parallel: every rank starts from rank 0's weights (and statistics).
    broadcast_from_rank0(params_);
    broadcast_from_rank0(model_.buffers());
    ModeGuard training(model_, /*training=*/true);
    const HonourInterrupts stop_at_a_step;
    for (int64_t epoch = first_epoch; epoch <= options_.epochs; ++epoch) {
      run_epoch(epoch);
      // The epoch's end wrote its checkpoint (when there is a path): nothing more to save.
      if (epoch < options_.epochs && stop_requested()) throw interrupted(epoch + 1, 0);
    }
    return std::move(result_);
  }

 private:
  // Continues a killed run from its checkpoint, when asked to and there is one: weights,
  // optimizer, root generator and log; an unfinished epoch is kept for begin_epoch. Returns the
  // epoch to start from.
  int64_t restore() {
    if (!options_.resume || !std::filesystem::exists(options_.checkpoint_path)) return 1;
    TrainCheckpoint saved = load_checkpoint(options_.checkpoint_path, params_, *optimizer_);
    if (saved.fingerprint != fingerprint_) {
      throw Error("checkpoint '" + options_.checkpoint_path +
                  "' was written by a run with other settings; it has\n  " + saved.fingerprint +
                  "\nand this run has\n  " + fingerprint_);
    }
    root_.set_state(saved.root_state);
    log_rows_ = saved.log_rows;
    result_.resumed = true;
    result_.resumed_epoch = saved.epoch;
    result_.resumed_batch = saved.batch;
    spdlog::info("resuming from {} at epoch {}, batch {}", options_.checkpoint_path, saved.epoch,
                 saved.batch);
    const int64_t first_epoch = saved.epoch;
    if (saved.batch > 0) unfinished_epoch_ = std::move(saved);
    // The saved sums are over every rank of the run that wrote them: rank 0 carries them on,
    // so the sums over this run's ranks count them once, at any world size.
    if (unfinished_epoch_ && share_.rank != 0) {
      unfinished_epoch_->loss_sum = 0;
      unfinished_epoch_->correct = 0;
      unfinished_epoch_->seen = 0;
    }
    return first_epoch;
  }

  void run_epoch(int64_t number) {
    EpochState epoch = begin_epoch(number);
    const Dataset shuffled = split_.training.shuffle(epoch.shuffle_seed);
    auto parts = shuffled.batches(options_.batch);
    parts.erase(parts.begin(), parts.begin() + epoch.first_batch);
    // A streaming dataset's next batches are decoded while this one trains.
    BatchLoader loader(std::move(parts));
    const auto progress = epoch_progress(epoch, options_, split_.training.size());
    for (int64_t b = epoch.first_batch; b < batches_; ++b) {
      train_batch(epoch, loader.next().data, b, progress.get());
      if (options_.checkpoint_every > 0 && (b + 1) % options_.checkpoint_every == 0 &&
          b + 1 < batches_) {
        checkpoint(epoch, number, b + 1);
      }
      if (b + 1 < batches_ && stop_after_step_) {
        if (!options_.checkpoint_path.empty()) checkpoint(epoch, number, b + 1);
        throw interrupted(number, b + 1);
      }
    }
    // Batch-norm statistics each rank gathered on its shards, averaged (documented in
    // docs/distributed.md: batch statistics are per shard, as DistributedDataParallel's).
    average_over_ranks(model_.buffers());
    const EpochStats stats = epoch_stats(epoch);
    report_epoch(stats, options_.epochs, progress.get());
    log_rows_.push_back(csv_row(stats));
    if (!options_.log_path.empty() && share_.rank == 0) write_log(options_.log_path, log_rows_);
    if (!options_.checkpoint_path.empty()) checkpoint(epoch, number + 1, 0);
    result_.epochs.push_back(stats);
    if (options_.on_epoch) options_.on_epoch(stats);
  }

  // A fresh epoch draws its shuffle and generators from the root; the epoch a checkpoint left
  // unfinished takes them, and its running sums, from the checkpoint.
  EpochState begin_epoch(int64_t number) {
    EpochState epoch;
    epoch.epoch = number;
    epoch.lr = options_.optimizer.lr;
    if (unfinished_epoch_) {
      const TrainCheckpoint& saved = *unfinished_epoch_;
      epoch.shuffle_seed = saved.shuffle_seed;
      epoch.attack_gen = restored_generator(saved.attack_state);
      if (options_.augment) epoch.augment_gen = restored_generator(saved.augment_state);
      epoch.first_batch = saved.batch;
      epoch.loss_sum = saved.loss_sum;
      epoch.correct = saved.correct;
      epoch.seen = saved.seen;
      epoch.earlier_seconds = saved.seconds;
      unfinished_epoch_.reset();
      return epoch;
    }
    epoch.shuffle_seed = next_seed(root_);
    epoch.attack_gen = make_generator(next_seed(root_));
    // Drawn only with a policy, so runs without one keep their historical stream.
    if (options_.augment) epoch.augment_gen = make_generator(next_seed(root_));
    return epoch;
  }

  // The batch on the model's device, through the augmentation policy when there is one.
  AugmentBatch device_batch(const Dataset& part, at::Generator& augment_gen) const {
    AugmentBatch batch{part.x.to(model_.device()), part.y.to(model_.device()), {}, classes_};
    if (!options_.augment) return batch;
    // The teacher modality of paired data (CMDA), on the model's device like the images.
    if (part.teacher.defined()) batch.teacher = part.teacher.to(model_.device());
    return options_.augment->apply(std::move(batch), augment_gen);
  }

  // One optimizer step on global batch b. Data-parallel, each rank computes the loss of its
  // shard of the batch (after augmenting the whole batch, as one process does) scaled by the
  // shard's share, and the gradients are summed over ranks: the step of the global mean loss.
  void train_batch(EpochState& epoch, const Dataset& part, int64_t b, Progress* progress) {
    AugmentBatch batch = device_batch(part, epoch.augment_gen);
    epoch.lr = scheduled_lr(options_.lr_schedule, options_.optimizer.lr, options_.epochs, batches_,
                            epoch.epoch, b);
    set_learning_rate(*optimizer_, epoch.lr);
    const BatchPosition position{epoch.epoch, b, batches_, epoch.lr};
    // Each rank's attack draws from its own stream of the batch's seed (one process: the
    // epoch's attack generator itself, as before there were ranks).
    at::Generator rank_gen = share_.distributed()
                                 ? make_generator(mix_seed(next_seed(epoch.attack_gen),
                                                           static_cast<uint64_t>(share_.rank)))
                                 : epoch.attack_gen;
    const int64_t global_rows = batch.x.size(0);
    if (share_.distributed()) batch = shard(batch);
    const int64_t rows = batch.x.size(0);
    optimizer_->zero_grad();
    StepResult step;
    double loss = 0;  // a rank without rows of this batch has nothing to check
    if (rows > 0) {
      step = options_.batch_loss
                 ? options_.batch_loss(model_, batch.x, batch.y, rank_gen, position)
                 : method_loss(model_, batch.x, batch.y, batch.soft_y, options_, rank_gen);
      loss = step.loss.item<double>();
    }
    const StepFlags flags = step_flags(loss);
    if (flags.non_finite) throw non_finite_loss(loss, batch.x, step.logits, epoch.epoch, b);
    stop_after_step_ = flags.interrupted;
    if (rows > 0) {
      const double share_of_batch = static_cast<double>(rows) / static_cast<double>(global_rows);
      (share_of_batch == 1 ? step.loss : step.loss * share_of_batch).backward();
      const auto& counted = step.y.defined() ? step.y : batch.y;
      epoch.loss_sum += loss * static_cast<double>(rows);
      epoch.correct += (step.logits.argmax(1) == counted).sum().item<int64_t>();
      epoch.seen += rows;
    }
    sum_gradients(params_);
    optimizer_->step();
    show_batch(progress, epoch, part.size());
    if (options_.on_batch) options_.on_batch(position);
  }

  struct StepFlags {
    bool non_finite = false;   // some rank's loss is NaN or infinite
    bool interrupted = false;  // Ctrl-C or SIGTERM reached some rank
  };

  // What every rank must agree on at a step, in one all-reduce on every rank (also those without
  // rows of the batch): a NaN or infinite loss would poison every weight at this step, and an
  // interrupt stops all ranks after the same one.
  StepFlags step_flags(double loss) const {
    auto flags = torch::tensor({std::isfinite(loss) ? 0.0 : 1.0, interrupt_requested() ? 1.0 : 0.0},
                               torch::kFloat64);
    if (share_.distributed()) flags = sum_over_ranks(flags);
    return {flags[0].item<double>() > 0, flags[1].item<double>() > 0};
  }

  // Training stops before a NaN or infinite loss reaches the weights: where, and what caused it.
  Error non_finite_loss(double loss, const torch::Tensor& x, const torch::Tensor& logits,
                        int64_t epoch, int64_t b) const {
    std::string cause = "the loss is not finite on some rank";
    if (!std::isfinite(loss)) {
      cause = !torch::isfinite(x).all().item<bool>()
                  ? "the batch's inputs hold NaN or infinite values: check the data"
              : !torch::isfinite(logits).all().item<bool>()
                  ? "the model's outputs hold NaN or infinite values: the weights diverged (a "
                    "lower learning rate often helps)"
                  : "the loss is " + format_number(loss);
    }
    return Error("training stopped in epoch " + std::to_string(epoch) + " at batch " +
                 std::to_string(b + 1) + " of " + std::to_string(batches_) + ": " + cause +
                 "; the weights are those after the step before");
  }

  // This rank's rows of a global batch.
  AugmentBatch shard(const AugmentBatch& batch) const {
    const auto [begin, end] = share_.rows(batch.x.size(0));
    AugmentBatch mine = batch;
    mine.x = batch.x.slice(0, begin, end);
    mine.y = batch.y.slice(0, begin, end);
    if (batch.soft_y.defined()) mine.soft_y = batch.soft_y.slice(0, begin, end);
    if (batch.teacher.defined()) mine.teacher = batch.teacher.slice(0, begin, end);
    return mine;
  }

  // The epoch's running sums over every rank (its own for one process).
  EpochState summed(const EpochState& epoch) const {
    if (!share_.distributed()) return epoch;
    const auto sums = sum_over_ranks(torch::tensor(
        {epoch.loss_sum, static_cast<double>(epoch.correct), static_cast<double>(epoch.seen)},
        torch::kFloat64));
    EpochState total = epoch;
    total.loss_sum = sums[0].item<double>();
    total.correct = static_cast<int64_t>(sums[1].item<double>());
    total.seen = static_cast<int64_t>(sums[2].item<double>());
    return total;
  }

  // The epoch's means, and its accuracy on the held-out set when there is one.
  EpochStats epoch_stats(const EpochState& local) {
    const EpochState epoch = summed(local);
    EpochStats stats;
    stats.epoch = epoch.epoch;
    stats.lr = epoch.lr;
    stats.loss = epoch.mean_loss();
    stats.accuracy = epoch.accuracy();
    if (split_.validation) {
      auto val_gen = make_generator(mix_seed(options_.seed, kValAttackSalt + epoch.epoch));
      std::tie(stats.val_clean, stats.val_robust) =
          validate(model_, *split_.validation, val_attack_, options_.batch, val_gen);
    }
    stats.seconds = epoch.seconds();
    return stats;
  }

  // Ctrl-C or SIGTERM on any rank, checked between epochs (every rank stops at the same one;
  // within an epoch, step_flags tells).
  bool stop_requested() const {
    const double here = interrupt_requested() ? 1 : 0;
    return (share_.distributed() ? max_over_ranks(here) : here) > 0;
  }

  // What stops the run, once the last complete step is saved: where it stopped, what was kept.
  Interrupted interrupted(int64_t next_epoch, int64_t next_batch) const {
    std::string where = next_batch > 0
                            ? "in epoch " + std::to_string(next_epoch) + " after batch " +
                                  std::to_string(next_batch) + " of " + std::to_string(batches_)
                            : "after epoch " + std::to_string(next_epoch - 1);
    std::string message = "training interrupted by " + interrupt_name() + " " + where;
    if (options_.checkpoint_path.empty()) {
      return Interrupted(message +
                         "; nothing was saved: give train a checkpoint: path and resume: true "
                         "to continue an interrupted run");
    }
    return Interrupted(message + "; checkpoint written to " + options_.checkpoint_path +
                       (options_.resume ? ": run the same script again to continue"
                                        : ": run again with resume: true to continue"));
  }

  // next_batch 0: the epoch is done and `next_epoch` starts afresh from the root generator.
  // Rank 0 writes it (every rank takes part in summing the epoch's figures).
  void checkpoint(const EpochState& local, int64_t next_epoch, int64_t next_batch) const {
    const EpochState epoch = summed(local);
    if (share_.rank != 0) return;
    TrainCheckpoint state;
    state.fingerprint = fingerprint_;
    state.epoch = next_epoch;
    state.batch = next_batch;
    state.shuffle_seed = epoch.shuffle_seed;
    state.root_state = root_.get_state();
    if (next_batch > 0) {
      state.attack_state = epoch.attack_gen.get_state();
      if (options_.augment) state.augment_state = epoch.augment_gen.get_state();
    }
    state.loss_sum = epoch.loss_sum;
    state.correct = epoch.correct;
    state.seen = epoch.seen;
    state.seconds = epoch.seconds();
    state.log_rows = log_rows_;
    save_checkpoint(options_.checkpoint_path, params_, *optimizer_, state);
  }

  Model& model_;
  const TrainOptions& options_;
  WorkShare share_ = WorkShare::of_process();
  bool stop_after_step_ = false;  // the latest step saw an interrupt (step_flags)
  std::vector<torch::Tensor> params_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  DataSplit split_;
  AttackPtr val_attack_;
  int64_t classes_;
  int64_t batches_;
  std::string fingerprint_;
  at::Generator root_;
  std::optional<TrainCheckpoint> unfinished_epoch_;
  std::vector<std::string> log_rows_;
  TrainResult result_;
};

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
  // Batch k is rank k mod size's and its attack draws from a stream keyed by k: the same
  // figures at any world size (runtime/distributed/share.h).
  const WorkShare share = WorkShare::of_process();
  const uint64_t attack_seed = next_seed(gen);
  const auto parts = data.batches(batch);
  const auto numbers = share.owned(static_cast<int64_t>(parts.size()));
  std::vector<Dataset> owned;
  for (const int64_t k : numbers) owned.push_back(parts[static_cast<size_t>(k)]);
  BatchLoader loader(std::move(owned));
  auto counts = torch::zeros({3}, torch::kInt64);  // clean, robust, samples read
  for (const int64_t k : numbers) {
    const Dataset b = loader.next().data;
    const auto x = b.x.to(model.device());
    const auto y = b.y.to(model.device());
    counts[2] += b.size();
    {
      torch::NoGradGuard no_grad;
      counts[0] += (model.forward(x).argmax(1) == y).sum().item<int64_t>();
    }
    if (attack) {
      auto batch_gen = make_generator(mix_seed(attack_seed, static_cast<uint64_t>(k)));
      const auto x_adv = attack->run(model, x, y, batch_gen);
      torch::NoGradGuard no_grad;
      counts[1] += (model.forward(x_adv).argmax(1) == y).sum().item<int64_t>();
    }
  }
  counts = sum_over_ranks(counts);
  // Samples read, not data.size(): a streaming source may skip unreadable images.
  const double n = static_cast<double>(std::max<int64_t>(counts[2].item<int64_t>(), 1));
  return {counts[0].item<int64_t>() / n,
          attack ? counts[1].item<int64_t>() / n : std::numeric_limits<double>::quiet_NaN()};
}

TrainResult train(Model& model, const Dataset& all_data, const TrainOptions& options) {
  check_options(options, all_data);
  // Callers (the interpreter) may run in no-grad mode; training always needs gradients.
  torch::AutoGradMode enable_grad(true);
  return TrainingRun(model, all_data, options).run();
}

}  // namespace perturb
