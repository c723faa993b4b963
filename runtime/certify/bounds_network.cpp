// Reading a Model into a BoundNetwork: zoo models through their torch::nn::Sequential,
// TorchScript modules through their inlined forward graph.

#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/script.h>

#include <unordered_map>
#include <unordered_set>

#include "runtime/certify/bounds.h"
#include "runtime/core/error.h"
#include "runtime/model/torchscript_model.h"
#include "runtime/model/zoo_model.h"

namespace perturb {
namespace nn = torch::nn;

torch::Tensor BoundLayer::forward(const torch::Tensor& x) const {
  switch (kind) {
    case LayerKind::kLinear:
      return torch::linear(x, weight, bias);
    case LayerKind::kConv2d:
      return torch::conv2d(x, weight, bias, stride, padding, dilation, groups);
    case LayerKind::kReLU:
      return torch::relu(x);
    case LayerKind::kFlatten:
      return x.flatten(flatten_start, flatten_end);
    case LayerKind::kAffine:
      return x * weight + bias;
    case LayerKind::kAvgPool2d:
      return torch::avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad,
                               divisor_override);
    case LayerKind::kMaxPool2d:
      return torch::max_pool2d(x, kernel, stride, padding, dilation, ceil_mode);
  }
  throw Error("unknown layer kind");
}

torch::Tensor BoundNetwork::forward(const torch::Tensor& x) const {
  torch::Tensor h = x;
  for (const auto& layer : layers) h = layer.forward(h);
  return h;
}

std::string BoundNetwork::describe() const {
  std::string out;
  for (const auto& layer : layers) out += (out.empty() ? "" : " → ") + layer.name;
  return out;
}

