// IBP and CROWN-IBP over a BoundNetwork (see bounds.h for the definitions followed).

#include "runtime/certify/bounds.h"

#include <algorithm>

#include "runtime/core/error.h"
#include "runtime/distributed/share.h"
#include "runtime/threat/lp_threat.h"

namespace perturb {
namespace {

struct Box {
  torch::Tensor lo, hi;
};

// Sum over every dim from `from` on, giving [B] or [B, S].
torch::Tensor sum_from(const torch::Tensor& t, int64_t from) {
  std::vector<int64_t> dims;
  for (int64_t d = from; d < t.dim(); ++d) dims.push_back(d);
  return dims.empty() ? t : t.sum(dims);
}

// The layer's linear part (no bias) applied to x: Linear and Conv2d only.
torch::Tensor linear_part(const BoundLayer& l, const torch::Tensor& x, const torch::Tensor& w) {
  if (l.kind == LayerKind::kLinear) return torch::linear(x, w);
  return torch::conv2d(x, w, {}, l.stride, l.padding, l.dilation, l.groups);
}

// One IBP step (Gowal et al. 2018, eq. 6: centre/radius through affine layers; monotone layers
// applied to both ends).
Box ibp_step(const BoundLayer& l, const Box& b) {
  switch (l.kind) {
    case LayerKind::kLinear:
    case LayerKind::kConv2d: {
      torch::Tensor mid = (b.hi + b.lo) / 2, rad = (b.hi - b.lo) / 2;
      torch::Tensor c = l.forward(mid), r = linear_part(l, rad, l.weight.abs());
      return {c - r, c + r};
    }
    case LayerKind::kAffine: {
      torch::Tensor mid = (b.hi + b.lo) / 2, rad = (b.hi - b.lo) / 2;
      torch::Tensor c = l.forward(mid), r = rad * l.weight.abs();
      return {c - r, c + r};
    }
    case LayerKind::kReLU:
    case LayerKind::kFlatten:
    case LayerKind::kAvgPool2d:  // non-negative weights: monotone
    case LayerKind::kMaxPool2d:
      return {l.forward(b.lo), l.forward(b.hi)};
  }
  throw Error("unknown layer kind");
}

// The box at the input of every layer, and the output box last (boxes.size() == layers + 1).
// For an L2 input set, the first Linear/Conv2d layer reached through elementwise layers only
// (normalisation, flatten) also gets the exact bound of the ball, c ± eps·‖row ⊙ s‖₂ (the dual
// norm; s the elementwise scale so far), intersected with the box bound.
std::vector<Box> ibp_boxes(const BoundNetwork& net, const InputSet& input, size_t count) {
  std::vector<Box> boxes;
  boxes.reserve(count + 1);
  boxes.push_back({input.lower, input.upper});
  const bool l2 = input.l2_eps > 0;
  bool prefix = l2;
  torch::Tensor center = input.center, scale2;
  if (l2) scale2 = torch::ones_like(center);
  for (size_t i = 0; i < count; ++i) {
    const BoundLayer& l = net.layers[i];
    Box next = ibp_step(l, boxes.back());
    if (prefix) {
      if (l.kind == LayerKind::kAffine) {
        center = l.forward(center);
        scale2 = scale2 * l.weight * l.weight;
      } else if (l.kind == LayerKind::kFlatten) {
        center = l.forward(center);
        scale2 = l.forward(scale2);
      } else if (l.kind == LayerKind::kLinear || l.kind == LayerKind::kConv2d) {
        torch::Tensor c = l.forward(center);
        torch::Tensor r =
            input.l2_eps * linear_part(l, scale2, l.weight * l.weight).clamp_min(0).sqrt();
        next.lo = torch::max(next.lo, c - r);
        next.hi = torch::min(next.hi, c + r);
        prefix = false;
      } else {
        prefix = false;
      }
    }
    boxes.push_back(std::move(next));
  }
  return boxes;
}

// Bounds of spec·z over the box of z ([B, K] box, [B, S, K] spec).
Bounds spec_of_box(const Box& b, const torch::Tensor& spec) {
  torch::Tensor pos = spec.clamp_min(0), neg = spec.clamp_max(0);
  torch::Tensor lo = b.lo.unsqueeze(1), hi = b.hi.unsqueeze(1);
  return {(pos * lo + neg * hi).sum(2), (pos * hi + neg * lo).sum(2)};
}

// IBP bounds of spec·f given the boxes; the last Linear layer is merged with the spec.
Bounds ibp_spec(const BoundNetwork& net, const std::vector<Box>& boxes, const torch::Tensor& spec) {
  const size_t n = net.layers.size();
  if (!spec.defined()) return {boxes[n].lo, boxes[n].hi};
  const BoundLayer& last = net.layers[n - 1];
  if (last.kind != LayerKind::kLinear) return spec_of_box(boxes[n], spec);
  const Box& in = boxes[n - 1];
  torch::Tensor w = torch::matmul(spec, last.weight);  // [B, S, in]
  torch::Tensor mid = ((in.hi + in.lo) / 2).unsqueeze(2), rad = ((in.hi - in.lo) / 2).unsqueeze(2);
  torch::Tensor c = torch::matmul(w, mid).squeeze(2);
  if (last.bias.defined()) c = c + torch::matmul(spec, last.bias);
  torch::Tensor r = torch::matmul(w.abs(), rad).squeeze(2);
  return {c - r, c + r};
}

std::vector<int64_t> with_spec(const torch::Tensor& batched, int64_t s) {
  std::vector<int64_t> shape = batched.sizes().vec();
  shape.insert(shape.begin() + 1, s);
  return shape;
}

// CROWN's backward pass (Zhang et al. 2018, Theorem 3.2) for the lower bound of every row of
// A·f, A [B, S, K], with the intermediate bounds from IBP (Zhang et al. 2020, §3). Returns [B, S].
torch::Tensor crown_lower(const BoundNetwork& net, const std::vector<Box>& boxes,
                          const InputSet& input, torch::Tensor a) {
  const int64_t batch = a.size(0), specs = a.size(1);
  torch::Tensor bias = torch::zeros({batch, specs}, a.options());
  for (size_t i = net.layers.size(); i-- > 0;) {
    const BoundLayer& l = net.layers[i];
    const torch::Tensor& in = boxes[i].lo;  // [B, *in_shape]
    std::vector<int64_t> in_shape = with_spec(in, specs);
    switch (l.kind) {
      case LayerKind::kLinear:
        if (l.bias.defined()) bias = bias + torch::matmul(a, l.bias);
        a = torch::matmul(a, l.weight);
        break;
      case LayerKind::kConv2d: {
        if (l.bias.defined()) bias = bias + torch::matmul(a.sum({3, 4}), l.bias);
        const auto out = a.sizes();
        std::vector<int64_t> output_padding(2);
        for (int d = 0; d < 2; ++d) {
          const int64_t full = (out[3 + d] - 1) * l.stride[d] - 2 * l.padding[d] +
                               l.dilation[d] * (l.kernel[d] - 1) + 1;
          output_padding[d] = in.size(2 + d) - full;
        }
        a = torch::conv_transpose2d(a.reshape({batch * specs, out[2], out[3], out[4]}), l.weight,
                                    {}, l.stride, l.padding, output_padding, l.groups, l.dilation)
                .reshape(in_shape);
        break;
      }
      case LayerKind::kFlatten:
        a = a.reshape(in_shape);
        break;
      case LayerKind::kAffine:
        bias = bias + sum_from(a * l.bias, 2);
        a = a * l.weight;
        break;
      case LayerKind::kAvgPool2d: {
        const auto out = a.sizes();
        torch::Tensor like =
            torch::zeros({batch * specs, in.size(1), in.size(2), in.size(3)}, a.options());
        a = at::avg_pool2d_backward(a.reshape({batch * specs, out[2], out[3], out[4]}), like,
                                    l.kernel, l.stride, l.padding, l.ceil_mode, l.count_include_pad,
                                    l.divisor_override)
                .reshape(in_shape);
        break;
      }
      case LayerKind::kReLU: {
        // Pre-activation bounds l, u from IBP. Upper line through (l, 0) and (u, u); lower line
        // α·x with CROWN's adaptive α = 1 when u > −l, else 0.
        const torch::Tensor& lo = boxes[i].lo;
        const torch::Tensor& hi = boxes[i].hi;
        torch::Tensor active = (lo >= 0).to(a.dtype()),
                      unstable = ((lo < 0) & (hi > 0)).to(a.dtype());
        torch::Tensor slope = unstable * hi / (hi - lo).clamp_min(1e-12) + active;
        torch::Tensor intercept = -unstable * slope * lo;
        torch::Tensor alpha = active + unstable * (hi > -lo).to(a.dtype());
        torch::Tensor pos = a.clamp_min(0), neg = a.clamp_max(0);
        bias = bias + sum_from(neg * intercept.unsqueeze(1), 2);
        a = pos * alpha.unsqueeze(1) + neg * slope.unsqueeze(1);
        break;
      }
      case LayerKind::kMaxPool2d: {
        if (l.ceil_mode || l.padding[0] != 0 || l.padding[1] != 0) {
          throw Error("CROWN-IBP supports max pooling without padding or ceil mode; use IBP for " +
                      net.source);
        }
        const int64_t c = in.size(1), h = in.size(2), w = in.size(3);
        auto windows = [&](const torch::Tensor& t) {  // [B, C, kk, L]
          torch::Tensor u = torch::im2col(t.reshape({batch * c, 1, h, w}), l.kernel, l.dilation,
                                          {0, 0}, l.stride);
          return u.reshape({batch, c, u.size(1), u.size(2)});
        };
        torch::Tensor lw = windows(boxes[i].lo), uw = windows(boxes[i].hi);
        torch::Tensor k = lw.argmax(2, /*keepdim=*/true);  // [B, C, 1, L]
        torch::Tensor lmax = lw.gather(2, k).squeeze(2);
        torch::Tensor umax = std::get<0>(uw.max(2));
        torch::Tensor others =
            std::get<0>(uw.scatter(2, k, -std::numeric_limits<float>::infinity()).max(2));
        // x_k dominates its window: the max is exactly x_k.
        torch::Tensor dominated = (lmax >= others).to(a.dtype()).unsqueeze(1);  // [B, 1, C, L]
        const int64_t windows_count = lw.size(3);
        torch::Tensor a_w = a.reshape({batch, specs, c, windows_count});
        torch::Tensor pos = a_w.clamp_min(0), neg = a_w.clamp_max(0);
        bias = bias + (neg * (1 - dominated) * umax.unsqueeze(1)).sum({2, 3});
        torch::Tensor coef = pos + neg * dominated;                       // on x_k
        torch::Tensor onehot = torch::zeros_like(lw).scatter(2, k, 1.0);  // [B, C, kk, L]
        torch::Tensor spread = coef.unsqueeze(3) * onehot.unsqueeze(1);   // [B, S, C, kk, L]
        a = torch::col2im(spread.reshape({batch * specs, c * lw.size(2), windows_count}), {h, w},
                          l.kernel, l.dilation, {0, 0}, l.stride)
                .reshape(in_shape);
        break;
      }
    }
  }
  // Concretise over the input set: the box always, and the L2 ball by its dual norm.
  torch::Tensor pos = a.clamp_min(0), neg = a.clamp_max(0);
  torch::Tensor lower =
      sum_from(pos * input.lower.unsqueeze(1) + neg * input.upper.unsqueeze(1), 2);
  if (input.l2_eps > 0) {
    torch::Tensor ball =
        sum_from(a * input.center.unsqueeze(1), 2) - input.l2_eps * a.flatten(2).norm(2, /*dim=*/2);
    lower = torch::max(lower, ball);
  }
  return lower + bias;
}

torch::Tensor identity_spec(const torch::Tensor& logits) {
  const int64_t k = logits.size(1);
  return torch::eye(k, logits.options()).unsqueeze(0).expand({logits.size(0), k, k});
}

void check_network(const BoundNetwork& net) {
  if (net.layers.empty()) throw Error("bound propagation: " + net.source + " has no layers");
}

}  // namespace

InputSet input_set(const Threat& threat, const torch::Tensor& x) {
  const auto* lp = dynamic_cast<const LpThreat*>(&threat);
  const std::string name = threat.name();
  if (!lp || (name != "Linf" && name != "L2")) {
    throw Error("bound propagation supports Linf and L2 threats, got " + threat.describe());
  }
  const Domain& d = lp->domain();
  InputSet set;
  set.center = x;
  set.lower = (x - lp->eps()).clamp(d.lo, d.hi);
  set.upper = (x + lp->eps()).clamp(d.lo, d.hi);
  // A center outside the domain still gets a sound (if empty-looking) box.
  set.lower = torch::min(set.lower, set.upper);
  if (name == "L2") set.l2_eps = lp->eps();
  return set;
}

BoundMethod parse_bound_method(const std::string& name) {
  if (name == "ibp" || name == "IBP") return BoundMethod::kIbp;
  if (name == "crown_ibp" || name == "crown-ibp" || name == "CROWN-IBP") {
    return BoundMethod::kCrownIbp;
  }
  throw Error("unknown bound method '" + name + "'; use \"ibp\" or \"crown_ibp\"");
}

std::string bound_method_name(BoundMethod method) {
  return method == BoundMethod::kIbp ? "ibp" : "crown_ibp";
}

torch::Tensor margin_spec(const torch::Tensor& y, int64_t classes) {
  const int64_t batch = y.size(0);
  auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(y.device());
  torch::Tensor eye = torch::eye(classes, opts);
  torch::Tensor full = eye.index_select(0, y).unsqueeze(1) - eye.unsqueeze(0);  // [B, K, K]
  torch::Tensor idx = torch::arange(classes - 1, y.options()).unsqueeze(0).expand({batch, -1});
  torch::Tensor others = idx + (idx >= y.unsqueeze(1)).to(y.dtype());  // skip j == y
  return full.gather(1, others.unsqueeze(2).expand({batch, classes - 1, classes}));
}

Bounds ibp_bounds(const BoundNetwork& net, const InputSet& input, torch::Tensor spec) {
  check_network(net);
  auto boxes = ibp_boxes(net, input, net.layers.size());
  return ibp_spec(net, boxes, spec);
}

Bounds crown_ibp_bounds(const BoundNetwork& net, const InputSet& input, torch::Tensor spec,
                        CrownOptions options) {
  check_network(net);
  auto boxes = ibp_boxes(net, input, net.layers.size());
  const Box& out = boxes.back();
  torch::Tensor c = spec.defined() ? spec : identity_spec(out.lo);
  const int64_t s = c.size(1);
  torch::Tensor rows = options.upper ? torch::cat({c, -c}, 1) : c;
  torch::Tensor lower_rows = crown_lower(net, boxes, input, rows.to(out.lo.dtype()));
  Bounds b;
  b.lower = lower_rows.narrow(1, 0, s);
  b.upper = options.upper ? -lower_rows.narrow(1, s, s) : torch::Tensor();
  if (options.intersect) {
    Bounds i = ibp_spec(net, boxes, spec);
    b.lower = torch::max(b.lower, i.lower);
    if (options.upper) b.upper = torch::min(b.upper, i.upper);
  }
  return b;
}

Bounds compute_bounds(const BoundNetwork& net, const InputSet& input, BoundMethod method,
                      torch::Tensor spec) {
  return method == BoundMethod::kIbp ? ibp_bounds(net, input, spec)
                                     : crown_ibp_bounds(net, input, spec);
}

torch::Tensor verified(const BoundNetwork& net, const Threat& threat, const torch::Tensor& x,
                       const torch::Tensor& y, BoundMethod method) {
  InputSet set = input_set(threat, x);
  torch::Tensor logits = net.forward(x);
  const int64_t classes = logits.size(1);
  if (classes < 2) return logits.argmax(1) == y;
  torch::Tensor spec = margin_spec(y.to(x.device()), classes);
  torch::Tensor lower;
  if (method == BoundMethod::kIbp) {
    lower = ibp_bounds(net, set, spec).lower;
  } else {
    CrownOptions o;
    o.upper = false;
    lower = crown_ibp_bounds(net, set, spec, o).lower;
  }
  return (std::get<0>(lower.min(1)) > 0) & (logits.argmax(1) == y.to(x.device()));
}

namespace {

// The bound network must compute what the model computes: a layer the reader misread would
// give bounds of another function.
void check_reading(Model& model, const BoundNetwork& net, const torch::Tensor& xb,
                   const torch::Tensor& logits) {
  torch::Tensor mine = net.forward(xb);
  const double gap = (mine - logits).abs().max().item<double>();
  const double scale = std::max(1.0, logits.abs().max().item<double>());
  if (!(gap <= 1e-3 * scale)) {
    throw Error("bound propagation read " + model.describe() + " as " + net.describe() +
                ", but that network's outputs differ from the model's (by " + std::to_string(gap) +
                "); it has an operation the reader does not follow");
  }
}

}  // namespace

VerifiedReport verified_accuracy(Model& model, const Threat& threat, const torch::Tensor& x,
                                 const torch::Tensor& y, BoundMethod method, int64_t batch) {
  if (x.size(0) != y.size(0)) {
    throw Error("verified accuracy needs as many labels as inputs, got " +
                std::to_string(x.size(0)) + " inputs and " + std::to_string(y.size(0)) + " labels");
  }
  if (batch < 1) throw Error("batch must be at least 1, got " + std::to_string(batch));
  ModeGuard eval(model, /*training=*/false);
  torch::NoGradGuard no_grad;
  BoundNetwork net = BoundNetwork::from_model(model);
  VerifiedReport report;
  report.method = bound_method_name(method);
  report.threat = threat.describe();
  report.samples = x.size(0);
  const torch::Device device = model.device();
  // Batch k is rank k mod size's (runtime/distributed/share.h); the sums over ranks fill in
  // the other ranks' rows.
  const WorkShare share = WorkShare::of_process();
  auto mask = torch::zeros({x.size(0)}, torch::kInt64);
  auto predicted = torch::zeros({x.size(0)}, torch::kInt64);
  for (int64_t k = 0, start = 0; start < x.size(0); ++k, start += batch) {
    if (!share.owns(k)) continue;
    const int64_t n = std::min(batch, x.size(0) - start);
    torch::Tensor xb = x.narrow(0, start, n).to(device, torch::kFloat32);
    torch::Tensor yb = y.narrow(0, start, n).to(device, torch::kLong);
    torch::Tensor logits = model.forward(xb);
    if (k == share.rank) check_reading(model, net, xb, logits);
    predicted.narrow(0, start, n).copy_(logits.argmax(1).cpu());
    mask.narrow(0, start, n).copy_(verified(net, threat, xb, yb, method).cpu());
  }
  report.verified_mask = sum_over_ranks(mask).to(torch::kBool);
  report.predictions = sum_over_ranks(predicted);
  const int64_t correct =
      (report.predictions == y.to(torch::kCPU, torch::kLong)).sum().item<int64_t>();
  if (report.samples > 0) {
    report.clean = static_cast<double>(correct) / report.samples;
    report.verified = report.verified_mask.sum().item<double>() / report.samples;
  }
  return report;
}

}  // namespace perturb
