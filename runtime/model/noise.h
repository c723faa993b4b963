// Stochastic neural networks (thesis ch. 5, §5.2.1): a zoo model run with Gaussian noise
// injected between its layers.
//
// - Isotropic noise (phi) after every inner ReLU: h + |phi_c| * s(h) * N(0, 1), one learned scale
//   per channel (Learn2Perturb, Jeddi et al. 2020), initialised to `iso`; s(h) is the standard
//   deviation of the sample's activations at that layer (all channels and positions; constant
//   for the gradient), as Parametric Noise Injection (He, Rakin and Fan 2019) scales its noise by
//   the std of the tensor it perturbs. Deviation: Learn2Perturb and the thesis inject after
//   batch-normalised layers, where the activations have unit scale and an absolute phi means the
//   same thing; the zoo's networks have no batch norm, and small_cnn's inner activations on
//   Fashion-MNIST have a per-sample std of about 0.15 and 0.07 at initialisation, so an absolute
//   phi of 0.1 drowned them (docs/schedules.md measures it). Relative to
//   s(h), phi means the same at every layer and for every architecture.
// - Anisotropic noise (phi_a) on the penultimate features (the last ReLU's output, the input of
//   the final linear layer): f + phi_a z, z ~ N(0, I_r), so the noise covariance is
//   Sigma = phi_a phi_a^T of rank r = `aniso` (WCA-Net, Eustratiadis et al. 2021).
//   Deviation: phi_a is kept at a fixed Frobenius norm, scale·sqrt(r) with scale = iso (0.1 when
//   iso is 0), and only its directions are learned (phi_a = V·norm/|V|, V the parameter). The
//   FCA loss (eq. 5.3) is a log, so its gradient in phi_a's scale is 2/|phi_a| and nothing in
//   eq. 5.7 bounds it: at learning rates above the thesis's 1e-5 the scale ran away within an
//   epoch and the network stopped learning (docs/schedules.md).
//
// The noise is drawn in every forward pass while it is on, in training and evaluation alike: the
// network stays random at test time, so attacks on it need expectation over transformation
// (EOT). All draws come from the model's own generator (reseed() fixes them).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/model/zoo_model.h"

namespace perturb {

struct NoiseOptions {
  double iso = 0.1;              // initial isotropic scale; 0 → no isotropic noise
  int64_t aniso = 0;             // rank of the anisotropic covariance; 0 → no anisotropic noise
  bool learn = true;             // phi and phi_a are learned (false: fixed at their initial values)
  std::string describe() const;  // "iso: 0.1, aniso: 4"
};

class SnnModel : public Model {
 public:
  // Wraps a zoo model (its layers are shared, not copied). The noise parameters are initialised
  // from `seed`. Throws Error when the model has no ReLU to inject noise after.
  SnnModel(std::shared_ptr<ZooModel> backbone, const NoiseOptions& options, uint64_t seed);

  torch::Tensor forward(const torch::Tensor& x) override;
  std::vector<torch::Tensor> parameters() override;  // theta, phi and phi_a
  void set_training(bool training) override;
  bool training() const override;
  void to(torch::Device device) override;
  torch::Device device() const override;
  // "snn(small_cnn(classes: 10, channels: 1), iso: 0.1, aniso: 4)"
  std::string describe() const override;
  // The backbone's archive plus the noise parameters (keys "snn_*").
  void save(const std::string& path) const override;

  // The three parameter groups of Algorithm 2.
  std::vector<torch::Tensor> model_parameters();  // theta
  std::vector<torch::Tensor> iso_parameters();    // phi (one [C] tensor per inner ReLU)
  std::vector<torch::Tensor> aniso_parameters();  // phi_a ([d, r]), empty when aniso is 0

  // Turns the noise on or off (it is on after construction). Tasks without noise (Clean) turn it
  // off for their forward passes.
  void set_noise(bool on) { noise_on_ = on; }
  bool noise() const { return noise_on_; }
  void reseed(uint64_t seed);

  // The penultimate features of the last forward pass, before the anisotropic noise ([N, d]).
  const torch::Tensor& last_features() const { return last_features_; }
  // Sigma = phi_a phi_a^T's factor phi_a ([d, r], differentiable in the parameter V); undefined
  // when aniso is 0.
  torch::Tensor aniso_factor() const;
  const NoiseOptions& noise_options() const { return options_; }
  const std::shared_ptr<ZooModel>& backbone() const { return backbone_; }

  // Loads the noise parameters written by save() into this model (same architecture).
  void load_noise(torch::serialize::InputArchive& archive, const std::string& path);

 private:
  std::shared_ptr<ZooModel> backbone_;
  NoiseOptions options_;
  std::vector<size_t> iso_at_;  // layer indices whose output gets isotropic noise
  size_t aniso_at_ = 0;         // the last ReLU's index (penultimate features)
  std::vector<torch::Tensor> phi_;
  torch::Tensor phi_a_;  // V: phi_a's direction (its norm is fixed, see above)
  double aniso_norm_ = 0;
  bool noise_on_ = true;
  uint64_t seed_ = 0;
  at::Generator gen_;
  torch::Tensor last_features_;
};

// s(h) of the isotropic noise: each sample's activation standard deviation, detached, shaped to
// broadcast over h ([N, 1, ...]).
torch::Tensor activation_scale(const torch::Tensor& h);

// A stochastic network from a zoo model (Error for other models, naming what is needed).
std::shared_ptr<SnnModel> make_snn(const ModelPtr& model, const NoiseOptions& options,
                                   uint64_t seed);

// Feature-covariance alignment (thesis eq. 5.3) for classification:
//   L_FCA = log( 1/B sum_i (f_p^i - f_n^i)^T Sigma (f_p^i - f_n^i) ),  Sigma = phi_a phi_a^T,
// with batch-hard mining (Hermans et al. 2017): for each anchor, its farthest same-class sample
// f_p and its nearest other-class sample f_n. Anchors with no positive or no negative are left
// out; a batch with none gives an undefined tensor.
torch::Tensor fca_loss(const torch::Tensor& features, const torch::Tensor& y,
                       const torch::Tensor& phi_a);

// The isotropic regulariser of eq. 5.2, r(phi) = -sum sqrt(|phi|) / tau with tau the harmonic
// number H(epoch) = 1 + 1/2 + ... + 1/epoch (Jeddi et al. 2020): it keeps the noise from
// collapsing to zero, less and less as training goes on.
torch::Tensor iso_regulariser(const std::vector<torch::Tensor>& phi, int64_t epoch);

}  // namespace perturb
