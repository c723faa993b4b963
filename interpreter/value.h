#pragma once
// The language's values: a small variant of numbers, strings, containers, functions, tensors and
// handles to runtime objects. The interpreter knows nothing of tensors beyond holding them.

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace perturb::lang {

// Static and dynamic kinds. Kinds are bits so the checker can say "a threat or a policy".
enum class Kind : uint32_t {
  kNone = 1u << 0,
  kBool = 1u << 1,
  kNumber = 1u << 2,
  kString = 1u << 3,
  kList = 1u << 4,
  kRecord = 1u << 5,
  kRange = 1u << 6,
  kFunction = 1u << 7,
  kTensor = 1u << 8,
  kThreat = 1u << 9,
  kAttack = 1u << 10,
  kPolicy = 1u << 11,
  kSchedule = 1u << 12,
  kTask = 1u << 13,
  kModel = 1u << 14,
  kDataset = 1u << 15,
  kReport = 1u << 16,
  kCertificate = 1u << 17,
  kOptimizer = 1u << 18,
  kSmoothing = 1u << 19,
  kModule = 1u << 20,
  kRamp = 1u << 21,
  kVerifier = 1u << 22,  // a bound-propagation certification method: IBP(threat)
  kPairs = 1u << 23,     // captioned images: fashion_captions(...), pairs(images:, captions:)
  kGan = 1u << 24,       // an IPES-GAN: train_ipes(...) (builtins/ipes.cpp)
};

using Kinds = uint32_t;
constexpr Kinds kAnyKind = 0xFFFFFFFFu;
constexpr Kinds operator|(Kind a, Kind b) {
  return static_cast<Kinds>(a) | static_cast<Kinds>(b);
}
constexpr Kinds operator|(Kinds a, Kind b) {
  return a | static_cast<Kinds>(b);
}
constexpr Kinds bits(Kind k) {
  return static_cast<Kinds>(k);
}
inline bool has_kind(Kinds set, Kind k) {
  return (set & bits(k)) != 0;
}
// True when the set names exactly one kind, so a mismatch is certain.
inline bool is_single_kind(Kinds set) {
  return set != 0 && (set & (set - 1)) == 0;
}

const char* kind_name(Kind kind);          // "threat"
std::string kind_with_article(Kind kind);  // "a threat", "an attack"
std::string kinds_text(Kinds kinds);       // "a number or a tensor"
std::vector<Kind> kinds_in(Kinds kinds);

struct Value;
struct Record;
class Callable;
class Object;
using ListPtr = std::shared_ptr<std::vector<Value>>;
using RecordPtr = std::shared_ptr<Record>;
using CallablePtr = std::shared_ptr<Callable>;
using ObjectPtr = std::shared_ptr<Object>;

struct RangeValue {
  double lo = 0;
  double hi = 0;
};

struct Value {
  std::variant<std::monostate, bool, double, std::string, ListPtr, RecordPtr, RangeValue,
               CallablePtr, torch::Tensor, ObjectPtr>
      data;

  Value() = default;
  Value(bool b) : data(b) {}
  Value(double d) : data(d) {}
  Value(int64_t i) : data(static_cast<double>(i)) {}
  Value(int i) : data(static_cast<double>(i)) {}
  Value(std::string s) : data(std::move(s)) {}
  Value(const char* s) : data(std::string(s)) {}
  Value(ListPtr l) : data(std::move(l)) {}
  Value(RecordPtr r) : data(std::move(r)) {}
  Value(RangeValue r) : data(r) {}
  Value(CallablePtr c) : data(std::move(c)) {}
  Value(torch::Tensor t) : data(std::move(t)) {}
  Value(ObjectPtr o) : data(std::move(o)) {}

  Kind kind() const;
  bool is_none() const { return std::holds_alternative<std::monostate>(data); }
  template <typename T>
  bool is() const {
    return std::holds_alternative<T>(data);
  }
  template <typename T>
  const T& as() const {
    return std::get<T>(data);
  }

  // The runtime object as a given subclass, or null.
  template <typename T>
  std::shared_ptr<T> object() const {
    if (!is<ObjectPtr>()) return nullptr;
    return std::dynamic_pointer_cast<T>(as<ObjectPtr>());
  }
};

Value make_list(std::vector<Value> items);

// Insertion-ordered fields: records print in the order they were written.
struct Record {
  std::vector<std::pair<std::string, Value>> fields;
  const Value* find(const std::string& key) const;
  void set(const std::string& key, Value value);
  std::vector<std::string> keys() const;
};

class Callable {
 public:
  virtual ~Callable() = default;
  virtual std::string name() const = 0;
  virtual std::string describe() const = 0;
};

// A handle to something the runtime owns (a threat, a model, a dataset...).
class Object {
 public:
  virtual ~Object() = default;
  virtual Kind kind() const = 0;
  virtual std::string describe() const = 0;
  // Fields read with `obj.name`; nullopt when there is no such field.
  virtual std::optional<Value> field(const std::string& name) const { return std::nullopt; }
  // The fields its kind's descriptor lists (interpreter/kinds.h); objects whose fields depend on
  // their contents (modules) list their own.
  virtual std::vector<std::string> field_names() const;
};

// How `print` and `str` write values: numbers with up to six significant digits and no
// trailing zeros, lists as [a, b], records as {k: v}; strings are quoted inside containers.
std::string format_number(double x);
std::string format_value(const Value& value, bool quote_strings = false);
std::string format_tensor(const torch::Tensor& tensor);
// A short type description for `:type`: "number", "tensor [2, 3] float32", "threat".
std::string describe_type(const Value& value);

bool values_equal(const Value& a, const Value& b);
bool truthy(const Value& value);

}  // namespace perturb::lang
