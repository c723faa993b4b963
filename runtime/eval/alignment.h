// Alignment and diversity of augmented image–text pairs (multimodal-adversarial-training paper,
// §4.4, Figures 1–2), measured in a two-tower model's embedding space:
//   alignment (Fig. 1): sim(Φ(I), Ψ(aug_T(T))) for text augmentation,
//                       sim(Φ(aug_I(I)), Ψ(T)) for image augmentation, and sim(Φ(I), Ψ(T)) of
//                       the original 1:1 pairs ("Orig.");
//   diversity (Fig. 2): ‖Ψ(T) − Ψ(aug_T(T))‖₂ or ‖Φ(I) − Φ(aug_I(I))‖₂ between the L2-normalised
//                       embeddings before and after augmentation (so it lies in [0, 2]).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime/augment/augment_pairs.h"
#include "runtime/model/two_tower.h"

namespace perturb {

struct AugmentMeasures {
  std::vector<double> alignment;  // one per augmented pair
  std::vector<double> diversity;  // one per augmented pair
  double mean_alignment = 0;
  double mean_diversity = 0;
  int64_t pairs = 0;
};

struct AlignmentReport {
  std::vector<double> original;  // sim(Φ(I), Ψ(T)) of the 1:1 pairs (T = first caption)
  double mean_original = 0;
  std::optional<AugmentMeasures> text;   // when a text augmentation was given
  std::optional<AugmentMeasures> image;  // when an image policy was given
  std::string text_label;                // legend entries: "human", "eda(alpha: 0.3)"
  std::string image_label;               // "RandAugment(n: 2, m: 5)"
};

struct AlignmentOptions {
  AugmentPairsOptions augment;  // the augmentations (text, image, copies, seed) to analyse
  int64_t batch = 256;          // embedding batch
};

// Builds the pairs with augment_pairs(data, options.augment) and measures them with `model` in
// eval mode (its mode is restored). Errors as augment_pairs, and Error for batch < 1.
AlignmentReport analyse_augmentation(TwoTower& model, const PairedDataset& data,
                                     const AlignmentOptions& options);

// Figures 1–2 side by side in one PNG: the histogram (fraction of pairs per bin, `bins` bins) of
// the alignment scores (original and each augmentation) and of the diversity distances. Written
// atomically; IoError naming the path when it cannot be written.
void write_alignment_plot(const std::string& path, const AlignmentReport& report, int bins = 30);

}  // namespace perturb
