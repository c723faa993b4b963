#pragma once
// Attacks and the reports of evaluate(...) as script values; builtins/attack.cpp makes them.

#include "interpreter/value.h"
#include "runtime/attack/attack.h"
#include "runtime/eval/evaluate.h"

namespace perturb::lang {

class AttackObject : public Object {
 public:
  AttackObject(AttackPtr attack, std::string name)
      : attack(std::move(attack)), name(std::move(name)) {}
  Kind kind() const override { return Kind::kAttack; }
  std::string describe() const override;
  std::optional<Value> field(const std::string& name) const override;
  AttackPtr attack;
  std::string name;  // the declared name (`attack pgd = ...` is "pgd"), else the attack's own
};

class ReportObject : public Object {
 public:
  explicit ReportObject(EvalReport report) : report(std::move(report)) {}
  Kind kind() const override { return Kind::kReport; }
  std::string describe() const override { return report.table(); }
  std::optional<Value> field(const std::string& name) const override;
  EvalReport report;
};

}  // namespace perturb::lang
