#pragma once
// Labelled datasets as script values; builtins/data.cpp makes them.

#include "interpreter/value.h"
#include "runtime/data/dataset.h"

namespace perturb::lang {

class DatasetObject : public Object {
 public:
  explicit DatasetObject(Dataset data) : data(std::move(data)) {}
  Kind kind() const override { return Kind::kDataset; }
  std::string describe() const override { return "dataset " + data.describe(); }
  std::optional<Value> field(const std::string& name) const override;
  Dataset data;
};

}  // namespace perturb::lang
