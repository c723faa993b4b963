// Training (LANGUAGE.md §3): optimizers and train(...).

#include "interpreter/builtins.h"
#include "interpreter/eval.h"
#include "interpreter/objects.h"
#include "runtime/train/train.h"

namespace perturb::lang {
namespace {

Value optimizer_value(OptimizerSpec spec) {
  return Value(ObjectPtr(std::make_shared<OptimizerObject>(std::move(spec))));
}

Value train_model(CallArgs& args) {
  auto model = args.object<ModelObject>("model", Kind::kModel);
  const Dataset& data = args.object<DatasetObject>("data", Kind::kDataset)->data;
  TrainOptions options;
  options.epochs = args.integer("epochs");
  options.batch = args.integer("batch");
  if (options.epochs < 1 || options.batch < 1)
    args.fail("train needs at least 1 epoch and a batch of at least 1");
  options.optimizer = args.has("optimizer")
                          ? args.object<OptimizerObject>("optimizer", Kind::kOptimizer)->spec
                          : OptimizerSpec{"sgd", 0.01};
  options.seed =
      args.has("seed") ? static_cast<uint64_t>(args.integer("seed")) : args.interp.options().seed;
  options.method = args.string("method");
  options.trades_beta = args.number("beta");
  if (args.has("adversary"))
    options.adversary = args.object<AttackObject>("adversary", Kind::kAttack)->attack;
  if (args.has("augment")) {
    throw_runtime_error(args.span_of("augment"),
                        "augmentation policies (augment:) are not available in this build yet");
  }
  train(*model->model, data, options);
  return Value(ObjectPtr(model));
}

}  // namespace

void register_train_builtins(BuiltinTable& t) {
  const std::string g = "training";
  const Kinds kOpt = bits(Kind::kOptimizer);
  const Kinds kNum = bits(Kind::kNumber);
  t.add({"SGD",
         g,
         {{optional("lr", kNum, Value(0.01)), optional("momentum", kNum, Value(0)),
           optional("weight_decay", kNum, Value(0))},
          false,
          false,
          kOpt},
         "Stochastic gradient descent with momentum, as torch.optim.SGD.",
         "SGD(lr: 0.05, momentum: 0.9)",
         [](CallArgs& a) {
           OptimizerSpec s;
           s.kind = "sgd";
           s.lr = a.number("lr");
           s.momentum = a.number("momentum");
           s.weight_decay = a.number("weight_decay");
           return optimizer_value(s);
         }});
  t.add({"Adam",
         g,
         {{optional("lr", kNum, Value(0.001)), optional("beta1", kNum, Value(0.9)),
           optional("beta2", kNum, Value(0.999)), optional("weight_decay", kNum, Value(0))},
          false,
          false,
          kOpt},
         "Adam, as torch.optim.Adam.",
         "Adam(lr: 0.001)",
         [](CallArgs& a) {
           OptimizerSpec s;
           s.kind = "adam";
           s.lr = a.number("lr");
           s.beta1 = a.number("beta1");
           s.beta2 = a.number("beta2");
           s.weight_decay = a.number("weight_decay");
           return optimizer_value(s);
         }});
  t.add({"train",
         g,
         {{required("model", bits(Kind::kModel)), required("data", bits(Kind::kDataset)),
           optional("epochs", kNum, Value(1)), optional("batch", kNum, Value(128)),
           optional_auto("optimizer", kOpt, "SGD(lr: 0.01)"),
           optional_auto("seed", kNum, "from --seed"),
           optional("method", bits(Kind::kString), Value("standard")),
           optional("adversary", bits(Kind::kAttack), Value()), optional("beta", kNum, Value(6.0)),
           optional("augment", bits(Kind::kPolicy), Value())},
          false,
          false,
          bits(Kind::kModel)},
         "Trains model in place and returns it; method \"standard\", \"madry\" (PGD-AT) or "
         "\"trades\" (with beta) uses adversary.",
         "let net2 = train(net, train_set, epochs: 2, optimizer: SGD(lr: 0.05, momentum: 0.9), "
         "seed: 0)",
         train_model});
}

}  // namespace perturb::lang
