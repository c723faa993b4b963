// Image–text retrieval (ITR) metrics of the multimodal-adversarial-training paper (§4, Table 1):
// text retrieval (TR, image → text) and image retrieval (IR, text → image) Recall@K.
//
// The gallery of TR is every caption of the data (all captions of every image, not one per
// image); an image query is correct at K when ANY of its own captions is among the K captions
// most similar to it (the 1:N relation: Flickr30k and COCO give 5 captions per image). For IR each
// caption queries the images and is correct at K when its own image is among the K most similar.
// Similarity is the cosine of the L2-normalised embeddings; ties keep gallery order (stable).
//
// With an attack, each batch of images (with all their captions) is replaced by the attack's
// output before it is embedded, so both the queries and the gallery are the attacked ones (the
// protocol of Co-Attack and SGA evaluations).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "runtime/attack/multimodal/attack.h"
#include "runtime/data/pairs.h"
#include "runtime/model/two_tower.h"

namespace perturb {

struct ItrResult {
  std::vector<int64_t> ks;
  std::vector<double> text_recall;   // TR Recall@K for each of ks, a fraction in [0, 1]
  std::vector<double> image_recall;  // IR Recall@K for each of ks
  int64_t images = 0;                // image queries (TR) = images in the gallery (IR)
  int64_t captions = 0;              // caption queries (IR) = captions in the gallery (TR)
  std::string attack;                // the attack's describe(); "" when clean
  double seconds = 0;                // wall time, attack included
  AttackStats stats;                 // the attack's cost (zero when clean)

  // "TR R@1 41.2% R@5 80.1% R@10 91.0% | IR R@1 30.5% R@5 71.2% R@10 85.3% (1000 images, 5000
  // captions)"
  std::string describe() const;
  // TR/IR Recall@k for one of ks; Error naming the available ks otherwise.
  double tr(int64_t k) const;
  double ir(int64_t k) const;
};

// Recall from a similarity matrix [Ni, Nt] (larger is closer) and, for each caption (column),
// the index of its image (caption_owners, size Nt, values in [0, Ni)). Error on a bad K
// (< 1), sizes that disagree, an owner out of range, or an image with no caption.
ItrResult recall_from_similarity(const torch::Tensor& similarity,
                                 const std::vector<int64_t>& caption_owners,
                                 const std::vector<int64_t>& ks);

// Embeds every image and caption of `data` (eval mode, no gradient, `batch` images at a time with
// their captions) and computes TR/IR Recall@K. With `attack`, each batch is first replaced by
// attack->run(model, batch, gen). The model's mode is restored after.
ItrResult evaluate_itr(TwoTower& model, const PairedDataset& data, const MultimodalAttack* attack,
                       at::Generator& gen, const std::vector<int64_t>& ks, int64_t batch);

// The Recall@K a random ranking scores in expectation on `data` (for the "well above chance"
// statement): TR: 1 − C(Nt − c_i, K)/C(Nt, K) averaged over images with c_i captions each;
// IR: K/Ni. Returned as an ItrResult with the same layout.
ItrResult chance_itr(const PairedDataset& data, const std::vector<int64_t>& ks);

}  // namespace perturb
