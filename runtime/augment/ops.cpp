// Geometric, colour, noise, quality and dropping ops. Geometric and basic colour transforms come
// from runtime/image/transforms.h (shared with the physical threats); the rest are written here.
#include "runtime/augment/ops.h"

#include <cmath>

#if PERTURB_HAVE_OPENCV
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#endif

#include "runtime/augment/augment_util.h"
#include "runtime/core/error.h"
#include "runtime/core/opencv_required.h"
#include "runtime/image/transforms.h"

namespace perturb {
using namespace augment_detail;
namespace {

// An op whose whole behaviour is one function of (x, gen).
class FnOp : public ProbOp {
 public:
  using Fn = std::function<torch::Tensor(const torch::Tensor&, at::Generator&)>;
  FnOp(std::string name, std::string params, double p, double default_p, Fn fn)
      : ProbOp(std::move(name), p, default_p), params_(std::move(params)), fn_(std::move(fn)) {}

 protected:
  torch::Tensor transform(const torch::Tensor& x, at::Generator& gen) const override {
    return fn_(x, gen);
  }
  std::string params_text() const override { return params_; }

 private:
  std::string params_;
  Fn fn_;
};

PolicyPtr op(std::string name, std::string params, double p, double default_p, FnOp::Fn fn) {
  return std::make_shared<FnOp>(std::move(name), std::move(params), p, default_p, std::move(fn));
}

torch::Tensor on(const torch::Tensor& t, const torch::Tensor& x) {
  return t.to(x.device(), x.scalar_type());
}

// `moved` where the sample's transform is not the identity (`identity` [N] bool), else x itself:
// bilinear resampling at a zero angle or shift is off by ~1e-6, and zero strength must be exact.
torch::Tensor unless_identity(const torch::Tensor& x, const torch::Tensor& moved,
                              const torch::Tensor& identity) {
  return torch::where(identity.to(x.device()).view({-1, 1, 1, 1}), x, moved);
}

void check_finite(const std::string& op, const std::string& param, const Interval& r) {
  if (!std::isfinite(r.lo) || !std::isfinite(r.hi) || r.lo > r.hi) {
    throw Error(op + ": " + param + " must be a finite number or range, got " + interval_text(r));
  }
}

// [N] fixed-size boxes as a mask [N, 1, H, W] (1 inside): rows [top, top + h), cols [left, left +
// w).
torch::Tensor box_mask(const torch::Tensor& top, const torch::Tensor& left, const torch::Tensor& h,
                       const torch::Tensor& w, int64_t height, int64_t width,
                       const torch::Device& device) {
  auto opts = torch::TensorOptions().dtype(torch::kFloat64).device(device);
  torch::Tensor rows = torch::arange(height, opts).view({1, height, 1});
  torch::Tensor cols = torch::arange(width, opts).view({1, 1, width});
  auto v = [&](const torch::Tensor& t) { return t.to(device, torch::kFloat64).view({-1, 1, 1}); };
  torch::Tensor in_rows = rows.ge(v(top)) & rows.lt(v(top) + v(h));
  torch::Tensor in_cols = cols.ge(v(left)) & cols.lt(v(left) + v(w));
  return (in_rows & in_cols).unsqueeze(1);
}

}  // namespace

namespace augment_detail {

torch::Tensor adjust_saturation(const torch::Tensor& x, const torch::Tensor& factor) {
  if (x.size(1) != 3) return x;
  return blend(x, luminance(x).expand_as(x), factor);
}

// torchvision's _rgb2hsv / _hsv2rgb, batched: hue shifted by `shift` turns.
torch::Tensor adjust_hue(const torch::Tensor& x, const torch::Tensor& shift) {
  if (x.size(1) != 3) return x;
  torch::Tensor r = x.select(1, 0), g = x.select(1, 1), b = x.select(1, 2);
  torch::Tensor maxc = std::get<0>(x.max(1)), minc = std::get<0>(x.min(1));
  torch::Tensor eqc = maxc.eq(minc);
  torch::Tensor cr = maxc - minc;
  torch::Tensor ones = torch::ones_like(maxc);
  torch::Tensor s = cr / torch::where(eqc, ones, maxc);
  torch::Tensor cr_div = torch::where(eqc, ones, cr);
  torch::Tensor rc = (maxc - r) / cr_div, gc = (maxc - g) / cr_div, bc = (maxc - b) / cr_div;
  torch::Tensor hr = maxc.eq(r) * (bc - gc);
  torch::Tensor hg = (maxc.eq(g) & maxc.ne(r)) * (2.0 + rc - bc);
  torch::Tensor hb = (maxc.ne(g) & maxc.ne(r)) * (4.0 + gc - rc);
  torch::Tensor h = torch::remainder((hr + hg + hb) / 6.0 + 1.0, 1.0);
  h = torch::remainder(h + on(shift, x).view({-1, 1, 1}), 1.0);
  torch::Tensor v = maxc;
  torch::Tensor i = torch::floor(h * 6.0);
  torch::Tensor f = h * 6.0 - i;
  torch::Tensor ii = torch::remainder(i, 6).to(torch::kLong);
  torch::Tensor p = (v * (1 - s)).clamp(0, 1), q = (v * (1 - s * f)).clamp(0, 1),
                t = (v * (1 - s * (1 - f))).clamp(0, 1);
  // Sector k of the colour wheel takes (r, g, b) from these.
  const torch::Tensor rs[6] = {v, q, p, p, t, v}, gs[6] = {t, v, v, q, p, p},
                      bs[6] = {p, p, t, v, v, q};
  torch::Tensor out_r = torch::zeros_like(v), out_g = torch::zeros_like(v),
                out_b = torch::zeros_like(v);
  for (int k = 0; k < 6; ++k) {
    torch::Tensor m = ii.eq(k);
    out_r = torch::where(m, rs[k], out_r);
    out_g = torch::where(m, gs[k], out_g);
    out_b = torch::where(m, bs[k], out_b);
  }
  return torch::stack({out_r, out_g, out_b}, 1).clamp(0, 1);
}

// torchvision adjust_sharpness: the degenerate image is a 3×3 smoothing ([[1,1,1],[1,5,1],
// [1,1,1]]/13) inside, the original on the border; result = blend(x, degenerate, factor).
torch::Tensor adjust_sharpness(const torch::Tensor& x, const torch::Tensor& factor) {
  if (x.size(2) <= 2 || x.size(3) <= 2) return x;
  const int64_t c = x.size(1);
  torch::Tensor kernel = torch::ones({3, 3}, x.options());
  kernel[1][1] = 5.0;
  kernel = (kernel / 13.0).expand({c, 1, 3, 3}).contiguous();
  torch::Tensor smooth =
      torch::conv2d(x, kernel, /*bias=*/torch::Tensor(), /*stride=*/at::IntArrayRef{1, 1},
                    /*padding=*/at::IntArrayRef{0, 0}, /*dilation=*/at::IntArrayRef{1, 1}, c);
  torch::Tensor degenerate = x.clone();
  using torch::indexing::Slice;
  degenerate.index_put_({Slice(), Slice(), Slice(1, -1), Slice(1, -1)}, smooth);
  return blend(x, degenerate, factor);
}

}  // namespace augment_detail

namespace augment {

PolicyPtr make_flip(double p) {
  return op("Flip", "", p, 0.5, [](const torch::Tensor& x, at::Generator&) { return x.flip(3); });
}

PolicyPtr make_vflip(double p) {
  return op("VFlip", "", p, 0.5, [](const torch::Tensor& x, at::Generator&) { return x.flip(2); });
}

PolicyPtr make_rotate(Interval degrees, double p) {
  check_finite("Rotate", "degrees", degrees);
  return op("Rotate", "degrees: " + interval_text(degrees), p, 1,
            [degrees](const torch::Tensor& x, at::Generator& gen) {
              const torch::Tensor angle = on(uniform(x.size(0), degrees, gen), x);
              return unless_identity(x, image::rotate(x, angle).clamp(0, 1), angle.eq(0));
            });
}

PolicyPtr make_translate(Interval pixels, double p) {
  check_finite("Translate", "pixels", pixels);
  return op("Translate", "pixels: " + interval_text(pixels), p, 1,
            [pixels](const torch::Tensor& x, at::Generator& gen) {
              torch::Tensor d = uniform(2 * x.size(0), pixels, gen).round().view({2, -1});
              return unless_identity(x, image::translate(x, on(d[0], x), on(d[1], x)).clamp(0, 1),
                                     d[0].eq(0) & d[1].eq(0));
            });
}

PolicyPtr make_scale(Interval factor, double p) {
  check_finite("Scale", "factor", factor);
  if (factor.lo <= 0) throw Error("Scale: factor must be > 0, got " + interval_text(factor));
  return op("Scale", "factor: " + interval_text(factor), p, 1,
            [factor](const torch::Tensor& x, at::Generator& gen) {
              const torch::Tensor f = on(uniform(x.size(0), factor, gen), x);
              return unless_identity(x, image::scale(x, f).clamp(0, 1), f.eq(1));
            });
}

PolicyPtr make_crop(int64_t padding, double p) {
  if (padding < 0) throw Error("Crop: padding must be >= 0, got " + std::to_string(padding));
  return op("Crop", "padding: " + std::to_string(padding), p, 1,
            [padding](const torch::Tensor& x, at::Generator& gen) {
              // Zero padding then a random crop = a whole-pixel shift in [-padding, padding].
              const int64_t n = x.size(0);
              torch::Tensor d = (rand({2, n}, gen) * (2 * padding + 1)).floor() - padding;
              d = d.clamp(-padding, padding);
              return unless_identity(x, image::translate(x, on(d[0], x), on(d[1], x)).clamp(0, 1),
                                     d[0].eq(0) & d[1].eq(0));
            });
}

PolicyPtr make_resized_crop(Interval scale, Interval ratio, double p) {
  check_interval("ResizedCrop", "scale", scale, 1e-6, 1);
  check_interval("ResizedCrop", "ratio", ratio, 1e-6, 1e6);
  return op("ResizedCrop", "scale: " + interval_text(scale) + ", ratio: " + interval_text(ratio), p,
            1, [scale, ratio](const torch::Tensor& x, at::Generator& gen) {
              const int64_t n = x.size(0);
              const double H = static_cast<double>(x.size(2)), W = static_cast<double>(x.size(3));
              constexpr int kTries = 10;
              // All draws up front so the stream does not depend on which tries succeed.
              torch::Tensor u = rand({n, kTries, 4}, gen).to(torch::kCPU).contiguous();
              auto acc = u.accessor<double, 3>();
              torch::Tensor theta = torch::zeros({n, 2, 3}, torch::kFloat64);
              auto th = theta.accessor<double, 3>();
              const double log_lo = std::log(ratio.lo), log_hi = std::log(ratio.hi);
              for (int64_t i = 0; i < n; ++i) {
                double bh = 0, bw = 0, top = 0, left = 0;
                bool found = false;
                for (int t = 0; t < kTries && !found; ++t) {
                  double area = H * W * (scale.lo + (scale.hi - scale.lo) * acc[i][t][0]);
                  double r = std::exp(log_lo + (log_hi - log_lo) * acc[i][t][1]);
                  double w = std::round(std::sqrt(area * r)), h = std::round(std::sqrt(area / r));
                  if (w > 0 && h > 0 && w <= W && h <= H) {
                    top = std::floor(acc[i][t][2] * (H - h + 1));
                    left = std::floor(acc[i][t][3] * (W - w + 1));
                    bh = h;
                    bw = w;
                    found = true;
                  }
                }
                if (!found) {  // torchvision's fallback: the central crop at the nearest ratio
                  double in_ratio = W / H;
                  if (in_ratio < ratio.lo) {
                    bw = W, bh = std::round(W / ratio.lo);
                  } else if (in_ratio > ratio.hi) {
                    bh = H, bw = std::round(H * ratio.hi);
                  } else {
                    bw = W, bh = H;
                  }
                  top = std::floor((H - bh) / 2), left = std::floor((W - bw) / 2);
                }
                // Output pixel u in [-1, 1] reads the box: centre + u · (box / image), normalised.
                th[i][0][0] = bw / W;
                th[i][0][2] = (left + bw / 2) / W * 2 - 1;
                th[i][1][1] = bh / H;
                th[i][1][2] = (top + bh / 2) / H * 2 - 1;
              }
              return image::affine(x, on(theta, x)).clamp(0, 1);
            });
}

PolicyPtr make_brightness(Interval factor, double p) {
  check_interval("Brightness", "factor", factor, 0, 1e6);
  return op("Brightness", "factor: " + interval_text(factor), p, 1,
            [factor](const torch::Tensor& x, at::Generator& gen) {
              return image::brightness(x, on(uniform(x.size(0), factor, gen), x));
            });
}

PolicyPtr make_contrast(Interval factor, double p) {
  check_interval("Contrast", "factor", factor, 0, 1e6);
  return op("Contrast", "factor: " + interval_text(factor), p, 1,
            [factor](const torch::Tensor& x, at::Generator& gen) {
              return image::contrast(x, on(uniform(x.size(0), factor, gen), x));
            });
}

PolicyPtr make_saturation(Interval factor, double p) {
  check_interval("Saturation", "factor", factor, 0, 1e6);
  return op("Saturation", "factor: " + interval_text(factor), p, 1,
            [factor](const torch::Tensor& x, at::Generator& gen) {
              return adjust_saturation(x, uniform(x.size(0), factor, gen));
            });
}

PolicyPtr make_hue(Interval shift, double p) {
  check_interval("Hue", "shift", shift, -0.5, 0.5);
  return op("Hue", "shift: " + interval_text(shift), p, 1,
            [shift](const torch::Tensor& x, at::Generator& gen) {
              return adjust_hue(x, uniform(x.size(0), shift, gen));
            });
}

PolicyPtr make_color_jitter(double brightness, double contrast, double saturation, double hue,
                            double p) {
  for (auto [name, v] : {std::pair<const char*, double>{"brightness", brightness},
                         {"contrast", contrast},
                         {"saturation", saturation}}) {
    if (!(v >= 0) || !std::isfinite(v))
      throw Error(std::string("ColorJitter: ") + name + " must be >= 0, got " + num_text(v));
  }
  if (!(hue >= 0 && hue <= 0.5))
    throw Error("ColorJitter: hue must lie in [0, 0.5], got " + num_text(hue));
  std::string params = "brightness: " + num_text(brightness) + ", contrast: " + num_text(contrast) +
                       ", saturation: " + num_text(saturation) + ", hue: " + num_text(hue);
  return op("ColorJitter", params, p, 1, [=](const torch::Tensor& x, at::Generator& gen) {
    const int64_t n = x.size(0);
    auto factor = [&](double v) { return on(uniform(n, {std::max(0.0, 1 - v), 1 + v}, gen), x); };
    torch::Tensor fb = factor(brightness), fc = factor(contrast), fs = factor(saturation),
                  fh = on(uniform(n, {-hue, hue}, gen), x);
    // A random order of the four per sample (torchvision draws one per call).
    torch::Tensor order = rand({n, 4}, gen).argsort(/*dim=*/1, /*descending=*/false).to(x.device());
    torch::Tensor out = x;
    for (int64_t stage = 0; stage < 4; ++stage) {
      torch::Tensor which = order.select(1, stage).view({-1, 1, 1, 1});
      torch::Tensor next = out;
      next = torch::where(which.eq(0), image::brightness(out, fb), next);
      next = torch::where(which.eq(1), image::contrast(out, fc), next);
      next = torch::where(which.eq(2), adjust_saturation(out, fs), next);
      next = torch::where(which.eq(3), adjust_hue(out, fh), next);
      out = next;
    }
    return out.clamp(0, 1);
  });
}

PolicyPtr make_grayscale(double p) {
  return op("Grayscale", "", p, 1, [](const torch::Tensor& x, at::Generator&) {
    return x.size(1) == 3 ? luminance(x).expand_as(x).contiguous() : x;
  });
}

PolicyPtr make_gaussian_noise(Interval sigma, double p) {
  check_interval("GaussianNoise", "sigma", sigma, 0, 1e6);
  return op("GaussianNoise", "sigma: " + interval_text(sigma), p, 1,
            [sigma](const torch::Tensor& x, at::Generator& gen) {
              torch::Tensor s = on(uniform(x.size(0), sigma, gen), x).view({-1, 1, 1, 1});
              at::Generator g = generator_on(gen, x.device());
              torch::Tensor noise = torch::randn(x.sizes(), g, x.options());
              return (x + s * noise).clamp(0, 1);
            });
}

PolicyPtr make_salt_pepper(Interval amount, double p) {
  check_interval("SaltPepper", "amount", amount, 0, 1);
  return op("SaltPepper", "amount: " + interval_text(amount), p, 1,
            [amount](const torch::Tensor& x, at::Generator& gen) {
              const int64_t n = x.size(0);
              torch::Tensor a = on(uniform(n, amount, gen), x).view({-1, 1, 1, 1});
              at::Generator g = generator_on(gen, x.device());
              torch::Tensor u = torch::rand({n, 1, x.size(2), x.size(3)}, g, x.options());
              torch::Tensor out = torch::where(u.lt(a / 2), torch::ones_like(x), x);
              return torch::where(u.ge(a / 2) & u.lt(a), torch::zeros_like(x), out);
            });
}

PolicyPtr make_blur(Interval sigma, double p) {
  check_interval("Blur", "sigma", sigma, 0, 1e3);
  return op("Blur", "sigma: " + interval_text(sigma), p, 1,
            [sigma](const torch::Tensor& x, at::Generator& gen) {
              return image::gaussian_blur(x, on(uniform(x.size(0), sigma, gen), x)).clamp(0, 1);
            });
}

PolicyPtr make_sharpen(Interval factor, double p) {
  check_interval("Sharpen", "factor", factor, 0, 1e6);
  return op("Sharpen", "factor: " + interval_text(factor), p, 1,
            [factor](const torch::Tensor& x, at::Generator& gen) {
              return adjust_sharpness(x, uniform(x.size(0), factor, gen));
            });
}

PolicyPtr make_jpeg(Interval quality, double p) {
  check_interval("JPEG", "quality", quality, 1, 100);
  return op(
      "JPEG", "quality: " + interval_text(quality), p, 1,
      [quality](const torch::Tensor& x, at::Generator& gen) -> torch::Tensor {
        const int64_t n = x.size(0), c = x.size(1);
        if (c != 1 && c != 3) {
          throw Error("JPEG needs 1- or 3-channel images, got " + std::to_string(c) + " channels");
        }
#if !PERTURB_HAVE_OPENCV
        (void)n;
        (void)gen;
        throw_without_opencv("the JPEG policy");
#else
        torch::Tensor q = uniform(n, quality, gen).round().to(torch::kCPU);
        torch::Tensor bytes = (x.detach().to(torch::kCPU, torch::kFloat32).clamp(0, 1) * 255)
                                  .round()
                                  .to(torch::kUInt8)
                                  .permute({0, 2, 3, 1})
                                  .contiguous();
        torch::Tensor out = torch::empty_like(bytes);
        const int h = static_cast<int>(x.size(2)), w = static_cast<int>(x.size(3));
        const int type = c == 1 ? CV_8UC1 : CV_8UC3;
        for (int64_t i = 0; i < n; ++i) {
          cv::Mat img(h, w, type, bytes[i].data_ptr<uint8_t>());
          // Our channels are RGB; OpenCV's JPEG codec expects BGR (chroma is computed
          // from it), so the channel order is reversed around the round trip.
          cv::Mat bgr = img;
          if (c == 3) cv::cvtColor(img, bgr, cv::COLOR_RGB2BGR);
          std::vector<unsigned char> buf;
          cv::imencode(".jpg", bgr, buf,
                       {cv::IMWRITE_JPEG_QUALITY, static_cast<int>(q[i].item<double>())});
          cv::Mat dec = cv::imdecode(buf, c == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
          if (c == 3) cv::cvtColor(dec, dec, cv::COLOR_BGR2RGB);
          cv::Mat dst(h, w, type, out[i].data_ptr<uint8_t>());
          dec.copyTo(dst);
        }
        return out.permute({0, 3, 1, 2}).to(x.device(), x.scalar_type()) / 255.0;
#endif
      });
}

PolicyPtr make_cutout(int64_t size, double p) {
  if (size < 0) throw Error("Cutout: size must be >= 0, got " + std::to_string(size));
  return op("Cutout", "size: " + std::to_string(size), p, 1,
            [size](const torch::Tensor& x, at::Generator& gen) {
              // DeVries and Taylor 2017: the centre anywhere in the image, the square clipped.
              const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
              torch::Tensor u = rand({2, n}, gen);
              torch::Tensor cy = (u[0] * h).floor(), cx = (u[1] * w).floor();
              torch::Tensor top = cy - size / 2, left = cx - size / 2;
              torch::Tensor s = torch::full_like(top, static_cast<double>(size));
              torch::Tensor mask = box_mask(top, left, s, s, h, w, x.device());
              return x.masked_fill(mask, 0.0);
            });
}

PolicyPtr make_random_erasing(Interval scale, Interval ratio, double value, double p) {
  check_interval("RandomErasing", "scale", scale, 0, 1);
  check_interval("RandomErasing", "ratio", ratio, 1e-6, 1e6);
  if (!(value >= 0 && value <= 1))
    throw Error("RandomErasing: value must lie in [0, 1], got " + num_text(value));
  std::string params = "scale: " + interval_text(scale) + ", ratio: " + interval_text(ratio) +
                       (value != 0 ? ", value: " + num_text(value) : "");
  return op("RandomErasing", params, p, 0.5,
            [scale, ratio, value](const torch::Tensor& x, at::Generator& gen) {
              const int64_t n = x.size(0);
              const double H = static_cast<double>(x.size(2)), W = static_cast<double>(x.size(3));
              constexpr int kTries = 10;
              torch::Tensor u = rand({n, kTries, 4}, gen).to(torch::kCPU).contiguous();
              auto acc = u.accessor<double, 3>();
              torch::Tensor box = torch::zeros({4, n}, torch::kFloat64);  // top, left, h, w
              auto b = box.accessor<double, 2>();
              const double log_lo = std::log(ratio.lo), log_hi = std::log(ratio.hi);
              for (int64_t i = 0; i < n; ++i) {
                for (int t = 0; t < kTries; ++t) {  // torchvision: no box after 10 tries → as is
                  double area = H * W * (scale.lo + (scale.hi - scale.lo) * acc[i][t][0]);
                  double r = std::exp(log_lo + (log_hi - log_lo) * acc[i][t][1]);
                  double h = std::round(std::sqrt(area * r)), w = std::round(std::sqrt(area / r));
                  if (!(h < H && w < W) || h <= 0 || w <= 0) continue;
                  b[0][i] = std::floor(acc[i][t][2] * (H - h + 1));
                  b[1][i] = std::floor(acc[i][t][3] * (W - w + 1));
                  b[2][i] = h;
                  b[3][i] = w;
                  break;
                }
              }
              torch::Tensor mask =
                  box_mask(box[0], box[1], box[2], box[3], x.size(2), x.size(3), x.device());
              return x.masked_fill(mask, value);
            });
}

}  // namespace augment
}  // namespace perturb
