// The four EDA operations one at a time (eda_augment draws one of them), for tests and callers
// that want a fixed operation.
#pragma once
#include <string>

#include <torch/torch.h>

namespace perturb {

enum class EdaOp { kSynonymReplacement, kRandomInsertion, kRandomSwap, kRandomDeletion };

// `op` applied with strength alpha, its draws from a stream seeded by `gen`.
std::string eda_apply(const std::string& text, EdaOp op, double alpha, at::Generator& gen);

}  // namespace perturb
