// `den >> classifier`: model composition (runtime/model/denoiser.h ComposedModel).
#pragma once

#include <optional>

#include "interpreter/ast.h"
#include "interpreter/value.h"

namespace perturb::lang {

// The composed model for `a >> b` with two models; nullopt for anything else. The model kind's
// descriptor (builtins/model.cpp) composes with it.
std::optional<Value> compose_models(BinaryOp op, const Value& left, const Value& right,
                                    const Span& /*at*/);

}  // namespace perturb::lang
