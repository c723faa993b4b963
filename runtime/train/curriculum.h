// Curricula (LANGUAGE.md §2): stages of {epochs, task} run in order, with attack parameters that
// ramp linearly over a stage's epochs (`pgd.with(eps: ramp(0, 0.1))`).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "runtime/train/meta_task.h"

namespace perturb {

// A value going linearly from start to end over a stage: at epoch e of E it is
// start + (end - start) * (e - 1) / (E - 1) (the first epoch at start, the last at end; a
// one-epoch stage uses end).
struct Ramp {
  double start = 0;
  double end = 0;
  double at(int64_t epoch, int64_t epochs) const;
  std::string describe() const;  // "ramp(0, 0.1)"
};

// An attack some of whose parameters ramp. Outside a curriculum it runs with the ramps' end
// values; a curriculum asks for the attack of each epoch with at().
class RampedAttack : public Attack {
 public:
  RampedAttack(AttackPtr base, std::map<std::string, Ramp> ramps);
  std::string name() const override { return base_->name(); }
  // "PGD(Linf(eps: 0.1, ...), steps: 10, ...) with eps: ramp(0, 0.1)"
  std::string describe() const override;
  torch::Tensor run(Model& model, const torch::Tensor& x, const torch::Tensor& y,
                    at::Generator& gen, AttackStats* stats = nullptr) const override;
  ThreatPtr threat() const override;
  std::shared_ptr<Attack> with(const Params& params) const override;
  bool can_stop_early() const override { return base_->can_stop_early(); }

  // The plain attack at epoch e of a stage of E epochs.
  AttackPtr at(int64_t epoch, int64_t epochs) const;
  const std::map<std::string, Ramp>& ramps() const { return ramps_; }

 private:
  AttackPtr base_;
  std::map<std::string, Ramp> ramps_;
};

// `base.with(ramped)` where some values ramp. Unknown parameter names fail as base->with does.
AttackPtr make_ramped_attack(AttackPtr base, std::map<std::string, Ramp> ramps);

struct Stage {
  int64_t epochs = 1;
  Task task;
};

// The task of epoch e (1-based) of a stage: ramped attacks replaced by that epoch's attack.
Task stage_task(const Stage& stage, int64_t epoch);

// Throws Error for no stages or a stage with fewer than one epoch.
void check_curriculum(const std::vector<Stage>& stages);

// "epoch 1/10: Clean()", ..., "epoch 3/10: Adversarial(pgd, eps: 0.0142857)".
std::vector<std::string> curriculum_plan(const std::vector<Stage>& stages);

// Trains every stage in order, one task per batch; the total number of epochs is the sum of the
// stages' (options.epochs is not used). A stochastic network's Clean stages run without noise,
// its Noisy and Adversarial ones with it (Algorithm 2's alternating updates), and it keeps its
// noise on afterwards.
void train_curriculum(Model& model, const Dataset& data, const std::vector<Stage>& stages,
                      const TrainOptions& options, const SnnLossOptions& snn = {});

}  // namespace perturb
