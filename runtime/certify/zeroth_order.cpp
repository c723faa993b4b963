// RGE and CGE zeroth-order gradient estimates (see zeroth_order.h).

#include "runtime/certify/zeroth_order.h"

#include "runtime/core/error.h"

namespace perturb {
namespace {

// Broadcasts a [B] tensor against z's shape.
torch::Tensor per_sample_view(const torch::Tensor& v, const torch::Tensor& z) {
  std::vector<int64_t> shape(z.dim(), 1);
  shape[0] = z.size(0);
  return v.reshape(shape);
}

void check(const torch::Tensor& z, double xi) {
  if (z.dim() < 1 || z.size(0) < 1) throw Error("a zeroth-order estimate needs a batch");
  if (!(xi > 0))
    throw Error("the smoothing parameter xi must be positive, got " + std::to_string(xi));
}

}  // namespace

ZoMethod parse_zo_method(const std::string& name) {
  if (name == "rge" || name == "RGE") return ZoMethod::kRge;
  if (name == "cge" || name == "CGE") return ZoMethod::kCge;
  throw Error("unknown zeroth-order estimator '" + name + "'; use \"rge\" or \"cge\"");
}

ZoEstimate rge_gradient(const BlackBoxFn& f, const torch::Tensor& z, int64_t q, double xi,
                        at::Generator& gen) {
  check(z, xi);
  if (q < 1) throw Error("RGE needs at least one query direction, got q = " + std::to_string(q));
  torch::NoGradGuard no_grad;
  const int64_t batch = z.size(0);
  const double d = static_cast<double>(z.numel() / batch);
  const BlackBoxLoss base = f(z);
  torch::Tensor grad = torch::zeros_like(z);
  for (int64_t k = 0; k < q; ++k) {
    // Uniform on the unit sphere: a normalised standard normal vector per sample.
    torch::Tensor u = at::normal(0, 1, z.sizes(), gen).to(z.device(), z.scalar_type());
    u = u / per_sample_view(u.flatten(1).norm(2, 1).clamp_min(1e-12), z);
    const BlackBoxLoss moved = f(z + xi * u);
    torch::Tensor diff = (moved.per_sample - base.per_sample) / batch + (moved.batch - base.batch);
    grad += per_sample_view(diff, z) * u;
  }
  return {grad * (d / (xi * q)), batch * (q + 1), base.total()};
}

ZoEstimate cge_gradient(const BlackBoxFn& f, const torch::Tensor& z, double xi,
                        at::Generator& gen) {
  check(z, xi);
  torch::NoGradGuard no_grad;
  const int64_t batch = z.size(0);
  const int64_t d = z.numel() / batch;
  torch::Tensor flat = z.reshape({batch, d});
  torch::Tensor grad = torch::zeros_like(flat);
  torch::Tensor signs = (at::randint(0, 2, {batch}, gen) * 2 - 1).to(z.device(), z.scalar_type());
  for (int64_t j = 0; j < d; ++j) {
    torch::Tensor step = torch::zeros_like(flat);
    step.select(1, j).copy_(signs * xi);
    const BlackBoxLoss plus = f((flat + step).reshape(z.sizes()));
    const BlackBoxLoss minus = f((flat - step).reshape(z.sizes()));
    torch::Tensor diff = (plus.per_sample - minus.per_sample) / batch + (plus.batch - minus.batch);
    grad.select(1, j).copy_(diff / (2 * xi * signs));
  }
  return {grad.reshape(z.sizes()), 2 * d * batch, torch::Tensor()};
}

}  // namespace perturb
