// Training loops: standard, adversarial (Madry et al. 2018), TRADES (Zhang et al. 2019) and
// fast FGSM with a random start (Wong et al. 2020); augmentation policies; optimizers and
// learning-rate schedules; per-epoch validation (clean and PGD accuracy); a CSV log; atomic
// checkpoints that a killed run resumes from with bit-identical results.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "runtime/attack/attack.h"
#include "runtime/augment/policy.h"
#include "runtime/data/dataset.h"
#include "runtime/model/model.h"

namespace perturb {

// kind: "sgd", "adam", "adamw" (decoupled weight decay, Loshchilov and Hutter 2019).
struct OptimizerSpec {
  std::string kind = "sgd";
  double lr = 0.01;
  double momentum = 0;
  bool nesterov = false;
  double weight_decay = 0;
  double beta1 = 0.9;
  double beta2 = 0.999;
};

// The learning rate over a run, as a function of the position (epoch, batch); it is recomputed
// before every batch, so it carries no state of its own beyond that position.
//   "constant": base lr throughout.
//   "step": base lr · gamma^k, k = number of milestones (epochs, 1-based) already reached:
//           milestones {3, 5} → lr for epochs 1–2, lr·γ for 3–4, lr·γ² from 5 on. Empty
//           milestones → epochs at 50% and 75% of the run (Madry et al.'s CIFAR recipe).
//   "cosine": lr · ½(1 + cos(π·t/T)) per batch, t the batches done, T all batches (PyTorch's
//             CosineAnnealingLR with T_max = T, eta_min 0).
//   "onecycle": Smith's one-cycle as PyTorch's OneCycleLR (anneal 'cos'): from lr/div_factor up
//               to lr over pct_start of the batches, then down to lr/(div_factor·final_div).
//               Momentum is not cycled (PyTorch cycles it by default).
struct LrSchedule {
  std::string kind = "constant";
  std::vector<double> milestones;
  double gamma = 0.1;
  double pct_start = 0.3;
  double div_factor = 25;
  double final_div_factor = 1e4;
};

struct EpochStats {
  int64_t epoch = 0;
  double lr = 0;        // learning rate of the epoch's last batch
  double loss = 0;      // mean training loss
  double accuracy = 0;  // training accuracy (on the inputs the loss saw: adversarial for madry)
  // Held-out accuracy after the epoch; NaN when there is no validation set (or no attack).
  double val_clean = std::numeric_limits<double>::quiet_NaN();
  double val_robust = std::numeric_limits<double>::quiet_NaN();
  double seconds = 0;  // wall time of the epoch (training + validation), across a resume
};

// One batch's training loss; a schedule (TrainOptions::batch_loss) may replace the method's.
struct StepResult {
  torch::Tensor loss;    // scalar to minimise
  torch::Tensor logits;  // the logits accuracy is measured on
  torch::Tensor y;       // the labels accuracy is counted against (defaults to the batch's)
};

// Where a batch sits in the run, passed to hooks.
struct BatchPosition {
  int64_t epoch = 0;  // 1-based
  int64_t batch = 0;  // 0-based index within the epoch
  int64_t batches = 0;
  double lr = 0;
};

using BatchLossFn =
    std::function<StepResult(Model& model, const torch::Tensor& x, const torch::Tensor& y,
                             at::Generator& gen, const BatchPosition& position)>;

struct TrainOptions {
  int64_t epochs = 1;
  int64_t batch = 128;
  OptimizerSpec optimizer;
  LrSchedule lr_schedule;
  uint64_t seed = 0;
  // "standard"; "madry" (CE on adversary->run(x)); "trades" (CE(clean) + beta·KL(f(x)‖f(x_adv)),
  // x_adv maximising the KL); "fast" (CE on one FGSM step of fast_step from a uniform random
  // start in the adversary's threat, Wong et al. 2020).
  std::string method = "standard";
  AttackPtr adversary;  // required for madry, trades and fast (Error otherwise)
  double trades_beta = 6.0;
  std::optional<double> fast_step;  // default 1.25·eps (Wong et al. 2020)
  PolicyPtr augment;                // applied to each training batch before the method
  int64_t classes = 0;              // for soft labels (Mixup/CutMix); 0 → max label + 1

  // Validation after every epoch: on `val` if given, else on a held-out fraction `val_split` of
  // the training data (a fixed seeded split, removed from training); none when both are unset.
  std::optional<Dataset> val;
  double val_split = 0;
  // The attack for the validation's robust accuracy; default PGD-10 (step 2.5·eps/10, random
  // start) in the adversary's threat; none (NaN) for standard training without one.
  AttackPtr val_attack;

  std::string log_path;          // CSV, rewritten atomically after every epoch; "" → none
  std::string checkpoint_path;   // written atomically after every epoch; "" → none
  int64_t checkpoint_every = 0;  // also every K batches within an epoch; 0 → epoch ends only
  bool resume = false;           // continue from checkpoint_path when the file exists

  BatchLossFn batch_loss;                              // replaces the method when set
  std::function<void(const EpochStats&)> on_epoch;     // optional
  std::function<void(const BatchPosition&)> on_batch;  // after each optimizer step; optional
  bool quiet = false;                                  // no progress bar
};

struct TrainResult {
  std::vector<EpochStats> epochs;  // those run by this call (a resumed run: from the resume on)
  bool resumed = false;
  int64_t resumed_epoch = 0;  // where it resumed (1-based), 0 when it started fresh
  int64_t resumed_batch = 0;
};

// Trains `model` in place. Every random draw derives from options.seed: same seed, same weights,
// whether the run was interrupted and resumed or not. In a group of processes it is
// data-parallel (docs/distributed.md): rank 0's weights to start, each rank a shard of every
// batch, gradients summed over ranks, batch-norm statistics averaged after each epoch, rank 0
// writing the log and checkpoints (resumable at another world size).
TrainResult train(Model& model, const Dataset& data, const TrainOptions& options);

// The learning rate before batch `batch` (0-based) of epoch `epoch` (1-based).
double scheduled_lr(const LrSchedule& schedule, double base_lr, int64_t epochs,
                    int64_t batches_per_epoch, int64_t epoch, int64_t batch);

// Cross-entropy against soft labels: −(soft_y · log_softmax(logits)).sum(1).mean().
torch::Tensor soft_label_cross_entropy(const torch::Tensor& logits, const torch::Tensor& soft_y);

// Accuracy of `model` on `data` (clean) and under `attack` (NaN when attack is null), batched;
// batch k's attack draws from a stream keyed by (a seed drawn from `gen`, k), so the figures are
// the same when a group of processes shares the batches. The model is evaluated in eval mode.
std::pair<double, double> validate(Model& model, const Dataset& data, const AttackPtr& attack,
                                   int64_t batch, at::Generator& gen);

}  // namespace perturb
