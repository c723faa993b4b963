// Feature (embedding) models for retrieval and re-identification: a model whose output is an
// embedding instead of class scores. Any Model can serve as one (its output, flattened, is the
// embedding); make_feature_model cuts the classifier head off a network:
// - a zoo model: its layers up to the last Linear, i.e. the penultimate features (for
//   small_cnn the 128 ReLU features, for mlp the last 256, for lenet the 84);
// - a TorchScript module with a `features`, `embed` or `forward_features` method: that method
//   (re-ID models exported from torchreid already return their embedding from forward() in
//   eval mode: use them as they are).
#pragma once

#include "runtime/model/model.h"

namespace perturb {

// Throws Error naming the model when it has no classifier head to cut.
ModelPtr make_feature_model(ModelPtr model);

}  // namespace perturb
