#pragma once
// Image classifiers as script values; builtins/model.cpp makes them.

#include "interpreter/value.h"
#include "runtime/model/model.h"

namespace perturb::lang {

class ModelObject : public Object {
 public:
  explicit ModelObject(ModelPtr model) : model(std::move(model)) {}
  Kind kind() const override { return Kind::kModel; }
  std::string describe() const override { return "model " + model->describe(); }
  ModelPtr model;
};

}  // namespace perturb::lang
