#include "runtime/image/transforms.h"

#include <cmath>

#include "runtime/core/error.h"
#include "runtime/report/format.h"

namespace perturb::image {
namespace {

constexpr double kPi = 3.14159265358979323846;

// A per-sample parameter as a float tensor [N] on x's device (0-d and [1] broadcast).
torch::Tensor per_sample(const torch::Tensor& p, const torch::Tensor& x, const char* what,
                         const char* name) {
  auto t = p.to(x.device(), x.scalar_type());
  if (t.dim() == 0 || (t.dim() == 1 && t.size(0) == 1)) return t.reshape({1}).expand({x.size(0)});
  if (t.dim() != 1 || t.size(0) != x.size(0)) {
    throw Error(std::string(what) + " needs one " + name + " per image (" +
                std::to_string(x.size(0)) + "), got a tensor of shape " +
                format_shape(t.sizes().vec()));
  }
  return t;
}

// [N] → [N, 1, 1, 1] to broadcast against images.
torch::Tensor b4(const torch::Tensor& t) {
  return t.reshape({-1, 1, 1, 1});
}

torch::Tensor clamp01(const torch::Tensor& x) {
  return x.clamp(0, 1);
}

// 1-D Gaussian kernels [N, K] (normalised) for sigma [N]; taps at -r..r.
torch::Tensor gaussian_kernels(const torch::Tensor& sigma, int64_t radius) {
  auto taps = torch::arange(-radius, radius + 1, sigma.options()).reshape({1, -1});
  // σ → 0 degenerates to a delta: exp(−k²/(2σ²)) underflows to 0 for k ≠ 0, 1 for k = 0.
  auto s = sigma.clamp_min(1e-3).reshape({-1, 1});
  auto w = torch::exp(-(taps * taps) / (2 * s * s));
  return w / w.sum(1, true);
}

}  // namespace

void check_images(const torch::Tensor& x, const char* what, int64_t channels) {
  if (x.dim() != 4 || x.size(0) == 0 || x.size(2) == 0 || x.size(3) == 0) {
    throw Error(std::string(what) + " needs images [N, C, H, W], got a tensor of shape " +
                format_shape(x.sizes().vec()));
  }
  if (!x.is_floating_point()) {
    throw Error(std::string(what) + " needs floating-point images");
  }
  if (channels > 0 && x.size(1) != channels) {
    throw Error(std::string(what) + " needs " + std::to_string(channels) + "-channel images [N, " +
                std::to_string(channels) + ", H, W], got " + format_shape(x.sizes().vec()));
  }
}

torch::Tensor affine(const torch::Tensor& x, const torch::Tensor& theta) {
  check_images(x, "an affine transform");
  auto th = theta.to(x.device(), x.scalar_type());
  if (th.dim() != 3 || th.size(0) != x.size(0) || th.size(1) != 2 || th.size(2) != 3) {
    throw Error("an affine transform needs theta [N, 2, 3], got " + format_shape(th.sizes().vec()));
  }
  auto grid = torch::nn::functional::affine_grid(th, x.sizes(), /*align_corners=*/false);
  namespace F = torch::nn::functional;
  auto warped = F::grid_sample(x, grid,
                               F::GridSampleFuncOptions()
                                   .mode(torch::kBilinear)
                                   .padding_mode(torch::kZeros)
                                   .align_corners(false));
  // Sampling through an identity grid is off by float rounding (~1e-6); Scale(factor: 1) and
  // Rotation(0) must return the image itself. `where` keeps the gradient in theta elsewhere.
  auto identity = torch::tensor({1.0, 0.0, 0.0, 0.0, 1.0, 0.0}, th.options()).view({1, 2, 3});
  auto unchanged = (th == identity).flatten(1).all(1).view({-1, 1, 1, 1});
  return torch::where(unchanged, x, warped);
}

torch::Tensor rotate(const torch::Tensor& x, const torch::Tensor& degrees) {
  check_images(x, "rotate");
  auto a = per_sample(degrees, x, "rotate", "angle") * (kPi / 180.0);
  // Output → input map in pixel units is R(−θ) (y points down, so a counter-clockwise turn on
  // screen is [[cos, sin], [−sin, cos]] forward); in normalised coordinates the off-diagonal
  // terms pick up the aspect ratio.
  const double h = static_cast<double>(x.size(2)), w = static_cast<double>(x.size(3));
  auto c = torch::cos(a), s = torch::sin(a), z = torch::zeros_like(a);
  auto theta = torch::stack(
      {torch::stack({c, -s * (h / w), z}, 1), torch::stack({s * (w / h), c, z}, 1)}, 1);
  return affine(x, theta);
}

torch::Tensor translate(const torch::Tensor& x, const torch::Tensor& dx, const torch::Tensor& dy) {
  check_images(x, "translate");
  auto tx = per_sample(dx, x, "translate", "dx"), ty = per_sample(dy, x, "translate", "dy");
  const double h = static_cast<double>(x.size(2)), w = static_cast<double>(x.size(3));
  auto one = torch::ones_like(tx), z = torch::zeros_like(tx);
  // Output pixel p shows input p − d; normalised units are 2/W per pixel horizontally.
  auto theta = torch::stack(
      {torch::stack({one, z, -tx * (2.0 / w)}, 1), torch::stack({z, one, -ty * (2.0 / h)}, 1)}, 1);
  return affine(x, theta);
}

torch::Tensor scale(const torch::Tensor& x, const torch::Tensor& factor) {
  check_images(x, "scale");
  auto f = per_sample(factor, x, "scale", "factor");
  if ((f <= 0).any().item<bool>()) throw Error("scale factors must be positive");
  auto inv = 1.0 / f, z = torch::zeros_like(f);
  auto theta = torch::stack({torch::stack({inv, z, z}, 1), torch::stack({z, inv, z}, 1)}, 1);
  return affine(x, theta);
}

torch::Tensor brightness(const torch::Tensor& x, const torch::Tensor& factor) {
  check_images(x, "brightness");
  return clamp01(x * b4(per_sample(factor, x, "brightness", "factor")));
}

torch::Tensor contrast(const torch::Tensor& x, const torch::Tensor& factor) {
  check_images(x, "contrast");
  auto f = b4(per_sample(factor, x, "contrast", "factor"));
  torch::Tensor mean;
  if (x.size(1) == 3) {
    auto gray = 0.299 * x.select(1, 0) + 0.587 * x.select(1, 1) + 0.114 * x.select(1, 2);
    mean = b4(gray.reshape({x.size(0), -1}).mean(1));
  } else {
    mean = b4(x.reshape({x.size(0), -1}).mean(1));
  }
  return clamp01(mean + f * (x - mean));
}

torch::Tensor gamma(const torch::Tensor& x, const torch::Tensor& g) {
  check_images(x, "gamma");
  auto e = b4(per_sample(g, x, "gamma", "exponent"));
  auto v = clamp01(x);
  // pow at 0 has d/dg = 0·log 0 = NaN; take the power of a positive stand-in and select 0.
  auto positive = v > 0;
  auto safe = torch::where(positive, v, torch::ones_like(v));
  return torch::where(positive, safe.pow(e), torch::zeros_like(v));
}

torch::Tensor gaussian_blur(const torch::Tensor& x, const torch::Tensor& sigma) {
  check_images(x, "gaussian_blur");
  auto s = per_sample(sigma, x, "gaussian_blur", "sigma");
  if ((s < 0).any().item<bool>()) throw Error("blur sigma must not be negative");
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const double max_sigma = s.max().item<double>();
  int64_t radius = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(3 * max_sigma)));
  radius = std::min(radius, std::max<int64_t>(1, std::max(h, w) / 2));
  // Per-sample kernels repeated per channel; one grouped convolution for the whole batch.
  auto k = gaussian_kernels(s, radius).repeat_interleave(c, 0);  // [N·C, K]
  const int64_t kk = 2 * radius + 1;
  namespace F = torch::nn::functional;
  F::PadFuncOptions::mode_t mode = torch::kReflect;
  if (!(radius < h && radius < w)) mode = torch::kReplicate;
  auto v = x.reshape({1, n * c, h, w});
  v = F::pad(v, F::PadFuncOptions({radius, radius, 0, 0}).mode(mode));
  v = F::conv2d(v, k.reshape({n * c, 1, 1, kk}), F::Conv2dFuncOptions().groups(n * c));
  v = F::pad(v, F::PadFuncOptions({0, 0, radius, radius}).mode(mode));
  v = F::conv2d(v, k.reshape({n * c, 1, kk, 1}), F::Conv2dFuncOptions().groups(n * c));
  return v.reshape({n, c, h, w});
}

