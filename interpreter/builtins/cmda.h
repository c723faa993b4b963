#pragma once
// train() of a classifier on paired data; builtins/train.cpp dispatches here before its
// classifier path.
#include "interpreter/builtins/table.h"

namespace perturb::lang {

// A classifier trained on paired data: the captions are the teacher modality of a CMDA policy.
Value train_classifier_on_pairs(CallArgs& args);

}  // namespace perturb::lang
