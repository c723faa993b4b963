#include "interpreter/kinds.h"

#include <stdexcept>

#include "interpreter/builtins/table.h"
#include "interpreter/value_csv.h"
#include "interpreter/value_json.h"
#include "runtime/core/atomic_file.h"
#include "runtime/core/error.h"
#include "runtime/data/npy.h"
#include "runtime/data/torch_pickle.h"

namespace perturb::lang {
namespace {

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// JSON or CSV for a ".json" or ".csv" path (value_json.h, value_csv.h); false otherwise.
bool save_text_table(const Value& value, const std::string& path) {
  if (ends_with(path, ".json")) {
    write_file_atomic(path, json::dump(value_json(value)) + "\n");
  } else if (ends_with(path, ".csv")) {
    write_file_atomic(path, value_csv(value));
  } else {
    return false;
  }
  return true;
}

// NumPy's formats by extension, so Python reads results with numpy.load; JSON and CSV for
// .json and .csv; torch::save otherwise. A lone tensor in a .npz is named arr_0, as
// numpy.savez names a positional array.
bool save_tensor(const Value& value, const std::string& path) {
  if (save_text_table(value, path)) return true;
  torch::Tensor t = value.as<torch::Tensor>().detach().to(torch::kCPU);
  if (ends_with(path, ".npy")) {
    write_npy(path, t);
  } else if (ends_with(path, ".npz")) {
    write_npz(path, {{"arr_0", t}});
  } else {
    write_torch_save(path, t);  // what Python's torch.load reads
  }
  return true;
}

// A record is JSON or CSV for ".json" or ".csv"; a record of tensors is a .npz archive, or for
// ".pt"/".pth" a torch.save dict, one entry per field, in the record's order.
bool save_record(const Value& value, const std::string& path) {
  if (save_text_table(value, path)) return true;
  const bool torch_file = ends_with(path, ".pt") || ends_with(path, ".pth");
  if (!ends_with(path, ".npz") && !torch_file) {
    throw Error(
        "save writes a record as .json, .csv, or a .npz archive (or a .pt dict) of its tensors; "
        "give a path ending in one of these, got \"" +
        path + "\"");
  }
  NamedTensors tensors;
  for (const auto& [name, field] : value.as<RecordPtr>()->fields) {
    if (!field.is<torch::Tensor>()) {
      throw Error("save writes a record to .npz only when every field is a tensor; field '" + name +
                  "' is " + kind_with_article(field.kind()));
    }
    tensors.emplace_back(name, field.as<torch::Tensor>());
  }
  if (torch_file) {
    write_torch_save(path, tensors);
  } else {
    write_npz(path, tensors);
  }
  return true;
}

bool save_list(const Value& value, const std::string& path) {
  if (save_text_table(value, path)) return true;
  throw Error("save writes a list as .json or .csv; give a path ending in one of these, got \"" +
              path + "\"");
}

bool save_string(const Value& value, const std::string& path) {
  write_file_atomic(path, value.as<std::string>());
  return true;
}

KindDescriptor plain_kind(Kind kind, std::string name, std::string with_article,
                          bool fields_known) {
  KindDescriptor descriptor(kind, std::move(name), std::move(with_article));
  descriptor.fields_known = fields_known;
  return descriptor;
}

}  // namespace

const FieldSpec* KindDescriptor::field(const std::string& field_name) const {
  for (const auto& spec : fields) {
    if (spec.name == field_name) return &spec;
  }
  return nullptr;
}

std::vector<std::string> KindDescriptor::field_names() const {
  std::vector<std::string> names;
  for (const auto& spec : fields) names.push_back(spec.name);
  return names;
}

std::vector<std::string> KindDescriptor::methods() const {
  return builtins().members(name);
}

void KindRegistry::add(KindDescriptor descriptor) {
  const Kinds bit = bits(descriptor.kind);
  by_bit_.emplace(bit, std::move(descriptor));
}

KindDescriptor& KindRegistry::at(Kind kind) {
  auto it = by_bit_.find(bits(kind));
  if (it == by_bit_.end()) {
    throw std::logic_error("a hook for a kind not yet described (bit " +
                           std::to_string(bits(kind)) + ")");
  }
  return it->second;
}

void describe_language_kinds(KindRegistry& registry) {
  // Scalars and containers have no fields: any field read on them is a mistake.
  registry.add(plain_kind(Kind::kNone, "none", "none", true));
  registry.add(plain_kind(Kind::kBool, "bool", "a bool", true));
  registry.add(plain_kind(Kind::kNumber, "number", "a number", true));
  KindDescriptor string = plain_kind(Kind::kString, "string", "a string", true);
  string.save = save_string;
  registry.add(std::move(string));
  KindDescriptor list = plain_kind(Kind::kList, "list", "a list", true);
  list.save = save_list;
  registry.add(std::move(list));
  // A record's fields are its own keys, known when it is built.
  KindDescriptor record = plain_kind(Kind::kRecord, "record", "a record", false);
  record.save = save_record;
  registry.add(std::move(record));
  registry.add(plain_kind(Kind::kRange, "range", "a range", false));
  registry.add(plain_kind(Kind::kFunction, "function", "a function", false));
  KindDescriptor tensor = plain_kind(Kind::kTensor, "tensor", "a tensor", true);
  tensor.fields = {{"shape", bits(Kind::kList), "The size of each dimension."},
                   {"ndim", bits(Kind::kNumber), "The number of dimensions."}};
  tensor.save = save_tensor;
  registry.add(std::move(tensor));
  // A module's members are the builtin entries or the bindings of the file it was imported from.
  registry.add(plain_kind(Kind::kModule, "module", "a module", false));
}

const KindRegistry& kind_registry() {
  static const KindRegistry registry = [] {
    KindRegistry r;
    describe_language_kinds(r);
    describe_threat_kinds(r);
    describe_attack_kinds(r);
    describe_policy_kinds(r);
    describe_schedule_kinds(r);
    describe_model_kinds(r);
    describe_data_kinds(r);
    describe_train_kinds(r);
    describe_certify_kinds(r);  // after the kinds it draws: reports, lists, records
    describe_bounds_kinds(r);
    describe_multimodal_kinds(r);
    describe_ipes_kinds(r);
    return r;
  }();
  return registry;
}

const KindDescriptor& descriptor_of(Kind kind) {
  static const KindDescriptor unknown = plain_kind(Kind::kNone, "value", "a value", false);
  const auto& all = kind_registry().all();
  auto it = all.find(bits(kind));
  return it == all.end() ? unknown : it->second;
}

}  // namespace perturb::lang
