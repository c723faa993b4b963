// Core builtins of LANGUAGE.md §1: printing, strings, lists, environment, numbers.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>

#include "interpreter/builtins/table.h"
#include "interpreter/diagnostics.h"
#include "interpreter/eval.h"
#include "interpreter/operators.h"

namespace perturb::lang {
namespace {

constexpr Kinds kNumeric = Kind::kNumber | Kind::kTensor;
constexpr Kinds kReducible = Kind::kList | Kind::kTensor | Kind::kNumber;

Value print_values(CallArgs& args) {
  std::string line;
  for (size_t i = 0; i < args.rest.size(); ++i) {
    line += (i ? " " : "") + format_value(args.rest[i]);
  }
  args.interp.out() << line << "\n";
  args.interp.out().flush();
  return Value();
}

Value length(CallArgs& args) {
  const Value& v = args.get("x");
  if (v.is<std::string>()) return Value(static_cast<int64_t>(v.as<std::string>().size()));
  if (v.is<ListPtr>()) return Value(static_cast<int64_t>(v.as<ListPtr>()->size()));
  if (v.is<RecordPtr>()) return Value(static_cast<int64_t>(v.as<RecordPtr>()->fields.size()));
  if (v.is<torch::Tensor>()) {
    const auto& t = v.as<torch::Tensor>();
    if (t.dim() == 0) args.fail("len of a tensor with no dimensions");
    return Value(t.size(0));
  }
  if (v.is<ObjectPtr>()) {
    if (auto n = v.as<ObjectPtr>()->field("size")) return *n;
  }
  args.fail("len takes a string, list, record, tensor or dataset, got " +
            kind_with_article(v.kind()));
}

Value range_list(CallArgs& args) {
  int64_t start = 0, stop = args.integer("n");
  if (args.has("stop")) {
    start = stop;
    stop = args.integer("stop");
  }
  int64_t step = args.integer("step");
  if (step == 0) args.fail("range's step must not be 0");
  const double count =
      std::max(0.0, std::ceil(static_cast<double>(stop - start) / static_cast<double>(step)));
  check_fits_in_memory(count, sizeof(Value), "range's list", args.span);
  std::vector<Value> items;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) items.emplace_back(i);
  return make_list(std::move(items));
}

Value environment_variable(CallArgs& args) {
  const std::string& name = args.string("name");
  const char* value = std::getenv(name.c_str());
  if (value) return Value(std::string(value));
  if (args.has("default")) return args.get("default");
  args.fail("environment variable '" + name + "' is not set");
}

// min/max/mean/sum over a list's numbers.
double reduce_list(CallArgs& args, const std::vector<Value>& items, const std::string& op) {
  if (items.empty() && (op == "min" || op == "max" || op == "mean")) {
    args.fail(op + " of an empty list");
  }
  double acc = op == "min" ? INFINITY : op == "max" ? -INFINITY : 0;
  for (const auto& item : items) {
    if (!item.is<double>())
      args.fail(op + " needs a list of numbers, found " + kind_with_article(item.kind()));
    double x = item.as<double>();
    acc = op == "min" ? std::min(acc, x) : op == "max" ? std::max(acc, x) : acc + x;
  }
  return op == "mean" ? acc / static_cast<double>(items.size()) : acc;
}

Value reduce_tensor(CallArgs& args, const torch::Tensor& t, const std::string& op) {
  if (args.has("dim")) {
    int64_t dim = args.integer("dim");
    if (dim < -t.dim() || dim >= t.dim()) {
      args.fail(op + ": dim " + std::to_string(dim) + " is out of range for a tensor of shape " +
                shape_string(t));
    }
    if (op == "min") return Value(std::get<0>(t.min(dim)));
    if (op == "max") return Value(std::get<0>(t.max(dim)));
    if (op == "mean") return Value(t.to(torch::kFloat32).mean(dim));
    return Value(t.sum(dim));
  }
  if (t.numel() == 0) args.fail(op + " of an empty tensor");
  torch::Tensor r = op == "min"    ? t.min()
                    : op == "max"  ? t.max()
                    : op == "mean" ? t.to(torch::kFloat64).mean()
                                   : t.sum();
  // A whole-tensor reduction gives a number, except inside grad where it must stay a tensor.
  if (r.requires_grad()) return Value(r);
  return Value(r.item<double>());
}

BuiltinImpl reduction(const std::string& op) {
  return [op](CallArgs& args) -> Value {
    const Value& x = args.get("x");
    bool pairwise = (op == "min" || op == "max") && args.has("y");
    if (pairwise) {  // min(a, b) / max(a, b): the elementwise choice
      const Value& y = args.get("y");
      if (x.is<double>() && y.is<double>()) {
        return Value(op == "min" ? std::min(x.as<double>(), y.as<double>())
                                 : std::max(x.as<double>(), y.as<double>()));
      }
      torch::Tensor a = args.tensor("x"), b = args.tensor("y");
      return Value(op == "min" ? torch::minimum(a, b.to(a.device()))
                               : torch::maximum(a, b.to(a.device())));
    }
    if (x.is<ListPtr>()) return Value(reduce_list(args, *x.as<ListPtr>(), op));
    if (x.is<double>()) return x;
    return reduce_tensor(args, x.as<torch::Tensor>(), op);
  };
}

Value elementwise_abs(CallArgs& args) {
  const Value& x = args.get("x");
  if (x.is<double>()) return Value(std::abs(x.as<double>()));
  return Value(torch::abs(x.as<torch::Tensor>()));
}

Value wall_clock(CallArgs&) {
  using namespace std::chrono;
  return Value(duration<double>(steady_clock::now().time_since_epoch()).count());
}

Value assert_true(CallArgs& args) {
  const Value& c = args.get("condition");
  if (!condition_value(c, args.span_of("condition"))) {
    std::string message = args.has("message") ? args.string("message") : "assertion failed";
    args.fail(message);
  }
  return Value();
}

Value type_of(CallArgs& args) {
  return Value(describe_type(args.get("x")));
}

Value raise_error(CallArgs& args) {
  args.fail(args.string("message"));
}

}  // namespace

