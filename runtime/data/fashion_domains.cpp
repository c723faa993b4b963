// The two cameras over Fashion-MNIST (fashion_domains.h).

#include "runtime/data/fashion_domains.h"

#include <cmath>

#include "runtime/core/error.h"
#include "runtime/core/random.h"

namespace perturb {
namespace {

// The target camera's look. A smaller, shifted item (a farther camera), brighter mid-tones and
// lower contrast (another sensor), on a lit textured wall instead of the black studio backdrop.
constexpr double kViewScale = 0.8;    // items fill 80% of the frame
constexpr double kMaxShift = 0.15;    // of the half-width: about ±2 pixels on 28
constexpr double kGamma = 0.7;        // x^0.7 lifts the mid-tones
constexpr double kContrast = 0.8;     // around 0.5
constexpr double kWallMean = 0.45;    // the background's mean brightness
constexpr double kWallStripe = 0.15;  // amplitude of its stripes
constexpr double kWallGrain = 0.06;   // amplitude of its grain

torch::Tensor uniform(at::Generator& gen, int64_t n, double low, double high) {
  return torch::rand({n}, gen, torch::kFloat32) * (high - low) + low;
}

// The item scaled by kViewScale about the centre and shifted by up to kMaxShift.
torch::Tensor change_viewpoint(const torch::Tensor& x, at::Generator& gen) {
  const int64_t n = x.size(0);
  const auto dx = uniform(gen, n, -kMaxShift, kMaxShift);
  const auto dy = uniform(gen, n, -kMaxShift, kMaxShift);
  // affine_grid maps output to input coordinates: a zoom out is a scale of 1/kViewScale.
  auto theta = torch::zeros({n, 2, 3});
  theta.select(1, 0).select(1, 0).fill_(1.0 / kViewScale);
  theta.select(1, 1).select(1, 1).fill_(1.0 / kViewScale);
  theta.select(1, 0).select(1, 2).copy_(dx);
  theta.select(1, 1).select(1, 2).copy_(dy);
  const auto grid = torch::nn::functional::affine_grid(theta, x.sizes().vec(), false);
  return torch::nn::functional::grid_sample(x, grid,
                                            torch::nn::functional::GridSampleFuncOptions()
                                                .padding_mode(torch::kZeros)
                                                .align_corners(false));
}

// Stripes of a random frequency, direction and phase plus a smoothed grain, per image.
torch::Tensor wall(int64_t n, int64_t h, int64_t w, at::Generator& gen) {
  const auto ys = torch::linspace(0, 1, h).view({1, h, 1});
  const auto xs = torch::linspace(0, 1, w).view({1, 1, w});
  const auto fx = uniform(gen, n, -3, 3).view({n, 1, 1});
  const auto fy = uniform(gen, n, -3, 3).view({n, 1, 1});
  const auto phase = uniform(gen, n, 0, 2 * M_PI).view({n, 1, 1});
  auto stripes = torch::sin(2 * M_PI * (fx * xs + fy * ys) + phase);
  auto grain = torch::rand({n, 1, h / 2, w / 2}, gen, torch::kFloat32) * 2 - 1;
  grain = torch::nn::functional::interpolate(grain, torch::nn::functional::InterpolateFuncOptions()
                                                        .size(std::vector<int64_t>{h, w})
                                                        .mode(torch::kBilinear)
                                                        .align_corners(false));
  return (kWallMean + kWallStripe * stripes.unsqueeze(1) + kWallGrain * grain).clamp(0, 1);
}

}  // namespace

torch::Tensor target_camera(const torch::Tensor& x, at::Generator& gen) {
  if (x.dim() != 4 || x.size(1) != 1) {
    throw Error("target_camera takes grey images [N, 1, H, W], got " + std::to_string(x.dim()) +
                " dimensions");
  }
  const auto item = change_viewpoint(x.to(torch::kFloat32), gen);
  // The item's own pixels over the wall: its brightness says how much of the pixel it covers.
  const auto alpha = (item * 4).clamp(0, 1);
  const auto look = ((item.clamp_min(0).pow(kGamma) - 0.5) * kContrast + 0.5).clamp(0, 1);
  const auto backdrop = wall(x.size(0), x.size(2), x.size(3), gen);
  return alpha * look + (1 - alpha) * backdrop;
}

DomainPair fashion_domains(const std::string& split, int64_t limit, uint64_t seed,
                           const std::string& dir) {
  const Dataset all = fashion_mnist(split, limit < 0 ? -1 : 2 * limit, dir);
  const int64_t n = all.size();
  // Different items in the two cameras: even rows to the source, odd rows to the target.
  Dataset source = all.select(torch::arange(0, n, 2));
  Dataset target = all.select(torch::arange(1, n, 2));
  at::Generator gen = make_generator(mix_seed(seed, 0x1de5));
  target.x = target_camera(target.x, gen);
  source.name = "fashion_domains(" + split + ").source";
  target.name = "fashion_domains(" + split + ").target";
  return {std::move(source), std::move(target)};
}

}  // namespace perturb
