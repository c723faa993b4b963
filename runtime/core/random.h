// Explicit generators: every random thing in the runtime draws from one, so a seed fixes it.
#pragma once

#include <cstdint>

#include <torch/torch.h>

namespace perturb {

// A generator seeded with `seed`, living on `device` (CPU or CUDA).
at::Generator make_generator(uint64_t seed, torch::Device device = torch::kCPU);

// Draws a fresh 63-bit seed from `gen`, for deriving sub-generators deterministically.
uint64_t next_seed(at::Generator& gen);

}  // namespace perturb
