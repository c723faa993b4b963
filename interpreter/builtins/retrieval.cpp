// Retrieval and re-identification: feature (embedding) models and the retrieval metrics
// Recall@K, CMC and mAP, clean or under a query attack (runtime/eval/retrieval.h). The feature
// attacks themselves are the gradient attacks with objective: "feature" (builtins/attack.cpp,
// runtime/attack/feature.h).

#include "runtime/eval/retrieval.h"
#include "interpreter/builtins/attack.h"
#include "interpreter/builtins/binding.h"
#include "interpreter/builtins/data.h"
#include "interpreter/builtins/model.h"
#include "interpreter/builtins/retrieval.h"
#include "interpreter/builtins/table.h"
#include "interpreter/builtins/whole.h"
#include "interpreter/eval.h"
#include "runtime/model/features.h"

namespace perturb::lang {
namespace {

Value features_of(CallArgs& args) {
  auto model = args.object<ModelObject>("model", Kind::kModel)->model;
  return Value(ObjectPtr(std::make_shared<ModelObject>(make_feature_model(model))));
}

}  // namespace

std::vector<int64_t> retrieval_ks(CallArgs& args) {
  std::vector<int64_t> ks;
  const Value& k = args.get("k");
  if (k.is<double>()) {
    ks.push_back(args.integer("k"));
  } else {
    for (const auto& item : *k.as<ListPtr>()) {
      if (!item.is<double>() || !is_whole(item.as<double>())) {
        args.fail_at("k", "retrieval's k must be a list of whole numbers, found " +
                              (item.is<double>() ? format_number(item.as<double>())
                                                 : kind_with_article(item.kind())));
      }
      ks.push_back(static_cast<int64_t>(item.as<double>()));
    }
  }
  for (int64_t value : ks) {
    if (value < 1) {
      args.fail_at("k", "retrieval's k must be at least 1, got " + std::to_string(value));
    }
  }
  if (ks.empty()) args.fail_at("k", "retrieval's k must not be empty");
  return ks;
}

namespace {

Value numbers(const std::vector<double>& values) {
  std::vector<Value> items;
  for (double v : values) items.emplace_back(v);
  return make_list(std::move(items));
}

}  // namespace

RecordPtr retrieval_record(const RetrievalResult& r) {
  auto record = std::make_shared<Record>();
  std::vector<Value> ks;
  for (int64_t k : r.ks) ks.emplace_back(k);
  record->set("k", make_list(std::move(ks)));
  record->set("recall", numbers(r.recall));
  record->set("cmc", numbers(r.cmc));
  record->set("map", Value(r.map));
  record->set("queries", Value(r.queries));
  record->set("unmatched", Value(r.unmatched));
  return record;
}

namespace {

Value retrieval_of(CallArgs& args) {
  auto model = args.object<ModelObject>("model", Kind::kModel)->model;
  const Dataset& queries = args.object<DatasetObject>("queries", Kind::kDataset)->data;
  const Dataset* gallery = nullptr;
  if (args.has("gallery")) gallery = &args.object<DatasetObject>("gallery", Kind::kDataset)->data;
  RetrievalOptions options;
  options.ks = retrieval_ks(args);
  options.metric = args.string("metric");
  options.batch = args.integer("batch");
  AttackPtr attack;
  if (args.has("attack")) {
    attack = args.object<AttackObject>("attack", Kind::kAttack)->attack;
  }
  const RetrievalResult r =
      evaluate_retrieval(*model, queries, gallery, options, attack.get(), &args.interp.generator());
  RecordPtr record = retrieval_record(r);
  if (attack) {
    // Before and after in one call: the clean metrics beside the attacked ones.
    record->set("clean",
                Value(retrieval_record(evaluate_retrieval(*model, queries, gallery, options))));
  }
  return Value(record);
}

}  // namespace

void register_retrieval_builtins(BuiltinTable& t) {
  const std::string g = "retrieval";
  t.add({"features", g,
         Signature{{required("model", bits(Kind::kModel))}}.returning(bits(Kind::kModel)),
         "The model's embedding: a zoo model up to its last Linear layer (the penultimate "
         "features), or a TorchScript module's features()/embed() method; shares the weights.",
         "let f = features(net)", features_of});
  t.add(
      {"retrieval", g,
       Signature{
           {required("model", bits(Kind::kModel)), required("queries", bits(Kind::kDataset)),
            optional("gallery", Kind::kDataset | Kind::kNone, Value()),
            optional("k", Kind::kList | Kind::kNumber, make_list({Value(1), Value(5), Value(10)})),
            optional("metric", bits(Kind::kString), Value("euclidean"))
                .one_of(retrieval_metric_names()),
            optional("attack", Kind::kAttack | Kind::kNone, Value()),
            optional("batch", bits(Kind::kNumber), Value(256)).whole().at_least(1)}}
           .returning(bits(Kind::kRecord)),
       "Retrieval metrics of the model's outputs as embeddings: {k, recall (Recall@K per k), "
       "cmc (ranks 1..max k), map, queries, unmatched}; same label = match; no gallery = "
       "leave-one-out; attack: perturbs the queries (the gallery stays clean) and adds the "
       "clean metrics as .clean.",
       "let r = retrieval(features(net), fashion_mnist(split: \"test\", limit: 100),\n"
       "                  fashion_mnist(split: \"train\", limit: 500), k: [1, 5], attack: pgd)",
       retrieval_of});
}

}  // namespace perturb::lang
