// Takes a model's weights out of autograd for a scope: an attack differentiates with respect to
// its input only, and a TorchScript model whose weights require grad runs a backward that
// computes their gradients too (its differentiable graphs do not prune them), which cost PGD-20
// about a quarter more gemm work than a hand-written loop with frozen weights (bench/run.sh).
#pragma once

#include <torch/torch.h>

#include <vector>

#include "runtime/model/model.h"

namespace perturb {

class FrozenParameters {
 public:
  explicit FrozenParameters(Model& model);
  ~FrozenParameters();  // restores each parameter's requires_grad as it was
  FrozenParameters(const FrozenParameters&) = delete;
  FrozenParameters& operator=(const FrozenParameters&) = delete;

 private:
  std::vector<torch::Tensor> thawed_;  // the parameters that required grad before
};

}  // namespace perturb
