#pragma once
// train() on image–text models and data, implemented by the multimodal areas; builtins/train.cpp
// dispatches here before its classifier path.
#include "interpreter/builtins/table.h"
#include "runtime/train/train.h"

namespace perturb::lang {

class OptimizerObject : public Object {
 public:
  explicit OptimizerObject(OptimizerSpec spec) : spec(std::move(spec)) {}
  Kind kind() const override { return Kind::kOptimizer; }
  std::string describe() const override;
  OptimizerSpec spec;
};

// The model is a two-tower: contrastive, TeCoA or MAT training on paired data
// (builtins/multimodal.cpp).
Value train_two_tower(CallArgs& args);
// A classifier trained on paired data: the captions are the teacher modality of a CMDA policy
// (builtins/cmda.cpp).
Value train_classifier_on_pairs(CallArgs& args);
// train()'s arguments for a classifier as TrainOptions (the method is left at "standard" when a
// schedule stands in its place).
TrainOptions classifier_train_options(CallArgs& args);

}  // namespace perturb::lang
