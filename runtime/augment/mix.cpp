// Mixup (Zhang et al. 2018) and CutMix (Yun et al. 2019): each selected sample is mixed with a
// random partner of the same batch, and its soft label mixed with the same weight.
#include <cmath>

#include "runtime/augment/augment_util.h"
#include "runtime/augment/ops.h"
#include "runtime/core/error.h"

namespace perturb {
using namespace augment_detail;
namespace {

class MixOp : public Policy {
 public:
  MixOp(std::string name, double alpha, double p) : name_(std::move(name)), alpha_(alpha), p_(p) {
    check_p(name_, p);
    if (!(alpha > 0) || !std::isfinite(alpha))
      throw Error(name_ + ": alpha must be > 0, got " + num_text(alpha));
  }
  std::string name() const override { return name_; }
  std::string describe() const override {
    return name_ + "(alpha: " + num_text(alpha_) + (p_ != 1 ? ", p: " + num_text(p_) : "") + ")";
  }
  bool mixes_labels() const override { return true; }

  AugmentBatch apply(AugmentBatch batch, at::Generator& gen) const override {
    torch::Tensor x = as_batch(batch.x, name_);
    const int64_t n = x.size(0);
    if (n == 0 || p_ <= 0) return batch;
    torch::Tensor selected = p_ >= 1 ? torch::ones({n}, torch::kBool) : rand({n}, gen).lt(p_).cpu();
    torch::Tensor partner =
        torch::randperm(n, gen, torch::TensorOptions().dtype(torch::kLong).device(gen.device()))
            .cpu();
    torch::Tensor lam = beta(n, alpha_, gen);
    // weight of the sample itself [N] (1 = unchanged) and the mixed images
    auto [weight, mixed] = mix(x, partner.to(x.device()), lam, selected, gen);
    batch.x = batch.x.dim() == 3 ? mixed.squeeze(0) : mixed;
    if (batch.y.defined() || batch.soft_y.defined()) {
      AugmentBatch whole = batch;
      whole.x = x;
      torch::Tensor soft = soft_labels(whole);
      torch::Tensor w = weight.to(soft.device(), soft.scalar_type()).view({-1, 1});
      batch.soft_y = w * soft + (1 - w) * soft.index_select(0, partner.to(soft.device()));
    }
    return batch;
  }
  torch::Tensor apply(const torch::Tensor& x, at::Generator& gen) const override {
    AugmentBatch batch;
    batch.x = x;
    return apply(std::move(batch), gen).x;
  }

 protected:
  // lam [N] CPU float64 drawn from Beta; selected [N] bool CPU. Returns the per-sample weight of
  // the sample itself (after any correction) and the mixed batch.
  virtual std::pair<torch::Tensor, torch::Tensor> mix(const torch::Tensor& x,
                                                      const torch::Tensor& partner,
                                                      const torch::Tensor& lam,
                                                      const torch::Tensor& selected,
                                                      at::Generator& gen) const = 0;
  std::string name_;
  double alpha_, p_;
};

class Mixup : public MixOp {
 public:
  Mixup(double alpha, double p) : MixOp("Mixup", alpha, p) {}

 protected:
  std::pair<torch::Tensor, torch::Tensor> mix(const torch::Tensor& x, const torch::Tensor& partner,
                                              const torch::Tensor& lam,
                                              const torch::Tensor& selected,
                                              at::Generator&) const override {
    torch::Tensor w = torch::where(selected, lam, torch::ones_like(lam));
    torch::Tensor wx = w.to(x.device(), x.scalar_type()).view({-1, 1, 1, 1});
    return {w, (wx * x + (1 - wx) * x.index_select(0, partner)).clamp(0, 1)};
  }
};

class CutMix : public MixOp {
 public:
  CutMix(double alpha, double p) : MixOp("CutMix", alpha, p) {}

 protected:
  std::pair<torch::Tensor, torch::Tensor> mix(const torch::Tensor& x, const torch::Tensor& partner,
                                              const torch::Tensor& lam,
                                              const torch::Tensor& selected,
                                              at::Generator& gen) const override {
    const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
    // Yun et al.: a box of side ratio sqrt(1 - lam), centre uniform, clipped to the image;
    // the label weight is the area actually kept.
    torch::Tensor r = torch::sqrt(1 - lam) * selected.to(torch::kFloat64);
    torch::Tensor cut_h = (r * h).floor(), cut_w = (r * w).floor();
    torch::Tensor u = rand({2, n}, gen).cpu();
    torch::Tensor cy = (u[0] * h).floor(), cx = (u[1] * w).floor();
    torch::Tensor top = (cy - (cut_h / 2).floor()).clamp(0, h);
    torch::Tensor bottom = (cy + (cut_h / 2).floor()).clamp(0, h);
    torch::Tensor left = (cx - (cut_w / 2).floor()).clamp(0, w);
    torch::Tensor right = (cx + (cut_w / 2).floor()).clamp(0, w);
    torch::Tensor weight = 1 - (bottom - top) * (right - left) / static_cast<double>(h * w);
    auto opts = torch::TensorOptions().dtype(torch::kFloat64).device(x.device());
    torch::Tensor rows = torch::arange(h, opts).view({1, h, 1});
    torch::Tensor cols = torch::arange(w, opts).view({1, 1, w});
    auto v = [&](const torch::Tensor& t) { return t.to(x.device()).view({-1, 1, 1}); };
    torch::Tensor mask =
        (rows.ge(v(top)) & rows.lt(v(bottom)) & cols.ge(v(left)) & cols.lt(v(right))).unsqueeze(1);
    return {weight, torch::where(mask, x.index_select(0, partner), x)};
  }
};

}  // namespace

namespace augment {

PolicyPtr make_mixup(double alpha, double p) {
  return std::make_shared<Mixup>(alpha, p);
}

PolicyPtr make_cutmix(double alpha, double p) {
  return std::make_shared<CutMix>(alpha, p);
}

}  // namespace augment
}  // namespace perturb