namespace {

std::vector<int64_t> vec2(at::IntArrayRef a) {
  return a.vec();
}

std::string dims_text(const std::vector<int64_t>& v) {
  std::string out;
  for (auto d : v) out += (out.empty() ? "" : ", ") + std::to_string(d);
  return v.size() == 1 ? out : "[" + out + "]";
}

// A 2-d layer's kernel, stride, padding or dilation given as one number for both dimensions.
std::vector<int64_t> both_dims(std::vector<int64_t> v) {
  if (v.size() == 1) v.push_back(v[0]);
  return v;
}

// The rank of a batch after flatten(start, end) merged dimensions start..end into one.
int64_t rank_after_flatten(int64_t rank, int64_t start, int64_t end) {
  const int64_t s = start < 0 ? start + rank : start, e = end < 0 ? end + rank : end;
  return rank - (e - s);
}

BoundLayer linear_layer(const torch::Tensor& w, const torch::Tensor& b) {
  BoundLayer l{LayerKind::kLinear};
  l.weight = w;
  l.bias = b;
  l.name = "Linear(" + std::to_string(w.size(1)) + ", " + std::to_string(w.size(0)) + ")";
  return l;
}

BoundLayer conv_layer(const torch::Tensor& w, const torch::Tensor& b, std::vector<int64_t> stride,
                      std::vector<int64_t> padding, std::vector<int64_t> dilation, int64_t groups) {
  BoundLayer l{LayerKind::kConv2d};
  l.weight = w;
  l.bias = b;
  l.kernel = {w.size(2), w.size(3)};
  l.stride = both_dims(std::move(stride));
  l.padding = both_dims(std::move(padding));
  l.dilation = both_dims(std::move(dilation));
  l.groups = groups;
  l.name = "Conv2d(" + std::to_string(w.size(1) * groups) + ", " + std::to_string(w.size(0)) +
           ", " + dims_text(l.kernel) + ")";
  return l;
}

// Batch norm in eval mode is y = x·scale + shift per channel (dim 1 of a batch of `rank` dims).
BoundLayer batchnorm_layer(const torch::Tensor& gamma, const torch::Tensor& beta,
                           const torch::Tensor& mean, const torch::Tensor& var, double eps,
                           int64_t rank) {
  torch::Tensor scale = torch::rsqrt(var + eps);
  if (gamma.defined()) scale = scale * gamma;
  torch::Tensor shift = -mean * scale;
  if (beta.defined()) shift = shift + beta;
  std::vector<int64_t> shape(std::max<int64_t>(rank - 1, 1), 1);
  shape[0] = scale.size(0);
  BoundLayer l{LayerKind::kAffine};
  l.weight = scale.reshape(shape);
  l.bias = shift.reshape(shape);
  l.name = "BatchNorm(" + std::to_string(scale.size(0)) + ")";
  return l;
}

BoundLayer flatten_layer(int64_t start, int64_t end) {
  BoundLayer l{LayerKind::kFlatten};
  l.flatten_start = start;
  l.flatten_end = end;
  l.name = "Flatten";
  return l;
}

BoundLayer relu_layer() {
  BoundLayer l{LayerKind::kReLU};
  l.name = "ReLU";
  return l;
}

BoundLayer maxpool_layer(std::vector<int64_t> kernel, std::vector<int64_t> stride,
                         std::vector<int64_t> padding, std::vector<int64_t> dilation,
                         bool ceil_mode) {
  BoundLayer l{LayerKind::kMaxPool2d};
  l.kernel = both_dims(std::move(kernel));
  l.stride = stride.empty() ? l.kernel : both_dims(std::move(stride));
  l.padding = both_dims(std::move(padding));
  l.dilation = both_dims(std::move(dilation));
  l.ceil_mode = ceil_mode;
  l.name = "MaxPool2d(" + dims_text(l.kernel) + ")";
  return l;
}

BoundLayer avgpool_layer(std::vector<int64_t> kernel, std::vector<int64_t> stride,
                         std::vector<int64_t> padding, bool ceil_mode, bool count_include_pad,
                         c10::optional<int64_t> divisor) {
  BoundLayer l{LayerKind::kAvgPool2d};
  l.kernel = both_dims(std::move(kernel));
  l.stride = stride.empty() ? l.kernel : both_dims(std::move(stride));
  l.padding = both_dims(std::move(padding));
  l.dilation = {1, 1};
  l.ceil_mode = ceil_mode;
  l.count_include_pad = count_include_pad;
  l.divisor_override = divisor;
  l.name = "AvgPool2d(" + dims_text(l.kernel) + ")";
  return l;
}

[[noreturn]] void unsupported(const std::string& layer, const std::string& model) {
  throw Error("bound propagation does not support the layer " + layer + " in " + model +
              "; it supports Linear, Conv2d, ReLU, Flatten, AvgPool2d, MaxPool2d, BatchNorm "
              "(eval mode), Dropout (eval mode) and constant normalisation");
}

BoundNetwork read_sequential(const nn::Sequential& seq, const std::string& model) {
  BoundNetwork net;
  net.source = model;
  int64_t rank = 4;  // zoo models take N×C×H×W
  for (const auto& child : seq->children()) {
    if (auto m = std::dynamic_pointer_cast<nn::LinearImpl>(child)) {
      net.layers.push_back(linear_layer(m->weight, m->options.bias() ? m->bias : torch::Tensor()));
    } else if (auto m = std::dynamic_pointer_cast<nn::Conv2dImpl>(child)) {
      const auto& o = m->options;
      if (!c10::holds_alternative<torch::ExpandingArray<2>>(o.padding())) {
        unsupported("Conv2d with string padding", model);
      }
      if (!c10::get_if<torch::enumtype::kZeros>(&o.padding_mode())) {
        unsupported("Conv2d with non-zero padding mode", model);
      }
      auto pad = c10::get<torch::ExpandingArray<2>>(o.padding());
      net.layers.push_back(conv_layer(m->weight, o.bias() ? m->bias : torch::Tensor(),
                                      vec2(*o.stride()), vec2(*pad), vec2(*o.dilation()),
                                      o.groups()));
    } else if (std::dynamic_pointer_cast<nn::ReLUImpl>(child)) {
      net.layers.push_back(relu_layer());
    } else if (auto m = std::dynamic_pointer_cast<nn::FlattenImpl>(child)) {
      int64_t start = m->options.start_dim(), end = m->options.end_dim();
      net.layers.push_back(flatten_layer(start, end));
      rank = rank_after_flatten(rank, start, end);
    } else if (auto m = std::dynamic_pointer_cast<nn::MaxPool2dImpl>(child)) {
      const auto& o = m->options;
      net.layers.push_back(maxpool_layer(vec2(*o.kernel_size()), vec2(*o.stride()),
                                         vec2(*o.padding()), vec2(*o.dilation()), o.ceil_mode()));
    } else if (auto m = std::dynamic_pointer_cast<nn::AvgPool2dImpl>(child)) {
      const auto& o = m->options;
      c10::optional<int64_t> divisor;
      if (o.divisor_override()) divisor = *o.divisor_override();
      net.layers.push_back(avgpool_layer(vec2(*o.kernel_size()), vec2(*o.stride()),
                                         vec2(*o.padding()), o.ceil_mode(), o.count_include_pad(),
                                         divisor));
    } else if (auto m = std::dynamic_pointer_cast<nn::BatchNorm2dImpl>(child)) {
      net.layers.push_back(batchnorm_layer(m->weight, m->bias, m->running_mean, m->running_var,
                                           m->options.eps(), 4));
    } else if (auto m = std::dynamic_pointer_cast<nn::BatchNorm1dImpl>(child)) {
      net.layers.push_back(batchnorm_layer(m->weight, m->bias, m->running_mean, m->running_var,
                                           m->options.eps(), rank));
    } else if (std::dynamic_pointer_cast<nn::DropoutImpl>(child)) {
      continue;  // identity in eval mode
    } else {
      unsupported(child->name(), model);
    }
  }
  return net;
}

// ---- TorchScript ------------------------------------------------------------------------------

using torch::jit::Node;
using torch::jit::Value;

class GraphReader {
 public:
  GraphReader(const torch::jit::Module& module, std::string model)
      : module_(module), model_(std::move(model)) {}

