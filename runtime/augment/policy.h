// Augmentation policies (LANGUAGE.md §2 "Augmentation policies"): random transformations of a
// batch of images used for training. Every op is batched on the tensor's device, draws its
// per-sample random parameters from the caller's at::Generator (same generator state → same
// output), keeps values in [0, 1], and takes a probability `p` of being applied to each sample.
//
// A script hands a policy to training, `train(net, data, augment: Flip() >> Mixup(alpha: 0.2))`,
// and the loop (runtime/train/train.cpp) runs it on every batch:
//
//   perturb::AugmentBatch batch{x, y};  // x [N,C,H,W] in [0,1], y [N] int64
//   batch.classes = num_classes;        // needed only when the policy mixes labels
//   batch = policy->apply(std::move(batch), gen);
//   torch::Tensor logits = model.forward(batch.x);
//   torch::Tensor loss =  // soft labels: −(soft_y · log_softmax(logits)).sum(1).mean()
//       batch.soft_y.defined() ? perturb::soft_label_cross_entropy(logits, batch.soft_y)
//                              : torch::nn::functional::cross_entropy(logits, batch.y);
//
// soft_y is defined only after a mixing op (Mixup, CutMix) ran on at least one sample; it then
// holds a row-stochastic [N, classes] float tensor for the whole batch (one-hot rows for samples
// that were not mixed) and batch.y still holds the dominant (first) label of each sample, so
// accuracy can be counted on y. Policies that do not mix labels leave y and soft_y untouched.
// For adversarial training, attack the augmented batch.x with batch.y (the usual practice).
//
// apply(x, gen) is the image-only form (`policy.apply(x)` in the language, `show`): mixing ops
// mix the images with the partner's image and drop the labels.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace perturb {

struct AugmentBatch {
  torch::Tensor x;       // [N, C, H, W] float in [0, 1]
  torch::Tensor y;       // [N] int64 labels; may be undefined (images only)
  torch::Tensor soft_y;  // [N, classes] float; defined only after Mixup/CutMix
  int64_t classes = 0;   // number of classes for soft labels; 0 → max(y) + 1 of this batch
  // [N, ...] per-sample teacher-modality data (CMDA: the captions' latent embeddings); undefined
  // for image-only data. Policies other than CMDA ignore it.
  torch::Tensor teacher;
};

class Policy {
 public:
  virtual ~Policy() = default;
  // "Flip"
  virtual std::string name() const = 0;
  // "Flip(p: 0.5)", "Flip(p: 0.5) >> Rotate(degrees: -15..15)" — parameters as written in the
  // language, up to 6 significant digits.
  virtual std::string describe() const = 0;
  // The labelled form. The default applies the image-only form to batch.x and keeps the labels.
  virtual AugmentBatch apply(AugmentBatch batch, at::Generator& gen) const;
  // The image-only form: x [N, C, H, W] (or [C, H, W], treated as a batch of one) in [0, 1].
  // Throws perturb::Error for inputs the op cannot take (wrong rank, Hue on one channel...).
  virtual torch::Tensor apply(const torch::Tensor& x, at::Generator& gen) const = 0;
  // True when apply(AugmentBatch) may define soft_y.
  virtual bool mixes_labels() const { return false; }
};

using PolicyPtr = std::shared_ptr<const Policy>;

// -(soft_y · log_softmax(logits)).sum(1).mean(): cross-entropy against soft labels.
torch::Tensor soft_cross_entropy(const torch::Tensor& logits, const torch::Tensor& soft_y);

// Composition (the language's `>>`, `|` and OneOf): a then b; one of the options picked per
// sample at random with the given weights (empty → equal).
PolicyPtr make_sequence(std::vector<PolicyPtr> steps);
PolicyPtr make_one_of(std::vector<PolicyPtr> options, std::vector<double> weights = {});
// The language's `a | b`: one of them per sample with equal chances; a | b | c picks each of the
// three with chance 1/3 (unions flatten, unlike OneOf([OneOf([a, b]), c])).
PolicyPtr make_union(PolicyPtr a, PolicyPtr b);

}  // namespace perturb
