#pragma once
// train()'s classifier options, shared with training on paired data (builtins/cmda.cpp).
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

// train()'s arguments for a classifier as TrainOptions (the method is left at "standard" when a
// schedule stands in its place).
TrainOptions classifier_train_options(CallArgs& args);

}  // namespace perturb::lang
