// RandAugment (Cubuk et al. 2020) with torchvision's op list and magnitude mapping
// (torchvision.transforms.RandAugment, num_magnitude_bins = 31): n rounds; in each round every
// sample picks one of 14 ops uniformly and applies it at magnitude bin m, with a random sign for
// the signed ops. Geometric ops fill with 0.
#include <cmath>

#include "runtime/augment/augment_util.h"
#include "runtime/augment/ops.h"
#include "runtime/core/error.h"
#include "runtime/image/transforms.h"

namespace perturb {
using namespace augment_detail;
namespace {

enum RaOp {
  kIdentity,
  kShearX,
  kShearY,
  kTranslateX,
  kTranslateY,
  kRotate,
  kBrightness,
  kColor,
  kContrast,
  kSharpness,
  kPosterize,
  kSolarize,
  kAutoContrast,
  kEqualize,
  kOpCount
};

// Per-channel min-max stretch (torchvision autocontrast); flat channels unchanged.
torch::Tensor autocontrast(const torch::Tensor& x) {
  torch::Tensor lo = x.amin({2, 3}, true), hi = x.amax({2, 3}, true);
  torch::Tensor flat = hi.eq(lo);
  torch::Tensor scale = torch::where(flat, torch::ones_like(hi), 1.0 / (hi - lo));
  lo = torch::where(flat, torch::zeros_like(lo), lo);
  return ((x - lo) * scale).clamp(0, 1);
}

// Histogram equalisation per channel on 8-bit levels (torchvision's _scale_channel).
torch::Tensor equalize(const torch::Tensor& x) {
  const int64_t n = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3);
  torch::Tensor v = (x.clamp(0, 1) * 255).round().to(torch::kLong).reshape({n * c, hw});
  torch::Tensor hist = torch::zeros({n * c, 256}, x.options().dtype(torch::kFloat64));
  hist.scatter_add_(1, v, torch::ones_like(v, hist.options()));
  torch::Tensor last = hist.gather(1, std::get<0>(v.max(1, true)));
  torch::Tensor step = ((hw - last) / 255).floor();  // [NC, 1]
  torch::Tensor safe = torch::where(step.eq(0), torch::ones_like(step), step);
  torch::Tensor lut = ((hist.cumsum(1) + (step / 2).floor()) / safe).floor();
  lut =
      torch::cat({torch::zeros_like(lut.narrow(1, 0, 1)), lut.narrow(1, 0, 255)}, 1).clamp(0, 255);
  torch::Tensor out = lut.gather(1, v);
  out = torch::where(step.eq(0), v.to(out.scalar_type()), out);
  return (out / 255.0).to(x.scalar_type()).reshape(x.sizes());
}

torch::Tensor posterize(const torch::Tensor& x, const torch::Tensor& bits) {
  torch::Tensor levels =
      torch::pow(2.0, 8 - bits).to(x.device(), x.scalar_type()).view({-1, 1, 1, 1});
  torch::Tensor v = (x.clamp(0, 1) * 255).round();
  return ((v / levels).floor() * levels / 255.0).clamp(0, 1);
}

torch::Tensor shear(const torch::Tensor& x, const torch::Tensor& s, bool along_x) {
  // Shear about the top-left corner (torchvision passes center = [0, 0]): in pixels
  // x_src = x - s·y (ShearX); in normalised coordinates u_src = u - s·(H/W)·(v + 1).
  const int64_t n = x.size(0);
  const double h = static_cast<double>(x.size(2)), w = static_cast<double>(x.size(3));
  torch::Tensor theta = torch::zeros({n, 2, 3}, x.options());
  theta.select(1, 0).select(1, 0).fill_(1);
  theta.select(1, 1).select(1, 1).fill_(1);
  torch::Tensor sv = s.to(x.device(), x.scalar_type());
  if (along_x) {
    theta.select(1, 0).select(1, 1).copy_(-sv * (h / w));
    theta.select(1, 0).select(1, 2).copy_(-sv * (h / w));
  } else {
    theta.select(1, 1).select(1, 0).copy_(-sv * (w / h));
    theta.select(1, 1).select(1, 2).copy_(-sv * (w / h));
  }
  return image::affine(x, theta).clamp(0, 1);
}

class RandAugment : public Policy {
 public:
  RandAugment(int64_t n, int64_t m, int64_t bins) : n_(n), m_(m), bins_(bins) {
    if (n < 0) throw Error("RandAugment: n must be >= 0, got " + std::to_string(n));
    if (bins < 2) throw Error("RandAugment: bins must be >= 2, got " + std::to_string(bins));
    if (m < 0 || m >= bins) {
      throw Error("RandAugment: m must lie in [0, " + std::to_string(bins - 1) + "], got " +
                  std::to_string(m));
    }
  }
  std::string name() const override { return "RandAugment"; }
  std::string describe() const override {
    return "RandAugment(n: " + std::to_string(n_) + ", m: " + std::to_string(m_) +
           (bins_ != 31 ? ", bins: " + std::to_string(bins_) : "") + ")";
  }
  torch::Tensor apply(const torch::Tensor& input, at::Generator& gen) const override {
    torch::Tensor x = as_batch(input, "RandAugment");
    const int64_t n = x.size(0);
    const double frac = static_cast<double>(m_) / static_cast<double>(bins_ - 1);
    for (int64_t round = 0; round < n_ && n > 0; ++round) {
      torch::Tensor u = rand({2, n}, gen).cpu();
      torch::Tensor op = (u[0] * kOpCount).floor().clamp_max(kOpCount - 1).to(torch::kLong);
      torch::Tensor sign =
          torch::where(u[1].lt(0.5), -torch::ones_like(u[1]), torch::ones_like(u[1]));
      torch::Tensor out = x.clone();
      for (int k = kShearX; k < kOpCount; ++k) {
        torch::Tensor idx_cpu = op.eq(k).nonzero().flatten();
        if (idx_cpu.numel() == 0) continue;
        torch::Tensor idx = idx_cpu.to(x.device());
        torch::Tensor xs = x.index_select(0, idx);
        torch::Tensor sg = sign.index_select(0, idx_cpu);
        out.index_copy_(0, idx, apply_op(static_cast<RaOp>(k), xs, frac, sg).to(x.scalar_type()));
      }
      x = out;
    }
    return input.dim() == 3 ? x.squeeze(0) : x;
  }
  using Policy::apply;

