// Batch-wise computations over a dataset, its batches shared among the ranks (share.h) and read
// through a BatchLoader: each rank decodes only the batches it owns, ahead of their turn.
#pragma once

#include <cstdint>
#include <functional>

#include "runtime/data/dataset.h"

namespace perturb {

// compute(k, batch k in memory)'s rows for every batch, in batch order on every rank (on the
// CPU), with the labels and dataset positions of the samples they came from: all of them, less
// any the source skipped as unreadable.
struct BatchRows {
  torch::Tensor rows;
  torch::Tensor labels;     // int64, CPU
  torch::Tensor positions;  // int64, CPU
};

BatchRows map_dataset(const Dataset& data, int64_t batch,
                      const std::function<torch::Tensor(int64_t k, const Dataset& part)>& compute);

}  // namespace perturb