torch::Tensor grayscale(const torch::Tensor& x) {
  // A gray image is its own grayscale (as torchvision's rgb_to_grayscale treats one channel), so
  // colour policies and threats also run on Fashion-MNIST.
  check_images(x, "Grayscale", 0);
  if (x.size(1) == 1) return x;
  check_images(x, "Grayscale", 3);
  auto gray = 0.299 * x.select(1, 0) + 0.587 * x.select(1, 1) + 0.114 * x.select(1, 2);
  return gray.unsqueeze(1).expand({-1, 3, -1, -1}).contiguous();
}

torch::Tensor color_shift(const torch::Tensor& x, const torch::Tensor& shift) {
  check_images(x, "ColorShift", 3);
  auto s = shift.to(x.device(), x.scalar_type());
  if (s.dim() == 1 && s.size(0) == 3) s = s.reshape({1, 3}).expand({x.size(0), 3});
  if (s.dim() != 2 || s.size(0) != x.size(0) || s.size(1) != 3) {
    throw Error("ColorShift needs a shift [N, 3] (one per channel per image), got " +
                format_shape(s.sizes().vec()));
  }
  return clamp01(x + s.reshape({x.size(0), 3, 1, 1}));
}

torch::Tensor default_depth(int64_t height, int64_t width, const torch::TensorOptions& options) {
  auto rows = torch::arange(height, options);
  auto d = 0.2 + 0.8 * (1 - rows / static_cast<double>(std::max<int64_t>(1, height - 1)));
  return d.reshape({1, 1, height, 1}).expand({1, 1, height, width}).contiguous();
}

torch::Tensor haze(const torch::Tensor& x, const torch::Tensor& beta, const torch::Tensor& airlight,
                   const torch::Tensor& depth) {
  check_images(x, "Haze");
  auto b = b4(per_sample(beta, x, "Haze", "beta"));
  auto a = b4(per_sample(airlight, x, "Haze", "airlight"));
  auto d = depth.defined() ? depth.to(x.device(), x.scalar_type())
                           : default_depth(x.size(2), x.size(3), x.options());
  if (d.dim() == 2) d = d.reshape({1, 1, d.size(0), d.size(1)});
  const bool fits = d.dim() == 4 && (d.size(0) == 1 || d.size(0) == x.size(0)) && d.size(1) == 1 &&
                    d.size(2) == x.size(2) && d.size(3) == x.size(3);
  if (!fits) {
    throw Error("Haze depth must be [H, W], [1, 1, H, W] or [N, 1, H, W] matching the images " +
                format_shape(x.sizes().vec()) + ", got " + format_shape(depth.sizes().vec()));
  }
  auto t = torch::exp(-b * d);  // transmission, eq. of the scattering model
  return x * t + a * (1 - t);
}

}  // namespace perturb::image
