// Two-modality person re-identification data: visible (RGB) and infrared images of the same
// identities, as in the visible–infrared benchmarks RegDB (Nguyen et al. 2017) and SYSU-MM01
// (Wu et al. 2017), and a synthetic stand-in built from Fashion-MNIST.
//
// Both modalities are 3-channel images in [0, 1] of the same size, so that one model and one
// universal perturbation apply to either (the benchmarks' infrared files are grey replicated to
// RGB, and we keep them that way). Labels are identities: the same identity folder name has the
// same label in both modalities.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/data/dataset.h"

namespace perturb {

struct PairedModalities {
  Dataset visible;
  Dataset infrared;
  std::string name;  // "regdb(dir)", "sysu(dir)", "fashion_modalities(test)"

  // "fashion_modalities(test): visible 100, infrared 100 images 3×28×28, 10 identities"
  std::string describe() const;
  int64_t identities() const { return static_cast<int64_t>(visible.classes.size()); }
};

struct PairedModalitiesOptions {
  int64_t size = 0;    // square side (image_folder's resize + centre crop); 0: the files' own
  int64_t limit = -1;  // per modality: the first n images in the layout's order; < 0: all
};

// Reads root in one of the benchmark layouts, through image_folder (runtime/data/image_folder.h):
// - RegDB-style: root/{Visible|visible}/<identity>/* and
//   root/{Thermal|thermal|Infrared|infrared}/<identity>/*;
// - SYSU-MM01-style: root/cam1..cam6/<identity>/*, cam3 and cam6 infrared, the others visible.
// Identities present in one modality only are left out with a warning that names how many and
// the first of them (a cross-modality query needs its identity in the other modality's gallery);
// none in common is an Error. Errors name the folder: missing root, no modality folders, and
// image_folder's own (an identity without images, an unreadable image).
// The images are decoded into memory (the benchmarks' test sets are a few thousand images).
PairedModalities paired_modalities(const std::string& root,
                                   const PairedModalitiesOptions& options = {});

// The Fashion-MNIST stand-in (a synthetic two-camera rendering, not a re-ID benchmark): the
// identity is the item's class; each class's items are split in two halves by a permutation
// drawn from `seed`, one half seen by the visible camera, the other by the infrared one (the two
// cameras of the benchmarks see different shots of each person).
// - visible: the garment in a random saturated colour on a random dull background colour, both
//   drawn per item from `seed`;
// - infrared: the garment warm (bright, nonlinear response g^0.6), a cool background with a
//   vertical gradient, a 5×5 Gaussian blur (σ = 1, the thermal optics), sensor noise
//   N(0, 0.03²), grey replicated to 3 channels.
// limit: the first n items of the split (< 0: all); about half of them per modality.
PairedModalities fashion_modalities(const std::string& split, int64_t limit, uint64_t seed,
                                    const std::string& dir = kFashionMnistDir);

// Visible images [N, 3, H, W] as 3-channel grayscale, 0.299 R + 0.587 G + 0.114 B replicated
// (ITU-R BT.601; the CMPS paper's eq. 2–3).
torch::Tensor to_grayscale3(const torch::Tensor& rgb);

}  // namespace perturb
