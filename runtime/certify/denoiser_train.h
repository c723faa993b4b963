// Training a denoiser for denoised smoothing in front of a fixed classifier (Salman et al. 2020;
// thesis ch. 6). Every batch: x* = x + N(0, σ²I), x̂ = D(x*), the classifier f fixed (eval mode,
// never updated).
//   "mse":       ‖x̂ − x‖² per pixel, averaged (no classifier needed; Salman et al.'s MSE).
//   "stability": CE(f(x̂), argmax f(x)) (Salman et al. 2020, the stability objective).
//   "rdunet":    the thesis's eq. 6.13, L_CE + λ_CS·L_CS + λ_MMD·L_MMD with
//                L_CE  = −Σ_l softmax(f(x))_l · log softmax(f(x̂))_l              (eq. 6.9),
//                L_CS  = 1 − cos(f(x), f(x̂)) on the logits (eq. 6.10, as a loss to minimise),
//                L_MMD = MMD² between the batch's softmax(f(x)) and softmax(f(x̂)), Gaussian
//                        kernels at bandwidths {0.1, 1, 10} summed (eqs. 6.11–6.12; the features
//                        are f's outputs because a black box exposes nothing else).
// White box (zo = ""): gradients flow through f. Black box (zo = "rge" / "cge"): f is only
// queried; the gradient of the loss with respect to f's input z is estimated (zeroth_order.h,
// eqs. 6.15–6.16, 6.19) and chained into D by autograd: ∇_θ ≈ (dz/dθ)ᵀ ∇̂_z. With an autoencoder
// (ZO-AE, thesis eqs. 6.17–6.18) the white box is E∘D (the encoder trains with the denoiser),
// the black box is f∘Dec, and z is the low-dimensional code.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/certify/zeroth_order.h"
#include "runtime/data/dataset.h"
#include "runtime/model/model.h"
#include "runtime/train/train.h"

namespace perturb {

struct DenoiserTrainOptions {
  double sigma = 0.25;
  std::string loss = "mse";  // "mse", "stability", "rdunet"
  double lambda_cs = 1;
  double lambda_mmd = 1;
  int64_t epochs = 1;
  int64_t batch = 64;
  OptimizerSpec optimizer{"adam", 0.001};
  uint64_t seed = 0;
  std::string zo;  // "" (white box), "rge" or "cge"
  int64_t q = 20;  // RGE query directions
  double xi = 0.005;
  ModelPtr autoencoder;  // ZO-AE: a zoo.autoencoder; requires zo
  bool quiet = true;
};

struct DenoiserTrainResult {
  std::vector<double> losses;  // mean training loss per epoch
  int64_t queries = 0;         // samples sent through the classifier (black box or not)
};

// Trains `denoiser` in place. Errors: unknown loss or estimator, a classifier missing for a
// loss that needs one, an autoencoder without zo, sigma < 0.
DenoiserTrainResult train_denoiser(Model& denoiser, Model* classifier, const Dataset& data,
                                   const DenoiserTrainOptions& options);

// The loss of eq. 6.13 / stability on classifier outputs, split into its per-sample part [B]
// and its batch-level part (MMD); `clean` are f(x), `denoised` f(x̂).
BlackBoxLoss classifier_loss(const std::string& loss, const torch::Tensor& clean,
                             const torch::Tensor& denoised, double lambda_cs, double lambda_mmd);

// MMD² with Gaussian kernels (bandwidths 0.1, 1, 10) between two batches [B, K].
torch::Tensor mmd(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace perturb
