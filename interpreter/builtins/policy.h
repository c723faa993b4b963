#pragma once
// Augmentation policies as script values (LANGUAGE.md §2 "Augmentation policies").
//
// A policy value holds a runtime perturb::Policy. A threat serves wherever a policy is expected
// (a `policy` declaration, `>>`/`|` with a policy, OneOf's list, `augment:`): it becomes
// `sample(threat)`, the threat's random member for each sample. That is how the names that are
// both threat and policy (Scale, Blur, Brightness, Contrast, Grayscale, registered with the
// threats in builtins/threat.cpp) act as augmentations, and how `sample(fog)` works.

#include <optional>

#include "interpreter/ast.h"
#include "interpreter/builtins/table.h"
#include "interpreter/value.h"
#include "runtime/augment/policy.h"

namespace perturb::lang {

class PolicyObject : public Object {
 public:
  explicit PolicyObject(PolicyPtr policy) : policy(std::move(policy)) {}
  Kind kind() const override { return Kind::kPolicy; }
  std::string describe() const override { return policy->describe(); }
  PolicyPtr policy;
};

Value policy_value(PolicyPtr policy);

// The policy a value stands for: a policy itself, or sample(threat) for a threat; null for
// anything else.
PolicyPtr as_policy(const Value& value);

// For builtins that take a policy (train's augment:): the named argument as a policy, or a
// kind error at the argument.
PolicyPtr policy_arg(const CallArgs& args, const std::string& name);

}  // namespace perturb::lang
