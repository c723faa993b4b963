// Two "cameras" over Fashion-MNIST for unsupervised domain adaptation in re-identification
// (docs/ipes.md): the class plays the identity, as a person does in Market-1501 or Duke.
//
//   - source camera: the items as they are (dark background, the dataset's intensities);
//   - target camera: other items (the odd-numbered rows where the source takes the even ones),
//     seen from another viewpoint (scaled down and shifted), with another intensity profile
//     (gamma and contrast) and on a bright textured background drawn per image from the seed.
//
// The target's labels are kept for evaluation only (retrieval on the target test split); the
// IPES-GAN trainer takes the target's images alone (runtime/train/ipes_train.h).
#pragma once

#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "runtime/data/dataset.h"

namespace perturb {

struct DomainPair {
  Dataset source;
  Dataset target;
};

// split "train" or "test"; limit: images per domain (< 0: all the split gives, 30000 / 5000);
// seed: the target camera's viewpoints and backgrounds. Missing files → IoError (fashion_mnist).
DomainPair fashion_domains(const std::string& split, int64_t limit, uint64_t seed,
                           const std::string& dir = kFashionMnistDir);

// The target camera applied to items x [N, 1, H, W] in [0, 1] (dark background), per image
// parameters drawn from gen.
torch::Tensor target_camera(const torch::Tensor& x, at::Generator& gen);

}  // namespace perturb
