#pragma once
// IPES-GAN (thesis ch. 3) as a script value; builtins/ipes.cpp makes it, and the two-camera
// Fashion-MNIST split it adapts between (docs/ipes.md).

#include "interpreter/value.h"
#include "runtime/model/ipes_gan.h"

namespace perturb::lang {

class IpesObject : public Object {
 public:
  explicit IpesObject(std::shared_ptr<IpesGan> gan) : gan(std::move(gan)) {}
  Kind kind() const override { return Kind::kGan; }
  // "gan ipes_gan(classes: 10, 3 epochs, 186 iterations; last epoch: cyc 0.21, ...)"
  std::string describe() const override;
  std::optional<Value> field(const std::string& name) const override;
  std::shared_ptr<IpesGan> gan;
};

}  // namespace perturb::lang
