// How the data-parallel builtins share their work among the ranks of the process's group, and
// combine it. Every function is a plain local computation for a single process (no group), so
// callers write one code path. All ranks must call the collective ones in the same order.
//
// The unit of work is a batch: batch k of a list (rows [k·batch, (k+1)·batch)) belongs to rank
// k mod size, and each batch's random numbers come from a generator keyed by k. A batch is the
// same rows at any world size, so every rank computes what one process would have computed for
// it, bit for bit on the same thread count: results equal one process's at any world size.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace perturb {

struct WorkShare {
  int rank = 0;
  int size = 1;

  // The share of this process in its group (rank 0 of 1 without one).
  static WorkShare of_process();
  bool distributed() const { return size > 1; }
  // Whether batch `k` (0-based) is this rank's.
  bool owns(int64_t k) const { return k % size == rank; }
  // The numbers of this rank's batches among `batches`, in order.
  std::vector<int64_t> owned(int64_t batches) const;
  // This rank's contiguous rows [begin, end) of n (sizes differ by at most one).
  std::pair<int64_t, int64_t> rows(int64_t n) const;
};

// The element-wise sum over ranks of a CPU tensor (the tensor itself for one process).
torch::Tensor sum_over_ranks(torch::Tensor tensor);
// The largest of each rank's value.
double max_over_ranks(double value);
// Every rank's rows (CPU), concatenated in rank order; the first dimension may differ by rank.
torch::Tensor gather_rows(const torch::Tensor& rows);
// The rows of every batch in batch order, on every rank. `own` holds this rank's batches (k with
// owns(k)) one after another; rows_of[k] is batch k's row count, the same list on every rank. A
// rank that owns no batch passes any empty tensor: the row shape and type come from the others.
torch::Tensor gather_batches(const torch::Tensor& own, const std::vector<int64_t>& rows_of);

// compute(k, begin, end) for every batch k of n rows in batches of `batch` (rows [begin, end)),
// each by the rank that owns it, concatenated in batch order on every rank: the rows one process
// computes (on its device; on the CPU when gathered from a group).
torch::Tensor map_batches(
    int64_t n, int64_t batch,
    const std::function<torch::Tensor(int64_t k, int64_t begin, int64_t end)>& compute);
// Rank 0's values in every rank's tensors, in place (any device).
void broadcast_from_rank0(const std::vector<torch::Tensor>& tensors);
// Each tensor replaced by its mean over ranks, in place (model buffers: batch-norm statistics).
void average_over_ranks(const std::vector<torch::Tensor>& tensors);

// The gradients of `params` summed over ranks, in buckets of about 25 MB (one all-reduce per
// bucket, as DistributedDataParallel's default bucket_cap_mb). Each rank scales its loss by its
// share of the global batch before backward, so the sum is the gradient of the global mean.
// A parameter without a gradient on some rank counts zeros there; one without a gradient on
// every rank keeps none (the optimizer skips it, as in one process).
void sum_gradients(const std::vector<torch::Tensor>& params);

}  // namespace perturb
