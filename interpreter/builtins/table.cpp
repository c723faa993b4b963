#include "interpreter/builtins/table.h"

#include <algorithm>
#include <cmath>

#include "interpreter/builtins/binding.h"
#include "interpreter/builtins/whole.h"
#include "interpreter/diagnostics.h"
#include "interpreter/eval.h"
#include "interpreter/operators.h"
#include "runtime/report/choices.h"

namespace perturb::lang {

void BuiltinTable::add(Builtin builtin) {
  std::string name = builtin.name;
  entries_[name] = std::move(builtin);
}

void BuiltinTable::mark_writes_files(const std::string& name) {
  auto it = entries_.find(name);
  if (it == entries_.end()) throw std::logic_error("no builtin '" + name + "' to mark");
  it->second.writes_files = true;
}

const Builtin* BuiltinTable::find(const std::string& name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

std::vector<std::string> BuiltinTable::global_names() const {
  std::vector<std::string> names;
  for (const auto& [name, entry] : entries_) {
    if (name.find('.') == std::string::npos) names.push_back(name);
  }
  return names;
}

std::vector<std::string> BuiltinTable::members(const std::string& prefix) const {
  std::vector<std::string> names;
  const std::string head = prefix + ".";
  for (const auto& [name, entry] : entries_) {
    if (name.compare(0, head.size(), head) == 0) names.push_back(name.substr(head.size()));
  }
  return names;
}

const BuiltinTable& builtins() {
  static const BuiltinTable table = [] {
    BuiltinTable t;
    register_core_builtins(t);
    register_tensor_builtins(t);
    register_data_builtins(t);
    register_model_builtins(t);
    register_threat_builtins(t);
    register_attack_builtins(t);
    register_train_builtins(t);
    register_policy_builtins(t);
    register_certify_builtins(t);
    register_bounds_builtins(t);
    register_denoise_builtins(t);
    register_schedule_builtins(t);
    register_image_builtins(t);
    register_retrieval_builtins(t);
    register_text_builtins(t);
    register_multimodal_builtins(t);
    register_mmattack_builtins(t);
    register_ma2t_builtins(t);
    register_cmda_builtins(t);
    register_crossmodal_builtins(t);
    register_ipes_builtins(t);
    for (const char* name : {"save", "model.save", "plot", "show", "images"}) {
      t.mark_writes_files(name);
    }
    return t;
  }();
  return table;
}

const std::vector<std::string>& builtin_modules() {
  static const std::vector<std::string> modules = {"zoo"};
  return modules;
}

ParamSpec required(std::string name, Kinds kinds) {
  ParamSpec p;
  p.name = std::move(name);
  p.kinds = kinds;
  return p;
}

ParamSpec optional(std::string name, Kinds kinds, Value default_value) {
  ParamSpec p;
  p.name = std::move(name);
  p.kinds = kinds;
  p.optional = true;
  if (!default_value.is_none()) p.default_value = std::move(default_value);
  return p;
}

ParamSpec optional_auto(std::string name, Kinds kinds, std::string default_text) {
  ParamSpec p;
  p.name = std::move(name);
  p.kinds = kinds;
  p.optional = true;
  p.default_text = std::move(default_text);
  return p;
}

ParamSpec& ParamSpec::whole() {
  whole_number = true;
  return *this;
}

ParamSpec& ParamSpec::at_least(double value) {
  minimum = Bound{value, false};
  return *this;
}

ParamSpec& ParamSpec::above(double value) {
  minimum = Bound{value, true};
  return *this;
}

ParamSpec& ParamSpec::at_most(double value) {
  maximum = Bound{value, false};
  return *this;
}

ParamSpec& ParamSpec::below(double value) {
  maximum = Bound{value, true};
  return *this;
}

ParamSpec& ParamSpec::one_of(std::vector<std::string> allowed) {
  choices = std::move(allowed);
  return *this;
}

ParamSpec& ParamSpec::doc(std::string line) {
  summary = std::move(line);
  return *this;
}

Signature& Signature::takes_more_positional() {
  variadic = true;
  return *this;
}

Signature& Signature::takes_any_named() {
  open_named = true;
  return *this;
}

Signature& Signature::returning(Kinds kinds) {
  returns = kinds;
  return *this;
}

std::string signature_text(const Builtin& builtin) {
  std::string text = builtin.name + "(";
  const auto& params = builtin.signature.params;
  for (size_t i = 0; i < params.size(); ++i) {
    const auto& p = params[i];
    text += (i ? ", " : "") + p.name;
    if (p.kinds != kAnyKind) {
      std::string kinds;
      for (Kind k : kinds_in(p.kinds))
        kinds += (kinds.empty() ? "" : "|") + std::string(kind_name(k));
      text += ": " + kinds;
    }
    if (p.default_value) {
      text += " = " + format_value(*p.default_value, true);
    } else if (!p.default_text.empty()) {
      text += " = " + p.default_text;
    } else if (p.optional) {
      text += " = none";
    }
  }
  if (builtin.signature.variadic) text += params.empty() ? "..." : ", ...";
  if (builtin.signature.open_named) text += params.empty() ? "name: value..." : ", name: value...";
  text += ")";
  if (builtin.signature.returns != kAnyKind) {
    std::string kinds;
    for (Kind k : kinds_in(builtin.signature.returns))
      kinds += (kinds.empty() ? "" : "|") + std::string(kind_name(k));
    text += " -> " + kinds;
  }
  return text;
}

size_t CallArgs::index(const std::string& name) const {
  const auto& params = builtin.signature.params;
  for (size_t i = 0; i < params.size(); ++i) {
    if (params[i].name == name) return i;
  }
  throw std::logic_error("builtin " + builtin.name + " has no parameter " + name);
}

bool CallArgs::has(const std::string& name) const {
  const auto& v = values[index(name)];
  return v.has_value() && !v->is_none();
}

const Value& CallArgs::get(const std::string& name) const {
  const auto& v = values[index(name)];
  if (!v) fail(display_name(builtin) + " is missing its argument '" + name + "'");
  return *v;
}

const Span& CallArgs::span_of(const std::string& name) const {
  return spans[index(name)];
}

namespace {

// The allowed range of a number, as the end of "must be ...": "at least 1", "a positive
// number", "between 0 and 1 (exclusive)"; "" when unbounded.
std::string range_text(const ParamSpec& p) {
  const auto& lo = p.minimum;
  const auto& hi = p.maximum;
  if (lo && hi) {
    std::string text = "between " + format_number(lo->value);
    if (lo->exclusive && hi->exclusive)
      return text + " and " + format_number(hi->value) + " (exclusive)";
    if (lo->exclusive) text += " (exclusive)";
    text += " and " + format_number(hi->value);
    return hi->exclusive ? text + " (exclusive)" : text;
  }
  if (lo && lo->exclusive) {
    return lo->value == 0 ? "a positive number" : "greater than " + format_number(lo->value);
  }
  if (lo) return "at least " + format_number(lo->value);
  if (hi) return (hi->exclusive ? "less than " : "at most ") + format_number(hi->value);
  return "";
}

// Written so that NaN is never in range.
bool in_range(const ParamSpec& p, double x) {
  if (const auto& lo = p.minimum; lo && !(lo->exclusive ? x > lo->value : x >= lo->value))
    return false;
  const auto& hi = p.maximum;
  return !hi || (hi->exclusive ? x < hi->value : x <= hi->value);
}

// What a parameter with choices allows: `a number, "random" or "least_likely"`.
std::string choices_text(const ParamSpec& p) {
  std::vector<std::string> alternatives;
  if (has_kind(p.kinds, Kind::kNumber)) alternatives.push_back("a number");
  for (const auto& choice : p.choices) alternatives.push_back("\"" + choice + "\"");
  if (has_kind(p.kinds, Kind::kFunction)) alternatives.push_back("a function");
  return format_alternatives(alternatives);
}

// What a builtin wants when the value has the right kind but is of another sort: an image
// classifier rather than a two-tower model, an image threat rather than a text threat...
std::string sort_wanted(Kind kind) {
  switch (kind) {
    case Kind::kModel:
      return "an image classifier";
    case Kind::kThreat:
      return "an image threat (Linf, L2, a transformation...)";
    case Kind::kAttack:
      return "an attack on image classifiers";
    default:
      return "another " + std::string(kind_name(kind));
  }
}

}  // namespace

bool is_whole(double x) {
  return x == std::floor(x) && std::abs(x) <= 9.0e15;
}

void CallArgs::fail_kind(const std::string& name, Kind expected) const {
  Kind got = get(name).kind();
  if (got == expected) {
    std::string value = format_value(get(name));
    value = value.substr(0, value.find('\n'));
    fail_at(name, display_name(builtin) + " expects " + sort_wanted(expected) + " for '" + name +
                      "', got " + value);
  }
  fail_at(name, display_name(builtin) + " expects " + kind_with_article(expected) + " for '" +
                    name + "', got " + kind_with_article(got));
}

void CallArgs::fail(const std::string& message) const {
  throw_runtime_error(span, message);
}

void CallArgs::fail_at(const std::string& name, const std::string& message) const {
  throw_runtime_error(span_of(name), message);
}

std::string rules_text(const ParamSpec& p) {
  std::vector<std::string> parts;
  if (p.whole_number) parts.push_back("a whole number");
  if (std::string range = range_text(p); !range.empty()) parts.push_back(range);
  if (!p.choices.empty()) parts.push_back(choices_text(p));
  std::string text;
  for (const auto& part : parts) text += (text.empty() ? "" : ", ") + part;
  return text;
}

void CallArgs::check_value_rules() const {
  const auto& params = builtin.signature.params;
  for (size_t i = 0; i < params.size(); ++i) {
    if (!values[i]) continue;
    const ParamSpec& p = params[i];
    const std::string owner = display_name(builtin) + "'s " + p.name + " must be ";
    if (values[i]->is<double>()) {
      const double x = values[i]->as<double>();
      if (p.whole_number) integer(p.name);  // its error says "must be a whole number"
      if (!in_range(p, x)) fail_at(p.name, owner + range_text(p) + ", got " + format_number(x));
    } else if (values[i]->is<std::string>() && !p.choices.empty()) {
      const std::string& s = values[i]->as<std::string>();
      if (!is_one_of(s, p.choices))
        fail_at(p.name, owner + choices_text(p) + ", got \"" + s + "\"");
    }
  }
}

std::vector<double> CallArgs::numbers(const std::string& name) const {
  std::vector<double> out;
  for (const auto& item : *get(name).as<ListPtr>()) {
    if (!item.is<double>()) {
      fail_at(name, name + " must be a list of numbers, found " + kind_with_article(item.kind()));
    }
    out.push_back(item.as<double>());
  }
  return out;
}

uint64_t CallArgs::seed() const {
  return has("seed") ? static_cast<uint64_t>(integer("seed")) : interp.options().seed;
}

double CallArgs::number(const std::string& name) const {
  const Value& v = get(name);
  if (v.is<double>()) return v.as<double>();
  if (v.is<bool>()) return v.as<bool>() ? 1 : 0;
  if (v.is<torch::Tensor>() && v.as<torch::Tensor>().numel() == 1) {
    return v.as<torch::Tensor>().item<double>();
  }
  fail_kind(name, Kind::kNumber);
}

int64_t CallArgs::integer(const std::string& name) const {
  double x = number(name);
  if (!is_whole(x)) {
    fail_at(name, display_name(builtin) + "'s " + name + " must be a whole number, got " +
                      format_number(x));
  }
  return static_cast<int64_t>(x);
}

bool CallArgs::boolean(const std::string& name) const {
  const Value& v = get(name);
  if (!v.is<bool>()) fail_kind(name, Kind::kBool);
  return v.as<bool>();
}

const std::string& CallArgs::string(const std::string& name) const {
  const Value& v = get(name);
  if (!v.is<std::string>()) fail_kind(name, Kind::kString);
  return v.as<std::string>();
}

torch::Tensor CallArgs::tensor(const std::string& name) const {
  const Value& v = get(name);
  if (v.is<torch::Tensor>()) return v.as<torch::Tensor>();
  if (v.is<double>()) {
    return torch::tensor(v.as<double>(),
                         torch::TensorOptions().dtype(torch::kFloat32).device(interp.device()));
  }
  fail_kind(name, Kind::kTensor);
}

std::pair<torch::Tensor, torch::Tensor> CallArgs::labelled_batch() const {
  torch::Tensor x = tensor("x"), y = tensor("y");
  if (x.dim() < 2 || y.dim() != 1 || x.size(0) != y.size(0)) {
    fail(display_name(builtin) + " expects inputs N×... and N labels, got " + shape_string(x) +
         " and " + shape_string(y));
  }
  return {x, y};
}

}  // namespace perturb::lang
