// Threat composition: a >> b (transform, then perturb; searched jointly), a | b (union: the
// adversary picks the worse per sample), a & b (intersection by alternating projection).
#include <algorithm>

#include "runtime/core/error.h"
#include "runtime/threat/lp_threat.h"
#include "runtime/threat/physical.h"

namespace perturb {
namespace {

std::string joined_names(const std::vector<ThreatPtr>& parts) {
  std::string known;
  for (const auto& t : parts) {
    for (const auto& k : t->parameter_names()) {
      if (known.find(k) == std::string::npos) known += (known.empty() ? "" : ", ") + k;
    }
  }
  return known;
}

// Each part gets the keys it knows; a key no part knows is an error naming them all.
std::vector<ThreatPtr> forward(const std::vector<ThreatPtr>& parts, const Params& params,
                               const std::string& what) {
  std::vector<Params> split(parts.size());
  for (const auto& [key, value] : params) {
    bool used = false;
    for (size_t i = 0; i < parts.size(); ++i) {
      const auto names = parts[i]->parameter_names();
      if (std::find(names.begin(), names.end(), key) != names.end()) {
        split[i][key] = value;
        used = true;
      }
    }
    if (!used) {
      throw Error(what + " has no parameter '" + key + "'; its parts have " + joined_names(parts));
    }
  }
  std::vector<ThreatPtr> out;
  for (size_t i = 0; i < parts.size(); ++i) {
    out.push_back(split[i].empty() ? parts[i] : ThreatPtr(parts[i]->with(split[i])));
  }
  return out;
}

std::vector<std::string> all_names(const std::vector<ThreatPtr>& parts) {
  std::vector<std::string> names;
  for (const auto& t : parts) {
    for (const auto& k : t->parameter_names()) {
      if (std::find(names.begin(), names.end(), k) == names.end()) names.push_back(k);
    }
  }
  return names;
}

// a >> b: the threat set {b-perturbation of T_a(x)}. The state is a's then b's; b's state is
// relative to the moving centre c = a(x), so the gradient reaches a's parameters through c.
class Then : public Threat {
 public:
  Then(ThreatPtr a, ThreatPtr b) : a_(std::move(a)), b_(std::move(b)) {
    if (!a_->alternatives().empty() || !b_->alternatives().empty()) {
      throw Error("'>>' cannot compose a union ('|'); write (a >> c) | (b >> c) instead");
    }
  }
  std::string name() const override { return "Then"; }
  std::string describe() const override { return a_->describe() + " >> " + b_->describe(); }
  bool additive() const override { return false; }
  bool parametric() const override { return a_->parametric() && b_->parametric(); }
  size_t state_size() const override { return a_->state_size() + b_->state_size(); }

  SearchState init_state(const torch::Tensor& x, at::Generator& gen, bool random) const override {
    auto sa = a_->init_state(x, gen, random);
    torch::Tensor c;
    {
      torch::NoGradGuard no_grad;
      c = a_->apply_state(x, sa).detach();
    }
    auto sb = b_->init_state(c, gen, random);
    sa.insert(sa.end(), sb.begin(), sb.end());
    return sa;
  }
  torch::Tensor apply_state(const torch::Tensor& x, const SearchState& s) const override {
    auto [sa, sb] = split(s);
    return b_->apply_state(a_->apply_state(x, sa), sb);
  }
  SearchState ascend_state(const SearchState& s, const SearchState& g, const torch::Tensor& x,
                           std::optional<double> step, int64_t steps) const override {
    auto [sa, sb] = split(s);
    auto [ga, gb] = split(g);
    const auto c = centre(x, sa);
    auto out = a_->ascend_state(sa, ga, x, step, steps);
    auto ob = b_->ascend_state(sb, gb, c, step, steps);
    out.insert(out.end(), ob.begin(), ob.end());
    return out;
  }
  SearchState project_state(const SearchState& s, const torch::Tensor& x) const override {
    auto [sa, sb] = split(s);
    auto out = a_->project_state(sa, x);
    auto ob = b_->project_state(sb, centre(x, out));
    out.insert(out.end(), ob.begin(), ob.end());
    return out;
  }
  std::vector<SearchState> grid_states(const torch::Tensor&) const override { return {}; }

