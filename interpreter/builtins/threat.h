#pragma once
// Threat composition on script values (LANGUAGE.md §2): `a >> b`, `a | b` and `a & b` of two
// threats make a composed threat (runtime/threat/compose.cpp); builtins/threat.cpp defines it.

#include <optional>

#include "interpreter/ast.h"
#include "interpreter/source.h"
#include "interpreter/value.h"

namespace perturb::lang {

// The composed threat when both sides are threats and op is >>, | or &; nullopt otherwise.
// A composition that makes no sense (a union inside >>, & of a transformation) is a runtime
// error at `at`, in the user's terms.
std::optional<Value> compose_threats(BinaryOp op, const Value& left, const Value& right,
                                     const Span& at);

}  // namespace perturb::lang
