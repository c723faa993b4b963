#pragma once
// The one table of builtins. Each entry binds a name to a runtime call and carries its signature
// (positional order, named parameters, defaults, kinds, value rules) and a one-line doc: the
// checker, the evaluator, the REPL's :help and the generated reference docs all read this table.
//
// Methods are entries named "<kind>.<method>" (e.g. "threat.project"); their first parameter is
// the receiver. Module members are entries named "<module>.<member>" (e.g. "zoo.small_cnn").

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "interpreter/source.h"
#include "interpreter/value.h"

namespace perturb::lang {

class Interpreter;
struct Builtin;

// One end of a number's allowed range.
struct Bound {
  double value = 0;
  bool exclusive = false;  // the value itself is not allowed (sigma > 0)
};

// A parameter: its kinds, its default, the rules its value must follow and a one-line doc. Built
// from required(...) or optional(...) with named rules, e.g.
//   optional("steps", kNumber, Value(10)).whole().at_least(1).doc("iterations")
// The rules are checked once, when a call's arguments are bound (check_value_rules).
struct ParamSpec {
  std::string name;
  Kinds kinds = kAnyKind;
  std::optional<Value> default_value;  // set → optional with this default
  std::string default_text;            // for docs when the default is computed ("auto")
  bool optional = false;               // may be left out (with or without a default)
  bool whole_number = false;           // a number must be an integer
  std::optional<Bound> minimum, maximum;
  std::vector<std::string> choices;  // a string must be one of these
  std::string summary;               // one line for :help and the reference

  ParamSpec& whole();
  ParamSpec& at_least(double value);
  ParamSpec& above(double value);
  ParamSpec& at_most(double value);
  ParamSpec& below(double value);
  ParamSpec& one_of(std::vector<std::string> allowed);
  ParamSpec& doc(std::string line);
};

// Parameters, then what else a call may pass and what it returns, e.g.
//   Signature{params}.returning(kAttackKind)
struct Signature {
  std::vector<ParamSpec> params;
  bool variadic = false;    // extra positional arguments go to CallArgs::rest (print)
  bool open_named = false;  // any named argument is accepted (t.with(eps: 0.2))
  Kinds returns = kAnyKind;

  Signature& takes_more_positional();
  Signature& takes_any_named();
  Signature& returning(Kinds kinds);
};

// The arguments of one call, bound to the signature: defaults filled in, kinds not yet checked.
struct CallArgs {
  Interpreter& interp;
  const Builtin& builtin;
  Span span;                                 // the call site
  std::vector<std::optional<Value>> values;  // by parameter index
  std::vector<Span> spans;                   // where each argument was written (or the call site)
  std::vector<Value> rest;                   // extra positionals for variadic builtins
  std::vector<std::pair<std::string, Value>> named_rest;  // for open_named builtins

  bool has(const std::string& name) const;          // given (or defaulted) and not none
  const Value& get(const std::string& name) const;  // error when absent
  // Typed reads that fail with a message in the user's terms, at the argument's position.
  double number(const std::string& name) const;
  int64_t integer(const std::string& name) const;
  bool boolean(const std::string& name) const;
  const std::string& string(const std::string& name) const;
  torch::Tensor tensor(const std::string& name) const;         // numbers become 0-d tensors
  std::vector<double> numbers(const std::string& name) const;  // a list of numbers
  // The "seed" argument when given (and not none), else the session's --seed.
  uint64_t seed() const;
  // The "x" and "y" arguments as a batch of N inputs and N labels, or an error naming both shapes.
  std::pair<torch::Tensor, torch::Tensor> labelled_batch() const;
  template <typename T>
  std::shared_ptr<T> object(const std::string& name, Kind kind) const {
    auto obj = get(name).object<T>();
    if (!obj) fail_kind(name, kind);
    return obj;
  }
  const Span& span_of(const std::string& name) const;
  [[noreturn]] void fail_kind(const std::string& name, Kind expected) const;
  // A located error: at the call, or at the argument `name`.
  [[noreturn]] void fail(const std::string& message) const;
  [[noreturn]] void fail_at(const std::string& name, const std::string& message) const;
  // Every argument against its parameter's value rules (whole, bounds, choices); an error at the
  // first that breaks one: "PGD's steps must be at least 1, got 0".
  void check_value_rules() const;

 private:
  size_t index(const std::string& name) const;
};

using BuiltinImpl = std::function<Value(CallArgs&)>;

struct Builtin {
  std::string name;   // "PGD", "threat.project", "zoo.small_cnn"
  std::string group;  // "threats", "attacks", ... for docs
  Signature signature;
  std::string doc;      // one line
  std::string example;  // a line of Perturb
  BuiltinImpl impl;     // null for special forms the evaluator implements (grad)
  // Not in this build yet: the checker accepts calls, running one is a clear runtime error.
  std::string planned;
  // Writes a file the user asked for (save, plot, ...): in a group of processes rank 0 alone
  // writes it and the others wait until it is written (docs/distributed.md).
  bool writes_files = false;
};

class BuiltinTable {
 public:
  void add(Builtin builtin);
  void mark_writes_files(const std::string& name);
  const Builtin* find(const std::string& name) const;
  // Entries whose name has no '.' (global functions), sorted.
  std::vector<std::string> global_names() const;
  // Members of a module or methods of a kind: the part after "<prefix>.".
  std::vector<std::string> members(const std::string& prefix) const;
  const std::map<std::string, Builtin>& all() const { return entries_; }

 private:
  std::map<std::string, Builtin> entries_;
};

// The table, built once on first use.
const BuiltinTable& builtins();

// Modules that are values in the global scope (`zoo`): their members are table entries.
const std::vector<std::string>& builtin_modules();

// `PGD(threat: threat, steps: number = 10, ...) -> attack` for :help and the docs.
std::string signature_text(const Builtin& builtin);

// A parameter's value rules for :help and the docs: "a whole number, at least 1",
// "\"gradient\" or \"grid\""; "" when it has none.
std::string rules_text(const ParamSpec& p);

// Registration by area; each lives in its own builtins/<area>.cpp.
void register_core_builtins(BuiltinTable& table);
void register_tensor_builtins(BuiltinTable& table);
void register_data_builtins(BuiltinTable& table);
void register_model_builtins(BuiltinTable& table);
void register_threat_builtins(BuiltinTable& table);
void register_attack_builtins(BuiltinTable& table);
void register_train_builtins(BuiltinTable& table);
void register_policy_builtins(BuiltinTable& table);
void register_certify_builtins(BuiltinTable& table);
void register_bounds_builtins(BuiltinTable& table);
void register_denoise_builtins(BuiltinTable& table);
void register_schedule_builtins(BuiltinTable& table);
void register_image_builtins(BuiltinTable& table);
void register_retrieval_builtins(BuiltinTable& table);
// Image–text: captioned data and text; two-tower models and contrastive training;
// multimodal threats and attacks; MA²T augmentation and analysis; CMDA.
void register_text_builtins(BuiltinTable& table);
void register_multimodal_builtins(BuiltinTable& table);
void register_mmattack_builtins(BuiltinTable& table);
void register_ma2t_builtins(BuiltinTable& table);
void register_cmda_builtins(BuiltinTable& table);
void register_crossmodal_builtins(BuiltinTable& table);
void register_ipes_builtins(BuiltinTable& table);

// Shorthands for table entries.
ParamSpec required(std::string name, Kinds kinds);
ParamSpec optional(std::string name, Kinds kinds, Value default_value);
ParamSpec optional_auto(std::string name, Kinds kinds, std::string default_text);

}  // namespace perturb::lang
