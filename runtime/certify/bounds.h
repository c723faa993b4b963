// Bound propagation: sound lower and upper bounds on a network's outputs over a threat's input
// set (an Linf or L2 ball ∩ the domain box).
//
// - IBP, interval bound propagation (Gowal et al. 2018): intervals pushed layer by layer in
//   centre/radius form, |W| times the radius through affine layers.
// - CROWN-IBP (Zhang et al. 2020): IBP gives the pre-activation bounds of every intermediate
//   layer; the bound of the final specification is then computed by CROWN's backward linear
//   relaxation (Zhang et al. 2018) through the whole network down to the input, where it is
//   concretised over the input set (dual norm for L2, per-coordinate box for Linf ∩ domain).
//
// Bounds are on C·f(x) for a specification matrix C (auto_LiRPA's `C`): the identity gives the
// logits themselves; margin_spec(y) gives f_y − f_j for every j ≠ y, whose lower bounds decide
// verification (all > 0 means no input of the set changes the prediction away from y).
//
// The network is read from the Model into a sequence of supported layers (BoundNetwork):
// Linear, Conv2d, ReLU, Flatten (and 2-D view/reshape), average and max pooling, BatchNorm in
// eval mode and elementwise affine maps with constants (input normalisation); anything else is
// an Error that names the layer. Every computation is a differentiable torch op on the model's
// own parameters, so the bounds can be trained through (certified training, bounds_train.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "runtime/model/model.h"
#include "runtime/threat/threat.h"

namespace perturb {

enum class LayerKind { kLinear, kConv2d, kReLU, kFlatten, kAffine, kAvgPool2d, kMaxPool2d };

// One supported layer. Tensors are the model's own (not copies).
struct BoundLayer {
  LayerKind kind;
  std::string name;      // "Linear(784, 256)", "BatchNorm2d(32)" — for messages
  torch::Tensor weight;  // Linear [out, in]; Conv2d [out, in/groups, kh, kw]; Affine: scale
  torch::Tensor bias;    // Linear/Conv2d bias (may be undefined); Affine: shift
  // Conv2d and pooling geometry.
  std::vector<int64_t> kernel, stride, padding, dilation;
  int64_t groups = 1;
  bool ceil_mode = false;
  bool count_include_pad = true;
  c10::optional<int64_t> divisor_override;
  int64_t flatten_start = 1;  // Flatten: dims [start, end] of the full (batched) shape
  int64_t flatten_end = -1;

  // The exact layer applied to a batch (to check the reading against the model).
  torch::Tensor forward(const torch::Tensor& x) const;
};

struct BoundNetwork {
  std::vector<BoundLayer> layers;
  std::string source;  // the model's describe()

  // Reads a zoo model (its torch::nn::Sequential) or a TorchScript module (its inlined forward
  // graph, which must be a chain of supported operations). Throws Error naming an unsupported
  // layer or a model kind bound propagation cannot read.
  static BoundNetwork from_model(Model& model);
  torch::Tensor forward(const torch::Tensor& x) const;
  // "Conv2d(1, 32, 3) → ReLU → ..." for messages and docs.
  std::string describe() const;
};

// The input set of a threat at x: the box [lower, upper] = (ball's bounding box) ∩ domain, and
// for L2 also the ball itself (l2_eps > 0), which the first affine layer and CROWN's input
// concretisation use through the dual norm. Error for threats other than Linf and L2.
struct InputSet {
  torch::Tensor center, lower, upper;
  double l2_eps = 0;  // > 0: the set is also inside the L2 ball of this radius around center
};
InputSet input_set(const Threat& threat, const torch::Tensor& x);

enum class BoundMethod { kIbp, kCrownIbp };
// "ibp" or "crown_ibp" (also "crown-ibp"); anything else → Error listing both.
BoundMethod parse_bound_method(const std::string& name);
std::string bound_method_name(BoundMethod method);

struct Bounds {
  torch::Tensor lower, upper;  // [B, S]
};

// Specification f_y − f_j for j ≠ y: [B, K−1, K] (auto_LiRPA's margin C matrix).
torch::Tensor margin_spec(const torch::Tensor& y, int64_t classes);

// IBP bounds on C·f over the set ([B, S, K] C; undefined C means the identity, the logits).
// When the last layer is Linear, C is merged into it (W' = C·W) before the interval step, which
// is tighter than differencing logit intervals.
Bounds ibp_bounds(const BoundNetwork& net, const InputSet& input, torch::Tensor spec = {});

struct CrownOptions {
  bool upper = true;      // also the upper bounds (a second set of rows −C)
  bool intersect = true;  // intersect with the IBP bounds (both are sound): never looser than IBP
};
// CROWN-IBP bounds on C·f over the set. The ReLU lower relaxation uses CROWN's adaptive slope
// (1 when u > −l, else 0); max pooling uses the lower bound x_k (k = argmax of the window's
// lower bounds) and the upper bound x_k when it dominates the window, else the constant max u.
Bounds crown_ibp_bounds(const BoundNetwork& net, const InputSet& input, torch::Tensor spec = {},
                        CrownOptions options = {});

Bounds compute_bounds(const BoundNetwork& net, const InputSet& input, BoundMethod method,
                      torch::Tensor spec = {});

// Bool [B]: the lower bound of every margin f_y − f_j is > 0.
torch::Tensor verified(const BoundNetwork& net, const Threat& threat, const torch::Tensor& x,
                       const torch::Tensor& y, BoundMethod method);

struct VerifiedReport {
  double clean = 0;             // clean accuracy of the network on the data
  double verified = 0;          // fraction of samples verified (verified implies correct)
  torch::Tensor verified_mask;  // bool [N]
  torch::Tensor predictions;    // int64 [N]: the network's top-1 class at each clean input
  int64_t samples = 0;
  std::string method;  // "ibp" / "crown_ibp"
  std::string threat;  // threat->describe()
};
// Verified accuracy over a dataset, in batches; runs in eval mode, without gradients.
VerifiedReport verified_accuracy(Model& model, const Threat& threat, const torch::Tensor& x,
                                 const torch::Tensor& y, BoundMethod method, int64_t batch = 64);

}  // namespace perturb
