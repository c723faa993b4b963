#include "runtime/threat/physical.h"

#include <cmath>

#include "runtime/core/error.h"
#include "runtime/image/transforms.h"
#include "runtime/report/format.h"
#include "runtime/threat/lp_threat.h"

namespace perturb {
namespace {

std::string interval_text(const Interval& r) {
  return r.is_point() ? format_number(r.lo) : format_number(r.lo) + ".." + format_number(r.hi);
}

class TransformThreat : public Threat {
 public:
  TransformThreat(TransformSpec spec, SearchMode search) : spec_(std::move(spec)), search_(search) {
    for (const auto& p : spec_.params) {
      if (!(p.range.lo <= p.range.hi) || !std::isfinite(p.range.lo) || !std::isfinite(p.range.hi)) {
        throw Error(spec_.name + " " + p.name + " must be a number or a range lo..hi, got [" +
                    format_number(p.range.lo) + ", " + format_number(p.range.hi) + "]");
      }
      for (int64_t i = 0; i < p.count; ++i) {
        lo_.push_back(p.range.lo);
        hi_.push_back(p.range.hi);
        identity_.push_back(std::clamp(p.identity, p.range.lo, p.range.hi));
      }
    }
  }

  std::string name() const override { return spec_.name; }
  std::string describe() const override {
    std::string text = spec_.name + "(";
    for (size_t i = 0; i < spec_.params.size(); ++i) {
      text += (i ? ", " : "") + spec_.params[i].name + ": " + interval_text(spec_.params[i].range);
    }
    text += spec_.extra_describe;
    if (search_ == SearchMode::kGrid) text += ", search: \"grid\"";
    return text + ")";
  }

  bool additive() const override { return false; }
  bool parametric() const override { return true; }

  SearchState init_state(const torch::Tensor& x, at::Generator& gen, bool random) const override {
    check(x);
    const auto lo = bound(lo_, x), hi = bound(hi_, x);
    if (!random) return {bound(identity_, x).expand({x.size(0), k()}).clone()};
    auto u = torch::rand({x.size(0), k()}, gen, x.options().device(gen.device())).to(x.device());
    return {lo + (hi - lo) * u};
  }

  torch::Tensor apply_state(const torch::Tensor& x, const SearchState& state) const override {
    check(x);
    return spec_.transform(x, state.at(0));
  }

  // A signed step of step·(hi − lo) per parameter (the step is a fraction of each range).
  SearchState ascend_state(const SearchState& state, const SearchState& grad,
                           const torch::Tensor& x, std::optional<double> step,
                           int64_t steps) const override {
    const auto width = bound(hi_, x) - bound(lo_, x);
    const double s = step.value_or(default_step(steps));
    return {(state.at(0) + s * width * grad.at(0).sign()).detach()};
  }

  SearchState project_state(const SearchState& state, const torch::Tensor& x) const override {
    return {torch::max(torch::min(state.at(0), bound(hi_, x)), bound(lo_, x)).detach()};
  }

  std::vector<SearchState> grid_states(const torch::Tensor& x) const override {
    if (search_ != SearchMode::kGrid) return {};
    return full_grid(x);
  }

  // Every combination of `points` values per parameter component (21 for one, 7 for two, 4
  // for three or more), evenly spaced over the ranges.
  std::vector<SearchState> full_grid(const torch::Tensor& x) const {
    const int64_t n = k();
    const int64_t points = n == 1 ? 21 : n == 2 ? 7 : 4;
    std::vector<std::vector<double>> values(n);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t count = lo_[i] == hi_[i] ? 1 : points;
      for (int64_t j = 0; j < count; ++j) {
        values[i].push_back(count == 1 ? lo_[i] : lo_[i] + (hi_[i] - lo_[i]) * j / (count - 1));
      }
    }
    std::vector<SearchState> grid;
    std::vector<size_t> idx(n, 0);
    while (true) {
      std::vector<double> row(n);
      for (int64_t i = 0; i < n; ++i) row[i] = values[i][idx[i]];
      grid.push_back({bound(row, x).expand({x.size(0), n}).clone()});
      int64_t d = 0;
      while (d < n && ++idx[d] == values[d].size()) idx[d++] = 0;
      if (d == n) break;
    }
    return grid;
  }

  torch::Tensor project(const torch::Tensor& x_adv, const torch::Tensor& x) const override {
    return apply_state(x, fit_state(*this, x_adv, x)).detach();
  }

  torch::Tensor sample(const torch::Tensor& x, at::Generator& gen) const override {
    torch::NoGradGuard no_grad;
    return apply_state(x, init_state(x, gen, true)).detach();
  }

