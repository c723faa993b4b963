#pragma once
// Threats as script values (LANGUAGE.md §2); builtins/threat.cpp makes them and describes their
// kind, whose `a >> b`, `a | b` and `a & b` make a composed threat (runtime/threat/compose.cpp).

#include "interpreter/value.h"
#include "runtime/threat/threat.h"

namespace perturb::lang {

class ThreatObject : public Object {
 public:
  explicit ThreatObject(ThreatPtr threat) : threat(std::move(threat)) {}
  Kind kind() const override { return Kind::kThreat; }
  std::string describe() const override { return threat->describe(); }
  std::optional<Value> field(const std::string& name) const override;
  ThreatPtr threat;
};

}  // namespace perturb::lang
