// Meta-learning over tasks (thesis ch. 5, Algorithm 3, eqs. 5.8-5.11).
//
// For every mini-batch of N samples:
//   1. pick the meta-test task t (at random, or a fixed index); the others are meta-train tasks;
//   2. meta-train: the first k = round(split * N) samples are cut into one non-overlapping part
//      per meta-train task; L_mtr(Theta) is the sum of those tasks' losses (eq. 5.8);
//   3. meta-test: the copy Theta' = Theta - inner_lr * ∇L_mtr(Theta); L_mte is task t's loss on
//      the other N - k samples, under Theta (eq. 5.9) and Theta' (eq. 5.10);
//   4. meta-update: Theta takes one optimizer step on
//        L_meta = k/N · mean_i L_mtr,i(Theta) + (N-k)/N · (L_mte(Theta) + L_mte(Theta')) / 2,
//      then, for a stochastic network whose meta-test task has its noise on, the isotropic
//      scales phi take their own step (Algorithm 2's alternation).
// Deviation from eq. 5.11 (L_meta = L_mte(Theta) + L_mte(Theta')): the meta-train losses enter
// the meta-update directly, as in MLDG (Li et al. 2018, F(Theta) + G(Theta')), from which
// Algorithm 3 derives. Without them the meta-train half of every batch reaches Theta only
// through the second-order term of L_mte(Theta'), which is dropped here and is of order inner_lr
// anyway: Theta learned from half its images (docs/schedules.md measures it). The weights (each
// sample's loss counted once, the two meta-test copies averaged) make Meta over two Clean()
// tasks plain training on the whole batch as inner_lr goes to 0, so train's learning rate means
// what it means for method "standard".
// The gradient of L_mte(Theta') is taken first-order (at Theta', as in first-order MAML): the
// copy is updated in place and restored, with no second derivatives. Adversarial tasks attack
// Theta once per batch and the same x_adv serves both copies.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/train/meta_task.h"

namespace perturb {

struct MetaOptions {
  std::vector<Task> tasks;  // at least two
  int64_t meta_test = -1;   // a task index, or -1 for a random task each batch
  double inner_lr = 0.001;  // the step that makes Theta'
  double split = 0.5;       // the share of each batch used for meta-training
  SnnLossOptions snn;
  // "Meta(tasks: [...], meta_test: \"random\", inner_lr: 0.001, split: 0.5)"
  std::string describe() const;
  // What every batch does, one step a line (Algorithm 3, lines 2-6).
  std::vector<std::string> batch_plan() const;
  // The plan, one line per epoch (each epoch runs the same per-batch plan).
  std::vector<std::string> plan(int64_t epochs) const;
};

// Throws Error for fewer than two tasks, a meta_test index out of range, inner_lr <= 0 or a
// split outside (0, 1). options.method and options.adversary are not used: the tasks say what
// each batch trains on.
void check_meta(const MetaOptions& meta);

// Trains `model` in place for options.epochs epochs of Algorithm 3. A stochastic network keeps
// its noise on afterwards.
void train_meta(Model& model, const Dataset& data, const MetaOptions& meta,
                const TrainOptions& options);

}  // namespace perturb