  torch::Tensor contains(const torch::Tensor& x_adv, const torch::Tensor& x,
                         double tol) const override {
    const auto fitted = project(x_adv, x);
    const auto residual = (fitted - x_adv).abs().reshape({x.size(0), -1}).amax(1);
    return residual <= fit_tolerance(tol);
  }

  // For callers that step on x_adv directly (Iterative): a sign step, then project() fits the
  // parameters.
  torch::Tensor ascend(const torch::Tensor& x_adv, const torch::Tensor& grad,
                       double step) const override {
    return (x_adv + step * grad.sign()).detach();
  }

  // Madry's 2.5/steps, as a fraction of each parameter's range.
  double default_step(int64_t steps) const override {
    return steps > 0 ? 2.5 / static_cast<double>(steps) : 1.0;
  }
  double eps() const override { return 0; }

  std::vector<std::string> parameter_names() const override {
    std::vector<std::string> names;
    for (const auto& p : spec_.params) names.push_back(p.name);
    return names;
  }

  std::shared_ptr<Threat> with(const Params& params) const override {
    TransformSpec spec = spec_;
    for (const auto& [key, value] : params) {
      bool found = false;
      for (auto& p : spec.params) {
        if (p.name == key) {
          p.range = value;
          found = true;
        }
      }
      if (!found) {
        std::string known;
        for (const auto& name : parameter_names()) known += (known.empty() ? "" : ", ") + name;
        throw Error(spec_.name + " has no parameter '" + key + "'; it has " + known);
      }
    }
    return std::make_shared<TransformThreat>(spec, search_);
  }

 private:
  int64_t k() const { return static_cast<int64_t>(lo_.size()); }
  // [1, k] on x's device and dtype.
  static torch::Tensor bound(const std::vector<double>& v, const torch::Tensor& x) {
    return torch::tensor(v, torch::kFloat64).to(x.device(), x.scalar_type()).reshape({1, -1});
  }
  void check(const torch::Tensor& x) const {
    image::check_images(x, spec_.name.c_str(), spec_.channels);
  }

  TransformSpec spec_;
  SearchMode search_;
  std::vector<double> lo_, hi_, identity_;
};

torch::Tensor col(const torch::Tensor& p, int64_t i) {
  return p.select(1, i);
}

}  // namespace

double fit_tolerance(double tol) {
  return std::max(tol, 2e-3);
}

SearchState select_state(const torch::Tensor& mask, const SearchState& a, const SearchState& b) {
  SearchState out;
  for (size_t i = 0; i < a.size(); ++i) {
    std::vector<int64_t> shape(a[i].dim(), 1);
    shape[0] = a[i].size(0);
    out.push_back(torch::where(mask.to(a[i].device()).reshape(shape), a[i], b[i]));
  }
  return out;
}

SearchState fit_state(const Threat& threat, const torch::Tensor& x_adv_in, const torch::Tensor& x) {
  const auto x_adv = x_adv_in.to(x.device(), x.scalar_type()).detach();
  auto error_of = [&](const SearchState& s) {
    torch::NoGradGuard no_grad;
    return (threat.apply_state(x, s) - x_adv).pow(2).reshape({x.size(0), -1}).sum(1);
  };
  // The identity start (init_state ignores the generator when not random).
  auto gen = at::detail::getDefaultCPUGenerator();
  auto best = threat.init_state(x, gen, false);
  auto best_error = error_of(best);
  for (const auto& candidate : threat.grid_states(x)) {
    const auto e = error_of(candidate);
    best = select_state(e < best_error, candidate, best);
    best_error = torch::min(e, best_error);
  }
  const auto* tt = dynamic_cast<const TransformThreat*>(&threat);
  if (tt && threat.grid_states(x).empty()) {
    for (const auto& candidate : tt->full_grid(x)) {
      const auto e = error_of(candidate);
      best = select_state(e < best_error, candidate, best);
      best_error = torch::min(e, best_error);
    }
  }
  if (threat.parametric()) {
    // Smooth in the parameters: Levenberg–Marquardt from the best start, in float64.
    const auto x64 = x.to(torch::kFloat64), x_adv64 = x_adv.to(torch::kFloat64);
    SearchState start;
    for (const auto& t : best) start.push_back(t.to(torch::kFloat64));
    auto fitted = fit_parameters(
        [&](const SearchState& s) {
          torch::NoGradGuard no_grad;
          return (threat.apply_state(x64, s) - x_adv64).reshape({x.size(0), -1});
        },
        [&](const SearchState& s) { return threat.project_state(s, x64); }, start);
    SearchState out;
    for (const auto& t : fitted) out.push_back(t.to(x.scalar_type()));
    return out;
  }
  auto state = best;
  double step = 0.05;
  for (int it = 0; it < 80; ++it, step *= 0.92) {
    SearchState grad;
    {
      torch::AutoGradMode enable(true);
      SearchState leaves;
      for (const auto& t : state) leaves.push_back(t.detach().requires_grad_(true));
      const auto loss = (threat.apply_state(x, leaves) - x_adv).pow(2).sum();
      std::vector<torch::Tensor> inputs(leaves.begin(), leaves.end());
      auto g = torch::autograd::grad({loss}, inputs, {}, false, false, /*allow_unused=*/true);
      for (size_t i = 0; i < g.size(); ++i) {
        grad.push_back(g[i].defined() ? -g[i].detach() : torch::zeros_like(state[i]));
      }
    }
    state = threat.project_state(threat.ascend_state(state, grad, x, step, 1), x);
    const auto e = error_of(state);
    best = select_state(e < best_error, state, best);
    best_error = torch::min(e, best_error);
  }
  return best;
}

