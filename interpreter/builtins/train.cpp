// Training (LANGUAGE.md §3): optimizers and train(...). docs/training.md describes every option.

#include "interpreter/builtins/train.h"
#include "interpreter/builtins/attack.h"
#include "interpreter/builtins/cmda.h"
#include "interpreter/builtins/data.h"
#include "interpreter/builtins/model.h"
#include "interpreter/builtins/multimodal.h"
#include "interpreter/builtins/multimodal_objects.h"
#include "interpreter/builtins/policy.h"
#include "interpreter/builtins/schedule.h"
#include "interpreter/builtins/table.h"
#include "interpreter/eval.h"
#include "interpreter/kinds.h"
#include "runtime/core/error.h"
#include "runtime/train/optimizer.h"
#include "runtime/train/train.h"

namespace perturb::lang {

std::string OptimizerObject::describe() const {
  return describe_optimizer(spec);
}

namespace {

Value optimizer_value(OptimizerSpec spec) {
  return Value(ObjectPtr(std::make_shared<OptimizerObject>(std::move(spec))));
}

// Adam and AdamW take the same arguments; `kind` picks how weight decay is applied.
Value adam_value(CallArgs& args, const char* kind) {
  OptimizerSpec s;
  s.kind = kind;
  s.lr = args.number("lr");
  s.beta1 = args.number("beta1");
  s.beta2 = args.number("beta2");
  s.weight_decay = args.number("weight_decay");
  return optimizer_value(s);
}

// A schedule (Meta, Curriculum) comes as `schedule:` or in place of the method.
bool is_scheduled(CallArgs& args) {
  return args.get("method").kind() == Kind::kSchedule || args.has("schedule");
}

}  // namespace

TrainOptions classifier_train_options(CallArgs& args) {
  TrainOptions options;
  options.epochs = args.integer("epochs");
  options.batch = args.integer("batch");
  options.optimizer = args.has("optimizer")
                          ? args.object<OptimizerObject>("optimizer", Kind::kOptimizer)->spec
                          : OptimizerSpec{"sgd", 0.01};
  options.seed = args.seed();
  if (!is_scheduled(args)) options.method = args.string("method");
  options.trades_beta = args.number("beta");
  if (args.has("adversary"))
    options.adversary = args.object<AttackObject>("adversary", Kind::kAttack)->attack;
  if (args.has("fast_step")) options.fast_step = args.number("fast_step");
  // A policy, or a threat standing for its random member (sample(threat)).
  if (args.has("augment")) options.augment = policy_arg(args, "augment");
  if (args.has("classes")) options.classes = args.integer("classes");
  options.lr_schedule.kind = args.string("lr_schedule");
  options.lr_schedule.milestones = args.numbers("milestones");
  options.lr_schedule.gamma = args.number("gamma");
  options.lr_schedule.pct_start = args.number("pct_start");
  if (args.has("val")) options.val = args.object<DatasetObject>("val", Kind::kDataset)->data;
  options.val_split = args.number("val_split");
  if (args.has("val_attack"))
    options.val_attack = args.object<AttackObject>("val_attack", Kind::kAttack)->attack;
  options.log_path = args.string("log");
  options.checkpoint_path = args.string("checkpoint");
  options.checkpoint_every = args.integer("checkpoint_every");
  options.resume = args.boolean("resume");
  return options;
}

namespace {

Value train_model(CallArgs& args) {
  if (args.get("model").object<TwoTowerObject>()) return train_two_tower(args);
  if (args.get("data").object<PairsObject>()) return train_classifier_on_pairs(args);
  auto model = args.object<ModelObject>("model", Kind::kModel);
  const Dataset& data = args.object<DatasetObject>("data", Kind::kDataset)->data;
  TrainOptions options = classifier_train_options(args);
  // A schedule (Meta, Curriculum) decides what each batch trains on (builtins/schedule.cpp).
  if (is_scheduled(args)) return train_with_schedule(args, model, data.in_memory(), options);
  train(*model->model, data, options);
  return Value(ObjectPtr(model));
}

}  // namespace

void describe_train_kinds(KindRegistry& registry) {
  KindDescriptor optimizer(Kind::kOptimizer, "optimizer", "an optimizer");
  registry.add(std::move(optimizer));
}

void register_train_builtins(BuiltinTable& t) {
  const std::string g = "training";
  const Kinds kOpt = bits(Kind::kOptimizer);
  const Kinds kNum = bits(Kind::kNumber);
  const Kinds kStr = bits(Kind::kString);
  const Kinds kBool = bits(Kind::kBool);
  t.add({"SGD", g,
         Signature{{optional("lr", kNum, Value(0.01)), optional("momentum", kNum, Value(0)),
                    optional("weight_decay", kNum, Value(0)),
                    optional("nesterov", kBool, Value(false))}}
             .returning(kOpt),
         "Stochastic gradient descent with momentum (Nesterov's with nesterov: true), as "
         "torch.optim.SGD.",
         "SGD(lr: 0.05, momentum: 0.9)", [](CallArgs& a) {
           OptimizerSpec s;
           s.kind = "sgd";
           s.lr = a.number("lr");
           s.momentum = a.number("momentum");
           s.weight_decay = a.number("weight_decay");
           s.nesterov = a.boolean("nesterov");
           return optimizer_value(s);
         }});
  t.add(
      {"Adam", g,
       Signature{{optional("lr", kNum, Value(0.001)), optional("beta1", kNum, Value(0.9)),
                  optional("beta2", kNum, Value(0.999)), optional("weight_decay", kNum, Value(0))}}
           .returning(kOpt),
       "Adam, as torch.optim.Adam (weight decay added to the gradient).", "Adam(lr: 0.001)",
       [](CallArgs& a) { return adam_value(a, "adam"); }});
  t.add({"AdamW", g,
         Signature{{optional("lr", kNum, Value(0.001)), optional("beta1", kNum, Value(0.9)),
                    optional("beta2", kNum, Value(0.999)),
                    optional("weight_decay", kNum, Value(0.01))}}
             .returning(kOpt),
         "AdamW, as torch.optim.AdamW: Adam with decoupled weight decay (Loshchilov and Hutter "
         "2019).",
         "AdamW(lr: 0.001, weight_decay: 0.01)",
         [](CallArgs& a) { return adam_value(a, "adamw"); }});
  t.add({"train", g,
         Signature{
             {required("model", bits(Kind::kModel)),
              required("data", Kind::kDataset | Kind::kPairs),
              optional("epochs", kNum, Value(1)).whole().at_least(1),
              optional("batch", kNum, Value(128)).whole().at_least(1),
              optional_auto("optimizer", kOpt, "SGD(lr: 0.01)"),
              optional_auto("seed", kNum, "from --seed"),
              optional("method", kStr | Kind::kSchedule, Value("standard")),
              optional("adversary", bits(Kind::kAttack), Value()),
              optional("beta", kNum, Value(6.0)),
              optional_auto("fast_step", kNum, "1.25·eps"),
              optional("augment", Kind::kPolicy | Kind::kThreat, Value()),
              optional_auto("classes", kNum, "largest label + 1"),
              optional("lr_schedule", kStr, Value("constant")),
              optional("milestones", bits(Kind::kList), make_list({})),
              optional("gamma", kNum, Value(0.1)),
              optional("pct_start", kNum, Value(0.3)),
              optional("val", bits(Kind::kDataset), Value()),
              optional("val_split", kNum, Value(0)),
              optional_auto("val_attack", bits(Kind::kAttack), "PGD-10 in the adversary's threat"),
              optional("log", kStr, Value("")),
              optional("checkpoint", kStr, Value("")),
              optional("checkpoint_every", kNum, Value(0)),
              optional("resume", kBool, Value(false)),
              optional("schedule", bits(Kind::kSchedule), Value())}}
             .returning(bits(Kind::kModel)),
         "Trains model in place and returns it; method \"standard\", \"madry\" (PGD-AT), "
         "\"trades\" (with beta) or \"fast\" (FGSM from a random start) uses adversary; "
         "lr_schedule \"constant\", \"step\", \"cosine\" or \"onecycle\"; validation, CSV log, "
         "checkpoints and resume (docs/training.md). A two-tower model on paired data trains by "
         "method \"contrastive\" (the default there, Adam(lr: 0.001)), \"tecoa\" or \"mat\"; a "
         "classifier on paired data trains on its images and labels, the captions feeding a CMDA "
         "policy (docs/multimodal.md).",
         "let net2 = train(net, train_set, epochs: 2, optimizer: SGD(lr: 0.05, momentum: 0.9), "
         "seed: 0)",
         train_model});
}

}  // namespace perturb::lang
