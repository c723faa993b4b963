#pragma once
// Visible–infrared re-identification (docs/crossmodal.md): two-modality data, the two-branch
// network, its training, cross-modality retrieval and the CMPS attack; builtins/crossmodal.cpp.

#include <optional>

#include "interpreter/builtins/table.h"

namespace perturb::lang {

// a.fit(net, data) and a.perturbation() for a CMPS attack (attack.cpp's attack.fit and
// attack.perturbation ask here first); nullopt when the receiver is not CMPS.
std::optional<Value> cmps_fit(CallArgs& args);
std::optional<Value> cmps_perturbation(CallArgs& args);

}  // namespace perturb::lang
