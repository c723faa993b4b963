// Tasks, Meta schedules, curricula and ramps (LANGUAGE.md §2 "Meta-learning task schedules"),
// and stochastic networks (zoo.snn; thesis ch. 5). docs/schedules.md describes each.

#include "interpreter/builtins/schedule.h"
#include "interpreter/builtins/attack.h"
#include "interpreter/builtins/binding.h"
#include "interpreter/builtins/model.h"
#include "interpreter/builtins/params.h"
#include "interpreter/builtins/policy.h"
#include "interpreter/builtins/table.h"
#include "interpreter/builtins/whole.h"
#include "interpreter/diagnostics.h"
#include "interpreter/eval.h"
#include "interpreter/kinds.h"
#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/model/noise.h"
#include "runtime/model/zoo.h"

namespace perturb::lang {

std::string ScheduleObject::describe() const {
  std::string out;
  if (const auto* m = meta()) {
    // The same plan every epoch (the number of epochs is train's).
    out = m->describe() + "\n  every epoch, every batch:";
    int step = 0;
    for (const auto& line : m->batch_plan()) out += "\n    " + std::to_string(++step) + ". " + line;
    return out;
  }
  const auto& s = *stages();
  int64_t total = 0;
  for (const auto& stage : s) total += stage.epochs;
  out = "Curriculum (" + std::to_string(s.size()) + (s.size() == 1 ? " stage, " : " stages, ") +
        std::to_string(total) + (total == 1 ? " epoch)" : " epochs)");
  for (const auto& line : curriculum_plan(s)) out += "\n  " + line;
  return out;
}

std::optional<Value> ScheduleObject::field(const std::string& name) const {
  if (name == "epochs") {
    if (!stages()) return Value();
    int64_t total = 0;
    for (const auto& stage : *stages()) total += stage.epochs;
    return Value(total);
  }
  if (name == "plan") {
    std::vector<Value> lines;
    for (const auto& line : meta() ? meta()->batch_plan() : curriculum_plan(*stages())) {
      lines.push_back(Value(line));
    }
    return make_list(std::move(lines));
  }
  return std::nullopt;
}

bool has_ramp(const std::vector<std::pair<std::string, Value>>& named) {
  for (const auto& [name, value] : named) {
    if (value.object<RampObject>()) return true;
  }
  return false;
}

AttackPtr ramped_with(const AttackPtr& base,
                      const std::vector<std::pair<std::string, Value>>& named, const Span& at) {
  std::vector<std::pair<std::string, Value>> fixed;
  std::map<std::string, Ramp> ramps;
  for (const auto& [name, value] : named) {
    if (auto r = value.object<RampObject>()) {
      ramps[name] = r->ramp;
    } else {
      fixed.emplace_back(name, value);
    }
  }
  AttackPtr changed = fixed.empty() ? base : AttackPtr(base->with(to_params(fixed, at)));
  return make_ramped_attack(changed, std::move(ramps));
}

namespace {

Value task_value(Task task) {
  return Value(ObjectPtr(std::make_shared<TaskObject>(std::move(task))));
}

// The tasks of a list argument, or an error naming the first item that is not a task.
std::vector<Task> task_list(CallArgs& args, const std::string& name) {
  std::vector<Task> tasks;
  for (const auto& item : *args.get(name).as<ListPtr>()) {
    auto task = item.object<TaskObject>();
    if (!task) {
      args.fail_at(name, display_name(args.builtin) + "'s " + name +
                             " must be a list of tasks (Clean(), Noisy(...), Adversarial(...), "
                             "Augmented(...)), found " +
                             kind_with_article(item.kind()));
    }
    tasks.push_back(task->task);
  }
  return tasks;
}

// The noise of a stochastic network (zoo.snn) or of a Noisy task: see noise_options.
ParamSpec iso_param() {
  return optional("iso", bits(Kind::kNumber), Value(0.1))
      .at_least(0)
      .doc("the isotropic noise scale");
}

ParamSpec aniso_param(int64_t rank) {
  return optional("aniso", bits(Kind::kNumber), Value(rank))
      .whole()
      .at_least(0)
      .doc("the rank of the noise covariance");
}

NoiseOptions noise_options(CallArgs& args) {
  NoiseOptions o;
  o.iso = args.number("iso");
  o.aniso = args.integer("aniso");
  o.learn = args.boolean("learn");
  return o;
}

Value make_meta(CallArgs& args) {
  MetaOptions meta;
  meta.tasks = task_list(args, "tasks");
  // -1: a task drawn at random each meta step ("random", the only string the table allows).
  meta.meta_test = args.get("meta_test").is<std::string>() ? -1 : args.integer("meta_test");
  meta.inner_lr = args.number("inner_lr");
  meta.split = args.number("split");
  meta.snn.lambda = args.number("lambda");
  meta.snn.fca = args.number("fca");
  meta.snn.noise_lr = args.number("noise_lr");
  try {
    check_meta(meta);
  } catch (const Error& e) {
    args.fail(e.what());
  }
  return Value(ObjectPtr(std::make_shared<ScheduleObject>(std::move(meta))));
}

Value make_curriculum(CallArgs& args) {
  std::vector<Stage> stages;
  const auto& items = *args.get("stages").as<ListPtr>();
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& item = items[i];
    const std::string which = "stage " + std::to_string(i + 1);
    if (!item.is<RecordPtr>()) {
      args.fail_at("stages", which + " must be a record {epochs: n, task: t}, got " +
                                 kind_with_article(item.kind()));
    }
    const auto& record = *item.as<RecordPtr>();
    for (const auto& key : record.keys()) {
      if (key != "epochs" && key != "task") {
        args.fail_at("stages", which + " has an unknown field '" + key +
                                   "'; a stage is {epochs: n, task: t}");
      }
    }
    const Value* epochs = record.find("epochs");
    const Value* task = record.find("task");
    if (!epochs || !epochs->is<double>() || !is_whole(epochs->as<double>()) ||
        epochs->as<double>() < 0) {
      args.fail_at("stages", which + " needs epochs: a whole number of at least 0");
    }
    auto task_object = task ? task->object<TaskObject>() : nullptr;
    if (!task_object) {
      args.fail_at("stages", which + " needs task: a task (Clean(), Noisy(...), Adversarial(...))");
    }
    Stage stage;
    stage.epochs = static_cast<int64_t>(epochs->as<double>());
    stage.task = task_object->task;
    stages.push_back(std::move(stage));
  }
  try {
    check_curriculum(stages);
  } catch (const Error& e) {
    args.fail(e.what());
  }
  return Value(ObjectPtr(std::make_shared<ScheduleObject>(std::move(stages))));
}

Value make_snn_model(CallArgs& args) {
  ZooOptions options;
  options.classes = args.integer("classes");
  options.channels = args.integer("channels");
  options.height = args.integer("size");
  options.width = options.height;
  uint64_t seed = args.has("seed") ? static_cast<uint64_t>(args.integer("seed"))
                                   : next_seed(args.interp.generator());
  ModelPtr base = make_zoo_model(args.string("arch"), options, seed);
  base->to(args.interp.device());
  ModelPtr snn = make_snn(base, noise_options(args), seed + 1);
  return Value(ObjectPtr(std::make_shared<ModelObject>(snn)));
}

}  // namespace

