// Training tasks (LANGUAGE.md §2 "Meta-learning task schedules"; thesis ch. 5 §5.2.2) and the
// per-batch steps the Meta and Curriculum schedules share.
//
// A task says which inputs a batch is trained on and whether the network's noise is on:
//   Clean()          clean inputs, noise off          (thesis task V, eq. 5.1 without triplets)
//   Noisy(iso, aniso) clean inputs, noise on          (task P, L_Mix of eq. 5.6)
//   Adversarial(a)   the attack's x_adv              (on a stochastic network: task PA, L_Tot of
//                                                     eq. 5.7; on a plain one: Madry et al.)
//   Augmented(p)     the policy's augmented batch, noise off
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/attack/attack.h"
#include "runtime/augment/policy.h"
#include "runtime/model/noise.h"
#include "runtime/train/train.h"

namespace perturb {

struct Task {
  enum class Kind { kClean, kNoisy, kAdversarial, kAugmented };
  Kind kind = Kind::kClean;
  AttackPtr attack;         // kAdversarial
  std::string attack_name;  // how the script named it ("pgd"), for printing
  PolicyPtr policy;         // kAugmented
  NoiseOptions noise;       // kNoisy: the noise a plain network gets when the schedule runs
  double weight = 0.5;      // kAdversarial on a stochastic network: eta of eq. 5.7
  // "Clean()", "Noisy(iso: 0.1, aniso: 4)", "Adversarial(pgd)", "Augmented(Flip(p: 0.5))"
  std::string describe() const;
};

// Constants of the stochastic-network losses (thesis §5.3 "Implementation details").
struct SnnLossOptions {
  double lambda = 1e-4;  // weight of the isotropic regulariser r(phi), eq. 5.2
  // Weight of L_FCA in L_Mix = L_Iso - fca * L_FCA (eq. 5.6; the thesis has 1). The log of
  // eq. 5.3 has a gradient of size 1/|phi_a|: at the thesis's learning rate (1e-5) that is
  // harmless, at the usual 0.01-0.1 a weight of 1 blew phi_a up within a few batches and the
  // network stopped learning (docs/schedules.md), so the default is 0.1.
  double fca = 0.1;
  double noise_lr = 0.01;  // beta of Algorithm 2: the SGD step of the isotropic scales phi
};

// The inputs of one task for a batch, computed once (an attack's x_adv is the costly part) and
// reused by every loss evaluated on them.
struct TaskInputs {
  torch::Tensor x;  // clean inputs
  torch::Tensor y;
  torch::Tensor x_task;  // x_adv or the augmented batch; undefined for Clean and Noisy
  torch::Tensor soft_y;  // from a mixing policy, else undefined
};

struct TaskLoss {
  torch::Tensor loss;    // scalar to minimise
  torch::Tensor logits;  // the logits accuracy is counted on
};

// Whether the task runs the network with its noise on (only meaningful for an SnnModel).
bool task_noise(const Task& task, const Model& model);

// The task's inputs for (x, y): runs the attack (against the model in its current state, noise
// as the task has it) or the policy, drawing from gen.
TaskInputs task_inputs(Model& model, const Task& task, const torch::Tensor& x,
                       const torch::Tensor& y, at::Generator& gen);

// The task's loss on prepared inputs (noise set as the task has it; the stochastic network's
// noise terms added when the noise is on).
TaskLoss task_loss(Model& model, const Task& task, const TaskInputs& inputs, int64_t epoch,
                   const SnnLossOptions& snn);

// The optimizers of Algorithm 2: `main` over theta (and phi_a), `noise` over the isotropic
// scales phi (null when the model has none to learn).
struct ScheduleOptimizers {
  std::unique_ptr<torch::optim::Optimizer> main;
  std::unique_ptr<torch::optim::Optimizer> noise;
  std::vector<torch::Tensor> all;  // every trained tensor (theta, phi, phi_a)
};
ScheduleOptimizers make_schedule_optimizers(Model& model, const OptimizerSpec& spec,
                                            const SnnLossOptions& snn);

// One plain training step on one task: (theta, phi_a) by `main` on the task's loss, then — when
// the model is a stochastic network with the noise on — phi by `noise` on the loss recomputed
// with the updated theta (Algorithm 2's alternation). Returns the first loss.
// Data-parallel (`shard_weight` set): the inputs are this rank's shard of the batch, each loss is
// scaled by the shard's share of the batch and the gradients are summed over the ranks before
// each optimizer step (runtime/distributed/share.h).
TaskLoss task_step(Model& model, const Task& task, const TaskInputs& inputs, int64_t epoch,
                   const SnnLossOptions& snn, ScheduleOptimizers& opt,
                   std::optional<double> shard_weight = std::nullopt);

// A data-parallel rank's part in task_step when its shard of the batch is empty: the same
// collectives and optimizer steps, on no data.
void empty_shard_step(Model& model, const Task& task, ScheduleOptimizers& opt);

// Algorithm 2, step 3 alone: phi ← phi - beta ∇_phi L(task) at the current theta.
void noise_step(Model& model, const Task& task, const TaskInputs& inputs, int64_t epoch,
                const SnnLossOptions& snn, ScheduleOptimizers& opt,
                std::optional<double> shard_weight = std::nullopt);

}  // namespace perturb
