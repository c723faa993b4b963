// Cross-Modality Perturbation Synergy (Gong et al. 2024); the equations are in cmps.h.
#include "runtime/attack/cmps.h"

#include <algorithm>
#include <cmath>

#include "runtime/attack/attack_util.h"
#include "runtime/attack/loss.h"
#include "runtime/core/error.h"
#include "runtime/data/paired_modalities.h"
#include "runtime/report/format.h"
#include "runtime/threat/lp_threat.h"

namespace perturb {
namespace F = torch::nn::functional;
namespace {

constexpr int64_t kEmbedBatch = 256;

// Unit-length embeddings [N, d] of x, without gradient, in the model's current mode.
torch::Tensor unit_features(Model& model, const torch::Tensor& x) {
  return F::normalize(forward_batched(model, x, kEmbedBatch).flatten(1),
                      F::NormalizeFuncOptions().dim(1));
}

// The centroid sets one modality's step measures against (cmps.h): positives and negatives.
struct StepTargets {
  torch::Tensor positive;  // C^p is drawn from these
  torch::Tensor negative;  // C^n from these
};

// Draws happen on the generator's device (a CUDA generator draws CUDA tensors).
torch::TensorOptions on_generator(const at::Generator& gen) {
  return torch::TensorOptions().dtype(torch::kInt64).device(gen.device());
}

std::string shape_of_one(const torch::Tensor& t) {
  auto sizes = t.sizes().vec();
  sizes.erase(sizes.begin());
  return format_shape(sizes);
}

}  // namespace

const std::vector<std::string>& cmps_modalities() {
  static const std::vector<std::string> names = {"both", "visible", "infrared"};
  return names;
}

void CmpsOptions::check() const {
  if (epochs < 1) throw Error("CMPS epochs must be at least 1, got " + std::to_string(epochs));
  if (batch < 1) throw Error("CMPS batch must be at least 1, got " + std::to_string(batch));
  if (step && !(*step > 0)) throw Error("CMPS step must be positive, got " + format_number(*step));
  if (!(momentum >= 0)) {
    throw Error("CMPS momentum must be at least 0, got " + format_number(momentum));
  }
  if (!(margin >= 0)) throw Error("CMPS margin must be at least 0, got " + format_number(margin));
  if (!(grayscale >= 0 && grayscale <= 1)) {
    throw Error("CMPS grayscale is a probability in [0, 1], got " + format_number(grayscale));
  }
  if (!(decay >= 0)) throw Error("CMPS decay must be at least 0, got " + format_number(decay));
  if (kmeans_iterations < 1) throw Error("CMPS kmeans_iterations must be at least 1");
  if (centroids != "cross" && centroids != "own") {
    throw Error("CMPS centroids must be \"cross\" or \"own\", got \"" + centroids + "\"");
  }
  const auto& names = cmps_modalities();
  if (std::find(names.begin(), names.end(), modalities) == names.end()) {
    throw Error("CMPS modalities must be \"both\", \"visible\" or \"infrared\", got \"" +
                modalities + "\"");
  }
}

torch::Tensor spherical_kmeans(const torch::Tensor& features, int64_t k, int64_t iterations,
                               at::Generator& gen) {
  const int64_t n = features.size(0);
  if (n == 0) throw Error("k-means needs at least one feature");
  k = std::min(k, n);
  const auto seeds =
      torch::randperm(n, gen, on_generator(gen)).slice(0, 0, k).to(features.device());
  auto centroids = features.index_select(0, seeds);
  for (int64_t it = 0; it < iterations; ++it) {
    const auto assign = features.mm(centroids.t()).argmax(1);
    const auto sums = torch::zeros_like(centroids).index_add_(0, assign, features);
    const auto counts = torch::bincount(assign, {}, k);
    // An emptied cluster keeps its centroid (faiss re-seeds it; with k = identities and a
    // trained embedding this is rare).
    const auto updated = F::normalize(sums, F::NormalizeFuncOptions().dim(1));
    centroids = torch::where((counts > 0).unsqueeze(1), updated, centroids);
  }
  return centroids;
}

Cmps::Cmps(ThreatPtr threat, CmpsOptions options)
    : threat_(std::move(threat)), options_(std::move(options)) {
  if (!threat_) throw Error("CMPS needs a threat");
  const std::string n = threat_->name();
  if (dynamic_cast<const LpThreat*>(threat_.get()) == nullptr || (n != "Linf" && n != "L2")) {
    throw Error(
        "CMPS learns one additive perturbation shared by every input of both "
        "modalities, so it needs a Linf or L2 threat, got " +
        threat_->describe() +
        (threat_->additive() ? ""
                             : "; a physical threat's parameters are searched per input "
                               "(PGD), not shared as one universal perturbation"));
  }
  options_.check();
  const Domain domain = threat_domain(*threat_);
  const double width = domain.hi - domain.lo;
  ball_ = threat_->with({{"domain", Interval{-width, width}}});
}

double Cmps::step() const {
  return options_.step ? *options_.step : threat_->eps() / 12;
}

std::string Cmps::describe() const {
  std::string text =
      "CMPS(" + threat_->describe() + ", epochs: " + std::to_string(options_.epochs) +
      ", batch: " + std::to_string(options_.batch) + ", step: " + format_number(step()) +
      ", momentum: " + format_number(options_.momentum) +
      ", margin: " + format_number(options_.margin) +
      ", grayscale: " + format_number(options_.grayscale) + ", modalities: \"" +
      options_.modalities + "\"" +
      (options_.centroids == "own" ? "" : ", centroids: \"" + options_.centroids + "\"") + ")";
  if (fitted()) {
    text += ", fitted on " + std::to_string(fit_samples_) +
            " inputs (last epoch's loss: " + format_number(losses_.back()) + ")";
  }
  return text;
}

std::shared_ptr<Cmps> Cmps::fit(Model& visible_model, Model& infrared_model,
                                const Dataset& visible_in, const Dataset& infrared_in,
                                at::Generator& gen) const {
  const bool both = options_.modalities == "both";
  const bool use_visible = both || options_.modalities == "visible";
  const bool use_infrared = both || options_.modalities == "infrared";
  const Dataset visible = visible_in.in_memory();
  const Dataset infrared = infrared_in.in_memory();
  if ((use_visible && visible.size() == 0) || (use_infrared && infrared.size() == 0) ||
      visible.size() + infrared.size() == 0) {
    throw Error("CMPS cannot learn a perturbation from an empty modality");
  }
  if (visible.size() && infrared.size() && visible.input_shape() != infrared.input_shape()) {
    throw Error("CMPS needs both modalities of the same shape (one η for both), got visible " +
                shape_of_one(visible.x) + " and infrared " + shape_of_one(infrared.x));
  }
  AttackModeGuard visible_mode(visible_model);
  AttackModeGuard infrared_mode(infrared_model);
  const auto device = visible_model.device();
  const auto xv = visible.x.to(device, torch::kFloat32);
  const auto xi = infrared.x.to(device, torch::kFloat32);
  if (use_visible && xv.size(1) != 3) {
    throw Error("CMPS's visible images must be RGB (3 channels), got " + shape_of_one(xv));
  }
  // k = the number of identities (the code's 395 for SYSU-MM01, 206 for RegDB).
  const auto labels = torch::cat({visible.y.flatten().cpu(), infrared.y.flatten().cpu()});
  const int64_t k = std::get<0>(torch::_unique(labels)).numel();
  const int64_t iters = options_.kmeans_iterations;
  torch::Tensor c_rgb, c_gray, c_ir;
  if (xv.size(0)) {
    c_rgb = spherical_kmeans(unit_features(visible_model, xv), k, iters, gen);
    if (xv.size(1) == 3) {
      c_gray = spherical_kmeans(unit_features(visible_model, to_grayscale3(xv)), k, iters, gen);
    }
  }
  if (xi.size(0)) c_ir = spherical_kmeans(unit_features(infrared_model, xi), k, iters, gen);
  // Eq. 4 (visible step: C_ir^p, C_g^n) and eq. 7 (infrared step: C_g^p, C_RGB^n) with
  // centroids "cross"; otherwise (the code's form, and any single-modality fit) each step
  // measures against its own modality's centroids.
  const bool cross = both && options_.centroids == "cross";
  const StepTargets visible_targets = cross ? StepTargets{c_ir, c_gray} : StepTargets{c_rgb, c_rgb};
  const StepTargets infrared_targets = cross ? StepTargets{c_gray, c_rgb} : StepTargets{c_ir, c_ir};

  const Domain domain = threat_domain(*threat_);
  std::vector<int64_t> shape = (use_visible ? xv : xi).sizes().vec();
  shape[0] = 1;
  auto eta = torch::zeros(shape, xv.options());
  auto velocity = torch::zeros_like(eta);
  const int64_t b = options_.batch;
  const int64_t nv = xv.size(0), ni = xi.size(0);
  const int64_t steps = (std::max(use_visible ? nv : 0, use_infrared ? ni : 0) + b - 1) / b;
  std::vector<double> losses;

  // One MI-SGD step on a minibatch (eq. 5–6), descending the triplet loss.
  auto mi_sgd = [&](Model& model, const torch::Tensor& x, const StepTargets& targets, double lr) {
    torch::Tensor pos, neg;
    {
      // C^p / C^n of each input from its clean feature, as the reference code picks them.
      const auto f0 = unit_features(model, x);
      pos = targets.positive.index_select(0, f0.mm(targets.positive.t()).argmax(1));
      neg = targets.negative.index_select(0, f0.mm(targets.negative.t()).argmin(1));
    }
    torch::AutoGradMode grad_mode(true);
    const auto d = eta.detach().requires_grad_(true);
    const auto f = F::normalize(model.forward((x + d).clamp(domain.lo, domain.hi)).flatten(1),
                                F::NormalizeFuncOptions().dim(1));
    // max(‖C^n − f‖ − ‖C^p − f‖ + ρ, 0): torch's triplet_margin_loss(f, C^n, C^p, ρ), as in
    // the code (which scales it by 10; the L1-normalised gradient makes the scale irrelevant).
    const auto loss =
        ((f - neg).norm(2, 1) - (f - pos).norm(2, 1) + options_.margin).clamp_min(0).mean();
    const auto g = torch::autograd::grad({loss}, {d})[0];
    velocity = options_.momentum * velocity + g / (g.abs().sum() + 1e-12);
    eta = ball_->project(ball_->ascend(eta, -velocity, lr), torch::zeros_like(eta)).detach();
    return loss.item<double>();
  };

  for (int64_t epoch = 0; epoch < options_.epochs; ++epoch) {
    const double lr = step() * std::exp(-options_.decay * static_cast<double>(epoch));
    const auto order_v = torch::randperm(std::max<int64_t>(nv, 1), gen, on_generator(gen)).cpu();
    const auto order_i = torch::randperm(std::max<int64_t>(ni, 1), gen, on_generator(gen)).cpu();
    double loss_sum = 0;
    int64_t loss_count = 0;
    for (int64_t s = 0; s < steps; ++s) {
      if (use_visible) {
        // The smaller modality cycles through its order while the larger one is walked once.
        const int64_t start = (s * b) % nv;
        const auto rows = order_v.slice(0, start, std::min(nv, start + b)).to(device);
        auto x = xv.index_select(0, rows);
        if (options_.grayscale > 0) {
          // §3.3: each image grey with probability p.
          const auto grey =
              (torch::rand({x.size(0)}, gen, torch::TensorOptions().device(gen.device())) <
               options_.grayscale)
                  .to(device);
          x = torch::where(grey.view({-1, 1, 1, 1}), to_grayscale3(x), x);
        }
        loss_sum += mi_sgd(visible_model, x, visible_targets, lr);
        ++loss_count;
      }
      if (use_infrared) {
        const int64_t start = (s * b) % ni;
        const auto rows = order_i.slice(0, start, std::min(ni, start + b)).to(device);
        loss_sum += mi_sgd(infrared_model, xi.index_select(0, rows), infrared_targets, lr);
        ++loss_count;
      }
    }
    losses.push_back(loss_sum / static_cast<double>(std::max<int64_t>(loss_count, 1)));
  }
  auto fitted = std::make_shared<Cmps>(*this);
  fitted->eta_ = eta;
  fitted->losses_ = losses;
  fitted->fit_samples_ = (use_visible ? nv : 0) + (use_infrared ? ni : 0);
  return fitted;
}

torch::Tensor Cmps::perturbation() const {
  if (!fitted()) {
    throw Error(
        "this CMPS attack has not been fitted yet: fit it on two-modality data first "
        "(c.fit(net, data))");
  }
  return eta_;
}

torch::Tensor Cmps::run(Model& model, const torch::Tensor& x_in, const torch::Tensor& y_in,
                        at::Generator&, AttackStats*) const {
  const auto eta = perturbation();
  const auto [x, y] = prepare_batch(model, x_in, y_in);
  if (x.sizes().slice(1) != eta.sizes().slice(1)) {
    throw Error("this CMPS perturbation was fitted on inputs " + shape_of_one(eta) +
                ", got inputs " + shape_of_one(x));
  }
  const Domain domain = threat_domain(*threat_);
  return (x + eta.to(x.device())).clamp(domain.lo, domain.hi).detach();
}

std::shared_ptr<Attack> Cmps::with(const Params& params) const {
  const std::vector<std::string> own = {"epochs", "batch",     "step", "momentum",
                                        "margin", "grayscale", "decay"};
  CmpsOptions options = options_;
  for (const auto& [key, value] : params) {
    if (key == "epochs") options.epochs = param_count(name(), key, value, 1);
    if (key == "batch") options.batch = param_count(name(), key, value, 1);
    if (key == "step") options.step = param_number(name(), key, value);
    if (key == "momentum") options.momentum = param_number(name(), key, value);
    if (key == "margin") options.margin = param_number(name(), key, value);
    if (key == "grayscale") options.grayscale = param_number(name(), key, value);
    if (key == "decay") options.decay = param_number(name(), key, value);
  }
  return std::make_shared<Cmps>(forward_to_threat(name(), own, threat_, params), options);
}

}  // namespace perturb