  // A transformation then a perturbation set (fog >> Linf): for given parameters p of a, the
  // nearest point is b's projection of x_adv around a(x, p), so only p is fitted (Levenberg–
  // Marquardt on the residual b.project(x_adv, a(x, p)) − x_adv, from the best of a's grid).
  // Otherwise the joint state is fitted (fit_state).
  torch::Tensor project(const torch::Tensor& x_adv, const torch::Tensor& x) const override {
    torch::NoGradGuard no_grad;
    if (a_->parametric() && b_->additive()) {
      const auto xa = x_adv.to(x.device(), x.scalar_type()).detach();
      const auto x64 = x.to(torch::kFloat64), xa64 = xa.to(torch::kFloat64);
      auto outer = [&](const SearchState& sa) {
        return b_->project(xa64, a_->apply_state(x64, sa));
      };
      // Start from a's best grid point (or the identity) for this residual.
      auto gen = at::detail::getDefaultCPUGenerator();
      auto start = a_->init_state(x64, gen, false);
      auto start_error = (outer(start) - xa64).pow(2).reshape({x.size(0), -1}).sum(1);
      auto grid = a_->grid_states(x64);
      if (grid.empty()) grid = full_grid_of(*a_, x64);
      for (const auto& candidate : grid) {
        const auto e = (outer(candidate) - xa64).pow(2).reshape({x.size(0), -1}).sum(1);
        start = select_state(e < start_error, candidate, start);
        start_error = torch::min(e, start_error);
      }
      const auto sa = fit_parameters(
          [&](const SearchState& s) {
            return (outer(s) - xa64).reshape({x.size(0), -1});
          },
          [&](const SearchState& s) { return a_->project_state(s, x64); }, start);
      return outer(sa).to(x.scalar_type()).detach();
    }
    if (parametric()) {
      // Two chained transformations: a's grid with b at its identity, then b's grid with a's
      // best, then Levenberg–Marquardt on both (in float64).
      const auto x64 = x.to(torch::kFloat64);
      const auto xa64 = x_adv.to(x.device(), torch::kFloat64).detach();
      auto error_of = [&](const SearchState& s) {
        return (apply_state(x64, s) - xa64).pow(2).reshape({x.size(0), -1}).sum(1);
      };
      auto gen = at::detail::getDefaultCPUGenerator();
      auto [sa, sb] = split(init_state(x64, gen, false));
      auto join = [](SearchState p, const SearchState& q) {
        p.insert(p.end(), q.begin(), q.end());
        return p;
      };
      auto best_error = error_of(join(sa, sb));
      // Every pair of grid points (the set is not convex: rotations alias, content leaves the
      // frame), then Levenberg–Marquardt from the best pair.
      auto grid_a = full_grid_of(*a_, x64), grid_b = full_grid_of(*b_, x64);
      if (grid_a.empty()) grid_a = {sa};
      if (grid_b.empty()) grid_b = {sb};
      for (const auto& ca : grid_a) {
        for (const auto& cb : grid_b) {
          const auto e = error_of(join(ca, cb));
          const auto better = e < best_error;
          sa = select_state(better, ca, sa);
          sb = select_state(better, cb, sb);
          best_error = torch::min(e, best_error);
        }
      }
      const auto fitted = fit_parameters(
          [&](const SearchState& s) {
            return (apply_state(x64, s) - xa64).reshape({x.size(0), -1});
          },
          [&](const SearchState& s) { return project_state(s, x64); }, join(sa, sb));
      return apply_state(x64, fitted).to(x.scalar_type()).detach();
    }
    return apply_state(x, fit_state(*this, x_adv, x)).detach();
  }
  torch::Tensor sample(const torch::Tensor& x, at::Generator& gen) const override {
    torch::NoGradGuard no_grad;
    return apply_state(x, project_state(init_state(x, gen, true), x)).detach();
  }
  torch::Tensor contains(const torch::Tensor& x_adv, const torch::Tensor& x,
                         double tol) const override {
    const auto residual = (project(x_adv, x) - x_adv).abs().reshape({x.size(0), -1}).amax(1);
    return residual <= fit_tolerance(tol);
  }
  torch::Tensor ascend(const torch::Tensor& x_adv, const torch::Tensor& grad,
                       double step) const override {
    return b_->ascend(x_adv, grad, step);
  }
  double default_step(int64_t steps) const override { return b_->default_step(steps); }
  double eps() const override { return b_->eps(); }
  std::vector<std::string> parameter_names() const override { return all_names({a_, b_}); }
  std::shared_ptr<Threat> with(const Params& params) const override {
    auto parts = forward({a_, b_}, params, describe());
    return std::make_shared<Then>(parts[0], parts[1]);
  }