  BoundNetwork read() {
    auto graph = module_.get_method("forward").graph()->copy();
    torch::jit::Inline(*graph);
    if (graph->inputs().size() != 2) {
      throw Error("bound propagation needs a model whose forward takes one input tensor; " +
                  model_ + " takes " + std::to_string(graph->inputs().size() - 1));
    }
    known_[graph->inputs()[0]] = module_._ivalue();
    act_ = graph->inputs()[1];
    net_.source = model_;
    for (Node* node : graph->nodes()) visit(node);
    const Value* out = graph->outputs()[0];
    if (out != act_ &&
        !(out->node()->kind() == c10::prim::TupleConstruct && out->node()->inputs()[0] == act_)) {
      throw Error("bound propagation could not follow the forward graph of " + model_ +
                  " from its input to its output (only chains of supported layers are read)");
    }
    return std::move(net_);
  }

 private:
  bool uses_act(const Node* node) const {
    for (const Value* v : node->inputs()) {
      if (v == act_) return true;
    }
    return false;
  }

  bool derived(const Node* node) const {
    for (const Value* v : node->inputs()) {
      if (derived_.count(v) || activations_.count(v)) return true;
    }
    return false;
  }

  const c10::IValue* find(const Value* v) const {
    auto it = known_.find(v);
    return it == known_.end() ? nullptr : &it->second;
  }

  torch::Tensor tensor(const Value* v, const std::string& what) const {
    const c10::IValue* iv = find(v);
    if (iv && iv->isTensor()) return iv->toTensor();
    if (iv && iv->isNone()) return torch::Tensor();
    throw Error("bound propagation could not read the " + what + " of a layer in " + model_ +
                " (it is computed, not a parameter or constant)");
  }

  bool boolean(const Value* v) const {
    const c10::IValue* iv = find(v);
    if (iv && iv->isBool()) return iv->toBool();
    throw Error("bound propagation could not read a flag of a layer in " + model_);
  }

  double number(const Value* v) const {
    const c10::IValue* iv = find(v);
    if (iv && iv->isDouble()) return iv->toDouble();
    if (iv && iv->isInt()) return static_cast<double>(iv->toInt());
    throw Error("bound propagation could not read a number of a layer in " + model_);
  }

  std::optional<std::vector<int64_t>> ints(const Value* v) const {
    if (const c10::IValue* iv = find(v)) {
      if (iv->isIntList()) return iv->toIntVector();
      if (iv->isInt()) return std::vector<int64_t>{iv->toInt()};
      return std::nullopt;
    }
    const Node* n = v->node();
    if (n->kind() != c10::prim::ListConstruct) return std::nullopt;
    std::vector<int64_t> out;
    for (const Value* in : n->inputs()) {
      const c10::IValue* iv = find(in);
      if (!iv || !iv->isInt()) return std::nullopt;
      out.push_back(iv->toInt());
    }
    return out;
  }

  std::vector<int64_t> need_ints(const Value* v, const std::string& what) const {
    auto out = ints(v);
    if (!out)
      throw Error("bound propagation could not read the " + what + " of a layer in " + model_);
    return *out;
  }