void describe_schedule_kinds(KindRegistry& registry) {
  KindDescriptor task(Kind::kTask, "task", "a task");
  registry.add(std::move(task));
  KindDescriptor schedule(Kind::kSchedule, "schedule", "a schedule");
  schedule.fields = {
      {"epochs", Kind::kNumber | Kind::kNone, "A Curriculum's epochs in all (none for Meta)."},
      {"plan", bits(Kind::kList), "What each epoch (or batch) trains on, one line each."}};
  registry.add(std::move(schedule));
  KindDescriptor ramp(Kind::kRamp, "ramp", "a ramp");
  registry.add(std::move(ramp));
}

Value train_with_schedule(CallArgs& args, const std::shared_ptr<ModelObject>& model,
                          const Dataset& data, const TrainOptions& options) {
  // train(..., method: meta) (the usual way: `schedule` is a keyword) or schedule: from C++.
  const std::string arg =
      args.get("method").kind() == Kind::kSchedule ? std::string("method") : "schedule";
  auto schedule = args.object<ScheduleObject>(arg, Kind::kSchedule);
  // A Noisy task on a plain zoo model: the model becomes a stochastic network with that noise.
  const Task* noisy = nullptr;
  if (const auto* m = schedule->meta()) {
    for (const auto& t : m->tasks) {
      if (t.kind == Task::Kind::kNoisy && !noisy) noisy = &t;
    }
  } else {
    for (const auto& s : *schedule->stages()) {
      if (s.task.kind == Task::Kind::kNoisy && !noisy) noisy = &s.task;
    }
  }
  if (noisy && !std::dynamic_pointer_cast<SnnModel>(model->model)) {
    try {
      model->model = make_snn(model->model, noisy->noise, options.seed);
    } catch (const Error& e) {
      args.fail_at(arg, std::string(e.what()));
    }
  }
  if (const auto* m = schedule->meta()) {
    train_meta(*model->model, data, *m, options);
  } else {
    train_curriculum(*model->model, data, *schedule->stages(), options);
  }
  return Value(ObjectPtr(model));
}

