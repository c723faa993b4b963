// Physical and semantic threats: a differentiable transformation of the input whose parameters
// lie in ranges (Haze, Rotation, ...). Attacks search the parameters by gradient through the
// transform (runtime/image/transforms.h), projected onto the ranges, or try a grid of them
// (`search: "grid"`). The threat set around x is {T(x, p) : p in the ranges}.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "runtime/threat/threat.h"

namespace perturb {

enum class SearchMode { kGradient, kGrid };

// A user-facing parameter: `count` components share the range (Translation's dx and dy both
// come from `pixels`; ColorShift has one shift per channel). `identity` is the value that
// leaves the input unchanged (clamped into the range for the non-random start).
struct RangeParam {
  std::string name;
  Interval range;
  double identity = 0;
  int64_t count = 1;
};

// The transform: x [N, C, H, W] and p [N, k] (k = Σ counts) → the transformed batch.
using TransformFn = std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& p)>;

struct TransformSpec {
  std::string name;  // "Haze"
  std::vector<RangeParam> params;
  TransformFn transform;
  int64_t channels = 0;        // required channel count (3 for colour threats), 0 for any
  std::string extra_describe;  // appended inside the parentheses (", depth: [28, 28]")
};

ThreatPtr make_transform_threat(TransformSpec spec, SearchMode search);

// depth: undefined for the default map (runtime/image/transforms.h default_depth).
ThreatPtr make_haze(Interval beta, Interval airlight, torch::Tensor depth,
                    SearchMode search = SearchMode::kGradient);
ThreatPtr make_rotation(Interval degrees, SearchMode search = SearchMode::kGradient);
ThreatPtr make_translation(Interval pixels, SearchMode search = SearchMode::kGradient);
ThreatPtr make_scale(Interval factor, SearchMode search = SearchMode::kGradient);
ThreatPtr make_gamma(Interval gamma, SearchMode search = SearchMode::kGradient);
ThreatPtr make_blur(Interval sigma, SearchMode search = SearchMode::kGradient);
ThreatPtr make_brightness(Interval factor, SearchMode search = SearchMode::kGradient);
ThreatPtr make_contrast(Interval factor, SearchMode search = SearchMode::kGradient);
// The set of blends (1 − a)·x + a·gray(x), a in `amount` (default 0..1; 1 is full grayscale).
ThreatPtr make_grayscale(Interval amount, SearchMode search = SearchMode::kGradient);
ThreatPtr make_color_shift(Interval shift, SearchMode search = SearchMode::kGradient);

// The state of `threat` whose image T(x, state) is nearest to x_adv (squared error): the best of
// the identity start and the grid, refined by 80 sign-descent steps with a decaying step.
// Used by project/contains of parametric and composed threats (an approximation: the set is
// not convex).
SearchState fit_state(const Threat& threat, const torch::Tensor& x_adv, const torch::Tensor& x);

// Projected Levenberg–Marquardt on a parametric state (every tensor [N, k_i]): minimises
// ‖residual(s)‖² per sample from `start`, with a central-difference Jacobian (2k + 1 residual
// evaluations per iteration, k = Σ k_i; one-sided at a range's bound) and `clamp` (the ranges)
// after every step; a step is kept per sample only when it lowers the error. Computed in the
// residual's dtype.
using ResidualFn = std::function<torch::Tensor(const SearchState& s)>;  // → [N, D]
using ClampFn = std::function<SearchState(const SearchState& s)>;
SearchState fit_parameters(const ResidualFn& residual, const ClampFn& clamp, SearchState start,
                           int iterations = 30);

// The evenly spaced grid over a transformation's ranges (what `search: "grid"` tries), whatever
// its search mode; empty for other threats.
std::vector<SearchState> full_grid_of(const Threat& threat, const torch::Tensor& x);

// Per sample, `a` where mask [N] is true, else `b` (states of the same threat).
SearchState select_state(const torch::Tensor& mask, const SearchState& a, const SearchState& b);

// The residual max |T(x, fit) − x_adv| per sample [N] at which contains() accepts a point of a
// parametric or composed threat: max(tol, 2e-3).
double fit_tolerance(double tol);

}  // namespace perturb
