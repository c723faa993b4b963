// IPES-GAN, the individual-preserving environment-switching cyclic generation network of the
// thesis's chapter 3 (Fig. 3.2–3.4), sized for 28×28 grey images on a CPU (docs/ipes.md).
//
//   - environment encoders E_env^S, E_env^T: a pose encoder E_p (the image concatenated with the
//     OTHER domain's pose map → a 7×7 feature map f_pose) and a style encoder E_s (a camera-style
//     vector f_style and the camera logits of the camera loss, eq. 3.7–3.10);
//     f_env = concat(f_pose, f_style);
//   - one shared identity encoder E_id, the re-ID model: a zoo small_cnn whose penultimate
//     features are f_id and whose logits classify the source identities (eq. 3.15–3.18);
//   - decoders G_S, G_T: f_env and f_id to an image; f_style enters by adaptive instance
//     normalisation, as in the thesis (§3.3.2);
//   - one discriminator D (patch scores, least squares as the thesis's LSGAN, §3.3.2).
//
// The environment switch (§3.2.1): I^{S→G} = G_S(concat(f^T_env, f^S_id)) keeps the source item
// and takes the target camera; I^{T→G} = G_T(concat(f^S_env, f^T_id)) the other way.
//
// Deviations: no pose estimator exists for clothes, so the "pose" (18 keypoint heat maps in the
// thesis) is a stand-in that carries the item's placement and silhouette: where the image
// differs from its border's median (the backdrop), blurred at 7×7 and at 14×14 (pose_map). The
// pose encoder sees the image with the item painted over in the backdrop's colour
// (environment_only): given the whole image, a 7×7×32 map is enough to copy it, and the
// decoders learnt to ignore f_id (switched images showed the target's item, docs/ipes.md). The
// encoders are a few convolutions instead of ResNet/ASPP blocks and IBN-ResNet-50.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "runtime/model/model.h"

namespace perturb {

enum class IpesDomain { kSource = 0, kTarget = 1 };

struct IpesNetOptions {
  int64_t classes = 10;     // source identities
  int64_t size = 28;        // images are 1×size×size; size divisible by 4
  int64_t pose_width = 32;  // channels of f_pose
  int64_t style_dim = 8;    // length of f_style
  int64_t cameras = 2;      // camera labels: the source's (0) and the target's (1)
};

// The pose stand-in: [N, 2, H, W] from images [N, 1, H, W].
torch::Tensor pose_map(const torch::Tensor& x);
// The image with its item painted over in its backdrop's colour: what the pose encoder sees.
torch::Tensor environment_only(const torch::Tensor& x);

struct EnvFeatures {
  torch::Tensor pose;    // [N, pose_width, size/4, size/4]
  torch::Tensor style;   // [N, style_dim]
  torch::Tensor camera;  // [N, cameras] logits
  // The pose map the encoder was given [N, 2, size, size]: the decoders also read it at full and
  // half resolution (skip connections), so the silhouette survives the 7×7 bottleneck.
  torch::Tensor pose_map;
};

struct IdFeatures {
  torch::Tensor features;  // f_id [N, 128]
  torch::Tensor logits;    // [N, classes]
};

class IpesGan {
 public:
  IpesGan(const IpesNetOptions& options, uint64_t seed);
  ~IpesGan();

  // E_env^d(image) with the other domain's pose map.
  EnvFeatures environment(IpesDomain d, const torch::Tensor& image,
                          const torch::Tensor& other_pose);
  // E_id(image): f_id and the identity logits in one pass.
  IdFeatures identity(const torch::Tensor& image);
  // G_d(concat(env, id)).
  torch::Tensor decode(IpesDomain d, const EnvFeatures& env, const torch::Tensor& id);
  // D's patch scores [N, 1, size/4, size/4].
  torch::Tensor discriminate(const torch::Tensor& image);

  // The environment switch at inference: images x of the `from` domain with the environments
  // of `env_images` (as many, of the other domain). No gradient, eval mode.
  torch::Tensor switch_environment(const torch::Tensor& x, const torch::Tensor& env_images,
                                   IpesDomain to);

  std::vector<torch::Tensor> generator_parameters();  // pose and style encoders, decoders
  std::vector<torch::Tensor> discriminator_parameters();
  ModelPtr identity_model() const;  // E_id as a zoo model (features() and retrieval() take it)

  // The environment switch as gan.generate(x, to:) and Generated(...) run it: each image of x
  // ([N, 1, H, W] or one [1, H, W]) gets the environment of an image of the `to` domain's pool
  // drawn from gen. Error when that pool is empty.
  torch::Tensor generate(const torch::Tensor& x, IpesDomain to, at::Generator& gen);
  const IpesNetOptions& options() const { return options_; }
  void set_training(bool training);

  // The images (never the labels) the environments are drawn from: the training data of each
  // domain, set by train_ipes.
  torch::Tensor source_pool, target_pool;
  // What training reported, for describe lines: the mean of each loss over the last epoch, by
  // name, in the order of eq. 3.19, and how long it trained.
  std::vector<std::pair<std::string, double>> last_losses;
  int64_t epochs_trained = 0, iterations_trained = 0;

 private:
  struct Nets;
  IpesNetOptions options_;
  std::unique_ptr<Nets> nets_;
  ModelPtr id_;
};

}  // namespace perturb
