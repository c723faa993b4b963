// Tensor builtins of LANGUAGE.md §4: enough to teach and to write new attacks.

#include <cstdio>
#include <iterator>

#include "interpreter/builtins/binding.h"
#include "interpreter/builtins/table.h"
#include "interpreter/builtins/whole.h"
#include "interpreter/diagnostics.h"
#include "interpreter/eval.h"
#include "interpreter/operators.h"
#include "runtime/core/limits.h"

namespace perturb::lang {
namespace {

constexpr Kinds kNumeric = Kind::kNumber | Kind::kTensor;

// A float32 tensor of `shape` must fit in the machine's memory: asking for more is an error
// before LibTorch tries to allocate it (and the kernel's out-of-memory killer answers instead).
void check_fits_in_memory(CallArgs& args, const std::vector<int64_t>& shape) {
  double bytes = sizeof(float);
  for (int64_t d : shape) bytes *= static_cast<double>(d);
  const double memory = allocatable_bytes();
  if (memory > 0 && bytes > memory) {
    args.fail(display_name(args.builtin) + " of this shape would take " + readable_bytes(bytes) +
              " (float32), more than " + allocatable_text());
  }
}

std::vector<int64_t> shape_argument(CallArgs& args) {
  std::vector<Value> dims;
  const Value& first = args.get("shape");
  if (first.is<ListPtr>()) {
    dims = *first.as<ListPtr>();
  } else {
    dims.push_back(first);
    dims.insert(dims.end(), args.rest.begin(), args.rest.end());
  }
  std::vector<int64_t> shape;
  for (const auto& d : dims) {
    if (!d.is<double>() || d.as<double>() < 0 || !is_whole(d.as<double>())) {
      args.fail(display_name(args.builtin) +
                " expects a shape of whole numbers, like [2, 3] or x.shape");
    }
    shape.push_back(static_cast<int64_t>(d.as<double>()));
  }
  check_fits_in_memory(args, shape);
  return shape;
}

torch::TensorOptions float_options(CallArgs& args) {
  return torch::TensorOptions().dtype(torch::kFloat32).device(args.interp.device());
}

Value clamp_values(CallArgs& args) {
  torch::Tensor x = args.tensor("x");
  auto bound = [&](const char* name) -> c10::optional<torch::Tensor> {
    if (!args.has(name)) return c10::nullopt;
    torch::Tensor b = args.tensor(name);
    return b.to(x.device(), x.scalar_type());
  };
  c10::optional<torch::Tensor> lo = bound("lo"), hi = bound("hi");
  if (!lo && !hi) args.fail("clamp needs lo, hi or both");
  if (args.get("x").is<double>()) {
    double v = args.number("x");
    if (lo) v = std::max(v, lo->item<double>());
    if (hi) v = std::min(v, hi->item<double>());
    return Value(v);
  }
  return Value(torch::clamp(x, lo, hi));
}

Value arg_max(CallArgs& args) {
  const Value& x = args.get("x");
  if (x.is<ListPtr>()) {
    const auto& items = *x.as<ListPtr>();
    if (items.empty()) args.fail("argmax of an empty list");
    int64_t best = 0;
    for (size_t i = 1; i < items.size(); ++i) {
      if (!items[i].is<double>()) args.fail("argmax needs a list of numbers");
      if (items[i].as<double>() > items[best].as<double>()) best = static_cast<int64_t>(i);
    }
    return Value(best);
  }
  torch::Tensor t = args.tensor("x");
  int64_t dim = args.has("dim") ? args.integer("dim") : -1;
  if (t.dim() == 0) args.fail("argmax of a tensor with no dimensions");
  return Value(t.argmax(dim));
}

Value lp_norm(CallArgs& args) {
  torch::Tensor x = args.tensor("x");
  double p = args.number("p");
  if (args.has("dim")) {
    int64_t dim = args.integer("dim");
    // Per-sample norms: flatten everything from `dim` on, as attacks need.
    torch::Tensor flat = x.flatten(dim);
    return Value(torch::linalg_vector_norm(flat, p, {dim}, false, c10::nullopt));
  }
  torch::Tensor n = torch::linalg_vector_norm(x, p, c10::nullopt, false, c10::nullopt);
  if (n.requires_grad()) return Value(n);
  return Value(n.item<double>());
}

Value random_tensor(CallArgs& args, bool normal) {
  std::vector<int64_t> shape = shape_argument(args);
  at::Generator& gen = args.interp.generator();
  torch::Tensor t =
      normal ? torch::randn(shape, gen, torch::kFloat32) : torch::rand(shape, gen, torch::kFloat32);
  return Value(t.to(args.interp.device()));
}

Value cross_entropy_loss(CallArgs& args) {
  torch::Tensor logits = args.tensor("logits");
  torch::Tensor labels = args.tensor("y");
  if (logits.dim() != 2) {
    args.fail("cross_entropy expects logits of shape N×classes, got " + shape_string(logits));
  }
  if (labels.dim() != 1 || labels.size(0) != logits.size(0)) {
    args.fail("cross_entropy expects one label per row: logits " + shape_string(logits) +
              ", labels " + shape_string(labels));
  }
  int64_t classes = logits.size(1);
  torch::Tensor y = labels.to(logits.device(), torch::kLong);
  if (y.numel() > 0 && (y.min().item<int64_t>() < 0 || y.max().item<int64_t>() >= classes)) {
    args.fail("labels must lie in 0.." + std::to_string(classes - 1) + " for " +
              std::to_string(classes) + " classes");
  }
  const std::string& reduction = args.string("reduction");
  auto options = torch::nn::functional::CrossEntropyFuncOptions();
  if (reduction == "mean") {
    options.reduction(torch::kMean);
  } else if (reduction == "sum") {
    options.reduction(torch::kSum);
  } else {
    options.reduction(torch::kNone);
  }
  return Value(torch::nn::functional::cross_entropy(logits, y, options));
}

BuiltinImpl unary(torch::Tensor (*op)(const torch::Tensor&)) {
  return [op](CallArgs& args) -> Value {
    const Value& x = args.get("x");
    torch::Tensor r = op(args.tensor("x"));
    if (x.is<double>()) return Value(r.item<double>());
    return Value(r);
  };
}

Value make_tensor(CallArgs& args) {
  const Value& data = args.get("data");
  std::function<torch::Tensor(const Value&)> build = [&](const Value& v) -> torch::Tensor {
    if (v.is<double>()) return torch::scalar_tensor(v.as<double>(), torch::kFloat32);
    if (v.is<torch::Tensor>()) return v.as<torch::Tensor>().to(torch::kCPU);
    if (v.is<ListPtr>()) {
      std::vector<torch::Tensor> rows;
      for (const auto& item : *v.as<ListPtr>()) rows.push_back(build(item));
      if (rows.empty()) return torch::zeros({0});
      for (const auto& r : rows) {
        if (r.sizes() != rows[0].sizes()) args.fail("tensor: nested lists must have equal lengths");
      }
      return torch::stack(rows);
    }
    args.fail("tensor takes numbers or (nested) lists of numbers");
  };
  torch::Tensor t = build(data);
  const std::string& dtype = args.string("dtype");
  if (dtype == "int64") t = t.to(torch::kLong);
  return Value(t.to(args.interp.device()));
}

}  // namespace

void register_tensor_builtins(BuiltinTable& t) {
  const std::string g = "tensors";
  t.add({"grad", g,
         Signature{{required("loss", bits(Kind::kTensor)), required("x", bits(Kind::kTensor))}}
             .returning(bits(Kind::kTensor)),
         "Gradient of a scalar loss with respect to x; the loss expression is re-evaluated with x "
         "tracked.",
         "let g = grad(cross_entropy(model(x), y), x)",
         [](CallArgs& a) -> Value { a.fail("grad must be called directly: grad(loss, x)"); }});
  t.add({"sign", g, Signature{{required("x", kNumeric)}}.returning(kNumeric),
         "Elementwise sign: -1, 0 or 1.", "sign(g)", unary(torch::sign)});
  t.add({"exp", g, Signature{{required("x", kNumeric)}}.returning(kNumeric), "Elementwise e^x.",
         "exp(x)", unary(torch::exp)});
  t.add({"log", g, Signature{{required("x", kNumeric)}}.returning(kNumeric),
         "Elementwise natural logarithm.", "log(p)", unary(torch::log)});
  t.add({"sqrt", g, Signature{{required("x", kNumeric)}}.returning(kNumeric),
         "Elementwise square root.", "sqrt(2)", unary(torch::sqrt)});
  t.add({"clamp", g,
         Signature{{required("x", kNumeric), optional("lo", kNumeric, Value()),
                    optional("hi", kNumeric, Value())}}
             .returning(kNumeric),
         "Limits values to [lo, hi]; the bounds may be numbers or tensors (elementwise).",
         "clamp(x + eps * sign(g), 0, 1)", clamp_values});
  t.add({"argmax", g,
         Signature{{required("x", Kind::kTensor | Kind::kList),
                    optional_auto("dim", bits(Kind::kNumber), "-1")}}
             .returning(Kind::kTensor | Kind::kNumber),
         "Index of the largest value along dim (the last by default): argmax(model(x)) gives "
         "predictions.",
         "argmax(model(x))", arg_max});
  t.add(
      {"norm", g,
       Signature{{required("x", bits(Kind::kTensor)), optional("p", bits(Kind::kNumber), Value(2)),
                  optional("dim", bits(Kind::kNumber), Value())}}
           .returning(kNumeric),
       "The p-norm of a whole tensor (a number); dim: 1 gives one norm per sample.",
       "norm(x_adv - x, 2, dim: 1)", lp_norm});
  t.add({"zeros", g,
         Signature{{required("shape", Kind::kList | Kind::kNumber)}}
             .takes_more_positional()
             .returning(bits(Kind::kTensor)),
         "A float tensor of zeros of the given shape.", "zeros(x.shape)",
         [](CallArgs& a) { return Value(torch::zeros(shape_argument(a), float_options(a))); }});
  t.add({"rand", g,
         Signature{{required("shape", Kind::kList | Kind::kNumber)}}
             .takes_more_positional()
             .returning(bits(Kind::kTensor)),
         "Uniform [0, 1) samples of the given shape, from the script's seeded generator.",
         "rand(x.shape)", [](CallArgs& a) { return random_tensor(a, false); }});
  t.add({"randn", g,
         Signature{{required("shape", Kind::kList | Kind::kNumber)}}
             .takes_more_positional()
             .returning(bits(Kind::kTensor)),
         "Standard normal samples of the given shape, from the script's seeded generator.",
         "randn([4, 10])", [](CallArgs& a) { return random_tensor(a, true); }});
  t.add(
      {"tensor", g,
       Signature{
           {required("data", Kind::kList | Kind::kNumber | Kind::kTensor),
            optional("dtype", bits(Kind::kString), Value("float32")).one_of({"float32", "int64"})}}
           .returning(bits(Kind::kTensor)),
       "A tensor from numbers or nested lists (dtype \"float32\" or \"int64\").",
       "tensor([[1, 2], [3, 4]])", make_tensor});
  t.add({"cross_entropy", g,
         Signature{{required("logits", bits(Kind::kTensor)), required("y", bits(Kind::kTensor)),
                    optional("reduction", bits(Kind::kString), Value("mean"))
                        .one_of({"mean", "sum", "none"})}}
             .returning(bits(Kind::kTensor)),
         "Cross-entropy of logits (N×classes) against labels (N), averaged like PyTorch's default.",
         "cross_entropy(model(x), y)", cross_entropy_loss});
  t.add({"softmax", g,
         Signature{
             {required("x", bits(Kind::kTensor)), optional("dim", bits(Kind::kNumber), Value(-1))}}
             .returning(bits(Kind::kTensor)),
         "Softmax along dim (the last by default): class probabilities from logits.",
         "softmax(model(x))",
         [](CallArgs& a) { return Value(torch::softmax(a.tensor("x"), a.integer("dim"))); }});
}

}  // namespace perturb::lang
