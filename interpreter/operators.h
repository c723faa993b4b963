#pragma once
// What the language's operators, field reads, subscripts and loops do on values.

#include <optional>
#include <string>
#include <vector>

#include "interpreter/ast.h"
#include "interpreter/value.h"

namespace perturb::lang {

Value apply_unary(UnaryOp op, const Value& operand, const Span& at);
Value apply_binary(BinaryOp op, const Value& left, const Value& right, const Span& at);

// `value.name`: a record field, an object's field, a tensor's shape, or a bound method.
Value field_of(const Value& value, const std::string& name, const Span& at);

// A located error when `count` items of `element_bytes` each would not fit in memory (this
// machine's, or --max-memory): a list or string doubled in a loop stops here, not in the
// kernel's out-of-memory killer.
void check_fits_in_memory(double count, double element_bytes, const std::string& what,
                          const Span& at);

struct IndexValue {
  bool is_slice = false;
  Value index;
  std::optional<Value> lo, hi;
};
Value index_value(const Value& object, const std::vector<IndexValue>& subscripts, const Span& at);

// The items a `for` loop visits: a list's items, a tensor's rows, a record's keys.
std::vector<Value> iterate(const Value& iterable, const Span& at);
// The truth of an `if`/`while` condition: bools, and one-element tensors.
bool condition_value(const Value& value, const Span& at);

// A tensor from a tensor or a number; `what` names it in the error ("the loss").
torch::Tensor to_tensor(const Value& value, const Span& at, const std::string& what);
std::string shape_string(const torch::Tensor& t);  // "[1000, 1, 28, 28]"

}  // namespace perturb::lang
