#pragma once
// Handles for tasks, schedules and ramps (LANGUAGE.md §2 "Meta-learning task schedules"), and
// the entry points builtins/train.cpp and builtins/attack.cpp call into.

#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "interpreter/builtins/model.h"
#include "interpreter/builtins/table.h"
#include "runtime/train/curriculum.h"
#include "runtime/train/meta.h"

namespace perturb::lang {

class TaskObject : public Object {
 public:
  explicit TaskObject(Task task) : task(std::move(task)) {}
  Kind kind() const override { return Kind::kTask; }
  std::string describe() const override { return task.describe(); }
  Task task;
};

// A Meta schedule or a Curriculum. Printing it shows its plan epoch by epoch.
class ScheduleObject : public Object {
 public:
  explicit ScheduleObject(MetaOptions meta) : plan(std::move(meta)) {}
  explicit ScheduleObject(std::vector<Stage> stages) : plan(std::move(stages)) {}
  Kind kind() const override { return Kind::kSchedule; }
  std::string describe() const override;
  std::optional<Value> field(const std::string& name) const override;
  const MetaOptions* meta() const { return std::get_if<MetaOptions>(&plan); }
  const std::vector<Stage>* stages() const { return std::get_if<std::vector<Stage>>(&plan); }
  std::variant<MetaOptions, std::vector<Stage>> plan;
};

class RampObject : public Object {
 public:
  explicit RampObject(Ramp ramp) : ramp(ramp) {}
  Kind kind() const override { return Kind::kRamp; }
  std::string describe() const override { return ramp.describe(); }
  Ramp ramp;
};

// `train(net, data, schedule: s, ...)`: runs the schedule with the options train() already read
// (epochs, batch, optimizer, seed). A Noisy task on a plain zoo model first turns it into a
// stochastic network (the script's model becomes that network). Returns the model.
Value train_with_schedule(CallArgs& args, const std::shared_ptr<ModelObject>& model,
                          const Dataset& data, const TrainOptions& options);

// `attack.with(eps: ramp(0, 0.1), ...)`: true when some named value is a ramp; then
// `ramped_with` gives the attack whose ramped values a Curriculum sets epoch by epoch.
bool has_ramp(const std::vector<std::pair<std::string, Value>>& named);
AttackPtr ramped_with(const AttackPtr& base,
                      const std::vector<std::pair<std::string, Value>>& named, const Span& at);

}  // namespace perturb::lang
