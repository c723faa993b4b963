// MA²T's data preparation (multimodal-adversarial-training paper, §3.3, Algorithm 1 lines 1–5):
// one-to-many (1:N) and many-to-one (N:1) image–text pairs added to the 1:1 training pairs.
// For each original pair (I, T) — T the image's first caption, the paper's 1:1 setting — the
// text augmentation adds (I, T_aug) and the image augmentation adds (I_aug, T); the pair
// (I_aug, T_aug) is never formed (the two are drawn independently and need not agree).
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include <torch/torch.h>

#include "runtime/augment/policy.h"
#include "runtime/data/pairs.h"

namespace perturb {

// A text augmentation of one caption (EDA: eda_augment with the chosen α).
using TextAugment = std::function<std::string(const std::string& caption, at::Generator& gen)>;

struct AugmentPairsOptions {
  // "none", "human" (T_aug = the image's other captions, the paper's I2T(Human)) or "function"
  // (T_aug = text_augment(T), e.g. EDA, the paper's T2T(EDA)).
  std::string text = "none";
  TextAugment text_augment;  // used when text == "function"
  PolicyPtr image;           // N:1: I_aug = image->apply(I); null for none (e.g. RandAugment)
  int64_t copies = 4;        // augmented pairs per original and per augmentation (paper: 4)
  uint64_t seed = 0;
  std::string text_name;  // for the name of the result ("eda(alpha: 0.3)"); "" → text
};

// The augmented training set as 1:1 pairs: every entry is (image, [one caption]), so a trainer
// that pairs each image with its first caption trains on exactly the pairs of Algorithm 1.
// Layout: the N originals (I_i, T_i) first, then for each copy c = 1..copies a block of N text-
// augmented pairs (I_i, T_aug) (when text is on), then for each copy a block of N image-augmented
// pairs (I_aug, T_i) (when an image policy is given) — every block holds each image once, so a
// batch cut from one block never holds the same image twice. Size N · (1 + copies · kinds).
// Labels (when present) follow their image.
//
// "human" takes the image's other captions in a random order drawn from the seed, cycling
// through them when copies exceeds their number (the paper's 5-caption data with copies 4 uses
// each of the four others exactly once). Errors (perturb::Error): copies < 1, neither text nor
// image given, an unknown text mode, "human" on an image with a single caption, invalid data.
PairedDataset augment_pairs(const PairedDataset& data, const AugmentPairsOptions& options);

}  // namespace perturb
