#include "runtime/core/random.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>

#include "runtime/core/error.h"

namespace perturb {

at::Generator make_generator(uint64_t seed, torch::Device device) {
  at::Generator gen;
  if (device.is_cuda()) {
    if (!torch::cuda::is_available()) {
      throw Error("CUDA was requested but this LibTorch build has no CUDA device");
    }
    // CUDA generators come from the CUDA hooks so a CPU-only build still links.
    gen = at::detail::getCUDAHooks().getDefaultCUDAGenerator(device.index()).clone();
  } else {
    gen = at::detail::createCPUGenerator(seed);
  }
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_current_seed(seed);
  return gen;
}

uint64_t next_seed(at::Generator& gen) {
  // A tensor draw (not gen.random()) works the same on CPU and CUDA generators.
  auto options = torch::TensorOptions().dtype(torch::kInt64).device(gen.device());
  auto draw = torch::randint(0, INT64_MAX, {1}, gen, options);
  return static_cast<uint64_t>(draw.item<int64_t>());
}

uint64_t mix_seed(uint64_t seed, uint64_t salt) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (salt + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return (z ^ (z >> 31)) & 0x7FFFFFFFFFFFFFFFull;
}

namespace {

std::recursive_mutex& construction_mutex() {
  static std::recursive_mutex mutex;
  return mutex;
}

}  // namespace

SeededConstruction::SeededConstruction(uint64_t seed) : lock_(construction_mutex()) {
  torch::manual_seed(seed);
}

}  // namespace perturb
