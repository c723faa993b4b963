#include "interpreter/objects.h"
#include "runtime/train/optimizer.h"

namespace perturb::lang {

std::optional<Value> ThreatObject::field(const std::string& name) const {
  if (name == "eps") return Value(threat->eps());
  return std::nullopt;
}

std::string AttackObject::describe() const {
  return attack->describe();
}

std::optional<Value> AttackObject::field(const std::string& field_name) const {
  if (field_name == "name") return Value(name);
  if (field_name == "threat")
    return Value(ObjectPtr(std::make_shared<ThreatObject>(attack->threat())));
  return std::nullopt;
}

std::optional<Value> DatasetObject::field(const std::string& name) const {
  if (name == "x") return Value(data.x);
  if (name == "y") return Value(data.y);
  if (name == "name") return Value(data.name);
  if (name == "size") return Value(data.size());
  return std::nullopt;
}

std::optional<Value> ReportObject::field(const std::string& name) const {
  if (name == "clean") return Value(report.clean);
  if (name == "robust") return Value(report.robust);
  if (name == "samples") return Value(report.samples);
  if (name == "by_attack") {
    auto record = std::make_shared<Record>();
    for (const auto& result : report.by_attack) record->set(result.name, Value(result.accuracy));
    return Value(record);
  }
  return std::nullopt;
}

std::string OptimizerObject::describe() const {
  return describe_optimizer(spec);
}

std::optional<Value> ModuleObject::field(const std::string& field_name) const {
  if (const Value* member = members->find(field_name)) return *member;
  return std::nullopt;
}

}  // namespace perturb::lang
