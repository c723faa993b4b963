// Models (LANGUAGE.md §3): the zoo, TorchScript and Perturb model files, save and accuracy.

#include "interpreter/builtins/model.h"

#include <filesystem>

#include "interpreter/builtins/certify.h"
#include "interpreter/builtins/denoise.h"
#include "interpreter/builtins/multimodal_objects.h"
#include "interpreter/builtins/table.h"
#include "interpreter/eval.h"
#include "interpreter/kinds.h"
#include "interpreter/operators.h"
#include "runtime/core/error.h"
#include "runtime/core/random.h"
#include "runtime/data/npy.h"
#include "runtime/data/torch_pickle.h"
#include "runtime/eval/evaluate.h"
#include "runtime/model/zoo.h"
#include "runtime/model/zoo_two_tower.h"

namespace perturb::lang {
namespace {

Value model_value(ModelPtr model) {
  return Value(ObjectPtr(std::make_shared<ModelObject>(std::move(model))));
}

BuiltinImpl zoo_constructor(const std::string& architecture) {
  return [architecture](CallArgs& args) -> Value {
    ZooOptions options;
    options.classes = args.integer("classes");
    options.channels = args.integer("channels");
    options.height = args.integer("size");
    options.width = options.height;
    if (architecture == "wrn") {
      options.depth = args.integer("depth");
      options.widen = args.integer("widen");
    }
    // Without an explicit seed the weights come from the script's generator, so --seed decides
    // them.
    uint64_t seed = args.has("seed") ? static_cast<uint64_t>(args.integer("seed"))
                                     : next_seed(args.interp.generator());
    ModelPtr model = make_zoo_model(architecture, options, seed);
    model->to(args.interp.device());
    return model_value(model);
  };
}

// A classifier or a two-tower written to path (atomic); false for any other value.
bool save_model(const Value& value, const std::string& path) {
  if (auto model = value.object<ModelObject>()) {
    model->model->save(path);
  } else if (auto tower = value.object<TwoTowerObject>()) {
    tower->model->save(path);
  } else {
    return false;
  }
  return true;
}

Value save_value(CallArgs& args) {
  const Value& value = args.get("value");
  const std::string& path = args.string("path");
  const auto& save = descriptor_of(value.kind()).save;
  if (!save || !save(value, path)) {
    args.fail(
        "save writes a model, a report, a certificate, a tensor, a record, a list or a string, "
        "got " +
        kind_with_article(value.kind()));
  }
  return Value();
}

// m.save(path): a text encoder is a model too, but only saved inside its two-tower.
Value model_save(CallArgs& args) {
  if (!save_model(args.get("model"), args.string("path"))) {
    args.fail("this model cannot be saved on its own; save the two-tower model it is part of");
  }
  return Value();
}

bool has_extension(const std::string& path, const std::string& extension) {
  return path.size() >= extension.size() &&
         path.compare(path.size() - extension.size(), extension.size(), extension) == 0;
}

// A model file, or NumPy arrays by extension: a .npy is a tensor, a .npz a record of tensors.
Value record_of(NamedTensors tensors) {
  auto record = std::make_shared<Record>();
  for (auto& [name, tensor] : tensors) record->set(name, Value(std::move(tensor)));
  return Value(record);
}

Value load_value(CallArgs& args) {
  const std::string& path = args.string("path");
  // A named pipe would block the read forever and a device (/dev/zero) never end it.
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  if (!error && std::filesystem::exists(status) && !std::filesystem::is_regular_file(status) &&
      !std::filesystem::is_directory(status)) {
    throw perturb::IoError("'" + path + "' is not a regular file (a named pipe, socket or device)");
  }
  if (has_extension(path, ".npy")) return Value(read_npy(path));
  if (has_extension(path, ".npz")) return record_of(read_npz(path));
  // A two-tower saved by Perturb comes back as a two-tower (builtins/multimodal.cpp).
  if (auto tower = load_two_tower_file(path, args.interp.device()))
    return Value(ObjectPtr(std::make_shared<TwoTowerObject>(tower)));
  try {
    return model_value(load_model(path, args.interp.device()));
  } catch (const perturb::IoError&) {
    throw;
  } catch (const perturb::Error&) {
    // Not a model: tensors saved with Python's torch.save (or save(..., "x.pt")).
    auto saved = try_read_torch_save(path);
    if (!saved) {
      throw Error("'" + path +
                  "' is neither a Perturb model, a TorchScript module, nor tensors saved with "
                  "torch.save");
    }
    if (saved->tensor.defined()) return Value(saved->tensor);
    return record_of(std::move(saved->named));
  }
}

Value accuracy_of(CallArgs& args) {
  auto model = args.object<ModelObject>("model", Kind::kModel)->model;
  auto [x, y] = args.labelled_batch();
  return Value(accuracy(*model, x, y));
}

}  // namespace

void describe_model_kinds(KindRegistry& registry) {
  KindDescriptor model(Kind::kModel, "model", "a model");
  model.save = save_model;
  model.compose = compose_models;  // den >> classifier
  registry.add(std::move(model));
}

void register_model_builtins(BuiltinTable& t) {
  const std::string g = "models";
  for (const std::string& arch : zoo_architectures()) {
    std::vector<ParamSpec> params = {optional("classes", bits(Kind::kNumber), Value(10)),
                                     optional("channels", bits(Kind::kNumber), Value(1)),
                                     optional("size", bits(Kind::kNumber), Value(28))};
    if (arch == "wrn") {
      params.push_back(optional("depth", bits(Kind::kNumber), Value(28)));
      params.push_back(optional("widen", bits(Kind::kNumber), Value(10)));
    }
    params.push_back(optional_auto("seed", bits(Kind::kNumber), "from --seed"));
    t.add({"zoo." + arch, g, Signature{std::move(params)}.returning(bits(Kind::kModel)),
           "A freshly initialised " + arch + " (" + zoo_layers(arch) +
               ", ReLU) for size×size images with the given channels and classes.",
           arch == "wrn" ? "zoo.wrn(classes: 10, channels: 3, size: 32, depth: 16, widen: 4)"
                         : "zoo." + arch + "(classes: 10)",
           zoo_constructor(arch)});
  }
  t.add({"load", g,
         Signature{{required("path", bits(Kind::kString))}}.returning(Kind::kModel | Kind::kTensor |
                                                                      Kind::kRecord),
         "A model from a TorchScript file exported from PyTorch or a model saved by Perturb (a "
         "saved two-tower comes back as a two-tower); a NumPy .npy file as a tensor, a .npz as a "
         "record of tensors; a file of Python's torch.save as a tensor or a record "
         "(docs/formats.md).",
         "load(\"model.ts\")", load_value});
  t.add({"save", g,
         Signature{{required("value", kAnyKind), required("path", bits(Kind::kString))}}.returning(
             bits(Kind::kNone)),
         "Writes a model, report or certificate (JSON, or CSV for .csv), tensor (.npy/.npz/.json/"
         ".csv by extension, else torch.save's format), record or list (.json, or .csv when "
         "tabular; a record of tensors also .npz or a .pt dict) or string to path, atomically "
         "(temp file, then rename; docs/formats.md).",
         "save(report, \"runs/eval.json\")", save_value});
  t.add({"model.save", g,
         Signature{{required("model", bits(Kind::kModel)), required("path", bits(Kind::kString))}}
             .returning(bits(Kind::kNone)),
         "Writes the model to path atomically (as save(model, path)); load(path) reads it back.",
         "zoo.small_cnn(classes: 10).save(\"runs/net.pt\")", model_save});
  t.add({"accuracy", g,
         Signature{{required("model", bits(Kind::kModel)), required("x", bits(Kind::kTensor)),
                    required("y", bits(Kind::kTensor))}}
             .returning(bits(Kind::kNumber)),
         "Fraction of correct top-1 predictions of model on (x, y).",
         "accuracy(net, test_set.x, test_set.y)", accuracy_of});
}

}  // namespace perturb::lang