 private:
  std::pair<SearchState, SearchState> split(const SearchState& s) const {
    const auto na = static_cast<std::ptrdiff_t>(a_->state_size());
    return {SearchState(s.begin(), s.begin() + na), SearchState(s.begin() + na, s.end())};
  }
  torch::Tensor centre(const torch::Tensor& x, const SearchState& sa) const {
    torch::NoGradGuard no_grad;
    return a_->apply_state(x, sa).detach();
  }
  ThreatPtr a_, b_;
};

// a | b: attacks run on each member and keep the worse per sample (runtime/attack).
class Union : public Threat {
 public:
  explicit Union(std::vector<ThreatPtr> members) : members_(std::move(members)) {}
  std::string name() const override { return "Union"; }
  std::string describe() const override {
    std::string text;
    for (const auto& m : members_) text += (text.empty() ? "" : " | ") + m->describe();
    return text;
  }
  bool additive() const override { return false; }
  std::vector<ThreatPtr> alternatives() const override { return members_; }

  SearchState init_state(const torch::Tensor&, at::Generator&, bool) const override {
    throw Error(searched_directly());
  }
  torch::Tensor apply_state(const torch::Tensor&, const SearchState&) const override {
    throw Error(searched_directly());
  }

  // Per sample, the nearest (L2) of the members' projections.
  torch::Tensor project(const torch::Tensor& x_adv, const torch::Tensor& x) const override {
    torch::Tensor best, best_dist;
    for (const auto& m : members_) {
      const auto p = m->project(x_adv, x);
      const auto d = (p - x_adv).pow(2).reshape({x.size(0), -1}).sum(1);
      if (!best.defined()) {
        best = p;
        best_dist = d;
        continue;
      }
      best = select_state(d < best_dist, {p}, {best})[0];
      best_dist = torch::min(d, best_dist);
    }
    return best.detach();
  }
  // A member chosen uniformly per sample.
  torch::Tensor sample(const torch::Tensor& x, at::Generator& gen) const override {
    const auto pick =
        torch::randint(static_cast<int64_t>(members_.size()), {x.size(0)}, gen,
                       torch::TensorOptions().dtype(torch::kInt64).device(gen.device()))
            .to(x.device());
    torch::Tensor out = members_[0]->sample(x, gen);
    for (size_t i = 1; i < members_.size(); ++i) {
      out = select_state(pick == static_cast<int64_t>(i), {members_[i]->sample(x, gen)}, {out})[0];
    }
    return out;
  }
  torch::Tensor contains(const torch::Tensor& x_adv, const torch::Tensor& x,
                         double tol) const override {
    torch::Tensor any;
    for (const auto& m : members_) {
      const auto c = m->contains(x_adv, x, tol);
      any = any.defined() ? (any | c) : c;
    }
    return any;
  }
  torch::Tensor ascend(const torch::Tensor& x_adv, const torch::Tensor& grad,
                       double step) const override {
    return members_[0]->ascend(x_adv, grad, step);
  }
  double default_step(int64_t steps) const override { return members_[0]->default_step(steps); }
  double eps() const override {
    double e = 0;
    for (const auto& m : members_) e = std::max(e, m->eps());
    return e;
  }
  std::vector<std::string> parameter_names() const override { return all_names(members_); }
  std::shared_ptr<Threat> with(const Params& params) const override {
    return std::make_shared<Union>(forward(members_, params, describe()));
  }

