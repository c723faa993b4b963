#include "runtime/augment/gmm.h"

#include <cmath>
#include <limits>
#include <string>

#include "runtime/core/error.h"
#include "runtime/core/random.h"

namespace perturb {
namespace {

constexpr int64_t kLloydIterations = 10;
const double kLog2Pi = std::log(2 * std::acos(-1.0));

torch::Tensor as_points(const torch::Tensor& x, const char* what) {
  if (!x.defined() || x.dim() != 2) {
    throw Error(std::string(what) + " needs points as a 2-D tensor [N, d], got " +
                (x.defined() ? std::to_string(x.dim()) + "-D" : std::string("nothing")));
  }
  auto p = x.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  if (!torch::isfinite(p).all().item<bool>()) {
    throw Error(std::string(what) + ": the points contain NaN or infinite values");
  }
  return p;
}

// Squared distances [N, M] between points and centres.
torch::Tensor sq_dist(const torch::Tensor& x, const torch::Tensor& c) {
  return (x.pow(2).sum(1, true) - 2 * x.matmul(c.t()) + c.pow(2).sum(1).unsqueeze(0)).clamp_min(0);
}

// k-means++ seeding then Lloyd iterations; returns the hard labels [N].
torch::Tensor kmeans_labels(const torch::Tensor& x, int64_t k, at::Generator& gen) {
  const int64_t n = x.size(0);
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  std::vector<int64_t> chosen;
  chosen.push_back(
      torch::randint(n, {1}, gen, torch::TensorOptions().dtype(torch::kInt64)).item<int64_t>());
  torch::Tensor d2 = sq_dist(x, x.index({chosen[0]}).unsqueeze(0)).squeeze(1);
  for (int64_t c = 1; c < k; ++c) {
    const double total = d2.sum().item<double>();
    // All points coincide with the seeds: any point will do.
    torch::Tensor probs = total > 0 ? d2 / total : torch::ones({n}, opts) / n;
    const int64_t next = torch::multinomial(probs, 1, false, gen).item<int64_t>();
    chosen.push_back(next);
    d2 = torch::minimum(d2, sq_dist(x, x.index({next}).unsqueeze(0)).squeeze(1));
  }
  torch::Tensor centres =
      x.index_select(0, torch::tensor(chosen, torch::TensorOptions().dtype(torch::kInt64)));
  torch::Tensor labels = sq_dist(x, centres).argmin(1);
  for (int64_t it = 0; it < kLloydIterations; ++it) {
    auto onehot = torch::one_hot(labels, k).to(torch::kFloat64);  // [N, k]
    auto counts = onehot.sum(0);
    auto sums = onehot.t().matmul(x);
    // An empty cluster keeps its centre.
    auto keep = counts.eq(0).unsqueeze(1);
    centres = torch::where(keep, centres, sums / counts.clamp_min(1).unsqueeze(1));
    auto next = sq_dist(x, centres).argmin(1);
    if (next.equal(labels)) break;
    labels = next;
  }
  return labels;
}

// The M-step from responsibilities r [N, M] (eq. of Moon 1996 §IV): α, μ, σ² (+ reg).
void m_step(Gmm& g, const torch::Tensor& x, const torch::Tensor& r, double reg) {
  // scikit-learn adds 10·eps so an empty component does not divide by zero.
  auto nk = r.sum(0) + 10 * std::numeric_limits<double>::epsilon();
  g.weights = nk / nk.sum();
  g.means = r.t().matmul(x) / nk.unsqueeze(1);
  auto ex2 = r.t().matmul(x * x) / nk.unsqueeze(1);
  g.variances = (ex2 - g.means.pow(2)).clamp_min(0) + reg;
}

}  // namespace

torch::Tensor Gmm::log_joint(const torch::Tensor& x_in) const {
  auto x = as_points(x_in, "a Gaussian mixture");
  if (x.size(1) != dim()) {
    throw Error("the mixture was fitted on " + std::to_string(dim()) + "-dimensional points, got " +
                std::to_string(x.size(1)));
  }
  // log N(x | μ_h, diag σ²_h) = −½ (d log 2π + Σ log σ² + Σ (x − μ)² / σ²)
  auto inv = 1.0 / variances;  // [M, d]
  auto maha = (x * x).matmul(inv.t()) - 2 * x.matmul((means * inv).t()) +
              (means * means * inv).sum(1).unsqueeze(0);  // [N, M]
  auto log_det = variances.log().sum(1).unsqueeze(0);     // [1, M]
  auto log_gauss = -0.5 * (static_cast<double>(dim()) * kLog2Pi + log_det + maha.clamp_min(0));
  return log_gauss + weights.log().unsqueeze(0);
}

torch::Tensor Gmm::responsibilities(const torch::Tensor& x) const {
  auto lj = log_joint(x);
  return (lj - lj.logsumexp(1, true)).exp();
}

torch::Tensor Gmm::predict(const torch::Tensor& x) const {
  return log_joint(x).argmax(1);
}

double Gmm::total_log_likelihood(const torch::Tensor& x) const {
  return log_joint(x).logsumexp(1).sum().item<double>();
}

int64_t Gmm::parameter_count() const {
  const int64_t m = components();
  return 2 * m * dim() + (m - 1);
}

double Gmm::aic() const {
  return -2 * log_likelihood + 2 * static_cast<double>(parameter_count());
}

double Gmm::bic() const {
  return -2 * log_likelihood +
         static_cast<double>(parameter_count()) * std::log(static_cast<double>(points));
}

Gmm fit_gmm(const torch::Tensor& x_in, const GmmOptions& o, at::Generator& gen) {
  if (o.components < 1) {
    throw Error("a Gaussian mixture needs at least 1 component, got " +
                std::to_string(o.components));
  }
  if (o.max_iter < 1) throw Error("the mixture needs at least 1 EM iteration");
  if (!(o.tol >= 0) || !(o.reg >= 0)) throw Error("the mixture's tol and reg must not be negative");
  auto x = as_points(x_in, "a Gaussian mixture");
  const int64_t n = x.size(0);
  if (n < o.components) {
    throw Error("cannot fit " + std::to_string(o.components) + " Gaussian components to " +
                std::to_string(n) + " points");
  }
  Gmm g;
  g.points = n;
  auto labels = kmeans_labels(x, o.components, gen);
  m_step(g, x, torch::one_hot(labels, o.components).to(torch::kFloat64), o.reg);
  double lower = -std::numeric_limits<double>::infinity();
  for (int64_t it = 1; it <= o.max_iter; ++it) {
    // E-step: responsibilities and the mean log-likelihood under the current parameters.
    auto lj = g.log_joint(x);
    auto norm = lj.logsumexp(1, true);
    const double mean_ll = norm.mean().item<double>();
    m_step(g, x, (lj - norm).exp(), o.reg);
    g.iterations = it;
    if (std::abs(mean_ll - lower) < o.tol) {
      g.converged = true;
      break;
    }
    lower = mean_ll;
  }
  g.log_likelihood = g.total_log_likelihood(x);
  return g;
}

GmmSelection select_gmm(const torch::Tensor& x, int64_t max_components, GmmOptions options,
                        at::Generator& gen) {
  if (max_components < 1) {
    throw Error("max components must be at least 1, got " + std::to_string(max_components));
  }
  GmmSelection s;
  double best_bic = std::numeric_limits<double>::infinity();
  for (int64_t m = 1; m <= max_components; ++m) {
    options.components = m;
    auto sub = make_generator(next_seed(gen));
    Gmm g = fit_gmm(x, options, sub);
    s.components.push_back(m);
    s.aic.push_back(g.aic());
    s.bic.push_back(g.bic());
    s.log_likelihood.push_back(g.log_likelihood);
    if (g.bic() < best_bic) {
      best_bic = g.bic();
      s.best = m;
      s.model = g;
    }
  }
  return s;
}

}  // namespace perturb
