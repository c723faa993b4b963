// The adversarial examples evaluate(..., keep: true) keeps: per sample, the input that fooled
// the model first in the cascade and what it cost. A separate file so that evaluate()'s loop
// stays one call per batch, and keep: false touches none of it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "runtime/attack/attack.h"

namespace perturb {

// One row per sample of the evaluated data, in its order, on the CPU.
struct AdversarialExamples {
  std::vector<std::string> attacks;  // the cascade's attack names; fooled_by indexes them
  torch::Tensor x;                   // the clean inputs
  // The input of the first attack that fooled the sample, else the clean input: a sample the
  // model gets wrong clean is never attacked, and a robust one has no adversarial example.
  torch::Tensor x_adv;
  torch::Tensor y;           // int64 labels
  torch::Tensor pred_clean;  // int64 classes on x
  torch::Tensor pred_adv;    // int64 classes on x_adv (pred_clean where x_adv is x)
  torch::Tensor fooled_by;   // int64 index into attacks, -1 where no attack fooled it
  // The gradient evaluations and queries of each attack that ran on the sample. Attacks count
  // per batch, so each batch's count is shared evenly among its samples (the first rows take the
  // remainder): the column sums equal the report's totals, but under early stop a sample fooled
  // early is charged the same as one that ran every step.
  torch::Tensor gradient_evals;
  torch::Tensor queries;
};

// Collects AdversarialExamples while evaluate's cascade runs. Each rank of a group
// (runtime/distributed/share.h) records the batches it owns; finish() gathers them, so every
// rank's result is complete and the same.
class ExampleKeeper {
 public:
  // The clean pass: every sample starts unfooled, with x_adv = x and pred_adv = pred_clean.
  ExampleKeeper(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& pred_clean);

  // One batch of the cascade's attack number `attack`: the data rows it ran on, its result and
  // the model's classes on it, `fooled` (bool, per row) and what the batch cost.
  void record(int64_t attack, const torch::Tensor& rows, const torch::Tensor& x_adv,
              const torch::Tensor& pred, const torch::Tensor& fooled, const AttackStats& spent);

  // Every rank's records merged into the result; all ranks call it once, after the cascade.
  AdversarialExamples finish(std::vector<std::string> attacks);

 private:
  AdversarialExamples examples_;
  // This rank's fooled samples, batch by batch: their rows, inputs, classes and attack.
  std::vector<torch::Tensor> rows_, x_adv_, pred_, attack_;
};

}  // namespace perturb