void register_core_builtins(BuiltinTable& t) {
  t.add({"print", "core", Signature{{}}.takes_more_positional().returning(bits(Kind::kNone)),
         "Writes its arguments separated by spaces, then a newline.", "print(\"eps\", 8/255)",
         print_values});
  t.add({"str", "core", Signature{{required("x", kAnyKind)}}.returning(bits(Kind::kString)),
         "The value as print would write it.", "\"acc=\" + str(0.5)",
         [](CallArgs& a) { return Value(format_value(a.get("x"))); }});
  t.add({"len", "core", Signature{{required("x", kAnyKind)}}.returning(bits(Kind::kNumber)),
         "Length of a string, list, record, tensor (first dimension) or dataset.", "len([1, 2, 3])",
         length});
  t.add({"range", "core",
         Signature{{required("n", bits(Kind::kNumber)),
                    optional("stop", bits(Kind::kNumber), Value()),
                    optional("step", bits(Kind::kNumber), Value(1))}}
             .returning(bits(Kind::kList)),
         "The list [0, 1, ..., n-1]; range(a, b) starts at a.", "for i in range(3) { print(i) }",
         range_list});
  t.add({"env", "core",
         Signature{{required("name", bits(Kind::kString)), optional("default", kAnyKind, Value())}},
         "An environment variable; an error if it is unset and no default is given.",
         "env(\"HOME\")", environment_variable});
  t.add({"abs", "core", Signature{{required("x", kNumeric)}}.returning(kNumeric),
         "Absolute value, elementwise on tensors.", "abs(-2)", elementwise_abs});
  for (const std::string op : {"min", "max", "mean", "sum"}) {
    std::vector<ParamSpec> params = {required("x", kReducible), optional("y", kNumeric, Value()),
                                     optional("dim", bits(Kind::kNumber), Value())};
    if (op == "mean" || op == "sum") params.erase(params.begin() + 1);
    std::string doc = "The " + op +
                      " of a list or a whole tensor (a number); dim: reduces one axis" +
                      (op == "min" || op == "max" ? "; " + op + "(a, b) is elementwise." : ".");
    t.add({op, "core", Signature{params}.returning(kNumeric), doc, op + "([1, 2, 3])",
           reduction(op)});
  }
  t.add({"clock", "core", Signature{{}}.returning(bits(Kind::kNumber)),
         "Seconds on a monotonic clock, for timing parts of a script.", "let t0 = clock()",
         wall_clock});
  t.add({"assert", "core",
         Signature{
             {required("condition", kAnyKind), optional("message", bits(Kind::kString), Value())}}
             .returning(bits(Kind::kNone)),
         "Stops the script with a runtime error when the condition is false.",
         "assert(acc > 0.5, \"model did not learn\")", assert_true});
  t.add({"error", "core",
         Signature{{required("message", bits(Kind::kString))}}.returning(bits(Kind::kNone)),
         "Stops the script with a runtime error and this message.", "error(\"bad input\")",
         raise_error});
  t.add({"type", "core", Signature{{required("x", kAnyKind)}}.returning(bits(Kind::kString)),
         "The kind of a value, with a tensor's shape and dtype.", "type(8/255)", type_of});
}

}  // namespace perturb::lang