  // The other operand of an elementwise op with the activation: a tensor or a number.
  torch::Tensor operand(const Value* v) const {
    const c10::IValue* iv = find(v);
    if (iv && iv->isTensor()) return iv->toTensor();
    if (iv && (iv->isDouble() || iv->isInt())) return torch::tensor(number(v));
    throw Error("bound propagation supports elementwise +, −, ×, ÷ only with constants in " +
                model_);
  }

  void push(BoundLayer layer, Node* node) {
    net_.layers.push_back(std::move(layer));
    advance(node);
  }

  void advance(Node* node) {
    act_ = node->outputs()[0];
    activations_.insert(act_);
  }

  void affine(torch::Tensor scale, torch::Tensor shift, Node* node, const std::string& name) {
    BoundLayer l{LayerKind::kAffine};
    l.weight = std::move(scale);
    l.bias = std::move(shift);
    l.name = name;
    push(std::move(l), node);
  }

  void visit(Node* node) {
    const auto kind = node->kind();
    if (kind == c10::prim::Constant) {
      if (auto v = torch::jit::toIValue(node->output())) known_[node->output()] = *v;
    } else if (kind == c10::prim::GetAttr) {
      const c10::IValue* obj = find(node->input(0));
      if (obj && obj->isObject()) {
        known_[node->output()] = obj->toObjectRef().getAttr(node->s(c10::attr::name));
      }
    } else if (uses_act(node)) {
      read_layer(node, kind.toQualString());
    } else if (derived(node)) {
      mark_derived(node);
    }
  }

  // Values computed from the activation (its size, a tuple holding it) are not constants that
  // a later layer could take as a parameter.
  void mark_derived(const Node* node) {
    for (const Value* v : node->outputs()) derived_.insert(v);
  }

  // A node that takes the activation: one layer of the chain, or an error naming the op.
  void read_layer(Node* node, const std::string& op) {
    if (op == "aten::size" || op == "aten::dim" || op == "prim::shape" || op == "aten::numel" ||
        op == "prim::TupleConstruct" || op == "prim::ListConstruct") {
      mark_derived(node);
    } else if (op == "aten::linear") {
      push(linear_layer(tensor(node->input(1), "weight"), tensor(node->input(2), "bias")), node);
    } else if (op == "aten::_convolution" || op == "aten::conv2d") {
      read_conv(node, op);
    } else if (op == "aten::relu" || op == "aten::relu_") {
      push(relu_layer(), node);
    } else if (op == "aten::flatten") {
      read_flatten(node);
    } else if (op == "aten::view" || op == "aten::reshape") {
      read_view(node, op);
    } else if (op == "aten::max_pool2d") {
      read_max_pool(node);
    } else if (op == "aten::avg_pool2d") {
      read_avg_pool(node);
    } else if (op == "aten::batch_norm") {
      read_batch_norm(node);
    } else if (op == "aten::add" || op == "aten::sub" || op == "aten::add_" || op == "aten::sub_" ||
               op == "aten::rsub") {
      read_add_sub(node, op);
    } else if (op == "aten::mul" || op == "aten::mul_" || op == "aten::div" || op == "aten::div_") {
      read_mul_div(node, op);
    } else if (op == "aten::dropout" || op == "aten::dropout_" || op == "aten::feature_dropout" ||
               op == "aten::contiguous" || op == "aten::detach" || op == "aten::clone") {
      advance(node);
    } else {
      unsupported("'" + op + "'", model_);
    }
  }

  void read_conv(Node* node, const std::string& op) {
    torch::Tensor w = tensor(node->input(1), "weight");
    if (w.dim() != 4) unsupported(op + " with a " + std::to_string(w.dim()) + "-d kernel", model_);
    int64_t groups = 1;
    if (op == "aten::_convolution") {
      if (boolean(node->input(6))) unsupported("ConvTranspose2d", model_);
      groups = static_cast<int64_t>(number(node->input(8)));
    } else {
      groups = static_cast<int64_t>(number(node->input(6)));
    }
    push(conv_layer(w, tensor(node->input(2), "bias"), need_ints(node->input(3), "stride"),
                    need_ints(node->input(4), "padding"), need_ints(node->input(5), "dilation"),
                    groups),
         node);
  }

  void read_flatten(Node* node) {
    int64_t start = static_cast<int64_t>(number(node->input(1)));
    int64_t end = static_cast<int64_t>(number(node->input(2)));
    push(flatten_layer(start, end), node);
    rank_ = rank_after_flatten(rank_, start, end);
  }

