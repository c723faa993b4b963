#include "runtime/eval/anomaly.h"

#include <string>
#include <vector>

#include "runtime/core/error.h"

namespace perturb {
namespace {

// scores and labels as float64 / bool CPU vectors of one length, both classes present.
std::pair<torch::Tensor, torch::Tensor> checked(const torch::Tensor& scores,
                                                const torch::Tensor& labels, const char* metric) {
  if (!scores.defined() || !labels.defined()) {
    throw Error(std::string(metric) + " needs scores and labels");
  }
  auto s = scores.detach().to(torch::kCPU, torch::kFloat64).flatten();
  auto l = labels.detach().to(torch::kCPU).flatten();
  if (s.size(0) != l.size(0)) {
    throw Error(std::string(metric) + ": " + std::to_string(s.size(0)) + " scores but " +
                std::to_string(l.size(0)) + " labels");
  }
  if (l.scalar_type() != torch::kBool) {
    auto lf = l.to(torch::kFloat64);
    if (!(lf.eq(0) | lf.eq(1)).all().item<bool>()) {
      throw Error(std::string(metric) + ": labels must be 0 (normal) or 1 (abnormal)");
    }
    l = lf.eq(1);
  }
  if (!torch::isfinite(s).all().item<bool>()) {
    throw Error(std::string(metric) + ": the scores contain NaN or infinite values");
  }
  const int64_t pos = l.sum().item<int64_t>();
  if (pos == 0 || pos == l.size(0)) {
    throw Error(std::string(metric) + " needs both normal and abnormal samples, got " +
                std::to_string(pos) + " abnormal of " + std::to_string(l.size(0)));
  }
  return {s, l};
}

}  // namespace

double auroc(const torch::Tensor& scores, const torch::Tensor& labels) {
  auto [s, l] = checked(scores, labels, "AUROC");
  const int64_t n = s.size(0);
  auto order = s.argsort();
  auto sorted = s.index_select(0, order);
  auto lab = l.index_select(0, order);
  auto sv = sorted.accessor<double, 1>();
  auto lv = lab.accessor<bool, 1>();
  // Mid-ranks (1-based) for ties.
  double rank_sum = 0;
  int64_t pos = 0;
  for (int64_t i = 0; i < n;) {
    int64_t j = i;
    while (j + 1 < n && sv[j + 1] == sv[i]) ++j;
    const double mid = 0.5 * static_cast<double>(i + 1 + j + 1);
    for (int64_t k = i; k <= j; ++k) {
      if (lv[k]) {
        rank_sum += mid;
        ++pos;
      }
    }
    i = j + 1;
  }
  const double p = static_cast<double>(pos), q = static_cast<double>(n - pos);
  return (rank_sum - p * (p + 1) / 2) / (p * q);
}

double aupr(const torch::Tensor& scores, const torch::Tensor& labels) {
  auto [s, l] = checked(scores, labels, "AUPR");
  const int64_t n = s.size(0);
  auto order = s.argsort(0, /*descending=*/true);
  auto sorted = s.index_select(0, order);
  auto lab = l.index_select(0, order);
  auto sv = sorted.accessor<double, 1>();
  auto lv = lab.accessor<bool, 1>();
  const double total_pos = static_cast<double>(l.sum().item<int64_t>());
  double tp = 0, fp = 0, prev_recall = 0, ap = 0;
  for (int64_t i = 0; i < n;) {
    int64_t j = i;
    while (j + 1 < n && sv[j + 1] == sv[i]) ++j;
    for (int64_t k = i; k <= j; ++k) (lv[k] ? tp : fp) += 1;
    const double recall = tp / total_pos;
    ap += (recall - prev_recall) * tp / (tp + fp);
    prev_recall = recall;
    i = j + 1;
  }
  return ap;
}

MahalanobisDetector::MahalanobisDetector(const torch::Tensor& features, const torch::Tensor& labels,
                                         MahalanobisOptions options)
    : options_(options) {
  if (!features.defined() || features.dim() != 2 || features.size(0) < 2) {
    throw Error("the Mahalanobis detector needs the normal data's features as [N, d] with N >= 2");
  }
  auto f = prepare(features);
  const int64_t d = f.size(1);
  torch::Tensor centred;
  if (labels.defined()) {
    auto y = labels.detach().to(torch::kCPU, torch::kInt64).flatten();
    if (y.size(0) != f.size(0)) {
      throw Error("the detector got " + std::to_string(f.size(0)) + " features but " +
                  std::to_string(y.size(0)) + " labels");
    }
    auto classes = std::get<0>(at::_unique(y));
    std::vector<torch::Tensor> means;
    centred = torch::empty_like(f);
    for (int64_t c = 0; c < classes.size(0); ++c) {
      auto mask = y.eq(classes[c]);
      auto idx = mask.nonzero().squeeze(1);
      auto mu = f.index_select(0, idx).mean(0);
      means.push_back(mu);
      centred.index_copy_(0, idx, f.index_select(0, idx) - mu);
    }
    means_ = torch::stack(means);
  } else {
    means_ = f.mean(0, true);
    centred = f - means_;
  }
  auto cov = centred.t().matmul(centred) / static_cast<double>(f.size(0));
  const double scale = std::max(cov.diagonal().mean().item<double>(), 1e-12);
  cov = cov + options_.reg * scale * torch::eye(d, torch::kFloat64);
  precision_ = torch::linalg::pinv(cov, 1e-10, /*hermitian=*/true);
}

torch::Tensor MahalanobisDetector::prepare(const torch::Tensor& f) const {
  auto x = f.detach().to(torch::kCPU, torch::kFloat64).flatten(1);
  if (options_.normalize) x = x / x.norm(2, 1, true).clamp_min(1e-12);
  return x;
}

torch::Tensor MahalanobisDetector::score(const torch::Tensor& features) const {
  auto f = prepare(features);
  if (f.size(1) != means_.size(1)) {
    throw Error("the detector was fitted on " + std::to_string(means_.size(1)) +
                "-dimensional features, got " + std::to_string(f.size(1)));
  }
  // (f − μ)ᵀ P (f − μ) = fᵀPf − 2 fᵀPμ + μᵀPμ for every class, the smallest kept.
  auto fp = f.matmul(precision_);
  auto d = (fp * f).sum(1, true) - 2 * fp.matmul(means_.t()) +
           (means_.matmul(precision_) * means_).sum(1).unsqueeze(0);
  return std::get<0>(d.min(1));
}

torch::Tensor mahalanobis_scores(Model& model, const torch::Tensor& x_normal,
                                 const torch::Tensor& y_normal, const torch::Tensor& x_test,
                                 int64_t batch, MahalanobisOptions options) {
  ModeGuard eval(model, /*training=*/false);
  auto normal = forward_batched(model, x_normal, batch).flatten(1);
  auto test = forward_batched(model, x_test, batch).flatten(1);
  MahalanobisDetector detector(normal, y_normal, options);
  return detector.score(test);
}

}  // namespace perturb