 private:
  // Magnitudes as torchvision's linspace(lo, hi, bins)[m] = lo + (hi - lo)·frac.
  static torch::Tensor apply_op(RaOp op, const torch::Tensor& x, double frac,
                                const torch::Tensor& sign) {
    const double w = static_cast<double>(x.size(3)), h = static_cast<double>(x.size(2));
    auto signed_mag = [&](double hi) {
      return (sign * (hi * frac)).to(x.device(), x.scalar_type());
    };
    torch::Tensor zero = torch::zeros({x.size(0)}, x.options());
    switch (op) {
      case kShearX:
        return shear(x, signed_mag(0.3), true);
      case kShearY:
        return shear(x, signed_mag(0.3), false);
      case kTranslateX:  // torchvision passes int(magnitude): truncated towards zero
        return image::translate(x, signed_mag(150.0 / 331.0 * w).trunc(), zero).clamp(0, 1);
      case kTranslateY:
        return image::translate(x, zero, signed_mag(150.0 / 331.0 * h).trunc()).clamp(0, 1);
      case kRotate:
        return image::rotate(x, signed_mag(30.0)).clamp(0, 1);
      case kBrightness:
        return image::brightness(x, 1 + signed_mag(0.9));
      case kColor:
        return adjust_saturation(x, 1 + signed_mag(0.9));
      case kContrast:
        return image::contrast(x, 1 + signed_mag(0.9));
      case kSharpness:
        return adjust_sharpness(x, 1 + signed_mag(0.9));
      case kPosterize: {  // bits = 8 - round(m / ((bins - 1) / 4))
        double bits = 8 - std::round(frac * 4);
        return posterize(x, torch::full({x.size(0)}, bits, x.options()));
      }
      case kSolarize: {  // threshold linspace(255, 0): pixels >= threshold inverted
        double threshold = 1.0 - frac;
        return torch::where(x.ge(threshold), 1 - x, x);
      }
      case kAutoContrast:
        return autocontrast(x);
      case kEqualize:
        return equalize(x);
      default:
        return x;
    }
  }
  int64_t n_, m_, bins_;
};

class ThreatSample : public ProbOp {
 public:
  ThreatSample(ThreatPtr threat, double p) : ProbOp("sample", p, 1), threat_(std::move(threat)) {}

 protected:
  torch::Tensor transform(const torch::Tensor& x, at::Generator& gen) const override {
    return threat_->sample(x, gen).detach();
  }
  std::string params_text() const override { return threat_->describe(); }

 private:
  ThreatPtr threat_;
};

}  // namespace

namespace augment {

PolicyPtr make_rand_augment(int64_t n, int64_t m, int64_t bins) {
  return std::make_shared<RandAugment>(n, m, bins);
}

PolicyPtr make_threat_sample(ThreatPtr threat, double p) {
  if (!threat) throw Error("sample needs a threat");
  return std::make_shared<ThreatSample>(std::move(threat), p);
}

}  // namespace augment
}  // namespace perturb
