// Explicit generators: every random thing in the runtime draws from one, so a seed fixes it.
#pragma once

#include <cstdint>
#include <mutex>

#include <torch/torch.h>

namespace perturb {

// A generator seeded with `seed`, living on `device` (CPU or CUDA).
at::Generator make_generator(uint64_t seed, torch::Device device = torch::kCPU);

// Draws a fresh 63-bit seed from `gen`, for deriving sub-generators deterministically.
uint64_t next_seed(at::Generator& gen);

// A 63-bit seed derived from (seed, salt) by splitmix64, without drawing from any generator:
// streams keyed by a position (an epoch, a batch, a sample's index) instead of by the order in
// which they are drawn, so a shard of the work gets the same numbers on any rank.
uint64_t mix_seed(uint64_t seed, uint64_t salt);

// torch::nn layers initialise their weights from torch's global generator and take no generator
// argument: hold one of these while constructing layers, so the same seed gives the same weights
// and two constructions (on different threads) do not interleave their draws.
class SeededConstruction {
 public:
  explicit SeededConstruction(uint64_t seed);
  SeededConstruction(const SeededConstruction&) = delete;
  SeededConstruction& operator=(const SeededConstruction&) = delete;

 private:
  std::lock_guard<std::recursive_mutex> lock_;
};

}  // namespace perturb
