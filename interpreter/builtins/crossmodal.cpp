// Cross-modality re-identification and the CMPS attack (Gong et al. 2024): two-modality data as a
// record {visible, infrared} of datasets, zoo.reid_two_branch and its branches, train_cross_modal,
// cross_modal_retrieval, CMPS and Universal (a given perturbation, for baselines).

#include "interpreter/builtins/crossmodal.h"

#include "interpreter/builtins/attack.h"
#include "interpreter/builtins/data.h"
#include "interpreter/builtins/model.h"
#include "interpreter/builtins/retrieval.h"
#include "interpreter/builtins/threat.h"
#include "interpreter/eval.h"
#include "runtime/attack/cmps.h"
#include "runtime/attack/fixed_perturbation.h"
#include "runtime/core/random.h"
#include "runtime/data/paired_modalities.h"
#include "runtime/eval/cross_modal_retrieval.h"
#include "runtime/model/zoo_reid.h"
#include "runtime/train/cross_modal_train.h"

namespace perturb::lang {
namespace {

Value dataset_of(Dataset data) {
  return Value(ObjectPtr(std::make_shared<DatasetObject>(std::move(data))));
}

Value model_of(ModelPtr model) {
  return Value(ObjectPtr(std::make_shared<ModelObject>(std::move(model))));
}

Value attack_of(AttackPtr attack) {
  std::string name = attack->name();
  return Value(ObjectPtr(std::make_shared<AttackObject>(std::move(attack), std::move(name))));
}

// {visible: dataset, infrared: dataset}: printable, and each part usable on its own.
Value modalities_value(PairedModalities data) {
  auto record = std::make_shared<Record>();
  record->set("visible", dataset_of(std::move(data.visible)));
  record->set("infrared", dataset_of(std::move(data.infrared)));
  return Value(record);
}

// The record argument `name` back as two-modality data; errors say what is missing.
PairedModalities modalities_arg(CallArgs& args, const std::string& name) {
  const Value& value = args.get(name);
  if (!value.is<RecordPtr>()) {
    args.fail_at(name,
                 "expected two-modality data {visible: dataset, infrared: dataset} "
                 "(paired_modalities or fashion_modalities), got " +
                     kind_with_article(value.kind()));
  }
  PairedModalities data;
  data.name = "two-modality data";
  for (const char* part : {"visible", "infrared"}) {
    const Value* field = value.as<RecordPtr>()->find(part);
    auto dataset = field ? field->object<DatasetObject>() : nullptr;
    if (!dataset) {
      args.fail_at(name, std::string("two-modality data needs a dataset field '") + part +
                             "' (paired_modalities or fashion_modalities make them)");
    }
    (std::string(part) == "visible" ? data.visible : data.infrared) = dataset->data;
  }
  return data;
}

int64_t limit_arg(CallArgs& args) {
  return args.has("limit") ? args.integer("limit") : -1;
}

Value paired_modalities_of(CallArgs& args) {
  PairedModalitiesOptions options;
  if (args.has("size")) options.size = args.integer("size");
  options.limit = limit_arg(args);
  return modalities_value(paired_modalities(args.string("root"), options));
}

Value fashion_modalities_of(CallArgs& args) {
  return modalities_value(fashion_modalities(args.string("split"), limit_arg(args), args.seed()));
}

Value reid_two_branch(CallArgs& args) {
  ReidOptions options;
  options.classes = args.integer("classes");
  options.channels = args.integer("channels");
  options.size = args.integer("size");
  options.embedding = args.integer("embedding");
  options.shared_stem = args.boolean("shared_stem");
  const uint64_t seed = args.has("seed") ? static_cast<uint64_t>(args.integer("seed"))
                                         : next_seed(args.interp.generator());
  auto model = make_reid_model(options, seed);
  model->to(args.interp.device());
  return model_of(model);
}

Value branch_of(CallArgs& args) {
  auto model = args.object<ModelObject>("self", Kind::kModel)->model;
  return model_of(model_branch(model, args.string("modality")));
}

Value train_cross_modal_of(CallArgs& args) {
  auto model = args.object<ModelObject>("net", Kind::kModel)->model;
  auto reid = std::dynamic_pointer_cast<ReidModel>(model);
  if (!reid) {
    args.fail_at("net",
                 "train_cross_modal trains a two-branch re-ID network "
                 "(zoo.reid_two_branch), got " +
                     model->describe());
  }
  CrossModalTrainOptions options;
  options.epochs = args.integer("epochs");
  options.batch = args.integer("batch");
  options.lr = args.number("lr");
  options.margin = args.number("margin");
  options.triplet_weight = args.number("triplet");
  options.seed = args.has("seed") ? static_cast<uint64_t>(args.integer("seed"))
                                  : next_seed(args.interp.generator());
  train_cross_modal(*reid, modalities_arg(args, "data"), options);
  return args.get("net");
}

Value cross_modal_retrieval_of(CallArgs& args) {
  auto net = args.object<ModelObject>("net", Kind::kModel)->model;
  const PairedModalities data = modalities_arg(args, "data");
  RetrievalOptions options;
  options.ks = retrieval_ks(args);
  options.metric = args.string("metric");
  options.batch = args.integer("batch");
  AttackPtr attack;
  if (args.has("attack")) attack = args.object<AttackObject>("attack", Kind::kAttack)->attack;
  auto record_of = [](const CrossModalRetrieval& r) {
    auto record = std::make_shared<Record>();
    record->set("visible_to_infrared", Value(retrieval_record(r.visible_to_infrared)));
    record->set("infrared_to_visible", Value(retrieval_record(r.infrared_to_visible)));
    return record;
  };
  RecordPtr record =
      record_of(evaluate_cross_modal(net, data, options, attack.get(), &args.interp.generator()));
  if (attack) {
    // Each direction's clean metrics beside the attacked ones, as retrieval() gives them.
    const CrossModalRetrieval clean = evaluate_cross_modal(net, data, options);
    auto v2i = record->find("visible_to_infrared")->as<RecordPtr>();
    auto i2v = record->find("infrared_to_visible")->as<RecordPtr>();
    v2i->set("clean", Value(retrieval_record(clean.visible_to_infrared)));
    i2v->set("clean", Value(retrieval_record(clean.infrared_to_visible)));
  }
  return Value(record);
}

Value make_cmps(CallArgs& args) {
  CmpsOptions options;
  options.epochs = args.integer("epochs");
  options.batch = args.integer("batch");
  if (args.has("step")) options.step = args.number("step");
  options.momentum = args.number("momentum");
  options.margin = args.number("margin");
  options.grayscale = args.number("grayscale");
  options.modalities = args.string("modalities");
  options.decay = args.number("decay");
  options.centroids = args.string("centroids");
  return attack_of(
      std::make_shared<Cmps>(args.object<ThreatObject>("threat", Kind::kThreat)->threat, options));
}

Value make_universal(CallArgs& args) {
  return attack_of(make_fixed_perturbation(
      args.object<ThreatObject>("threat", Kind::kThreat)->threat, args.tensor("perturbation")));
}

std::shared_ptr<const Cmps> cmps_receiver(CallArgs& args) {
  return std::dynamic_pointer_cast<const Cmps>(
      args.object<AttackObject>("self", Kind::kAttack)->attack);
}

}  // namespace

std::optional<Value> cmps_fit(CallArgs& args) {
  auto cmps = cmps_receiver(args);
  if (!cmps) return std::nullopt;
  auto self = args.object<AttackObject>("self", Kind::kAttack);
  auto net = args.object<ModelObject>("model", Kind::kModel)->model;
  const PairedModalities data = modalities_arg(args, "data");
  auto visible = branch_embedding(net, "visible");
  auto infrared = branch_embedding(net, "infrared");
  AttackPtr fitted =
      cmps->fit(*visible, *infrared, data.visible, data.infrared, args.interp.generator());
  return Value(ObjectPtr(std::make_shared<AttackObject>(std::move(fitted), self->name)));
}

std::optional<Value> cmps_perturbation(CallArgs& args) {
  auto cmps = cmps_receiver(args);
  if (!cmps) return std::nullopt;
  return Value(cmps->perturbation());
}

void register_crossmodal_builtins(BuiltinTable& t) {
  const std::string g = "cross-modality re-ID";
  const Kinds kNum = bits(Kind::kNumber);
  const Kinds kStr = bits(Kind::kString);
  t.add(
      {"paired_modalities", g,
       Signature{{required("root", kStr), optional("size", kNum, Value()).whole().at_least(1),
                  optional("limit", kNum, Value()).whole().at_least(0)}}
           .returning(bits(Kind::kRecord)),
       "Visible–infrared re-ID data {visible, infrared} from root in RegDB's layout "
       "(Visible/ and Thermal/ or Infrared/, one folder per identity) or SYSU-MM01's (cam1..cam6, "
       "cam3 and cam6 infrared); same identity folder = same label; infrared kept as 3 "
       "channels; identities in one modality only are left out with a warning; size: square "
       "side; limit: the first n images of each modality.",
       "let test = paired_modalities(\"RegDB/test\", size: 64, limit: 500)", paired_modalities_of});
  t.add({"fashion_modalities", g,
         Signature{{optional("split", kStr, Value("train")).one_of({"train", "test"}),
                    optional("limit", kNum, Value()).whole().at_least(0),
                    optional_auto("seed", kNum, "from --seed")}}
             .returning(bits(Kind::kRecord)),
         "A synthetic visible–infrared stand-in from Fashion-MNIST (docs/crossmodal.md): "
         "identity = class; each class's items split between a colour camera (random garment and "
         "background colours) and a thermal one (warm garment, cool background, blur, noise, "
         "grey in 3 channels); limit: the first n items, about half per modality.",
         "let pairs = fashion_modalities(split: \"test\", limit: 200, seed: 0)",
         fashion_modalities_of});
  t.add({"zoo.reid_two_branch", "models",
         Signature{{optional("classes", kNum, Value(10)).whole().at_least(1),
                    optional("channels", kNum, Value(3)).whole().at_least(1),
                    optional("size", kNum, Value(28)).whole().at_least(4),
                    optional("embedding", kNum, Value(128)).whole().at_least(1),
                    optional("shared_stem", bits(Kind::kBool), Value(false)),
                    optional_auto("seed", kNum, "from --seed")}}
             .returning(bits(Kind::kModel)),
         "A two-branch visible–infrared re-ID network (AGW-style, small): a stem per modality "
         "(or one shared), a shared conv trunk, a BN-neck embedding and an identity head; "
         "net.branch(\"infrared\") views it through a branch, features(...) gives the embedding.",
         "let net = zoo.reid_two_branch(classes: 10, embedding: 64)", reid_two_branch});
  t.add({"model.branch", "models",
         Signature{{required("self", bits(Kind::kModel)),
                    required("modality", kStr).one_of(reid_modalities())}}
             .returning(bits(Kind::kModel)),
         "The model seen through a modality's branch (\"visible\" or \"infrared\"), sharing its "
         "weights; a one-branch model is its own branch for both.",
         "let ir = features(zoo.reid_two_branch(classes: 10).branch(\"infrared\"))", branch_of});
  t.add({"train_cross_modal", "training",
         Signature{{required("net", bits(Kind::kModel)), required("data", bits(Kind::kRecord)),
                    optional("epochs", kNum, Value(5)).whole().at_least(1),
                    optional("batch", kNum, Value(64)).whole().at_least(1),
                    optional("lr", kNum, Value(0.001)).above(0),
                    optional("margin", kNum, Value(0.3)).at_least(0),
                    optional("triplet", kNum, Value(1.0)).at_least(0),
                    optional_auto("seed", kNum, "from --seed")}}
             .returning(bits(Kind::kModel)),
         "Trains a two-branch re-ID network in place on {visible, infrared} data (AGW's recipe): "
         "each step a minibatch of each modality through its branch, identity cross-entropy on "
         "both plus triplet × a cross-modality batch-hard triplet loss with margin; Adam(lr).",
         "train_cross_modal(net, fashion_modalities(limit: 200), epochs: 1, seed: 0)",
         train_cross_modal_of});
  t.add({"cross_modal_retrieval", "retrieval",
         Signature{{required("net", bits(Kind::kModel)), required("data", bits(Kind::kRecord)),
                    optional("k", Kind::kList | Kind::kNumber, make_list({Value(1), Value(10)})),
                    optional("metric", kStr, Value("cosine")).one_of(retrieval_metric_names()),
                    optional("attack", Kind::kAttack | Kind::kNone, Value()),
                    optional("batch", kNum, Value(256)).whole().at_least(1)}}
             .returning(bits(Kind::kRecord)),
         "Cross-modality retrieval {visible_to_infrared, infrared_to_visible}, each retrieval()'s "
         "record: the queries of one modality through their branch's embedding against the other "
         "modality's gallery through its branch; attack: perturbs the queries (the gallery stays "
         "clean) and adds each direction's clean metrics as .clean.",
         "let r = cross_modal_retrieval(net, fashion_modalities(split: \"test\", limit: 100))",
         cross_modal_retrieval_of});
  t.add({"CMPS", "attacks",
         Signature{{required("threat", bits(Kind::kThreat)),
                    optional("epochs", kNum, Value(10)).whole().at_least(1),
                    optional("batch", kNum, Value(32)).whole().at_least(1),
                    optional_auto("step", kNum, "eps/12").above(0),
                    optional("momentum", kNum, Value(1)).at_least(0),
                    optional("margin", kNum, Value(0.5)).at_least(0),
                    optional("grayscale", kNum, Value(0.2)).at_least(0).at_most(1),
                    optional("modalities", kStr, Value("both")).one_of(cmps_modalities()),
                    optional("decay", kNum, Value(0.01)).at_least(0),
                    optional("centroids", kStr, Value("own")).one_of({"own", "cross"})}}
             .returning(bits(Kind::kAttack)),
         "Cross-Modality Perturbation Synergy (Gong et al. 2024): one universal perturbation "
         "for visible and infrared queries, learnt by MI-SGD on a cross-modality triplet loss "
         "against k-means identity centroids, alternating visible and infrared minibatches, with "
         "grayscale augmentation; c.fit(net, data) learns it; centroids: \"own\" (the reference "
         "code's) or \"cross\" (the paper's eq. 4/7); modalities: \"visible\" with grayscale: 0 "
         "is the UAP-Retrieval baseline. Linf or L2.",
         "attack cmps = CMPS(Linf(eps: 8 / 255)).fit(net, fashion_modalities(limit: 500))",
         make_cmps});
  t.add({"Universal", "attacks",
         Signature{{required("threat", bits(Kind::kThreat)),
                    required("perturbation", bits(Kind::kTensor))}}
             .returning(bits(Kind::kAttack)),
         "Adds one given perturbation (shaped like an input, projected onto the threat's ball) to "
         "every input: a random-noise baseline of a universal attack, or a saved one.",
         "attack noise = Universal(linf, 8 / 255 * sign(randn([1, 3, 28, 28])))", make_universal});
}

}  // namespace perturb::lang
