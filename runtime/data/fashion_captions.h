// What fashion_captions measures on each image (its captions describe these).
#pragma once
#include <torch/torch.h>

namespace perturb {

// Properties of N×C×H×W images in [0, 1] (channels averaged): N×5 float32 with columns
// brightness (mean intensity of the ink pixels, those above 0.1), coverage (fraction of ink
// pixels), width and height of the ink's bounding box in pixels, and left-right symmetry
// (1 − Σ|x − mirror(x)| / Σ(x + mirror(x)), 1 for a mirror-symmetric image).
torch::Tensor fashion_caption_features(const torch::Tensor& images);

}  // namespace perturb
