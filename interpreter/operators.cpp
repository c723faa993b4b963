#include "interpreter/operators.h"

#include <cmath>
#include <optional>

#include "interpreter/builtins/table.h"
#include "interpreter/diagnostics.h"
#include "interpreter/eval.h"
#include "interpreter/kinds.h"
#include "runtime/core/error.h"
#include "runtime/core/limits.h"

namespace perturb::lang {
namespace {

bool is_numeric(const Value& v) {
  return v.is<double>() || v.is<bool>();
}
double numeric(const Value& v) {
  return v.is<bool>() ? (v.as<bool>() ? 1 : 0) : v.as<double>();
}

[[noreturn]] void unsupported(BinaryOp op, const Value& l, const Value& r, const Span& at) {
  std::string message = std::string("cannot apply '") + binary_op_text(op) + "' to " +
                        kind_with_article(l.kind()) + " and " + kind_with_article(r.kind());
  if (op == BinaryOp::kAdd && (l.is<std::string>() || r.is<std::string>())) {
    message += "; use str(x) to turn a value into a string";
  }
  throw_runtime_error(at, message);
}

Value number_op(BinaryOp op, double a, double b, const Span& at) {
  switch (op) {
    case BinaryOp::kAdd:
      return Value(a + b);
    case BinaryOp::kSub:
      return Value(a - b);
    case BinaryOp::kMul:
      return Value(a * b);
    case BinaryOp::kDiv:
      if (b == 0) throw_runtime_error(at, "division by zero");
      return Value(a / b);
    case BinaryOp::kMod:
      if (b == 0) throw_runtime_error(at, "modulo by zero");
      return Value(a - b * std::floor(a / b));
    case BinaryOp::kPow:
      return Value(std::pow(a, b));
    case BinaryOp::kLt:
      return Value(a < b);
    case BinaryOp::kLe:
      return Value(a <= b);
    case BinaryOp::kGt:
      return Value(a > b);
    case BinaryOp::kGe:
      return Value(a >= b);
    case BinaryOp::kRange:
      if (a > b)
        throw_runtime_error(at, "a range must go from low to high, got " + format_number(a) + ".." +
                                    format_number(b));
      return Value(RangeValue{a, b});
    default:
      return Value();
  }
}

torch::Tensor as_operand(const Value& v, const torch::Tensor& other) {
  if (v.is<torch::Tensor>()) return v.as<torch::Tensor>();
  return torch::scalar_tensor(
      numeric(v), torch::TensorOptions()
                      .dtype(other.is_floating_point() ? other.scalar_type() : torch::kFloat32)
                      .device(other.device()));
}

Value tensor_op(BinaryOp op, const Value& l, const Value& r, const Span& at) {
  const torch::Tensor& any = l.is<torch::Tensor>() ? l.as<torch::Tensor>() : r.as<torch::Tensor>();
  torch::Tensor a = as_operand(l, any);
  torch::Tensor b = as_operand(r, any);
  if (a.defined() && b.defined() && a.device() != b.device()) {
    throw_runtime_error(
        at, "tensors are on different devices: " + a.device().str() + " and " + b.device().str());
  }
  auto check_shapes = [&] {
    std::vector<int64_t> sa = a.sizes().vec(), sb = b.sizes().vec();
    for (size_t i = 0; i < std::min(sa.size(), sb.size()); ++i) {
      int64_t x = sa[sa.size() - 1 - i], y = sb[sb.size() - 1 - i];
      if (x != y && x != 1 && y != 1) {
        throw_runtime_error(at, std::string("cannot apply '") + binary_op_text(op) +
                                    "' to tensors of shapes " + shape_string(a) + " and " +
                                    shape_string(b) + ": they do not broadcast");
      }
    }
  };
  check_shapes();
  // Arithmetic on a mask counts it as 0/1, as numbers do with true/false (torch refuses
  // `1 - mask`); comparisons and logic keep the booleans.
  const bool arithmetic = op == BinaryOp::kAdd || op == BinaryOp::kSub || op == BinaryOp::kMul ||
                          op == BinaryOp::kDiv || op == BinaryOp::kMod || op == BinaryOp::kPow;
  if (arithmetic && a.defined() && a.scalar_type() == torch::kBool) a = a.to(torch::kInt64);
  if (arithmetic && b.defined() && b.scalar_type() == torch::kBool) b = b.to(torch::kInt64);
  switch (op) {
    case BinaryOp::kAdd:
      return Value(a + b);
    case BinaryOp::kSub:
      return Value(a - b);
    case BinaryOp::kMul:
      return Value(a * b);
    case BinaryOp::kDiv:
      return Value(a / b);
    case BinaryOp::kMod:
      return Value(torch::remainder(a, b));
    case BinaryOp::kPow:
      return Value(torch::pow(a, b));
    case BinaryOp::kEq:
      return Value(torch::eq(a, b));
    case BinaryOp::kNe:
      return Value(torch::ne(a, b));
    case BinaryOp::kLt:
      return Value(torch::lt(a, b));
    case BinaryOp::kLe:
      return Value(torch::le(a, b));
    case BinaryOp::kGt:
      return Value(torch::gt(a, b));
    case BinaryOp::kGe:
      return Value(torch::ge(a, b));
    default:
      unsupported(op, l, r, at);
  }
}

int64_t list_index(const Value& index, int64_t size, const Span& at, const char* what) {
  if (!index.is<double>() || std::floor(index.as<double>()) != index.as<double>()) {
    throw_runtime_error(at, std::string("a ") + what + " index must be a whole number, got " +
                                kind_with_article(index.kind()));
  }
  const double x = index.as<double>();
  // Checked as a double: casting 1e308 or infinity to an integer is undefined behaviour.
  const double resolved_x = x < 0 ? x + static_cast<double>(size) : x;
  if (!(resolved_x >= 0 && resolved_x < static_cast<double>(size))) {
    throw_runtime_error(at, "index " + format_number(x) + " is out of range for " +
                                (std::string(what) == "list" ? "a list" : "a string") +
                                " of length " + std::to_string(size));
  }
  return static_cast<int64_t>(resolved_x);
}

std::pair<int64_t, int64_t> slice_bounds(const IndexValue& s, int64_t size, const Span& at) {
  auto bound = [&](const std::optional<Value>& v, int64_t fallback) {
    if (!v || v->is_none()) return fallback;
    if (!v->is<double>() || std::isnan(v->as<double>()))
      throw_runtime_error(at, "slice bounds must be numbers");
    double x = std::trunc(v->as<double>());
    if (x < 0) x += static_cast<double>(size);
    // Clamped as a double: casting 1e308 to an integer is undefined behaviour.
    return static_cast<int64_t>(std::clamp(x, 0.0, static_cast<double>(size)));
  };
  int64_t lo = bound(s.lo, 0), hi = bound(s.hi, size);
  return {lo, std::max(lo, hi)};
}

Value index_tensor(const torch::Tensor& t, const std::vector<IndexValue>& subscripts,
                   const Span& at) {
  using torch::indexing::Slice;
  std::vector<torch::indexing::TensorIndex> indices;
  if (static_cast<int64_t>(subscripts.size()) > t.dim()) {
    throw_runtime_error(at, "too many indices for a tensor of shape " + shape_string(t));
  }
  // Never moved: LibTorch 1.13's TensorIndex(int64_t) leaves a bool member unset that its move
  // constructor reads (UBSan: "load of value 190 ... for type 'bool'").
  indices.reserve(subscripts.size());
  for (size_t d = 0; d < subscripts.size(); ++d) {
    const auto& s = subscripts[d];
    if (s.is_slice) {
      auto [lo, hi] = slice_bounds(s, t.size(static_cast<int64_t>(d)), at);
      indices.emplace_back(Slice(lo, hi));
    } else if (s.index.is<double>()) {
      const int64_t size = t.size(static_cast<int64_t>(d));
      const double index = s.index.as<double>();
      // Compared as a double first: casting 1e308 to an integer is undefined behaviour.
      if (!(index >= static_cast<double>(-size) && index < static_cast<double>(size))) {
        throw_runtime_error(at, "index " + format_number(index) +
                                    " is out of range for dimension " + std::to_string(d) +
                                    " of size " + std::to_string(size));
      }
      if (index != std::floor(index)) {
        throw_runtime_error(at,
                            "a tensor index must be a whole number, got " + format_number(index));
      }
      indices.emplace_back(static_cast<int64_t>(index));
    } else if (s.index.is<torch::Tensor>()) {
      indices.emplace_back(s.index.as<torch::Tensor>());
    } else {
      throw_runtime_error(at, "a tensor index must be a number, a slice or a tensor, got " +
                                  kind_with_article(s.index.kind()));
    }
  }
  return Value(t.index(indices));
}

// `>>`, `|` and `&` as either side's kind composes them: a threat with a policy composes as the
// policy's (the threat serves as sample(threat)).
std::optional<Value> compose(BinaryOp op, const Value& l, const Value& r, const Span& at) {
  for (Kind side : {l.kind(), r.kind()}) {
    const auto& compose_with = descriptor_of(side).compose;
    if (!compose_with) continue;
    if (auto composed = compose_with(op, l, r, at)) return composed;
  }
  return std::nullopt;
}

}  // namespace

std::string shape_string(const torch::Tensor& t) {
  std::string text = "[";
  for (int64_t d = 0; d < t.dim(); ++d) text += (d ? ", " : "") + std::to_string(t.size(d));
  return text + "]";
}

torch::Tensor to_tensor(const Value& value, const Span& at, const std::string& what) {
  if (value.is<torch::Tensor>()) return value.as<torch::Tensor>();
  if (value.is<double>()) return torch::scalar_tensor(value.as<double>(), torch::kFloat32);
  throw_runtime_error(at, what + " must be a tensor, got " + kind_with_article(value.kind()));
}

Value apply_unary(UnaryOp op, const Value& operand, const Span& at) {
  if (op == UnaryOp::kNot) return Value(!condition_value(operand, at));
  if (operand.is<double>())
    return Value(op == UnaryOp::kNegate ? -operand.as<double>() : operand.as<double>());
  if (operand.is<torch::Tensor>()) {
    return Value(op == UnaryOp::kNegate ? -operand.as<torch::Tensor>()
                                        : operand.as<torch::Tensor>());
  }
  throw_runtime_error(at, std::string("cannot apply '") + unary_op_text(op) + "' to " +
                              kind_with_article(operand.kind()));
}

Value apply_binary(BinaryOp op, const Value& l, const Value& r, const Span& at) {
  if (op == BinaryOp::kEq && !l.is<torch::Tensor>() && !r.is<torch::Tensor>()) {
    return Value(is_numeric(l) && is_numeric(r) ? numeric(l) == numeric(r) : values_equal(l, r));
  }
  if (op == BinaryOp::kNe && !l.is<torch::Tensor>() && !r.is<torch::Tensor>()) {
    return Value(!(is_numeric(l) && is_numeric(r) ? numeric(l) == numeric(r) : values_equal(l, r)));
  }
  if (is_numeric(l) && is_numeric(r)) {
    Value result = number_op(op, numeric(l), numeric(r), at);
    if (!result.is_none()) return result;
    unsupported(op, l, r, at);
  }
  bool tensors =
      (l.is<torch::Tensor>() || is_numeric(l)) && (r.is<torch::Tensor>() || is_numeric(r));
  if (tensors && op != BinaryOp::kRange && op != BinaryOp::kThen && op != BinaryOp::kUnion &&
      op != BinaryOp::kIntersect) {
    return tensor_op(op, l, r, at);
  }
  if (l.is<std::string>() && r.is<std::string>()) {
    const auto& a = l.as<std::string>();
    const auto& b = r.as<std::string>();
    switch (op) {
      case BinaryOp::kAdd:
        check_fits_in_memory(a.size() + b.size(), 1, "a string", at);
        return Value(a + b);
      case BinaryOp::kLt:
        return Value(a < b);
      case BinaryOp::kLe:
        return Value(a <= b);
      case BinaryOp::kGt:
        return Value(a > b);
      case BinaryOp::kGe:
        return Value(a >= b);
      default:
        break;
    }
  }
  if (op == BinaryOp::kAdd && l.is<ListPtr>() && r.is<ListPtr>()) {
    check_fits_in_memory(l.as<ListPtr>()->size() + r.as<ListPtr>()->size(), sizeof(Value), "a list",
                         at);
    std::vector<Value> joined = *l.as<ListPtr>();
    joined.insert(joined.end(), r.as<ListPtr>()->begin(), r.as<ListPtr>()->end());
    return make_list(std::move(joined));
  }
  if (auto composed = compose(op, l, r, at)) return *composed;
  unsupported(op, l, r, at);
}

void check_fits_in_memory(double count, double element_bytes, const std::string& what,
                          const Span& at) {
  const double bytes = count * element_bytes;
  const double limit = allocatable_bytes();
  if (limit > 0 && bytes > limit) {
    throw_runtime_error(at, what + " of " + format_number(count) + " items would take " +
                                readable_bytes(bytes) + ", more than " + allocatable_text());
  }
}

Value field_of(const Value& value, const std::string& name, const Span& at) {
  if (value.is<RecordPtr>()) {
    const auto& record = *value.as<RecordPtr>();
    if (const Value* field = record.find(name)) return *field;
    std::string hint = closest_match(name, record.keys());
    throw_runtime_error(at, "the record has no field '" + name + "'" +
                                (hint.empty() ? "" : "; did you mean '" + hint + "'?"));
  }
  if (value.is<torch::Tensor>()) {
    const auto& t = value.as<torch::Tensor>();
    if (name == "shape") {
      std::vector<Value> dims;
      for (int64_t d = 0; d < t.dim(); ++d) dims.emplace_back(t.size(d));
      return make_list(std::move(dims));
    }
    if (name == "ndim") return Value(static_cast<int64_t>(t.dim()));
  }
  if (value.is<ObjectPtr>()) {
    // A field can fail (a report that kept nothing, a streaming dataset's .x): the callers,
    // Interpreter::eval_field and eval_index, locate the error and keep its class.
    if (auto field = value.as<ObjectPtr>()->field(name)) return *field;
  }
  const KindDescriptor& type = descriptor_of(value.kind());
  if (const Builtin* method = builtins().find(type.name + "." + name)) {
    if (value.kind() != Kind::kModule) {
      return Value(CallablePtr(std::make_shared<BuiltinFunction>(method, value)));
    }
  }
  std::vector<std::string> candidates = type.methods();
  const std::vector<std::string> fields =
      value.is<ObjectPtr>() ? value.as<ObjectPtr>()->field_names() : type.field_names();
  candidates.insert(candidates.end(), fields.begin(), fields.end());
  std::string hint = closest_match(name, candidates);
  std::string what = value.kind() == Kind::kModule ? "module " + format_value(value)
                                                   : kind_with_article(value.kind());
  throw_runtime_error(at, what + " has no field or method '" + name + "'" +
                              (hint.empty() ? "" : "; did you mean '" + hint + "'?"));
}

Value index_value(const Value& object, const std::vector<IndexValue>& subscripts, const Span& at) {
  if (object.is<torch::Tensor>()) return index_tensor(object.as<torch::Tensor>(), subscripts, at);
  if (subscripts.size() != 1) throw_runtime_error(at, "only tensors take several indices");
  const IndexValue& s = subscripts[0];
  if (object.is<ListPtr>()) {
    const auto& items = *object.as<ListPtr>();
    int64_t size = static_cast<int64_t>(items.size());
    if (s.is_slice) {
      auto [lo, hi] = slice_bounds(s, size, at);
      return make_list(std::vector<Value>(items.begin() + lo, items.begin() + hi));
    }
    return items[list_index(s.index, size, at, "list")];
  }
  if (object.is<std::string>()) {
    const auto& text = object.as<std::string>();
    int64_t size = static_cast<int64_t>(text.size());
    if (s.is_slice) {
      auto [lo, hi] = slice_bounds(s, size, at);
      return Value(text.substr(lo, hi - lo));
    }
    return Value(std::string(1, text[list_index(s.index, size, at, "string")]));
  }
  if (object.is<RecordPtr>() && !s.is_slice && s.index.is<std::string>()) {
    return field_of(object, s.index.as<std::string>(), at);
  }
  throw_runtime_error(at, "cannot index " + kind_with_article(object.kind()));
}

std::vector<Value> iterate(const Value& iterable, const Span& at) {
  if (iterable.is<ListPtr>()) return *iterable.as<ListPtr>();
  if (iterable.is<RecordPtr>()) {
    std::vector<Value> keys;
    for (const auto& key : iterable.as<RecordPtr>()->keys()) keys.emplace_back(key);
    return keys;
  }
  if (iterable.is<torch::Tensor>()) {
    const auto& t = iterable.as<torch::Tensor>();
    if (t.dim() == 0) throw_runtime_error(at, "cannot loop over a tensor with no dimensions");
    std::vector<Value> rows;
    for (int64_t i = 0; i < t.size(0); ++i) rows.emplace_back(t[i]);
    return rows;
  }
  std::string hint = iterable.is<RangeValue>()
                         ? "; a range is a continuous interval, use range(n) for whole numbers"
                         : "";
  throw_runtime_error(at, "cannot loop over " + kind_with_article(iterable.kind()) + hint);
}

bool condition_value(const Value& value, const Span& at) {
  if (value.is<bool>()) return value.as<bool>();
  if (value.is<torch::Tensor>()) {
    const auto& t = value.as<torch::Tensor>();
    if (t.numel() != 1) {
      throw_runtime_error(at, "a condition must be a single truth value, got a tensor of shape " +
                                  shape_string(t) + " (reduce it first, e.g. with max or mean)");
    }
    return t.item<double>() != 0;
  }
  if (value.is<double>()) return value.as<double>() != 0;
  if (value.is_none()) return false;
  throw_runtime_error(at,
                      "a condition must be true or false, got " + kind_with_article(value.kind()));
}

}  // namespace perturb::lang
