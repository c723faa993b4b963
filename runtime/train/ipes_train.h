// Training IPES-GAN (thesis ch. 3, §3.2): the generative module (environment and identity
// encoders, decoders, discriminator) and the identity encoder, the re-ID model, jointly, on
// labelled source images and unlabelled target images (docs/ipes.md).
//
// The objective, eq. 3.19:
//   L = w1·L_cyc + w2·L_con + L_cam + L_adv + L_CE + w3·L_softCE + w4·L_KL,
// with w1 = 5 and w3 = 0.5 as in the thesis, and w2, w4 zero during a warm-up and then ramped
// linearly to 3. The thesis warms up for 20K iterations and ramps over 6K; we run a few hundred
// iterations, so the warm-up and the ramp are fractions of the run (by default 40% and 12%, the
// thesis's 20K : 6K ratio).
//
// The target's labels never reach the trainer: train_ipes takes the target's images alone.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "runtime/data/dataset.h"
#include "runtime/model/ipes_gan.h"

namespace perturb {

struct IpesTrainOptions {
  int64_t epochs = 5;      // passes over the source images
  int64_t batch = 16;      // source images per iteration, and as many target images (thesis: 16)
  double lr = 2e-4;        // Adam (β1 0.5, β2 0.999): encoders, decoders and D (thesis: 2e-4)
  double id_lr = 0.01;     // SGD (momentum 0.9) for E_id (thesis: 0.001 on a pretrained net)
  double w_cyc = 5;        // w1
  double w_soft = 0.5;     // w3
  double w_late = 3;       // what w2 and w4 ramp up to
  double warmup = 0.4;     // fraction of the iterations before w2, w4 start
  double ramp = 0.12;      // fraction of the iterations over which they reach w_late
  double epsilon = 0.1;    // label smoothing of eq. 3.16
  int64_t std_epochs = 2;  // training of E_std, the standard CNN of eq. 3.18, on the source
  uint64_t seed = 0;
  bool quiet = false;
};

// One iteration's losses (or their means over an epoch), each as in the equation it names.
struct IpesLosses {
  double cyc = 0;      // eq. 3.6
  double self = 0;     // image reconstruction, a deviation (ipes_train.cpp)
  double con = 0;      // eq. 3.5
  double cam = 0;      // eq. 3.11
  double adv = 0;      // eq. 3.12, the generator's side (least squares)
  double disc = 0;     // eq. 3.12, the discriminator's side
  double ce = 0;       // eq. 3.15
  double soft_ce = 0;  // eq. 3.17
  double kl = 0;       // eq. 3.18
  double total = 0;    // eq. 3.19 with the weights of that iteration
  // Name and value pairs in the order above (for describe lines and logs).
  std::vector<std::pair<std::string, double>> named() const;
};

// w2 (= w4) at iteration i (0-based) of n.
double ipes_late_weight(int64_t i, int64_t n, const IpesTrainOptions& options);

// The optimizers and one iteration; train_ipes loops over it, the unit tests call it directly.
class IpesTrainer {
 public:
  // std_model: E_std, a classifier of the source identities; frozen here.
  IpesTrainer(std::shared_ptr<IpesGan> gan, ModelPtr std_model, const IpesTrainOptions& options);
  ~IpesTrainer();
  // One update of every network on a source batch (xs [B, 1, H, W], ys [B]) and a target batch
  // of images xt [B, 1, H, W], with late-loss weights w2 and w4.
  IpesLosses step(const torch::Tensor& xs, const torch::Tensor& ys, const torch::Tensor& xt,
                  double w2, double w4);

 private:
  struct Optimizers;
  std::shared_ptr<IpesGan> gan_;
  ModelPtr std_;
  IpesTrainOptions options_;
  std::unique_ptr<Optimizers> opt_;
};

// E_std: a small_cnn trained with cross-entropy on the source (eq. 3.18's q).
ModelPtr train_standard_cnn(const Dataset& source, int64_t classes, int64_t epochs, uint64_t seed);

// A trained IPES-GAN. source: labelled images 1×H×W; target_images [N, 1, H, W], unlabelled.
// Errors in the user's terms for empty data, other shapes or labels outside the classes.
std::shared_ptr<IpesGan> train_ipes(const Dataset& source, const torch::Tensor& target_images,
                                    const IpesTrainOptions& options);

}  // namespace perturb