void register_schedule_builtins(BuiltinTable& t) {
  const std::string g = "schedules";
  const Kinds kNum = bits(Kind::kNumber);
  const Kinds kTask = bits(Kind::kTask);
  t.add({"Clean", g, Signature{{}}.returning(kTask),
         "A task of clean inputs; a stochastic network's noise is off (the thesis's task V).",
         "Clean()", [](CallArgs&) { return task_value(Task{}); }});
  t.add({"Noisy", g,
         Signature{{iso_param(), aniso_param(0), optional("learn", bits(Kind::kBool), Value(true))}}
             .returning(kTask),
         "A task of clean inputs with the network's noise on: isotropic noise of scale iso (times "
         "each sample's activation std) in the inner layers, anisotropic noise of rank aniso at "
         "the penultimate layer, trained with "
         "eq. 5.6 (thesis ch. 5, task P). A plain zoo model becomes a stochastic network.",
         "Noisy(iso: 0.1, aniso: 4)", [](CallArgs& a) {
           Task task;
           task.kind = Task::Kind::kNoisy;
           task.noise = noise_options(a);
           return task_value(task);
         }});
  t.add({"Adversarial", g,
         Signature{{required("attack", bits(Kind::kAttack)), optional("weight", kNum, Value(0.5))}}
             .returning(kTask),
         "A task of the attack's adversarial inputs: Madry et al. on a plain network; on a "
         "stochastic network L_Mix(x) + weight * CE(x_adv) with the noise on (eq. 5.7, task PA).",
         "Adversarial(pgd)", [](CallArgs& a) {
           auto attack = a.object<AttackObject>("attack", Kind::kAttack);
           Task task;
           task.kind = Task::Kind::kAdversarial;
           task.attack = attack->attack;
           task.attack_name = attack->name;
           task.weight = a.number("weight");
           return task_value(task);
         }});
  t.add({"Augmented", g,
         Signature{{required("policy", Kind::kPolicy | Kind::kThreat)}}.returning(kTask),
         "A task of the policy's augmented inputs (soft labels after Mixup/CutMix); a stochastic "
         "network's noise is off.",
         "Augmented(Flip(p: 0.5) >> Cutout(size: 8))", [](CallArgs& a) {
           Task task;
           task.kind = Task::Kind::kAugmented;
           task.policy = policy_arg(a, "policy");
           return task_value(task);
         }});
  t.add({"Meta", g,
         Signature{{required("tasks", bits(Kind::kList)),
                    optional("meta_test", Kind::kString | Kind::kNumber, Value("random"))
                        .whole()
                        .at_least(0)
                        .one_of({"random"})
                        .doc("the task held out for the meta-test step, or \"random\""),
                    optional("inner_lr", kNum, Value(0.001)), optional("split", kNum, Value(0.5)),
                    optional("lambda", kNum, Value(1e-4)), optional("fca", kNum, Value(0.1)),
                    optional("noise_lr", kNum, Value(0.01))}}
             .returning(bits(Kind::kSchedule)),
         "Meta-learning over tasks (thesis Algorithm 3): each batch meta-trains on all tasks but "
         "one, updates a copy by inner_lr and meta-updates on the meta-train loss and the held-out "
         "task's loss under both copies, each sample counted once. meta_test: \"random\" or a task "
         "index; split: the meta-train share of a batch.",
         "Meta(tasks: [Clean(), Noisy(iso: 0.1, aniso: 4), Adversarial(pgd)])", make_meta});
  t.add({"Curriculum", g,
         Signature{{required("stages", bits(Kind::kList))}}.returning(bits(Kind::kSchedule)),
         "Stages of {epochs, task}, run in order; ramp(a, b) values in a stage's attack go from a "
         "to b over its epochs. Printing it shows the plan epoch by epoch.",
         "Curriculum([{epochs: 2, task: Clean()}, {epochs: 8, task: Adversarial(pgd.with(eps: "
         "ramp(0, 0.1)))}])",
         make_curriculum});
  t.add({"ramp", g,
         Signature{{required("start", kNum), required("end", kNum)}}.returning(bits(Kind::kRamp)),
         "A value going linearly from start (a stage's first epoch) to end (its last), for "
         "attack.with inside a Curriculum; outside one the attack uses end.",
         "pgd.with(eps: ramp(0, 0.1))", [](CallArgs& a) {
           return Value(
               ObjectPtr(std::make_shared<RampObject>(Ramp{a.number("start"), a.number("end")})));
         }});
  t.add({"zoo.snn", "models",
         Signature{{optional("arch", bits(Kind::kString), Value("small_cnn")),
                    optional("classes", kNum, Value(10)), optional("channels", kNum, Value(1)),
                    optional("size", kNum, Value(28)), iso_param(), aniso_param(4),
                    optional("learn", bits(Kind::kBool), Value(true)),
                    optional_auto("seed", kNum, "from --seed")}}
             .returning(bits(Kind::kModel)),
         "A stochastic network (thesis ch. 5): a zoo architecture with learned isotropic noise "
         "(iso times each sample's activation std) after its inner ReLUs and rank-aniso "
         "anisotropic noise on its penultimate features; "
         "the noise stays on at evaluation (attack it with eot:).",
         "zoo.snn(arch: \"small_cnn\", iso: 0.1, aniso: 4)", make_snn_model});
}

}  // namespace perturb::lang
