// `den >> classifier`: model composition (runtime/model/denoiser.h ComposedModel).
#pragma once

#include <optional>

#include "interpreter/ast.h"
#include "interpreter/value.h"

namespace perturb::lang {

// The composed model for `a >> b` with two models; nullopt for anything else.
std::optional<Value> compose_models(BinaryOp op, const Value& left, const Value& right);

}  // namespace perturb::lang
