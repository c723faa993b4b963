#include "runtime/model/frozen_parameters.h"

namespace perturb {

FrozenParameters::FrozenParameters(Model& model) {
  for (auto& p : model.parameters()) {
    if (!p.requires_grad()) continue;
    p.requires_grad_(false);
    thawed_.push_back(p);
  }
}

FrozenParameters::~FrozenParameters() {
  for (auto& p : thawed_) p.requires_grad_(true);
}

}  // namespace perturb