std::vector<SearchState> full_grid_of(const Threat& threat, const torch::Tensor& x) {
  const auto* tt = dynamic_cast<const TransformThreat*>(&threat);
  return tt ? tt->full_grid(x) : std::vector<SearchState>{};
}

SearchState fit_parameters(const ResidualFn& residual, const ClampFn& clamp, SearchState start,
                           int iterations) {
  torch::NoGradGuard no_grad;
  std::vector<int64_t> sizes;
  for (const auto& t : start) sizes.push_back(t.size(1));
  auto split = [&](const torch::Tensor& flat) {
    const auto parts = flat.split_with_sizes(sizes, 1);
    return SearchState(parts.begin(), parts.end());
  };
  auto error_of = [](const torch::Tensor& r) { return r.pow(2).sum(1); };
  auto p = torch::cat(clamp(start), 1);
  const int64_t n = p.size(0), k = p.size(1);
  auto r = residual(split(p));
  auto err = error_of(r);
  auto mu = torch::full({n}, 1e-3, p.options());
  const auto eye = torch::eye(k, p.options()).unsqueeze(0);
  for (int it = 0; it < iterations; ++it) {
    // Central-difference Jacobian J [N, D, k] (bilinear warps are only piecewise smooth: at
    // a kink, e.g. a whole-pixel shift, a one-sided slope can point the wrong way).
    std::vector<torch::Tensor> columns;
    for (int64_t j = 0; j < k; ++j) {
      const auto h = 1e-4 * (1 + p.select(1, j).abs());
      auto up = p.clone(), down = p.clone();
      up.select(1, j).add_(h);
      down.select(1, j).sub_(h);
      // Both kept in the ranges (Blur's sigma may not go below 0): one-sided at a bound.
      up = torch::cat(clamp(split(up)), 1);
      down = torch::cat(clamp(split(down)), 1);
      const auto width = (up.select(1, j) - down.select(1, j)).reshape({-1, 1});
      const auto diff = residual(split(up)) - residual(split(down));
      columns.push_back(
          torch::where(width > 0, diff / width.clamp_min(1e-300), torch::zeros_like(diff)));
    }
    const auto J = torch::stack(columns, 2);
    const auto JtJ = J.transpose(1, 2).bmm(J);
    const auto Jtr = J.transpose(1, 2).bmm(r.unsqueeze(2));
    const auto diag = JtJ.diagonal(0, 1, 2).clamp_min(1e-12);
    const auto A = JtJ + mu.reshape({-1, 1, 1}) * torch::diag_embed(diag) + 1e-12 * eye;
    const auto step = std::get<0>(torch::linalg_lstsq(A, -Jtr)).squeeze(2);
    auto candidate = torch::cat(clamp(split(p + step)), 1);
    candidate = torch::where(torch::isfinite(candidate), candidate, p);
    const auto r_new = residual(split(candidate));
    const auto err_new = error_of(r_new);
    const auto better = err_new < err;
    p = torch::where(better.unsqueeze(1), candidate, p);
    r = torch::where(better.unsqueeze(1), r_new, r);
    err = torch::where(better, err_new, err);
    mu = torch::where(better, mu / 3, mu * 4).clamp(1e-9, 1e9);
  }
  return split(p);
}

ThreatPtr make_transform_threat(TransformSpec spec, SearchMode search) {
  return std::make_shared<TransformThreat>(std::move(spec), search);
}

