#pragma once
// One descriptor per kind of value: how the kind is named, which fields its values have, and how
// they save, plot, compose and take a declared name. value.cpp (names), check.cpp (fields),
// operators.cpp (`>>`, `|`, `&`), eval.cpp (declarations) and the save and plot builtins read
// the descriptors instead of naming kinds one by one. A kind's methods are the builtin table's
// entries "<kind>.<method>"; the descriptor reads them from there.
//
// Adding a kind of value takes two edits: its bit in the Kind enum (value.h), and its descriptor,
// added by the describe_<area>_kinds function in its area's file (builtins/<area>.cpp) beside
// the functions it points to.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "interpreter/ast.h"
#include "interpreter/value.h"

namespace perturb::lang {

struct CallArgs;

struct FieldSpec {
  std::string name;
  Kinds kinds = kAnyKind;
  std::string doc;  // one line
};

struct KindDescriptor {
  KindDescriptor() = default;
  KindDescriptor(Kind kind, std::string name, std::string with_article)
      : kind(kind), name(std::move(name)), with_article(std::move(with_article)) {}

  Kind kind = Kind::kNone;
  std::string name;          // "attack": in messages, and the prefix of its methods' names
  std::string with_article;  // "an attack", "paired data"
  std::vector<FieldSpec> fields;
  // The fields are all the kind has: the checker reports any other field before the script runs.
  bool fields_known = false;

  // Writes the value to path; false when this value cannot be saved. Empty: the kind never can.
  std::function<bool(const Value& value, const std::string& path)> save;
  // Draws the value as plot(value, path, ...) asks.
  std::function<void(const Value& value, CallArgs& args)> plot;
  // `left op right` for op `>>`, `|` or `&` with a value of this kind on one side; nullopt when
  // this kind does not compose the two.
  std::function<std::optional<Value>(BinaryOp op, const Value& left, const Value& right,
                                     const Span& at)>
      compose;
  // The value as a declaration names it: `attack pgd = PGD(...)` reports as "pgd".
  std::function<Value(const Value& value, const std::string& name)> declared_as;

  const FieldSpec* field(const std::string& field_name) const;
  std::vector<std::string> field_names() const;
  std::vector<std::string> methods() const;
};

class KindRegistry {
 public:
  void add(KindDescriptor descriptor);
  // Another area's kind, for the hooks of builtins that area does not own (plot draws records).
  KindDescriptor& at(Kind kind);
  // In the order of the Kind enum's bits.
  const std::map<Kinds, KindDescriptor>& all() const { return by_bit_; }

 private:
  std::map<Kinds, KindDescriptor> by_bit_;
};

const KindRegistry& kind_registry();
const KindDescriptor& descriptor_of(Kind kind);

// Each area adds the kinds it makes (and hooks for the builtins it owns).
void describe_language_kinds(KindRegistry& registry);  // none, numbers, ..., tensors, modules
void describe_threat_kinds(KindRegistry& registry);
void describe_attack_kinds(KindRegistry& registry);  // attacks and reports
void describe_policy_kinds(KindRegistry& registry);
void describe_schedule_kinds(KindRegistry& registry);  // tasks, schedules, ramps
void describe_model_kinds(KindRegistry& registry);
void describe_data_kinds(KindRegistry& registry);
void describe_train_kinds(KindRegistry& registry);       // optimizers
void describe_certify_kinds(KindRegistry& registry);     // certificates, smoothing; plot's hooks
void describe_bounds_kinds(KindRegistry& registry);      // verifiers
void describe_multimodal_kinds(KindRegistry& registry);  // paired data
void describe_ipes_kinds(KindRegistry& registry);        // IPES-GANs

}  // namespace perturb::lang
