#pragma once
// train() on a two-tower model; builtins/train.cpp dispatches here before its classifier path.
#include "interpreter/builtins/table.h"

namespace perturb::lang {

// Contrastive, TeCoA or MAT training of a two-tower model on paired data.
Value train_two_tower(CallArgs& args);

}  // namespace perturb::lang
