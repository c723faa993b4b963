// Contrastive training of two-tower models (multimodal-adversarial-training paper, §3):
//   "contrastive": L_CLIP = (L_CLIP_I + L_CLIP_T)/2, InfoNCE over images and over texts with the
//                  learnable temperature (eq. 1). With an adversary the loss is taken on the
//                  adversary's output pairs: MAT_Img when it perturbs only images, MAT (eq. 6)
//                  when it perturbs both.
//   "tecoa":       L_CLIP_I(I', T) with I' from an image adversary maximising L_CLIP_I (eq. 3,
//                  Mao et al. 2022); only the image tower's parameters are optimised.
//   "mat":         L_CLIP(I', T') (eq. 6); the adversary must perturb the captions (Co-Attack:
//                  text first, then the image against it, eqs. 4–5).
// Training pairs are 1:1: each image with its FIRST caption (the paper's practice); augmented
// data (MA²T) comes in as more pairs. Batches are reshuffled each epoch; every random draw
// derives from options.seed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "runtime/attack/multimodal/attack.h"
#include "runtime/data/pairs.h"
#include "runtime/model/two_tower.h"
#include "runtime/train/train.h"

namespace perturb {

struct ClipLoss {
  torch::Tensor image;  // L_CLIP_I: cross-entropy of each image against the batch's texts
  torch::Tensor text;   // L_CLIP_T: of each text against the batch's images
  torch::Tensor both;   // (image + text)/2
};

// InfoNCE both ways (eq. 1) for N paired embeddings [N, d] (pair i is (image i, text i)), with
// logits exp(logit_scale)·cos. Eq. 1 sums over i; we average (CLIP's implementation), which only
// rescales the learning rate. Error on sizes that disagree or an empty batch.
ClipLoss clip_loss(const torch::Tensor& image_embeddings, const torch::Tensor& text_embeddings,
                   const torch::Tensor& logit_scale);

struct ContrastiveEpoch {
  int64_t epoch = 0;
  double lr = 0;           // of the epoch's last batch
  double loss = 0;         // mean training loss (per pair)
  double accuracy = 0;     // in-batch image→text top-1 on the pairs the loss saw
  double temperature = 0;  // τ = exp(−logit_scale) after the epoch
  double seconds = 0;
};

struct ContrastiveOptions {
  std::string method = "contrastive";  // "contrastive", "tecoa", "mat"
  MultimodalAttackPtr adversary;       // required for tecoa and mat
  int64_t epochs = 1;
  int64_t batch = 128;
  OptimizerSpec optimizer{"adam", 1e-3};
  LrSchedule lr_schedule;
  uint64_t seed = 0;
  bool quiet = false;  // no progress bar, no per-epoch log line
  std::function<void(const ContrastiveEpoch&)> on_epoch;
};

// Trains `model` in place on `data` (1:1 pairs of first captions) and returns per-epoch stats.
// Error for an unknown method, a missing or unsuitable adversary, epochs/batch < 1.
std::vector<ContrastiveEpoch> train_contrastive(TwoTower& model, const PairedDataset& data,
                                                const ContrastiveOptions& options);

}  // namespace perturb
