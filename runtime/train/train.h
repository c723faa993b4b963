// Training loops: standard, adversarial (Madry et al.) and TRADES (Zhang et al. 2019).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "runtime/attack/attack.h"
#include "runtime/data/dataset.h"
#include "runtime/model/model.h"

namespace perturb {

// kind: "sgd", "adam"
struct OptimizerSpec {
  std::string kind = "sgd";
  double lr = 0.01;
  double momentum = 0;
  double weight_decay = 0;
  double beta1 = 0.9;
  double beta2 = 0.999;
};

struct EpochStats {
  int64_t epoch = 0;
  double loss = 0;
  double accuracy = 0;
  double seconds = 0;
};

struct TrainOptions {
  int64_t epochs = 1;
  int64_t batch = 128;
  OptimizerSpec optimizer;
  uint64_t seed = 0;
  // "standard"; "madry" (train on adversary->run); "trades" (CE(clean) + beta·KL(f(x_adv)‖f(x)),
  // x_adv maximising the KL by PGD steps of the adversary's threat, Zhang et al. 2019).
  std::string method = "standard";
  AttackPtr adversary;  // required for madry/trades (Error otherwise)
  double trades_beta = 6.0;
  std::function<void(const EpochStats&)> on_epoch;  // optional
};

// Shuffles each epoch with generators derived from options.seed; Progress bar; spdlog::info
// per epoch.
void train(Model& model, const Dataset& data, const TrainOptions& options);

}  // namespace perturb
