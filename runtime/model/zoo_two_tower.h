// The built-in two-tower model (CLIP's layout, Radford et al. 2021): an image model from the zoo
// and the built-in text encoder, each followed by a linear projection into a shared `dim`-space,
// and the learnable logit scale log(1/τ), initialised to log(1/temperature) (CLIP: τ = 0.07) and
// clamped to at most log 100 where it is used (CLIP clamps it at 100 too).
#pragma once

#include <cstdint>
#include <string>

#include "runtime/model/model.h"
#include "runtime/model/text_encoder.h"
#include "runtime/model/two_tower.h"

namespace perturb {

struct TwoTowerOptions {
  int64_t dim = 64;
  double temperature = 0.07;
  // The image input the image model takes (to find its output size by one forward pass).
  int64_t channels = 1;
  int64_t height = 28;
  int64_t width = 28;
};

// The default image tower: small_cnn with a 128-wide output (the projection follows it).
ModelPtr make_default_image_tower(int64_t channels, int64_t height, int64_t width, uint64_t seed);

// The image model's output (flattened) and the text encoder's output are projected to
// options.dim; the projections are initialised from `seed`. Error on dim < 1, temperature ≤ 0,
// or an image model that rejects options' input size.
TwoTowerPtr make_two_tower(ModelPtr image, TextEncoderPtr text, const TwoTowerOptions& options,
                           uint64_t seed);

// Loads a two-tower written by the built-in two-tower's save(); nullptr when `path` is not one
// (a classifier, a TorchScript file...). A damaged file → Error naming it.
TwoTowerPtr load_saved_two_tower(const std::string& path, torch::Device device);

// A two-tower saved by Perturb: the built-in two-tower's file, or a TorchScript two-tower saved
// with its tokenizer (torchscript_two_tower.h); nullptr when `path` is neither (load() then tries
// the classifier formats).
TwoTowerPtr load_two_tower_file(const std::string& path, torch::Device device);

// log(100): the largest logit scale (temperature 0.01).
constexpr double kMaxLogitScale = 4.605170185988092;

}  // namespace perturb
