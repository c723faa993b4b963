#include "runtime/data/from_tensors.h"

#include <sstream>

#include "runtime/core/error.h"

namespace perturb {

Dataset dataset_from_tensors(const torch::Tensor& x, const torch::Tensor& y,
                             const std::string& name) {
  if (x.dim() == 0) throw Error("x must hold one image per row [N, ...], got a single number");
  if (y.dim() != 1) {
    throw Error("y must hold one label per image (a 1-dimensional tensor), got " +
                std::to_string(y.dim()) + " dimensions");
  }
  if (x.size(0) != y.size(0)) {
    throw Error("x has " + std::to_string(x.size(0)) + " images but y has " +
                std::to_string(y.size(0)) + " labels");
  }
  torch::Tensor labels = y.detach().to(torch::kCPU);
  if (labels.scalar_type() == torch::kBool || labels.is_complex()) {
    throw Error("y must hold class indices (whole numbers), got a " +
                std::string(c10::toString(labels.scalar_type())) + " tensor");
  }
  // Scripts build labels with tensor([...]), which is float32: whole floats are fine.
  if (labels.is_floating_point()) {
    const torch::Tensor fractional = labels.ne(labels.floor()) | labels.isinf();
    if (fractional.any().item<bool>()) {
      std::ostringstream bad;
      bad << labels.masked_select(fractional)[0].item<double>();
      throw Error("y must hold class indices (whole numbers), got " + bad.str());
    }
  }
  labels = labels.to(torch::kInt64);
  if (labels.numel() > 0 && labels.min().item<int64_t>() < 0) {
    throw Error("y must hold class indices ≥ 0, got " +
                std::to_string(labels.min().item<int64_t>()));
  }
  torch::Tensor images = x.detach().to(torch::kCPU);
  if (images.dim() == 3) images = images.unsqueeze(1);
  images = images.scalar_type() == torch::kUInt8 ? images.to(torch::kFloat32).div_(255.0)
                                                 : images.to(torch::kFloat32);
  return {images.contiguous(), labels.contiguous(), name};
}

}  // namespace perturb
