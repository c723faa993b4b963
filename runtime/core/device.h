// The runtime's one device decision: CUDA when LibTorch has it, unless the user said otherwise.
#pragma once

#include <string>

#include <torch/torch.h>

namespace perturb {

// CUDA if torch::cuda::is_available() (and no override was set), else CPU.
torch::Device default_device();

// Overrides the device default_device() returns from now on.
void set_default_device(torch::Device device);

// "cpu", "cuda", "cuda:1". Throws Error when CUDA is requested but unavailable, or the name
// is not a device.
torch::Device parse_device(const std::string& name);

}  // namespace perturb
