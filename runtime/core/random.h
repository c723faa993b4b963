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
