// Robust accuracy under a cascade of attacks (AutoAttack's way).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/attack/attack.h"
#include "runtime/data/dataset.h"
#include "runtime/model/model.h"

namespace perturb {

struct NamedAttack {
  std::string name;
  AttackPtr attack;
};

struct AttackResult {
  std::string name;
  double accuracy = 0;  // robust accuracy after this attack in the cascade
  double seconds = 0;
  int64_t attacked = 0;  // samples this attack ran on (those still robust)
  AttackStats stats;
};

struct EvalReport {
  int64_t samples = 0;
  double clean = 0;
  double robust = 0;
  double clean_seconds = 0;  // time of the clean pass
  std::vector<AttackResult>
      by_attack;  // accuracy = robust accuracy after this attack in the cascade
  // Aligned text table: rows "clean", each attack, "worst case"; columns accuracy (percent, 2
  // decimals), samples attacked, seconds.
  std::string table() const;
  // {"samples":..,"clean":..,"robust":..,"by_attack":{"pgd":{"accuracy":..,"seconds":..,
  //  "attacked":..,"gradient_evals":..,"queries":..}}}
  std::string json() const;
};

// AutoAttack's per-sample cascade: a sample counts as robust only if it is correct clean and no
// attack fools it; each attack runs only on samples still robust, starting from the clean input.
// Batched; model in eval mode; NoGrad for clean predictions.
EvalReport evaluate(Model& model, const Dataset& data, const std::vector<NamedAttack>& attacks,
                    at::Generator& gen, int64_t batch = 256);

// Fraction correct, eval mode, no grad, restores the mode.
double accuracy(Model& model, const torch::Tensor& x, const torch::Tensor& y, int64_t batch = 512);

}  // namespace perturb
