#pragma once
// Threats as script values, and their composition (LANGUAGE.md §2): `a >> b`, `a | b` and `a & b`
// of two threats make a composed threat (runtime/threat/compose.cpp); builtins/threat.cpp defines
// both.

#include <optional>

#include "interpreter/ast.h"
#include "interpreter/source.h"
#include "interpreter/value.h"
#include "runtime/threat/threat.h"

namespace perturb::lang {

class ThreatObject : public Object {
 public:
  explicit ThreatObject(ThreatPtr threat) : threat(std::move(threat)) {}
  Kind kind() const override { return Kind::kThreat; }
  std::string describe() const override { return threat->describe(); }
  std::optional<Value> field(const std::string& name) const override;
  std::vector<std::string> field_names() const override { return {"eps"}; }
  ThreatPtr threat;
};

// The composed threat when both sides are threats and op is >>, | or &; nullopt otherwise.
// A composition that makes no sense (a union inside >>, & of a transformation) is a runtime
// error at `at`, in the user's terms.
std::optional<Value> compose_threats(BinaryOp op, const Value& left, const Value& right,
                                     const Span& at);

}  // namespace perturb::lang
