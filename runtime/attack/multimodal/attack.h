// Attacks on image–text models (multimodal-adversarial-training paper, eq. 2): a batch of
// captioned images in, the same batch with perturbed images and/or perturbed captions out.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include <torch/torch.h>

#include "runtime/attack/attack.h"
#include "runtime/data/pairs.h"
#include "runtime/model/two_tower.h"
#include "runtime/threat/text.h"
#include "runtime/threat/threat.h"

namespace perturb {

class MultimodalAttack {
 public:
  virtual ~MultimodalAttack() = default;
  virtual std::string name() const = 0;      // "CoAttack"
  virtual std::string describe() const = 0;  // with its threat and parameters
  // The attacked batch: images inside threat().image of the originals, every caption within
  // threat().text of its original; the labels and name are kept. The model is put in eval mode
  // for the attack and its mode restored after.
  virtual PairedDataset run(TwoTower& model, const PairedDataset& batch, at::Generator& gen,
                            AttackStats* stats = nullptr) const = 0;
  virtual PairThreat threat() const = 0;
};
using MultimodalAttackPtr = std::shared_ptr<const MultimodalAttack>;

// The image-only attack on the similarity (PGD, APGD, FGSM... given to an image–text builtin):
// the classifier attack runs on the logits exp(logit_scale)·S(I', T) of each image against the
// batch's captions, the image's own captions (their mean embedding) as the label — TeCoA's
// I' = argmax L_CLIP_I(I', T) (eq. 3). Captions are left as they are.
MultimodalAttackPtr make_image_attack(AttackPtr attack);

}  // namespace perturb
