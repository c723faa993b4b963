#include "interpreter/builtins/objects.h"
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
  if (name == "seconds") return Value(report.seconds());
  if (name == "queries" || name == "gradient_evals") {  // summed over attacks (and sweep points)
    int64_t total = 0;
    auto add = [&](const EvalReport& r) {
      for (const auto& a : r.by_attack) {
        total += name == "queries" ? a.stats.queries : a.stats.gradient_evals;
      }
    };
    if (report.is_sweep()) {
      for (const auto& p : report.points) add(p);
    } else {
      add(report);
    }
    return Value(total);
  }
  // A sweep's sizes, a report per size and the worst case per size (empty lists otherwise).
  if (name == "eps" || name == "points" || name == "robust_at") {
    std::vector<Value> items;
    for (size_t i = 0; i < report.points.size(); ++i) {
      if (name == "eps") items.push_back(Value(report.eps[i]));
      if (name == "robust_at") items.push_back(Value(report.points[i].robust));
      if (name == "points") {
        items.push_back(Value(ObjectPtr(std::make_shared<ReportObject>(report.points[i]))));
      }
    }
    return make_list(std::move(items));
  }
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
