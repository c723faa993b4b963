// Shared pieces of the augmentation ops: parameter checks, seeded draws, the per-sample `p` mask.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "runtime/augment/policy.h"
#include "runtime/threat/threat.h"

namespace perturb::augment_detail {

// "0.8..1.2" or "0.5"
std::string interval_text(const Interval& r);
std::string num_text(double v);
void check_p(const std::string& op, double p);
void check_interval(const std::string& op, const std::string& param, const Interval& r, double lo,
                    double hi);
// x as [N, C, H, W] (a [C, H, W] image becomes a batch of one) or an Error naming the op.
torch::Tensor as_batch(const torch::Tensor& x, const std::string& op);

// Uniform draws in [r.lo, r.hi], shape [n], float64, on the generator's device.
torch::Tensor uniform(int64_t n, const Interval& r, at::Generator& gen);
// Uniform [0, 1) of any shape on the generator's device.
torch::Tensor rand(at::IntArrayRef shape, at::Generator& gen);
// A generator on `device`: `gen` itself when it lives there, else one seeded from it.
at::Generator generator_on(at::Generator& gen, const torch::Device& device);
// Beta(alpha, alpha) draws [n] (via two Gamma draws), float64 on the CPU.
torch::Tensor beta(int64_t n, double alpha, at::Generator& gen);

// One op with a probability: picks the samples (Bernoulli(p) each) and runs `fn` on them only.
// p >= 1 draws nothing and applies to all; p <= 0 returns x.
class ProbOp : public Policy {
 public:
  ProbOp(std::string name, double p, double default_p)
      : name_(std::move(name)), p_(p), default_p_(default_p) {
    check_p(name_, p);
  }
  std::string name() const override { return name_; }
  std::string describe() const override;
  torch::Tensor apply(const torch::Tensor& x, at::Generator& gen) const override;
  using Policy::apply;
  double p() const { return p_; }
  // The selected sample indices ([k] int64 on x's device), or undefined for "all".
  torch::Tensor select(int64_t n, const torch::Device& device, at::Generator& gen) const;

 protected:
  // The op on a batch where every sample is transformed.
  virtual torch::Tensor transform(const torch::Tensor& x, at::Generator& gen) const = 0;
  // "degrees: -15..15" — the parameters before p.
  virtual std::string params_text() const = 0;

 private:
  std::string name_;
  double p_, default_p_;
};

// x[idx] = values (out of place).
torch::Tensor scatter_rows(const torch::Tensor& x, const torch::Tensor& idx,
                           const torch::Tensor& values);
// [N, 1, H, W] luminance (0.299, 0.587, 0.114) for 3 channels, x itself for 1.
torch::Tensor luminance(const torch::Tensor& x);
// r·a + (1 − r)·b clamped to [0, 1], r [N] broadcast per sample.
torch::Tensor blend(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& r);
// soft labels [N, classes] of a batch (one-hot of y when soft_y is undefined).
torch::Tensor soft_labels(const AugmentBatch& batch);

// Colour and sharpness primitives shared by ColorJitter and RandAugment; factors [N] on x's
// device.
torch::Tensor adjust_saturation(const torch::Tensor& x, const torch::Tensor& factor);
torch::Tensor adjust_hue(const torch::Tensor& x, const torch::Tensor& shift);
torch::Tensor adjust_sharpness(const torch::Tensor& x, const torch::Tensor& factor);

}  // namespace perturb::augment_detail