  // x.view(x.size(0), -1): a 2-D reshape keeping the batch is a flatten.
  void read_view(Node* node, const std::string& op) {
    const Node* shape = node->input(1)->node();
    auto list = ints(node->input(1));
    const size_t n = list
                         ? list->size()
                         : (shape->kind() == c10::prim::ListConstruct ? shape->inputs().size() : 0);
    if (n != 2) unsupported(op + " to a shape other than (batch, -1)", model_);
    push(flatten_layer(1, -1), node);
    rank_ = 2;
  }

  void read_max_pool(Node* node) {
    push(maxpool_layer(need_ints(node->input(1), "kernel size"),
                       need_ints(node->input(2), "stride"), need_ints(node->input(3), "padding"),
                       need_ints(node->input(4), "dilation"), boolean(node->input(5))),
         node);
  }

  void read_avg_pool(Node* node) {
    c10::optional<int64_t> divisor;
    if (const c10::IValue* d = find(node->input(6)); d && d->isInt()) divisor = d->toInt();
    push(avgpool_layer(need_ints(node->input(1), "kernel size"),
                       need_ints(node->input(2), "stride"), need_ints(node->input(3), "padding"),
                       boolean(node->input(4)), boolean(node->input(5)), divisor),
         node);
  }

  void read_batch_norm(Node* node) {
    if (boolean(node->input(5))) {
      unsupported("BatchNorm in training mode (certify in eval mode)", model_);
    }
    push(batchnorm_layer(tensor(node->input(1), "weight"), tensor(node->input(2), "bias"),
                         tensor(node->input(3), "running mean"),
                         tensor(node->input(4), "running variance"), number(node->input(7)), rank_),
         node);
  }

  // add: x + α·c | c + α·x; sub: x − α·c | c − α·x; rsub(x, c, α) = c − α·x
  void read_add_sub(Node* node, const std::string& op) {
    const bool first = node->input(0) == act_;
    if (node->input(1) == act_ && first) unsupported(op + " of the activation with itself", model_);
    torch::Tensor other = operand(first ? node->input(1) : node->input(0));
    double alpha = node->inputs().size() > 2 ? number(node->input(2)) : 1.0;
    const bool sub = op.rfind("aten::sub", 0) == 0, rsub = op == "aten::rsub";
    torch::Tensor scale, shift;
    if (rsub) {
      if (!first) unsupported("rsub with the activation second", model_);
      scale = torch::tensor(-alpha);
      shift = other;
    } else if (first) {
      scale = torch::tensor(1.0);
      shift = (sub ? -alpha : alpha) * other;
    } else {
      scale = torch::tensor(sub ? -alpha : alpha);
      shift = other;
    }
    affine(scale, shift, node, "Affine");
  }

  void read_mul_div(Node* node, const std::string& op) {
    const bool first = node->input(0) == act_;
    if (node->input(1) == act_ && first) unsupported(op + " of the activation with itself", model_);
    const bool div = op.rfind("aten::div", 0) == 0;
    if (div && !first) unsupported("division by the activation", model_);
    if (div && node->inputs().size() > 2) unsupported("division with rounding", model_);
    torch::Tensor other = operand(first ? node->input(1) : node->input(0));
    affine(div ? 1.0 / other : other, torch::tensor(0.0), node, "Affine");
  }

  const torch::jit::Module& module_;
  std::string model_;
  BoundNetwork net_;
  std::unordered_map<const Value*, c10::IValue> known_;
  std::unordered_set<const Value*> derived_;
  std::unordered_set<const Value*> activations_;
  const Value* act_ = nullptr;
  int64_t rank_ = 4;
};

}  // namespace

BoundNetwork BoundNetwork::from_model(Model& model) {
  if (auto* zoo = dynamic_cast<ZooModel*>(&model)) {
    return read_sequential(zoo->layers(), model.describe());
  }
  if (auto* ts = dynamic_cast<TorchScriptModel*>(&model)) {
    try {
      return GraphReader(ts->module(), model.describe()).read();
    } catch (const c10::Error& e) {
      throw Error("bound propagation could not read " + model.describe() + ": " +
                  e.what_without_backtrace());
    }
  }
  throw Error("bound propagation reads zoo models and TorchScript models; " + model.describe() +
              " is neither");
}

}  // namespace perturb
