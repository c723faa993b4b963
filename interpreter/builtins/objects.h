#pragma once
// Handles that let script values hold runtime objects. Each prints its parameters.

#include "interpreter/value.h"
#include "runtime/attack/attack.h"
#include "runtime/data/dataset.h"
#include "runtime/eval/evaluate.h"
#include "runtime/model/model.h"
#include "runtime/threat/threat.h"
#include "runtime/train/train.h"

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

class AttackObject : public Object {
 public:
  AttackObject(AttackPtr attack, std::string name)
      : attack(std::move(attack)), name(std::move(name)) {}
  Kind kind() const override { return Kind::kAttack; }
  std::string describe() const override;
  std::optional<Value> field(const std::string& name) const override;
  std::vector<std::string> field_names() const override { return {"name", "threat"}; }
  AttackPtr attack;
  std::string name;  // the declared name (`attack pgd = ...` is "pgd"), else the attack's own
};

class ModelObject : public Object {
 public:
  explicit ModelObject(ModelPtr model) : model(std::move(model)) {}
  Kind kind() const override { return Kind::kModel; }
  std::string describe() const override { return "model " + model->describe(); }
  ModelPtr model;
};

class DatasetObject : public Object {
 public:
  explicit DatasetObject(Dataset data) : data(std::move(data)) {}
  Kind kind() const override { return Kind::kDataset; }
  std::string describe() const override { return "dataset " + data.describe(); }
  std::optional<Value> field(const std::string& name) const override;
  std::vector<std::string> field_names() const override { return {"x", "y", "name"}; }
  Dataset data;
};

class ReportObject : public Object {
 public:
  explicit ReportObject(EvalReport report) : report(std::move(report)) {}
  Kind kind() const override { return Kind::kReport; }
  std::string describe() const override { return report.table(); }
  std::optional<Value> field(const std::string& name) const override;
  std::vector<std::string> field_names() const override {
    return {"clean",   "robust",         "by_attack", "samples", "seconds",
            "queries", "gradient_evals", "eps",       "points",  "robust_at"};
  }
  EvalReport report;
};

class OptimizerObject : public Object {
 public:
  explicit OptimizerObject(OptimizerSpec spec) : spec(std::move(spec)) {}
  Kind kind() const override { return Kind::kOptimizer; }
  std::string describe() const override;
  OptimizerSpec spec;
};

// A namespace of values: a builtin module (`zoo`, whose members are table entries) or an
// imported Perturb module (`presets`, whose members are its top-level bindings).
class ModuleObject : public Object {
 public:
  ModuleObject(std::string name, RecordPtr members)
      : name(std::move(name)), members(std::move(members)) {}
  Kind kind() const override { return Kind::kModule; }
  std::string describe() const override { return "<module " + name + ">"; }
  std::optional<Value> field(const std::string& field_name) const override;
  std::vector<std::string> field_names() const override { return members->keys(); }
  std::string name;
  RecordPtr members;
};

}  // namespace perturb::lang