ThreatPtr make_haze(Interval beta, Interval airlight, torch::Tensor depth, SearchMode search) {
  if (beta.lo < 0) throw Error("Haze beta must not be negative, got " + interval_text(beta));
  if (airlight.lo < 0 || airlight.hi > 1) {
    throw Error("Haze airlight must lie in [0, 1], got " + interval_text(airlight));
  }
  TransformSpec spec;
  spec.name = "Haze";
  spec.params = {{"beta", beta, 0, 1}, {"airlight", airlight, 1, 1}};
  if (depth.defined()) {
    depth = depth.detach().to(torch::kFloat32);
    spec.extra_describe = ", depth: " + format_shape(depth.sizes().vec());
  }
  spec.transform = [depth](const torch::Tensor& x, const torch::Tensor& p) {
    return image::haze(x, col(p, 0), col(p, 1), depth);
  };
  return make_transform_threat(std::move(spec), search);
}

ThreatPtr make_rotation(Interval degrees, SearchMode search) {
  TransformSpec spec{
      "Rotation", {{"degrees", degrees, 0, 1}}, [](const torch::Tensor& x, const torch::Tensor& p) {
        return image::rotate(x, col(p, 0));
      }};
  return make_transform_threat(std::move(spec), search);
}

ThreatPtr make_translation(Interval pixels, SearchMode search) {
  TransformSpec spec{"Translation",
                     {{"pixels", pixels, 0, 2}},
                     [](const torch::Tensor& x, const torch::Tensor& p) {
                       return image::translate(x, col(p, 0), col(p, 1));
                     }};
  return make_transform_threat(std::move(spec), search);
}

ThreatPtr make_scale(Interval factor, SearchMode search) {
  if (factor.lo <= 0) throw Error("Scale factor must be positive, got " + interval_text(factor));
  TransformSpec spec{
      "Scale", {{"factor", factor, 1, 1}}, [](const torch::Tensor& x, const torch::Tensor& p) {
        return image::scale(x, col(p, 0));
      }};
  return make_transform_threat(std::move(spec), search);
}

ThreatPtr make_gamma(Interval gamma, SearchMode search) {
  if (gamma.lo <= 0) throw Error("Gamma gamma must be positive, got " + interval_text(gamma));
  TransformSpec spec{
      "Gamma", {{"gamma", gamma, 1, 1}}, [](const torch::Tensor& x, const torch::Tensor& p) {
        return image::gamma(x, col(p, 0));
      }};
  return make_transform_threat(std::move(spec), search);
}

ThreatPtr make_blur(Interval sigma, SearchMode search) {
  if (sigma.lo < 0) throw Error("Blur sigma must not be negative, got " + interval_text(sigma));
  TransformSpec spec{
      "Blur", {{"sigma", sigma, 0, 1}}, [](const torch::Tensor& x, const torch::Tensor& p) {
        return image::gaussian_blur(x, col(p, 0));
      }};
  return make_transform_threat(std::move(spec), search);
}

ThreatPtr make_brightness(Interval factor, SearchMode search) {
  if (factor.lo < 0) {
    throw Error("Brightness factor must not be negative, got " + interval_text(factor));
  }
  TransformSpec spec{
      "Brightness", {{"factor", factor, 1, 1}}, [](const torch::Tensor& x, const torch::Tensor& p) {
        return image::brightness(x, col(p, 0));
      }};
  return make_transform_threat(std::move(spec), search);
}

ThreatPtr make_contrast(Interval factor, SearchMode search) {
  if (factor.lo < 0) {
    throw Error("Contrast factor must not be negative, got " + interval_text(factor));
  }
  TransformSpec spec{
      "Contrast", {{"factor", factor, 1, 1}}, [](const torch::Tensor& x, const torch::Tensor& p) {
        return image::contrast(x, col(p, 0));
      }};
  return make_transform_threat(std::move(spec), search);
}

ThreatPtr make_grayscale(Interval amount, SearchMode search) {
  if (amount.lo < 0 || amount.hi > 1) {
    throw Error("Grayscale amount must lie in [0, 1], got " + interval_text(amount));
  }
  TransformSpec spec{"Grayscale",
                     {{"amount", amount, 0, 1}},
                     [](const torch::Tensor& x, const torch::Tensor& p) {
                       const auto a = col(p, 0).reshape({-1, 1, 1, 1});
                       return (1 - a) * x + a * image::grayscale(x);
                     },
                     0};
  return make_transform_threat(std::move(spec), search);
}

ThreatPtr make_color_shift(Interval shift, SearchMode search) {
  TransformSpec spec{
      "ColorShift",
      {{"shift", shift, 0, 3}},
      [](const torch::Tensor& x, const torch::Tensor& p) { return image::color_shift(x, p); },
      3};
  return make_transform_threat(std::move(spec), search);
}

}  // namespace perturb
