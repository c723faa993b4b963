#include "runtime/core/device.h"

#include <optional>

#include "runtime/core/error.h"

namespace perturb {
namespace {

// The user's override, if any (set by --device or a script); empty means "pick automatically".
std::optional<torch::Device>& device_override() {
  static std::optional<torch::Device> device;
  return device;
}

}  // namespace

torch::Device default_device() {
  if (device_override()) return *device_override();
  return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
}

void set_default_device(torch::Device device) {
  device_override() = device;
}

torch::Device parse_device(const std::string& name) {
  std::optional<torch::Device> device;
  try {
    device = torch::Device(name);
  } catch (const c10::Error&) {
    throw Error("unknown device '" + name + "': expected \"cpu\", \"cuda\" or \"cuda:N\"");
  }
  if (device->is_cpu()) return *device;
  if (!device->is_cuda()) {
    throw Error("unsupported device '" + name + "': expected \"cpu\", \"cuda\" or \"cuda:N\"");
  }
  if (!torch::cuda::is_available()) {
    throw Error("CUDA was requested but this LibTorch build has no CUDA device");
  }
  const auto count = static_cast<int64_t>(torch::cuda::device_count());
  if (device->has_index() && device->index() >= count) {
    throw Error("device '" + name + "' does not exist: there are " + std::to_string(count) +
                " CUDA devices");
  }
  return *device;
}

}  // namespace perturb