 private:
  std::string searched_directly() const {
    return "the union " + describe() +
           " is attacked member by member; this attack cannot search it";
  }
  std::vector<ThreatPtr> members_;
};

// a & b: both additive sets; the nearest point of the intersection by Dykstra's alternating
// projections (exact in the limit for convex sets; L0 is not convex, so there it is a heuristic).
class Intersection : public Threat {
 public:
  Intersection(ThreatPtr a, ThreatPtr b) : a_(std::move(a)), b_(std::move(b)) {}
  std::string name() const override { return "Intersection"; }
  std::string describe() const override { return a_->describe() + " & " + b_->describe(); }

  torch::Tensor project(const torch::Tensor& x_adv, const torch::Tensor& x) const override {
    auto z = x_adv.detach();
    auto p = torch::zeros_like(z), q = torch::zeros_like(z);
    for (int i = 0; i < kIterations; ++i) {
      const auto y = a_->project(z + p, x);
      p = z + p - y;
      const auto next = b_->project(y + q, x);
      q = y + q - next;
      z = next;
    }
    // Finish inside b and a in turn, so both hold up to their own tolerance.
    return b_->project(a_->project(z, x), x).detach();
  }
  torch::Tensor sample(const torch::Tensor& x, at::Generator& gen) const override {
    return project(a_->sample(x, gen), x);
  }
  torch::Tensor contains(const torch::Tensor& x_adv, const torch::Tensor& x,
                         double tol) const override {
    return a_->contains(x_adv, x, tol) & b_->contains(x_adv, x, tol);
  }
  torch::Tensor ascend(const torch::Tensor& x_adv, const torch::Tensor& grad,
                       double step) const override {
    return a_->ascend(x_adv, grad, step);
  }
  double default_step(int64_t steps) const override {
    return std::min(a_->default_step(steps), b_->default_step(steps));
  }
  double eps() const override { return std::min(a_->eps(), b_->eps()); }
  std::vector<std::string> parameter_names() const override { return all_names({a_, b_}); }
  std::shared_ptr<Threat> with(const Params& params) const override {
    auto parts = forward({a_, b_}, params, describe());
    return std::make_shared<Intersection>(parts[0], parts[1]);
  }

 private:
  static constexpr int kIterations = 30;
  ThreatPtr a_, b_;
};

void check_intersectable(const ThreatPtr& t, const ThreatPtr& other) {
  if (!t->alternatives().empty()) {
    throw Error("'&' cannot intersect a union (" + t->describe() +
                "); intersect each member instead");
  }
  if (!t->additive()) {
    throw Error("'&' intersects perturbation sets (Linf, L2, L1, L0, Wasserstein), but " +
                t->describe() + " is a transformation; to apply it and then " + other->describe() +
                ", compose with '>>'");
  }
}

}  // namespace

ThreatPtr make_then(ThreatPtr first, ThreatPtr second) {
  return std::make_shared<Then>(std::move(first), std::move(second));
}

ThreatPtr make_union(ThreatPtr a, ThreatPtr b) {
  std::vector<ThreatPtr> members;
  for (const auto& t : {a, b}) {
    auto alts = t->alternatives();
    if (alts.empty()) {
      members.push_back(t);
    } else {
      members.insert(members.end(), alts.begin(), alts.end());
    }
  }
  return std::make_shared<Union>(std::move(members));
}

ThreatPtr make_intersection(ThreatPtr a, ThreatPtr b) {
  check_intersectable(a, b);
  check_intersectable(b, a);
  return std::make_shared<Intersection>(std::move(a), std::move(b));
}

}  // namespace perturb
