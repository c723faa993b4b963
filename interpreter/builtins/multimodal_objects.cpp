#include "interpreter/builtins/multimodal_objects.h"

#include "interpreter/builtins/binding.h"
#include "interpreter/builtins/model.h"
#include "interpreter/builtins/table.h"
#include "interpreter/builtins/threat.h"
#include "interpreter/diagnostics.h"
#include "interpreter/kinds.h"

namespace perturb::lang {

std::optional<Value> PairsObject::field(const std::string& name) const {
  if (name == "images") return Value(data.images);
  if (name == "labels") return data.labels.defined() ? Value(data.labels) : Value();
  if (name == "name") return Value(data.name);
  if (name == "size") return Value(data.size());
  if (name == "captions") {
    std::vector<Value> per_image;
    per_image.reserve(data.captions.size());
    for (const auto& captions : data.captions) {
      per_image.push_back(make_list(std::vector<Value>(captions.begin(), captions.end())));
    }
    return make_list(std::move(per_image));
  }
  return std::nullopt;
}

std::optional<Value> PairThreatObject::field(const std::string& name) const {
  if (name == "image") {
    return threat.image ? Value(ObjectPtr(std::make_shared<ThreatObject>(threat.image))) : Value();
  }
  if (name == "text") {
    return threat.text ? Value(ObjectPtr(
                             std::make_shared<PairThreatObject>(PairThreat{nullptr, threat.text})))
                       : Value();
  }
  return std::nullopt;
}

std::optional<Value> MultimodalAttackObject::field(const std::string& field_name) const {
  if (field_name == "name") return Value(name);
  if (field_name == "threat") {
    return Value(ObjectPtr(std::make_shared<PairThreatObject>(attack->threat())));
  }
  return std::nullopt;
}

void describe_multimodal_kinds(KindRegistry& registry) {
  KindDescriptor pairs(Kind::kPairs, "pairs", "paired data");
  pairs.fields = {{"images", bits(Kind::kTensor), "The images, one per row."},
                  {"captions", bits(Kind::kList), "Each image's list of captions."},
                  {"labels", Kind::kTensor | Kind::kNone, "Class labels, where the data has them."},
                  {"name", bits(Kind::kString), "Where it came from."},
                  {"size", bits(Kind::kNumber), "How many images it holds."}};
  pairs.fields_known = true;
  registry.add(std::move(pairs));
}

TwoTowerPtr two_tower_arg(const CallArgs& args, const std::string& name) {
  const Value& value = args.get(name);
  if (auto tower = value.object<TwoTowerObject>()) return tower->model;
  auto classifier = value.object<ModelObject>();
  args.fail_at(name, display_name(args.builtin) +
                         " needs an image–text (two-tower) model, zoo.two_tower(...) or "
                         "load_two_tower(...), for '" +
                         name + "'; got " +
                         (classifier ? "the image classifier " + classifier->model->describe()
                                     : format_value(value)));
}

const PairedDataset& pairs_arg(const CallArgs& args, const std::string& name) {
  const Value& value = args.get(name);
  if (auto pairs = value.object<PairsObject>()) return pairs->data;
  args.fail_at(name, display_name(args.builtin) +
                         " needs captioned images (fashion_captions(...) or "
                         "pairs(images:, captions:)) for '" +
                         name + "', got " + kind_with_article(value.kind()));
}

}  // namespace perturb::lang
